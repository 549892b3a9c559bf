"""Anonymisation tombstones: (population, subject id, anonymised date), kept OUTSIDE the database.

A database restore brings anonymised people back. Each anonymised set leaves one small, append-only
JSON object in the tombstones' storage (the bucket's ``tombstones/`` prefix): ids and a date,
no personal data. It is written after the commit (a rollback leaves none); until written, the set's
audit rows carry ``"tombstone": "pending"`` and the periodic ``rgpd.finish_pending_deletions`` retries,
as it does for file deletions. ``replay`` reads them back after a restore.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import partial
from typing import Any, cast

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.utils.module_loading import import_string

from gdpr_portal.stored_files.objects import is_s3

from ...models import AuditEvent
from ..audit import DetailsWith

logger = logging.getLogger(__name__)

TOMBSTONE_STORAGE = "rgpd_tombstones"
PENDING, WRITTEN = "pending", "written"


def tombstone_storage() -> Storage:
    """``STORAGES["rgpd_tombstones"]`` if declared, else the media storage's backend under ``tombstones``
    (the bucket's ``tombstones/`` prefix, or ``$GDPR_PORTAL_VAR_DIR/tombstones`` on local storage)."""
    if TOMBSTONE_STORAGE in settings.STORAGES:
        return storages[TOMBSTONE_STORAGE]
    config = cast(dict[str, Any], settings.STORAGES["default"])
    location = "tombstones" if is_s3(storages["default"]) else str(settings.VAR_DIR / "tombstones")
    return import_string(config["BACKEND"])(**{**config.get("OPTIONS", {}), "location": location})


def tombstone_details(population_key: str, anonymised_at: datetime) -> dict[str, str]:
    """What a set's audit rows carry until its tombstone is written (set when they are created, in the
    anonymisation's transaction)."""
    return {"tombstone": PENDING, "population": population_key, "anonymised_at": anonymised_at.isoformat()}


def tombstones_after_commit(population_key: str, anonymised_at: datetime, events: dict[int, int]) -> None:
    """Write the tombstone of a set (``events``: person id -> its audit row id, created with
    ``tombstone_details``) once the anonymisation's transaction commits, from what the caller knows: no
    read back. What the storage refuses stays pending for the periodic task."""
    ids, event_ids = sorted(events), list(events.values())

    def write() -> None:
        _tombstone_save(population_key, anonymised_at.isoformat(), ids)
        _mark_written(event_ids)

    transaction.on_commit(partial(_retried_later, write))


def tombstones_write_pending() -> None:
    """``tombstones_flush`` that never raises: what the storage refused stays pending for the next run."""
    _retried_later(tombstones_flush)


def _retried_later(write: Callable[[], object]) -> None:
    try:
        write()
    except Exception as exc:  # noqa: BLE001 - storage down: the periodic task retries
        logger.warning("rgpd: tombstone not written yet (%s); retried later", type(exc).__name__)


def _tombstone_save(population_key: str, anonymised_at: str, subject_ids: list[int]) -> None:
    """One tombstone object: a set of people of a population and the date they were anonymised.
    Writing one twice (the periodic task and a set's own commit at the same moment) is harmless:
    ``tombstones_read`` keeps each person's latest date."""
    body = {"population": population_key, "anonymised_at": anonymised_at, "subject_ids": subject_ids}
    name = f"{population_key}/{anonymised_at[:10]}/{uuid.uuid4().hex}.json"
    tombstone_storage().save(name, ContentFile(json.dumps(body).encode()))


def _mark_written(event_ids: list[int]) -> None:
    AuditEvent.objects.filter(pk__any_of=event_ids).update(details=DetailsWith({"tombstone": WRITTEN}))


def tombstones_flush(event_ids: Sequence[int] | None = None) -> int:
    """Write the tombstones still owed (all, or those of ``event_ids``); return how many sets were written.

    Raise on a storage failure: what was not written stays pending.
    """
    written = 0
    with transaction.atomic():
        queryset = AuditEvent.objects.select_for_update(skip_locked=True).filter(
            action=AuditEvent.Action.ANONYMISED, details__tombstone=PENDING
        )
        if event_ids is not None:
            queryset = queryset.filter(pk__any_of=list(event_ids))
        sets: dict[tuple[str, str], list[tuple[int, list[int]]]] = {}
        rows = queryset.order_by("pk").values_list(
            "pk", "subject_ids", "details__population", "details__anonymised_at"
        )
        for pk, subject_ids, population_key, anonymised_at in rows:
            sets.setdefault((population_key, anonymised_at), []).append((pk, subject_ids))
        for (population_key, anonymised_at), events in sets.items():
            ids = sorted({pk for _event, subject_ids in events for pk in subject_ids})
            _tombstone_save(population_key, anonymised_at, ids)
            _mark_written([event for event, _ids in events])
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
