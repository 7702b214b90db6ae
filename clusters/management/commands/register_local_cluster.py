import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clusters.health import cluster_check_health
from clusters.services import cluster_register
from devstack.components import facts_path
from devstack.process import Context
from portal.audit.actor import Actor


class Command(BaseCommand):
    help = "Register a local control plane (kubeconfig or facts file) as the default cluster, and check its health."

    def add_arguments(self, parser):
        parser.add_argument("--kubeconfig", help="path; default: KUBECONFIG from the facts file")
        parser.add_argument("--facts", type=Path,
                            help="JSON file of connection facts (KUBECONFIG, …); default: the local stack's")
        parser.add_argument("--name", default="local")

    def handle(self, *args, kubeconfig: str | None, facts: Path | None, name: str, **options):
        known = load_facts_file(facts)
        kubeconfig = kubeconfig or known.get("KUBECONFIG")
        if not kubeconfig:
            raise CommandError("The local cluster is not up: run `python -m devstack up kube` first.")
        actor = Actor.system("make-run")
        try:
            cluster = cluster_register(actor=actor, name=name, kind="local",
                                       kubeconfig=Path(kubeconfig).read_text(), make_default=True)
        except (OSError, ValidationError) as exc:
            raise CommandError(f"cannot register {kubeconfig}: {exc}") from exc
        cluster = cluster_check_health(actor=actor, cluster=cluster)
        self.stdout.write(json.dumps({"cluster": cluster.name, "status": cluster.status,
                                      "version": cluster.server_version, "nodes": cluster.node_count}))


def load_facts_file(path: Path | None) -> dict[str, str]:
    """Connection facts from a JSON file; without a path, the local stack's (`python -m devstack up`)."""
    if path is None:
        path = facts_path(Context.default())
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise CommandError(f"{path} is not a JSON facts file: {exc}") from exc
