from django.apps import AppConfig

from portal.redaction import install_record_redaction


class JobsConfig(AppConfig):
    name = "portal.jobs"
    label = "jobs"
    verbose_name = "Jobs"

    def ready(self) -> None:
        # Job bodies log through the standard library: every record is redacted where it is made,
        # whichever handler (console, a collector, pytest's caplog) later receives it.
        install_record_redaction()
