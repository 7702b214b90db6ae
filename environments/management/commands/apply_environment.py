import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from environments import documents
from environments.catalog import blueprint_documents
from environments.catalog.blueprint_documents import BlueprintPlan
from portal.audit.actor import Actor


def apply_any(source: str | bytes | dict[str, Any], *, actor: Actor, user: Any, confirm: bool = False,
              message: str = "") -> Any:
    """Apply a document of either kind: a ``Plan`` for an Environment, a ``BlueprintPlan`` for a Blueprint.

    Here, above both document modules, because ``blueprint_documents`` uses ``documents``' parsing helpers.
    """
    document = documents.parse_document(source)
    if document.get("kind") == "Blueprint":
        return blueprint_documents.apply(document, actor=actor, user=user, confirm=confirm)
    return documents.apply_document(document, actor=actor, user=user, confirm=confirm, message=message)


def _cell(value) -> str:
    return "-" if value in (None, "") else str(value)


class Command(BaseCommand):
    help = ("Show what an Environment or Blueprint YAML document would change (create, update with the diff, or "
            "unchanged) and apply it with --yes. Use '-' to read the document from standard input. A changed "
            "Blueprint document becomes the blueprint's next version.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="path of the YAML document, or - for standard input")
        parser.add_argument("--yes", action="store_true", help="apply the plan (without it nothing changes)")
        parser.add_argument("--as", dest="username", default=None,
                            help="act as this user (their permissions apply); default: the system actor 'cli'")
        parser.add_argument("--message", default="", help="note recorded on the new revision")

    def handle(self, *args, file, yes, username, message, **options):
        text = self._read(file)
        if username:
            user = get_user_model().objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"No user is named '{username}'.")
            actor = Actor.for_user(user)
        else:
            user, actor = documents.CommandLineOperator(), Actor.system("cli")
        try:
            plan = apply_any(text, actor=actor, user=user, confirm=False)
            self._show(plan)
            if not yes or plan.action == documents.UNCHANGED:
                if plan.action != documents.UNCHANGED:
                    self.stdout.write("Nothing applied: run again with --yes to apply this plan.")
                return
            plan = apply_any(text, actor=actor, user=user, confirm=True, message=message)
        except ValidationError as exc:
            lines = [f"  {field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()] \
                if hasattr(exc, "error_dict") else [f"  {m}" for m in exc.messages]
            raise CommandError("Invalid document:\n" + "\n".join(lines)) from exc
        except PermissionDenied as exc:
            raise CommandError(f"Not allowed: {exc}") from exc
        if isinstance(plan, BlueprintPlan):
            self.stdout.write(self.style.SUCCESS(f"Saved blueprint {plan.blueprint}."))
            return
        environment = plan.environment
        if plan.action == documents.CREATE:
            self.stdout.write(self.style.SUCCESS(
                f"Created {environment.name} (id {environment.pk}); its first rollout is queued."))
        else:
            self.stdout.write(self.style.SUCCESS(
                f"Updated {environment.name} to r{plan.rollout.revision.number}; its rollout is queued."))

    def _read(self, file: str) -> str:
        if file == "-":
            return sys.stdin.read()
        try:
            with open(file, encoding="utf-8") as handle:
                return handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc

    def _table(self, rows: list[tuple[str, ...]]) -> None:
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())

    def _show_blueprint(self, plan: BlueprintPlan) -> None:
        if plan.action == documents.UNCHANGED:
            self.stdout.write(f"Plan: unchanged — blueprint {plan.latest} already has this definition.")
            return
        after = f"v{plan.latest.version + 1}" if plan.latest else "v1"
        self.stdout.write(f"Plan: {'create' if plan.latest is None else 'new version of'} blueprint {plan.name} "
                          f"({after})")
        self._table([("FIELD", "BEFORE", "AFTER")] + [(r["field"], _cell(r["before"]), _cell(r["after"]))
                                                       for r in plan.rows])

    def _show(self, plan) -> None:
        if isinstance(plan, BlueprintPlan):
            self._show_blueprint(plan)
            return
        where = f"{plan.name} on {plan.cluster.name} ({plan.team.slug}, {plan.stage}, {plan.blueprint})"
        if plan.action == documents.CREATE:
            self.stdout.write(f"Plan: create {where}")
            width = max(len(n) for n in plan.versions)
            for name, tag in plan.versions.items():
                self.stdout.write(f"  {name.ljust(width)}  {tag}")
            return
        if plan.action == documents.UNCHANGED:
            self.stdout.write(f"Plan: unchanged — {where} already runs these versions (r{plan.revision}).")
            return
        self.stdout.write(f"Plan: update {where} from r{plan.revision} to r{plan.revision + 1}")
        self._table([("COMPONENT", "FIELD", "BEFORE", "AFTER")] + [
            (r["component"], r["field"], _cell(r["before"]), _cell(r["after"])) for r in plan.rows])
