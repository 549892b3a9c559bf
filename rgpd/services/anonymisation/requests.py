"""Anonymisation requests: recorded, processed in chunks (inline or by workers), their progress counted."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from ...models import AnonymisationRequest, AnonymisationSubject, AuditEvent
from ...populations import Population, resolve_population
from ...populations import population as population_by_key
from .. import dispatch
from ..audit import AUDIT_SUBJECT_IDS_MAX, audit_event, audit_record
from ..confirmation import create_once
from ..selection import (
    compiled,
    existing_ids,
    insert_columns,
    insert_select,
    selected_ids,
    selection_for_worker,
)
from .core import _anonymise_isolating_failures
from .deletions import pending_deletions_process
from .eligibility import AnonymisationNotConfirmed, Reason

STALE_REQUEST_AFTER = timedelta(minutes=10)
ID_CHECK_BATCH = 5000  # ids per existence query


def inline_max() -> int:
    return settings.RGPD_ANONYMISATION_INLINE_MAX


def chunk_size() -> int:
    return settings.RGPD_ANONYMISATION_CHUNK_SIZE


# A task takes a whole chunk (the fewest transactions, what a large request is fastest with), but a
# request is split in at least TASKS_AT_LEAST tasks while they can hold TASK_AT_LEAST people each: a
# thousand people are shared by the workers instead of waiting on one.
TASKS_AT_LEAST = 4
TASK_AT_LEAST = 250


def task_size(people: int) -> int:
    """People per background task for a request (or a recorded slice) of ``people``."""
    return max(min(chunk_size(), -(-people // TASKS_AT_LEAST)), min(TASK_AT_LEAST, chunk_size()))


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


def _process_chunk(*, population: Population, pending: QuerySet, actor, request_id: int) -> list[int]:
    """Anonymise the result rows of ``pending`` and record the request's progress, in one transaction;
    return the contact ids anonymised.

    The rows are claimed with ``SKIP LOCKED``: a redelivered chunk, or one running twice at once, finds
    them taken or done and does nothing.
    """
    with transaction.atomic():
        claimed = list(
            pending.select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", "requested_id", "subject_id")
        )
        if not claimed:
            return []
        outcome = _anonymise_isolating_failures(
            population,
            [requested_id for _pk, requested_id, _subject_id in claimed],
            actor=actor,
            request_id=request_id,
        )
        refusals = []
        by_result: dict[tuple[str, str], list[int]] = defaultdict(list)
        for pk, requested_id, subject_id in claimed:
            reason = outcome.refused.get(requested_id)
            result = AnonymisationSubject.Result.SKIPPED if reason else AnonymisationSubject.Result.ANONYMISED
            by_result[(result, str(reason) if reason else "")].append(pk)
            # Anonymising twice is a no-op: no audit row for it, the request's result says it was skipped.
            if reason and reason != Reason.ALREADY_ANONYMISED:
                refusals.append(
                    audit_event(
                        action=AuditEvent.Action.ANONYMISATION_REFUSED,
                        actor=actor,
                        subject_ids=[requested_id] if subject_id else [],
                        outcome=AuditEvent.Outcome.FAILURE,
                        details={"request": request_id, "reason": str(reason), "contact": requested_id},
                    )
                )
        now = timezone.now()
        for (result_value, reason_value), pks in by_result.items():  # one UPDATE per outcome, not per row
            AnonymisationSubject.objects.filter(pk__any_of=pks).update(
                result=result_value, reason=reason_value, processed_at=now
            )
        AuditEvent.objects.bulk_create(refusals)
        _progress_count(request_id=request_id)
        return list(outcome.anonymised)


def _progress_count(*, request_id: int) -> None:
    """Recount the request's results (absolute values) and mark it done when no contact is left; in the
    caller's transaction (a chunk's, at its end: the request row is locked only until it commits).

    The request row is locked first, so concurrent chunks record their counts one after the other,
    each seeing everything committed before it: counts never go backwards and the last one is right.
    """
    request = AnonymisationRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        return
    counts = dict(
        AnonymisationSubject.objects.filter(request_id=request_id)
        .order_by()
        .values_list("result")
        .annotate(n=Count("pk"))
    )
    now = timezone.now()
    request.anonymised_count = counts.get(AnonymisationSubject.Result.ANONYMISED, 0)
    request.skipped_count = counts.get(AnonymisationSubject.Result.SKIPPED, 0)
    request.processed_count = request.anonymised_count + request.skipped_count
    request.updated_at = now
    fields = ["anonymised_count", "skipped_count", "processed_count", "updated_at"]
    if (
        not counts.get(AnonymisationSubject.Result.PENDING)
        and request.status == AnonymisationRequest.Status.RUNNING
        and not request.pending_selection_sql  # people still to record
    ):
        request.status, request.finished_at = AnonymisationRequest.Status.DONE, now
        fields += ["status", "finished_at"]
    request.save(update_fields=fields)


def anonymisation_request_process(
    *, request_id: int, first_subject_id: int | None = None, last_subject_id: int | None = None
) -> list[int]:
    """Process the pending contacts of a request (those of one chunk, when given); return those anonymised.

    Contacts are anonymised together, ``RGPD_ANONYMISATION_CHUNK_SIZE`` per transaction; the request is
    claimed with a conditional update. Running a chunk twice (a redelivered task) or two chunks at once
    is harmless.
    """
    now = timezone.now()
    AnonymisationRequest.objects.filter(pk=request_id, status=AnonymisationRequest.Status.PENDING).update(
        status=AnonymisationRequest.Status.RUNNING, started_at=now, updated_at=now
    )
    request = AnonymisationRequest.objects.filter(pk=request_id).select_related("requested_by").first()
    if request is None or request.status != AnonymisationRequest.Status.RUNNING:
        return []
    pending = AnonymisationSubject.objects.filter(
        request_id=request_id, result=AnonymisationSubject.Result.PENDING
    )
    if first_subject_id is not None:
        pending = pending.filter(pk__gte=first_subject_id)
    if last_subject_id is not None:
        pending = pending.filter(pk__lte=last_subject_id)
    subject_ids = list(pending.order_by("pk").values_list("pk", flat=True))
    anonymised = []
    size = chunk_size()
    for start in range(0, len(subject_ids), size):
        batch = subject_ids[start : start + size]
        chunk = pending.filter(pk__gte=batch[0], pk__lte=batch[-1])
        anonymised += _process_chunk(
            population=population_by_key(request.population),
            pending=chunk,
            actor=request.requested_by,
            request_id=request_id,
        )
    if not subject_ids:  # nothing left here: the progress of chunks that died before recording it
        with transaction.atomic():
            _progress_count(request_id=request_id)
    return anonymised


def anonymisation_chunk_run(
    *, request_id: int, first_subject_id: int | None, last_subject_id: int | None
) -> list[int]:
    """A background chunk: anonymise it, then delete stored objects in whole DeleteObjects batches; the
    chunk that finishes the request deletes the rest, so a large request costs one call per 1,000 objects."""
    anonymised = anonymisation_request_process(
        request_id=request_id, first_subject_id=first_subject_id, last_subject_id=last_subject_id
    )
    finished = not AnonymisationRequest.objects.filter(
        pk=request_id, status__in=[AnonymisationRequest.Status.PENDING, AnonymisationRequest.Status.RUNNING]
    ).exists()
    pending_deletions_process(whole_batches_only=not finished, wait_for_locked=finished)
    return anonymised


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
