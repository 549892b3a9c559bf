"""Anonymisation tombstones: (population, subject id, anonymised date), kept OUTSIDE the database.

A database restore brings anonymised people back. Each anonymised set leaves one small, append-only
JSON object in the tombstones' storage (the bucket's ``tombstones/`` prefix): ids and a date,
no personal data. It is written after the commit (a rollback leaves none); until written, the set is a
``PendingTombstone`` row (created in the anonymisation's transaction) and the periodic
``rgpd.finish_pending_deletions`` retries, as it does for file deletions. ``replay`` reads them back
after a restore.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import Any, cast

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.utils.module_loading import import_string

from gdpr_portal.stored_files.objects import is_s3

from ...models import PendingTombstone

logger = logging.getLogger(__name__)

TOMBSTONE_STORAGE = "rgpd_tombstones"


def tombstone_storage() -> Storage:
    """``STORAGES["rgpd_tombstones"]`` if declared, else the media storage's backend under ``tombstones``
    (the bucket's ``tombstones/`` prefix, or ``$GDPR_PORTAL_VAR_DIR/tombstones`` on local storage)."""
    if TOMBSTONE_STORAGE in settings.STORAGES:
        return storages[TOMBSTONE_STORAGE]
    config = cast(dict[str, Any], settings.STORAGES["default"])
    location = "tombstones" if is_s3(storages["default"]) else str(settings.VAR_DIR / "tombstones")
    return import_string(config["BACKEND"])(**{**config.get("OPTIONS", {}), "location": location})


def tombstone_owed(population_key: str, anonymised_at: datetime, subject_ids: list[int]) -> None:
    """Record, in the anonymisation's transaction, that this set's tombstone is owed, and write it once
    the transaction commits (one row per set, deleted once written; what the storage refuses stays for
    the periodic task)."""
    owed = PendingTombstone.objects.create(
        population=population_key, anonymised_at=anonymised_at, subject_ids=sorted(subject_ids)
    )
    transaction.on_commit(partial(_retried_later, partial(_write, owed)))


def tombstones_write_pending() -> None:
    """``tombstones_flush`` that never raises: what the storage refused stays pending for the next run."""
    _retried_later(tombstones_flush)


def _retried_later(write: Callable[[], object]) -> None:
    try:
        write()
    except Exception as exc:  # noqa: BLE001 - storage down: the periodic task retries
        logger.warning("rgpd: tombstone not written yet (%s); retried later", type(exc).__name__)


def _write(owed: PendingTombstone) -> None:
    """Write ``owed``'s tombstone, then forget it. Written twice (the periodic task and the set's own
    commit at the same moment) is harmless: ``tombstones_read`` keeps each person's latest date."""
    at = owed.anonymised_at.isoformat()
    body = {"population": owed.population, "anonymised_at": at, "subject_ids": owed.subject_ids}
    name = f"{owed.population}/{at[:10]}/{uuid.uuid4().hex}.json"
    tombstone_storage().save(name, ContentFile(json.dumps(body).encode()))
    PendingTombstone.objects.filter(pk=owed.pk).delete()


def tombstones_flush() -> int:
    """Write the tombstones still owed; return how many were written. Raise on a storage failure: what
    was not written stays pending."""
    written = 0
    with transaction.atomic():
        for owed in PendingTombstone.objects.select_for_update(skip_locked=True).order_by("pk"):
            _write(owed)
            written += 1
    return written


def _names(storage: Storage, folder: str) -> Iterator[str]:
    directories, files = storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}" if folder else name
    for directory in directories:
        yield from _names(storage, f"{folder}/{directory}" if folder else directory)


def tombstones_read() -> dict[str, dict[int, datetime]]:
    """Every tombstone: population key -> {subject id: latest anonymised date}."""
    storage = tombstone_storage()
    latest: dict[str, dict[int, datetime]] = {}
    try:
        names = list(_names(storage, ""))
    except FileNotFoundError:  # local storage: no tombstone written yet
        return latest
    for name in names:
        if not name.endswith(".json"):
            continue
        with storage.open(name) as handle:
            body = json.loads(handle.read())
        at = datetime.fromisoformat(body["anonymised_at"])
        people = latest.setdefault(str(body["population"]), {})
        for subject_id in body["subject_ids"]:
            if people.get(int(subject_id)) is None or people[int(subject_id)] < at:
                people[int(subject_id)] = at
    return latest
