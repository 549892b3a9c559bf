"""Reads of the RGPD engine, returning QuerySets.

A queryset of people may be of any declared population: its population is found from its model
(``population_of``), and the engine's rows are matched on (population key, subject id).
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import timezone

from .legal_holds.selectors import legal_holds_active
from .models import AnonymisationSubject, ExportPart, ExportRequest, ExportSubject, PendingStorageDeletion
from .permissions import populations_of
from .populations import population_of


def ready_archive_subjects(*, now: datetime | None = None) -> QuerySet[ExportSubject]:
    """Archive memberships whose part is ready and not yet expired."""
    now = now or timezone.now()
    return ExportSubject.objects.filter(part__status=ExportPart.Status.READY, part__expires_at__gt=now)


def _memberships_of_row(queryset: QuerySet, among: Collection[int] | None = None) -> QuerySet[ExportSubject]:
    """The archive memberships of the outer query's person (index export_subject_person_idx).

    ``among``: the ids the outer query is limited to, said again inside. Without it PostgreSQL may hash
    every membership of the population for each query (a cost growing with the population, paid by each
    chunk of a large anonymisation); with it, it reads only theirs."""
    key = population_of(queryset.model).key
    memberships = ExportSubject.objects.filter(population=key, subject_id=OuterRef("pk"))
    return memberships if among is None else memberships.filter(subject_id__any_of=among)


def annotate_has_ready_archive(
    queryset: QuerySet, *, now: datetime | None = None, among: Collection[int] | None = None
) -> QuerySet:
    """``has_ready_archive``: covered by a ready, unexpired archive (the seed's condition to anonymise)."""
    covered = _memberships_of_row(queryset, among).filter(
        part__status=ExportPart.Status.READY, part__expires_at__gt=now or timezone.now()
    )
    return queryset.annotate(has_ready_archive=Exists(covered))


def annotate_anonymisation_in_progress(queryset: QuerySet) -> QuerySet:
    """``anonymisation_in_progress``: anonymised, but some of its stored files are not deleted yet."""
    key = population_of(queryset.model).key
    pending = PendingStorageDeletion.objects.filter(population=key, subject_id=OuterRef("pk"))
    return queryset.annotate(anonymisation_in_progress=Exists(pending))


def annotate_legal_hold(queryset: QuerySet, *, now: datetime | None = None) -> QuerySet:
    """``has_legal_hold``: a legal hold in force today keeps the person's data (it ends on its end date)."""
    held = legal_holds_active(timezone.localdate(now)).filter(
        population=population_of(queryset.model).key, subject_id=OuterRef("pk")
    )
    return queryset.annotate(has_legal_hold=Exists(held))


def annotate_anonymisation_eligibility(
    queryset: QuerySet, *, now: datetime | None = None, among: Collection[int] | None = None
) -> QuerySet:
    """Everything that decides whether each person may be anonymised, in the same query as the list.

    ``has_ready_archive``, ``has_export_in_progress`` (a part covering it is pending or running),
    ``has_expired_archive`` (it was archived, but no ready archive remains),
    ``anonymisation_in_progress`` and ``has_legal_hold`` (a hold in force today). ``among``: the ids
    ``queryset`` is limited to, when known (see ``_memberships_of_row``).
    """
    now = now or timezone.now()
    subjects = _memberships_of_row(queryset, among)
    if "has_ready_archive" not in queryset.query.annotations:
        queryset = annotate_has_ready_archive(queryset, now=now, among=among)
    building = subjects.filter(part__status__in=[ExportPart.Status.PENDING, ExportPart.Status.RUNNING])
    # A large "select all" accepted but not yet split into parts names no one yet: until a worker has
    # recorded it (seconds), everyone of its population counts as being exported, so none is anonymised
    # in between.
    unrecorded = ExportRequest.objects.exclude(pending_selection_sql="").filter(
        population=population_of(queryset.model).key
    )
    # Read together with has_ready_archive: a ready part past its expiry, or one already purged.
    archived = subjects.filter(part__status__in=[ExportPart.Status.READY, ExportPart.Status.EXPIRED])
    return annotate_anonymisation_in_progress(annotate_legal_hold(queryset, now=now)).annotate(
        has_export_in_progress=ExpressionWrapper(
            Q(Exists(building)) | Q(Exists(unrecorded)), output_field=BooleanField()
        ),
        has_expired_archive=Exists(archived),
    )


# --- Export requests: status and progress, derived from their parts ---------------------------------


@dataclass(frozen=True)
class ExportProgress:
    """Where an export request stands; computed from its parts' statuses."""

    total: int
    pending: int
    running: int
    ready: int
    failed: int
    expired: int
    with_warnings: int
    expires_at: datetime | None

    @property
    def done(self) -> int:
        return self.ready + self.failed + self.expired

    @property
    def is_done(self) -> bool:
        return self.total > 0 and self.pending == 0 and self.running == 0

    @property
    def percent(self) -> int:
        return 0 if not self.total else round(100 * self.done / self.total)  # no parts yet: being recorded

    @property
    def status(self) -> str:
        Status = ExportRequest.Status  # noqa: N806
        if not self.is_done:
            return Status.PENDING if self.running == 0 and self.done == 0 else Status.RUNNING
        if self.expired:
            return Status.EXPIRED
        if self.failed == self.total:
            return Status.FAILED
        if self.failed:
            return Status.PARTIALLY_FAILED
        return Status.READY_WITH_WARNINGS if self.with_warnings else Status.READY

    @property
    def status_label(self) -> str:
        return str(ExportRequest.Status(self.status).label)


_PROGRESS_COUNTS = {
    "parts_pending": ExportPart.Status.PENDING,
    "parts_running": ExportPart.Status.RUNNING,
    "parts_ready": ExportPart.Status.READY,
    "parts_failed": ExportPart.Status.FAILED,
    "parts_expired": ExportPart.Status.EXPIRED,
}


def export_requests_with_progress(queryset: QuerySet[ExportRequest] | None = None) -> QuerySet[ExportRequest]:
    """Export requests annotated with their parts' counts per status and their earliest expiry."""
    queryset = ExportRequest.objects.all() if queryset is None else queryset
    return queryset.annotate(
        parts_total=Count("parts"),
        parts_with_warnings=Count(
            "parts", filter=Q(parts__status=ExportPart.Status.READY, parts__has_warnings=True)
        ),
        parts_expires_at=Min("parts__expires_at", filter=Q(parts__status=ExportPart.Status.READY)),
        **{name: Count("parts", filter=Q(parts__status=status)) for name, status in _PROGRESS_COUNTS.items()},
    )


def export_requests_visible_to(user: Any) -> QuerySet[ExportRequest]:
    """The export requests a user may see: those of the populations whose right the user holds."""
    keys = [population.key for population in populations_of(user)]
    return ExportRequest.objects.filter(population__in=keys) if keys else ExportRequest.objects.none()


class _PartsAnnotations(Protocol):
    """What ``export_requests_with_progress`` adds to each request."""

    parts_total: int
    parts_pending: int
    parts_running: int
    parts_ready: int
    parts_failed: int
    parts_expired: int
    parts_with_warnings: int
    parts_expires_at: datetime | None


def export_request_progress(export_request: ExportRequest) -> ExportProgress:
    """The progress of one request (from ``export_requests_with_progress`` annotations when present)."""
    if not hasattr(export_request, "parts_total"):
        export_request = export_requests_with_progress(
            ExportRequest.objects.filter(pk=export_request.pk)
        ).get()
    counts = cast(_PartsAnnotations, export_request)
    return ExportProgress(
        total=counts.parts_total,
        pending=counts.parts_pending,
        running=counts.parts_running,
        ready=counts.parts_ready,
        failed=counts.parts_failed,
        expired=counts.parts_expired,
        with_warnings=counts.parts_with_warnings,
        expires_at=counts.parts_expires_at,
    )


def subjects_with_files_pending(population_key: str, subject_ids: Any) -> QuerySet:
    """Which of ``subject_ids`` (ids, or a query of ids) of a population still have stored files being
    deleted ("anonymisation en cours"): a query of distinct ids."""
    return (
        PendingStorageDeletion.objects.filter(population=population_key, subject_id__in=subject_ids)
        .order_by()
        .values_list("subject_id", flat=True)
        .distinct()
    )


# --- Chained steps: the people of one step, for the next --------------------------------------------


def export_request_subject_ids(request_id: int) -> QuerySet:
    """The ids of the people an export request holds (its parts' rows), as a subquery."""
    return ExportSubject.objects.filter(part__request_id=request_id).values("subject_id")


# Skipped for want of a ready archive: exporting them is what lets them be anonymised.
EXPORTABLE_SKIP_REASONS = ("not_exported", "archive_expired")


def skipped_to_export(anonymisation_request_id: int) -> QuerySet:
    """The ids of the people an anonymisation skipped because no ready archive held them, as a subquery."""
    return AnonymisationSubject.objects.filter(
        request_id=anonymisation_request_id,
        result=AnonymisationSubject.Result.SKIPPED,
        reason__in=EXPORTABLE_SKIP_REASONS,
        subject_id__isnull=False,
    ).values("subject_id")


# --- The RGPD page's status columns and filters --------------------------------------------------


def annotate_export_status(queryset: QuerySet, *, now: datetime | None = None) -> QuerySet:
    """``last_export_at`` (the latest export holding the person) and ``ready_until`` (the latest expiry of
    a ready archive holding them), each one index lookup per row shown, in the list's own query."""
    now = now or timezone.now()
    memberships = _memberships_of_row(queryset)
    latest = memberships.order_by("-part").values("part__request__created_at")[:1]
    ready = memberships.filter(part__status=ExportPart.Status.READY, part__expires_at__gt=now)
    return queryset.annotate(
        last_export_at=Subquery(latest),
        ready_until=Subquery(ready.order_by("-part__expires_at").values("part__expires_at")[:1]),
    )


def with_archive_state(queryset: QuerySet, state: str, *, now: datetime | None = None) -> QuerySet:
    """The people whose archive is ``ready`` (ready, unexpired), ``expired`` (archived, none ready now) or
    who were ``never`` exported."""
    now = now or timezone.now()
    memberships = _memberships_of_row(queryset)
    ready = Exists(memberships.filter(part__status=ExportPart.Status.READY, part__expires_at__gt=now))
    if state == "ready":
        return queryset.filter(ready)
    if state == "expired":
        archived = memberships.filter(part__status__in=[ExportPart.Status.READY, ExportPart.Status.EXPIRED])
        return queryset.filter(Exists(archived)).exclude(ready)
    if state == "never":
        return queryset.exclude(Exists(memberships))
    return queryset
