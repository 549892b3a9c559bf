"""The workers' state shown to administrators: are the periodic sweeps running, is work piling up?

Read from the database only (a few aggregate queries), so the web process answers even when the broker
is down. Each periodic task records its last run on the worker that ran it (``periodic_run_record``,
called from a Celery signal in ``rgpd.tasks.periodic``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from celery.schedules import BaseSchedule, maybe_schedule
from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone

from ..models import AnonymisationRequest, ExportPart, ExportRequest, PendingStorageDeletion, PeriodicTaskRun

# A run this much later than its schedule says is shown as late (beat or every worker is down).
LATE_GRACE = timedelta(minutes=2)


def periodic_task_names() -> set[str]:
    """The tasks celery beat sends (``CELERY_BEAT_SCHEDULE``)."""
    return {str(entry["task"]) for entry in settings.CELERY_BEAT_SCHEDULE.values()}


def periodic_run_record(*, task: str, succeeded: bool, now: datetime | None = None) -> None:
    PeriodicTaskRun.objects.update_or_create(
        task=task, defaults={"last_run_at": now or timezone.now(), "succeeded": succeeded}
    )


@dataclass(frozen=True)
class PeriodicRun:
    task: str
    last_run_at: datetime | None
    succeeded: bool
    late: bool  # overdue by more than LATE_GRACE (one that never ran is not: the stack may have just started)


@dataclass(frozen=True)
class WorkersState:
    periodic_runs: list[PeriodicRun]
    oldest_pending_part_at: datetime | None
    pending_part_count: int
    running_part_count: int
    failed_part_count: int
    unfinished_anonymisation_count: int
    awaiting_broker_count: int
    pending_deletion_count: int

    @property
    def healthy(self) -> bool:
        return not any(run.late or not run.succeeded for run in self.periodic_runs)


def _is_late(entry: dict, last_run_at: datetime | None) -> bool:
    if last_run_at is None:
        return False
    from gdpr_portal.celery import app  # noqa: PLC0415 - the Celery app imports Django's settings

    schedule = maybe_schedule(entry["schedule"], app=app)
    assert isinstance(schedule, BaseSchedule)  # a number of seconds or a timedelta becomes a schedule
    # Negative when the next run after ``last_run_at`` is already past.
    remaining = schedule.remaining_estimate(last_run_at)
    return remaining < -LATE_GRACE


def workers_state() -> WorkersState:
    recorded = {run.task: run for run in PeriodicTaskRun.objects.all()}
    runs = []
    entries: list[dict] = list(settings.CELERY_BEAT_SCHEDULE.values())
    for entry in sorted(entries, key=lambda entry: entry["task"]):
        run = recorded.get(entry["task"])
        last_run_at = run.last_run_at if run else None
        runs.append(
            PeriodicRun(
                task=entry["task"],
                last_run_at=last_run_at,
                succeeded=run.succeeded if run else True,
                late=_is_late(entry, last_run_at),
            )
        )
    Status = ExportPart.Status
    parts = ExportPart.objects.aggregate(
        oldest_pending=Min("created_at", filter=Q(status=Status.PENDING)),
        pending=Count("pk", filter=Q(status=Status.PENDING)),
        running=Count("pk", filter=Q(status=Status.RUNNING)),
        failed=Count("pk", filter=Q(status=Status.FAILED)),
    )
    unfinished = AnonymisationRequest.objects.exclude(status=AnonymisationRequest.Status.DONE)
    awaiting = (
        ExportRequest.objects.filter(awaiting_broker=True).count()
        + AnonymisationRequest.objects.filter(awaiting_broker=True).count()
    )
    return WorkersState(
        periodic_runs=runs,
        oldest_pending_part_at=parts["oldest_pending"],
        pending_part_count=parts["pending"],
        running_part_count=parts["running"],
        failed_part_count=parts["failed"],
        unfinished_anonymisation_count=unfinished.count(),
        awaiting_broker_count=awaiting,
        pending_deletion_count=PendingStorageDeletion.objects.count(),
    )
