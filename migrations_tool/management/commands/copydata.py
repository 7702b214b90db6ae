"""`python manage.py copydata --from qa-1 --to qa-2 --stores mysql --as alice`: a data copy from a script,
with a progress bar in the terminal. Exits non-zero unless the copy is verified."""

from __future__ import annotations

import sys
import time

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from environments.models import Environment
from migrations_tool.models import DataCopy
from migrations_tool.services import data_copy_start
from portal.audit.actor import Actor

FINISHED = (DataCopy.VERIFIED, DataCopy.FAILED, DataCopy.UNDONE)


def _pairs(values: list[str], what: str) -> dict[str, str]:
    result = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise CommandError(f"--{what} takes KEY=VALUE, not {value!r}")
        result[key.strip()] = rest.strip()
    return result


def _environment(name: str, cluster: str | None) -> Environment:
    found = Environment.objects.exclude(status=Environment.DESTROYED).filter(name=name)
    if cluster:
        found = found.filter(cluster__name=cluster)
    if found.count() != 1:
        raise CommandError(f"environment {name!r}: {'not found' if not found else 'ambiguous, give --cluster'}")
    return found.get()


def progress_bar(copy: DataCopy, width: int = 30) -> str:
    percent = copy.job.progress
    filled = width * percent // 100
    parts = []
    for kind in copy.stores:
        counters = copy.progress.get(kind, {})
        unit = next((u for u in ("rows", "keys", "objects") if f"{u}_done" in counters), None)
        detail = f" {counters[f'{unit}_done']}/{counters.get(f'{unit}_total', '?')} {unit}" if unit else ""
        parts.append(f"{kind}: {counters.get('phase', 'waiting')}{detail}")
    return f"[{'#' * filled}{'-' * (width - filled)}] {percent:3d}%  " + "; ".join(parts)


class Command(BaseCommand):
    help = "Copy data stores from one environment to another (snapshot, copy, verify), showing progress."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="source", required=True, help="source environment name")
        parser.add_argument("--to", dest="target", required=True, help="target environment name")
        parser.add_argument("--stores", default="mysql", help="comma-separated: mysql,redis,s3")
        parser.add_argument("--as", dest="username", required=True, help="the user the copy runs as (permissions)")
        parser.add_argument("--cluster", help="the cluster, when environment names are ambiguous")
        parser.add_argument("--include-tables", default="", help="mysql: comma-separated tables to copy")
        parser.add_argument("--exclude-tables", default="", help="mysql: comma-separated tables to skip")
        parser.add_argument("--filter", action="append", default=[], metavar="TABLE=WHERE",
                            help="mysql row filter, e.g. orders=\"created_at >= NOW() - INTERVAL 30 DAY\"")
        parser.add_argument("--mask", action="append", default=[], metavar="TABLE.COLUMN=RULE",
                            help="masking rule: email, name, phone, hash, null, keep, fixed:VALUE")
        parser.add_argument("--confirm", default="", help="the target's name (required into production)")
        parser.add_argument("--override-reason", default="", help="Platform admins: why production data that is not "
                            "masked or excluded may leave production (audited)")
        parser.add_argument("--no-wait", action="store_true", help="print the copy id and return")

    def handle(self, *args, **opts):
        user = get_user_model().objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"no user {opts['username']!r}")
        masking = {}
        for column, rule in _pairs(opts["mask"], "mask").items():
            masking[column] = {"rule": "fixed", "value": rule[6:]} if rule.startswith("fixed:") else rule
        mysql = {k: [t for t in opts[f"{k}"].split(",") if t] for k in ("include_tables", "exclude_tables")
                 if opts[k]}
        if opts["filter"]:
            mysql["filters"] = _pairs(opts["filter"], "filter")
        options = {**({"mysql": mysql} if mysql else {}), **({"masking": masking} if masking else {})}
        try:
            copy = data_copy_start(actor=Actor.for_user(user), user=user,
                                   source=_environment(opts["source"], opts["cluster"]),
                                   target=_environment(opts["target"], opts["cluster"]),
                                   stores=[s.strip() for s in opts["stores"].split(",") if s.strip()],
                                   options=options, confirm=opts["confirm"], override_reason=opts["override_reason"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"data copy {copy.pk}: {copy}")
        if opts["no_wait"]:
            return
        self._follow(copy)

    def _follow(self, copy: DataCopy) -> None:
        tty = sys.stdout.isatty()
        last = ""
        queued_since = time.monotonic()
        hinted = False
        while True:
            copy = DataCopy.objects.select_related("job").get(pk=copy.pk)
            line = progress_bar(copy)
            if line != last:
                self.stdout.write(("\r" + line) if tty else line, ending="" if tty else "\n")
                self.stdout.flush()
                last = line
            if copy.state in FINISHED:
                break
            if copy.state == DataCopy.QUEUED and not hinted and time.monotonic() - queued_since > 60:
                self.stderr.write("\nstill queued after a minute: is a Celery worker running? (Ctrl-C stops "
                                  "following; the copy runs once a worker takes it)")
                hinted = True
            time.sleep(0.5)
        if tty:
            self.stdout.write("")
        for kind, result in copy.verification.items():
            self.stdout.write(f"{kind}: {'verified' if result.get('verified') else 'NOT verified'} "
                              f"{result.get('counters', {})} throughput {copy.throughput.get(kind, {})}")
        if copy.state != DataCopy.VERIFIED:
            raise CommandError(f"copy {copy.pk} {copy.state}: {copy.error}")
        self.stdout.write(self.style.SUCCESS(f"copy {copy.pk} verified"))
