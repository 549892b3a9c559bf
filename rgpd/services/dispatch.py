"""Sending a new job's task message once its request is recorded, whatever the broker's state.

An export or anonymisation request is recorded in the database first; its message is published once the
transaction commits. With the broker down, the publish fails within seconds (bounded publish retry and
socket timeouts: ``CELERY_*`` in settings) instead of hanging the web request; the request is then marked
``awaiting_broker``, the caller tells the user it is queued, and the periodic sweeps send the message as
soon as the broker answers again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import models, transaction
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# What a publish raises when the broker cannot be reached (kombu wraps connection errors in its own).
BROKER_ERRORS = (OperationalError, ConnectionError, TimeoutError)

# What the user is told (admin message, API answer, the request's page) about a request marked so.
QUEUED_NOTICE = _(
    "Recorded and queued: the task queue cannot be reached right now. "
    "It will start by itself as soon as the queue is back."
)


def send_after_commit(job: models.Model, send: Callable[[], object]) -> None:
    """Call ``send`` once the transaction commits; if the broker is unreachable, mark ``job`` for the sweep.

    ``job`` has an ``awaiting_broker`` field; the instance's attribute is set too, so that the caller
    (outside any transaction, the commit has run by then) can tell the user the job is queued.
    """

    def run() -> None:
        try:
            send()
        except BROKER_ERRORS as exc:
            type(job).objects.filter(pk=job.pk).update(awaiting_broker=True)
            job.awaiting_broker = True
            logger.warning(
                "rgpd: %s %s recorded but its task not sent, broker unreachable (%s): the periodic sweep "
                "will send it",
                job._meta.model_name,
                job.pk,
                type(exc).__name__,
            )

    transaction.on_commit(run, robust=True)


def awaiting_broker(model: type[models.Model]) -> list[int]:
    """Ids of the requests of ``model`` whose first message could not be sent."""
    return list(model.objects.filter(awaiting_broker=True).order_by("pk").values_list("pk", flat=True))


def sent(model: type[models.Model], pk: int) -> None:
    """The message of request ``pk`` has been sent at last: the sweep leaves it alone from now on."""
    model.objects.filter(pk=pk, awaiting_broker=True).update(awaiting_broker=False)
