"""Managing people: users, their roles and teams, and the teams themselves (Platform admins only).

Every function checks that ``by`` (the signed-in user acting) is a Platform admin, validates, writes,
and appends one audit event whose details hold the changed fields as ``{"changes": {field:
{"before": …, "after": …}}}``; a refused or failed attempt is audited as a failure. The Django
admin screens of the same models log through ``portal.audit.admin`` with the same snapshots.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from portal.audit.actor import Actor
from portal.audit.services import audited, changes_between
from portal.concurrency import refused_when_taken

from . import roles, rules
from .models import Team

# Letters, digits and . _ - @ (what Django's own validator allows), starting with a letter or digit.
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,149}$")
USERNAME_RULE = ("Usernames are 2–150 characters: letters, digits and . _ - @, "
                 "starting with a letter or digit (no spaces).")
TEAM_SLUG_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
MANAGE_PEOPLE = "manage users and teams"  # completes "Only Platform admins …"
PASSWORD = "password"  # a one-time password, shown to the admin once
LINK = "link"  # a set-password link the admin hands over
CREDENTIAL_METHODS = (PASSWORD, LINK)


@dataclass(frozen=True)
class Credentials:
    """How a new (or reset) user signs in the first time: exactly one of the two is set."""

    password: str = ""
    set_password_path: str = ""


# --- snapshots: what the audit trail compares --------------------------------------------------------------------


def user_snapshot(user: Any) -> dict[str, Any]:
    """The audited facts of a user (never the password hash)."""
    return {
        "username": user.get_username(), "email": user.email, "first_name": user.first_name,
        "last_name": user.last_name, "is_active": user.is_active, "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "roles": sorted(user.groups.values_list("name", flat=True)) if user.pk else [],
        "teams": sorted(user.teams.values_list("slug", flat=True)) if user.pk else [],
    }


def team_snapshot(team: Team) -> dict[str, Any]:
    members = sorted(team.members.values_list("username", flat=True)) if team.pk else []
    return {"slug": team.slug, "name": team.name, "members": members}


def role_snapshot(group: Group) -> dict[str, Any]:
    perms = group.permissions.values_list("content_type__app_label", "codename") if group.pk else []
    return {"name": group.name, "permissions": sorted(f"{app}.{code}" for app, code in perms)}


# --- checks --------------------------------------------------------------------------------------------------------


def _check_username(username: str, *, exclude_pk: int | None = None) -> None:
    if not USERNAME_PATTERN.match(username or ""):
        raise ValidationError({"username": [f"'{username}' is not a valid username. {USERNAME_RULE}"]})
    if refusal := _username_taken(username, exclude_pk=exclude_pk):
        raise refusal


def _username_taken(username: str, *, exclude_pk: int | None = None) -> ValidationError | None:
    taken = get_user_model().objects.filter(username__iexact=username).exclude(pk=exclude_pk).first()
    return None if taken is None else ValidationError({"username": [f"The username '{taken.username}' is taken."]})


def _check_email(email: str) -> None:
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise ValidationError({"email": [f"'{email}' is not a valid e-mail address."]}) from exc


def _role_groups(names: Iterable[str]) -> list[Group]:
    names = sorted(set(names))
    unknown = [n for n in names if n not in roles.ALL_ROLES]
    if unknown:
        raise ValidationError({"roles": [f"Unknown role(s): {', '.join(unknown)}. "
                                         f"Roles are: {', '.join(roles.ALL_ROLES)}."]})
    return list(Group.objects.filter(name__in=names))


def _is_active_admin(user: Any) -> bool:
    return user.is_active and (user.is_superuser or user.groups.filter(name=roles.PLATFORM_ADMINS).exists())


def _other_active_admins_exist(user: Any) -> bool:
    admins = get_user_model().objects.filter(is_active=True).filter(
        Q(is_superuser=True) | Q(groups__name=roles.PLATFORM_ADMINS))
    return admins.exclude(pk=user.pk).exists()


def guard_rail_refusal(*, user: Any, by: Any, is_active: bool, is_superuser: bool, role_names: Iterable[str]) -> str:
    """Why giving ``user`` this state would break a guard rail, or "" (shared with the Django admin's form).

    Nobody deactivates themselves, and the last active Platform admin (or superuser) stays one.
    Call it inside the transaction that makes the change: it locks the Platform admins role first, so two
    admins removing each other at once are decided one after the other (the second sees the first's change).
    """
    Group.objects.select_for_update().filter(name=roles.PLATFORM_ADMINS).first()
    if user.pk == by.pk and user.is_active and not is_active:
        return "You cannot deactivate yourself."
    stays_admin = is_active and (is_superuser or roles.PLATFORM_ADMINS in set(role_names))
    if not stays_admin and _is_active_admin(user) and not _other_active_admins_exist(user):
        return (f"{user.get_username()} is the last active Platform admin: make someone else a Platform admin "
                "first.")
    return ""


def _refuse(refusal: str) -> None:
    if refusal:
        raise ValidationError(refusal)


def _credentials(user: Any, method: str) -> Credentials:
    """Set a new one-time password, or make the password unusable and hand out a set-password link."""
    if method not in CREDENTIAL_METHODS:
        raise ValidationError({"credentials": [f"Choose one of: {', '.join(CREDENTIAL_METHODS)}."]})
    if method == PASSWORD:
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.save(update_fields=["password"])
        return Credentials(password=password)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    # Django's reset token is bound to the password hash and last login: it stops working once used.
    path = reverse("password-set", kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                                           "token": default_token_generator.make_token(user)})
    return Credentials(set_password_path=path)


# --- users ---------------------------------------------------------------------------------------------------------


def user_create(*, actor: Actor, by: Any, username: str, email: str = "", first_name: str = "",
                last_name: str = "", role_names: Iterable[str] = (), teams: Iterable[Team] = (),
                credentials: str = PASSWORD) -> tuple[Any, Credentials]:
    """Create an active user with roles and teams; returns it and its first sign-in credentials.

    Raises PermissionDenied (not a Platform admin) or ValidationError (field → messages).
    """
    username = (username or "").strip()
    with audited(actor=actor, action="user.create", details={"username": username}) as scope:
        rules.require_platform_admin(by, MANAGE_PEOPLE)
        _check_username(username)
        _check_email(email)
        groups = _role_groups(role_names)
        teams = list(teams)
        with refused_when_taken(lambda: _username_taken(username)):  # a concurrent twin loses on the unique name
            user = get_user_model().objects.create_user(username=username, email=email, first_name=first_name,
                                                        last_name=last_name)
            user.groups.set(groups)
            user.teams.set(teams)
            creds = _credentials(user, credentials)
        scope.obj = user
        scope.details["changes"] = changes_between(None, user_snapshot(user))
        scope.details["credentials"] = credentials
    return user, creds


def user_update(*, actor: Actor, by: Any, user: Any, email: str | None = None, first_name: str | None = None,
                last_name: str | None = None, role_names: Iterable[str] | None = None,
                teams: Iterable[Team] | None = None) -> Any:
    """Change a user's profile, roles (exactly ``role_names``) and teams (exactly ``teams``); None keeps a field.

    Refuses to take the Platform admin role from the last active Platform admin.
    """
    with audited(actor=actor, action="user.update", obj=user) as scope:
        rules.require_platform_admin(by, MANAGE_PEOPLE)
        before = user_snapshot(user)
        with transaction.atomic():
            if email is not None:
                _check_email(email)
                user.email = email
            if first_name is not None:
                user.first_name = first_name
            if last_name is not None:
                user.last_name = last_name
            user.save()
            if role_names is not None:
                role_names = list(role_names)
                groups = _role_groups(role_names)
                _refuse(guard_rail_refusal(user=user, by=by, is_active=user.is_active,
                                           is_superuser=user.is_superuser, role_names=role_names))
                user.groups.set(groups)
            if teams is not None:
                user.teams.set(list(teams))
        scope.details["changes"] = changes_between(before, user_snapshot(user))
    return user


def user_deactivate(*, actor: Actor, by: Any, user: Any) -> Any:
    """Stop ``user`` signing in (sessions and API tokens stop working too). Idempotent.

    Refuses to deactivate yourself or the last active Platform admin.
    """
    with audited(actor=actor, action="user.deactivate", obj=user) as scope:
        rules.require_platform_admin(by, MANAGE_PEOPLE)
        before = user_snapshot(user)
        with transaction.atomic():
            _refuse(guard_rail_refusal(user=user, by=by, is_active=False, is_superuser=user.is_superuser,
                                       role_names=before["roles"]))
            user.is_active = False
            user.save(update_fields=["is_active"])
        scope.details["changes"] = changes_between(before, user_snapshot(user))
    return user


def user_reactivate(*, actor: Actor, by: Any, user: Any) -> Any:
    """Let a deactivated user sign in again with their existing password. Idempotent."""
    with audited(actor=actor, action="user.reactivate", obj=user) as scope:
        rules.require_platform_admin(by, MANAGE_PEOPLE)
        before = user_snapshot(user)
        user.is_active = True
        user.save(update_fields=["is_active"])
        scope.details["changes"] = changes_between(before, user_snapshot(user))
    return user


def user_password_reset(*, actor: Actor, by: Any, user: Any, credentials: str = PASSWORD) -> Credentials:
    """Replace the user's password with a new one-time password or a set-password link."""
    with audited(actor=actor, action="user.password_reset", obj=user, details={"credentials": credentials}):
        rules.require_platform_admin(by, MANAGE_PEOPLE)
        return _credentials(user, credentials)


# --- teams ---------------------------------------------------------------------------------------------------------


def _check_team(slug: str, name: str, *, exclude_pk: int | None = None) -> None:
    if not TEAM_SLUG_PATTERN.match(slug or ""):
        raise ValidationError({"slug": [f"'{slug}' is not a valid team slug: lowercase letters, digits and "
                                        "hyphens, at most 63, not starting or ending with a hyphen."]})
    if not (name or "").strip():
        raise ValidationError({"name": ["Give the team a name."]})
    if refusal := _team_taken(slug, exclude_pk=exclude_pk):
        raise refusal


def _team_taken(slug: str, *, exclude_pk: int | None = None) -> ValidationError | None:
    if Team.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        return ValidationError({"slug": [f"A team with the slug '{slug}' already exists."]})
    return None


def team_create(*, actor: Actor, by: Any, slug: str, name: str, members: Iterable[Any] = ()) -> Team:
    """Create a team with its members. Raises PermissionDenied or ValidationError."""
    slug, name = (slug or "").strip(), (name or "").strip()
    with audited(actor=actor, action="team.create", details={"slug": slug}) as scope:
        scope.team_slug = slug
        rules.require_platform_admin(by, MANAGE_PEOPLE)
        _check_team(slug, name)
        with refused_when_taken(lambda: _team_taken(slug)):  # Team.slug is unique: a concurrent twin loses here
            team = Team.objects.create(slug=slug, name=name)
            team.members.set(list(members))
        scope.obj = team
        scope.details["changes"] = changes_between(None, team_snapshot(team))
    return team


def team_update(*, actor: Actor, by: Any, team: Team, name: str | None = None,
                members: Iterable[Any] | None = None) -> Team:
    """Rename a team or set exactly its members (None keeps). The slug is fixed: the audit trail files by it."""
    with audited(actor=actor, action="team.update", obj=team) as scope:
        scope.team_slug = team.slug
        rules.require_platform_admin(by, MANAGE_PEOPLE)
        before = team_snapshot(team)
        with transaction.atomic():
            if name is not None:
                _check_team(team.slug, name, exclude_pk=team.pk)
                team.name = name.strip()
                team.save(update_fields=["name"])
            if members is not None:
                team.members.set(list(members))
        scope.details["changes"] = changes_between(before, team_snapshot(team))
    return team
