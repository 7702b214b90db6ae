"""Who may do what to which object: one function per object kind, for every path.

Pages, the API, websocket consumers, management commands (``--actor``/``--user``) and the
Celery tasks' re-check before they act all ask these functions; nothing else decides.

Rules (the "Security model" section of the README says the same in words):
- A signed-in account with no role sees and changes nothing (its own profile aside).
- Managers read everything and change nothing.
- Platform admins do everything.
- Developers and QA see what they own or what their teams own, change it unless it is
  production, and create only into a team they are a member of, never into production.

A new object is judged by its TARGET (:class:`Target`: the team and stage chosen for it), never
by "the caller would own it": otherwise anyone could create into any team.

Actions: ``VIEW``, ``CHANGE`` (any write to an existing object, including checks that record
results, such as a drift check), ``CREATE`` (judged against a Target; with no target, whether the
user may create this kind at all, which the API and pages ask before reading a request body).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied

from . import rules

VIEW = "view"
CHANGE = "change"
CREATE = "create"
ACTIONS = frozenset({VIEW, CHANGE, CREATE})
NO_ROLE = "Your account has no role in Slipway yet; ask a Platform admin for one."


@dataclass(frozen=True)
class Target:
    """Where a new object will go, before it exists: the chosen team and stage."""

    team_id: int | None
    stage: str = ""


def _signed_in(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(getattr(user, "is_active", True))


def has_role(user: Any) -> bool:
    """True for any account Slipway gave a role (or a superuser); a bare account gets nothing."""
    return _signed_in(user) and (rules.is_platform_admin(user) or bool(rules.role_names(user)))


def _check_action(action: str) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")


def _is_production(obj: Any) -> bool:
    return getattr(obj, "stage", None) in rules.PRODUCTION_STAGES


def _member_or_owner(user: Any, obj: Any) -> bool:
    owner_id = getattr(obj, "owner_id", None) or getattr(obj, "started_by_id", None)
    if owner_id is not None and owner_id == user.pk:
        return True
    team_id = getattr(obj, "team_id", None)
    return team_id is not None and team_id in rules.team_ids(user)


def _team_object_can(user: Any, action: str, obj: Any) -> bool:
    """The rule for team-owned objects (environments and what hangs off them)."""
    _check_action(action)
    if not has_role(user):
        return False
    if rules.is_platform_admin(user):
        return True
    if obj is None and action == VIEW:
        return True  # listing the kind: the selectors then filter the rows to the user's own
    if action == VIEW:
        return rules.is_manager(user) or _member_or_owner(user, obj)
    if not rules.is_self_service(user) or _is_production(obj):
        return False
    if action == CREATE:
        if obj is None:
            return True  # may create this kind at all; the use case then judges the chosen target
        # Judged by the target alone: membership of the chosen team, whoever would own it.
        team_id = getattr(obj, "team_id", None)
        return team_id is not None and team_id in rules.team_ids(user)
    return _member_or_owner(user, obj)


def _admin_object_can(user: Any, action: str, *, readers: str) -> bool:
    """Platform-owned objects: admins change; ``readers`` = "roles" (any role) or "oversight"."""
    _check_action(action)
    if not has_role(user):
        return False
    if rules.is_platform_admin(user):
        return True
    if action != VIEW:
        return False
    return readers == "roles" or rules.is_manager(user)


def environment_can(user: Any, action: str, environment: Any) -> bool:
    """Environments, their revisions, rollouts, documents, diffs and drift: ``environment`` is an
    Environment, or a :class:`Target` for CREATE (create, clone, apply of a new one)."""
    return _team_object_can(user, action, environment)


def logs_can(user: Any, action: str, environment: Any) -> bool:
    """Live and historical logs of an environment: whoever may see the environment."""
    return environment_can(user, action, environment)


def sleep_can(user: Any, action: str, environment: Any) -> bool:
    """Putting an environment to sleep and waking it (issue 17): whoever may change it (production:
    Platform admins only); its sleep state is seen like the environment."""
    return environment_can(user, action, environment)


def hostname_can(user: Any, action: str, environment: Any) -> bool:
    """An environment's hostnames: read and changed like the environment."""
    return environment_can(user, action, environment)


def data_copy_can(user: Any, action: str, copy_or_target: Any) -> bool:
    """A data copy is judged by its TARGET environment (the one written); pass a DataCopy, or the
    target Environment for CREATE (the caller also needs VIEW of the source)."""
    if copy_or_target is None:
        return _team_object_can(user, action, None)  # listing copies, or whether one may start copies at all
    target = getattr(copy_or_target, "target", copy_or_target)
    if action == CREATE:
        return _team_object_can(user, CHANGE, target)
    if action == VIEW:
        return _team_object_can(user, VIEW, copy_or_target) or _team_object_can(user, VIEW, target)
    return _team_object_can(user, CHANGE, target)


def data_store_can(user: Any, action: str, store: Any) -> bool:
    """An environment's data store: like its environment (``store=None``: listing stores)."""
    return environment_can(user, action, store.environment if store is not None else None)


def data_server_can(user: Any, action: str, server: Any = None) -> bool:
    """Shared data servers hold credentials for every team's stores: Platform admins only."""
    _check_action(action)
    return has_role(user) and rules.is_platform_admin(user)


def job_can(user: Any, action: str, job: Any) -> bool:
    """Jobs (and their live stream): their starter, their team, Managers and Platform admins.
    Jobs are changed only by the use case that owns them, so CHANGE means cancelling/re-running."""
    return _team_object_can(user, action, job)


def cluster_can(user: Any, action: str, cluster: Any = None) -> bool:
    """Clusters: every role sees them (environments are placed on them); Platform admins change."""
    return _admin_object_can(user, action, readers="roles")


def terraform_run_can(user: Any, action: str, run: Any = None) -> bool:
    """Terraform runs hold the plan, the log and the outputs of the platform's own infrastructure:
    Managers and Platform admins read them (as they read the job stream); admins approve/discard."""
    return _admin_object_can(user, action, readers="oversight")


def catalog_can(user: Any, action: str, obj: Any = None) -> bool:
    """Components, image versions, blueprints and registries: every role reads; admins change."""
    return _admin_object_can(user, action, readers="roles")


def image_version_can(user: Any, action: str, obj: Any = None) -> bool:
    """Image versions (adding one, refreshing a component's from its registry): every role reads;
    QA, Developers (they ship them) and admins add; Managers may not."""
    _check_action(action)
    if action == VIEW:
        return has_role(user)
    return has_role(user) and (rules.is_platform_admin(user) or rules.is_self_service(user))


def operations_can(user: Any, action: str, obj: Any = None) -> bool:
    """Platform operations (the worker self-check, DNS zone sweeps): admins run them; Managers read
    their reports."""
    return _admin_object_can(user, action, readers="oversight")


def orphans_can(user: Any, action: str, obj: Any = None) -> bool:
    """The orphan sweeper (issue 17): Platform admins sweep and remove; Managers read its findings."""
    return _admin_object_can(user, action, readers="oversight")


def cluster_dns_can(user: Any, action: str, cluster: Any = None) -> bool:
    """A cluster's hostname settings and DNS sweeps: every role reads; admins change."""
    return _admin_object_can(user, action, readers="roles")


def audit_can(user: Any, action: str = VIEW, obj: Any = None) -> bool:
    """The audit trail: Managers and Platform admins read it; nobody changes it."""
    _check_action(action)
    return action == VIEW and _admin_object_can(user, VIEW, readers="oversight")


def people_can(user: Any, action: str, obj: Any = None) -> bool:
    """Users and teams: Platform admins only (a person's own profile is not this kind)."""
    _check_action(action)
    return has_role(user) and rules.is_platform_admin(user)


def team_can(user: Any, action: str, team: Any = None) -> bool:
    """Teams: every role reads them (to choose one for a new environment); Platform admins change them."""
    return _admin_object_can(user, action, readers="roles")


def reports_can(user: Any, action: str = VIEW, obj: Any = None) -> bool:
    """The managers' dashboard (figures, charts, CSV, API): read-only, open to every role; the selectors
    show Managers and Platform admins everything and others only their own and their teams' figures."""
    _check_action(action)
    return action == VIEW and has_role(user)


# Chaos kill switches: engaging one is a safety action, releasing it lets faults run again.
ENGAGE = "engage"
RELEASE = "release"


def chaos_can(user: Any, action: str, environment: Any) -> bool:
    """An environment's chaos settings, experiments, runs and kill switch: seen like the environment;
    run, changed, engaged and released by whoever may change it (production: Platform admins only)."""
    if action in (ENGAGE, RELEASE):
        action = CHANGE
    return environment_can(user, action, environment)


def chaos_global_can(user: Any, action: str) -> bool:
    """The global chaos kill switch: every role sees it; Platform admins and Managers may ENGAGE it
    (stopping faults is oversight, not a change); only Platform admins RELEASE it (or CHANGE anything)."""
    if not has_role(user):
        return False
    if action == VIEW:
        return True
    if action == ENGAGE:
        return rules.is_platform_admin(user) or rules.is_manager(user)
    if action in (RELEASE, CHANGE, CREATE):
        return rules.is_platform_admin(user)
    raise ValueError(f"unknown action {action!r}")


def sleep_schedule_can(user: Any, action: str, environment: Any) -> bool:
    """An environment's own sleep schedule (and its sleep state): seen and changed like the environment."""
    return environment_can(user, action, environment)


def sleep_default_can(user: Any, action: str, obj: Any = None) -> bool:
    """Default sleep schedules per team and/or stage: every role reads them (they apply to its
    environments); Platform admins change them."""
    return _admin_object_can(user, action, readers="roles")


def cost_can(user: Any, action: str, obj: Any = None) -> bool:
    """Cost figures: an environment's (or a sample's) like the environment; ``obj=None`` asks whether
    the user may look at cost pages at all (the selectors then filter the rows). Nobody changes them."""
    return action == VIEW and _team_object_can(user, VIEW, obj)


def price_table_can(user: Any, action: str, cluster: Any = None) -> bool:
    """A cluster's price table: every role reads it (forecasts and costs use it); Platform admins change it."""
    return _admin_object_can(user, action, readers="roles")


def budget_can(user: Any, action: str, budget: Any = None) -> bool:
    """Team budgets: Platform admins set them; Managers read every one; members read their team's."""
    _check_action(action)
    if _admin_object_can(user, action, readers="oversight"):
        return True
    team_id = getattr(budget, "team_id", None)
    return action == VIEW and has_role(user) and (budget is None or team_id in rules.team_ids(user))


def require(allowed: bool, message: str) -> None:
    """Raise PermissionDenied(message) unless ``allowed``: the one way a refusal is raised."""
    if not allowed:
        raise PermissionDenied(message)


# Policies (issue 17): an environment request may be cancelled by its requester as well as an admin.
CANCEL = "cancel"


def environment_request_can(user: Any, action: str, request: Any) -> bool:
    """Requests for environments that need approval: seen like environments (the requester, their team,
    Managers, admins); asked for (CREATE, ``request`` a :class:`Target`) by QA, Developers and admins
    into a team they belong to, production included — that is the point of asking; approved or refused
    (CHANGE) by Platform admins only; cancelled (CANCEL) by the requester or a Platform admin."""
    if action == CANCEL:
        requester = getattr(request, "requested_by_id", None)
        return has_role(user) and (rules.is_platform_admin(user) or requester == user.pk)
    _check_action(action)
    if not has_role(user):
        return False
    if rules.is_platform_admin(user):
        return True
    if action == VIEW:
        return request is None or rules.is_manager(user) or getattr(request, "requested_by_id", None) == user.pk or (
            getattr(request, "team_id", None) in rules.team_ids(user))
    if action == CREATE:
        team_id = getattr(request, "team_id", None)
        return rules.is_self_service(user) and (request is None or team_id in rules.team_ids(user))
    return False


def policy_can(user: Any, action: str, policy: Any = None) -> bool:
    """Stage and quota policies: every role reads the ones that apply to it; Platform admins change them."""
    return _admin_object_can(user, action, readers="roles")
