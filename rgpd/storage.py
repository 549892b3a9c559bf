"""Where RGPD archives live, and how bytes stream in and out of storage.

Archives are written to the ``rgpd_archives`` storage: on S3 with a multipart upload (the object
appears under its key only when the upload completes; any failure aborts it), on a
``FileSystemStorage`` to a temporary name in the same directory, renamed when complete. Stored files
(documents, photos) are read in chunks. Nothing is held whole in memory, and on S3 nothing touches
the local disk. What archives share with other stored files (S3 detection, keys, the download
response) is ``gdpr_portal.stored_files``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.storage import FileSystemStorage, Storage, default_storage, storages

from gdpr_portal.stored_files.objects import is_not_found, is_s3, s3_client, s3_key

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef, LifecycleRuleOutputTypeDef

    from gdpr_portal.stored_files.objects import ObjectStorage

logger = logging.getLogger(__name__)

ARCHIVES_STORAGE = "rgpd_archives"
# S3 multipart parts must be at least 5 MiB (except the last); this bounds a worker's buffer.
UPLOAD_PART_SIZE = 8 * 1024 * 1024
READ_CHUNK_SIZE = 1024 * 1024
LIFECYCLE_RULE_ID = "rgpd-archives-expiry"

# Errors of the storage layer: a build that meets one is retried with backoff.
STORAGE_ERRORS: tuple[type[BaseException], ...] = (BotoCoreError, ClientError, OSError)


class StoredFileMissing(Exception):
    """The stored object of a file field does not exist (any more)."""


def archive_storage() -> Storage:
    return storages[ARCHIVES_STORAGE]


# --- Reading stored files -------------------------------------------------------------------------
def iter_stored_file(name: str, *, storage: Storage | None = None) -> Iterator[bytes]:
    """Yield the bytes of a stored file in chunks.

    The object is opened before the first chunk is yielded: a missing object raises
    ``StoredFileMissing`` at once, before anything was written anywhere. On S3 the body is streamed
    from ``GetObject`` (django-storages' ``S3File`` would download the whole object first).
    """
    storage = storage or default_storage
    if is_s3(storage):
        try:
            body = s3_client(storage).get_object(Bucket=storage.bucket_name, Key=s3_key(storage, name))[
                "Body"
            ]
        except ClientError as exc:
            if is_not_found(exc):
                raise StoredFileMissing(name) from exc
            raise
        return _close_after(body.iter_chunks(READ_CHUNK_SIZE), body.close)
    try:
        handle = storage.open(name, "rb")
    except FileNotFoundError as exc:
        raise StoredFileMissing(name) from exc
    return _close_after(handle.chunks(READ_CHUNK_SIZE), handle.close)


def _close_after(chunks: Iterator[bytes], close: Callable[[], None]) -> Iterator[bytes]:
    try:
        yield from chunks
    finally:
        close()


# --- Writing archives -----------------------------------------------------------------------------
class ArchiveSink(Protocol):
    """A write-only, non-seekable byte sink whose object appears only on ``commit()``."""

    def write(self, data: bytes) -> int: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


class S3MultipartSink:
    """Write an object to S3 with a multipart upload, ``UPLOAD_PART_SIZE`` bytes at a time."""

    def __init__(self, storage: ObjectStorage, name: str, *, on_started: Callable[[str], None] | None = None):
        self.client = s3_client(storage)
        self.bucket = storage.bucket_name
        self.key = s3_key(storage, name)
        self.buffer = io.BytesIO()
        self.parts: list[CompletedPartTypeDef] = []
        upload = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=self.key, ContentType="application/zip"
        )
        self.upload_id: str = upload["UploadId"]
        if on_started is not None:
            try:
                on_started(self.upload_id)
            except BaseException:
                self.abort()
                raise

    def write(self, data: bytes) -> int:
        self.buffer.write(data)
        if self.buffer.tell() >= UPLOAD_PART_SIZE:
            self._upload_buffer()
        return len(data)

    def _upload_buffer(self) -> None:
        number = len(self.parts) + 1
        # The buffer itself is the body (no copy): botocore reads it in chunks to sign it.
        self.buffer.seek(0)
        response = self.client.upload_part(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=self.buffer,
        )
        self.parts.append({"ETag": response["ETag"], "PartNumber": number})
        self.buffer = io.BytesIO()

    def commit(self) -> None:
        try:
            if self.buffer.tell() or not self.parts:
                self._upload_buffer()
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": self.parts},
            )
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        self.buffer = io.BytesIO()
        abort_upload(self.client, self.bucket, self.key, self.upload_id)


class LocalAtomicSink:
    """Write a file to a temporary name next to its final one; rename it when complete."""

    def __init__(self, storage: FileSystemStorage, name: str):
        self.path = storage.path(name)
        self.temp_path = incomplete_path(self.path)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.handle = open(self.temp_path, "wb")  # noqa: SIM115 - closed by commit() or abort()

    def write(self, data: bytes) -> int:
        return self.handle.write(data)

    def commit(self) -> None:
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
            self.handle.close()
            os.replace(self.temp_path, self.path)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp_path)


def incomplete_path(path: str) -> str:
    return f"{path}.incomplete"


def open_archive_sink(name: str, *, on_upload_started: Callable[[str], None] | None = None) -> ArchiveSink:
    """A sink writing the archive ``name`` into the archives storage."""
    storage = archive_storage()
    if is_s3(storage):
        return S3MultipartSink(storage, name, on_started=on_upload_started)
    if isinstance(storage, FileSystemStorage):
        return LocalAtomicSink(storage, name)
    raise NotImplementedError(f"Archives cannot be streamed to {type(storage).__name__}.")


def abort_upload(client, bucket: str, key: str, upload_id: str) -> None:
    """Abort a multipart upload; one that is already gone is fine."""
    try:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in {"NoSuchUpload", "404", "NotFound"}:
            raise


def discard_archive(name: str, *, upload_id: str = "") -> None:
    """Remove whatever an attempt left under ``name``: its object, its multipart upload, its temp file."""
    storage = archive_storage()
    if is_s3(storage) and upload_id:
        abort_upload(s3_client(storage), storage.bucket_name, s3_key(storage, name), upload_id)
    if isinstance(storage, FileSystemStorage):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(incomplete_path(storage.path(name)))
    storage.delete(name)


def delete_archive(name: str) -> None:
    archive_storage().delete(name)


# --- Reading archives ------------------------------------------------------------------------------
def open_archive(name: str):
    return archive_storage().open(name, "rb")


def archive_exists(name: str) -> bool:
    return archive_storage().exists(name)


# --- Bucket setup ---------------------------------------------------------------------------------
def setup_archive_bucket(*, retention_days: int) -> list[str]:
    """Create the bucket if missing and install the archives' lifecycle rule; return what was done.

    The rule is the safety net of the hourly purge: archives are deleted one day after their
    retention, and incomplete multipart uploads (a worker killed mid-build) are aborted after a day.
    Rules of other prefixes are kept.
    """
    storage = archive_storage()
    if not is_s3(storage):
        assert isinstance(storage, FileSystemStorage), "archives live in a bucket or on the local disk"
        os.makedirs(storage.location, exist_ok=True)
        return [f"local archives directory {storage.location}"]
    client = s3_client(storage)
    bucket = storage.bucket_name
    done = []
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if not is_not_found(exc) and exc.response.get("Error", {}).get("Code") != "NoSuchBucket":
            raise
        client.create_bucket(Bucket=bucket)
        done.append(f"created bucket {bucket}")
    try:
        rules = client.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchLifecycleConfiguration" and not is_not_found(
            exc
        ):
            raise
        rules = []
    prefix = storage.location.strip("/") + "/"
    rule: LifecycleRuleOutputTypeDef = {
        "ID": LIFECYCLE_RULE_ID,
        "Filter": {"Prefix": prefix},
        "Status": "Enabled",
        "Expiration": {"Days": retention_days + 1},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    }
    rules = [r for r in rules if r.get("ID") != LIFECYCLE_RULE_ID] + [rule]
    client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    done.append(
        f"lifecycle rule {LIFECYCLE_RULE_ID} on {bucket}/{prefix}: expire after {retention_days + 1} days"
    )
    return done
