import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clusters.services import cluster_check_health, cluster_register
from portal.audit.actor import Actor


class Command(BaseCommand):
    help = "Register the local control plane (from the test stack's facts) as the default cluster."

    def add_arguments(self, parser):
        parser.add_argument("--kubeconfig", help="path; default: KUBECONFIG from the local stack's facts file")
        parser.add_argument("--name", default="local")

    def handle(self, *args, kubeconfig: str | None, name: str, **options):
        if kubeconfig is None:
            from tests.stack.process import Context
            from tests.stack.registry import load_facts

            kubeconfig = load_facts(Context.default()).get("KUBECONFIG")
            if not kubeconfig:
                raise CommandError("The local cluster is not up: run `python -m tests.stack up kube` first.")
        actor = Actor.system("make-run")
        try:
            cluster = cluster_register(actor=actor, name=name, kind="local",
                                       kubeconfig=Path(kubeconfig).read_text(), make_default=True)
        except (OSError, ValidationError) as exc:
            raise CommandError(f"cannot register {kubeconfig}: {exc}") from exc
        cluster = cluster_check_health(actor=actor, cluster=cluster)
        from migrations_tool.servers import data_servers_register_local
        from tests.stack.process import Context
        from tests.stack.registry import load_facts

        servers = data_servers_register_local(actor=actor, cluster=cluster, facts=load_facts(Context.default()))
        self.stdout.write(json.dumps({"cluster": cluster.name, "status": cluster.status,
                                      "version": cluster.server_version, "nodes": cluster.node_count,
                                      "data_servers": servers}))
