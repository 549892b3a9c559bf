"""The storage side of stored files: S3 detection, client and keys, bulk delete, presigned URLs.

Files live either in an S3-compatible bucket (django-storages' ``S3Storage``) or on the local disk
(``FileSystemStorage``). Code that needs to know which asks ``is_s3`` here, and nowhere else.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeGuard

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation, SuspiciousOperation
from django.core.files.storage import FileSystemStorage, Storage
from django.utils.http import content_disposition_header
from storages.utils import clean_name

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    class ObjectStorage(Storage):
        """What is used here of django-storages' S3Storage (the library ships no types)."""

        bucket_name: str
        location: str
        connection: Any

        def _normalize_name(self, name: str) -> str: ...
        def url(
            self, name: str | None, parameters: dict[str, str] | None = None, expire: int | None = None
        ) -> str: ...


# The most keys one DeleteObjects call accepts.
S3_DELETE_BATCH = 1000


def is_s3(storage: Storage) -> TypeGuard[ObjectStorage]:
    """Whether files live in an S3-compatible bucket, not on the local disk."""
    # No S3 storage exists until django-storages' S3 module is loaded: asking must not load it (it
    # brings boto3, ~10 MB resident in every worker of a local-storage installation).
    module = sys.modules.get("storages.backends.s3")
    return module is not None and isinstance(storage, module.S3Storage)


def s3_client(storage: ObjectStorage) -> S3Client:
    """The boto3 client of this thread's connection (django-storages keeps one per thread)."""
    return storage.connection.meta.client


def s3_key(storage: ObjectStorage, name: str) -> str:
    """The bucket key of ``name`` (the storage's ``location`` prefix included), as its ``save()`` used."""
    return storage._normalize_name(clean_name(name))


def is_not_found(exc: ClientError) -> bool:
    """Whether S3 answered that the object (or bucket) does not exist."""
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 404 or error.get("Code") in {"NoSuchKey", "NotFound", "404"}


def delete_stored_files(storage: Storage, names: Sequence[str]) -> dict[str, str]:
    """Delete ``names`` from ``storage``; return {name: error code} of those that may remain.

    On S3, one DeleteObjects call per ``S3_DELETE_BATCH`` keys. It answers key by key: a key it does not
    list as an error is gone (deleting a missing key succeeds too), so no HEAD per key is needed. Other
    storages delete one by one; those other than the local disk are asked whether the file remains. A
    name that fails is reported, never raised: the others are deleted all the same.
    """
    if not is_s3(storage):
        return _delete_one_by_one(storage, names)
    errors: dict[str, str] = {}
    names_by_key: dict[str, str] = {}
    for name in names:
        try:
            names_by_key[s3_key(storage, name)] = name
        except SuspiciousOperation as exc:  # a name outside the storage's location: reported, not deleted
            errors[name] = type(exc).__name__[:64]
    client, bucket = s3_client(storage), storage.bucket_name
    keys = list(names_by_key)
    for start in range(0, len(keys), S3_DELETE_BATCH):
        batch = keys[start : start + S3_DELETE_BATCH]
        try:
            response = client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
            )
        except (BotoCoreError, ClientError) as exc:
            errors.update({names_by_key[key]: type(exc).__name__[:64] for key in batch})
            continue
        for error in response.get("Errors", []):
            key = error.get("Key", "")
            if key in names_by_key:
                errors[names_by_key[key]] = str(error.get("Code", "error"))[:64]
    return errors


def _delete_one_by_one(storage: Storage, names: Sequence[str]) -> dict[str, str]:
    # On the local disk a removal that returns removed the name (os.remove raises otherwise): no second
    # look, and no look before either (FileSystemStorage.delete asks whether it is a folder: one more
    # system call per file, for names that only ever are files). Other storages are asked.
    root = os.path.abspath(storage.location) if isinstance(storage, FileSystemStorage) else None
    errors: dict[str, str] = {}
    for name in names:
        try:
            if root is not None:
                _remove_local(_local_path(root, name))
            else:
                storage.delete(name)
                if storage.exists(name):
                    errors[name] = "still_present"
        except Exception as exc:  # noqa: BLE001 - any storage failure is reported, and retried by the caller
            errors[name] = type(exc).__name__[:64]
    return errors


def _local_path(root: str, name: str) -> str:
    """``FileSystemStorage.path(name)`` for a storage whose root is ``root``, with the root resolved once
    per batch rather than per file: a name resolving outside it is refused, as Django's safe_join does."""
    path = os.path.normpath(os.path.join(root, name))
    if not path.startswith(root.rstrip(os.sep) + os.sep):
        raise SuspiciousFileOperation(f"{name!r} is outside the storage's location")
    return path


def _remove_local(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):  # already gone: what was asked
        os.remove(path)


def presigned_url(
    storage: ObjectStorage,
    name: str,
    *,
    filename: str,
    content_type: str = "",
    as_attachment: bool = True,
    cache_control: str = "",
) -> str:
    """A GET URL of ``name`` valid ``STORAGE_URL_SECONDS``, whose answer carries the given headers.

    S3 sets the answer's Content-Disposition, Content-Type and Cache-Control from the signed query, so
    the file downloads as ``filename`` (RFC 6266 quoting: a user's file name cannot break the header).
    """
    parameters: dict[str, str] = {}
    disposition = content_disposition_header(as_attachment, filename)
    if disposition:  # None only for an inline file without a name
        parameters["ResponseContentDisposition"] = disposition
    if content_type:
        parameters["ResponseContentType"] = content_type
    if cache_control:
        parameters["ResponseCacheControl"] = cache_control
    return storage.url(name, parameters=parameters, expire=settings.STORAGE_URL_SECONDS)
