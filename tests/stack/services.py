"""PostgreSQL, Redis, MariaDB and the moto server on loopback, with data in the stack directory."""

from __future__ import annotations

import glob
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


class Postgres:
    name = "postgres"

    def up(self, ctx: Context) -> dict[str, str]:
        url = f"postgres://postgres:{POSTGRES_PASSWORD}@127.0.0.1:{POSTGRES_PORT}/postgres"
        if read_pid(ctx, self.name) and port_open(POSTGRES_PORT):
            return {"POSTGRES_URL": url}
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
        say(f"postgres: starting on 127.0.0.1:{POSTGRES_PORT}")
        spawn(ctx, self.name, _as_postgres([
            str(bindir / "postgres"), "-D", str(data), "-p", str(POSTGRES_PORT), "-h", "127.0.0.1",
            "-k", str(sockdir), "-c", "fsync=off", "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off", "-c", "max_connections=200",
        ]))
        wait_for_port(POSTGRES_PORT, name="postgres", log=log)
        return {"POSTGRES_URL": url}

    def down(self, ctx: Context) -> None:
        stop(ctx, self.name)

    def status(self, ctx: Context) -> str | None:
        return f"127.0.0.1:{POSTGRES_PORT}" if read_pid(ctx, self.name) else None


class Redis:
    name = "redis"

    def up(self, ctx: Context) -> dict[str, str]:
        url = f"redis://127.0.0.1:{REDIS_PORT}"
        if read_pid(ctx, self.name) and port_open(REDIS_PORT):
            return {"REDIS_URL": url}
        binary = find_binary("redis-server")
        if binary is None:
            apt_install("redis-server")
            binary = find_binary("redis-server", "/usr/bin/redis-server")
        data = ctx.dir("redis")
        say(f"redis: starting on 127.0.0.1:{REDIS_PORT}")
        spawn(ctx, self.name, [binary, "--port", str(REDIS_PORT), "--bind", "127.0.0.1",
                               "--dir", str(data), "--save", "", "--appendonly", "no",
                               "--databases", "64", "--daemonize", "no"])
        wait_for_port(REDIS_PORT, name="redis", log=ctx.logfile(self.name))
        return {"REDIS_URL": url}

    def down(self, ctx: Context) -> None:
        stop(ctx, self.name)

    def status(self, ctx: Context) -> str | None:
        return f"127.0.0.1:{REDIS_PORT}" if read_pid(ctx, self.name) else None


class MariaDB:
    name = "mariadb"

    def up(self, ctx: Context) -> dict[str, str]:
        url = f"mysql://root:{MARIADB_ROOT_PASSWORD}@127.0.0.1:{MARIADB_PORT}/mysql"
        if read_pid(ctx, self.name) and port_open(MARIADB_PORT):
            return {"MARIADB_URL": url}
        server = find_binary("mariadbd", "/usr/sbin/mariadbd")
        if server is None or find_binary("mariadb-dump") is None:
            apt_install("mariadb-server", "mariadb-client")
            server = find_binary("mariadbd", "/usr/sbin/mariadbd")
        base = ctx.dir("mariadb")
        data = base / "data"
        fresh = not (data / "mysql").exists()
        if fresh:
            say("mariadb: mariadb-install-db")
            subprocess.run(["mariadb-install-db", f"--datadir={data}", "--user=root",
                            "--auth-root-authentication-method=normal", "--skip-test-db"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        say(f"mariadb: starting on 127.0.0.1:{MARIADB_PORT}")
        spawn(ctx, self.name, [server, "--no-defaults", f"--datadir={data}", "--user=root",
                               "--bind-address=127.0.0.1", f"--port={MARIADB_PORT}",
                               f"--socket={base / 'mariadb.sock'}", f"--pid-file={base / 'mariadb.pid'}",
                               "--innodb-flush-log-at-trx-commit=0", "--skip-log-bin",
                               "--max-connections=300"])
        wait_for_port(MARIADB_PORT, name="mariadb", log=ctx.logfile(self.name))
        if fresh:
            # A fresh datadir has a password-less root on the socket only; give it one for TCP.
            sql = (f"CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '{MARIADB_ROOT_PASSWORD}';"
                   "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
                   f"ALTER USER 'root'@'localhost' IDENTIFIED BY '{MARIADB_ROOT_PASSWORD}';FLUSH PRIVILEGES;")
            subprocess.run(["mariadb", f"--socket={base / 'mariadb.sock'}", "-uroot", "-e", sql], check=True)
        return {"MARIADB_URL": url}

    def down(self, ctx: Context) -> None:
        stop(ctx, self.name)

    def status(self, ctx: Context) -> str | None:
        return f"127.0.0.1:{MARIADB_PORT}" if read_pid(ctx, self.name) else None


class Moto:
    name = "moto"

    def up(self, ctx: Context) -> dict[str, str]:
        facts = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{MOTO_PORT}", "AWS_ACCESS_KEY_ID": "testing",
                 "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
        if read_pid(ctx, self.name) and port_open(MOTO_PORT):
            return facts
        server = find_binary(str(Path(sys.executable).parent / "moto_server"), "moto_server")
        if server is None:
            raise StackError("moto_server not found: install the dev requirements (pip install -r requirements-dev.txt)")
        say(f"moto: starting on 127.0.0.1:{MOTO_PORT}")
        spawn(ctx, self.name, [server, "-H", "127.0.0.1", "-p", str(MOTO_PORT)])
        wait_for_port(MOTO_PORT, name="moto", log=ctx.logfile(self.name))
        return facts

    def down(self, ctx: Context) -> None:
        stop(ctx, self.name)

    def status(self, ctx: Context) -> str | None:
        return f"127.0.0.1:{MOTO_PORT}" if read_pid(ctx, self.name) else None
