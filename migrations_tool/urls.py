from django.urls import path

from . import views

urlpatterns = [
    path("", views.data_copy_index, name="datacopy-list"),
    path("export.csv", views.data_copy_export, name="datacopy-export"),
    path("<int:copy_id>/", views.data_copy_detail, name="datacopy-detail"),
    path("<int:copy_id>/progress/", views.data_copy_progress, name="datacopy-progress"),
    path("<int:copy_id>/undo/", views.data_copy_undo, name="datacopy-undo"),
]
