"""What may be uploaded: a type decided from the file's content (libmagic), never from the client, and a size.

Validators run in the forms' validation, before anything reaches the storage.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING

import magic
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import models
from django.db.models.fields.files import FieldFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise  # the stubs' type of a lazy string

PDF = {"application/pdf"}
IMAGES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/heic"}
OFFICE = {
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/rtf",
    "text/rtf",
}
DOCUMENT_TYPES = frozenset(PDF | IMAGES | OFFICE)
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
# Served as such to browsers; anything else stored before these checks is served as a plain download.
FALLBACK_TYPE = "application/octet-stream"
# Office files are zip or OLE containers: libmagic needs more than the first bytes to name them.
_SNIFF_BYTES = 1024 * 1024


def detected_type(upload: File) -> str:
    """The MIME type of the file's content."""
    path = getattr(upload, "temporary_file_path", None)
    if path is not None:
        return magic.from_file(path(), mime=True)
    position = upload.tell() if hasattr(upload, "tell") else 0
    upload.seek(0)
    head = upload.read(_SNIFF_BYTES)
    upload.seek(position)
    return magic.from_buffer(head, mime=True)


def served_type(stored_type: str) -> str:
    """The Content-Type a stored document is served with: a known safe type, else a plain download."""
    return stored_type if stored_type in DOCUMENT_TYPES else FALLBACK_TYPE


def _check_size(upload: File) -> None:
    limit = settings.UPLOAD_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ValidationError(
            _("This file is too large (%(size)s): the limit is %(limit)s."),
            code="file_too_large",
            params={"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
        )


def _check_type(upload: File, allowed: frozenset[str], accepted: str) -> None:
    if detected_type(upload) not in allowed:
        raise ValidationError(
            _("This type of file is not accepted. Accepted: %(accepted)s."),
            code="file_type_refused",
            params={"accepted": accepted},
        )


def is_new_upload(value: FieldFile) -> bool:
    """Whether the field holds a file just uploaded, not yet in the storage (Django's ``_committed``)."""
    # Read with getattr: django-stubs leaves Django's private flag out of FieldFile.
    return bool(value) and not getattr(value, "_committed", True)


@dataclass(frozen=True)
class UploadDescription:
    """What is recorded of an uploaded document: its name, type (from its bytes), size and sha256."""

    original_name: str
    content_type: str
    size: int
    sha256: str


def describe_new_upload(value: FieldFile) -> UploadDescription | None:
    """Describe a file that has just been uploaded (not yet stored); None for a stored one."""
    upload = value.file if is_new_upload(value) else None
    if upload is None:
        return None
    digest = hashlib.sha256()
    size = 0
    for chunk in upload.chunks():
        digest.update(chunk)
        size += len(chunk)
    upload.seek(0)
    return UploadDescription(
        original_name=PurePath(value.name or "").name[:255],
        # Decided from the bytes: the type the client claims is never stored nor served back.
        content_type=detected_type(upload)[:120],
        size=size,
        sha256=digest.hexdigest(),
    )


def validate_document_upload(value: FieldFile) -> None:
    # A stored file is not checked again (its bytes live in the storage, not in the request).
    if is_new_upload(value):
        _check_size(value.file)
        _check_type(
            value.file,
            DOCUMENT_TYPES,
            str(_("PDF, images (JPEG, PNG, GIF, WebP, TIFF, HEIC), office documents")),
        )


def validate_photo_upload(value: FieldFile) -> None:
    if is_new_upload(value):
        _check_size(value.file)
        _check_type(value.file, PHOTO_TYPES, str(_("JPEG, PNG, GIF or WebP images")))


def safe_extension(filename: str) -> str:
    """Keep a short alphanumeric extension only: the stored name never carries user text."""
    suffix = PurePath(filename or "").suffix.lower()
    return suffix if 1 < len(suffix) <= 8 and suffix[1:].isalnum() else ""


UPLOADED_BY = _("uploaded by")


def uploader_field(verbose_name: str | _StrPromise = UPLOADED_BY) -> models.ForeignKey:
    """Who uploaded (or recorded) a row: kept when the account goes (the row outlives the account)."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
