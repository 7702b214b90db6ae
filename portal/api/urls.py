"""/api/v1/: each app's routes, included from the app's ``api_urls`` module, and the API root listing them."""

from django.urls import include, path
from rest_framework.routers import APIRootView
from rest_framework.urlpatterns import format_suffix_patterns

from clusters import api_urls as clusters_api
from environments import api_urls as environments_api
from migrations_tool import api_urls as data_copies_api
from portal.accounts import api_urls as accounts_api
from portal.audit import api_urls as audit_api
from portal.jobs import api_urls as jobs_api

APPS = (accounts_api, audit_api, clusters_api, data_copies_api, environments_api, jobs_api)

# What the root lists, as DefaultRouter's root did when one router held every route: each collection's
# prefix -> the name of its list route.
ROOT_LINKS = dict(sorted((prefix, f"{basename}-list") for app in APPS for prefix, _, basename in app.router.registry))

urlpatterns = [
    *(path("", include(app)) for app in APPS),
    *format_suffix_patterns([path("", APIRootView.as_view(api_root_dict=ROOT_LINKS), name="api-root")]),
]
