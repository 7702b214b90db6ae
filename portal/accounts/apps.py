from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import signals  # noqa: F401  (connects the sign-in audit receivers)
        from .roles import sync_roles

        # Later apps add permissions in their own migrations; keep the roles' grants complete.
        post_migrate.connect(lambda **kwargs: sync_roles(), weak=False, dispatch_uid="slipway.sync_roles")
