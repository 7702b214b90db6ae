from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal.accounts import views as account_views
from portal.accounts.api import ObtainTokenView
from portal.api.errors import json_error_view
from portal.audit import views as audit_views
from portal.dashboard import views as dashboard_views
from portal.jobs import views as job_views
from portal.observability import views as observability_views
from portal.outages import outage_aware

urlpatterns = [
    path("", dashboard_views.dashboard, name="dashboard"),
    path("healthz", dashboard_views.healthz, name="healthz"),
    path("readyz", observability_views.readyz, name="readyz"),
    path("metrics", observability_views.metrics, name="metrics"),
    # Browsers ask for /favicon.ico whatever the page links; send them to the SVG brand mark.
    path("favicon.ico", RedirectView.as_view(url=f"/{settings.STATIC_URL.lstrip('/')}img/favicon.svg", permanent=True)),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/set/<uidb64>/<token>/", account_views.PasswordSetView.as_view(), name="password-set"),
    path("password/change/", account_views.PasswordChangeView.as_view(), name="password-change"),
    path("people/", include("portal.accounts.urls")),
    path("environments/", include("environments.urls")),
    path("costs/", include("environments.cost.urls")),
    path("catalog/", include("environments.catalog.urls")),
    path("clusters/", include("clusters.urls")),
    path("data-copies/", include("migrations_tool.urls")),
    path("orphans/", include("environments.orphans.urls")),
    path("reports/", include("environments.reports.urls")),
    path("audit/", audit_views.audit_list, name="audit-list"),
    path("audit/export.csv", audit_views.audit_export, name="audit-export"),
    path("audit/object/<str:object_type>/<str:object_id>/", audit_views.audit_object_history, name="audit-object"),
    path("jobs/", job_views.job_index, name="job-list"),
    path("jobs/selfcheck/", job_views.selfcheck, name="job-selfcheck"),
    path("jobs/<uuid:job_id>/", job_views.job_detail, name="job-detail"),
    # Namespaced: the router's names (job-list, job-detail…) must not shadow the pages' names.
    path("api/v1/", include(("portal.api.urls", "api"))),
    path("api/v1/auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

handler400 = json_error_view(400, "bad_request", "The request is malformed.")
handler403 = json_error_view(403, "permission_denied", "You do not have permission to perform this action.")
handler404 = json_error_view(404, "not_found", "Not found.")
handler500 = outage_aware(  # a database outage raised by a middleware answers 503 (portal/outages.py)
    json_error_view(500, "server_error", "Something went wrong on the server; the error has been logged."))

if settings.SLIPWAY_OIDC_ENABLED:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))
