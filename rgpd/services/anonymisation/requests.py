"""Anonymisation requests: recorded, processed in chunks (inline or by workers), their progress counted."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from ...models import AnonymisationRequest, AnonymisationSubject, AuditEvent
from ...populations import Population, resolve_population
from .. import dispatch
from ..audit import AUDIT_SUBJECT_IDS_MAX, audit_record
from ..confirmation import create_once
from ..selection import (
    compiled,
    existing_ids,
    insert_columns,
    insert_select,
    selected_ids,
    selection_for_worker,
)
from .chunks import anonymisation_chunk_run, anonymisation_request_process, task_size
from .eligibility import AnonymisationNotConfirmed

STALE_REQUEST_AFTER = timedelta(minutes=10)
ID_CHECK_BATCH = 5000  # ids per existence query


def inline_max() -> int:
    return settings.RGPD_ANONYMISATION_INLINE_MAX


# --- Requests -------------------------------------------------------------------------------------


def _unique_ids(subject_ids: Iterable[int]) -> list[int]:
    seen: dict[int, None] = {}
    for pk in subject_ids:
        seen.setdefault(int(pk), None)
    return list(seen)


def _subjects_insert_ids(request: AnonymisationRequest, population: Population, ids: list[int]) -> None:
    """Result rows for ids as given (an API caller may name a person that does not exist)."""
    existing = existing_ids(population.model, ids, per_query=ID_CHECK_BATCH)
    insert_columns(
        AnonymisationSubject,
        varying={"requested_id": ids, "subject_id": [pk if pk in existing else None for pk in ids]},
        constant={"request": request},
    )


def _subjects_insert_selection(
    request: AnonymisationRequest, selection: tuple[str, list], *, after: int = 0, limit: int = 2**62
) -> int:
    """Result rows for a selection (the admin's "select all N matching": its compiled ids query) with one
    INSERT ... SELECT, in id order: 10,000 ids never travel through Python. Only ids above ``after``, at
    most ``limit`` of them. Return the rows inserted."""
    selection_sql, selection_params = selection
    select = (
        f"SELECT %s, q.selected_id, q.selected_id, %s, '' FROM ({selection_sql}) q "  # noqa: S608
        "WHERE q.selected_id > %s ORDER BY q.selected_id LIMIT %s"
    )
    return insert_select(
        AnonymisationSubject,
        ("request", "requested_id", "subject_id", "result", "reason"),
        select,
        [request.pk, AnonymisationSubject.Result.PENDING, *selection_params, after, limit],
    )


@transaction.atomic
def _request_create(
    *,
    population: Population,
    subject_ids: list[int] | None,
    selection: QuerySet | None,
    actor,
    source: str,
    confirmation_token: str,
) -> tuple[AnonymisationRequest, bool]:
    """The new request and True, or the request of an earlier send of the same confirmation and False."""
    request, created = create_once(
        AnonymisationRequest,
        confirmation_token,
        requested_by=actor if actor is not None and actor.is_authenticated else None,
        population=population.key,
        source=source,
    )
    if not created:
        return request, False
    if selection is not None and _request_defer(request, population, selection, actor=actor, source=source):
        return request, True
    if selection is not None:
        _subjects_insert_selection(request, compiled(selected_ids(selection)))
    else:
        _subjects_insert_ids(request, population, subject_ids or [])
    subjects = AnonymisationSubject.objects.filter(request=request)
    request.subject_count = subjects.count()
    request.save(update_fields=["subject_count"])
    audit_record(
        action=AuditEvent.Action.ANONYMISATION_REQUESTED,
        actor=actor,
        subject_ids=subjects.exclude(subject_id=None).values_list("subject_id", flat=True),
        counts={"subjects": request.subject_count},
        details={"request": request.pk, "source": source},
        whole_request=True,
    )
    if request.subject_count > inline_max():
        dispatch.send_after_commit(request, partial(dispatch.anonymisation_request, request.pk))
    return request, True


# --- A large selection, recorded by a worker ---------------------------------------------------------
# As for a large export (see ..exports.requests): above RECORD_INLINE_MAX people, the web request stores
# the selection's SQL (bounded by the highest person id at confirmation) and its audit row (who confirmed,
# how many), and sends one message; the worker's first task records the result rows with the same
# INSERT ... SELECT, then enqueues the chunks. The audit row of a larger request lists no ids anyway.
RECORD_INLINE_MAX = AUDIT_SUBJECT_IDS_MAX
RECORD_SLICE = 5000  # people recorded by one task: the first chunks start after ~0.1 s, not after all


def _request_defer(
    request: AnonymisationRequest, population: Population, selection: QuerySet, *, actor, source: str
) -> bool:
    """Hand a large selection's recording to a worker; False when it is small enough to record at once."""
    ids = selected_ids(selection)
    count = ids.count()
    large = count > max(RECORD_INLINE_MAX, inline_max())  # never one processed at once, unrecorded
    deferred = selection_for_worker(population.model, ids) if large else None
    if deferred is None:
        return False
    sql, params = deferred
    AnonymisationRequest.objects.filter(pk=request.pk).update(
        subject_count=count, pending_selection_sql=sql, pending_selection_params=params
    )
    request.subject_count = count
    audit_record(
        action=AuditEvent.Action.ANONYMISATION_REQUESTED,
        actor=actor,
        counts={"subjects": count},
        details={
            "request": request.pk,
            "source": source,
            "subject_ids_omitted": True,
            "recorded_by": "worker",
        },
    )
    dispatch.send_after_commit(request, partial(dispatch.anonymisation_request, request.pk))
    return True


def _subjects_record_pending(request_id: int) -> tuple[int, bool] | None:
    """Record the next ``RECORD_SLICE`` people of a request accepted with its selection only, in id order;
    return (the highest id recorded before them, whether more are left), or None when nothing was left to
    record. The request row is locked, so two tasks never record the same slice; the stored selection is
    emptied with the last slice. Slices let the chunks start while the rest is still being recorded."""
    with transaction.atomic():
        request = AnonymisationRequest.objects.select_for_update().filter(pk=request_id).first()
        if request is None or not request.pending_selection_sql:
            return None
        subjects = AnonymisationSubject.objects.filter(request_id=request_id)
        after = subjects.aggregate(highest=Max("requested_id"))["highest"] or 0
        selection = (request.pending_selection_sql, list(request.pending_selection_params))
        more = _subjects_insert_selection(request, selection, after=after, limit=RECORD_SLICE) == RECORD_SLICE
        if not more:  # the selection may have shrunk since it was counted: the rows say how many
            AnonymisationRequest.objects.filter(pk=request_id).update(
                subject_count=subjects.count(), pending_selection_sql="", pending_selection_params=[]
            )
        AnonymisationRequest.objects.filter(pk=request_id).update(updated_at=timezone.now())
    return after, more


def anonymisation_request_enqueue(*, request_id: int) -> int:
    """Enqueue one task per chunk of the request's pending contacts, so that workers share the work
    (recording the next slice of them first when the web request handed a large selection over, then
    sending itself again for the rest).

    A chunk is a range of result-row ids; enqueuing a range twice is harmless (each contact is claimed).
    Return the number of tasks enqueued.
    """
    recorded = _subjects_record_pending(request_id)
    pending = AnonymisationSubject.objects.filter(
        request_id=request_id, result=AnonymisationSubject.Result.PENDING
    )
    if recorded is not None:  # only the slice just recorded: the earlier ones are enqueued already
        pending = pending.filter(requested_id__gt=recorded[0])
    ids = list(pending.order_by("pk").values_list("pk", flat=True))
    size = task_size(len(ids))
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        dispatch.anonymisation_chunk(request_id, chunk[0], chunk[-1])
    if recorded is not None and recorded[1]:
        dispatch.anonymisation_request(request_id)  # the next slice, after this one's chunks
    elif not ids:  # a chunk died before recording the progress, or the last slice was empty: an empty
        # chunk records the progress and, if that finishes the request, deletes the files left
        anonymisation_chunk_run(request_id=request_id, first_subject_id=0, last_subject_id=0)
    dispatch.sent(AnonymisationRequest, request_id)
    return -(-len(ids) // size)


def anonymisation_request_create(
    *,
    population: Population | str | None = None,
    subject_ids: Iterable[int] | None = None,
    selection: QuerySet | None = None,
    actor,
    confirmed: bool,
    source: str = AnonymisationRequest.Source.ROW,
    confirmation_token: str = "",
) -> AnonymisationRequest:
    """Anonymise people: the single entry point of the row icon, the bulk action and the API.

    The people are ids of ``population`` as given (``subject_ids``) or a ``selection`` queryset of a
    population's model (the admin's selection, recorded without reading it into Python). Nothing happens
    without ``confirmed`` (the checkbox, or ``"confirm": true``). Up to ``RGPD_ANONYMISATION_INLINE_MAX``
    people are processed before returning; a larger request is processed in the background in chunks and the
    caller shows its progress. Stored files are always deleted by a worker after the commit. A
    ``confirmation_token`` (the confirmation page's) makes it idempotent: the same confirmation sent twice,
    even at the same moment, returns the request of the first (which that first send processes).
    """
    if (subject_ids is None) == (selection is None):
        raise TypeError("Give exactly one of subject_ids or selection.")
    if confirmed is not True:
        raise AnonymisationNotConfirmed
    people = resolve_population(population, selection)
    ids = None if subject_ids is None else _unique_ids(subject_ids)
    request, created = _request_create(
        population=people,
        subject_ids=ids,
        selection=selection,
        actor=actor,
        source=source,
        confirmation_token=confirmation_token,
    )
    if created and request.subject_count <= inline_max():
        anonymised = anonymisation_request_process(request_id=request.pk)
        if anonymised:
            # Outside a transaction this runs at once; a caller's transaction defers it to its commit.
            deletions = partial(dispatch.file_deletions, people.key, anonymised)
            transaction.on_commit(deletions, robust=True)
        request.refresh_from_db()
    return request


def stale_anonymisation_requests(*, now: datetime | None = None) -> list[int]:
    """Ids of requests that stopped moving (a lost task message) or whose first message could not be sent
    (the broker was unreachable): the periodic task enqueues them again."""
    now = now or timezone.now()
    return list(
        AnonymisationRequest.objects.filter(
            Q(updated_at__lt=now - STALE_REQUEST_AFTER) | Q(awaiting_broker=True),
            status__in=[AnonymisationRequest.Status.PENDING, AnonymisationRequest.Status.RUNNING],
        ).values_list("pk", flat=True)
    )
