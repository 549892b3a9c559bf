"""After a database restore: anonymise again everyone a tombstone says was anonymised after the dump.

A person is done again when a tombstone is newer than their row: not anonymised, or anonymised earlier.
Through the same ``subjects_anonymise`` (no second copy of the scrubbing), with no eligibility rule
(their archive was made before the first anonymisation), then the files a restored storage brought
back are deleted. A second run finds every row at least as recent as its tombstone: it changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ...models import AuditEvent
from ...populations import population
from ..audit import audit_event
from .core import subjects_anonymise
from .deletions import pending_deletions_process
from .eligibility import ANONYMISED_AT_FIELD
from .tombstones import tombstones_read

REPLAY_BATCH = 500


@dataclass
class PopulationReplay:
    tombstoned: int = 0  # people named by a tombstone
    reapplied: list[int] = field(default_factory=list)  # anonymised again
    refused: list[int] = field(default_factory=list)  # the check failed or an error: nothing changed
    absent: int = 0  # no row (the dump predates them): nothing to do
    files_deleted: int = 0
    files_failed: int = 0


def _stale(population_key: str, dates: dict[int, datetime]) -> list[int]:
    """The ids whose row is older than its tombstone (not anonymised, or anonymised before it)."""
    model = population(population_key).model
    stale: list[int] = []
    ids = sorted(dates)
    for start in range(0, len(ids), 5000):
        rows = model._default_manager.filter(pk__in=ids[start : start + 5000]).values_list(
            "pk", ANONYMISED_AT_FIELD
        )
        stale.extend(pk for pk, at in rows if at is None or at < dates[pk])
    return sorted(stale)


def _present(population_key: str, ids: list[int]) -> int:
    return population(population_key).model._default_manager.filter(pk__in=ids).count()


def anonymisations_reapply(*, actor=None) -> dict[str, PopulationReplay]:
    """Re-anonymise every person whose tombstone is newer than their row; report per population (ids only)."""
    report: dict[str, PopulationReplay] = {}
    for population_key, dates in sorted(tombstones_read().items()):
        result = report[population_key] = PopulationReplay(tombstoned=len(dates))
        result.absent = len(dates) - _present(population_key, sorted(dates))
        stale = _stale(population_key, dates)
        for start in range(0, len(stale), REPLAY_BATCH):
            batch = stale[start : start + REPLAY_BATCH]
            outcome = _reapply_batch(population_key, batch, actor)
            result.reapplied.extend(sorted(outcome[0]))
            result.refused.extend(sorted(outcome[1]))
        if result.reapplied:
            deletions = pending_deletions_process(people=(population_key, result.reapplied))
            result.files_deleted, result.files_failed = deletions.deleted, deletions.failed
            AuditEvent.objects.bulk_create(
                [
                    audit_event(
                        action=AuditEvent.Action.ANONYMISED,
                        actor=actor,
                        subject_ids=result.reapplied,
                        counts={"files": result.files_deleted, "refused": len(result.refused)},
                        details={"replay": True, "population": population_key},
                    )
                ]
            )
    return report


def _reapply_batch(population_key: str, ids: list[int], actor) -> tuple[list[int], list[int]]:
    """One set through the engine; on a failure, each person alone (each stays all or nothing)."""
    try:
        outcome = subjects_anonymise(population=population_key, subject_ids=ids, actor=actor, replay=True)
        return list(outcome.anonymised), list(outcome.refused)
    except Exception:
        if len(ids) == 1:
            return [], ids
        done: list[int] = []
        refused: list[int] = []
        for pk in ids:
            one_done, one_refused = _reapply_batch(population_key, [pk], actor)
            done += one_done
            refused += one_refused
        return done, refused
