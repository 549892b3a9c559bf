"""Periodic upkeep of exports: expired archives purged, work left behind by lost messages resumed."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ... import storage as archive_storage
from ...filters import ANONYMISED_AT_FIELD
from ...models import AuditEvent, ExportPart, ExportRequest, ExportSubject
from ...populations import all_populations
from .. import dispatch
from ..audit import audit_record
from .lease import lease_seconds

logger = logging.getLogger(__name__)


# --- Expiry -----------------------------------------------------------------------------------------
def export_archives_purge(*, now: datetime | None = None) -> int:
    """Delete the objects of ready parts whose expiry has come, mark them expired; return how many.

    Each part is taken with ``SELECT … FOR UPDATE SKIP LOCKED`` and re-checked, so two purges at
    once share the work and each part is deleted and audited once. A storage error leaves the part
    ready (and still refused for download by its expiry date) for the next run.
    """
    now = now or timezone.now()
    due = ExportPart.objects.filter(status=ExportPart.Status.READY, expires_at__lte=now)
    purged = 0
    for part_id in list(due.values_list("pk", flat=True)):
        try:
            with transaction.atomic():
                # Lock the part's row only: its request's row may be held by the email being sent.
                part = (
                    due.select_for_update(skip_locked=True, of=("self",))
                    .select_related("request")
                    .filter(pk=part_id)
                    .first()
                )
                if part is None:
                    continue
                archive_storage.delete_archive(part.object_key)
                ExportPart.objects.filter(pk=part.pk).update(status=ExportPart.Status.EXPIRED, purged_at=now)
                audit_record(
                    action=AuditEvent.Action.ARCHIVE_PURGED,
                    subject_ids=part.subjects.values_list("subject_id", flat=True),
                    export_request=part.request,
                    counts={"subjects": part.subject_count},
                    details={"part": part.number},
                )
            purged += 1
        except archive_storage.STORAGE_ERRORS:
            logger.warning(
                "rgpd: could not delete the archive of export part %s, will retry", part_id, exc_info=True
            )
    if purged:
        logger.info("rgpd: %s expired archive part(s) purged", purged)
    selection_labels_clear()
    return purged


def selection_labels_clear() -> int:
    """Forget the search that chose an export's people (it may be a name) once it serves nobody: with the
    last archive holding them (expired, or the export failed), or once all its people are anonymised.
    Run with every purge; returns how many requests it cleared."""
    labelled = ExportRequest.objects.exclude(selection_label="").filter(pending_selection_sql="")
    live = [ExportPart.Status.PENDING, ExportPart.Status.RUNNING, ExportPart.Status.READY]
    cleared = labelled.exclude(parts__status__in=live).update(selection_label="")
    for population in all_populations():
        someone = population.subject.model._default_manager.filter(
            pk=OuterRef("subject_id"), **{f"{ANONYMISED_AT_FIELD}__isnull": True}
        )
        not_anonymised = ExportSubject.objects.filter(part__request=OuterRef("pk")).filter(Exists(someone))
        cleared += (
            labelled.filter(population=population.key)
            .exclude(Exists(not_anonymised))
            .update(selection_label="")
        )
    return cleared


# --- Nothing lost -----------------------------------------------------------------------------------
PENDING_RESUME_AFTER = timedelta(hours=1)
# A selection is recorded in seconds: one still waiting after this lost its message (a duplicate is a no-op).
PREPARE_RESUME_AFTER = timedelta(minutes=10)


def export_requests_resume_stalled(*, now: datetime | None = None) -> dict[str, int]:
    """Re-enqueue what a lost task message left behind (periodic, from beat); return the counts.

    A part running without a heartbeat for one lease, or still pending an hour after it was created
    (a backlog is normal, an hour-old one means a lost message: a broker flushed, a worker gone), has
    its task sent again; the claim makes a duplicate harmless. A request recorded while the broker
    was unreachable gets its first message now. A finished request whose email was never tried gets
    its email task again; the ``notified_at`` claim sends it at most once (one whose sending failed is
    the worker's retries' and then its page's button's, not this sweep's).
    """
    now = now or timezone.now()
    undispatched = dispatch.awaiting_broker(ExportRequest)
    for export_request in ExportRequest.objects.filter(pk__in=undispatched):
        if export_request.pending_selection_sql:
            dispatch.export_prepare(export_request.pk)
        else:
            dispatch.export_request(export_request.pk, export_request.part_count)
        dispatch.sent(ExportRequest, export_request.pk)
    stale = now - timedelta(seconds=lease_seconds())
    stalled_parts = list(
        ExportPart.objects.filter(
            Q(status=ExportPart.Status.PENDING, created_at__lt=now - PENDING_RESUME_AFTER)
            | Q(status=ExportPart.Status.RUNNING, heartbeat_at__lt=stale)
        ).values_list("pk", flat=True)
    )
    for part_id in stalled_parts:
        dispatch.export_part(part_id)
    unprepared = list(
        ExportRequest.objects.exclude(pending_selection_sql="")
        .filter(created_at__lt=now - PREPARE_RESUME_AFTER)
        .values_list("pk", flat=True)
    )
    for request_id in unprepared:
        dispatch.export_prepare(request_id)
    unfinished = ExportPart.objects.filter(
        request_id=OuterRef("pk"), status__in=[ExportPart.Status.PENDING, ExportPart.Status.RUNNING]
    )
    unnotified = list(
        ExportRequest.objects.filter(
            notified_at__isnull=True, email_failed_at__isnull=True, created_at__lt=stale, part_count__gt=0
        )
        .exclude(Exists(unfinished))
        .values_list("pk", flat=True)
    )
    for request_id in unnotified:
        dispatch.export_email(request_id)
    if stalled_parts or unnotified or unprepared or undispatched:
        logger.warning(
            "rgpd: resumed %s stalled export part(s), %s unsent email(s), %s unrecorded selection(s) and "
            "%s request(s) recorded while the broker was unreachable",
            len(stalled_parts),
            len(unnotified),
            len(unprepared),
            len(undispatched),
        )
    return {
        "parts": len(stalled_parts),
        "emails": len(unnotified),
        "selections": len(unprepared),
        "undispatched": len(undispatched),
    }
