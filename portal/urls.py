from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from clusters import views as cluster_views
from environments import views as environment_views
from portal.accounts.api import ObtainTokenView
from portal.api.errors import json_error_view
from portal.audit import views as audit_views
from portal.dashboard import views as dashboard_views
from portal.jobs import views as job_views
from portal.sections import section

urlpatterns = [
    path("", dashboard_views.dashboard, name="dashboard"),
    path("healthz", dashboard_views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("environments/", environment_views.environment_index, name="environment-list"),
    path("environments/new/", environment_views.environment_new, name="environment-new"),
    path("environments/new/versions/", environment_views.version_picker, name="environment-version-picker"),
    path("environments/import/", environment_views.environment_import, name="environment-import"),
    path("environments/<int:environment_id>/", environment_views.environment_detail, name="environment-detail"),
    path("environments/<int:environment_id>/versions/", environment_views.environment_update_versions,
         name="environment-update-versions"),
    path("environments/<int:environment_id>/rollback/", environment_views.environment_rollback,
         name="environment-rollback"),
    path("environments/<int:environment_id>/destroy/", environment_views.environment_destroy,
         name="environment-destroy"),
    path("environments/<int:environment_id>/extend/", environment_views.environment_extend,
         name="environment-extend"),
    path("environments/<int:environment_id>/document/", environment_views.environment_document,
         name="environment-document"),
    path("environments/<int:environment_id>/diff/", environment_views.environment_diff, name="environment-diff"),
    path("environments/<int:environment_id>/switch/", environment_views.environment_switch,
         name="environment-switch"),
    path("environments/<int:environment_id>/retire/", environment_views.environment_retire,
         name="environment-retire"),
    path("environments/<int:environment_id>/drift-check/", environment_views.environment_drift_check,
         name="environment-drift-check"),
    path("environments/<int:environment_id>/reconcile/", environment_views.environment_reconcile,
         name="environment-reconcile"),
    path("environments/<int:environment_id>/compare/", environment_views.environment_compare,
         name="environment-compare"),
    path("environments/<int:environment_id>/clone/", environment_views.environment_clone, name="environment-clone"),
    path("environments/<int:environment_id>/promote/", environment_views.environment_promote,
         name="environment-promote"),
    path("clusters/", cluster_views.cluster_index, name="cluster-list"),
    path("data-copies/", section("data-copies"), name="datacopy-list"),
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

handler403 = json_error_view(403, "permission_denied", "You do not have permission to perform this action.")
handler404 = json_error_view(404, "not_found", "Not found.")

if settings.SLIPWAY_OIDC_ENABLED:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))
