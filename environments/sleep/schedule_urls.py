"""Sleep schedule pages (the wake part), included at the root of /environments/: an environment's own
schedule under /environments/<id>/sleep-schedule/, the defaults at /environments/sleep-schedules/.
The sleep part's Sleep now / Wake now are in ``urls.py``."""

from django.urls import path

from . import schedule_pages as views

urlpatterns = [
    path("sleep-schedules/", views.sleep_default_list, name="sleep-default-list"),
    path("sleep-schedules/new/", views.sleep_default_new, name="sleep-default-new"),
    path("sleep-schedules/export/", views.sleep_default_export, name="sleep-default-export"),
    path("sleep-schedules/<int:schedule_id>/", views.sleep_default_edit, name="sleep-default-edit"),
    path("sleep-schedules/<int:schedule_id>/delete/", views.sleep_default_delete, name="sleep-default-delete"),
    path("<int:environment_id>/sleep-schedule/", views.environment_sleep_schedule, name="environment-sleep-schedule"),
    path("<int:environment_id>/sleep-schedule/clear/", views.environment_sleep_schedule_clear,
         name="environment-sleep-schedule-clear"),
]
