"""``make run-stack``'s setup, in one process (each ``manage.py`` start costs seconds): migrations, the
bucket and its lifecycle rule, static files, an administrator with a generated password and its API token,
and fake contacts without any account.

``seed_demo`` refuses production because its accounts have known passwords; this command creates one
administrator whose password is generated here and printed once, with the token, as a JSON line.
"""

from __future__ import annotations

import io
import json
import secrets

from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from rest_framework.authtoken.models import Token

from contacts.demo import DemoSeeder


class Command(BaseCommand):
    help = "Prepare a fresh production-like stack: migrate, storage, static files, an admin, fake contacts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--contacts", type=int, default=20, help="fake contacts to create (no account)")

    def handle(self, *args, **options) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("rgpd_setup_storage", stdout=io.StringIO())
        call_command("collectstatic", interactive=False, verbosity=0)
        password = secrets.token_urlsafe(12)
        admin = User.objects.create_superuser(options["username"], "admin@localhost", password)
        token = Token.objects.create(user=admin)
        if options["contacts"]:
            DemoSeeder(documents_per_contact=2, threads=4).run(options["contacts"])
        self.stdout.write(json.dumps({"username": admin.username, "password": password, "token": token.key}))
