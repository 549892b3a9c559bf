"""Anonymisation tasks: ids in, one service call each."""

from __future__ import annotations

import logging

from celery import shared_task

from ..services import anonymisation as service

logger = logging.getLogger(__name__)


@shared_task(name="rgpd.anonymise_request")
def anonymise_request(
    request_id: int, first_subject_id: int | None = None, last_subject_id: int | None = None
) -> None:
    """Anonymise one chunk of a request (up to ``RGPD_ANONYMISATION_CHUNK_SIZE`` contacts), then delete stored
    objects in whole DeleteObjects batches.

    Chunks are enqueued together, so several workers share a large request; each is short, so 10,000
    contacts never hit a task time limit or the broker's visibility timeout.
    """
    service.anonymisation_chunk_run(
        request_id=request_id, first_subject_id=first_subject_id, last_subject_id=last_subject_id
    )


@shared_task(name="rgpd.enqueue_anonymisation_chunks")
def enqueue_anonymisation_chunks(request_id: int) -> None:
    """Send one ``rgpd.anonymise_request`` per chunk of a new request (the web request sends this one)."""
    service.anonymisation_request_enqueue(request_id=request_id)


# A storage hiccup after an anonymisation is retried within seconds (2, 4, 8 s): the officer's page shows
# "anonymisation en cours" meanwhile. After that the periodic task retries every few minutes.
FILE_DELETION_RETRIES = 3


@shared_task(bind=True, name="rgpd.finish_pending_deletions", max_retries=FILE_DELETION_RETRIES)
def finish_pending_deletions(
    self, population: str | None = None, subject_ids: list[int] | None = None
) -> None:
    """Delete stored objects left by anonymisations (all of them when run by beat; those of
    ``subject_ids`` of ``population`` after an anonymisation), and resume any anonymisation request
    whose task message was lost."""
    people = None if population is None or subject_ids is None else (population, subject_ids)
    report = service.pending_deletions_process(people=people)
    if report.deleted or report.failed:
        logger.info("rgpd: %s stored object(s) deleted, %s to retry", report.deleted, report.failed)
    if people is not None and report.failed and self.request.retries < FILE_DELETION_RETRIES:
        raise self.retry(countdown=2 ** (self.request.retries + 1))
    if people is None:
        service.tombstones_write_pending()  # tombstones not written when the storage was down
        for request_id in service.stale_anonymisation_requests():
            logger.info("rgpd: resuming anonymisation request %s", request_id)
            service.anonymisation_request_enqueue(request_id=request_id)
