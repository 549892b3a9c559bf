"""Serve a stored file to a user who has been allowed to see it, without ever exposing a storage URL.

One response for documents, photos and RGPD archives alike. On S3 it is a redirect to a presigned URL
that lives ``STORAGE_URL_SECONDS`` and forces the download's headers; on local storage Django streams
the file. Either way the answer carries ``DOWNLOAD_HEADERS``. A file whose stored object is gone gets
a 404 saying so (not a storage error, nor S3's own XML answer behind the redirect).
"""

from __future__ import annotations

import logging

from django.contrib import admin
from django.core.files.storage import Storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _

from .objects import is_s3, presigned_url

logger = logging.getLogger(__name__)

# A download, or the redirect carrying its signed URL, is kept by no browser or proxy, leaks no
# Referer to the bucket, and is never sniffed into another type than the one it is served as.
CACHE_CONTROL = "private, no-store"
DOWNLOAD_HEADERS = {
    "Cache-Control": CACHE_CONTROL,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def file_missing_response(request: HttpRequest, *, as_json: bool = False) -> HttpResponse:
    """404 saying that the stored file is missing: the back office's page, or JSON for the API."""
    message = _("This file is missing from the storage: it cannot be downloaded. Tell an administrator.")
    if as_json:
        return JsonResponse({"detail": message, "code": "file_missing"}, status=404)  # the API's error format
    context = {**admin.site.each_context(request), "title": _("File missing"), "message": message}
    return render(request, "404.html", context, status=404)


def log_file_missing(described_as: str) -> None:
    """One warning line naming the file by ids only (storage keys may hold a person's file name)."""
    logger.warning("Stored file missing: %s", described_as)


def stored_file_response(
    *,
    request: HttpRequest,
    storage: Storage,
    name: str,
    filename: str,
    described_as: str,
    content_type: str = "",
    as_attachment: bool = True,
    as_json: bool = False,
) -> HttpResponseBase:
    """Answer with the stored object ``name``, offered to the browser as ``filename``.

    ``described_as`` names the file in the log when it is missing, by ids only: ``"document 12"``.
    ``as_json``: the 404 of a missing file is JSON (the API), not the back office's page.
    """
    if not storage.exists(name):
        log_file_missing(described_as)
        return file_missing_response(request, as_json=as_json)
    response: HttpResponseBase
    if is_s3(storage):
        url = presigned_url(
            storage,
            name,
            filename=filename,
            content_type=content_type,
            as_attachment=as_attachment,
            cache_control=CACHE_CONTROL,
        )
        response = HttpResponseRedirect(url)
    else:
        try:
            handle = storage.open(name, "rb")
        except FileNotFoundError:  # deleted since the check above
            log_file_missing(described_as)
            return file_missing_response(request, as_json=as_json)
        response = FileResponse(
            handle, as_attachment=as_attachment, filename=filename, content_type=content_type or None
        )
    for header, value in DOWNLOAD_HEADERS.items():
        response[header] = value
    return response
