"""REST API and pages of data copies: the same use cases as the services, with the error envelope."""

import pytest
from django.test import Client

from migrations_tool.models import DataCopy, DataServer

from .conftest import fill, query

pytestmark = pytest.mark.integration


def test_api_copy_undo_list_export(copy_world, api_for, django_capture_on_commit_callbacks):
    fill(copy_world["source_ep"], customers=5)
    api = api_for(copy_world["users"]["qa"])
    body = {"source": copy_world["source"].pk, "target": copy_world["target"].pk, "stores": ["mysql"],
            "options": {"mysql": {"filters": {"orders": "id <= 4"}}, "masking": {"customers.email": "email"}}}
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/data-copies/", body, format="json")
    assert response.status_code == 202, response.json()
    copy_id = response.json()["id"]
    data = api.get(f"/api/v1/data-copies/{copy_id}/").json()
    assert data["state"] == "verified" and data["verification"]["mysql"]["verified"] is True
    assert data["restorable"] == ["mysql"] and "bucket" not in str(data)
    assert query(copy_world["target_ep"], "SELECT COUNT(*) FROM orders") == ((4,),)
    listing = api.get("/api/v1/data-copies/", {"state": "verified", "environment": "qa-target"}).json()
    assert [c["id"] for c in listing["results"]] == [copy_id]
    assert api.get("/api/v1/data-copies/", {"state": "failed"}).json()["results"] == []
    csv = b"".join(api.get("/api/v1/data-copies/export/").streaming_content).decode()
    assert csv.splitlines()[0].startswith("id,created_at,source") and "qa-target" in csv
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/data-copies/{copy_id}/undo/")
    assert response.status_code == 202
    assert DataCopy.objects.get(pk=copy_id).state == DataCopy.UNDONE
    assert query(copy_world["target_ep"], "SHOW TABLES") == ()
    again = api.post(f"/api/v1/data-copies/{copy_id}/undo/")
    assert again.status_code == 400 and again.json()["error"]["message"]


def test_api_refusals_use_the_error_envelope(copy_world, api_for):
    body = {"source": copy_world["source"].pk, "target": copy_world["target"].pk, "stores": ["mysql"]}
    manager = api_for(copy_world["users"]["manager"]).post("/api/v1/data-copies/", body, format="json")
    assert manager.status_code == 403 and manager.json()["error"]["code"] == "permission_denied"
    bad = api_for(copy_world["users"]["qa"]).post("/api/v1/data-copies/", {**body, "stores": ["oracle"]},
                                                  format="json")
    assert bad.status_code == 400 and "stores" in bad.json()["error"]["fields"]
    hidden = api_for(copy_world["users"]["outsider"]).post("/api/v1/data-copies/", body, format="json")
    assert hidden.status_code == 403  # no role: refused before the body is read
    assert not DataCopy.objects.exists()


def test_api_stores_never_show_passwords_and_servers_are_admin_only(copy_world, api_for):
    stores = api_for(copy_world["users"]["qa"]).get("/api/v1/data-stores/",
                                                    {"environment": copy_world["source"].pk}).json()
    assert [s["kind"] for s in stores["results"]] == ["mysql"]
    assert "password" not in str(stores) and str(copy_world["source_ep"].password) not in str(stores)
    assert api_for(copy_world["users"]["qa"]).get("/api/v1/data-servers/").status_code == 403
    admin = api_for(copy_world["users"]["admin"])
    created = admin.post("/api/v1/data-servers/", {"cluster": copy_world["source"].cluster.name, "kind": "mysql",
                                                   "host": "db.internal", "port": 3306, "user": "admin",
                                                   "password": "s3cr3t-admin"}, format="json")
    assert created.status_code == 201 and created.json()["has_password"] is True
    assert "s3cr3t-admin" not in str(created.json())
    assert DataServer.objects.get().password == "s3cr3t-admin"


def test_openapi_documents_data_copies(db, users, api_for):
    schema = api_for(users["admin"]).get("/api/schema/").content.decode()
    assert "/api/v1/data-copies/{id}/undo/" in schema and "DataCopyCreate" in schema


def test_pages_form_detail_list(copy_world, django_capture_on_commit_callbacks):
    fill(copy_world["source_ep"], customers=4)
    browser = Client()
    browser.force_login(copy_world["users"]["qa"])
    target = copy_world["target"]
    page = browser.get(f"/environments/{target.pk}/").content.decode()
    assert f"/environments/{target.pk}/copy-data/" in page
    form = browser.get(f"/environments/{target.pk}/copy-data/").content.decode()
    assert "customers.email = email" in form and "qa-source" in form
    bad = browser.post(f"/environments/{target.pk}/copy-data/", {"source": copy_world["source"].pk,
                                                                  "stores": ["mysql"], "masking": "customers.email"})
    assert bad.status_code == 200 and "line 1" in bad.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(f"/environments/{target.pk}/copy-data/", {
            "source": copy_world["source"].pk, "stores": ["mysql"], "include_tables": "customers, orders",
            "filters": "orders: id < 10", "masking": "customers.email = email\ncustomers.name = fixed:Anon"})
    assert response.status_code == 302, response.content.decode()[:2000]
    copy = DataCopy.objects.get()
    assert copy.options == {"mysql": {"include_tables": ["customers", "orders"], "filters": {"orders": "id < 10"}},
                            "masking": {"customers.email": "email",
                                        "customers.name": {"rule": "fixed", "value": "Anon"}}}
    detail = browser.get(response["Location"]).content.decode()
    assert 'data-copy-state="verified"' in detail and 'data-verified="yes"' in detail and "Undo last copy" in detail
    assert "data-job-stream" in detail
    listing = browser.get("/data-copies/", {"state": "verified"}).content.decode()
    assert f"/data-copies/{copy.pk}/" in listing
    assert browser.get("/data-copies/export.csv").status_code == 200
    manager = Client()
    manager.force_login(copy_world["users"]["manager"])
    assert manager.get(f"/environments/{target.pk}/copy-data/").status_code == 404
    assert manager.get(f"/data-copies/{copy.pk}/").status_code == 200


BYPASS = "id >= 1 /* ' */ OR (SELECT COUNT(*) FROM customers) > 0 /* ' */"


def test_api_refuses_a_hostile_row_filter_with_the_reason(copy_world, api_for):
    """Row filters are parsed at the edge: 400 in the error shape, saying why, and no copy recorded."""
    api = api_for(copy_world["users"]["qa"])
    body = {"source": copy_world["source"].pk, "target": copy_world["target"].pk, "stores": ["mysql"]}
    for filters, reason in (({"orders": BYPASS}, "comments are not allowed"),
                            ({"orders": "id IN (SELECT id FROM customers)"}, "subquery"),
                            ({"orders": "SLEEP(5) = 0"}, "'SLEEP'"),
                            ({"orders": "customers.email LIKE '%@corp%'"}, "another table"),
                            ({"orders": "id = 1; DROP TABLE customers"}, "';' is not allowed"),
                            ({"orders": 5}, "is empty"),
                            ("id = 1", "must map table names")):
        response = api.post("/api/v1/data-copies/", {**body, "options": {"mysql": {"filters": filters}}},
                            format="json")
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert reason in error["message"] and reason in " ".join(error["fields"]["options"])
    assert not DataCopy.objects.exists()


def test_api_accepts_a_filter_with_percent_and_copies_the_matching_rows(copy_world, api_for,
                                                                        django_capture_on_commit_callbacks):
    fill(copy_world["source_ep"], customers=5)
    api = api_for(copy_world["users"]["qa"])
    body = {"source": copy_world["source"].pk, "target": copy_world["target"].pk, "stores": ["mysql"],
            "options": {"mysql": {"include_tables": ["customers"],
                                  "filters": {"customers": "email LIKE 'user1%' OR name LIKE '%O''Hara%' AND id < 3"}}}}
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/data-copies/", body, format="json")
    assert response.status_code == 202, response.json()
    assert DataCopy.objects.get().state == DataCopy.VERIFIED
    expected = query(copy_world["source_ep"], "SELECT id FROM customers WHERE email LIKE 'user1%%' "
                                              "OR name LIKE '%%O''Hara%%' AND id < 3 ORDER BY id", ())
    assert query(copy_world["target_ep"], "SELECT id FROM customers ORDER BY id") == expected == ((1,), (2,))


def test_form_shows_why_a_row_filter_is_refused(copy_world):
    browser = Client()
    browser.force_login(copy_world["users"]["qa"])
    target = copy_world["target"]
    response = browser.post(f"/environments/{target.pk}/copy-data/", {
        "source": copy_world["source"].pk, "stores": ["mysql"], "filters": f"orders: {BYPASS}"})
    page = response.content.decode()
    assert response.status_code == 200 and "comments are not allowed" in page
    assert not DataCopy.objects.exists()


def test_api_refuses_a_fixed_masking_value_that_is_not_one_sql_value(copy_world, api_for):
    body = {"source": copy_world["source"].pk, "target": copy_world["target"].pk, "stores": ["mysql"],
            "options": {"masking": {"customers.name": {"rule": "fixed", "value": ["a', 'b", "c"]}}}}
    response = api_for(copy_world["users"]["qa"]).post("/api/v1/data-copies/", body, format="json")
    assert response.status_code == 400
    assert "must be text, a number or null" in response.json()["error"]["message"]
    assert not DataCopy.objects.exists()


def test_api_checks_filter_columns_against_the_source_when_it_answers(copy_world, api_for):
    fill(copy_world["source_ep"], customers=2)
    api = api_for(copy_world["users"]["qa"])
    body = {"source": copy_world["source"].pk, "target": copy_world["target"].pk, "stores": ["mysql"]}
    for filters, reason in (({"orders": "amount > 1 AND nosuch = 1"}, "'nosuch', which is not a column of 'orders'"),
                            ({"no_such_table": "id = 1"}, "qa-source has no table of that name"),
                            ({"orders": "customer_email LIKE '%@corp.example' AND email = ''"}, "'email'")):
        response = api.post("/api/v1/data-copies/", {**body, "options": {"mysql": {"filters": filters}}},
                            format="json")
        assert response.status_code == 400 and reason in response.json()["error"]["message"], response.content
    assert not DataCopy.objects.exists()


def test_an_unreachable_source_leaves_the_column_check_to_the_worker(copy_world, api_for):
    from devstack.process import free_port
    from migrations_tool.models import DataStore

    DataStore.objects.filter(environment=copy_world["source"]).update(port=free_port())
    body = {"source": copy_world["source"].pk, "target": copy_world["target"].pk, "stores": ["mysql"],
            "options": {"mysql": {"filters": {"orders": "nosuch = 1"}}}}
    response = api_for(copy_world["users"]["qa"]).post("/api/v1/data-copies/", body, format="json")
    assert response.status_code == 202


def test_api_refuses_nul_characters_in_options_instead_of_failing_on_the_database(copy_world, api_for):
    body = {"source": copy_world["source"].pk, "target": copy_world["target"].pk, "stores": ["mysql"]}
    api = api_for(copy_world["users"]["qa"])
    for options in ({"mysql": {"filters": {"orders": "id = 1\u0000"}}}, {"mysql": {"filters": {"ord\u0000": "id = 1"}}},
                    {"redis": {"patterns": ["a\u0000"]}}):
        response = api.post("/api/v1/data-copies/", {**body, "options": options}, format="json")
        assert response.status_code == 400, response.content
        assert "NUL" in response.json()["error"]["message"]
    assert not DataCopy.objects.exists()
