"""Stored objects of anonymised contacts, deleted after the commit and checked gone."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import DefaultStorage, default_storage, storages
from django.db import transaction
from django.db.models import CharField, DateTimeField, Exists, F, IntegerField, OuterRef, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, JSONObject
from django.utils import timezone
from django.utils.functional import LazyObject

from gdpr_portal.stored_files.objects import S3_DELETE_BATCH, delete_stored_files, is_s3

from ...models import AuditEvent, PendingStorageDeletion
from ..audit import DetailsWith
from ..selection import compiled, insert_select

logger = logging.getLogger(__name__)


# --- Storage ------------------------------------------------------------------------------------


def _storage_alias(storage) -> str:
    if isinstance(storage, DefaultStorage) or storage is default_storage:
        return "default"
    # The stubs omit LazyObject._wrapped, the object a lazy storage stands for.
    target = storage._wrapped if isinstance(storage, LazyObject) else storage  # type: ignore[attr-defined]
    for alias in settings.STORAGES:
        if storages[alias] is target:
            return alias
    raise ImproperlyConfigured("A personal file field must use a storage declared in settings.STORAGES.")


# --- Stored files, after the commit -------------------------------------------------------------


@dataclass
class DeletionReport:
    deleted: int = 0
    failed: int = 0


def _record_storage_checks(event_ids: Iterable[int]) -> None:
    """For each anonymisation whose objects are all gone, record that the storage check passed: one
    UPDATE of their audit rows and one INSERT ... SELECT of a ``files_deleted`` row each (built in SQL
    from theirs), whatever their number."""
    # Lock first, then look for remaining objects in a second statement: it waits for a worker deleting
    # the other keys of the same contact to commit, and sees what it did (one statement would not).
    locked = list(
        AuditEvent.objects.select_for_update()
        .filter(pk__any_of=set(event_ids))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    done = set(
        AuditEvent.objects.filter(pk__any_of=set(locked))
        .exclude(details__storage_check="passed")
        .exclude(Exists(PendingStorageDeletion.objects.filter(audit_event=OuterRef("pk"))))
        .values_list("pk", flat=True)
    )
    if not done:
        return
    AuditEvent.objects.filter(pk__any_of=done).update(details=DetailsWith({"storage_check": "passed"}))
    files_deleted = (
        AuditEvent.objects.filter(pk__any_of=done)
        .order_by("pk")
        .annotate(
            new_subject_ids=F("subject_ids"),
            new_counts=JSONObject(
                files=Coalesce(Cast(KeyTextTransform("files", "counts"), IntegerField()), 0)
            ),
            new_details=JSONObject(anonymisation_event=F("pk"), storage_check=Value("passed")),
            new_action=Value(AuditEvent.Action.FILES_DELETED, output_field=CharField()),
            new_outcome=Value(AuditEvent.Outcome.SUCCESS, output_field=CharField()),
            new_at=Value(timezone.now(), output_field=DateTimeField()),
        )
        .values_list("new_subject_ids", "new_counts", "new_details", "new_action", "new_outcome", "new_at")
    )
    insert_select(
        AuditEvent, ("subject_ids", "counts", "details", "action", "outcome", "at"), *compiled(files_deleted)
    )


# On the local disk nothing limits a call: larger batches, fewer statements (each batch is locked, deleted
# and checked). On S3 a batch is one whole DeleteObjects call.
LOCAL_DELETE_BATCH = 5000


def _default_batch() -> int:
    return S3_DELETE_BATCH if is_s3(default_storage) else LOCAL_DELETE_BATCH


def pending_deletions_process(
    *,
    people: tuple[str, Sequence[int]] | None = None,
    whole_batches_only: bool = False,
    batch_size: int | None = None,
    max_batches: int = 100,
    wait_for_locked: bool = False,
) -> DeletionReport:
    """Delete queued stored objects (all, or those of ``people``: a population key and subject ids) and
    check they are gone.

    Rows are claimed with ``SKIP LOCKED`` so the periodic task and a chunk's worker never delete the same
    batch twice; failures stay queued with their attempt count and error code for the next run. With
    ``whole_batches_only``, a batch smaller than ``batch_size`` is left for later: the chunks of a
    large request pool their objects into full DeleteObjects calls, and its last chunk deletes the rest
    with ``wait_for_locked``: it waits for rows another chunk's worker holds (instead of skipping them),
    then deletes what that worker left, so that no object waits for the periodic task.
    """
    batch_size = batch_size or _default_batch()
    report = DeletionReport()
    after = 0  # rows are taken in id order: a batch starts after the last one (not over its deleted rows)
    for _batch in range(max_batches):
        with transaction.atomic():
            queryset = PendingStorageDeletion.objects.filter(pk__gt=after)
            if people is not None:
                queryset = queryset.filter(population=people[0], subject_id__any_of=set(people[1]))
            if whole_batches_only:  # a chunk's worker: keys that failed before are the periodic task's
                queryset = queryset.filter(attempts=0)
            locked = queryset.select_for_update(skip_locked=not wait_for_locked)
            rows = list(
                locked.order_by("pk").values_list("pk", "storage", "key", "audit_event_id", "attempts")[
                    :batch_size
                ]
            )
            if not rows and wait_for_locked and queryset.exists():
                continue  # the rows waited for were deleted meanwhile (an empty answer): others remain
            if not rows or (whole_batches_only and len(rows) < batch_size):
                break
            after = rows[-1][0]
            by_storage: dict[str, list[tuple]] = defaultdict(list)
            for row in rows:
                by_storage[row[1]].append(row)
            gone: list[tuple] = []
            failed: list[PendingStorageDeletion] = []
            for alias, storage_rows in by_storage.items():
                errors = delete_stored_files(
                    storages[alias], [key for _pk, _alias, key, *_rest in storage_rows]
                )
                attempt_at = timezone.now()
                for pk, _alias, key, event_id, attempts in storage_rows:
                    if key in errors:
                        failed.append(
                            PendingStorageDeletion(
                                pk=pk,
                                attempts=attempts + 1,
                                last_attempt_at=attempt_at,
                                last_error=errors[key],
                            )
                        )
                    else:
                        gone.append((pk, event_id))
            PendingStorageDeletion.objects.filter(pk__any_of={pk for pk, _event in gone}).delete()
            PendingStorageDeletion.objects.bulk_update(failed, ["attempts", "last_attempt_at", "last_error"])
            _record_storage_checks(event_id for _pk, event_id in gone if event_id)
        report.deleted += len(gone)
        report.failed += len(failed)
        if failed:
            logger.warning(
                "rgpd: %s stored object(s) not deleted yet (first error: %s); retried later",
                len(failed),
                failed[0].last_error,
            )
    return report
