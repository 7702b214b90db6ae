"""The four roles (Django groups) and the model permissions each one holds.

Object-level rules (owner, team, stage) live in ``rules.py``; this module only says what each
role may do to a kind of object. Permissions of models that do not exist yet are granted as soon
as their app's migration creates them (``sync_roles`` runs after every migrate).
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

DEVELOPERS = "Developers"
QA = "QA"
MANAGERS = "Managers"
PLATFORM_ADMINS = "Platform admins"
ALL_ROLES = (DEVELOPERS, QA, MANAGERS, PLATFORM_ADMINS)

_READ_ALL = [
    "accounts.view_team",
    "jobs.view_job",
    "environments.view_environment",
    "clusters.view_cluster",
    "migrations_tool.view_datacopy",
]
_SELF_SERVICE = [
    "environments.add_environment",
    "environments.change_environment",
    "environments.delete_environment",
    "migrations_tool.add_datacopy",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    DEVELOPERS: _READ_ALL + _SELF_SERVICE,
    QA: _READ_ALL + _SELF_SERVICE,
    MANAGERS: _READ_ALL + ["audit.view_auditevent"],
    PLATFORM_ADMINS: _READ_ALL + _SELF_SERVICE + [
        "audit.view_auditevent",
        "accounts.add_team",
        "accounts.change_team",
        "accounts.delete_team",
        "jobs.add_job",
        "clusters.add_cluster",
        "clusters.change_cluster",
        "clusters.delete_cluster",
    ],
}


def sync_roles(group_model=None, permission_model=None) -> None:
    """Create the role groups and grant exactly the listed permissions that exist (idempotent)."""
    if group_model is None:
        group_model, permission_model = Group, Permission
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".", 1)
            wanted.extend(permission_model.objects.filter(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)
