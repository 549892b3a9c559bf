"""After a database restore: anonymise again the people the tombstones say were anonymised."""

from django.core.management.base import BaseCommand

from rgpd.services.anonymisation.replay import anonymisations_reapply
from rgpd.services.anonymisation.tombstones import tombstones_flush


class Command(BaseCommand):
    help = (
        "Read the anonymisation tombstones (storage, tombstones/ prefix) and anonymise again every person "
        "whose row is older than their tombstone, deleting the files a restored storage brought back. "
        "Prints counts per population (ids only). Running it twice changes nothing the second time."
    )

    def handle(self, *args, **options):
        tombstones_flush()  # tombstones still owed by this database are written (and read) first
        for key, result in anonymisations_reapply().items():
            self.stdout.write(
                f"rgpd_reapply_anonymisations: {key}: {result.tombstoned} tombstoned, "
                f"{len(result.reapplied)} anonymised again, {len(result.refused)} refused, "
                f"{result.absent} absent, {result.files_deleted} files deleted, "
                f"{result.files_failed} to retry"
            )
            if result.reapplied:
                self.stdout.write(f"rgpd_reapply_anonymisations: {key}: ids {result.reapplied}")
            if result.refused:
                self.stderr.write(f"rgpd_reapply_anonymisations: {key}: refused ids {result.refused}")
