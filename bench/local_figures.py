"""Figure 4 on local storage: a bulk anonymisation in one process beside its floor, measured in the same run.

The embedded stack keeps files on the local disk (``FileSystemStorage``): there the storage costs little
and the anonymisation's own work (locks, checks, audit, outbox) shows. The figure's storage is a temporary
directory swapped in for ``STORAGES["default"]`` while it runs (the workers are paused: they use S3).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from bench.support import Sample, log


@contextlib.contextmanager
def local_storage():
    """``STORAGES["default"]`` on a temporary directory, removed afterwards."""
    from django.conf import settings
    from django.test.utils import override_settings

    # On a RAM disk when the machine has one: the figure measures the engine against its floor, and a
    # disk that discards each removed file's blocks (0.3 ms per unlink on a discard-mounted ext4) would
    # make both the floor and the files phase its own cost, hiding the engine's.
    ram = Path("/dev/shm")
    root = tempfile.mkdtemp(prefix="gdpr-bench-local-", dir=ram if os.access(ram, os.W_OK) else None)
    local = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": root}}
    try:
        with override_settings(STORAGES={**settings.STORAGES, "default": local}):
            yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def anonymise_in_process(contact_ids: list[int], *, actor) -> dict:
    """Anonymise ``contact_ids`` through ``anonymisation_request_create`` in this process (processed at
    once, as with eager tasks), then delete their files as the worker does: until none is left to delete."""
    from django.test.utils import override_settings

    from rgpd.models import AnonymisationRequest, PendingStorageDeletion
    from rgpd.services.anonymisation import anonymisation_request_create, pending_deletions_process

    started = time.perf_counter()
    with override_settings(RGPD_ANONYMISATION_INLINE_MAX=len(contact_ids)):
        request = anonymisation_request_create(
            population="contacts",
            subject_ids=contact_ids,
            actor=actor,
            confirmed=True,
            source=AnonymisationRequest.Source.API,
        )
    rows_done = time.perf_counter()
    while pending_deletions_process().deleted:
        pass
    finished = time.perf_counter()
    left = PendingStorageDeletion.objects.count()
    if request.anonymised_count != len(contact_ids) or left:
        raise RuntimeError(f"local anonymisation: {request.anonymised_count} anonymised, {left} files left")
    return {
        "seconds": finished - started,
        "seconds_rows": rows_done - started,
        "seconds_files": finished - rows_done,
    }


class LocalFigures:
    """Methods of :class:`bench.run.Bench` (its scale, workers and results)."""

    def local_figures(self) -> None:
        from bench import data, measure
        from contacts.models import Document

        people = self.scale.anonymisation_people
        runs = []
        with self.paused(), local_storage():
            for run in range(self.scale.runs):
                log(f"local storage: anonymisation of {people} contacts, run {run + 1}/{self.scale.runs}")
                # Not self.seed: figure 7 is seed_demo's rate on S3.
                ids, seeded = data.seed_demo(people, seed=random.randrange(10**6))
                twin, _seconds = data.seed_demo(people, seed=random.randrange(10**6))
                log(f"  seeded 2 × {people} contacts on local storage ({seeded:.1f} s for the first)")
                data.mark_exported(ids, actor=self.user, part_size=self.part_size)
                data.vacuum_analyze()  # statistics of a live database; no autovacuum during the measure
                objects = Document.objects.filter(contact_id__in=ids).count()
                with measure.profiled(self.profile_path(f"anonymise-local-{run + 1}")):
                    done = anonymise_in_process(ids, actor=self.user)
                floor = data.anonymisation_floor(twin)
                done.update(floor=floor, ratio=done["seconds"] / floor["seconds"], documents=objects)
                runs.append(done)
                log(
                    f"  {done['seconds']:.1f} s ({done['seconds_rows']:.1f} rows, "
                    f"{done['seconds_files']:.1f} files), floor {floor['seconds']:.2f} s: "
                    f"{done['ratio']:.1f}×"
                )
        self.results["local_anonymisation"] = {
            "people": people,
            "runs": runs,
            "seconds": Sample([r["seconds"] for r in runs]).as_dict(),
            "floor_seconds": Sample([r["floor"]["seconds"] for r in runs]).as_dict(),
            "ratio": Sample([r["ratio"] for r in runs]).as_dict(),
        }
