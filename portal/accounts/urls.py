from django.urls import path

from . import views

urlpatterns = [
    path("", views.user_index, name="people-users"),
    path("users/new/", views.user_new, name="people-user-new"),
    path("users/<int:user_id>/", views.user_detail, name="people-user"),
    path("users/<int:user_id>/deactivate/", views.user_deactivate, name="people-user-deactivate"),
    path("users/<int:user_id>/reactivate/", views.user_reactivate, name="people-user-reactivate"),
    path("users/<int:user_id>/password/", views.user_password_reset, name="people-user-password"),
    path("teams/", views.team_index, name="people-teams"),
    path("teams/new/", views.team_edit, name="people-team-new"),
    path("teams/<int:team_id>/", views.team_edit, name="people-team"),
    path("<str:table>/export.csv", views.people_export, name="people-export"),
]
