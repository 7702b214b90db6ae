import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clusters.management.commands.register_local_cluster import load_facts_file
from clusters.models import Cluster
from migrations_tool.servers import data_servers_register_local
from portal.audit.actor import Actor


class Command(BaseCommand):
    help = "Make the local MariaDB, Redis and S3 servers named in a facts file a cluster's shared data servers."

    def add_arguments(self, parser):
        parser.add_argument("--cluster", default="local")
        parser.add_argument("--facts", type=Path, help="JSON facts file (MARIADB_URL, REDIS_URL, AWS_ENDPOINT_URL…); "
                                                       "default: the test stack's")

    def handle(self, *args, cluster: str, facts: Path | None, **options):
        try:
            target = Cluster.objects.exclude(status=Cluster.DESTROYED).get(name=cluster)
        except Cluster.DoesNotExist as exc:
            raise CommandError(f"There is no cluster {cluster!r}: register it first (register_local_cluster).") from exc
        kinds = data_servers_register_local(actor=Actor.system("make-run"), cluster=target,
                                            facts=load_facts_file(facts))
        # Only what answered is registered and named: nothing printed claims a server that is not there.
        self.stdout.write(json.dumps({"cluster": target.name, "data_servers": kinds}))
