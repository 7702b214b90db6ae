"""Registry adapters and the version sync against real registries: ECR on the moto server and
Distribution (Debian's docker-registry) on loopback."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from environments.catalog.periodic import versions_sync
from environments.catalog.registries import RegistryError
from environments.catalog.registries.by_kind import adapter_for
from environments.catalog.version_sync import component_versions_sync
from environments.models import Component, ImageVersion, Registry
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from tests.fixtures.image_registry import REGISTRY_PASSWORD, REGISTRY_USER, ecr_push
from tests.racing import race

pytestmark = pytest.mark.integration


def _ecr_component(repository, name="api"):
    registry = Registry.objects.create(name="ecr", kind="ecr")
    return Component.objects.create(name=name, image_repository=f"123456789012.dkr.ecr.us-east-1.amazonaws.com/"
                                    f"{repository}", registry=registry, repository=repository)


def _v2_component(local_registry, repository, *, password=REGISTRY_PASSWORD):
    registry = Registry.objects.create(name="dist", kind="v2", url=local_registry.url,
                                       credentials=json.dumps({"username": REGISTRY_USER, "password": password}))
    return Component.objects.create(name="web", image_repository=f"127.0.0.1/{repository}", registry=registry,
                                    repository=repository)


def _sync(user, component):
    return component_versions_sync(actor=Actor.for_user(user), user=user, component=component)


def test_ecr_tags_are_discovered_newest_first_with_digests(db, users, ecr_repository):
    pushed = {tag: ecr_push(ecr_repository, tag) for tag in ("1.0.0", "1.1.0", "1.2.0")}
    # ECR groups tags per image: a second tag on 1.2.0's manifest shares its digest.
    pushed["latest"] = pushed["1.2.0"]
    from portal import aws

    image = aws.client("ecr").batch_get_image(repositoryName=ecr_repository, imageIds=[{"imageTag": "1.2.0"}])
    aws.client("ecr").put_image(repositoryName=ecr_repository, imageTag="latest",
                                imageManifest=image["images"][0]["imageManifest"])
    component = _ecr_component(ecr_repository)
    changes = _sync(users["admin"], component)
    assert sorted(changes["added"]) == sorted(pushed)
    versions = list(component.versions.all())
    assert {v.tag: v.digest for v in versions} == pushed
    assert all(v.pushed_at is not None and v.size_bytes and v.discovered for v in versions)
    # Newest first; tags of one image share its push time, so they come together, then older images.
    order = [v.tag for v in versions]
    assert order.index("1.2.0") < order.index("1.1.0") < order.index("1.0.0")
    assert order.index("latest") < order.index("1.1.0")
    event = AuditEvent.objects.get(action="component.versions_sync")
    assert event.outcome == "success" and sorted(event.details["added"]) == sorted(pushed)


def test_ecr_adapter_pages_through_describe_images(aws_settings, ecr_repository):
    for n in range(105):  # more than one page of 100
        ecr_push(ecr_repository, f"b{n}")
    tags = adapter_for(Registry(name="ecr", kind="ecr")).tags(ecr_repository)
    assert sorted(t.tag for t in tags) == sorted(f"b{n}" for n in range(105))
    assert len({t.digest for t in tags}) == 105


def test_deleted_tag_is_marked_and_kept_and_a_moved_tag_gets_the_new_digest(db, users, ecr_repository):
    from portal import aws

    first = ecr_push(ecr_repository, "1.0.0")
    ecr_push(ecr_repository, "1.1.0")
    component = _ecr_component(ecr_repository)
    _sync(users["qa"], component)
    aws.client("ecr").batch_delete_image(repositoryName=ecr_repository, imageIds=[{"imageTag": "1.1.0"}])
    moved = ecr_push(ecr_repository, "1.0.0")  # the mutable tag now names another image
    assert moved != first
    changes = _sync(users["qa"], component)
    assert changes == {"added": [], "moved": ["1.0.0"], "removed": ["1.1.0"], "restored": []}
    gone = ImageVersion.objects.get(component=component, tag="1.1.0")
    assert gone.removed_from_registry and gone.removed_at is not None
    assert ImageVersion.objects.get(component=component, tag="1.0.0").digest == moved
    # Running it again converges: nothing more changes.
    assert _sync(users["qa"], component) == {"added": [], "moved": [], "removed": [], "restored": []}


def test_unknown_ecr_repository_is_a_clear_error_and_writes_no_version(db, users, aws_settings):
    component = _ecr_component("no-such/repo")
    ImageVersion.objects.create(component=component, tag="kept")
    with pytest.raises(ValidationError, match="has no repository 'no-such/repo'"):
        _sync(users["admin"], component)
    component.refresh_from_db()
    assert "has no repository" in component.versions_sync_error
    assert list(component.versions.values_list("tag", "removed_from_registry")) == [("kept", False)]
    assert AuditEvent.objects.get(action="component.versions_sync").outcome == "failure"


def test_managers_cannot_refresh_and_unlinked_components_are_refused(db, users):
    component = Component.objects.create(name="plain", image_repository="example/plain")
    with pytest.raises(PermissionDenied):
        _sync(users["manager"], component)
    with pytest.raises(ValidationError, match="not linked to a registry"):
        _sync(users["admin"], component)


def test_v2_tags_digests_and_pushed_at_from_a_real_registry(db, users, local_registry):
    repository = "shop/web"
    old = local_registry.push(repository, "1.0.0", created="2026-03-01T10:00:00.123456789Z")
    new = local_registry.push(repository, "1.1.0", created="2026-04-01T10:00:00Z")
    component = _v2_component(local_registry, repository)
    changes = _sync(users["admin"], component)
    assert sorted(changes["added"]) == ["1.0.0", "1.1.0"]
    versions = list(component.versions.all())
    assert [(v.tag, v.digest) for v in versions] == [("1.1.0", new), ("1.0.0", old)]  # newest first
    assert versions[1].pushed_at.isoformat() == "2026-03-01T10:00:00.123456+00:00"
    assert all(v.size_bytes > 0 for v in versions)


def test_v2_deleted_tag_is_marked(db, users, local_registry):
    repository = "shop/deleted"
    local_registry.push(repository, "1.0.0", created="2026-03-01T10:00:00Z")
    doomed = local_registry.push(repository, "1.1.0", created="2026-04-01T10:00:00Z")
    component = _v2_component(local_registry, repository)
    _sync(users["admin"], component)
    local_registry.delete(repository, doomed)
    assert _sync(users["admin"], component)["removed"] == ["1.1.0"]
    assert ImageVersion.objects.get(component=component, tag="1.1.0").removed_from_registry


@pytest.mark.parametrize(("case", "message"), [
    ("bad-password", "refused the credentials"),
    ("unknown-repository", "has no repository 'shop/missing'"),
    ("unreachable", "is unreachable"),
])
def test_v2_bad_input_is_a_clear_error_and_nothing_is_written(db, users, local_registry, case, message):
    repository = "shop/missing" if case == "unknown-repository" else "shop/web"
    local_registry.push("shop/web", "1.0.0", created="2026-03-01T10:00:00Z")
    component = _v2_component(local_registry, repository,
                              password="wrong" if case == "bad-password" else REGISTRY_PASSWORD)
    if case == "unreachable":
        Registry.objects.filter(pk=component.registry_id).update(url="http://127.0.0.1:9")
        component.refresh_from_db()
    with pytest.raises(ValidationError, match=message) as refused:
        _sync(users["admin"], component)
    assert REGISTRY_PASSWORD not in str(refused.value) and not component.versions.exists()
    component.refresh_from_db()
    assert message.split("'")[0] in component.versions_sync_error


def test_v2_without_credentials_is_told_they_are_needed(local_registry, settings):
    with pytest.raises(RegistryError, match="requires a username and password"):
        adapter_for(Registry(name="anon", kind="v2", url=local_registry.url)).tags("shop/web")


def test_periodic_sync_carries_on_past_a_failing_registry(db, users, aws_settings, ecr_repository, settings):
    ecr_push(ecr_repository, "2.0.0")
    good = _ecr_component(ecr_repository, name="good")
    bad_registry = Registry.objects.create(name="gone", kind="v2", url="http://127.0.0.1:9")
    Component.objects.create(name="bad", image_repository="x/bad", registry=bad_registry, repository="x/bad")
    assert settings.CELERY_BEAT_SCHEDULE["environments-versions-sync"]["task"] == versions_sync.name
    outcome = versions_sync.delay().get()  # the beat task, run eagerly
    assert outcome["good"] == "added 1" and "unreachable" in outcome["bad"]
    assert good.versions.get().tag == "2.0.0"
    # The next beats: nothing changed and the same error: nothing more on the audit trail.
    assert versions_sync.delay().get() == {"bad": outcome["bad"], "good": "unchanged"}
    events = AuditEvent.objects.filter(action="component.versions_sync").order_by("id")
    assert [(e.object_repr, e.outcome) for e in events] == [("bad", "failure"), ("good", "success")]


def test_v2_bearer_token_auth_through_the_registrys_token_service(db, users, token_registry):
    registry_server, tokens = token_registry
    digest = registry_server.push("team/app", "5.0.0", created="2026-05-01T00:00:00Z")
    registry = Registry.objects.create(name="tok", kind="v2", url=registry_server.url,
                                       credentials=json.dumps({"username": REGISTRY_USER,
                                                               "password": REGISTRY_PASSWORD}))
    component = Component.objects.create(name="app", image_repository="x/app", registry=registry,
                                         repository="team/app")
    tokens.requests.clear()
    assert _sync(users["admin"], component)["added"] == ["5.0.0"]
    assert component.versions.get().digest == digest
    # Slipway asked the token service named by the challenge, for pull access to that repository only.
    assert {tuple(r["scope"]) for r in tokens.requests} == {("repository:team/app:pull",)}
    assert {tuple(r["service"]) for r in tokens.requests} == {(tokens.service,)}
    Registry.objects.filter(pk=registry.pk).update(credentials=json.dumps({"username": REGISTRY_USER,
                                                                           "password": "wrong"}))
    component.refresh_from_db()
    with pytest.raises(ValidationError, match=r"refused the credentials \(token service HTTP 401\)"):
        _sync(users["admin"], component)


@pytest.mark.django_db(transaction=True)
def test_concurrent_syncs_of_one_component_converge_without_duplicates(local_registry):
    repository = "shop/race"
    for n in range(5):
        local_registry.push(repository, f"r{n}", created=f"2026-06-0{n + 1}T00:00:00Z")
    component = _v2_component(local_registry, repository)

    def attempt():
        changes = component_versions_sync(actor=Actor.system("t"), user=None,
                                          component=Component.objects.select_related("registry").get(pk=component.pk))
        return sorted(changes["added"])

    outcomes = race(attempt, attempt, attempt)
    # Exactly one of them added the tags; the others found them there (any exception is the finding).
    assert sorted(outcomes, key=lambda o: len(o) if isinstance(o, list) else -1) == [
        [], [], [f"r{n}" for n in range(5)]], outcomes
    assert sorted(component.versions.values_list("tag", flat=True)) == [f"r{n}" for n in range(5)]
