"""An anonymisation request's chunks: how many people a task takes, each chunk anonymised and its progress
recorded in one transaction, and the background chunk's deletion of stored objects."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from ...models import AnonymisationRequest, AnonymisationSubject, AuditEvent
from ...populations import Population
from ...populations import population as population_by_key
from ..audit import audit_event
from .core import _anonymise_isolating_failures
from .deletions import pending_deletions_process
from .eligibility import Reason


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
