"""Serve a stored file to a user who has been allowed to see it, without ever exposing a storage URL.

On S3 the response is a redirect to a presigned URL that lives at most five minutes and forces a
download; on local storage the file is streamed by Django.
"""

from __future__ import annotations

from django.core.files.storage import Storage
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header

PRESIGNED_URL_MAX_AGE = 300  # seconds


def is_object_storage(storage: Storage) -> bool:
    """Whether files live in an S3-compatible bucket (django-storages), not on the local disk."""
    return hasattr(storage, "bucket_name") and hasattr(storage, "connection")


def stored_file_response(
    *, storage: Storage, name: str, filename: str, content_type: str = "", as_attachment: bool = True
) -> HttpResponse:
    """Answer with the stored object ``name``, offered to the browser as ``filename``."""
    if is_object_storage(storage):
        parameters = {
            "ResponseContentDisposition": content_disposition_header(as_attachment, filename),
        }
        if content_type:
            parameters["ResponseContentType"] = content_type
        url = storage.url(name, parameters=parameters, expire=PRESIGNED_URL_MAX_AGE)
        response = HttpResponseRedirect(url)
        # The redirect carries a signed URL: neither browsers nor proxies may keep it.
        response["Cache-Control"] = "no-store, private"
        response["Referrer-Policy"] = "no-referrer"
        return response
    response = FileResponse(
        storage.open(name, "rb"),
        as_attachment=as_attachment,
        filename=filename,
        content_type=content_type or None,
    )
    response["Cache-Control"] = "no-store, private"
    return response
