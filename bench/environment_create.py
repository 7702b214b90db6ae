"""Benchmark: creating environments through Slipway against plain `kubectl apply`, on the same cluster.

Scenario 1 creates one environment of 10 components through the API (POST /api/v1/environments/
until the environment's status is ready) and, as the baseline, applies the same rendered manifests
for another environment name with `kubectl apply --server-side` followed by `kubectl rollout status`
for its Deployments (and StatefulSets, if any). Each side runs --repeat times, alternating which
goes first; the medians and their ratio are printed. Scenario 2 creates --envs environments at once
(one thread each) and compares the total wall time with as many parallel kubectl apply + rollout
status chains, and checks that every environment became ready without error.

CELERY_TASK_ALWAYS_EAGER is on, so the rollout runs in-process inside the API request: this
measures Slipway's engine (validation, persistence, audit, render, apply, prune, readiness watch),
not the latency of the Celery queue or of a worker picking the job up.

Uses the test stack (`python -m devstack up postgres kube`): a fresh database on its
PostgreSQL, dropped at the end, and its local Kubernetes control plane (kwok nodes), where every
namespace the run created is deleted at the end, even on failure.
Run: `make bench-environments` (or `.venv/bin/python bench/environment_create.py [--envs N] [--repeat N]`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from devstack.control_plane import Kube, api_client  # noqa: E402  (importable once the project root is on sys.path)
from devstack.daemons import Postgres  # noqa: E402  (importable once the project root is on sys.path)
from devstack.process import Context  # noqa: E402  (importable once the project root is on sys.path)

COMPONENTS = 10
READY_TIMEOUT = 180.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--envs", type=int, default=20, help="environments created at once in scenario 2")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side in scenario 1")
    args = parser.parse_args()

    import psycopg


    ctx = Context.default()
    admin_url = Postgres().up(ctx)["POSTGRES_URL"]
    kube = Kube().up(ctx)
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    os.environ.update(DATABASE_URL=db_url, DJANGO_SETTINGS_MODULE="portal.settings",
                      SLIPWAY_VAR_DIR=str(ROOT / "var" / "bench"), CELERY_TASK_ALWAYS_EAGER="true",
                      CELERY_BROKER_URL="memory://", SLIPWAY_ROLLOUT_TIMEOUT_SECONDS=str(READY_TIMEOUT))
    bench = Bench(kube, run_id=uuid.uuid4().hex[:6])
    try:
        bench.run(envs=args.envs, repeat=args.repeat)
    finally:
        bench.cleanup()
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Bench:
    def __init__(self, kube: dict[str, str], run_id: str) -> None:
        self.kubectl = kube["KUBECTL"]
        self.kubeconfig = kube["KUBECONFIG"]
        self.kube_env = {**os.environ, "KUBECONFIG": self.kubeconfig,
                         **({"KUBECACHEDIR": kube["KUBECACHEDIR"]} if kube.get("KUBECACHEDIR") else {})}
        self.run_id = run_id
        self.namespaces: list[str] = []  # every namespace this run may have created
        self.tmp = tempfile.TemporaryDirectory(prefix="slipway-bench-")
        self.counter = 0
        self.apply_seconds: list[float] = []  # how long `kubectl apply` alone took, per baseline run

    def new_name(self, side: str) -> str:
        self.counter += 1
        return f"bench-{self.run_id}-{side}{self.counter}"

    # -- setup -------------------------------------------------------------------------------

    def setup(self) -> None:
        import django

        django.setup()
        for logger in ("celery", "kombu"):  # per-task INFO lines would break up the table
            logging.getLogger(logger).setLevel(logging.ERROR)
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.core.management import call_command

        from clusters.services import cluster_register
        from environments.models import Blueprint, Component, ImageVersion
        from portal.accounts import roles
        from portal.accounts.models import Team
        from portal.audit.actor import Actor

        call_command("migrate", verbosity=0)
        components = []
        for n in range(COMPONENTS):
            # Small requests and limits: --envs x 10 pods must fit on the 3 kwok nodes (4 CPU each).
            component = Component.objects.create(
                name=f"svc{n:02d}", image_repository=f"registry.example.com/bench/svc{n:02d}", container_port=8080,
                ingress_path=None, cpu_request="10m", memory_request="16Mi", cpu_limit="20m", memory_limit="32Mi")
            ImageVersion.objects.create(component=component, tag="1.0.0")
            components.append(component)
        self.blueprint = Blueprint.objects.create(name="bench", version=1, description="10 components")
        self.blueprint.components.set(components)
        self.versions = {c.name: "1.0.0" for c in components}
        self.cluster = cluster_register(actor=Actor.system("bench"), name="local", kind="local",
                                        kubeconfig=Path(self.kubeconfig).read_text(), make_default=True)
        self.team = Team.objects.create(slug="bench", name="Bench")
        self.user = get_user_model().objects.create_user("bench-admin", "bench@example.test", "bench-pw-1")
        self.user.groups.add(Group.objects.get(name=roles.PLATFORM_ADMINS))
        self.team.members.add(self.user)

    # -- Slipway -----------------------------------------------------------------------------

    def client(self):
        from django.test import Client

        client = Client(HTTP_ACCEPT="application/json")
        client.force_login(self.user)
        return client

    def slipway_create(self, client, name: str) -> tuple[float, str]:
        """POST the environment, then wait until it is ready: (seconds, error or "")."""
        from environments.models import Environment

        self.namespaces.append(f"slw-{name}")
        body = {"name": name, "cluster": self.cluster.name, "blueprint": self.blueprint.pk, "stage": "qa",
                "team": self.team.slug, "versions": self.versions}
        start = time.perf_counter()
        try:
            response = client.post("/api/v1/environments/", json.dumps(body), content_type="application/json")
            if response.status_code != 201:
                return time.perf_counter() - start, f"HTTP {response.status_code}: {response.content[:300]!r}"
            pk = response.json()["id"]
            deadline = time.monotonic() + READY_TIMEOUT
            while True:  # with eager Celery the rollout already ran inside the request
                status, message = Environment.objects.filter(pk=pk).values_list("status", "status_message").get()
                if status == Environment.READY:
                    return time.perf_counter() - start, ""
                if status == Environment.FAILED or time.monotonic() > deadline:
                    return time.perf_counter() - start, f"{status}: {message}"
                time.sleep(0.05)
        except Exception as exc:  # reported in the table, never hidden
            return time.perf_counter() - start, f"{type(exc).__name__}: {exc}"

    def slipway_many(self, count: int) -> tuple[float, list[str]]:
        """``count`` creations at once, one thread (and database connection) each."""
        from django.db import connections

        clients = [self.client() for _ in range(count)]
        names = [self.new_name("s") for _ in range(count)]
        barrier = threading.Barrier(count + 1)
        errors: list[str] = [""] * count

        def one(i: int) -> None:
            try:
                barrier.wait()
                errors[i] = self.slipway_create(clients[i], names[i])[1]
            finally:
                connections.close_all()  # this thread's connections

        threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        barrier.wait()
        start = time.perf_counter()
        for thread in threads:
            thread.join()
        return time.perf_counter() - start, [f"{n}: {e}" for n, e in zip(names, errors, strict=True) if e]

    # -- kubectl baseline --------------------------------------------------------------------

    def manifest_file(self, name: str) -> tuple[Path, bool]:
        """The manifests Slipway renders for environment ``name``, as a YAML file (not timed)."""
        from environments.models import Environment, EnvironmentRevision, ImageVersion
        from environments.render import render, to_yaml
        from environments.services import NAMESPACE_PREFIX
        from environments.snapshot import new_backing_passwords, snapshot_from_blueprint, spec_for

        resolved = {v.component.name: v for v in ImageVersion.objects.filter(
            component__in=self.blueprint.components.all()).select_related("component")}
        environment = Environment(name=name, namespace=NAMESPACE_PREFIX + name, cluster=self.cluster,
                                  blueprint=self.blueprint, stage="qa", team=self.team, owner=self.user,
                                  backing_passwords=new_backing_passwords(self.blueprint))
        revision = EnvironmentRevision(environment=environment, number=1, snapshot=snapshot_from_blueprint(
            blueprint=self.blueprint, stage="qa", versions=resolved))
        manifests = render(spec_for(environment, revision))
        path = Path(self.tmp.name) / f"{name}.yaml"
        path.write_text(to_yaml(manifests))
        return path, any(m["kind"] == "StatefulSet" for m in manifests)

    def kubectl_create(self, name: str, path: Path, statefulsets: bool) -> tuple[float, str]:
        namespace = f"slw-{name}"
        self.namespaces.append(namespace)
        commands = [["apply", "--server-side", "--field-manager", "bench", "-f", str(path)],
                    ["rollout", "status", "deployment", "-n", namespace, f"--timeout={READY_TIMEOUT:.0f}s"]]
        if statefulsets:
            commands.append(["rollout", "status", "statefulset", "-n", namespace, f"--timeout={READY_TIMEOUT:.0f}s"])
        start = time.perf_counter()
        for command in commands:
            proc = subprocess.run([self.kubectl, *command], env=self.kube_env, capture_output=True, text=True)
            if proc.returncode != 0:
                return time.perf_counter() - start, f"kubectl {command[0]}: {proc.stderr.strip()[:300]}"
            if command[0] == "apply":
                self.apply_seconds.append(time.perf_counter() - start)
        return time.perf_counter() - start, ""

    def kubectl_many(self, count: int) -> tuple[float, list[str]]:
        names = [self.new_name("k") for _ in range(count)]
        files = [self.manifest_file(n) for n in names]
        with ThreadPoolExecutor(count) as pool:
            start = time.perf_counter()
            results = list(pool.map(lambda i: self.kubectl_create(names[i], *files[i]), range(count)))
            elapsed = time.perf_counter() - start
        return elapsed, [f"{n}: {e}" for n, (_, e) in zip(names, results, strict=True) if e]

    # -- the run -----------------------------------------------------------------------------

    def run(self, *, envs: int, repeat: int) -> None:
        self.setup()
        print(f"{COMPONENTS} components per environment; rollout in-process (CELERY_TASK_ALWAYS_EAGER)")
        client = self.client()
        samples: dict[str, list[float]] = {"slipway": [], "kubectl": []}
        errors: list[str] = []
        for i in range(repeat):
            name_k = self.new_name("k")
            path, statefulsets = self.manifest_file(name_k)
            sides = [("slipway", lambda: self.slipway_create(client, self.new_name("s"))),
                     ("kubectl", lambda n=name_k, p=path, s=statefulsets: self.kubectl_create(n, p, s))]
            for side, create in sides if i % 2 == 0 else reversed(sides):
                seconds, error = create()
                samples[side].append(seconds)
                if error:
                    errors.append(f"{side}: {error}")
        self.delete_namespaces()
        ours, base = statistics.median(samples["slipway"]), statistics.median(samples["kubectl"])
        print(f"{'scenario':34} {'slipway s':>10} {'kubectl s':>10} {'ratio':>7}")
        print(f"{f'1 environment (median of {repeat})':34} {ours:10.2f} {base:10.2f} {ours / base:7.2f}")
        print(f"{'':34} runs: slipway {' '.join(f'{s:.2f}' for s in samples['slipway'])}; "
              f"kubectl {' '.join(f'{s:.2f}' for s in samples['kubectl'])} "
              f"(of which apply {' '.join(f'{s:.2f}' for s in self.apply_seconds)})")

        # The kwok nodes hold 330 pods: run the two sides one after the other, cleaning up between.
        base_total, base_errors = self.kubectl_many(envs)
        self.delete_namespaces()
        ours_total, ours_errors = self.slipway_many(envs)
        print(f"{f'{envs} environments at once (total)':34} {ours_total:10.2f} {base_total:10.2f} "
              f"{ours_total / base_total:7.2f}")
        from environments.models import Environment

        ready = Environment.objects.filter(name__startswith=f"bench-{self.run_id}-s", status=Environment.READY).count()
        print(f"slipway: {ready} environments ready of {repeat + envs} created, "
              f"{len(ours_errors)} error(s) in the {envs} at once; kubectl: {len(base_errors)} error(s)")
        for error in errors + ours_errors + base_errors:
            print(f"  error: {error}")
        if errors or ours_errors or base_errors or ready != repeat + envs:
            raise SystemExit(1)

    # -- cleanup -----------------------------------------------------------------------------

    def delete_namespaces(self) -> None:
        """Delete every namespace this run created, all at once, and wait until they are gone."""
        from clusters.kube.namespace_lifecycle import delete_namespace

        names, self.namespaces = self.namespaces, []
        if not names:
            return
        subprocess.run([self.kubectl, "delete", "namespace", "--ignore-not-found", "--wait=false", *names],
                       env=self.kube_env, capture_output=True, text=True)
        with api_client() as api:
            for name in names:
                try:
                    delete_namespace(api, name, timeout=120)
                except Exception as exc:  # keep cleaning up the others
                    print(f"cleanup: namespace {name}: {exc}", file=sys.stderr)

    def cleanup(self) -> None:
        try:
            self.delete_namespaces()
        finally:
            self.tmp.cleanup()


if __name__ == "__main__":
    main()
