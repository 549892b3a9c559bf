"""Helpers and fixtures shared by the export tests (no tests here).

They read what a user would get: the objects in the real bucket, the ZIP's bytes, the JSON inside
validated against the committed JSON Schemas.
"""

from __future__ import annotations

import hashlib
import io
import json
import unicodedata
import uuid
import zipfile
from pathlib import Path, PurePosixPath

import jsonschema
import pytest
from django.core.files.storage import storages

from harness.worker import CeleryWorkerProcess, started_workers
from rgpd.models import ExportPart, ExportRequest
from rgpd.storage import ARCHIVES_STORAGE, is_s3, s3_client, s3_key
from tests.support.helpers import wait_until

SCHEMAS = Path(__file__).resolve().parents[2] / "rgpd" / "schemas"
MANIFEST_SCHEMA = json.loads((SCHEMAS / "manifest.schema.json").read_text())
PERSONAL_DATA_SCHEMA = json.loads((SCHEMAS / "personal_data.schema.json").read_text())


def archives():
    return storages[ARCHIVES_STORAGE]


def request_prefix(export_request: ExportRequest | int) -> str:
    request_id = export_request if isinstance(export_request, int) else export_request.pk
    return s3_key(archives(), f"exports/{request_id}/")


def bucket_keys(prefix: str) -> list[str]:
    storage = archives()
    response = s3_client(storage).list_objects_v2(Bucket=storage.bucket_name, Prefix=prefix)
    return sorted(item["Key"] for item in response.get("Contents", []))


def incomplete_uploads(prefix: str) -> list[dict]:
    storage = archives()
    response = s3_client(storage).list_multipart_uploads(Bucket=storage.bucket_name, Prefix=prefix)
    return response.get("Uploads", []) or []


def archive_bytes(part: ExportPart) -> bytes:
    storage = archives()
    if is_s3(storage):
        key = s3_key(storage, part.object_key)
        return s3_client(storage).get_object(Bucket=storage.bucket_name, Key=key)["Body"].read()
    with storage.open(part.object_key, "rb") as handle:
        return handle.read()


def assert_safe_entry_name(name: str) -> None:
    path = PurePosixPath(name)
    assert not name.startswith("/") and not path.is_absolute(), name
    assert ".." not in path.parts and "." not in path.parts and "" not in name.split("/"), name
    assert "\\" not in name, name
    assert not any(unicodedata.category(ch)[0] == "C" for ch in name), repr(name)
    assert name.encode("utf-8").decode("utf-8") == name


def open_archive(data: bytes) -> dict:
    """Check a part's ZIP like a careful recipient would, and return its parsed content.

    Every entry name is safe and unique, ``manifest.json`` and every ``personal_data.json`` are valid
    against the committed schemas, and every file listed in the manifest has the size and sha256
    the manifest says.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert len(names) == len(set(names)), "duplicate entries"
        for name in names:
            assert_safe_entry_name(name)
        manifest = json.loads(archive.read("manifest.json"))
        jsonschema.validate(manifest, MANIFEST_SCHEMA, format_checker=jsonschema.FormatChecker())
        listed = {entry["path"] for entry in manifest["files"]}
        assert listed == set(names) - {"manifest.json"}, "manifest and ZIP disagree"
        contents = {}
        for entry in manifest["files"]:
            content = archive.read(entry["path"])
            assert len(content) == entry["size"], entry["path"]
            assert hashlib.sha256(content).hexdigest() == entry["sha256"], entry["path"]
            contents[entry["path"]] = content
        people = {}
        for subject in manifest["subjects"]:
            record = json.loads(contents[f"{subject['folder']}/personal_data.json"])
            jsonschema.validate(record, PERSONAL_DATA_SCHEMA, format_checker=jsonschema.FormatChecker())
            assert record["subject"]["id"] == subject["id"]
            people[subject["id"]] = record
    return {"manifest": manifest, "people": people, "files": contents, "names": names}


def wait_for_request_done(export_request: ExportRequest, *, timeout: float = 120) -> ExportRequest:
    def done():
        statuses = list(ExportPart.objects.filter(request=export_request).values_list("status", flat=True))
        return statuses and all(s in (ExportPart.Status.READY, ExportPart.Status.FAILED) for s in statuses)

    wait_until(done, timeout=timeout, message=f"export request {export_request.pk} to finish")
    return ExportRequest.objects.get(pk=export_request.pk)


def drop_queue(queue: str) -> None:
    """Remove a test queue from Redis: its messages and kombu's bindings of it."""
    from gdpr_portal.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.client.delete(
            queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"
        )


@pytest.fixture
def export_queue(settings):
    """A queue of its own for this test's export tasks (so only this test's workers take them)."""
    queue = f"gdpr-export-test-{uuid.uuid4().hex[:8]}"
    settings.RGPD_EXPORT_QUEUE = queue
    yield queue
    drop_queue(queue)


@pytest.fixture
def export_workers(worker_env, transactional_db, smtp_sink, export_queue):
    """Start workers on this test's export queue, with extra environment; stopped (or killed) after."""
    smtp_sink.clear()
    queue_env = {**worker_env, "CELERY_TASK_DEFAULT_QUEUE": export_queue, "RGPD_EXPORT_QUEUE": export_queue}
    with started_workers(queue_env, prefix=export_queue) as start_worker:

        def start(*, concurrency: int = 2, **env) -> CeleryWorkerProcess:
            return start_worker({k: str(v) for k, v in env.items()}, concurrency=concurrency)

        yield start
