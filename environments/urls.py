"""The environment pages. Each per-environment action is /environments/<id>/<action>/, named
``environment-<action>``, so templates and tests keep one naming rule."""

from django.urls import include, path

from migrations_tool.views import environment_copy_data

from . import views
from .hostnames import views as hostname_views
from .logs import views as log_views

# action (URL segment and name suffix) -> view
ACTIONS = {
    "versions": views.environment_update_versions,
    "rollback": views.environment_rollback,
    "retry": views.environment_retry,
    "destroy": views.environment_destroy,
    "extend": views.environment_extend,
    "document": views.environment_document,
    "diff": views.environment_diff,
    "switch": views.environment_switch,
    "retire": views.environment_retire,
    "drift-check": views.environment_drift_check,
    "reconcile": views.environment_reconcile,
    "compare": views.environment_compare,
    "clone": views.environment_clone,
    "promote": views.environment_promote,
    "hostname": hostname_views.environment_hostname,
    "extra-hostnames": hostname_views.environment_extra_hostnames,
    "copy-data": environment_copy_data,
    "logs": log_views.environment_logs,
    "log-history": log_views.environment_log_history,
}
NAME_OVERRIDES = {"versions": "environment-update-versions"}

urlpatterns = [
    path("", views.environment_index, name="environment-list"),
    path("new/", views.environment_new, name="environment-new"),
    path("new/versions/", views.version_picker, name="environment-version-picker"),
    path("new/cluster/", views.new_environment_cluster_field, name="environment-cluster-field"),
    path("new/ttl/", views.new_environment_ttl_field, name="environment-ttl-field"),
    path("import/", views.environment_import, name="environment-import"),
    path("hostnames/", include("environments.hostnames.urls")),
    path("", include("environments.chaos.urls")),
    path("", include("environments.sleep.urls")),
    path("", include("environments.sleep.schedule_urls")),  # issue 17, wake part: sleep schedules
    path("", include("environments.policies.urls")),  # policies (issue 17): Policies page, requests
    path("<int:environment_id>/", views.environment_detail, name="environment-detail"),
    *(path(f"<int:environment_id>/{action}/", view, name=NAME_OVERRIDES.get(action, f"environment-{action}"))
      for action, view in ACTIONS.items()),
]
