from django.urls import path

from . import views

urlpatterns = [
    path("", views.hostnames_index, name="hostnames-index"),
    path("clusters/<int:cluster_id>/", views.cluster_dns_edit, name="cluster-dns-edit"),
    path("sweep/", views.dns_sweep, name="dns-sweep"),
]
