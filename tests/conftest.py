import pytest
from django.db import connection
from rest_framework.test import APIClient

from portal.accounts import roles
from portal.redaction import forget_held
from tests.factories import TeamFactory, UserFactory
from tests.fixtures.stack import in_ci

ROLE_USERS = {
    "developer": roles.DEVELOPERS,
    "qa": roles.QA,
    "manager": roles.MANAGERS,
    "admin": roles.PLATFORM_ADMINS,
}


def pytest_collection_modifyitems(items):
    """Tests without a layer marker are unit tests, so `-m unit` selects them."""
    layers = {"integration", "e2e", "reliability"}
    for item in items:
        if not layers & {m.name for m in item.iter_markers()}:
            item.add_marker(pytest.mark.unit)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped test is a failure: a skip there means a missing service or install step."""
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped in CI (CI=true turns skips into failures): {reason}"


# Django's flush between transactional tests empties every table, the audit trail too, which the
# database refuses everywhere else (portal/audit/migrations/0003_append_only_truncate_and_sqlite.py).
# Only the test database lets that statement through; tests/security/test_audit_trail.py turns the
# refusal back on to prove it.
AUDIT_FLUSH_ALLOWED = {
    "postgresql": ["ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_no_truncate"],
    "sqlite": ["DROP TRIGGER IF EXISTS audit_auditevent_no_delete"],
}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for statement in AUDIT_FLUSH_ALLOWED.get(connection.vendor, []):
            cursor.execute(statement)


@pytest.fixture(autouse=True)
def _forget_held_secrets():
    """Secrets are held per process; each test starts with none held by an earlier test."""
    yield
    forget_held()


@pytest.fixture
def team(db):
    return TeamFactory(slug="payments", name="Payments")


@pytest.fixture
def users(db, team):
    """One user per role, all members of the 'payments' team, plus an outsider with no role."""
    made = {key: UserFactory(username=key, roles=[role], teams=[team]) for key, role in ROLE_USERS.items()}
    made["outsider"] = UserFactory(username="outsider")
    return made


@pytest.fixture
def api_for():
    def make(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make
