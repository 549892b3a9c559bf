"""A worker's claim on an export part: a lease kept alive by heartbeats, lost when another claim takes it.

Shared by the part's life (``parts``: claim, complete, fail) and the archive build (``building``: it beats
while it writes), so neither imports the other for it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from ...models import ExportPart


class LeaseLost(Exception):
    """Another claim took the part over (this worker was presumed dead): stop without touching it."""


def lease_seconds() -> int:
    return settings.RGPD_EXPORT_LEASE_SECONDS


@dataclass
class Lease:
    """This worker's claim on a part: number ``attempt``, kept alive by heartbeats."""

    part_id: int
    attempt: int
    last_beat: float = field(default_factory=time.monotonic)

    def _mine(self) -> QuerySet[ExportPart]:
        return ExportPart.objects.filter(
            pk=self.part_id, status=ExportPart.Status.RUNNING, attempts=self.attempt
        )

    def beat(self, *, force: bool = False, **changes) -> None:
        """Renew the lease (at most every third of it unless forced); raise LeaseLost if it was taken."""
        if not (force or changes) and time.monotonic() - self.last_beat < lease_seconds() / 3:
            return
        if self._mine().update(heartbeat_at=timezone.now(), **changes) != 1:
            raise LeaseLost(self.part_id)
        self.last_beat = time.monotonic()

    def record_upload(self, upload_id: str) -> None:
        self.beat(upload_id=upload_id)

    def held(self) -> bool:
        return self._mine().exists()
