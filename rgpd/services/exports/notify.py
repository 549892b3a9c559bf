"""The requester's one email when a request is finished, and sending it again after a failure."""

from __future__ import annotations

import logging
import smtplib

from django.db import transaction
from django.utils import timezone

from ...models import ExportRequest
from ...selectors import export_request_progress
from .. import dispatch

logger = logging.getLogger(__name__)


class EmailNotSent(Exception):
    """The email server refused or could not be reached; the message is the error's class name only
    (the error's own text may quote an address, and Celery logs what a task raises)."""


# ``email_error`` of a request whose requester has no email address: nothing was sent, its page says why.
NO_EMAIL_ADDRESS = "NoEmailAddress"

# What sending an email raises when the server is down, refuses, or drops the connection.
EMAIL_ERRORS = (smtplib.SMTPException, OSError)


# --- Email ------------------------------------------------------------------------------------------
def export_request_notify(*, request_id: int) -> bool:
    """Send the requester the one email of a finished request (all parts ready or failed).

    ``notified_at`` is claimed with a conditional update inside the transaction that sends: two
    calls at once send one email, and a failed send leaves the claim free for the retry. A failed
    send is recorded on the request (its page offers to send it again) and raised as ``EmailNotSent``
    for the task to retry. Return True if this call sent it.
    """
    from ...emails import send_export_finished_email

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
                # Recorded as not sent (never as "email sent at"), with why; the periodic sweep leaves it.
                ExportRequest.objects.filter(pk=request_id).update(
                    notified_at=None, email_failed_at=timezone.now(), email_error=NO_EMAIL_ADDRESS
                )
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
        dispatch.export_email(request_id)
    except dispatch.BROKER_ERRORS:
        ExportRequest.objects.filter(pk=request_id, notified_at=None, email_failed_at=None).update(
            email_failed_at=failure[0], email_error=failure[1]
        )
        raise
    logger.info("rgpd: export request %s: its email queued again on request", request_id)
    return True
