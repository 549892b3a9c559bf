"""Creating an export request: its people recorded into parts, its audit row, its tasks sent."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, InterfaceError, connection, transaction
from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import get_language, get_supported_language_variant
from django.utils.translation import gettext_lazy as _

from gdpr_portal.ids import ids_summary

from ...models import SELECTION_LABEL_MAX, AuditEvent, ExportPart, ExportRequest, ExportSubject
from ...populations import Population, resolve_population
from .. import dispatch
from ..audit import AUDIT_SUBJECT_IDS_MAX, audit_record
from ..confirmation import confirmed_before, create_once
from ..selection import compiled, existing_ids, insert_rows, insert_select, selected_ids, selection_for_worker

logger = logging.getLogger(__name__)

ID_CHECK_BATCH = 10000  # ids per existence query


class UnknownSubjectsError(ValidationError):
    """Some asked-for ids name nobody of the population; ``ids`` names them."""

    def __init__(self, ids: list[int]):
        self.ids = ids
        super().__init__(
            _("Unknown contact ids: %(ids)s."), code="unknown_contacts", params={"ids": ids_summary(ids)}
        )


def request_language(language: str | None) -> str:
    try:
        return get_supported_language_variant(language or get_language() or settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


def export_request_enqueue_parts(*, request_id: int) -> int:
    """Send one build task per part of the request still pending; return how many (the fan-out task)."""
    return dispatch.export_pending_parts(request_id)


# --- Creating a request -----------------------------------------------------------------------------
def _checked_ids(population: Population, subject_ids: Iterable[int]) -> list[int]:
    try:
        ids = sorted({int(i) for i in subject_ids})
    except (TypeError, ValueError) as exc:
        raise ValidationError(_("Contact ids must be integers."), code="invalid") from exc
    found = existing_ids(population.model, ids, per_query=ID_CHECK_BATCH)
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise UnknownSubjectsError(unknown)
    return ids


def _parts_create(export_request: ExportRequest, count: int, part_size: int) -> list[ExportPart]:
    """The request's parts for ``count`` people, in one INSERT: all full but the last."""
    parts = [
        ExportPart(
            request=export_request,
            number=number,
            subject_count=min(part_size, count - (number - 1) * part_size),
        )
        for number in range(1, -(-count // part_size) + 1)
    ]
    parts = ExportPart.objects.bulk_create(parts)
    if parts[0].pk is None:  # a backend that does not return the ids of a bulk INSERT
        parts = list(ExportPart.objects.filter(request=export_request).order_by("number"))
    return parts


def _subjects_insert_selection(
    export_request: ExportRequest, selection: tuple[str, list], part_size: int
) -> int:
    """Put every selected person into its part with one INSERT … SELECT; return the rows inserted.

    The n-th contact by id (``ROW_NUMBER() OVER (ORDER BY id)``) goes to part ``(n - 1) / part_size + 1``,
    joined on the request's part numbers: nothing is read into Python. Valid on PostgreSQL and SQLite
    (integer division, window functions). A contact numbered beyond the last part (the selection grew
    since it was counted) matches no part and is left out.
    """
    quote = connection.ops.quote_name
    part = ExportPart._meta
    selection_sql, selection_params = selection
    select = (
        f"SELECT p.{quote(part.pk.column)}, %s, s.subject_id "  # noqa: S608
        "FROM (SELECT q.selected_id AS subject_id, ROW_NUMBER() OVER (ORDER BY q.selected_id) AS n "
        f"FROM ({selection_sql}) q) s "
        f"INNER JOIN {quote(part.db_table)} p ON p.{quote(part.get_field('request').column)} = %s "
        f"AND p.{quote(part.get_field('number').column)} = (s.n - 1) / %s + 1"
    )
    return insert_select(
        ExportSubject,
        ("part", "population", "subject_id"),
        select,
        [export_request.population, *selection_params, export_request.pk, part_size],
    )


def _subjects_insert_ids(population: str, parts: list[ExportPart], ids: list[int], part_size: int) -> int:
    """Put the validated ``ids`` (sorted) into their parts: ``part_size`` ids per part, in bulk INSERTs."""
    rows = (
        ExportSubject(part_id=parts[index // part_size].pk, population=population, subject_id=pk)
        for index, pk in enumerate(ids)
    )
    insert_rows(ExportSubject, rows)
    return len(ids)


def _parts_recount(export_request: ExportRequest) -> tuple[int, int]:
    """Set each part's count from its rows, drop the parts left empty; return (people, parts).

    Needed only when the selection changed between its count and the insert: the rows are numbered
    densely, so the parts left empty are the last ones and the numbers stay 1..N.
    """
    parts = ExportPart.objects.filter(request=export_request)
    rows = ExportSubject.objects.filter(part=OuterRef("pk")).order_by().values("part")
    parts.update(subject_count=Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")[:1]), 0))
    parts.filter(subject_count=0).delete()
    totals = parts.aggregate(people=Sum("subject_count"), parts=Count("pk"))
    return totals["people"] or 0, totals["parts"]


@transaction.atomic
def export_request_create(
    *,
    actor,
    language: str | None = None,
    population: Population | str | None = None,
    subject_ids: Iterable[int] | None = None,
    queryset: QuerySet | None = None,
    confirmation_token: str = "",
    selection_label: str = "",
) -> ExportRequest:
    """Record an export of the given people (ids of ``population``, or a queryset of a population's
    model, such as an admin selection).

    Set-based, whatever the size: the selection is counted once, its parts (at most
    ``RGPD_EXPORT_PART_SIZE`` people each, people in id order) are created with one INSERT, and a
    queryset's people are put into them with one ``INSERT … SELECT`` (ids given by the caller are
    validated and inserted in bulk). The tasks are enqueued after commit. Raises
    ``UnknownSubjectsError`` for ids that do not exist, ``ValidationError`` for an empty selection.
    A ``confirmation_token`` (the confirmation page's) makes it idempotent: the same confirmation
    sent twice, even at the same moment, returns the request of the first. ``selection_label`` says how
    the people were chosen (the RGPD page's search and filters of a "select all"), shown on its page.
    """
    if (subject_ids is None) == (queryset is None):
        raise TypeError("Give exactly one of subject_ids or queryset.")
    people = resolve_population(population, queryset)
    # Sent again (back and confirm): the first send's request, even if the selection changed since.
    already = confirmed_before(ExportRequest, confirmation_token)
    if already is not None:
        return already
    ids: list[int] | None = None
    if subject_ids is not None:
        ids = _checked_ids(people, subject_ids)
        selection = None
        count = len(ids)
    else:
        selection = selected_ids(queryset)  # type: ignore[arg-type] # one of the two is given
        count = selection.count()
    if not count:
        raise ValidationError(_("Select at least one contact to export."), code="empty")

    export_request, created = create_once(
        ExportRequest,
        confirmation_token,
        requested_by=actor if actor is not None and actor.is_authenticated else None,
        population=people.key,
        language=request_language(language),
        selection_label=selection_label[:SELECTION_LABEL_MAX],
    )
    if not created:
        return export_request
    if selection is not None and count > inline_max():
        deferred = selection_for_worker(people.model, selection)
        if deferred is not None:
            return _request_defer(export_request, deferred, count=count, actor=actor)
    recorded = _subjects_record(
        export_request, count=count, ids=ids, selection=None if selection is None else compiled(selection)
    )
    # The audit row lists at most AUDIT_SUBJECT_IDS_MAX people (see audit.py); each part's own rows
    # (ready, failed, downloaded, purged) list that part's people.
    listed = (
        ids if ids is not None and recorded.exact else _first_subject_ids(export_request, recorded.part_size)
    )
    audit_record(
        action=AuditEvent.Action.EXPORT_REQUESTED,
        actor=actor,
        subject_ids=listed,
        export_request=export_request,
        counts={"subjects": export_request.subject_count, "parts": export_request.part_count},
        whole_request=True,
    )
    dispatch.send_after_commit(
        export_request, partial(dispatch.export_request, export_request.pk, export_request.part_count)
    )
    logger.info(
        "rgpd: export request %s created: %s people in %s part(s)",
        export_request.pk,
        export_request.subject_count,
        export_request.part_count,
    )
    return export_request


@dataclass
class _Recorded:
    part_size: int
    exact: bool  # every counted person was recorded (the selection did not change meanwhile)


def _subjects_record(
    export_request: ExportRequest, *, count: int, ids: list[int] | None, selection: tuple[str, list] | None
) -> _Recorded:
    """Create the request's parts and put its people into them; set its counts (in the database too)."""
    part_size = settings.RGPD_EXPORT_PART_SIZE
    parts = _parts_create(export_request, count, part_size)
    if ids is not None:
        inserted = _subjects_insert_ids(export_request.population, parts, ids, part_size)
    else:
        assert selection is not None  # the caller gives the ids or the selection
        inserted = _subjects_insert_selection(export_request, selection, part_size)
    subject_count, part_count = count, len(parts)
    if inserted != count:
        # The selection changed since it was counted: the parts say what they really hold.
        subject_count, part_count = _parts_recount(export_request)
        if not subject_count:
            raise ValidationError(_("Select at least one contact to export."), code="empty")
    ExportRequest.objects.filter(pk=export_request.pk).update(
        subject_count=subject_count,
        part_count=part_count,
        pending_selection_sql="",
        pending_selection_params=[],
    )
    export_request.subject_count, export_request.part_count = subject_count, part_count
    return _Recorded(part_size=part_size, exact=inserted == count)


# --- A large selection, recorded by a worker ---------------------------------------------------------
# Writing a million ExportSubject rows takes the database about 25 s (the rows, their indexes and their
# foreign-key checks): longer than a web request may last. Above RGPD_EXPORT_INLINE_MAX people, the web
# request stores the selection's SQL (bounded by the highest person id at confirmation, so that
# people created later are not included) and one message; a worker runs the same INSERT ... SELECT.


def inline_max() -> int:
    return settings.RGPD_EXPORT_INLINE_MAX


def _request_defer(
    export_request: ExportRequest, selection: tuple[str, list], *, count: int, actor
) -> ExportRequest:
    sql, params = selection
    ExportRequest.objects.filter(pk=export_request.pk).update(
        subject_count=count, pending_selection_sql=sql, pending_selection_params=params
    )
    export_request.subject_count = count
    audit_record(
        action=AuditEvent.Action.EXPORT_REQUESTED,
        actor=actor,
        subject_ids=(),
        export_request=export_request,
        counts={"subjects": count, "parts": 0},
        details={"subject_ids_omitted": True, "recorded_by": "worker"},
    )
    dispatch.send_after_commit(export_request, partial(dispatch.export_prepare, export_request.pk))
    logger.info(
        "rgpd: export request %s accepted: %s people, parts recorded by a worker", export_request.pk, count
    )
    return export_request


def export_request_prepare(*, request_id: int) -> int:
    """Record the parts and people of a request accepted with its selection only; return its parts.

    Runs once: the request row is locked and its stored selection emptied in the same transaction. A
    selection that fails (a schema change, a timeout, a deadlock) or became empty ends in one failed
    part, so that the request shows as failed and its requester gets the email; only a lost connection
    is raised, for the periodic task to run it again.
    """
    with transaction.atomic():
        export_request = ExportRequest.objects.select_for_update().filter(pk=request_id).first()
        if export_request is None or not export_request.pending_selection_sql:
            return 0
        selection = (export_request.pending_selection_sql, export_request.pending_selection_params)
        try:
            with transaction.atomic():
                _subjects_record(
                    export_request, count=export_request.subject_count, ids=None, selection=selection
                )
        except (DatabaseError, ValidationError) as exc:
            lost = isinstance(exc, InterfaceError) or (
                isinstance(exc, DatabaseError) and not connection.is_usable()
            )
            if lost:
                raise  # the connection was lost: the periodic task runs it again
            _request_fail_unprepared(export_request, exc)
            transaction.on_commit(partial(dispatch.export_email, request_id), robust=True)
            return 1
        send = partial(dispatch.export_request, request_id, export_request.part_count)
        transaction.on_commit(send, robust=True)
    logger.info(
        "rgpd: export request %s recorded: %s people in %s part(s)",
        request_id,
        export_request.subject_count,
        export_request.part_count,
    )
    return export_request.part_count


def _request_fail_unprepared(export_request: ExportRequest, exc: BaseException) -> None:
    code = "empty_selection" if isinstance(exc, ValidationError) else "selection_failed"
    logger.error("rgpd: export request %s could not be recorded (%s)", export_request.pk, type(exc).__name__)
    message = (
        _("Nobody of the selection is left to export.")
        if code == "empty_selection"
        else _("The selection could not be read again (%(error)s).") % {"error": type(exc).__name__}
    )
    ExportPart.objects.create(
        request=export_request, number=1, status=ExportPart.Status.FAILED, error=str(message)
    )
    ExportRequest.objects.filter(pk=export_request.pk).update(
        part_count=1, pending_selection_sql="", pending_selection_params=[]
    )
    audit_record(
        action=AuditEvent.Action.PART_FAILED,
        actor=export_request.requested_by,
        export_request=export_request,
        outcome=AuditEvent.Outcome.FAILURE,
        counts={"subjects": 0},
        details={"part": 1, "parts": 1, "error": code},
    )


def _first_subject_ids(export_request: ExportRequest, part_size: int) -> list[int]:
    """The request's people if there are at most AUDIT_SUBJECT_IDS_MAX, else that many and one more.

    Read from the first parts only (parts are filled in order), so one small query at any size.
    """
    return list(
        ExportSubject.objects.filter(
            part__request=export_request, part__number__lte=AUDIT_SUBJECT_IDS_MAX // part_size + 1
        ).values_list("subject_id", flat=True)[: AUDIT_SUBJECT_IDS_MAX + 1]
    )
