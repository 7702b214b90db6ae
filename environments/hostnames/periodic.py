"""The periodic (beat) trigger of the DNS sweep; registered through ``environments/periodic.py``.

Apart from ``tasks.py`` because it calls the use case ``dns_sweep_start``, which enqueues the sweep job.
"""

from celery import shared_task
from django.core.exceptions import ValidationError

from portal.audit.actor import Actor
from portal.jobs.models import Job

from .services import dns_sweep_start


@shared_task(name="environments.dns_sweep")
def dns_sweep() -> str:
    """Periodic (beat): start a sweep job unless one is already queued or running."""
    running = Job.objects.filter(kind="dns-sweep", state__in=[Job.QUEUED, Job.RUNNING]).first()
    if running is not None:
        return str(running.pk)
    try:
        return str(dns_sweep_start(actor=Actor.system("dns-sweeper"), user=None).pk)
    except ValidationError:  # an admin's sweep started in between: the database let only one through
        return str(Job.objects.filter(kind="dns-sweep", state__in=[Job.QUEUED, Job.RUNNING]).values_list(
            "pk", flat=True).first())
