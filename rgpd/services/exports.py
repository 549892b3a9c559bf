"""Export ("Exporter les données"): the one service behind the row icon, the bulk action and the API.

- ``export_request_create`` records the request, splits its people into parts of at most
  ``RGPD_EXPORT_PART_SIZE`` (set-based: a bounded number of queries whatever the selection's size),
  writes the audit row and, after commit, enqueues one task per part (through one fan-out task when
  there are many). A selection of more than ``RGPD_EXPORT_INLINE_MAX`` people is only stored by the
  web request and recorded by a worker (``export_request_prepare``).
- ``export_part_build`` is the whole life of one part's job, in one place: claim (conditional update,
  with a lease so that a part left RUNNING by a killed worker is reclaimed by the redelivered task),
  build (format v1, streamed from storage into storage), then ready / release for retry / failed,
  each guarded by the claim number so that only the latest claimer can finish the part.
- ``export_request_notify`` sends the requester's one email once every part is ready or failed.
- ``export_part_for_download`` checks a download and audits it; ``export_archives_purge`` deletes
  expired archives.

What a person's archive holds is read from the registry (``rgpd/registry.py``), never from field
names here.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from itertools import islice

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation, ValidationError
from django.db import DatabaseError, InterfaceError, connection, models, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language, get_supported_language_variant
from django.utils.translation import gettext_lazy as _

from contacts.models import Contact
from gdpr_portal.ids import ids_summary

from .. import storage as archive_storage
from ..archive import FORMAT_VERSION, ArchiveWriter, WrittenEntry, safe_filename
from ..models import AuditEvent, ExportPart, ExportRequest, ExportSubject
from ..registry import ModelSpec, registry
from ..selectors import export_request_progress
from . import dispatch
from .audit import AUDIT_SUBJECT_IDS_MAX, audit_record
from .confirmation import confirmed_before, create_once

logger = logging.getLogger(__name__)

SUBJECT_BATCH = 2000  # ExportSubject rows per INSERT (ids given by the caller)
ID_CHECK_BATCH = 10000  # ids per existence query
READ_BATCH = 50  # people read from the database at once while building
ENQUEUE_DIRECT_MAX_PARTS = 10  # more parts than this: one fan-out task enqueues them (_enqueue_request)
MANIFEST_NAME = "manifest.json"
PERSONAL_DATA_NAME = "personal_data.json"


# --- Errors -----------------------------------------------------------------------------------------
class UnknownContactsError(ValidationError):
    """Some asked-for contact ids do not exist; ``ids`` names them."""

    def __init__(self, ids: list[int]):
        self.ids = ids
        super().__init__(
            _("Unknown contact ids: %(ids)s."), code="unknown_contacts", params={"ids": ids_summary(ids)}
        )


class ArchiveNotAvailable(Exception):
    """The part exists but cannot be downloaded (``expired``, ``not_ready`` or ``missing``)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class LeaseLost(Exception):
    """Another claim took the part over (this worker was presumed dead): stop without touching it."""


class EmailNotSent(Exception):
    """The email server refused or could not be reached; the message is the error's class name only
    (the error's own text may quote an address, and Celery logs what a task raises)."""


# What sending an email raises when the server is down, refuses, or drops the connection.
EMAIL_ERRORS = (smtplib.SMTPException, OSError)


# --- Small helpers ----------------------------------------------------------------------------------
def _batched(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch


def retention() -> timedelta:
    return timedelta(days=settings.RGPD_ARCHIVE_RETENTION_DAYS)


def lease_seconds() -> int:
    return max(1, int(settings.RGPD_EXPORT_LEASE_SECONDS))


def request_language(language: str | None) -> str:
    try:
        return get_supported_language_variant(language or get_language() or settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


def archive_name(part: ExportPart, attempt: int) -> str:
    """The object name of one attempt at a part (attempts never share a name)."""
    return (
        f"exports/{part.request_id}/gdpr-export-{part.request_id}-part-{part.number}"
        f"-of-{part.request.part_count}-a{attempt}.zip"
    )


def download_filename(part: ExportPart) -> str:
    if part.request.part_count <= 1:
        return f"gdpr-export-{part.request_id}.zip"
    return f"gdpr-export-{part.request_id}-part-{part.number}-of-{part.request.part_count}.zip"


def _enqueue_part(part_id: int) -> None:
    from ..tasks.exports import build_export_part

    options = {"queue": settings.RGPD_EXPORT_QUEUE} if settings.RGPD_EXPORT_QUEUE else {}
    build_export_part.apply_async((part_id,), **options)


def _enqueue_parts(request_id: int) -> int:
    part_ids = list(
        ExportPart.objects.filter(request_id=request_id, status=ExportPart.Status.PENDING)
        .order_by("number")
        .values_list("pk", flat=True)
    )
    for part_id in part_ids:
        _enqueue_part(part_id)
    return len(part_ids)


def _enqueue_request(request_id: int, part_count: int) -> None:
    """Send the tasks of a new request's parts (after commit, from the web request).

    A few parts are enqueued here, one message each: a row's export starts without an extra hop.
    Beyond that, publishing one message per part would keep the web request waiting (thousands of
    parts for a "select all" of a large base), so one fan-out task does it in a worker. If that
    message is lost, ``export_requests_resume_stalled`` sends the parts still pending after an hour.
    """
    if part_count <= ENQUEUE_DIRECT_MAX_PARTS:
        _enqueue_parts(request_id)
        return
    from ..tasks.exports import enqueue_export_parts

    options = {"queue": settings.RGPD_EXPORT_QUEUE} if settings.RGPD_EXPORT_QUEUE else {}
    enqueue_export_parts.apply_async((request_id,), **options)


def export_request_enqueue_parts(*, request_id: int) -> int:
    """Send one build task per part of the request still pending; return how many (the fan-out task)."""
    return _enqueue_parts(request_id)


def _enqueue_notify(request_id: int) -> None:
    from ..tasks.exports import send_export_email

    options = {"queue": settings.RGPD_EXPORT_QUEUE} if settings.RGPD_EXPORT_QUEUE else {}
    send_export_email.apply_async((request_id,), **options)


# --- Creating a request -----------------------------------------------------------------------------
def _checked_ids(contact_ids: Iterable[int]) -> list[int]:
    try:
        ids = sorted({int(i) for i in contact_ids})
    except (TypeError, ValueError) as exc:
        raise ValidationError(_("Contact ids must be integers."), code="invalid") from exc
    unknown: list[int] = []
    for batch in _batched(ids, ID_CHECK_BATCH):
        found = set(Contact.objects.filter(pk__in=batch).values_list("pk", flat=True))
        unknown.extend(i for i in batch if i not in found)
    if unknown:
        raise UnknownContactsError(unknown)
    return ids


def _selection_ids(queryset: QuerySet[Contact]) -> QuerySet:
    """The selection as a query of distinct contact ids, ``selected_id`` (unordered: the insert numbers)."""
    ids = queryset.order_by().values(selected_id=F("pk"))
    # A filter across a to-many relation repeats a contact once per matching row; the admin adds
    # DISTINCT itself when its search does that. Without joins there is nothing to remove.
    if not ids.query.distinct and len(ids.query.alias_map) > 1:
        ids = ids.distinct()
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
    """Put every selected contact into its part with one INSERT … SELECT; return the rows inserted.

    The n-th contact by id (``ROW_NUMBER() OVER (ORDER BY id)``) goes to part ``(n - 1) / part_size + 1``,
    joined on the request's part numbers: nothing is read into Python. Valid on PostgreSQL and SQLite
    (integer division, window functions). A contact numbered beyond the last part (the selection grew
    since it was counted) matches no part and is left out.
    """
    quote = connection.ops.quote_name
    subject, part = ExportSubject._meta, ExportPart._meta
    selection_sql, selection_params = selection
    # Names quoted from the models' metadata; the selection's SQL compiled by the ORM, with its params.
    sql = (
        f"INSERT INTO {quote(subject.db_table)} "  # noqa: S608
        f"({quote(subject.get_field('part').column)}, {quote(subject.get_field('contact').column)}) "
        f"SELECT p.{quote(part.pk.column)}, s.contact_id "
        "FROM (SELECT q.selected_id AS contact_id, ROW_NUMBER() OVER (ORDER BY q.selected_id) AS n "
        f"FROM ({selection_sql}) q) s "
        f"INNER JOIN {quote(part.db_table)} p ON p.{quote(part.get_field('request').column)} = %s "
        f"AND p.{quote(part.get_field('number').column)} = (s.n - 1) / %s + 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*selection_params, export_request.pk, part_size])
        return cursor.rowcount


def _subjects_insert_ids(parts: list[ExportPart], ids: list[int], part_size: int) -> int:
    """Put the validated ``ids`` (sorted) into their parts: ``part_size`` ids per part, in bulk INSERTs."""
    rows = (
        ExportSubject(part_id=parts[index // part_size].pk, contact_id=pk) for index, pk in enumerate(ids)
    )
    for batch in _batched(rows, SUBJECT_BATCH):
        ExportSubject.objects.bulk_create(batch)
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
    contact_ids: Iterable[int] | None = None,
    queryset: QuerySet[Contact] | None = None,
    confirmation_token: str = "",
) -> ExportRequest:
    """Record an export of the given contacts (ids, or a queryset such as an admin selection).

    Set-based, whatever the size: the selection is counted once, its parts (at most
    ``RGPD_EXPORT_PART_SIZE`` people each, people in id order) are created with one INSERT, and a
    queryset's people are put into them with one ``INSERT … SELECT`` (ids given by the caller are
    validated and inserted in bulk). The tasks are enqueued after commit. Raises
    ``UnknownContactsError`` for ids that do not exist, ``ValidationError`` for an empty selection.
    A ``confirmation_token`` (the confirmation page's) makes it idempotent: the same confirmation
    sent twice, even at the same moment, returns the request of the first.
    """
    if (contact_ids is None) == (queryset is None):
        raise TypeError("Give exactly one of contact_ids or queryset.")
    # Sent again (back and confirm): the first send's request, even if the selection changed since.
    already = confirmed_before(ExportRequest, confirmation_token)
    if already is not None:
        return already
    if contact_ids is not None:
        ids: list[int] | None = _checked_ids(contact_ids)
        selection = None
        count = len(ids)
    else:
        ids = None
        selection = _selection_ids(queryset)
        count = selection.count()
    if not count:
        raise ValidationError(_("Select at least one contact to export."), code="empty")

    export_request, created = create_once(
        ExportRequest,
        confirmation_token,
        requested_by=actor if actor is not None and actor.is_authenticated else None,
        language=request_language(language),
    )
    if not created:
        return export_request
    if selection is not None and count > inline_max():
        deferred = _selection_for_worker(selection)
        if deferred is not None:
            return _request_defer(export_request, deferred, count=count, actor=actor)
    recorded = _subjects_record(
        export_request, count=count, ids=ids, selection=None if selection is None else _compiled(selection)
    )
    # The audit row lists at most AUDIT_SUBJECT_IDS_MAX people (see audit.py); each part's own rows
    # (ready, failed, downloaded, purged) list that part's people.
    listed = (
        ids if ids is not None and recorded.exact else _first_contact_ids(export_request, recorded.part_size)
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
        export_request, partial(_enqueue_request, export_request.pk, export_request.part_count)
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
    part_size = max(1, int(settings.RGPD_EXPORT_PART_SIZE))
    parts = _parts_create(export_request, count, part_size)
    if ids is not None:
        inserted = _subjects_insert_ids(parts, ids, part_size)
    else:
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
# request stores the selection's SQL (bounded by the highest contact id at confirmation, so that
# contacts created later are not included) and one message; a worker runs the same INSERT ... SELECT.


def inline_max() -> int:
    return int(getattr(settings, "RGPD_EXPORT_INLINE_MAX", 10000))


def _compiled(selection: QuerySet) -> tuple[str, list]:
    sql, params = selection.query.sql_with_params()
    return sql, list(params)


def _selection_for_worker(selection: QuerySet) -> tuple[str, list] | None:
    """The selection's SQL and parameters as a worker will run them, bounded by today's highest contact
    id; None when a parameter would not survive JSON (the request is then recorded at once)."""
    highest = Contact.objects.aggregate(highest=Max("pk"))["highest"] or 0
    sql, params = _compiled(selection.filter(pk__lte=highest))
    if not all(param is None or isinstance(param, str | int | float | bool) for param in params):
        return None
    return sql, params


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
    dispatch.send_after_commit(export_request, partial(_enqueue_prepare, export_request.pk))
    logger.info(
        "rgpd: export request %s accepted: %s people, parts recorded by a worker", export_request.pk, count
    )
    return export_request


def _enqueue_prepare(request_id: int) -> None:
    from ..tasks.exports import prepare_export_request

    options = {"queue": settings.RGPD_EXPORT_QUEUE} if settings.RGPD_EXPORT_QUEUE else {}
    prepare_export_request.apply_async((request_id,), **options)


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
            transaction.on_commit(partial(_enqueue_notify, request_id), robust=True)
            return 1
        transaction.on_commit(partial(_enqueue_request, request_id, export_request.part_count), robust=True)
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


def _first_contact_ids(export_request: ExportRequest, part_size: int) -> list[int]:
    """The request's people if there are at most AUDIT_SUBJECT_IDS_MAX, else that many and one more.

    Read from the first parts only (parts are filled in order), so one small query at any size.
    """
    return list(
        ExportSubject.objects.filter(
            part__request=export_request, part__number__lte=AUDIT_SUBJECT_IDS_MAX // part_size + 1
        ).values_list("contact_id", flat=True)[: AUDIT_SUBJECT_IDS_MAX + 1]
    )


# --- The life of a part's job -----------------------------------------------------------------------
@dataclass
class _Lease:
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


def _part_claim(part_id: int, worker: str = "") -> tuple[ExportPart, _Lease, str] | None:
    """Claim a pending part, or a running one whose lease expired, for the ``worker`` (its node name);
    return it with the previous upload id."""
    now = timezone.now()
    stale = now - timedelta(seconds=lease_seconds())
    claimed = (
        ExportPart.objects.filter(pk=part_id)
        .filter(
            Q(status=ExportPart.Status.PENDING)
            | Q(status=ExportPart.Status.RUNNING, heartbeat_at__lt=stale)
            | Q(status=ExportPart.Status.RUNNING, heartbeat_at__isnull=True)
        )
        .update(
            status=ExportPart.Status.RUNNING,
            attempts=F("attempts") + 1,
            heartbeat_at=now,
            started_at=models.functions.Coalesce(F("started_at"), now),
            error="",
            worker=worker,
        )
    )
    if claimed != 1:
        return None
    part = ExportPart.objects.select_related("request").get(pk=part_id)
    return part, _Lease(part_id=part.pk, attempt=part.attempts), part.upload_id


def _discard_previous_attempts(part: ExportPart, attempt: int, previous_upload_id: str) -> None:
    """Remove what earlier attempts (a killed worker, a failed try) may have left in storage."""
    for earlier in range(attempt - 1, 0, -1):
        archive_storage.discard_archive(
            archive_name(part, earlier), upload_id=previous_upload_id if earlier == attempt - 1 else ""
        )


def _part_release(lease: _Lease) -> None:
    """Give the claim back so the retry (or another delivery) may claim the part at once."""
    lease._mine().update(status=ExportPart.Status.PENDING, heartbeat_at=None)


def export_parts_reclaim(*, worker: str) -> int:
    """Take back, when a worker starts, the parts a previous run under its node name left; return how many.

    That run is dead (Celery node names are unique): its running builds would otherwise wait for their
    lease to expire and for the periodic sweep, and the retries it held back (a storage error's
    countdown) for the broker's visibility timeout. They are released and sent again at once; an old
    message delivered later finds its part claimed or done and does nothing. (Two live workers
    misconfigured with one name would only cost a rebuild: the other's build stops at its next beat.)
    """
    if not worker:
        return 0
    left = ExportPart.objects.filter(
        worker=worker, status__in=[ExportPart.Status.RUNNING, ExportPart.Status.PENDING]
    )
    part_ids = list(left.values_list("pk", flat=True))
    left.filter(pk__in=part_ids, status=ExportPart.Status.RUNNING).update(
        status=ExportPart.Status.PENDING, heartbeat_at=None
    )
    for part_id in part_ids:
        _enqueue_part(part_id)
    if part_ids:
        logger.warning("rgpd: worker restarted, %s export part(s) of its previous run resumed", len(part_ids))
    return len(part_ids)


def _readable_error(exc: BaseException) -> tuple[str, str]:
    """A readable message and a code for a failed part; never personal data (ids and codes only)."""
    if isinstance(exc, archive_storage.STORAGE_ERRORS):
        text = str(exc).splitlines()[0][:300] if str(exc) else ""
        return (
            _("The archive could not be written to or read from storage (%(error)s).")
            % {"error": f"{type(exc).__name__}: {text}" if text else type(exc).__name__},
            "storage_error",
        )
    return _("Unexpected error while building the archive (%(error)s).") % {"error": type(exc).__name__}, (
        "unexpected_error"
    )


def _part_fail(part: ExportPart, lease: _Lease, exc: BaseException) -> bool:
    message, code = _readable_error(exc)
    with transaction.atomic():
        if lease._mine().update(status=ExportPart.Status.FAILED, error=str(message), heartbeat_at=None) != 1:
            return False
        audit_record(
            action=AuditEvent.Action.PART_FAILED,
            actor=part.request.requested_by,
            subject_ids=part.subjects.values_list("contact_id", flat=True),
            export_request=part.request,
            outcome=AuditEvent.Outcome.FAILURE,
            counts={"subjects": part.subject_count},
            details={
                "part": part.number,
                "parts": part.request.part_count,
                "attempt": lease.attempt,
                "error": code,
            },
        )
        transaction.on_commit(partial(_enqueue_notify, part.request_id))
    logger.error("rgpd: export part %s failed (attempt %s): %s", part.pk, lease.attempt, code)
    return True


@dataclass
class _BuildResult:
    name: str
    size: int
    sha256: str
    files: int
    missing: int
    subject_ids: list[int]


def _part_complete(part: ExportPart, lease: _Lease, result: _BuildResult) -> bool:
    now = timezone.now()
    with transaction.atomic():
        updated = lease._mine().update(
            status=ExportPart.Status.READY,
            object_key=result.name,
            size=result.size,
            sha256=result.sha256,
            has_warnings=result.missing > 0,
            missing_file_count=result.missing,
            ready_at=now,
            expires_at=now + retention(),
            heartbeat_at=None,
            upload_id="",
            error="",
        )
        if updated != 1:
            return False
        audit_record(
            action=AuditEvent.Action.PART_READY,
            actor=part.request.requested_by,
            subject_ids=result.subject_ids,
            export_request=part.request,
            outcome=AuditEvent.Outcome.WARNING if result.missing else AuditEvent.Outcome.SUCCESS,
            counts={
                "subjects": len(result.subject_ids),
                "files": result.files,
                "missing_files": result.missing,
            },
            details={"part": part.number, "parts": part.request.part_count, "attempt": lease.attempt},
        )
        transaction.on_commit(partial(_enqueue_notify, part.request_id))
    return True


def export_part_build(*, part_id: int, final_attempt: bool = True, worker: str = "") -> str:
    """Build one part's archive if this call can claim it; return what happened.

    ``"skipped"``: not claimable (done, or running under a live lease: a second delivery does nothing);
    ``"ready"``; ``"lost"``: another claim took over; ``"failed"``: the last attempt met a storage
    error. A storage error on a non-final attempt releases the part and is re-raised, so that the
    task retries with backoff; any other error fails the part and is re-raised.
    """
    claim = _part_claim(part_id, worker)
    if claim is None:
        logger.info("rgpd: export part %s not claimable, nothing to do", part_id)
        return "skipped"
    part, lease, previous_upload_id = claim
    name = archive_name(part, lease.attempt)
    logger.info("rgpd: export part %s claimed (attempt %s)", part.pk, lease.attempt)
    try:
        _discard_previous_attempts(part, lease.attempt, previous_upload_id)
        lease.beat(force=True, object_key=name, upload_id="")
        result = _build_archive(part, name, lease)
    except LeaseLost:
        logger.warning("rgpd: export part %s was taken over, attempt %s stops", part.pk, lease.attempt)
        return "lost"
    except Exception as exc:
        if not lease.held():
            # Another claim took over (its reclaim aborted our upload): not a failure of the part.
            logger.warning("rgpd: export part %s was taken over, attempt %s stops", part.pk, lease.attempt)
            return "lost"
        storage_error = isinstance(exc, archive_storage.STORAGE_ERRORS)
        if storage_error and not final_attempt:
            logger.warning("rgpd: export part %s: storage error, retrying (%s)", part.pk, type(exc).__name__)
            _part_release(lease)
            raise
        _part_fail(part, lease, exc)
        if storage_error:
            return "failed"
        raise
    if not _part_complete(part, lease, result):
        logger.warning("rgpd: export part %s was taken over before it completed", part.pk)
        with contextlib.suppress(*archive_storage.STORAGE_ERRORS):
            archive_storage.discard_archive(name)
        return "lost"
    logger.info(
        "rgpd: export part %s ready: %s bytes, %s missing file(s)", part.pk, result.size, result.missing
    )
    return "ready"


# --- Building the archive (format v1) ---------------------------------------------------------------
def _label(spec: ModelSpec) -> str:
    return spec.model._meta.label_lower


def _field_value(instance: models.Model, name: str):
    value = instance._meta.get_field(name).value_from_object(instance)
    if isinstance(value, models.fields.files.FieldFile):
        return value.name or None
    return value


@dataclass
class _PartWriter:
    writer: ArchiveWriter
    lease: _Lease
    files: list[dict] = field(default_factory=list)
    missing: list[dict] = field(default_factory=list)

    def write_file(
        self, instance: models.Model, spec: ModelSpec, name: str, *, subject_id: int, folder: str, prefix: str
    ) -> dict | None:
        """Copy one stored file into the archive; describe it (or why it is missing)."""
        stored = getattr(instance, name)
        if not stored or not stored.name:
            return None
        display = safe_filename(
            getattr(instance, spec.file_names[name], "") if name in spec.file_names else "", fallback=""
        ) or safe_filename(stored.name.rsplit("/", 1)[-1])
        description = {"stored_name": stored.name, "archive_path": None, "size": None, "sha256": None}
        try:
            chunks = archive_storage.iter_stored_file(stored.name, storage=stored.storage)
        except (archive_storage.StoredFileMissing, SuspiciousFileOperation) as exc:
            reason = "not_found" if isinstance(exc, archive_storage.StoredFileMissing) else "invalid_name"
            self.missing.append(
                {
                    "subject_id": subject_id,
                    "model": _label(spec),
                    "object_id": instance.pk,
                    "field": name,
                    "stored_name": stored.name,
                    "reason": reason,
                }
            )
            return {**description, "missing": True, "reason": reason}
        path = self.writer.unique_name(f"{folder}/{prefix}{display}")
        entry = self.writer.add_chunks(path, self._beating(chunks))
        self.record_entry(
            entry, subject_id=subject_id, kind="file", model=_label(spec), object_id=instance.pk, field=name
        )
        return {
            **description,
            "archive_path": entry.path,
            "size": entry.size,
            "sha256": entry.sha256,
            "missing": False,
        }

    def _beating(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            yield chunk
            self.lease.beat()

    def record_entry(self, entry: WrittenEntry, **about) -> None:
        self.files.append({"path": entry.path, "size": entry.size, "sha256": entry.sha256, **about})

    def record_fields(
        self,
        instance: models.Model,
        spec: ModelSpec,
        *,
        subject_id: int,
        folder: str,
        prefix: str = "",
        per_field_folder: bool = False,
    ) -> dict:
        """Every exported field of ``instance`` with its stored value; files copied into the archive."""
        values = {}
        for name in spec.exported_fields:
            if name in spec.file_fields:
                values[name] = self.write_file(
                    instance,
                    spec,
                    name,
                    subject_id=subject_id,
                    folder=f"{folder}/{name}" if per_field_folder else folder,
                    prefix=prefix,
                )
            else:
                values[name] = _field_value(instance, name)
        return values


def _read_people(ids: list[int]) -> list[tuple[models.Model, list[tuple[ModelSpec, list[models.Model]]]]]:
    """The subjects ``ids`` and, for each, its related rows per registered model, read under a row lock.

    Locking the subjects (as the anonymisation does) means an anonymisation running at the same
    moment is either entirely before or entirely after this read, never half-seen.
    """
    subject = registry.subject
    with transaction.atomic():
        people = list(subject.model.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk"))
        related: list[tuple[ModelSpec, dict[int, list[models.Model]]]] = []
        for spec in registry.related:
            attname = spec.model._meta.get_field(spec.subject_field).attname
            by_subject: dict[int, list[models.Model]] = defaultdict(list)
            for row in spec.model.objects.filter(**{f"{attname}__in": ids}).order_by("pk"):
                by_subject[getattr(row, attname)].append(row)
            related.append((spec, by_subject))
    return [(person, [(spec, rows.get(person.pk, [])) for spec, rows in related]) for person in people]


def _build_archive(part: ExportPart, name: str, lease: _Lease) -> _BuildResult:
    generated_at = timezone.now()
    subject = registry.subject
    subject_ids = list(part.subjects.order_by("contact_id").values_list("contact_id", flat=True))
    sink = archive_storage.open_archive_sink(name, on_upload_started=lease.record_upload)
    try:
        writer = ArchiveWriter(sink, date_time=timezone.localtime(generated_at))
        out = _PartWriter(writer=writer, lease=lease)
        exported: list[int] = []
        for batch in _batched(subject_ids, READ_BATCH):
            for person, related in _read_people(batch):
                folder = f"contact-{person.pk}"
                # The subject's files go to <folder>/<field>/, related rows' to <folder>/<label>/.
                record = {
                    "format_version": FORMAT_VERSION,
                    "exported_at": generated_at,
                    "subject": {
                        "model": _label(subject),
                        "id": person.pk,
                        "fields": out.record_fields(
                            person, subject, subject_id=person.pk, folder=folder, per_field_folder=True
                        ),
                    },
                    "related": {},
                }
                for spec, rows in related:
                    record["related"][spec.export_label] = {
                        "model": _label(spec),
                        "records": [
                            {
                                "id": row.pk,
                                "fields": out.record_fields(
                                    row,
                                    spec,
                                    subject_id=person.pk,
                                    folder=f"{folder}/{spec.export_label}",
                                    prefix=f"{row.pk}_",
                                ),
                            }
                            for row in rows
                        ],
                    }
                entry = writer.add_json(f"{folder}/{PERSONAL_DATA_NAME}", record)
                out.record_entry(
                    entry,
                    subject_id=person.pk,
                    kind="personal_data",
                    model=_label(subject),
                    object_id=person.pk,
                    field=None,
                )
                exported.append(person.pk)
                lease.beat()
        manifest = {
            "format": "gdpr_portal.rgpd_export",
            "format_version": FORMAT_VERSION,
            "generated_at": generated_at,
            "request_id": part.request_id,
            "part": part.number,
            "part_count": part.request.part_count,
            "subject_count": len(exported),
            "subjects": [{"id": pk, "folder": f"contact-{pk}"} for pk in exported],
            "files": out.files,
            "missing_files": out.missing,
        }
        writer.add_json(MANIFEST_NAME, manifest)
        size, sha256 = writer.close()
        # Publish only while still the owner: a taken-over attempt must not complete its upload.
        lease.beat(force=True)
        sink.commit()
    except BaseException:
        try:
            sink.abort()
        except Exception:
            logger.warning("rgpd: could not abort the upload of export part %s", part.pk, exc_info=True)
        raise
    return _BuildResult(
        name=name,
        size=size,
        sha256=sha256,
        files=len(out.files),
        missing=len(out.missing),
        subject_ids=exported,
    )


# --- Email ------------------------------------------------------------------------------------------
def export_request_notify(*, request_id: int) -> bool:
    """Send the requester the one email of a finished request (all parts ready or failed).

    ``notified_at`` is claimed with a conditional update inside the transaction that sends: two
    calls at once send one email, and a failed send leaves the claim free for the retry. A failed
    send is recorded on the request (its page offers to send it again) and raised as ``EmailNotSent``
    for the task to retry. Return True if this call sent it.
    """
    from ..emails import send_export_finished_email

    export_request = ExportRequest.objects.select_related("requested_by").get(pk=request_id)
    if export_request.notified_at is not None:
        return False
    progress = export_request_progress(export_request)
    if not progress.is_done:
        return False
    try:
        with transaction.atomic():
            claimed = ExportRequest.objects.filter(pk=request_id, notified_at__isnull=True).update(
                notified_at=timezone.now(), email_failed_at=None, email_error=""
            )
            if claimed != 1:
                return False
            user = export_request.requested_by
            if user is None or not user.email:
                logger.warning(
                    "rgpd: export request %s finished, but its requester has no email address", request_id
                )
                return False
            send_export_finished_email(export_request, progress)
    except EMAIL_ERRORS as exc:
        error = type(exc).__name__
        ExportRequest.objects.filter(pk=request_id, notified_at__isnull=True).update(
            email_failed_at=timezone.now(), email_error=error[:64]
        )
        logger.warning("rgpd: export request %s: email not sent (%s)", request_id, error)
        raise EmailNotSent(error) from None
    logger.info("rgpd: export request %s: email sent to its requester", request_id)
    return True


def export_request_email_resend(*, request_id: int) -> bool:
    """Send again the email of a finished request whose sending failed (its page's button).

    Return False when there is nothing to resend (already sent, or no failure recorded). The failure
    is cleared for the new attempt, and recorded again if it fails too; raises one of
    ``dispatch.BROKER_ERRORS`` (the failure kept) when the task cannot be queued.
    """
    failed = ExportRequest.objects.filter(pk=request_id, notified_at=None).exclude(email_failed_at=None)
    failure = failed.values_list("email_failed_at", "email_error").first()
    if failure is None or not failed.update(email_failed_at=None, email_error=""):
        return False
    try:
        _enqueue_notify(request_id)
    except dispatch.BROKER_ERRORS:
        ExportRequest.objects.filter(pk=request_id, notified_at=None, email_failed_at=None).update(
            email_failed_at=failure[0], email_error=failure[1]
        )
        raise
    logger.info("rgpd: export request %s: its email queued again on request", request_id)
    return True


# --- Download ---------------------------------------------------------------------------------------
def export_part_for_download(*, request_id: int, number: int, actor, channel: str) -> ExportPart:
    """The ready part ``number`` of request ``request_id``, its download audited.

    Raises ``ExportPart.DoesNotExist`` (unknown), ``ArchiveNotAvailable("expired")``,
    ``ArchiveNotAvailable("not_ready")`` or ``ArchiveNotAvailable("missing")`` (its stored object is
    gone: logged, not audited as a download). The caller has checked the permission first.
    """
    part = ExportPart.objects.select_related("request").get(request_id=request_id, number=number)
    if part.status == ExportPart.Status.EXPIRED or (part.expires_at and part.expires_at <= timezone.now()):
        raise ArchiveNotAvailable("expired")
    if part.status != ExportPart.Status.READY or not part.object_key:
        raise ArchiveNotAvailable("not_ready")
    if not archive_storage.archive_exists(part.object_key):
        logger.warning("Stored file missing: archive part %s of export request %s", part.number, request_id)
        raise ArchiveNotAvailable("missing")
    audit_record(
        action=AuditEvent.Action.ARCHIVE_DOWNLOADED,
        actor=actor,
        subject_ids=part.subjects.values_list("contact_id", flat=True),
        export_request=part.request,
        counts={"subjects": part.subject_count},
        details={"part": part.number, "channel": channel},
    )
    return part


# --- Expiry -----------------------------------------------------------------------------------------
def export_archives_purge(*, now: datetime | None = None) -> int:
    """Delete the objects of ready parts whose expiry has come, mark them expired; return how many.

    Each part is taken with ``SELECT … FOR UPDATE SKIP LOCKED`` and re-checked, so two purges at
    once share the work and each part is deleted and audited once. A storage error leaves the part
    ready (and still refused for download by its expiry date) for the next run.
    """
    now = now or timezone.now()
    due = ExportPart.objects.filter(status=ExportPart.Status.READY, expires_at__lte=now)
    purged = 0
    for part_id in list(due.values_list("pk", flat=True)):
        try:
            with transaction.atomic():
                # Lock the part's row only: its request's row may be held by the email being sent.
                part = (
                    due.select_for_update(skip_locked=True, of=("self",))
                    .select_related("request")
                    .filter(pk=part_id)
                    .first()
                )
                if part is None:
                    continue
                archive_storage.delete_archive(part.object_key)
                ExportPart.objects.filter(pk=part.pk).update(status=ExportPart.Status.EXPIRED, purged_at=now)
                audit_record(
                    action=AuditEvent.Action.ARCHIVE_PURGED,
                    subject_ids=part.subjects.values_list("contact_id", flat=True),
                    export_request=part.request,
                    counts={"subjects": part.subject_count},
                    details={"part": part.number},
                )
            purged += 1
        except archive_storage.STORAGE_ERRORS:
            logger.warning(
                "rgpd: could not delete the archive of export part %s, will retry", part_id, exc_info=True
            )
    if purged:
        logger.info("rgpd: %s expired archive part(s) purged", purged)
    return purged


# --- Nothing lost -----------------------------------------------------------------------------------
PENDING_RESUME_AFTER = timedelta(hours=1)
# A selection is recorded in seconds: one still waiting after this lost its message (a duplicate is a no-op).
PREPARE_RESUME_AFTER = timedelta(minutes=10)


def export_requests_resume_stalled(*, now: datetime | None = None) -> dict[str, int]:
    """Re-enqueue what a lost task message left behind (periodic, from beat); return the counts.

    A part running without a heartbeat for one lease, or still pending an hour after it was created
    (a backlog is normal, an hour-old one means a lost message: a broker flushed, a worker gone), has
    its task sent again; the claim makes a duplicate harmless. A request recorded while the broker
    was unreachable gets its first message now. A finished request whose email was never tried gets
    its email task again; the ``notified_at`` claim sends it at most once (one whose sending failed is
    the worker's retries' and then its page's button's, not this sweep's).
    """
    now = now or timezone.now()
    undispatched = dispatch.awaiting_broker(ExportRequest)
    for export_request in ExportRequest.objects.filter(pk__in=undispatched):
        if export_request.pending_selection_sql:
            _enqueue_prepare(export_request.pk)
        else:
            _enqueue_request(export_request.pk, export_request.part_count)
        dispatch.sent(ExportRequest, export_request.pk)
    stale = now - timedelta(seconds=lease_seconds())
    stalled_parts = list(
        ExportPart.objects.filter(
            Q(status=ExportPart.Status.PENDING, created_at__lt=now - PENDING_RESUME_AFTER)
            | Q(status=ExportPart.Status.RUNNING, heartbeat_at__lt=stale)
        ).values_list("pk", flat=True)
    )
    for part_id in stalled_parts:
        _enqueue_part(part_id)
    unprepared = list(
        ExportRequest.objects.exclude(pending_selection_sql="")
        .filter(created_at__lt=now - PREPARE_RESUME_AFTER)
        .values_list("pk", flat=True)
    )
    for request_id in unprepared:
        _enqueue_prepare(request_id)
    unfinished = ExportPart.objects.filter(
        request_id=OuterRef("pk"), status__in=[ExportPart.Status.PENDING, ExportPart.Status.RUNNING]
    )
    unnotified = list(
        ExportRequest.objects.filter(
            notified_at__isnull=True, email_failed_at__isnull=True, created_at__lt=stale, part_count__gt=0
        )
        .exclude(Exists(unfinished))
        .values_list("pk", flat=True)
    )
    for request_id in unnotified:
        _enqueue_notify(request_id)
    if stalled_parts or unnotified or unprepared or undispatched:
        logger.warning(
            "rgpd: resumed %s stalled export part(s), %s unsent email(s), %s unrecorded selection(s) and "
            "%s request(s) recorded while the broker was unreachable",
            len(stalled_parts),
            len(unnotified),
            len(unprepared),
            len(undispatched),
        )
    return {
        "parts": len(stalled_parts),
        "emails": len(unnotified),
        "selections": len(unprepared),
        "undispatched": len(undispatched),
    }
