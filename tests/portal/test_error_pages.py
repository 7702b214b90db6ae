"""Friendly 404 and 500 pages (issue 13, point 12), the favicon, and JSON errors under /api/."""

import pytest
from django.db import connection
from django.test import RequestFactory
from django.views.defaults import server_error

from tests.factories import UserFactory


@pytest.fixture
def signed_in(client, db):
    client.force_login(UserFactory(username="quinn"))
    return client


def test_unknown_page_is_friendly_and_lists_no_url_patterns(signed_in):
    response = signed_in.get("/no-such-page/")
    text = response.content.decode()
    assert response.status_code == 404
    assert "Nothing here" in text and "Back to the dashboard" in text
    assert "URL patterns" not in text and "urlpatterns" not in text and "Traceback" not in text
    api = signed_in.get("/api/v1/no-such-thing/")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


@pytest.mark.urls("tests.failing_urls")
def test_server_error_is_friendly_and_shows_no_traceback(signed_in):
    signed_in.raise_request_exception = False
    response = signed_in.get("/__fail__/")
    text = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in text and "Back to the dashboard" in text
    assert "SECRET_TRACEBACK_TEXT" not in text and "Traceback" not in text and "RuntimeError" not in text
    api = signed_in.get("/api/v1/__fail__/")
    assert api.status_code == 500 and api.json()["error"]["code"] == "server_error"


def test_server_error_page_renders_when_the_database_is_what_failed(db):
    # The page must not need the database or the request's context: every query fails while it renders.
    def refuse(*args):
        raise AssertionError("the 500 page queried the database")

    with connection.execute_wrapper(refuse):
        response = server_error(RequestFactory().get("/__fail__/"))
    assert response.status_code == 500 and b"Something went wrong on our side" in response.content


def test_favicon_is_the_brand_mark(client, db):
    linked = client.get("/login/").content.decode()
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in linked
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/img/favicon.svg"
    icon = client.get("/static/img/favicon.svg")
    assert icon.status_code == 200 and icon["Content-Type"].startswith("image/svg+xml")
    assert b"M11 2v15H4l7-15z" in b"".join(icon.streaming_content)
