"""Checks of the container build and the compose file, by reading them (no Docker engine here).

- docker/compose.yaml parses, validates against the Compose Specification JSON schema (vendored
  in tests/data/, see compose-spec.README.md), and interpolates the way Compose does;
- every service that runs Slipway's code shares one image/build and one environment, which sets
  only variables that portal/settings.py (or boto3) reads, and no secret value;
- docker/Dockerfile is multi-stage, verifies the terraform and kubectl downloads, runs as a
  non-root user, collects static files with build-only dummy keys, and health-checks /healthz.
Each helper also runs on a deliberately broken input, so a check that passes is one that can fail.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKER_DIR = ROOT / "docker"
COMPOSE_FILE = DOCKER_DIR / "compose.yaml"
DOCKERFILE = DOCKER_DIR / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SETTINGS_FILE = ROOT / "portal" / "settings.py"
SCHEMA_FILE = Path(__file__).parent / "data" / "compose-spec.json"
SCHEMA_README = Path(__file__).parent / "data" / "compose-spec.README.md"

APP_SERVICES = {"migrate", "web", "worker", "beat"}
LONG_RUNNING_APP_SERVICES = {"web", "worker", "beat"}
REQUIRED_SECRETS = {"SECRET_KEY", "SLIPWAY_ENCRYPTION_KEYS"}
# Read by boto3's default credential chain rather than by settings.py.
BOTO3_ENV = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION"}
# Values that are dummies by convention (moto accepts any credentials; "testing" is moto's own).
KNOWN_DUMMIES = {("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")}
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|(^|_)KEYS?$")
# The Dockerfile may set these for the interpreter, Django and the CLIs; every other ENV it sets
# must be one settings.py reads.
RUNTIME_ENV = {"PATH", "VIRTUAL_ENV", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "DJANGO_SETTINGS_MODULE",
               "CHECKPOINT_DISABLE", "PIP_NO_CACHE_DIR", "PIP_DISABLE_PIP_VERSION_CHECK"}
APP_SOURCES = {"manage.py", "portal", "clusters", "environments", "migrations_tool", "devstack", "templates", "static"}


# --- helpers ------------------------------------------------------------------------------------

def load_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text())


def schema_errors(document: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(compose_schema())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


_INTERPOLATION = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>.*))?$", re.S)


class InterpolationError(ValueError):
    pass


def interpolate_text(text: str, env: dict[str, str]) -> str:
    """Compose's variable interpolation: $$, $NAME, ${NAME}, ${NAME:-d}, ${NAME-d}, ${NAME:?e}, ${NAME?e}."""

    def replace(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        if match["named"]:
            return env.get(match["named"], "")
        braced = _BRACED.match(match["braced"])
        if braced is None:
            raise InterpolationError(f"invalid interpolation ${{{match['braced']}}}")
        name, op, arg = braced["name"], braced["op"], braced["arg"] or ""
        value = env.get(name)
        unset_or_empty = not value
        if op in (":-", "-"):
            return arg if (unset_or_empty if op == ":-" else value is None) else value
        if op in (":?", "?"):
            if unset_or_empty if op == ":?" else value is None:
                raise InterpolationError(f"required variable {name} is missing a value: {arg}")
            return value
        if op in (":+", "+"):
            return "" if (unset_or_empty if op == ":+" else value is None) else arg
        return value or ""

    return _INTERPOLATION.sub(replace, text)


def interpolate(node, env: dict[str, str]):
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    if isinstance(node, str):
        return interpolate_text(node, env)
    return node


def environment_of(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return {str(key): "" if value is None else str(value) for key, value in environment.items()}


def settings_env_names(text: str | None = None) -> set[str]:
    """Names passed to env.str/bool/list/int/float/dict/db_url/...("NAME") (or env("NAME")) in settings.py."""
    text = SETTINGS_FILE.read_text() if text is None else text
    calls = re.findall(r"\benv(?:\.(?:str|bool|list|tuple|int|float|dict|json|url|db_url|db|cache_url|"
                       r"email_url|search_url|path))?\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", text)
    return set(calls)


def env_problems(environment: dict[str, str], readable: set[str]) -> list[str]:
    """Variables nothing reads, and secret-looking values written into the file."""
    problems = [f"{name} is not read by portal/settings.py" for name in environment
                if name not in readable and name not in BOTO3_ENV]
    for name, value in environment.items():
        if name in REQUIRED_SECRETS:
            if not re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", value):
                problems.append(f"{name} must be ${{{name}:?message}}, got {value!r}")
        elif SECRET_NAME.search(name) and "${" not in value and (name, value) not in KNOWN_DUMMIES:
            problems.append(f"{name} holds a hard-coded value")
    return problems


def dockerfile_instructions(text: str | None = None) -> list[tuple[int, str, str]]:
    """(stage index, INSTRUCTION, arguments) with continuations joined and comments dropped.

    Stage -1 holds the global ARGs before the first FROM.
    """
    text = DOCKERFILE.read_text() if text is None else text
    instructions: list[tuple[int, str, str]] = []
    stage, pending = -1, ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # also drops comment lines inside a continuation, as BuildKit does
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        line, pending = pending + line, ""
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append((stage, keyword, arguments.strip()))
    assert not pending, "Dockerfile ends inside a line continuation"
    return instructions


def stages(instructions: list[tuple[int, str, str]]) -> list[dict]:
    global_args = dict(_arg_default(args) for stage, kind, args in instructions if stage == -1 and kind == "ARG")
    result = []
    for stage, kind, args in instructions:
        if kind == "FROM":
            match = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", args, re.I)
            assert match, f"unparsed FROM {args}"
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m[1], m[0]), match[1])
            result.append({"image": image, "name": match[2], "body": []})
        elif stage >= 0:
            result[stage]["body"].append((kind, args))
    return result


def _arg_default(arguments: str) -> tuple[str, str | None]:
    name, sep, default = arguments.partition("=")
    return name.strip(), default.strip().strip('"') if sep else None


def env_assignments(arguments: str) -> dict[str, str]:
    if "=" not in arguments.split()[0]:
        name, _, value = arguments.partition(" ")  # legacy "ENV NAME value"
        return {name: value.strip()}
    return dict(word.split("=", 1) for word in shlex.split(arguments))


def healthcheck_python_code(instructions: list[tuple[int, str, str]]) -> str:
    (arguments,) = [args for _, kind, args in instructions if kind == "HEALTHCHECK"]
    command = arguments[arguments.index("CMD ") + 4:].strip()
    words = json.loads(command) if command.startswith("[") else shlex.split(command)
    assert words[:2] == ["python", "-c"], words
    return words[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose()


@pytest.fixture(scope="module")
def final_stage() -> dict:
    return stages(dockerfile_instructions())[-1]


# --- compose: schema and interpolation -----------------------------------------------------------

def test_vendored_schema_is_the_recorded_one():
    recorded = re.search(r"sha256: ([0-9a-f]{64})", SCHEMA_README.read_text())
    assert recorded, "compose-spec.README.md must record the schema's sha256"
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == recorded[1]
    assert "dclint" in SCHEMA_README.read_text()
    jsonschema.Draft7Validator.check_schema(compose_schema())


def test_compose_file_is_valid_against_the_compose_specification(compose):
    assert isinstance(compose, dict) and isinstance(compose.get("services"), dict)
    assert schema_errors(compose) == []


def test_schema_validation_rejects_a_broken_compose_file(compose):
    broken = copy.deepcopy(compose)
    broken["services"]["web"]["helthcheck"] = broken["services"]["web"].pop("healthcheck")
    broken["services"]["redis"]["depends_on"] = {"postgres": {"condition": "service_happy"}}
    errors = schema_errors(broken)
    assert any("helthcheck" in error for error in errors), errors
    assert any("service_happy" in error for error in errors), errors


def test_compose_refuses_to_interpolate_without_the_secrets(compose):
    with pytest.raises(InterpolationError, match="SECRET_KEY"):
        interpolate(compose, {"SLIPWAY_ENCRYPTION_KEYS": "k"})
    with pytest.raises(InterpolationError, match="SLIPWAY_ENCRYPTION_KEYS"):
        interpolate(compose, {"SECRET_KEY": "s"})
    with pytest.raises(InterpolationError):
        interpolate(compose, {"SECRET_KEY": "", "SLIPWAY_ENCRYPTION_KEYS": "k"})  # ':?' rejects empty too


def test_interpolated_compose_file_is_valid(compose):
    resolved = interpolate(compose, {"SECRET_KEY": "s3cr3t", "SLIPWAY_ENCRYPTION_KEYS": "k1,k2"})
    assert schema_errors(resolved) == []
    for name in APP_SERVICES:
        environment = environment_of(resolved["services"][name])
        assert environment["SECRET_KEY"] == "s3cr3t"
        assert environment["SLIPWAY_ENCRYPTION_KEYS"] == "k1,k2"
        assert environment["ALLOWED_HOSTS"]
        assert "${" not in json.dumps(environment)


def test_interpolation_helper():
    assert interpolate_text("a${X:-d}b$$c${Y-e}$X", {"X": "1"}) == "a1b$ce1"
    assert interpolate_text("${X:-d}|${X-d}", {"X": ""}) == "d|"
    with pytest.raises(InterpolationError, match="need it"):
        interpolate_text("${X:?need it}", {})


# --- compose: services ----------------------------------------------------------------------------

def test_app_services_share_one_image_build_and_environment(compose):
    services = compose["services"]
    runs_app = {name for name, service in services.items()
                if "build" in service or service.get("image") == services["web"].get("image")}
    assert runs_app == APP_SERVICES
    reference = services["web"]
    assert reference["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
    assert (COMPOSE_FILE.parent / reference["build"]["context"]).resolve() == ROOT
    assert (ROOT / reference["build"]["dockerfile"]).resolve() == DOCKERFILE
    shared_env = compose["x-slipway-env"]
    for name in APP_SERVICES:
        assert services[name]["build"] == reference["build"], name
        assert services[name]["image"] == reference["image"], name
        assert environment_of(services[name]) == environment_of({"environment": shared_env}), name


def test_shared_environment_is_production_with_the_services_of_this_file(compose):
    environment = environment_of({"environment": compose["x-slipway-env"]})
    assert environment["SLIPWAY_ENV"] == "production"
    assert environment["DATABASE_URL"] == "postgres://slipway:slipway@postgres:5432/slipway"
    assert environment["REDIS_URL"] == "redis://redis:6379/0"
    assert environment["SECURE_SSL_REDIRECT"].lower() in {"false", "0", "no", "off"}
    assert environment["AWS_ENDPOINT_URL"] == "http://moto:5000"
    assert "ALLOWED_HOSTS" in environment
    for url in (environment["DATABASE_URL"], environment["REDIS_URL"], environment["AWS_ENDPOINT_URL"]):
        assert urlsplit(url).hostname in compose["services"], url


def test_database_url_matches_the_postgres_service(compose):
    url = urlsplit(environment_of({"environment": compose["x-slipway-env"]})["DATABASE_URL"])
    postgres = compose["services"]["postgres"]
    db_env = environment_of(postgres)
    assert (url.username, url.password, url.path.lstrip("/"), url.port) == (
        db_env["POSTGRES_USER"], db_env["POSTGRES_PASSWORD"], db_env["POSTGRES_DB"], 5432)
    assert "ports" not in postgres, "the database of the local trial is not published outside compose"


def test_long_running_services_wait_for_healthy_backing_services_and_migrations(compose):
    services = compose["services"]
    for name in LONG_RUNNING_APP_SERVICES:
        depends = services[name]["depends_on"]
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"].get("restart") == "no"
    for backing in ("postgres", "redis"):
        assert services[backing]["healthcheck"]["test"], backing


def test_service_commands(compose):
    services = compose["services"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["web"]["command"] == ["daphne", "-b", "0.0.0.0", "-p", "8000", "portal.asgi:application"]
    assert services["worker"]["command"] == ["celery", "-A", "portal", "worker", "-l", "info", "--pool", "threads",
                                             "--concurrency", "8"]
    beat = services["beat"]["command"]
    assert beat[:6] == ["celery", "-A", "portal", "beat", "-l", "info"]
    schedule = beat[beat.index("--schedule") + 1]
    assert schedule == "/app/var/celerybeat-schedule"
    assert any(str(v).endswith(":/app/var") for v in services["beat"].get("volumes", [])), "keep the schedule"


def test_backing_service_images(compose):
    services = compose["services"]
    assert services["postgres"]["image"] == "postgres:15"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert any(str(v).startswith("postgres-data:") for v in services["postgres"]["volumes"])
    assert "postgres-data" in compose["volumes"]
    assert services["redis"]["image"] == "redis:7"
    assert "ping" in " ".join(services["redis"]["healthcheck"]["test"])
    assert re.fullmatch(r"motoserver/moto:5(\.\d+){0,2}", services["moto"]["image"])
    assert any(str(p).endswith(":5000") for p in services["moto"]["ports"])


def test_web_health_check_probes_healthz_with_valid_python(compose):
    from django.urls import resolve

    healthcheck = compose["services"]["web"]["healthcheck"]
    test = healthcheck["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    assert "/healthz" in test[3] and "urllib" in test[3]
    compile(test[3], "web-healthcheck", "exec")
    assert resolve("/healthz").url_name == "healthz"
    for name in ("worker", "beat", "migrate"):  # the image's daphne probe would fail there
        assert compose["services"][name]["healthcheck"] != {}, name
        assert "8000" not in json.dumps(compose["services"][name]["healthcheck"]), name


def test_compose_sets_only_variables_the_app_reads_and_no_secrets(compose):
    readable = settings_env_names()
    for name in APP_SERVICES:
        assert env_problems(environment_of(compose["services"][name]), readable) == [], name


def test_no_fernet_key_or_django_key_in_the_compose_file():
    text = COMPOSE_FILE.read_text()
    assert not re.search(r"[A-Za-z0-9_-]{43}=", text), "looks like a Fernet key"
    assert "django-insecure" not in text


def test_settings_parser_finds_what_settings_reads():
    names = settings_env_names()
    assert {"SECRET_KEY", "SLIPWAY_ENCRYPTION_KEYS", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "SLIPWAY_ENV",
            "SLIPWAY_VAR_DIR", "SECURE_SSL_REDIRECT", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION",
            "SLIPWAY_AWS_ENDPOINT_URLS", "STATIC_ROOT"} <= names
    assert settings_env_names('X = env.db_url("A_URL", default=1)\nY = env("B")\nZ = other.str("C")') == {"A_URL", "B"}


def test_env_check_catches_unknown_variables_and_hard_coded_secrets():
    readable = {"SECRET_KEY", "SLIPWAY_ENCRYPTION_KEYS", "DB_PASSWORD"}
    assert env_problems({"SECRET_KEY": "${SECRET_KEY:?set it}", "SLIPWAY_ENCRYPTION_KEYS": "${SLIPWAY_ENCRYPTION_KEYS:?x}",
                         "AWS_SECRET_ACCESS_KEY": "testing"}, readable) == []
    problems = env_problems({"SECRET_KEY": "hunter2", "SLIPWAY_ENCRYPTION_KEYS": "${SLIPWAY_ENCRYPTION_KEYS:-k}",
                             "SLIPWAY_ENVIRONMENT": "production", "DB_PASSWORD": "pw",
                             "AWS_SECRET_ACCESS_KEY": "AKIAreal"}, readable)
    assert len(problems) == 5, problems


# --- Dockerfile -----------------------------------------------------------------------------------

def test_dockerfile_parser():
    parsed = dockerfile_instructions('ARG B=img:1\nFROM ${B} AS one\n# c\nRUN a \\\n  # inner\n  b\nFROM one\nUSER 1\n')
    assert parsed == [(-1, "ARG", "B=img:1"), (0, "FROM", "${B} AS one"), (0, "RUN", "a b"), (1, "FROM", "one"),
                      (1, "USER", "1")]
    assert [s["image"] for s in stages(parsed)] == ["img:1", "one"]


def test_dockerfile_is_multi_stage_on_python_slim_bookworm():
    all_stages = stages(dockerfile_instructions())
    assert len(all_stages) >= 2
    names = [stage["name"] for stage in all_stages]
    assert {"builder", "tools"} <= set(names)
    assert all_stages[names.index("builder")]["image"] == "python:3.11-slim-bookworm"
    assert all_stages[-1]["image"] == "python:3.11-slim-bookworm"
    builder_runs = " ".join(args for kind, args in all_stages[names.index("builder")]["body"] if kind == "RUN")
    assert re.search(r"pip wheel .*-r requirements\.txt", builder_runs)
    assert "venv" in builder_runs


def _tools_stage() -> dict:
    return next(stage for stage in stages(dockerfile_instructions()) if stage["name"] == "tools")


def test_terraform_is_pinned_and_checksum_verified():
    body = _tools_stage()["body"]
    args = dict(_arg_default(a) for kind, a in body if kind == "ARG")
    assert args["TERRAFORM_VERSION"] == "1.11.4"
    (run,) = [a for kind, a in body if kind == "RUN" and "releases.hashicorp.com/terraform" in a]
    assert "${TERRAFORM_VERSION}" in run
    assert "_SHA256SUMS" in run and "sha256sum -c" in run
    assert "/usr/local/bin/terraform" in run


def test_kubectl_is_pinned_and_checksum_verified():
    body = _tools_stage()["body"]
    args = dict(_arg_default(a) for kind, a in body if kind == "ARG")
    assert re.fullmatch(r"v1\.33\.\d+", args["KUBECTL_VERSION"])
    (run,) = [a for kind, a in body if kind == "RUN" and "dl.k8s.io" in a]
    assert "${KUBECTL_VERSION}" in run
    assert "kubectl.sha256" in run and "sha256sum -c" in run
    assert "/usr/local/bin/kubectl" in run


def test_final_stage_gets_the_venv_and_both_clis(final_stage):
    copies = [args for kind, args in final_stage["body"] if kind == "COPY"]
    assert any(c.startswith("--from=builder") and "/opt/venv" in c for c in copies)
    (tools_copy,) = [c for c in copies if c.startswith("--from=tools")]
    assert "/usr/local/bin/terraform" in tools_copy and "/usr/local/bin/kubectl" in tools_copy
    assert tools_copy.split()[-1].rstrip("/") == "/usr/local/bin"


def test_final_stage_copies_the_app_and_not_the_tests(final_stage):
    sources = set()
    for kind, args in final_stage["body"]:
        if kind == "COPY" and not args.startswith("--from"):
            sources.update(word.rstrip("/") for word in args.split()[:-1] if not word.startswith("--"))
    assert sources == APP_SOURCES
    assert all((ROOT / source).exists() for source in sources)


def test_final_stage_environment(final_stage):
    env: dict[str, str] = {}
    for kind, args in final_stage["body"]:
        if kind == "ENV":
            env.update(env_assignments(args))
    assert env["SLIPWAY_ENV"] == "production"
    assert env["SLIPWAY_VAR_DIR"] == "/app/var"
    assert set(env) - RUNTIME_ENV <= settings_env_names(), set(env) - RUNTIME_ENV - settings_env_names()
    for kind, args in final_stage["body"]:
        if kind in ("ENV", "ARG"):
            assert not REQUIRED_SECRETS & set(re.findall(r"[A-Z_]+", args)), f"{kind} {args}: secrets never in layers"


def test_final_stage_runs_as_non_root_owning_var(final_stage):
    body = final_stage["body"]
    users = [args for kind, args in body if kind == "USER"]
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user == "10001"
    kinds = [kind for kind, _ in body]
    assert max(i for i, k in enumerate(kinds) if k == "RUN") < max(i for i, k in enumerate(kinds) if k == "USER")
    runs = " ".join(args for kind, args in body if kind == "RUN")
    assert re.search(r"useradd .*--uid 10001", runs)
    assert re.search(r"chown -R (slipway|10001)(:\S+)? /app/var", runs)


def test_collectstatic_at_build_time_with_dummy_keys_only(final_stage):
    (run,) = [args for kind, args in final_stage["body"] if kind == "RUN" and "collectstatic" in args]
    assert "manage.py collectstatic --noinput" in run
    prefix = run[: run.index("manage.py collectstatic")]
    assert "SECRET_KEY=" in prefix and "SLIPWAY_ENCRYPTION_KEYS=" in prefix
    assert "dummy" in prefix.lower()
    # ...and the comment just above that RUN says they are build-time-only dummies.
    lines = DOCKERFILE.read_text().splitlines()
    run_line = next(i for i, line in enumerate(lines) if line.startswith("RUN ") and "SECRET_KEY=" in line)
    comment = []
    for line in reversed(lines[:run_line]):
        if not line.startswith("#"):
            break
        comment.append(line.lower())
    assert "dumm" in " ".join(comment) and "build" in " ".join(comment), "explain the dummy keys in a comment"


def test_healthcheck_expose_and_command(final_stage):
    body = final_stage["body"]
    assert ("EXPOSE", "8000") in body
    code = healthcheck_python_code(dockerfile_instructions())
    assert "urllib" in code and "/healthz" in code and ":8000/" in code
    compile(code, "dockerfile-healthcheck", "exec")
    (cmd,) = [json.loads(args) for kind, args in body if kind == "CMD"]
    assert cmd == ["daphne", "-b", "0.0.0.0", "-p", "8000", "portal.asgi:application"]


def test_dockerignore_keeps_local_state_out_of_the_build():
    patterns = {line.strip().rstrip("/") for line in DOCKERIGNORE.read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    assert {".venv", "var", "tests", ".git"} <= patterns
