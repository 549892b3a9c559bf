"""Serve a stored file to a user who has been allowed to see it, without ever exposing a storage URL.

On S3 the response is a redirect to a presigned URL that lives at most five minutes and forces a
download; on local storage the file is streamed by Django. A file whose stored object is gone gets a
404 page saying so (not a storage error, nor S3's own XML answer behind the redirect).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, TypeGuard

from django.contrib import admin
from django.core.files.storage import Storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

PRESIGNED_URL_MAX_AGE = 300  # seconds

if TYPE_CHECKING:

    class ObjectStorage(Storage):
        """What is used here of django-storages' S3Storage (the library ships no types)."""

        bucket_name: str

        def url(
            self, name: str | None, parameters: dict[str, str] | None = None, expire: int | None = None
        ) -> str: ...


def is_object_storage(storage: Storage) -> TypeGuard[ObjectStorage]:
    """Whether files live in an S3-compatible bucket (django-storages), not on the local disk."""
    return hasattr(storage, "bucket_name") and hasattr(storage, "connection")


def file_missing_response(request: HttpRequest) -> HttpResponse:
    """404 page saying the stored file is missing (the API raises rgpd.api.errors.ArchiveFileMissing)."""
    message = _("This file is missing from the storage: it cannot be downloaded. Tell an administrator.")
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
) -> HttpResponseBase:
    """Answer with the stored object ``name``, offered to the browser as ``filename``.

    ``described_as`` names the file in the log when it is missing, by ids only: ``"document 12"``.
    """
    if not storage.exists(name):
        log_file_missing(described_as)
        return file_missing_response(request)
    if is_object_storage(storage):
        parameters: dict[str, str] = {}
        disposition = content_disposition_header(as_attachment, filename)
        if disposition:  # None only for an inline file without a name
            parameters["ResponseContentDisposition"] = disposition
        if content_type:
            parameters["ResponseContentType"] = content_type
        url = storage.url(name, parameters=parameters, expire=PRESIGNED_URL_MAX_AGE)
        redirect = HttpResponseRedirect(url)
        # The redirect carries a signed URL: neither browsers nor proxies may keep it.
        redirect["Cache-Control"] = "no-store, private"
        redirect["Referrer-Policy"] = "no-referrer"
        return redirect
    try:
        handle = storage.open(name, "rb")
    except FileNotFoundError:  # deleted since the check above
        log_file_missing(described_as)
        return file_missing_response(request)
    response = FileResponse(
        handle,
        as_attachment=as_attachment,
        filename=filename,
        content_type=content_type or None,
    )
    response["Cache-Control"] = "no-store, private"
    return response
