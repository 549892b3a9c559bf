"""Fill the back office with French demo contacts, their photos and documents, and the demo accounts."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from contacts.demo import DemoSeeder, ensure_demo_accounts
from staff.demo import ensure_demo_employees


class Command(BaseCommand):
    help = (
        "Create demo contacts (Faker fr_FR) with photos and small PDF documents stored through the "
        "default storage, and the demo accounts (created once, never duplicated)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--contacts", type=int, default=200, help="number of contacts to create")
        parser.add_argument(
            "--documents-per-contact", type=int, default=3, help="documents attached to each contact"
        )
        parser.add_argument(
            "--photo-ratio", type=float, default=0.8, help="share of contacts with a photo (0 to 1)"
        )
        parser.add_argument(
            "--employees", type=int, default=6, help="demo employees (profiles, HR documents) to create"
        )
        parser.add_argument("--seed", type=int, default=None, help="random seed, for repeatable data")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--threads", type=int, default=8, help="parallel storage writes")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args, **options) -> None:
        if settings.PRODUCTION:
            # The demo accounts have known passwords (admin/admin): never in production.
            raise CommandError(
                "seed_demo creates demo accounts with known passwords (admin/admin) and fake contacts: "
                "it refuses to run with PRODUCTION=true. Nothing was created."
            )
        started = time.monotonic()
        accounts = ensure_demo_accounts()
        admin_user = User.objects.get(username=accounts[0][0].username)
        seeder = DemoSeeder(
            documents_per_contact=options["documents_per_contact"],
            photo_ratio=options["photo_ratio"],
            seed=options["seed"],
            batch_size=options["batch_size"],
            threads=options["threads"],
            uploaded_by=admin_user,
        )
        total = options["contacts"]
        with tqdm(
            total=total,
            unit=" contacts",
            desc="seed_demo",
            disable=options["no_progress"] or options["verbosity"] == 0,
        ) as bar:
            result = seeder.run(total, progress=bar.update)
        employees = ensure_demo_employees(options["employees"], seed=options["seed"], uploaded_by=admin_user)
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {result.contacts} contacts, {result.documents} documents and "
                f"{result.photos} photos, and {employees} employees with their HR documents, "
                f"in {elapsed:.1f} s."
            )
        )
        self.stdout.write("Demo accounts (login / password):")
        for account, created in accounts:
            note = "" if created else " (already existed, password unchanged)"
            self.stdout.write(f"  {account.username} / {account.password}  — {account.role}{note}")
