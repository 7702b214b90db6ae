from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('clusters', '0002_terraform_runs'),
    ]

    operations = [
        migrations.AddField(
            model_name='cluster',
            name='addons',
            field=models.JSONField(blank=True, default=dict, help_text='installed add-ons: {name: {version, objects, installed_at}}'),
        ),
        migrations.AddField(
            model_name='cluster',
            name='allocatable_cpu_millicores',
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='cluster',
            name='allocatable_memory_bytes',
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='cluster',
            name='nodes_ready',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
