"""Archive downloads (admin and API): permission first, then 404 / 410 / 409, then the bytes.

An archive whose stored object is gone is a 404 saying the file is missing.

On S3 the answer is a 302 to a presigned URL that lives at most 5 minutes and downloads as an
attachment; on local storage the archive is streamed. Every successful download is audited.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.translation import gettext as _

from contacts.downloads import file_missing_response

from ..models import ExportPart
from ..permissions import holds_rgpd_right
from ..selectors import export_requests_visible_to
from ..services.exports import ArchiveNotAvailable, download_filename, export_part_for_download
from ..storage import open_archive, presigned_archive_url


def archive_response(part: ExportPart) -> HttpResponse:
    """The download of a ready part: a redirect to a short-lived presigned URL, or the streamed file."""
    filename = download_filename(part)
    url = presigned_archive_url(part.object_key, filename=filename)
    if url:
        response: HttpResponse = HttpResponseRedirect(url)
    else:
        response = FileResponse(
            open_archive(part.object_key),
            as_attachment=True,
            filename=filename,
            content_type="application/zip",
        )
    response["Cache-Control"] = "no-store"
    return response


def unavailable_response(reason: str) -> HttpResponse:
    if reason == "expired":
        message, status = _("This archive has expired and has been deleted."), 410
    else:
        message, status = _("This archive is not ready."), 409
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def download_part(request: HttpRequest, *, request_id: int, number: int, channel: str) -> HttpResponse:
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
        if exc.reason == "missing":
            return file_missing_response(request, as_json=channel == "api")
        return unavailable_response(exc.reason)
    return archive_response(part)
