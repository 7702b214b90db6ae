"""Adapters are the only door to their systems: no product module outside an adapter starts a system's
CLI or opens its connections itself (that would skip the adapter's retries and redaction).

ruff's banned-api (TID251, pyproject.toml) keeps boto3/botocore in ``portal/aws.py``, python_terraform in
``clusters/terraform.py`` and csv in ``portal/csv_export.py``. What an import ban cannot see is checked
here on the syntax tree: a CLI started by name through ``subprocess``, and a MariaDB or Redis connection
built with the client library's own constructor.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("clusters", "environments", "migrations_tool", "portal")

# The CLI a subprocess starts (argv[0] as a literal) -> the adapter module allowed to start it.
CLI_ADAPTERS = {
    "terraform": "clusters/terraform.py",
    "mariadb": "migrations_tool/mariadb_dump.py",
    "mariadb-dump": "migrations_tool/mariadb_dump.py",
    "mysql": "migrations_tool/mariadb_dump.py",
    "mysqldump": "migrations_tool/mariadb_dump.py",
    "redis-cli": "migrations_tool/redis_keyspace.py",
    "kubectl": "clusters/kubeclient.py",
    "aws": "portal/aws.py",
}
# A call of module.attribute that opens a connection -> the adapter module allowed to make it.
CONNECTION_ADAPTERS = {
    ("pymysql", "connect"): "migrations_tool/mariadb_connection.py",
    ("pymysql", "Connect"): "migrations_tool/mariadb_connection.py",
    ("redis", "Redis"): "migrations_tool/redis_keyspace.py",
    ("redis", "StrictRedis"): "migrations_tool/redis_keyspace.py",
    ("redis", "from_url"): "migrations_tool/redis_keyspace.py",
}
SUBPROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output", "create_subprocess_exec"}


def _product_files() -> list[Path]:
    return sorted(p for package in PRODUCT for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def violations(path: Path, source: str) -> list[str]:
    """Where ``source`` (the module at ``path``, relative to the repository) bypasses an adapter."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)):
            continue
        module, name = node.func.value.id, node.func.attr
        if module in ("subprocess", "asyncio") and name in SUBPROCESS_CALLS and node.args:
            argv = node.args[0]
            first = argv.elts[0] if isinstance(argv, ast.List | ast.Tuple) and argv.elts else argv
            program = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
            adapter = CLI_ADAPTERS.get(Path(program).name) if program else None
            if adapter and adapter != str(path):
                found.append(f"{path}:{node.lineno} starts {program} (only {adapter} may)")
        adapter = CONNECTION_ADAPTERS.get((module, name))
        if adapter and adapter != str(path):
            found.append(f"{path}:{node.lineno} calls {module}.{name} (only {adapter} may)")
    return found


def test_no_module_bypasses_an_adapter():
    found = [v for p in _product_files() for v in violations(p.relative_to(ROOT), p.read_text())]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("source", [
    'import subprocess\nsubprocess.run(["terraform", "plan"])',
    'import subprocess\nsubprocess.Popen(["mariadb-dump", "--all-databases"])',
    'import subprocess\nsubprocess.check_output(("/usr/bin/kubectl", "get", "pods"))',
    'import pymysql\npymysql.connect(host="db")',
    'import redis\nredis.Redis(host="cache")',
    'import redis\nredis.from_url("redis://cache")',
])
def test_the_check_catches_a_bypass(source):
    assert violations(Path("environments/services.py"), source)


def test_the_adapters_themselves_may():
    assert not violations(Path("migrations_tool/mariadb_dump.py"), 'import subprocess\nsubprocess.Popen(["mariadb"])')
    assert not violations(Path("migrations_tool/redis_keyspace.py"), 'import redis\nredis.Redis(host="cache")')
