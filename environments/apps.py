from django.apps import AppConfig


class EnvironmentsConfig(AppConfig):
    name = "environments"
    verbose_name = "Environments"

    def ready(self) -> None:
        from . import periodic  # noqa: F401  (registers the beat tasks in every process, worker and web)
