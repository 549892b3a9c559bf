"""Prepare the archives' storage: bucket (if missing) and its lifecycle rule, the purge's safety net."""

from django.conf import settings
from django.core.management.base import BaseCommand

from rgpd.storage import setup_archive_bucket


class Command(BaseCommand):
    help = (
        "Create the archives' bucket if missing and install the lifecycle rule on the archives' prefix "
        "(expire after the retention + 1 day, abort incomplete multipart uploads after 1 day). "
        "On local storage, create the archives' directory."
    )

    def handle(self, *args, **options):
        for line in setup_archive_bucket(retention_days=settings.RGPD_ARCHIVE_RETENTION_DAYS):
            self.stdout.write(f"rgpd_setup_storage: {line}")
