"""Class 6: redaction knows the secrets it holds (patterns for the rest, literals in every spelling,
secrets split between writes, log records and audit rows)."""

from __future__ import annotations

import base64
import logging
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.redaction import MASK, Redactor, StreamRedactor, hold, redact, redact_value

PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
       "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----")


@pytest.mark.parametrize(("text", "secret"), [
    ("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9abcdef", "eyJhbGciOiJSUzI1NiJ9abcdef"),
    ("curl -H 'Authorization: Bearer s3cr3t-tok3n-value'", "s3cr3t-tok3n-value"),
    ('{"headers": {"authorization": "Basic dXNlcjpodW50ZXIy"}}', "dXNlcjpodW50ZXIy"),
    ("connecting to mysql://app:Hunter2pw@db.internal:3306/shop", "Hunter2pw"),
    ("redis://:R3disPassw0rd@cache:6379/2", "R3disPassw0rd"),
    ('password="correct horse battery staple"', "horse battery"),
    ("PASSWORD: 'correct horse battery staple'", "horse battery"),
    ('"password": "with \\"quotes\\" and spaces"', "spaces"),
    ("mysql -h db -u root -pSup3rSecret shop", "Sup3rSecret"),
    ("mariadb-dump --password=Sup3rSecret shop", "Sup3rSecret"),
    ("mariadb-dump --password Sup3rSecret shop", "Sup3rSecret"),
    (f"key follows\n{PEM}\nafter", "MIIEpAIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"),
    ("token k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_QWN0aW9u sent", "aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8"),
    ("key id AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
    ("client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ==", "LS0tLS1CRUdJTi"),
])
def test_patterns_mask_credentials_slipway_does_not_know(text, secret):
    cleaned = redact(text)
    assert secret not in cleaned
    assert MASK in cleaned


def test_patterns_keep_the_readable_part():
    assert redact("Authorization: Bearer abcdefghij") == f"Authorization: Bearer {MASK}"
    assert redact("mysql://app:pw123456@db:3306/x") == f"mysql://app:{MASK}@db:3306/x"
    assert redact("redis://:pw123456@cache:6379") == f"redis://:{MASK}@cache:6379"
    assert redact("https://kube.example:6443/api") == "https://kube.example:6443/api"
    assert redact("plan: 3 to add, 0 to change") == "plan: 3 to add, 0 to change"


SECRET = "Tr1cky/Secret+Value=42&more"


@pytest.mark.parametrize("spelling", [
    SECRET,
    quote(SECRET, safe=""),
    SECRET.replace("/", "\\/"),  # as JSON may escape it
    base64.b64encode(SECRET.encode()).decode(),
    base64.urlsafe_b64encode(SECRET.encode()).decode(),
])
def test_literals_are_masked_in_every_spelling(spelling):
    cleaned = Redactor([SECRET])(f"the tool said: {spelling} (done)")
    assert MASK in cleaned
    assert spelling.rstrip("=") not in cleaned


@given(prefix=st.binary(max_size=5), suffix=st.binary(max_size=5))
def test_a_literal_inside_a_longer_base64_blob_is_masked(prefix, suffix):
    # A kubeconfig's client-key-data is the base64 of a PEM around the key: any alignment.
    blob = base64.b64encode(prefix + SECRET.encode() + suffix).decode()
    cleaned = Redactor([SECRET])(blob)
    assert MASK in cleaned
    for shift in range(3):
        core = base64.b64encode(b"\0" * shift + SECRET.encode()).decode()[shift + 2:-4]
        assert core not in cleaned


def test_held_secrets_are_masked_everywhere_without_being_passed():
    hold("held-Literal-9f8e7d")
    assert "held-Literal-9f8e7d" not in redact("error: auth failed for held-Literal-9f8e7d")


def test_a_kubeconfig_held_masks_its_token_and_decoded_client_key():
    key = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5ZHqxVqaLx3uSoAoGCCqGSM49\n" \
          "-----END EC PRIVATE KEY-----\n"
    kubeconfig = ("apiVersion: v1\nclusters: []\nusers:\n- name: u\n  user:\n    token: kubeTokenMarker123456\n"
                  f"    client-key-data: {base64.b64encode(key.encode()).decode()}\n")
    hold(kubeconfig)
    cleaned = redact("sent kubeTokenMarker123456; key MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5ZHqxVqaLx3uSoAoGCCqGSM49")
    assert "kubeTokenMarker123456" not in cleaned
    assert "MHcCAQEEIBkg4LVWM9nu" not in cleaned


def test_short_literals_are_not_masked_in_ordinary_text():
    assert Redactor(["yes"])("yes, the rollout is ready") == "yes, the rollout is ready"


@pytest.mark.parametrize("cut", [1, 5, 11, 20])
def test_a_secret_split_between_two_writes_is_masked(cut):
    stream = StreamRedactor(literals=["split-Secret-Value-77"])
    line = "connecting with split-Secret-Value-77 now\n"
    out = stream.feed(line[:line.index("split") + cut]) + stream.feed(line[line.index("split") + cut:])
    out += stream.close()
    assert "split-Secret-Value-77" not in out
    assert out == f"connecting with {MASK} now\n"


def test_a_pattern_split_between_writes_is_masked():
    stream = StreamRedactor()
    out = stream.feed("mysql -u root -pSup3r") + stream.feed("Secret db\n") + stream.close()
    assert "Secret" not in out


def test_a_pem_key_spread_over_many_writes_is_masked_whole():
    stream = StreamRedactor()
    out = "".join(stream.feed(PEM[i:i + 7]) for i in range(0, len(PEM), 7)) + stream.feed("\nok\n") + stream.close()
    assert "MIIEpAIBAAKCAQEAu1SU1Lf" not in out
    assert "VTLw7onLRnrq0" not in out
    assert out.endswith("ok\n")


def test_a_very_long_line_is_released_in_parts_without_cutting_a_secret():
    stream = StreamRedactor(literals=["long-line-Secret-0042"], max_pending=1000)
    body = "x" * 995 + "long-line-Secret-0042" + "y" * 10
    out = "".join(stream.feed(body[i:i + 100]) for i in range(0, len(body), 100)) + stream.close()
    assert "long-line-Secret-0042" not in out
    assert MASK in out


def test_log_records_are_redacted_for_every_handler_including_traceback(caplog):
    hold("record-Secret-31337x")
    logger = logging.getLogger("slipway.test.redaction")
    with caplog.at_level(logging.DEBUG):
        logger.debug("connecting with %s", "record-Secret-31337x")
        try:
            raise RuntimeError("refused: mysql://u:record-Secret-31337x@db")
        except RuntimeError:
            logger.exception("copy failed")
    assert "record-Secret-31337x" not in caplog.text
    assert all("record-Secret-31337x" not in r.getMessage() for r in caplog.records)


def test_audit_details_are_redacted():
    details = redact_value({"url": "redis://:audit-Secret-999@cache", "nested": [{"password": "x1234567"}]})
    assert "audit-Secret-999" not in str(details)
    assert "x1234567" not in str(details)


def test_a_held_pem_key_does_not_stop_other_pem_keys_being_masked():
    hold("-----BEGIN RSA PRIVATE KEY-----\nQUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\n-----END RSA PRIVATE KEY-----\n")
    cleaned = redact(f"key follows\n{PEM}\nafter")
    assert "VTLw7onLRnrq0" not in cleaned and "MIIEpAIBAAKCAQEAu1SU1Lf" not in cleaned


def test_a_job_stores_and_sends_streamed_output_with_a_split_secret_masked(db):
    from portal.jobs.models import Job
    from portal.jobs.reporting import JobReporter

    hold("job-Stream-Secret-5150")
    job = Job.objects.create(kind="test", title="streamed")
    reporter = JobReporter(job, flush_seconds=0)  # every write is stored at once: the worst case
    for chunk in ("connecting with job-Str", "eam-Secret-5150 to the ", "server\nready", "\n"):
        reporter.write(chunk)
    reporter.flush()
    stored = "\n".join(job.events.values_list("text", flat=True))
    assert "job-Str" not in stored and "eam-Secret-5150" not in stored
    assert f"connecting with {MASK} to the server" in stored and "ready" in stored


_TEXT = st.text(st.characters(blacklist_characters="*", blacklist_categories=("Cs",)), max_size=40)
_SECRETS = st.text(st.characters(blacklist_characters="*\n", blacklist_categories=("Cs", "Zs")), min_size=6,
                   max_size=40)


@given(secret=_SECRETS, before=_TEXT, after=_TEXT, cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=4))
def test_no_held_literal_survives_any_surrounding_text_or_split(secret, before, after, cuts):
    text = f"{before}{secret}{after}\n"
    stream = StreamRedactor(literals=[secret])
    out, last = "", 0
    for cut in sorted({c % len(text) for c in cuts}):
        out += stream.feed(text[last:cut])
        last = cut
    out += stream.feed(text[last:]) + stream.close()
    assert secret not in out
    assert quote(secret, safe="") not in Redactor([secret])(f"{before}{quote(secret, safe='')}{after}")
