"""Benchmark: Slipway's MariaDB copier against the copies a user would run, and against the server's limit.

Generates a dataset of about --size-mb (customers, orders with a foreign key, events with text
payloads, a composite-key table, secondary indexes and a view) in a fresh database on the test
stack's MariaDB, then copies it into an emptied target database on the same server, once per contender
and round (the order alternates between rounds): `mariadb-dump --single-transaction | mariadb`;
`mydumper` + `myloader` with the copier's thread count; the server limit (the copier's LOAD DATA files
rendered before the clock starts, loaded by as many writers with keys built last: no reading at all,
see bench/mariadb_baselines.py); Slipway's copier with verification ON (row counts and checksums of
every table, counted in its time). Prints the median times, rows per second, the copier's peak memory
and phases, and the ratios (goals: ahead of mydumper+myloader, within 1.3x of the limit). Both
databases are dropped at the end, even on failure. `--tiny` is the smoke mode `make test` runs.
Run: `make bench-copy-mariadb` (or `.venv/bin/python bench/copy_mariadb.py --size-mb 1024 [--workers 4]`).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pymysql

from bench.mariadb_baselines import LoadLimit, mydumper_myloader
from migrations_tool.contracts import Endpoint
from migrations_tool.mariadb import MariaDBCopier

BYTES_PER_CUSTOMER = 2900  # one customer, 4 orders, 4 events, 4 tags, with indexes (measured)

SCHEMA = [
    """CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, name VARCHAR(60), phone VARCHAR(30),
       created_at DATETIME NOT NULL, balance DECIMAL(12,2), KEY email_idx (email), KEY created_idx (created_at))""",
    """CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(10,2),
       status ENUM('new','paid','shipped','cancelled'), note VARCHAR(255), created_at DATETIME NOT NULL,
       KEY customer_idx (customer_id), KEY created_idx (created_at),
       CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id))""",
    """CREATE TABLE events (id BIGINT PRIMARY KEY, order_id BIGINT NOT NULL, kind VARCHAR(20), payload TEXT,
       KEY order_idx (order_id))""",
    "CREATE TABLE order_tags (order_id BIGINT NOT NULL, tag VARCHAR(16) NOT NULL, PRIMARY KEY (order_id, tag))",
    """CREATE VIEW customer_totals AS SELECT c.id, COUNT(o.id) AS orders, SUM(o.amount) AS total
       FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.id""",
]


def server() -> dict:
    url = urlparse(os.environ.get("MARIADB_URL", "mysql://root:slipway@127.0.0.1:53306/mysql"))
    return {"host": url.hostname, "port": url.port, "user": url.username, "password": url.password}


def run_sql(database: str | None, *statements: str) -> list:
    conn = pymysql.connect(**server(), database=database, autocommit=True, read_timeout=7200)
    try:
        cur = conn.cursor()
        result = []
        for statement in statements:
            cur.execute(statement)
            result = cur.fetchall()
        return result
    finally:
        conn.close()


def generate(database: str, customers: int) -> None:
    run_sql(database, *SCHEMA)
    step = 100_000
    for start in range(0, customers, step):
        end = min(customers, start + step)
        run_sql(database,
                f"INSERT INTO customers SELECT seq, CONCAT('user', seq, '@corp.example'), CONCAT('Person ', seq), "
                f"CONCAT('+44 20 ', LPAD(seq MOD 10000000, 7, '0')), '2024-01-01' + INTERVAL (seq MOD 700) DAY, "
                f"(seq MOD 100000) / 7 FROM seq_{start + 1}_to_{end}",
                f"INSERT INTO orders SELECT seq, 1 + (seq DIV 4), (seq MOD 50000) / 9, "
                f"ELT(1 + seq MOD 4, 'new','paid','shipped','cancelled'), "
                f"IF(seq MOD 3 = 0, NULL, CONCAT('order note ', seq, ' ', REPEAT('x', seq MOD 90))), "
                f"'2024-01-01' + INTERVAL (seq MOD 1000) HOUR FROM seq_{start * 4}_to_{end * 4 - 1}",
                f"INSERT INTO events SELECT seq, seq, ELT(1 + seq MOD 3, 'created','paid','shipped'), "
                f"CONCAT('{{\"order\": ', seq, ', \"text\": \"', REPEAT(MD5(seq), 5), "
                f"'\", \"quote\": \"it''s\\\\n\"}}') "
                f"FROM seq_{start * 4}_to_{end * 4 - 1}",
                f"INSERT INTO order_tags SELECT seq, ELT(1 + seq MOD 2, 'gift', 'express') "
                f"FROM seq_{start * 4}_to_{end * 4 - 1}")
        print(f"  generated {end}/{customers} customers", flush=True)
    run_sql(database, "ANALYZE TABLE customers, orders, events, order_tags")


def size_of(database: str) -> tuple[int, int]:
    (size, rows), = run_sql(None, "SELECT SUM(DATA_LENGTH + INDEX_LENGTH), SUM(TABLE_ROWS) FROM "
                                  f"information_schema.TABLES WHERE TABLE_SCHEMA='{database}'")
    return int(size or 0), int(rows or 0)


def exact_rows(database: str) -> int:
    return sum(run_sql(database, f"SELECT COUNT(*) FROM {t}")[0][0]
               for t in ("customers", "orders", "events", "order_tags"))


def settle(limit: float = 180) -> None:
    """Let the server write back the previous step's dirty pages, so each contender starts alike."""
    (old,), = run_sql(None, "SELECT @@innodb_max_dirty_pages_pct")
    run_sql(None, "SET GLOBAL innodb_max_dirty_pages_pct = 0")
    try:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            (_, dirty), = run_sql(None, "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'")
            if int(dirty) < 100:
                return
            time.sleep(1)
    finally:
        run_sql(None, f"SET GLOBAL innodb_max_dirty_pages_pct = {old}")


def server_cpu_seconds() -> float:
    """CPU time the MariaDB server process has used so far (it runs on this machine: the test stack's)."""
    (pid_file,), = run_sql(None, "SELECT @@pid_file")
    fields = Path(f"/proc/{Path(pid_file).read_text().split()[0]}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def baseline(source: str, target: str) -> float:
    facts = server()
    args = f"--host={facts['host']} --port={facts['port']} --user={facts['user']} --protocol=TCP"
    env = {**os.environ, "MYSQL_PWD": facts["password"]}
    started = time.perf_counter()
    subprocess.run(["bash", "-o", "pipefail", "-c",
                    f"mariadb-dump {args} --single-transaction --routines --triggers {source} "
                    f"| mariadb {args} {target}"],
                   check=True, env=env)
    return time.perf_counter() - started


def _ours(source: str, target: str, workers: int, verify: bool, out) -> None:
    facts = server()
    endpoint = dict(kind="mysql", host=facts["host"], port=facts["port"], user=facts["user"],
                    password=facts["password"])
    phases: list[tuple[float, str]] = []

    def progress(**fields) -> None:
        if "message" in fields and not fields["message"].startswith("building the keys"):
            phases.append((time.perf_counter(), fields["message"].split(" with ")[0]))

    started = time.perf_counter()
    phases.append((started, "snapshots, schema and empty tables"))
    report = MariaDBCopier(workers=workers).copy(Endpoint(**endpoint, database=source),
                                                 Endpoint(**endpoint, database=target), {"verify": verify},
                                                 progress)
    elapsed = time.perf_counter() - started
    ends = [t for t, _ in phases[1:]] + [started + elapsed]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.send({"seconds": elapsed, "verified": report.verified, "cpu": usage.ru_utime + usage.ru_stime,
              "rows": report.counters["rows"],
              "bytes": report.counters["bytes"], "maxrss_kb": usage.ru_maxrss,
              "notes": report.notes,
              "phases": [(message, end - t) for (t, message), end in zip(phases, ends, strict=True)]})


def ours(source: str, target: str, workers: int, verify: bool) -> dict:
    receive, send = multiprocessing.Pipe(duplex=False)
    process = multiprocessing.get_context("fork").Process(target=_ours, args=(source, target, workers, verify, send))
    process.start()
    result = receive.recv()
    process.join()
    return result


def fresh(name: str) -> None:
    run_sql(None, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}")


def contenders(source: str, target: str, args, limit: LoadLimit) -> dict:
    """Each contender's timed copy of ``source`` into an emptied ``target``, by name."""
    def dump_client() -> dict:
        return {"seconds": baseline(source, target)}

    def dumper_loader() -> dict:
        return {"seconds": mydumper_myloader(server(), source, target, args.workers)}

    def load_limit() -> dict:
        return {"seconds": limit.load(target, args.workers)}

    def slipway() -> dict:
        result = ours(source, target, args.workers, not args.no_verify)
        if not result["verified"] and not args.no_verify:
            raise SystemExit(f"FAILED: slipway copy not verified: {result}")
        return result

    return {"mariadb-dump | mariadb": dump_client, "mydumper + myloader": dumper_loader,
            "server limit (pre-rendered)": load_limit, "slipway": slipway}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="approximate dataset size (data + indexes)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the order of the contenders alternates")
    parser.add_argument("--tiny", action="store_true", help="smoke mode: a few MB, one round")
    parser.add_argument("--no-verify", action="store_true",
                        help="diagnosis only: leave out the copier's verification (the goal is measured with it)")
    args = parser.parse_args()
    if args.tiny:
        args.size_mb, args.rounds = 4, 1
    suffix = uuid.uuid4().hex[:8]
    source, target = f"bench_src_{suffix}", f"bench_dst_{suffix}"
    customers = max(1000, args.size_mb * 1024 * 1024 // BYTES_PER_CUSTOMER)
    limit = None
    try:
        fresh(source)
        print(f"generating ~{args.size_mb} MB ({customers} customers) in {source} …", flush=True)
        generate(source, customers)
        size, _ = size_of(source)
        rows = exact_rows(source)
        print(f"dataset: {size / 2**20:.0f} MB (data + indexes), {rows} rows in 4 tables + 1 view", flush=True)
        settle()
        started = time.perf_counter()
        limit = LoadLimit(server(), source)
        print(f"pre-rendered {limit.bytes / 2**20:.0f} MB of LOAD DATA files for the server limit in "
              f"{time.perf_counter() - started:.1f} s (not in its time: the source server's reading alone, "
              "one connection)")
        runs = contenders(source, target, args, limit)
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        server_cpu: dict[str, list[float]] = {name: [] for name in runs}
        slipway: list[dict] = []
        for round_ in range(args.rounds):
            order = list(runs) if round_ % 2 == 0 else list(reversed(runs))
            for name in order:
                fresh(target)
                settle()
                cpu_before = server_cpu_seconds()
                result = runs[name]()
                server_cpu[name].append(server_cpu_seconds() - cpu_before)
                if exact_rows(target) != rows:
                    print(f"FAILED: {name} copied {exact_rows(target)} rows, expected {rows}")
                    return 1
                seconds[name].append(result["seconds"])
                if name == "slipway":
                    slipway.append(result)
                print(f"  round {round_ + 1}: {name}: {result['seconds']:.1f} s", flush=True)
        median = {name: statistics.median(values) for name, values in seconds.items()}
        label = "slipway (NOT verified)" if args.no_verify else "slipway (verified)"
        print(f"\nmedians of {args.rounds} round(s), {args.workers} threads each, on {size / 2**20:.0f} MB:")
        for name, value in median.items():
            print(f"  {label if name == 'slipway' else name:<30} {value:8.1f} s  {rows / value:10.0f} rows/s")
        best = min(slipway, key=lambda r: r["seconds"])
        print(f"  slipway peak RSS {best['maxrss_kb'] / 1024:.0f} MB; phases of its best round: "
              + "; ".join(f"{m} {s:.1f} s" for m, s in best["phases"]))
        cpu = {name: statistics.median(values) for name, values in server_cpu.items()}
        print("  server CPU (median core-seconds): " + "; ".join(f"{name} {value:.1f}" for name, value in cpu.items())
              + f"; slipway's own process {statistics.median(r['cpu'] for r in slipway):.1f}")
        ours_s = median["slipway"]
        cores = os.cpu_count() or 1
        # The limit leaves out reading the source and checksumming both sides; here they run on the same
        # cores as the loading, so no schedule of Slipway's work beats its CPU time spread over all cores.
        floor = (cpu["slipway"] + statistics.median(r["cpu"] for r in slipway)) / cores
        print(f"  slipway's work on this machine: at least {floor:.1f} s on {cores} cores "
              f"= {floor / median['server limit (pre-rendered)']:.2f}x the limit; it took {ours_s / floor:.2f}x that")
        (pool,), = run_sql(None, "SELECT @@innodb_buffer_pool_size DIV 1048576")
        print(f"ratio mariadb-dump|mariadb / slipway: {median['mariadb-dump | mariadb'] / ours_s:.2f}x (> 1: faster)")
        print(f"ratio mydumper+myloader / slipway: {median['mydumper + myloader'] / ours_s:.2f}x (goal > 1x)")
        print(f"ratio slipway / server limit: {ours_s / median['server limit (pre-rendered)']:.2f}x (goal <= 1.3x)")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (the server shares them), "
              f"InnoDB buffer pool {pool} MB")
        return 0
    finally:
        if limit is not None:
            limit.close()
        for name in (source, target):
            run_sql(None, f"DROP DATABASE IF EXISTS {name}")


if __name__ == "__main__":
    sys.exit(main())
