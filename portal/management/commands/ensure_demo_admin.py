import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from portal.accounts.models import Team
from portal.accounts.roles import PLATFORM_ADMINS
from portal.audit.actor import Actor
from portal.audit.services import audit_record


class Command(BaseCommand):
    help = "Create a demo Platform admin when the database has no users, and print its password once."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username: str, **options):
        User = get_user_model()
        if User.objects.exists():
            return
        password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username=username, email=f"{username}@example.invalid", password=password)
        user.groups.add(Group.objects.get(name=PLATFORM_ADMINS))
        team, _ = Team.objects.get_or_create(slug="platform", defaults={"name": "Platform"})
        team.members.add(user)
        audit_record(actor=Actor.system("make-run"), action="user.create_demo_admin", obj=user,
                     details={"username": username, "roles": [PLATFORM_ADMINS], "team": team.slug})
        self.stdout.write(self.style.WARNING(
            f"\n  Demo admin created (shown only this once):\n    username: {username}\n    password: {password}\n"))
