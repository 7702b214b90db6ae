from django.apps import AppConfig


class MigrationsToolConfig(AppConfig):
    name = "migrations_tool"
    verbose_name = "Data copies"

    def ready(self) -> None:
        from . import periodic  # noqa: F401  (registers the beat tasks in every process, worker and web)
