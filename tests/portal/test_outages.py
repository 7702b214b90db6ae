"""portal.outages in-process: which errors become the 503 answers, and in what shape.

The end-to-end faults (a real PostgreSQL or Redis stopped under a daphne web) are in tests/reliability/.
"""

import json

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from portal.outages import MESSAGE, QUEUE_MESSAGE, OutageMiddleware, QueueUnavailable, is_database_outage

pytestmark = pytest.mark.unit


def answer(path: str, exc: Exception):
    return OutageMiddleware(lambda request: None).process_exception(RequestFactory().post(path), exc)


def test_a_database_error_even_wrapped_by_another_is_an_outage():
    outer = RuntimeError("while rendering")
    outer.__cause__ = OperationalError("connection refused")
    assert is_database_outage(outer)
    assert not is_database_outage(ValueError("bad input"))


@pytest.mark.parametrize(("exc", "code", "message"), [
    (OperationalError("could not connect to server at 10.0.0.5:5432"), "database_unavailable", MESSAGE),
    (QueueUnavailable(), "queue_unavailable", QUEUE_MESSAGE),
])
def test_pages_and_api_answer_503_with_the_sentence_and_nothing_else(exc, code, message):
    page = answer("/jobs/selfcheck/", exc)
    assert page.status_code == 503 and page["Retry-After"] == "60"
    assert message in page.content.decode() and "10.0.0.5" not in page.content.decode()
    api = answer("/api/v1/jobs/selfcheck/", exc)
    assert api.status_code == 503
    assert json.loads(api.content) == {"error": {"status": 503, "code": code, "message": message}}


def test_other_errors_are_left_to_the_500_handler():
    assert answer("/jobs/", ValueError("a bug")) is None
