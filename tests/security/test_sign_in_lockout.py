"""Class 8: sign-in resists guessing — lockout per account and address on every password entry,
the client address read only through the configured number of trusted proxies."""

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from portal.request_context import forwarded_client, scope_source_ip

PASSWORD = "pw-for-tests-1"
LIMIT = 5  # AXES_FAILURE_LIMIT's default


@pytest.fixture(autouse=True)
def fresh_throttles():
    cache.clear()  # DRF's throttle counts live in the cache, which outlives a test's database
    yield
    cache.clear()


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_login_page_100_wrong_passwords_then_the_right_one_is_refused(users):
    client = Client(REMOTE_ADDR="203.0.113.5")
    for n in range(100):
        client.post("/login/", {"username": "developer", "password": f"guess-{n}"})
    response = client.post("/login/", {"username": "developer", "password": PASSWORD})
    assert response.status_code == 429
    assert not _signed_in(client)
    assert "Too many failed sign-ins" in response.content.decode()
    assert int(response["Retry-After"]) > 0


def test_lockout_is_per_account_and_address(users):
    guesser = Client(REMOTE_ADDR="203.0.113.5")
    for n in range(LIMIT):
        guesser.post("/login/", {"username": "developer", "password": f"guess-{n}"})
    # The owner, elsewhere, still signs in; the guesser's address may still sign in to another account.
    owner = Client(REMOTE_ADDR="198.51.100.20")
    owner.post("/login/", {"username": "developer", "password": PASSWORD})
    assert _signed_in(owner)
    guesser.post("/login/", {"username": "qa", "password": PASSWORD})
    assert _signed_in(guesser)


def test_forwarded_for_spoof_does_not_dodge_the_lockout(users):
    client = Client(REMOTE_ADDR="203.0.113.5")
    for n in range(LIMIT + 3):
        client.post("/login/", {"username": "developer", "password": f"guess-{n}"},
                    HTTP_X_FORWARDED_FOR=f"10.0.{n}.1", HTTP_USER_AGENT=f"agent-{n}")
    response = client.post("/login/", {"username": "developer", "password": PASSWORD},
                           HTTP_X_FORWARDED_FOR="10.99.99.99")
    assert response.status_code == 429 and not _signed_in(client)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.5"}


def test_admin_login_is_locked_too(users):
    client = Client(REMOTE_ADDR="203.0.113.6")
    for n in range(LIMIT):
        client.post("/admin/login/", {"username": "admin", "password": f"guess-{n}"})
    assert client.post("/admin/login/", {"username": "admin", "password": PASSWORD}).status_code == 429
    assert not _signed_in(client)


def test_token_endpoint_locks_with_the_api_error_shape(users):
    api = APIClient(REMOTE_ADDR="203.0.113.7")
    for n in range(LIMIT):
        wrong = api.post("/api/v1/auth/token/", {"username": "developer", "password": f"guess-{n}"},
                         HTTP_X_FORWARDED_FOR=f"10.1.{n}.1")
        assert wrong.status_code in (400, 429)
    response = api.post("/api/v1/auth/token/", {"username": "developer", "password": PASSWORD},
                        HTTP_X_FORWARDED_FOR="10.1.99.1")
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "locked_out" and "Too many failed sign-ins" in error["message"]
    assert int(response["Retry-After"]) > 0
    assert "token" not in response.json()


def test_token_throttle_ignores_a_client_sent_forwarded_for(users):
    api = APIClient(REMOTE_ADDR="203.0.113.8")
    statuses = [api.post("/api/v1/auth/token/", {"username": f"nobody{n}", "password": "x"},
                         HTTP_X_FORWARDED_FOR=f"10.2.{n}.1").status_code for n in range(25)]
    assert statuses[:20] == [400] * 20
    assert set(statuses[20:]) == {429}


def test_one_trusted_proxy_uses_the_hop_it_appended(users, settings):
    settings.SLIPWAY_TRUSTED_PROXIES = 1
    proxy = "192.0.2.1"
    guesser = Client(REMOTE_ADDR=proxy)
    for n in range(LIMIT):
        # The client wrote the left entry; the proxy appended the right one.
        guesser.post("/login/", {"username": "developer", "password": f"guess-{n}"},
                     HTTP_X_FORWARDED_FOR=f"10.3.{n}.1, 198.51.100.7")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7"}
    locked = guesser.post("/login/", {"username": "developer", "password": PASSWORD},
                          HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert locked.status_code == 429
    # Another client behind the same proxy is not locked out with the guesser.
    owner = Client(REMOTE_ADDR=proxy)
    owner.post("/login/", {"username": "developer", "password": PASSWORD},
               HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert _signed_in(owner)


def test_axes_reset_unlocks(users):
    client = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(LIMIT):
        client.post("/login/", {"username": "developer", "password": f"guess-{n}"})
    assert client.post("/login/", {"username": "developer", "password": PASSWORD}).status_code == 429
    call_command("axes_reset_username", "developer")
    client.post("/login/", {"username": "developer", "password": PASSWORD})
    assert _signed_in(client)


@pytest.mark.parametrize(("remote", "forwarded", "proxies", "expected"), [
    ("203.0.113.5", "10.0.0.1", 0, "203.0.113.5"),  # no proxy: the header is the client's own text
    ("192.0.2.1", "10.0.0.1, 198.51.100.7", 1, "198.51.100.7"),
    ("192.0.2.1", "10.0.0.1, 198.51.100.7, 192.0.2.2", 2, "198.51.100.7"),
    ("192.0.2.1", "", 1, "192.0.2.1"),  # no hop: the proxy itself
    ("192.0.2.1", "198.51.100.7", 3, "198.51.100.7"),  # shorter chain: every hop was written by a proxy
    ("192.0.2.1", "not-an-ip", 1, "192.0.2.1"),  # garbage never reaches an IP column
    ("", "", 0, None),
])
def test_forwarded_client(remote, forwarded, proxies, expected):
    assert forwarded_client(remote, forwarded, proxies) == expected


@given(spoofed=st.lists(st.text(max_size=40), max_size=5), proxies=st.integers(min_value=0, max_value=3))
def test_client_written_hops_never_decide_the_address(spoofed, proxies):
    """Whatever the client prepends, the result is the hop the trusted proxies appended."""
    appended = [f"198.51.100.{n}" for n in range(1, proxies + 1)]
    forwarded = ", ".join([*(s.replace(",", "") for s in spoofed), *appended])
    expected = appended[0] if proxies else "192.0.2.1"
    assert forwarded_client("192.0.2.1", forwarded, proxies) == expected


def test_websockets_read_the_address_by_the_same_rule(settings):
    scope = {"client": ("192.0.2.1", 50000), "headers": [(b"x-forwarded-for", b"10.0.0.1, 198.51.100.7")]}
    assert scope_source_ip(scope) == "192.0.2.1"  # no trusted proxy: the header is the client's text
    settings.SLIPWAY_TRUSTED_PROXIES = 1
    assert scope_source_ip(scope) == "198.51.100.7"


def test_guessing_the_current_password_on_the_change_form_is_locked_out_too(users):
    """A borrowed session must not turn the change-password form into an unlimited password oracle."""
    client = Client(REMOTE_ADDR="203.0.113.10")
    client.force_login(users["developer"])
    change = {"new_password1": "brand-new-pass-4821", "new_password2": "brand-new-pass-4821"}
    for n in range(LIMIT):
        client.post("/password/change/", {"old_password": f"guess-{n}", **change})
    response = client.post("/password/change/", {"old_password": PASSWORD, **change})
    assert response.status_code == 429
    users["developer"].refresh_from_db()
    assert users["developer"].check_password(PASSWORD)


def test_an_overlong_username_is_refused_not_a_server_error(users):
    api = APIClient(REMOTE_ADDR="203.0.113.11")
    response = api.post("/api/v1/auth/token/", {"username": "u" * 5000, "password": "x"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


def test_the_lockout_counters_keep_no_password(users):
    client = Client(REMOTE_ADDR="203.0.113.12")
    client.post("/login/", {"username": "developer", "password": "almost-my-password"})
    client.force_login(users["developer"])
    client.post("/password/change/", {"old_password": "almost-my-password-2", "new_password1": "brand-new-pass-4821",
                                      "new_password2": "brand-new-pass-4821"})
    stored = "".join(AccessAttempt.objects.values_list("post_data", flat=True))
    for secret in ("almost-my-password", "brand-new-pass-4821"):
        assert secret not in stored


def test_spraying_one_password_over_many_usernames_pauses_the_address(users, settings):
    settings.SLIPWAY_SIGN_IN_ADDRESS_LIMIT = 30
    sprayer = Client(REMOTE_ADDR="203.0.113.13")
    for n in range(30):  # one guess each: no account reaches its own limit
        sprayer.post("/login/", {"username": f"person{n}", "password": "Summer2026!"})
    refused = sprayer.post("/login/", {"username": "developer", "password": PASSWORD})
    assert refused.status_code == 429 and not _signed_in(sprayer)
    elsewhere = Client(REMOTE_ADDR="198.51.100.30")
    elsewhere.post("/login/", {"username": "developer", "password": PASSWORD})
    assert _signed_in(elsewhere)
    call_command("axes_reset_ip", "203.0.113.13")
    sprayer.post("/login/", {"username": "developer", "password": PASSWORD})
    assert _signed_in(sprayer)
