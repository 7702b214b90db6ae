"""Policy pages, included at the root of /environments/: the Policies page, the requests queue and a
request's own page (named ``environment-request-…``), the New environment form's notice."""

from django.urls import path

from . import views

urlpatterns = [
    path("policies/", views.policies_index, name="policies-index"),
    path("policies/stages/<slug:stage>/", views.stage_policy_edit, name="stage-policy-edit"),
    path("policies/quotas/", views.quota_policy_set, name="quota-policy-set"),
    path("policies/quotas/<int:quota_id>/delete/", views.quota_policy_delete, name="quota-policy-delete"),
    path("policies/notice/", views.policy_notice, name="policy-notice"),
    path("requests/", views.environment_request_list, name="environment-request-list"),
    path("requests/export/", views.environment_request_export, name="environment-request-export"),
    path("requests/<int:request_id>/", views.environment_request_detail, name="environment-request-detail"),
    path("requests/<int:request_id>/approve/", views.environment_request_approve,
         name="environment-request-approve"),
    path("requests/<int:request_id>/refuse/", views.environment_request_refuse, name="environment-request-refuse"),
    path("requests/<int:request_id>/cancel/", views.environment_request_cancel, name="environment-request-cancel"),
]
