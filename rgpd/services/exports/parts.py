"""The life of one export part's job: claim under a lease, heartbeat, build, then ready or failed."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ... import storage as archive_storage
from ...models import AuditEvent, ExportPart
from .. import dispatch
from ..audit import audit_record
from .building import _build_archive, _BuildResult
from .lease import Lease, LeaseLost, lease_seconds

logger = logging.getLogger(__name__)


def retention() -> timedelta:
    return timedelta(days=settings.RGPD_ARCHIVE_RETENTION_DAYS)


def archive_name(part: ExportPart, attempt: int) -> str:
    """The object name of one attempt at a part (attempts never share a name)."""
    return (
        f"exports/{part.request_id}/gdpr-export-{part.request_id}-part-{part.number}"
        f"-of-{part.request.part_count}-a{attempt}.zip"
    )


# --- The life of a part's job -----------------------------------------------------------------------
def _part_claim(part_id: int, worker: str = "") -> tuple[ExportPart, Lease, str] | None:
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
    return part, Lease(part_id=part.pk, attempt=part.attempts), part.upload_id


def _discard_previous_attempts(part: ExportPart, attempt: int, previous_upload_id: str) -> None:
    """Remove what earlier attempts (a killed worker, a failed try) may have left in storage."""
    for earlier in range(attempt - 1, 0, -1):
        archive_storage.discard_archive(
            archive_name(part, earlier), upload_id=previous_upload_id if earlier == attempt - 1 else ""
        )


def _part_release(lease: Lease) -> None:
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
        dispatch.export_part(part_id)
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


def _part_fail(part: ExportPart, lease: Lease, exc: BaseException) -> bool:
    message, code = _readable_error(exc)
    with transaction.atomic():
        if lease._mine().update(status=ExportPart.Status.FAILED, error=str(message), heartbeat_at=None) != 1:
            return False
        audit_record(
            action=AuditEvent.Action.PART_FAILED,
            actor=part.request.requested_by,
            subject_ids=part.subjects.values_list("subject_id", flat=True),
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
        transaction.on_commit(partial(dispatch.export_email, part.request_id))
    logger.error("rgpd: export part %s failed (attempt %s): %s", part.pk, lease.attempt, code)
    return True


def _part_complete(part: ExportPart, lease: Lease, result: _BuildResult) -> bool:
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
        transaction.on_commit(partial(dispatch.export_email, part.request_id))
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
