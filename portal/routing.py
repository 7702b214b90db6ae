from django.urls import path

from environments.logs.consumers import LogStreamConsumer
from portal.jobs.consumers import JobStreamConsumer

websocket_urlpatterns = [
    path("ws/jobs/<uuid:job_id>/", JobStreamConsumer.as_asgi()),
    path("ws/environments/<int:environment_id>/logs/", LogStreamConsumer.as_asgi()),
]
