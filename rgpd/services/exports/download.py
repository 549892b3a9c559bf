"""Downloading a ready part: checked, then audited."""

from __future__ import annotations

import logging

from django.utils import timezone

from ... import storage as archive_storage
from ...models import AuditEvent, ExportPart
from ..audit import audit_record

logger = logging.getLogger(__name__)


class ArchiveNotAvailable(Exception):
    """The part exists but cannot be downloaded (``expired``, ``not_ready`` or ``missing``)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def download_filename(part: ExportPart) -> str:
    if part.request.part_count <= 1:
        return f"gdpr-export-{part.request_id}.zip"
    return f"gdpr-export-{part.request_id}-part-{part.number}-of-{part.request.part_count}.zip"


# --- Download ---------------------------------------------------------------------------------------
def export_part_for_download(*, request_id: int, number: int, actor, channel: str) -> ExportPart:
    """The ready part ``number`` of request ``request_id``, its download audited.

    Raises ``ExportPart.DoesNotExist`` (unknown), ``ArchiveNotAvailable("expired")``,
    ``ArchiveNotAvailable("not_ready")`` or ``ArchiveNotAvailable("missing")`` (its stored object is
    gone: logged, not audited as a download). The caller has checked the permission first.
    """
    part = ExportPart.objects.select_related("request").get(request_id=request_id, number=number)
    if part.status == ExportPart.Status.EXPIRED or (part.expires_at and part.expires_at <= timezone.now()):
        raise ArchiveNotAvailable("expired")
    if part.status != ExportPart.Status.READY or not part.object_key:
        raise ArchiveNotAvailable("not_ready")
    if not archive_storage.archive_exists(part.object_key):
        logger.warning("Stored file missing: archive part %s of export request %s", part.number, request_id)
        raise ArchiveNotAvailable("missing")
    audit_record(
        action=AuditEvent.Action.ARCHIVE_DOWNLOADED,
        actor=actor,
        subject_ids=part.subjects.values_list("subject_id", flat=True),
        export_request=part.request,
        counts={"subjects": part.subject_count},
        details={"part": part.number, "channel": channel},
    )
    return part
