from django.db import migrations, models
from django.utils import timezone

EXCLUSIVE_KINDS = ("destroy", "cluster-addons", "dns-sweep")


def cancel_duplicates(apps, schema_editor):
    """Before the constraint: of unfinished jobs of one exclusive kind and target, the oldest stays."""
    Job = apps.get_model("jobs", "Job")
    kept = {}
    for job in Job.objects.filter(kind__in=EXCLUSIVE_KINDS, state__in=("queued", "running")).order_by("created_at"):
        key = (job.kind, job.target_type, job.target_id)
        if key not in kept:
            kept[key] = job.pk
            continue
        Job.objects.filter(pk=job.pk).update(state="cancelled", finished_at=timezone.now(),
                                             error=f"cancelled: job {kept[key]} of the same kind was already active "
                                                   "(one at a time)")


class Migration(migrations.Migration):

    dependencies = [
        ("jobs", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(cancel_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="job",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind__in", EXCLUSIVE_KINDS), ("state__in", ("queued", "running"))),
                fields=("kind", "target_type", "target_id"), name="one_active_exclusive_job"),
        ),
    ]
