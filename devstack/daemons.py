"""PostgreSQL, Redis, MariaDB and the moto server on loopback, with data in the stack directory."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .process import Context, StackError, apt_install, find_binary, port_open, read_pid, say, spawn, stop, wait_for_port

POSTGRES_PORT = int(os.environ.get("SLIPWAY_STACK_POSTGRES_PORT", "55432"))
REDIS_PORT = int(os.environ.get("SLIPWAY_STACK_REDIS_PORT", "56379"))
MARIADB_PORT = int(os.environ.get("SLIPWAY_STACK_MARIADB_PORT", "53306"))
MOTO_PORT = int(os.environ.get("SLIPWAY_STACK_MOTO_PORT", "55000"))

POSTGRES_PASSWORD = "slipway"  # loopback-only test server
MARIADB_ROOT_PASSWORD = "slipway"


def _postgres_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        apt_install("postgresql")
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise StackError("PostgreSQL server binaries not found after installing 'postgresql'")
    return Path(found[-1]).parent


def _as_postgres(argv: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; the Debian package creates the 'postgres' user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


class LoopbackDaemon:
    """A server on a fixed loopback port that this stack starts and stops by pid."""

    name = ""
    port = 0

    def __init__(self, port: int | None = None) -> None:
        # `make run` starts its own servers on its own ports beside the test stack's.
        if port is not None:
            self.port = port

    def facts(self) -> dict[str, str]:
        raise NotImplementedError

    def start(self, ctx: Context) -> None:
        raise NotImplementedError

    def up(self, ctx: Context) -> dict[str, str]:
        if not (read_pid(ctx, self.name) and port_open(self.port)):
            if port_open(self.port):
                # Someone else's server: its facts would point at data this stack does not own.
                raise StackError(f"{self.name}: port {self.port} on 127.0.0.1 is in use by a program this stack "
                                 f"did not start; stop it or choose another port")
            self.start(ctx)
            wait_for_port(self.port, name=self.name, log=ctx.logfile(self.name))
            self.after_start(ctx)
        return self.facts()

    def after_start(self, ctx: Context) -> None:
        """First-start set-up that needs the server answering."""

    def down(self, ctx: Context) -> None:
        stop(ctx, self.name)

    def status(self, ctx: Context) -> str | None:
        return f"127.0.0.1:{self.port}" if read_pid(ctx, self.name) else None


class Postgres(LoopbackDaemon):
    name = "postgres"
    port = POSTGRES_PORT

    def facts(self) -> dict[str, str]:
        return {"POSTGRES_URL": f"postgres://postgres:{POSTGRES_PASSWORD}@127.0.0.1:{self.port}/postgres"}

    def start(self, ctx: Context) -> None:
        bindir = _postgres_bindir()
        data = ctx.root / "postgres" / "data"
        if not (data / "PG_VERSION").exists():
            data.mkdir(parents=True, exist_ok=True)
            pwfile = ctx.root / "postgres" / "pw"
            pwfile.write_text(POSTGRES_PASSWORD)
            if os.geteuid() == 0:
                shutil.chown(ctx.root / "postgres", "postgres")
                shutil.chown(data, "postgres")
                shutil.chown(pwfile, "postgres")
            say("postgres: initdb")
            subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                                         "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8",
                                         "--no-instructions"]), check=True, stdout=subprocess.DEVNULL)
        sockdir = ctx.root / "postgres"
        log = ctx.logfile(self.name)
        if os.geteuid() == 0:
            log.touch()
            shutil.chown(log, "postgres")
        say(f"postgres: starting on 127.0.0.1:{self.port}")
        spawn(ctx, self.name, _as_postgres([
            str(bindir / "postgres"), "-D", str(data), "-p", str(self.port), "-h", "127.0.0.1",
            "-k", str(sockdir), "-c", "fsync=off", "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off", "-c", "max_connections=200",
        ]))


class Redis(LoopbackDaemon):
    name = "redis"
    port = REDIS_PORT

    def __init__(self, port: int | None = None, *, persistent: bool = False) -> None:
        super().__init__(port)
        self.persistent = persistent

    def facts(self) -> dict[str, str]:
        return {"REDIS_URL": f"redis://127.0.0.1:{self.port}"}

    def start(self, ctx: Context) -> None:
        binary = find_binary("redis-server")
        if binary is None:
            apt_install("redis-server")
            binary = find_binary("redis-server", "/usr/bin/redis-server")
        data = ctx.dir("redis")
        say(f"redis: starting on 127.0.0.1:{self.port}")
        # Tests want a throwaway server; `make run` keeps its environments' data across restarts.
        durability = ["--save", "", "--appendonly", "yes", "--appendfsync", "everysec"] if self.persistent \
            else ["--save", "", "--appendonly", "no"]
        spawn(ctx, self.name, [binary, "--port", str(self.port), "--bind", "127.0.0.1",
                               "--dir", str(data), *durability, "--databases", "64", "--daemonize", "no"])


class MariaDB(LoopbackDaemon):
    name = "mariadb"
    port = MARIADB_PORT

    def facts(self) -> dict[str, str]:
        return {"MARIADB_URL": f"mysql://root:{MARIADB_ROOT_PASSWORD}@127.0.0.1:{self.port}/mysql"}

    def start(self, ctx: Context) -> None:
        server = find_binary("mariadbd", "/usr/sbin/mariadbd")
        if server is None or find_binary("mariadb-dump") is None:
            apt_install("mariadb-server", "mariadb-client")
            server = find_binary("mariadbd", "/usr/sbin/mariadbd")
        base = ctx.dir("mariadb")
        data = base / "data"
        self.fresh = not (data / "mysql").exists()
        if self.fresh:
            say("mariadb: mariadb-install-db")
            subprocess.run(["mariadb-install-db", f"--datadir={data}", "--user=root",
                            "--auth-root-authentication-method=normal", "--skip-test-db"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        say(f"mariadb: starting on 127.0.0.1:{self.port}")
        spawn(ctx, self.name, [server, "--no-defaults", f"--datadir={data}", "--user=root",
                               "--bind-address=127.0.0.1", f"--port={self.port}",
                               f"--socket={base / 'mariadb.sock'}", f"--pid-file={base / 'mariadb.pid'}",
                               "--innodb-flush-log-at-trx-commit=0", "--skip-log-bin",
                               "--max-connections=300"])

    def after_start(self, ctx: Context) -> None:
        if self.fresh:
            # A fresh datadir has a password-less root on the socket only; give it one for TCP.
            sql = (f"CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '{MARIADB_ROOT_PASSWORD}';"
                   "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
                   f"ALTER USER 'root'@'localhost' IDENTIFIED BY '{MARIADB_ROOT_PASSWORD}';FLUSH PRIVILEGES;")
            socket = ctx.dir("mariadb") / "mariadb.sock"
            subprocess.run(["mariadb", f"--socket={socket}", "-uroot", "-e", sql], check=True)


class Moto(LoopbackDaemon):
    """The moto server; with ``state_file``, one whose state survives restarts (``moto_persistent``)."""

    name = "moto"
    port = MOTO_PORT

    def __init__(self, port: int | None = None, *, state_file: Path | None = None) -> None:
        super().__init__(port)
        self.state_file = state_file

    def facts(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.port}", "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}

    def start(self, ctx: Context) -> None:
        server = find_binary(str(Path(sys.executable).parent / "moto_server"), "moto_server")
        if server is None:
            raise StackError("moto_server not found: install the dev requirements "
                             "(pip install -r requirements-dev.txt)")
        say(f"moto: starting on 127.0.0.1:{self.port}")
        argv = [server, "-H", "127.0.0.1", "-p", str(self.port)]
        if self.state_file is not None:
            argv = [sys.executable, "-m", "devstack.moto_persistent", "--port", str(self.port),
                    "--state", str(self.state_file)]
        # The AWS-managed IAM policies (AmazonEKSClusterPolicy, ...) exist only when asked for; the
        # aws-eks blueprint attaches them.
        spawn(ctx, self.name, argv, env={"MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},
              cwd=Path(__file__).resolve().parents[1])


TERRAFORM_VERSION = "1.11.4"
_MIRROR_CANDIDATES = ("/opt/tf-plugins", "/usr/share/terraform/plugins", "/usr/local/share/terraform/plugins")


class Terraform:
    """Not a daemon: checks the pinned terraform CLI and finds the local provider mirror."""

    name = "terraform"

    def up(self, ctx: Context) -> dict[str, str]:
        binary = find_binary("terraform")
        if binary is None:
            raise StackError("terraform is not on PATH: run devstack/system-deps.sh")
        out = subprocess.run([binary, "version", "-json"], capture_output=True, text=True, check=True).stdout
        found = json.loads(out)["terraform_version"]
        if found != TERRAFORM_VERSION:
            raise StackError(f"terraform {found} on PATH; the pinned version is {TERRAFORM_VERSION}")
        facts = {"TERRAFORM": binary}
        candidates = [os.environ.get("SLIPWAY_TERRAFORM_PLUGIN_MIRROR", ""), *_MIRROR_CANDIDATES]
        mirror = next((c for c in candidates if c and Path(c, "registry.terraform.io", "hashicorp", "aws").is_dir()),
                      None)
        if mirror:
            facts["SLIPWAY_TERRAFORM_PLUGIN_MIRROR"] = mirror
        return facts

    def down(self, ctx: Context) -> None:
        return None

    def status(self, ctx: Context) -> str | None:
        return find_binary("terraform")
