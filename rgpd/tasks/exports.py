"""Export tasks: ids in, one service call each (status handling lives in the service)."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import connection

from ..services import exports as service
from .base import JobTask

logger = logging.getLogger(__name__)


@shared_task(bind=True, base=JobTask, name="rgpd.build_export_part")
def build_export_part(self: JobTask, part_id: int) -> str:
    """Build the archive of one export part (a second delivery of a claimed part does nothing)."""
    return service.export_part_build(
        part_id=part_id, final_attempt=self.is_final_attempt, worker=self.request.hostname or ""
    )


@shared_task(bind=True, base=JobTask, name="rgpd.prepare_export_request")
def prepare_export_request(self: JobTask, request_id: int) -> int:
    """Record the parts and people of a large "select all" accepted by the web request, then send their
    tasks (a second delivery finds the selection recorded and does nothing)."""
    return service.export_request_prepare(request_id=request_id)


@shared_task(name="rgpd.enqueue_export_parts")
def enqueue_export_parts(request_id: int) -> int:
    """Send the build task of every pending part of a request with many parts (the fan-out).

    Sent once by the web request instead of one message per part; a second delivery only sends
    duplicates, which the parts' claim makes harmless.
    """
    return service.export_request_enqueue_parts(request_id=request_id)


@shared_task(
    bind=True,
    base=JobTask,
    name="rgpd.send_export_email",
    autoretry_for=(service.EmailNotSent,),
    max_retries=settings.RGPD_EMAIL_MAX_RETRIES,
)
def send_export_email(self: JobTask, request_id: int) -> bool:
    """Email the requester once every part of the request is ready or failed (exactly once).

    An email server that is down is retried with backoff; after the last attempt the failure stays
    on the request, whose page offers to send it again.
    """
    try:
        return service.export_request_notify(request_id=request_id)
    except service.EmailNotSent:
        if not self.is_final_attempt:
            raise
        logger.error(
            "rgpd: export request %s: email not sent, giving up (its page can resend it)", request_id
        )
        return False


@shared_task(name="rgpd.purge_expired_archives")
def purge_expired_archives() -> int:
    """Hourly (beat): delete the archives whose retention is over and mark their parts expired."""
    return service.export_archives_purge()


@shared_task(name="rgpd.resume_stalled_exports")
def resume_stalled_exports() -> dict[str, int]:
    """Every few minutes (beat): send again the tasks of parts and emails whose message was lost."""
    return service.export_requests_resume_stalled()


@worker_ready.connect
def resume_parts_of_previous_run(sender, **kwargs) -> None:
    """A worker (re)starting takes back at once the parts its previous run, killed, left behind."""
    try:
        service.export_parts_reclaim(worker=sender.hostname)
    finally:
        connection.close()  # the main process runs no task: keep no connection open there
