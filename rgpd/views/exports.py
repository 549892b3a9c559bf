"""Archive downloads (admin and API): permission first, then 404 / 410 / 409, then the bytes.

An archive whose stored object is gone is a 404 saying the file is missing.

The bytes are served by the same response as a contact's documents (``gdpr_portal.stored_files``):
on S3 a 302 to a presigned URL that lives ``STORAGE_URL_SECONDS`` and downloads as an attachment, on
local storage the streamed archive. Every successful download is audited.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from gdpr_portal.stored_files.downloads import file_missing_response, stored_file_response

from ..models import ExportPart
from ..permissions import holds_rgpd_right
from ..selectors import export_requests_visible_to
from ..services.exports import ArchiveNotAvailable, download_filename, export_part_for_download
from ..storage import archive_storage


def archive_response(request: HttpRequest, part: ExportPart, *, channel: str) -> HttpResponseBase:
    """The download of a ready part: a redirect to a short-lived presigned URL, or the streamed file."""
    return stored_file_response(
        request=request,
        storage=archive_storage(),
        name=part.object_key,
        filename=download_filename(part),
        described_as=f"archive part {part.number} of export request {part.request_id}",
        content_type="application/zip",
        as_json=channel == "api",
    )


def unavailable_response(reason: str) -> HttpResponse:
    if reason == "expired":
        message, status = _("This archive has expired and has been deleted."), 410
    else:
        message, status = _("This archive is not ready."), 409
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def download_part(request: HttpRequest, *, request_id: int, number: int, channel: str) -> HttpResponseBase:
    """Check the right, find the part, audit the download and answer (shared by admin and API)."""
    if not holds_rgpd_right(request.user):
        raise PermissionDenied
    # An archive of a population whose right the user lacks is not theirs to see.
    if not export_requests_visible_to(request.user).filter(pk=request_id).exists():
        raise Http404(_("No such archive."))
    try:
        part = export_part_for_download(
            request_id=request_id, number=number, actor=request.user, channel=channel
        )
    except ExportPart.DoesNotExist as exc:
        raise Http404(_("No such archive.")) from exc
    except ArchiveNotAvailable as exc:
        if channel == "api":
            raise  # the API's exception handler answers in its error format (rgpd/api/errors.py)
        if exc.reason == "missing":
            return file_missing_response(request)
        return unavailable_response(exc.reason)
    return archive_response(request, part, channel=channel)
