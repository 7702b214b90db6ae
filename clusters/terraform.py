"""The one Terraform adapter: a per-cluster working directory and a streaming CLI runner.

python-terraform builds the command lines (``Terraform.generate_cmd_string``); the process is run
here with ``subprocess.Popen`` because python-terraform cannot stream (its ``synchronous=False``
becomes a bad flag with Terraform 1.11) and its ``destroy()``/``output()`` are broken there.
Every command runs with ``-json`` where Terraform offers it; each event is rendered into one
readable line as it arrives, so the job page shows the run live.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from python_terraform import IsFlagged, Terraform

from portal import aws
from portal.redaction import hold, redact

from .terraform_config import cli_config, plugin_mirror

TFVARS_FILE = "slipway.auto.tfvars.json"
BACKEND_FILE = "slipway.s3.tfbackend"
LOCK_ERROR = "Error acquiring the state lock"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_SYMBOLS = {"create": "+", "update": "~", "delete": "-", "replace": "-/+", "read": "<=", "noop": " "}


class TerraformError(RuntimeError):
    """A Terraform command failed; the message carries Terraform's own error summary."""


class TerraformInterrupted(TerraformError):
    """The Terraform process was killed (signal) before it finished: state and lock may be left behind."""


class StateLocked(TerraformError):
    """Someone (a run, or another state change) holds the state lock; ``lock`` is its lock info."""

    def __init__(self, lock: dict[str, Any]) -> None:
        self.lock = lock
        super().__init__(f"The state is locked (lock {lock.get('ID', '?')}, {lock.get('Operation') or 'operation'} "
                         f"by {lock.get('Who') or 'someone'}).")


class BlueprintMissing(TerraformError):
    """No Terraform code exists for the requested blueprint."""


def blueprint_dir(blueprint: str) -> Path:
    root = Path(settings.SLIPWAY_TERRAFORM_BLUEPRINTS_DIR)
    path = root / blueprint
    if not re.fullmatch(r"[a-z0-9-]+", blueprint) or not any(path.glob("*.tf")):
        raise BlueprintMissing(f"There is no Terraform blueprint {blueprint!r} in {root}.")
    return path


@dataclass(frozen=True)
class StateVersion:
    """What identifies a Terraform state: its lineage (set once, at creation) and serial (+1 per write)."""

    lineage: str
    serial: int


@dataclass(frozen=True)
class Backend:
    """Where a cluster's state lives: S3 with S3-native locking (``use_lockfile``)."""

    bucket: str
    key: str
    region: str

    @property
    def lock_key(self) -> str:
        return f"{self.key}.tflock"

    def config(self) -> str:
        lines = [f"bucket = {json.dumps(self.bucket)}", f"key = {json.dumps(self.key)}",
                 f"region = {json.dumps(self.region)}", "use_lockfile = true", "encrypt = true"]
        endpoint = aws.endpoint_for("s3")
        if endpoint:
            # A non-AWS endpoint (the moto server locally): path-style, no account or region lookups.
            lines += [f"endpoints = {{ s3 = {json.dumps(endpoint)} }}", "use_path_style = true",
                      "skip_credentials_validation = true", "skip_requesting_account_id = true",
                      "skip_metadata_api_check = true", "skip_region_validation = true"]
        return "\n".join(lines) + "\n"

    def ensure_bucket(self) -> None:
        """Create the state bucket (versioned) when missing; idempotent."""
        s3 = aws.client("s3", region=self.region)
        try:
            s3.head_bucket(Bucket=self.bucket)
            return
        except s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            s3.create_bucket(**kwargs)
        except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
            pass
        s3.put_bucket_versioning(Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"})

    def lock(self) -> dict[str, Any] | None:
        """The held state lock (Terraform's lock info: ID, Who, Operation, Created…), or None."""
        s3 = aws.client("s3", region=self.region)
        try:
            body = s3.get_object(Bucket=self.bucket, Key=self.lock_key)["Body"].read()
        except s3.exceptions.NoSuchKey:
            return None
        try:
            return json.loads(body)
        except ValueError:
            return {"ID": "", "Info": "unreadable lock file"}

    @contextmanager
    def holding_lock(self, *, operation: str, who: str) -> Iterator[dict[str, Any]]:
        """Hold Terraform's own state lock while the block changes or reads the state outside Terraform.

        The lock file is written only if absent (S3's conditional write, as ``use_lockfile`` does), so a
        run and a state restore never overlap: whichever comes second is refused. Raises StateLocked
        with the holder's lock info. The lock is Terraform's format, so force-unlock releases a stale one.
        """
        s3 = aws.client("s3", region=self.region)
        info = {"ID": str(uuid.uuid4()), "Operation": operation, "Info": "", "Who": who, "Version": "slipway",
                "Created": datetime.now(UTC).isoformat(), "Path": f"{self.bucket}/{self.key}"}
        try:
            s3.put_object(Bucket=self.bucket, Key=self.lock_key, Body=json.dumps(info).encode(), IfNoneMatch="*")
        except s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise
            raise StateLocked(self.lock() or {}) from None
        try:
            yield info
        finally:
            s3.delete_object(Bucket=self.bucket, Key=self.lock_key)

    def state_version(self, version_id: str | None = None) -> StateVersion | None:
        """Lineage and serial of the state object (or of one S3 version of it); None when there is none."""
        s3 = aws.client("s3", region=self.region)
        kwargs = {"VersionId": version_id} if version_id else {}
        try:
            body = s3.get_object(Bucket=self.bucket, Key=self.key, **kwargs)["Body"].read()
        except (s3.exceptions.NoSuchKey, s3.exceptions.NoSuchBucket):
            return None
        try:
            state = json.loads(body)
            return StateVersion(lineage=str(state["lineage"]), serial=int(state["serial"]))
        except (ValueError, KeyError, TypeError):
            return StateVersion(lineage="(unreadable)", serial=-1)

    def state_history(self) -> list[dict[str, Any]]:
        """The state object's S3 versions, newest first: {version_id, modified, deleted}."""
        s3 = aws.client("s3", region=self.region)
        try:
            listing = s3.list_object_versions(Bucket=self.bucket, Prefix=self.key)
        except s3.exceptions.NoSuchBucket:
            return []
        entries = [{"version_id": e["VersionId"], "modified": e["LastModified"], "deleted": kind == "DeleteMarkers",
                    "latest": e.get("IsLatest", False)}
                   for kind in ("DeleteMarkers", "Versions") for e in listing.get(kind, []) if e["Key"] == self.key]
        # S3 lists each kind newest first; timestamps have one-second resolution, so ties keep that order
        # and the current version (IsLatest) leads.
        return sorted(entries, key=lambda e: (e["latest"], e["modified"]), reverse=True)

    def restore_state(self, version_id: str) -> None:
        """Make an earlier S3 version of the state the current one (a new version; history is kept)."""
        s3 = aws.client("s3", region=self.region)
        s3.copy_object(Bucket=self.bucket, Key=self.key,
                       CopySource={"Bucket": self.bucket, "Key": self.key, "VersionId": version_id})

    def has_state(self) -> bool:
        s3 = aws.client("s3", region=self.region)
        return s3.list_objects_v2(Bucket=self.bucket, Prefix=self.key).get("KeyCount", 0) > 0


def render_event(line: str, *, masks: Iterable[str] = ()) -> str | None:
    """One line of Terraform output (a ``-json`` event or plain text) as a readable line, or None."""
    line = _ANSI.sub("", line.rstrip("\n"))
    try:
        event = json.loads(line)
    except ValueError:
        text = line
    else:
        text = _render_json(event) if isinstance(event, dict) else line
    if text is None:
        return None
    return redact(text, literals=masks)


def _render_json(event: dict[str, Any]) -> str | None:
    kind, message = event.get("type"), event.get("@message", "")
    if kind == "version":
        return None
    if kind == "planned_change":
        change = event.get("change", {})
        action = change.get("action", "")
        return f"  {_SYMBOLS.get(action, '?')} {change.get('resource', {}).get('addr', '')} ({action})"
    if kind == "outputs":
        # Values are never rendered: sensitive or not, they are read with `output -json` instead.
        names = [f"{k} (sensitive)" if v.get("sensitive") else k for k, v in (event.get("outputs") or {}).items()]
        return f"Outputs: {', '.join(names) or 'none'}"
    if kind == "diagnostic":
        diag = event.get("diagnostic", {})
        text = f"{diag.get('severity', 'error').capitalize()}: {diag.get('summary', message)}"
        detail = (diag.get("detail") or "").strip()
        return text + ("\n" + "\n".join(f"  {d}" for d in detail.splitlines()) if detail else "")
    return message or None


_SENSITIVE_VARIABLE = re.compile(r'variable\s+"([^"]+)"\s*\{[^{}]*?\bsensitive\s*=\s*true', re.S)
_SECRET_NAME = re.compile(r"(?i)password|passwd|secret|token|private_key|api_key|access_key|credential")


def sensitive_variables(blueprint: str, variables: dict[str, Any]) -> set[str]:
    """The names among ``variables`` whose values are secrets: declared ``sensitive = true`` by the
    blueprint, or named like a credential (a site's or a cluster's extra inputs)."""
    declared: set[str] = set()
    for path in blueprint_dir(blueprint).glob("*.tf"):
        declared |= set(_SENSITIVE_VARIABLE.findall(path.read_text()))
    return {name for name in variables if name in declared or _SECRET_NAME.search(name)}


def _leaf_strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _leaf_strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _leaf_strings(v)]
    return [str(value)] if isinstance(value, str | int | float) and not isinstance(value, bool) else []


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # A killed worker takes its Terraform down too, as a crash would on another host: the run is
    # then reported interrupted (with the lock it leaves) instead of finishing unobserved.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Workspace:
    """A cluster's working directory: the blueprint's code, generated inputs, backend, CLI config."""

    def __init__(self, *, name: str, blueprint: str, backend: Backend, variables: dict[str, Any],
                 root: Path | None = None) -> None:
        self.name, self.blueprint, self.backend, self.variables = name, blueprint, backend, variables
        self.dir = Path(root or settings.SLIPWAY_TERRAFORM_DIR) / name
        self.masks: set[str] = {os.environ.get("AWS_SECRET_ACCESS_KEY", ""), os.environ.get("AWS_SESSION_TOKEN", "")}
        secret_names = sensitive_variables(blueprint, variables)
        self.masks |= set(_leaf_strings({k: v for k, v in variables.items() if k in secret_names}))
        hold(*self.masks)
        self._terraform = Terraform(working_dir=str(self.dir), terraform_bin_path=settings.SLIPWAY_TERRAFORM_BIN)

    # --- files ------------------------------------------------------------------------------
    def prepare(self) -> None:
        """(Re)write the code and inputs; idempotent. Saved plans and .terraform/ are kept."""
        source = blueprint_dir(self.blueprint)
        self.dir.mkdir(parents=True, exist_ok=True)
        for stale in self.dir.glob("*.tf"):
            stale.unlink()
        for path in source.iterdir():
            if path.suffix in (".tf", ".tpl", ".json") and path.is_file():
                shutil.copy2(path, self.dir / path.name)
        (self.dir / TFVARS_FILE).write_text(json.dumps(self.variables, indent=2, sort_keys=True))
        (self.dir / BACKEND_FILE).write_text(self.backend.config())
        cache = Path(settings.SLIPWAY_TERRAFORM_DIR) / ".plugin-cache"
        cache.mkdir(parents=True, exist_ok=True)
        (self.dir / "cli.tfrc").write_text(cli_config(plugin_cache=cache, mirror=plugin_mirror(required=False)))

    def plan_path(self, run_id: int) -> Path:
        return self.dir / "plans" / f"run-{run_id}.tfplan"

    def env(self) -> dict[str, str]:
        return {**os.environ, "TF_CLI_CONFIG_FILE": str(self.dir / "cli.tfrc"), "TF_IN_AUTOMATION": "1",
                "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}

    # --- commands ---------------------------------------------------------------------------
    # The intents below are the only callers of the CLI: each builds its own flags, so every run is
    # non-interactive (-input=false), never waits for a lock (-lock-timeout=0s: a held lock fails the
    # run at once, with the holder named) and streams -json events through the redaction of ``stream``.
    def _command(self, name: str, *args: str, **options: Any) -> list[str]:
        return self._terraform.generate_cmd_string(name, *args, **options)

    def init(self, emit: Callable[[str], None], on_start: Callable[[int], None] | None = None) -> None:
        """``init`` against the S3 backend (its bucket created first when missing); raises TerraformError."""
        self.backend.ensure_bucket()
        argv = self._command("init", backend_config=BACKEND_FILE, input=False, reconfigure=IsFlagged,
                             no_color=IsFlagged, json=IsFlagged)
        self.check(self.stream(argv, emit, on_start=on_start), "init")

    def plan(self, emit: Callable[[str], None], *, out: Path, destroy: bool = False,
             detailed_exitcode: bool = False, replace: Sequence[str] = (),
             on_start: Callable[[int], None] | None = None) -> int:
        """``plan -out`` (a destroy plan with ``destroy``); its exit code: 0, or 2 for "changes" when
        ``detailed_exitcode`` asks for it. Any other outcome raises TerraformError."""
        flags: dict[str, Any] = {"destroy": IsFlagged} if destroy else {}
        if detailed_exitcode:
            flags["detailed_exitcode"] = IsFlagged
        if replace:
            flags["replace"] = list(replace)
        argv = self._command("plan", out=str(out), input=False, no_color=IsFlagged, json=IsFlagged,
                             lock_timeout="0s", **flags)
        code = self.stream(argv, emit, on_start=on_start)
        if not (code == 0 or (code == 2 and detailed_exitcode)):
            self.check(code, "plan")
        return code

    def apply(self, emit: Callable[[str], None], *, plan_file: str | Path,
              on_start: Callable[[int], None] | None = None) -> None:
        """``apply`` of exactly one saved plan (nothing else is applied); raises TerraformError."""
        argv = self._command("apply", str(plan_file), input=False, no_color=IsFlagged, json=IsFlagged,
                             lock_timeout="0s")
        self.check(self.stream(argv, emit, on_start=on_start), "apply")

    def force_unlock(self, emit: Callable[[str], None], *, lock_id: str) -> int:
        """``force-unlock -force <lock_id>``; its exit code (the caller words the failure)."""
        return self.stream(self._command("force-unlock", lock_id, force=IsFlagged, no_color=IsFlagged), emit)

    def show_plan(self, plan_file: str | Path) -> dict[str, Any]:
        """A saved plan as ``show -json`` gives it (never logged: it may hold secrets)."""
        return self._capture_json("show", str(plan_file))

    def outputs(self) -> dict[str, Any]:
        """``output -json``: every output with its ``sensitive`` flag (never logged)."""
        return self._capture_json("output")

    def stream(self, argv: list[str], emit: Callable[[str], None], *,
               on_start: Callable[[int], None] | None = None) -> int:
        """Run a command, rendering each output line to ``emit`` as it arrives; its exit code.

        Raises TerraformInterrupted when the process was killed by a signal.
        """
        self.last_output: list[str] = []
        proc = subprocess.Popen(argv, cwd=self.dir, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, bufsize=1, preexec_fn=_die_with_parent)
        if on_start is not None:
            on_start(proc.pid)
        # Terraform stops cleanly (and releases its lock) on SIGINT, so that is how a timeout ends it.
        watchdog = threading.Timer(settings.SLIPWAY_TERRAFORM_TIMEOUT_SECONDS, proc.send_signal, [signal.SIGINT])
        watchdog.daemon = True
        watchdog.start()
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                text = render_event(raw, masks=self.masks)
                if text is not None:
                    self.last_output.append(text)
                    emit(text)
            returncode = proc.wait()
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if returncode < 0:
            raise TerraformInterrupted(
                f"terraform {argv[1]} was killed by signal {-returncode}; the state lock may still be held")
        return returncode

    def check(self, returncode: int, what: str) -> None:
        if returncode == 0:
            return
        errors = [line for line in self.last_output if line.startswith("Error:")]
        raise TerraformError(f"terraform {what} failed (exit {returncode}): {'; '.join(errors) or 'see the log'}")

    def _capture_json(self, *args: str) -> Any:
        """Run a read-only command whose JSON is parsed, never logged (it may hold secrets)."""
        result = subprocess.run(self._command(*args, json=IsFlagged), cwd=self.dir, env=self.env(),
                                capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise TerraformError(f"terraform {args[0]} failed: {_ANSI.sub('', result.stderr)[-1000:]}")
        return json.loads(result.stdout)


def plan_changes(plan: dict[str, Any]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Summary counts and the resource list of a saved plan (``terraform show -json`` of it)."""
    summary = {"add": 0, "change": 0, "destroy": 0}
    resources = []
    for change in plan.get("resource_changes") or []:
        actions = change.get("change", {}).get("actions", [])
        if actions in (["no-op"], ["read"]):
            continue
        summary["add"] += "create" in actions
        summary["change"] += "update" in actions
        summary["destroy"] += "delete" in actions
        action = "replace" if {"create", "delete"} <= set(actions) else actions[0]
        resources.append({"address": change.get("address", ""), "type": change.get("type", ""), "action": action})
    return summary, resources


def failed_checks(plan: dict[str, Any]) -> list[str]:
    """The messages of the check blocks that failed in a saved plan (continuous validation)."""
    return [problem.get("message", "") for check in plan.get("checks") or [] if check.get("status") == "fail"
            for instance in check.get("instances") or [] for problem in instance.get("problems") or []]


def split_outputs(outputs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``output -json`` into (public values, sensitive values)."""
    public = {k: v.get("value") for k, v in outputs.items() if not v.get("sensitive")}
    secret = {k: v.get("value") for k, v in outputs.items() if v.get("sensitive")}
    return public, secret
