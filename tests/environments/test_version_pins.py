"""Following a tag vs pinning its digest; the version picker; 'mutable tag moved' in the drift view."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from environments.catalog.versions import moved_tags, moved_tags_record
from environments.models import Component, ImageVersion, Registry
from environments.render import render
from environments.selectors import environment_list
from environments.services import environment_update_versions
from environments.snapshot import spec_for
from portal.audit.actor import Actor
from tests.environments import test_services
from tests.environments.test_services import VERSIONS, create
from tests.fixtures.image_registry import ecr_push

shop = test_services.shop
D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


@pytest.fixture
def digests(shop):
    ImageVersion.objects.filter(component__name="web", tag="1.5.0").update(digest=D1)
    ImageVersion.objects.filter(component__name="web", tag="1.4.2").update(
        digest=D2, pushed_at=timezone.now() - timedelta(days=3))
    return shop


def _images(environment):
    return {m["metadata"]["name"]: m["spec"]["template"]["spec"]["containers"][0]["image"]
            for m in render(spec_for(environment, environment.current_revision)) if m["kind"] == "Deployment"}


def test_a_tag_is_followed_and_a_pin_renders_the_digest(users, team, digests):
    following = create(users["qa"], digests, team)
    web = next(c for c in following.current_revision.snapshot["components"] if c["name"] == "web")
    assert (web["tag"], web["digest"], web["tag_digest"]) == ("1.5.0", "", D1)
    assert _images(following)["web"].endswith("shop/web:1.5.0")
    pinned = create(users["qa"], digests, team, name="qa-2", versions=VERSIONS | {"web": f"1.5.0@{D1}"})
    assert _images(pinned)["web"].endswith(f"shop/web@{D1}")
    from environments.serializers import EnvironmentSerializer

    assert EnvironmentSerializer(pinned).data["versions"]["web"] == f"1.5.0@{D1}"


def test_a_pin_must_name_the_tags_digest(users, team, digests):
    with pytest.raises(ValidationError) as refused:
        create(users["qa"], digests, team, versions=VERSIONS | {"web": f"1.5.0@{D2}"})
    assert "'web:1.5.0' is at " + D1 in " ".join(refused.value.message_dict["versions"])
    with pytest.raises(ValidationError, match="is not a digest"):
        create(users["qa"], digests, team, versions=VERSIONS | {"web": "1.5.0@md5:1"})


def test_an_old_pin_survives_updates_of_other_components(users, team, digests):
    environment = create(users["qa"], digests, team, versions=VERSIONS | {"web": f"1.5.0@{D1}"})
    ImageVersion.objects.filter(component__name="web", tag="1.5.0").update(digest=D2)  # the tag moved since
    environment_update_versions(actor=Actor.for_user(users["qa"]), user=users["qa"], environment=environment,
                                versions={"api": "2.0.1"})
    environment.refresh_from_db()
    assert _images(environment)["web"].endswith(f"@{D1}")


def test_a_moved_tag_is_flagged_in_the_drift_view_and_pins_are_not(users, team, digests, client_for_qa):
    following = create(users["qa"], digests, team)
    pinned = create(users["qa"], digests, team, name="qa-2", versions=VERSIONS | {"web": f"1.5.0@{D1}"})
    assert moved_tags(following) == [] and moved_tags_record() == 0
    ImageVersion.objects.filter(component__name="web", tag="1.5.0").update(digest=D2)
    assert moved_tags_record() == 1
    following.refresh_from_db()
    pinned.refresh_from_db()
    assert following.moved_tags == [{"component": "web", "tag": "1.5.0", "rolled_out": D1, "registry": D2,
                                      "removed": False}]
    assert pinned.moved_tags == []
    drifted = environment_list(user=users["qa"], filters={"status": "drifted"})
    assert list(drifted) == [following]
    listing = client_for_qa.get("/environments/?status=drifted").content.decode()
    assert "mutable tag moved" in listing and "qa-2" not in listing
    detail = client_for_qa.get(f"/environments/{following.pk}/").content.decode()
    assert "data-moved-tags" in detail and D2[:19] in detail


@pytest.fixture
def client_for_qa(users):
    client = Client()
    client.force_login(users["qa"])
    return client


def test_picker_lists_tags_newest_first_with_pushed_at_and_digest_pins(users, digests, client_for_qa):
    blueprint, _ = digests
    ImageVersion.objects.filter(component__name="web", tag="1.5.0").update(pushed_at=timezone.now())
    ImageVersion.objects.filter(component__name="web", tag="1.6.0-rc1").update(removed_from_registry=True)
    html = client_for_qa.get(f"/environments/new/versions/?blueprint={blueprint.pk}").content.decode()
    web = html[html.index('name="version-web"'):]
    web = web[:web.index("</select>")]
    assert web.index(">1.5.0 · pushed ") < web.index(">1.4.2 · pushed ")
    assert "1.6.0-rc1" not in web  # deleted from the registry: not offered for new environments
    assert f'<optgroup label="Pin a digest"><option value="1.5.0@{D1}">' in web


def test_update_form_keeps_a_current_version_that_left_the_registry(users, team, digests, client_for_qa):
    environment = create(users["qa"], digests, team)
    ImageVersion.objects.filter(component__name="web", tag="1.5.0").update(removed_from_registry=True)
    html = client_for_qa.get(f"/environments/{environment.pk}/").content.decode()
    assert '<option value="1.5.0" selected>1.5.0 (current; no longer in the registry)</option>' in html


@pytest.mark.integration
def test_sync_that_moves_a_tag_flags_environments_using_it(users, team, shop, ecr_repository):
    registry = Registry.objects.create(name="ecr", kind="ecr")
    Component.objects.filter(name="web").update(registry=registry, repository=ecr_repository)
    web = Component.objects.get(name="web")
    ecr_push(ecr_repository, "1.5.0")
    from environments.catalog.version_sync import component_versions_sync

    first = component_versions_sync(actor=Actor.system("t"), user=None, component=web)
    assert first["removed"] == ["1.4.2", "1.6.0-rc1"]  # hand-entered tags the registry does not have
    environment = create(users["qa"], shop, team)
    ecr_push(ecr_repository, "1.5.0")  # someone pushes over the tag
    changes = component_versions_sync(actor=Actor.system("t"), user=None, component=web)
    assert changes == {"added": [], "moved": ["1.5.0"], "removed": [], "restored": []}
    environment.refresh_from_db()
    assert [m["tag"] for m in environment.moved_tags] == ["1.5.0"]
