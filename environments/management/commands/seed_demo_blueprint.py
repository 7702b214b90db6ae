from django.core.management.base import BaseCommand
from django.db import transaction

from environments.models import Blueprint, Component, ImageVersion
from portal.audit.actor import Actor
from portal.audit.services import audit_record

DEMO = {
    "web": ("registry.example.com/shop/web", 8080, "/", ["1.4.2", "1.5.0", "1.6.0-rc1"]),
    "api": ("registry.example.com/shop/api", 8000, "/api", ["2.0.1", "2.1.0"]),
    "worker": ("registry.example.com/shop/worker", None, None, ["2.0.1", "2.1.0"]),
}


class Command(BaseCommand):
    help = "Create the demo 'shop' blueprint with three components and a few versions (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        components = []
        for name, (image, port, path, tags) in DEMO.items():
            component, _ = Component.objects.get_or_create(
                name=name, defaults={"image_repository": image, "container_port": port, "ingress_path": path,
                                     "default_env": {"LOG_LEVEL": "info"}})
            for tag in tags:
                ImageVersion.objects.get_or_create(component=component, tag=tag)
            components.append(component)
        blueprint, created = Blueprint.objects.get_or_create(
            name="shop", version=1,
            defaults={"description": "Web shop: web front end, API and worker, with MariaDB and Redis.",
                      "backing_services": [{"kind": "mariadb", "name": "db", "version": "11.4"},
                                           {"kind": "redis", "name": "cache", "version": "7.2"}],
                      "stage_overrides": {"prod": {"web": {"replicas": 3, "autoscaling_min": 3, "autoscaling_max": 10},
                                                   "api": {"replicas": 2}}}})
        if created:
            blueprint.components.set(components)
            audit_record(actor=Actor.system("seed-demo"), action="blueprint.create", obj=blueprint,
                         details={"via": "seed_demo_blueprint", "components": sorted(DEMO)})
            self.stdout.write("demo blueprint 'shop' created")
