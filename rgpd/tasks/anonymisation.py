"""Anonymisation tasks: ids in, one service call each."""

from __future__ import annotations

import logging

from celery import shared_task

from ..services import anonymisation as service

logger = logging.getLogger(__name__)


@shared_task(name="rgpd.anonymise_request")
def anonymise_request(request_id: int) -> None:
    """Anonymise the next chunk of a request, delete the chunk's files, then enqueue the next chunk.

    A chunk is short (``RGPD_ANONYMISATION_CHUNK_SIZE`` contacts), so 10,000 contacts never hit a
    task time limit or the broker's visibility timeout, and other work interleaves.
    """
    anonymised = service.anonymisation_request_process(
        request_id=request_id, max_contacts=service.chunk_size()
    )
    if anonymised:
        service.pending_deletions_process(contact_ids=anonymised)
    if service.anonymisation_request_has_more(request_id=request_id):
        anonymise_request.delay(request_id)


@shared_task(name="rgpd.finish_pending_deletions")
def finish_pending_deletions(contact_ids: list[int] | None = None) -> None:
    """Delete stored objects left by anonymisations (all of them when run by beat), and resume any
    anonymisation request whose task message was lost."""
    report = service.pending_deletions_process(contact_ids=contact_ids)
    if report.deleted or report.failed:
        logger.info("rgpd: %s stored object(s) deleted, %s to retry", report.deleted, report.failed)
    if contact_ids is None:
        for request_id in service.stale_anonymisation_requests():
            logger.info("rgpd: resuming anonymisation request %s", request_id)
            anonymise_request.delay(request_id)
