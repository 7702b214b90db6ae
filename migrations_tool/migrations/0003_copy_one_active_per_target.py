from django.db import migrations, models
from django.utils import timezone

ACTIVE = ("queued", "running", "undoing")


def fail_duplicates(apps, schema_editor):
    """Before the constraint: of copies active into one target at once, the oldest stays."""
    DataCopy = apps.get_model("migrations_tool", "DataCopy")
    kept = {}
    for copy in DataCopy.objects.filter(state__in=ACTIVE).order_by("created_at"):
        if copy.target_id not in kept:
            kept[copy.target_id] = copy.pk
            continue
        DataCopy.objects.filter(pk=copy.pk).update(
            state="failed", finished_at=timezone.now(),
            error=f"refused: copy {kept[copy.target_id]} into the same target was already active (one at a time)")


class Migration(migrations.Migration):

    dependencies = [
        ("migrations_tool", "0002_data_store_owner_marker"),
    ]

    operations = [
        migrations.RunPython(fail_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="datacopy",
            constraint=models.UniqueConstraint(condition=models.Q(("state__in", ACTIVE)), fields=("target",),
                                               name="one_active_copy_per_target"),
        ),
    ]
