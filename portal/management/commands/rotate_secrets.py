from django.core.management.base import BaseCommand
from django.db import transaction

from portal import crypto
from portal.audit.actor import Actor
from portal.audit.services import audit_record


class Command(BaseCommand):
    help = ("Re-encrypt every stored secret with the first key of SLIPWAY_ENCRYPTION_KEYS "
            "(run after putting a new key first; then old keys can be removed). --new-key prints a fresh key.")

    def add_arguments(self, parser):
        parser.add_argument("--new-key", action="store_true", help="print a new Fernet key and exit")

    def handle(self, *args, new_key: bool, **options):
        if new_key:
            self.stdout.write(crypto.generate_key())
            return
        total = 0
        for model, field in crypto.encrypted_fields():
            with transaction.atomic():
                # Loading decrypts with any configured key; saving encrypts with the primary one.
                for pk, value in model.objects.exclude(**{field: None}).values_list("pk", field).iterator():
                    if value:
                        model.objects.filter(pk=pk).update(**{field: value})
                        total += 1
        # Every stored secret was rewritten: the trail says when and how many (never a value).
        audit_record(actor=Actor.system("rotate-secrets"), action="secrets.rotate", details={"re_encrypted": total})
        self.stdout.write(f"re-encrypted {total} secret(s) with the primary key")
