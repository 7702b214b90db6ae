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
