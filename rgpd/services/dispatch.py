"""Sending a new job's task message once its request is recorded, whatever the broker's state.

An export or anonymisation request is recorded in the database first; its message is published once the
transaction commits. With the broker down, the publish fails within seconds (bounded publish retry and
socket timeouts: ``CELERY_*`` in settings) instead of hanging the web request; the request is then marked
``awaiting_broker``, the caller tells the user it is queued, and the periodic sweeps send the message as
soon as the broker answers again.

It is the one module that sends tasks (the only one importing ``rgpd.tasks``, lazily: the tasks import
the services): export tasks go to ``RGPD_EXPORT_QUEUE`` when it is set, anonymisation tasks to the
default queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import OperationalError

from ..models import AnonymisationRequest, ExportPart, ExportRequest

# The requests whose first task message is sent after commit (both have an ``awaiting_broker`` field).
BrokerJob = ExportRequest | AnonymisationRequest

logger = logging.getLogger(__name__)

ENQUEUE_DIRECT_MAX_PARTS = 10  # more parts than this: one fan-out task enqueues them (export_request)

# What a publish raises when the broker cannot be reached (kombu wraps connection errors in its own).
BROKER_ERRORS = (OperationalError, ConnectionError, TimeoutError)

# What the user is told (admin message, API answer, the request's page) about a request marked so.
QUEUED_NOTICE = _(
    "Recorded and queued: the task queue cannot be reached right now. "
    "It will start by itself as soon as the queue is back."
)


def send_after_commit(job: BrokerJob, send: Callable[[], object]) -> None:
    """Call ``send`` once the transaction commits; if the broker is unreachable, mark ``job`` for the sweep.

    ``job`` has an ``awaiting_broker`` field; the instance's attribute is set too, so that the caller
    (outside any transaction, the commit has run by then) can tell the user the job is queued.
    """

    def run() -> None:
        try:
            send()
        except BROKER_ERRORS as exc:
            type(job)._default_manager.filter(pk=job.pk).update(awaiting_broker=True)
            job.awaiting_broker = True
            logger.warning(
                "rgpd: %s %s recorded but its task not sent, broker unreachable (%s): the periodic sweep "
                "will send it",
                job._meta.model_name,
                job.pk,
                type(exc).__name__,
            )

    transaction.on_commit(run, robust=True)


def awaiting_broker(model: type[BrokerJob]) -> list[int]:
    """Ids of the requests of ``model`` whose first message could not be sent."""
    return list(
        model._default_manager.filter(awaiting_broker=True).order_by("pk").values_list("pk", flat=True)
    )


def sent(model: type[BrokerJob], pk: int) -> None:
    """The message of request ``pk`` has been sent at last: the sweep leaves it alone from now on."""
    model._default_manager.filter(pk=pk, awaiting_broker=True).update(awaiting_broker=False)


# --- Export tasks -----------------------------------------------------------------------------------
def _export_options() -> dict:
    return {"queue": settings.RGPD_EXPORT_QUEUE} if settings.RGPD_EXPORT_QUEUE else {}


def export_part(part_id: int) -> None:
    from ..tasks.exports import build_export_part

    build_export_part.apply_async((part_id,), **_export_options())


def export_pending_parts(request_id: int) -> int:
    """Send one build task per part of the request still pending; return how many (the fan-out task)."""
    part_ids = list(
        ExportPart.objects.filter(request_id=request_id, status=ExportPart.Status.PENDING)
        .order_by("number")
        .values_list("pk", flat=True)
    )
    for part_id in part_ids:
        export_part(part_id)
    return len(part_ids)


def export_request(request_id: int, part_count: int) -> None:
    """Send the tasks of a new request's parts (after commit, from the web request).

    A few parts are enqueued here, one message each: a row's export starts without an extra hop.
    Beyond that, publishing one message per part would keep the web request waiting (thousands of
    parts for a "select all" of a large base), so one fan-out task does it in a worker. If that
    message is lost, ``export_requests_resume_stalled`` sends the parts still pending after an hour.
    """
    if part_count <= ENQUEUE_DIRECT_MAX_PARTS:
        export_pending_parts(request_id)
        return
    from ..tasks.exports import enqueue_export_parts

    enqueue_export_parts.apply_async((request_id,), **_export_options())


def export_prepare(request_id: int) -> None:
    from ..tasks.exports import prepare_export_request

    prepare_export_request.apply_async((request_id,), **_export_options())


def export_email(request_id: int) -> None:
    from ..tasks.exports import send_export_email

    send_export_email.apply_async((request_id,), **_export_options())


# --- Anonymisation tasks ----------------------------------------------------------------------------
def anonymisation_request(request_id: int) -> None:
    """One message from the web request; a worker enqueues the chunks (a lost message is resumed by the
    periodic task once the request is stale)."""
    from ..tasks.anonymisation import enqueue_anonymisation_chunks

    enqueue_anonymisation_chunks.delay(request_id)


def anonymisation_chunk(request_id: int, first_subject_id: int, last_subject_id: int) -> None:
    from ..tasks.anonymisation import anonymise_request

    anonymise_request.delay(request_id, first_subject_id, last_subject_id)


def file_deletions(population: str, subject_ids: list[int]) -> None:
    """Delete the stored objects of just anonymised people in a worker (never fails the caller)."""
    from ..tasks.anonymisation import finish_pending_deletions

    try:
        finish_pending_deletions.delay(population=population, subject_ids=subject_ids)
    except Exception as exc:  # noqa: BLE001 - the periodic task picks the files up anyway
        logger.warning(
            "rgpd: could not enqueue file deletions (%s); the periodic task will", type(exc).__name__
        )
