"""Celery tasks for hostnames: the sweep job, and its periodic (beat) trigger."""

from celery import shared_task
from django.core.exceptions import ValidationError

from portal.accounts import authz
from portal.audit.actor import Actor
from portal.jobs.runner import job_task

from .sweep import dns_sweep_start, run_dns_sweep

dns_sweep_job = job_task("environments.dns_sweep_job",
                         authorize=lambda user, job: authz.operations_can(user, authz.CHANGE))(run_dns_sweep)


@shared_task(name="environments.dns_sweep")
def dns_sweep() -> str:
    """Periodic (beat): start a sweep job unless one is already queued or running."""
    from portal.jobs.models import Job

    running = Job.objects.filter(kind="dns-sweep", state__in=[Job.QUEUED, Job.RUNNING]).first()
    if running is not None:
        return str(running.pk)
    try:
        return str(dns_sweep_start(actor=Actor.system("dns-sweeper"), user=None).pk)
    except ValidationError:  # an admin's sweep started in between: the database let only one through
        return str(Job.objects.filter(kind="dns-sweep", state__in=[Job.QUEUED, Job.RUNNING]).values_list(
            "pk", flat=True).first())
