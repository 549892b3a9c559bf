"""Anonymisation ("Anonymiser les données"): the one service behind the row icon, the bulk action and the API.

What happens to a person is read from the registry (``rgpd/registry.py``), never from field names here:
each personal field of the subject model gets its anonymised value, related rows declared
``delete_rows`` are deleted, every file field declared ``DELETE_FILE`` has its stored object queued for
deletion. Rules:

- A contact is anonymised only with a ready, unexpired archive, no export of it pending or running,
  and only once (a second time is a no-op). Refusals carry a reason code (``Reason``).
- Contacts are anonymised as a set (a chunk): their rows are locked (``SELECT ... FOR UPDATE``, in id
  order), changed with one UPDATE per model and checked together, in a bounded number of queries
  whatever the chunk's size. Each contact stays all-or-nothing: if the check finds a former value, or
  anything fails, the chunk is rolled back and done again without the contact at fault, which is
  reported. An export part reading a contact under the same lock sees either every old value or every
  new one, never a mix.
- The admin history of the contact and of its related rows is rewritten (``object_repr``,
  ``change_message``), then a check re-reads the rows and the history and searches the former values
  (held in memory during the run only). The audit row records that the check passed, with ids and
  counts only.
- Stored objects are deleted after the commit (a database rollback must never leave rows pointing at
  deleted files): keys wait in ``PendingStorageDeletion`` until S3 DeleteObjects (batches of 1000
  keys, pooled across the chunks of a request; S3 answers key by key) or ``storage.delete`` removed
  them; the periodic task ``rgpd.finish_pending_deletions`` retries. Until then the contact is
  "anonymisation en cours".
- Small requests (``RGPD_ANONYMISATION_INLINE_MAX`` contacts) are processed at once, larger ones by a
  Celery task in chunks of ``RGPD_ANONYMISATION_CHUNK_SIZE``; object deletions always run in a worker.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import partial

from botocore.exceptions import BotoCoreError, ClientError
from django.apps import apps
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import DefaultStorage, default_storage, storages
from django.db import connection, models, transaction
from django.db.models import Count, F, Q, QuerySet
from django.dispatch import Signal
from django.utils import timezone
from django.utils.functional import LazyObject
from django.utils.translation import gettext_lazy as _

from ..models import AnonymisationRequest, AnonymisationSubject, AuditEvent, PendingStorageDeletion
from ..registry import MASK, ModelSpec, Treatment, registry
from ..selectors import annotate_anonymisation_eligibility
from ..storage import is_s3, s3_client, s3_key
from . import dispatch
from .audit import audit_event, audit_record
from .confirmation import create_once

logger = logging.getLogger(__name__)

# The subject model's marker of an anonymised person (part of the registry's contract with the subject).
ANONYMISED_AT_FIELD = "anonymised_at"
S3_DELETE_BATCH = 1000  # the most keys one DeleteObjects call accepts
PREVIEW_LIMIT = 10
STALE_REQUEST_AFTER = timedelta(minutes=10)

# Sent inside the anonymisation's transaction, after the rows changed: a receiver that keeps copies of
# a subject's data elsewhere (a cache, a search index) forgets them here. Arguments: sender (the
# subject model), instance_id.
subject_anonymised = Signal()


def inline_max() -> int:
    return getattr(settings, "RGPD_ANONYMISATION_INLINE_MAX", 10)


def chunk_size() -> int:
    return getattr(settings, "RGPD_ANONYMISATION_CHUNK_SIZE", 250)


class Reason(StrEnum):
    """Why a contact was not anonymised (stored on the request's result rows and in the audit log)."""

    NOT_FOUND = "not_found"
    ALREADY_ANONYMISED = "already_anonymised"
    EXPORT_IN_PROGRESS = "export_in_progress"
    ARCHIVE_EXPIRED = "archive_expired"
    NOT_EXPORTED = "not_exported"
    VERIFICATION_FAILED = "verification_failed"
    ERROR = "error"


REASON_MESSAGES = {
    Reason.NOT_FOUND: _("No contact has this id."),
    Reason.ALREADY_ANONYMISED: _("This contact has already been anonymised."),
    Reason.EXPORT_IN_PROGRESS: _(
        "An export of this contact is still being generated: wait until its archive is ready."
    ),
    Reason.ARCHIVE_EXPIRED: _("The archive of this contact has expired: export the data again first."),
    Reason.NOT_EXPORTED: _("No archive has been generated for this contact: export the data first."),
    Reason.VERIFICATION_FAILED: _(
        "The check after anonymisation found a former value: nothing was changed for this contact."
    ),
    Reason.ERROR: _("An unexpected error occurred: nothing was changed for this contact."),
}


def reason_message(reason: str) -> str:
    try:
        return str(REASON_MESSAGES[Reason(reason)])
    except ValueError:
        return reason


class AnonymisationNotConfirmed(Exception):
    """The caller did not confirm (checkbox / ``"confirm": true``): nothing is done."""


class AnonymisationRefused(Exception):
    def __init__(self, reason: Reason):
        super().__init__(reason.value)
        self.reason = reason


# --- Eligibility --------------------------------------------------------------------------------


def _reason(*, anonymised: bool, export_in_progress: bool, ready: bool, expired: bool) -> Reason | None:
    if anonymised:
        return Reason.ALREADY_ANONYMISED
    if export_in_progress:
        return Reason.EXPORT_IN_PROGRESS
    if ready:
        return None
    return Reason.ARCHIVE_EXPIRED if expired else Reason.NOT_EXPORTED


def refusal_reason(contact: models.Model) -> Reason | None:
    """Why ``contact`` (annotated by ``annotate_anonymisation_eligibility``) cannot be anonymised, if so."""
    return _reason(
        anonymised=getattr(contact, ANONYMISED_AT_FIELD) is not None,
        export_in_progress=contact.has_export_in_progress,
        ready=contact.has_ready_archive,
        expired=contact.has_expired_archive,
    )


def _reasons_for(queryset: QuerySet) -> list[tuple[int, Reason | None]]:
    """(id, reason) of every contact of ``queryset``, in its order, in one query."""
    rows = annotate_anonymisation_eligibility(queryset).values_list(
        "pk", ANONYMISED_AT_FIELD, "has_export_in_progress", "has_ready_archive", "has_expired_archive"
    )
    return [
        (pk, _reason(anonymised=at is not None, export_in_progress=building, ready=ready, expired=expired))
        for pk, at, building, ready, expired in rows.iterator(chunk_size=2000)
    ]


# --- Former values, held in memory during one contact's run only ------------------------------------


@dataclass
class FormerValues:
    """The values a contact had before anonymisation; never stored, never logged."""

    texts: set[str] = field(default_factory=set)

    def add(self, value) -> None:
        if value is None or isinstance(value, bool | models.Model):
            return
        if isinstance(value, datetime | date):
            text = value.isoformat()
        elif isinstance(value, str | int | float):
            text = str(value)
        else:
            return
        text = text.strip()
        # Two characters at least (a surname like "Li"); nothing the anonymised values themselves contain.
        if len(text) >= 2 and text.casefold() not in MASK:
            self.texts.add(text.casefold())

    def found_in(self, text: str | None) -> bool:
        if not text:
            return False
        folded = str(text).casefold()
        return any(value in folded for value in self.texts)

    def __len__(self) -> int:
        return len(self.texts)


def _scrub(value, former: FormerValues):
    """``value`` (parsed JSON) with every string holding a former value masked; keys are Django's own."""
    if isinstance(value, str):
        return MASK if former.found_in(value) else value
    if isinstance(value, list):
        return [_scrub(item, former) for item in value]
    if isinstance(value, dict):
        return {key: _scrub(item, former) for key, item in value.items()}
    return value


def _message_holds(message: str, former: FormerValues) -> bool:
    """Whether an admin change message (JSON since Django 2.0, free text before) holds a former value."""
    try:
        data = json.loads(message or "[]")
    except ValueError:
        return former.found_in(message)
    return _scrub(data, former) != data


def _scrub_change_message(message: str, former: FormerValues) -> str:
    """Mask every value of an admin change message that holds a former value, keeping its structure."""
    if not _message_holds(message, former):
        return message
    try:
        return json.dumps(_scrub(json.loads(message), former))
    except ValueError:
        return ""  # a free-text message: nothing in it can be kept safely


# --- Storage ------------------------------------------------------------------------------------


def _storage_alias(storage) -> str:
    if isinstance(storage, DefaultStorage) or storage is default_storage:
        return "default"
    target = storage._wrapped if isinstance(storage, LazyObject) else storage
    for alias in settings.STORAGES:
        if storages[alias] is target:
            return alias
    raise ImproperlyConfigured("A personal file field must use a storage declared in settings.STORAGES.")


def _delete_stored_objects(storage, names: Sequence[str]) -> dict[str, str]:
    """Delete ``names`` from ``storage``; return {name: error code} of those that may remain.

    On S3, DeleteObjects answers key by key: a key it does not list as an error is gone (deleting a
    missing key succeeds too), so no HEAD per key is needed. Other storages are asked whether it remains.
    """
    errors: dict[str, str] = {}
    if not is_s3(storage):
        for name in names:
            try:
                storage.delete(name)
                if storage.exists(name):
                    errors[name] = "still_present"
            except Exception as exc:  # noqa: BLE001 - any storage failure is retried later
                errors[name] = type(exc).__name__[:64]
        return errors
    # The storage's own name-to-key mapping (its location included), as its save() used.
    client, bucket = s3_client(storage), storage.bucket_name
    keys = {s3_key(storage, name): name for name in names}
    full_keys = list(keys)
    for start in range(0, len(full_keys), S3_DELETE_BATCH):
        batch = full_keys[start : start + S3_DELETE_BATCH]
        try:
            response = client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
            )
        except (BotoCoreError, ClientError) as exc:
            errors.update({keys[key]: type(exc).__name__[:64] for key in batch})
            continue
        for error in response.get("Errors", []):
            if error.get("Key") in keys:
                errors[keys[error["Key"]]] = str(error.get("Code", "error"))[:64]
    return errors


# --- A set of contacts ------------------------------------------------------------------------------


@dataclass
class BatchOutcome:
    """What anonymising a set of contacts did: contact id -> its audit row id, and the refusals."""

    anonymised: dict[int, int] = field(default_factory=dict)
    refused: dict[int, Reason] = field(default_factory=dict)

    def merge(self, other: BatchOutcome) -> None:
        self.anonymised.update(other.anonymised)
        self.refused.update(other.refused)


class VerificationFailed(Exception):
    """The check found a former value: the whole set is rolled back; ``contact_ids`` hold it."""

    def __init__(self, contact_ids: set[int]):
        super().__init__(f"former values found for {len(contact_ids)} contact(s)")
        self.contact_ids = contact_ids


@dataclass
class _Person:
    """One contact during a run: its former values (in memory only), its files and what was done."""

    former: FormerValues = field(default_factory=FormerValues)
    files: list[tuple[str, str]] = field(default_factory=list)
    rows_deleted: int = 0
    history_entries: int = 0
    rows_checked: int = 0


def _content_types_of(model: type[models.Model]) -> list[ContentType]:
    """The content types under which the admin logs ``model`` (itself and its proxies)."""
    family = [m for m in apps.get_models() if m._meta.concrete_model is model._meta.concrete_model]
    return list(ContentType.objects.get_for_models(*family, for_concrete_models=False).values())


def _safe_repr(instance: models.Model, spec: ModelSpec) -> str:
    try:
        text = str(instance)
    except Exception:  # noqa: BLE001 - a __str__ needing deleted rows
        text = ""
    return text or f"{instance._meta.verbose_name} #{instance.pk}"


def _apply_treatments(
    instance: models.Model, spec: ModelSpec, former: FormerValues, files: list
) -> list[str]:
    """Set every personal field of ``instance`` to its anonymised value (in memory); return their names."""
    changed = []
    for name, treatment in spec.personal.items():
        if treatment == Treatment.KEEP:
            continue
        model_field = instance._meta.get_field(name)
        value = getattr(instance, name)
        if treatment == Treatment.DELETE_FILE:
            if value:
                files.append((_storage_alias(model_field.storage), value.name))
            new_value = ""
        else:
            former.add(value)
            new_value = spec.anonymised_value(name)
        setattr(instance, name, new_value)
        changed.append(name)
    return changed


def _text_columns(instance: models.Model, spec: ModelSpec) -> list[str]:
    """Text values of a row that must not hold a former value (KEEP fields keep theirs on purpose)."""
    kept = {name for name, treatment in spec.personal.items() if treatment == Treatment.KEEP}
    return [
        str(getattr(instance, f.attname) or "")
        for f in instance._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField) and f.name not in kept
    ]


def _row_is_clean(row: models.Model, spec: ModelSpec, former: FormerValues) -> bool:
    """Every personal field holds its anonymised value and no text column holds a former value."""
    for name, treatment in spec.personal.items():
        value = getattr(row, spec.model._meta.get_field(name).attname)
        if treatment == Treatment.DELETE_FILE and value:
            return False
        masked = treatment not in (Treatment.KEEP, Treatment.DELETE_FILE)
        if masked and value != spec.anonymised_value(name):
            return False
    return not any(former.found_in(text) for text in _text_columns(row, spec))


class _History:
    """The admin history (``LogEntry``) of a set of contacts and of their related rows."""

    def __init__(self, subject_model: type[models.Model], contact_ids, related_owners: dict):
        self.subject_model = subject_model
        # (concrete model, pk) -> contact id, for the related rows
        self.related_owners = related_owners
        self.filter = Q(
            content_type__in=_content_types_of(subject_model), object_id__in=[str(pk) for pk in contact_ids]
        )
        by_model: dict[type[models.Model], list[str]] = defaultdict(list)
        for row_model, pk in related_owners:
            by_model[row_model].append(str(pk))
        for row_model, pks in by_model.items():
            self.filter |= Q(content_type__in=_content_types_of(row_model), object_id__in=pks)

    def entries(self) -> QuerySet:
        return LogEntry.objects.select_related("content_type").filter(self.filter)

    def owner(self, entry: LogEntry) -> tuple[tuple[type[models.Model] | None, int], int | None]:
        """((concrete model, object id), contact id) of an entry."""
        model = entry.content_type.model_class()
        concrete = model._meta.concrete_model if model else None
        key = (concrete, int(entry.object_id))
        if concrete is self.subject_model:
            return key, key[1]
        return key, self.related_owners.get(key)


def _check_database(
    *, spec: ModelSpec, people: dict[int, _Person], related: list[ModelSpec], history: _History
) -> set[int]:
    """Re-read what was changed and search each person's former values; return who still has one."""
    failed: set[int] = set()
    rows = [(row, spec, row.pk) for row in spec.model.objects.filter(pk__in=list(people))]
    for rspec in related:
        attname = rspec.model._meta.get_field(rspec.subject_field).attname
        remaining = rspec.model.objects.filter(**{f"{rspec.subject_field}__in": list(people)})
        if rspec.delete_rows:
            failed.update(remaining.values_list(attname, flat=True))
            continue
        rows.extend((row, rspec, getattr(row, attname)) for row in remaining)
    for row, row_spec, contact_id in rows:
        people[contact_id].rows_checked += 1
        if not _row_is_clean(row, row_spec, people[contact_id].former):
            failed.add(contact_id)
    for entry in history.entries():
        _key, contact_id = history.owner(entry)
        former = people[contact_id].former
        if former.found_in(entry.object_repr) or _message_holds(entry.change_message, former):
            failed.add(contact_id)
    return failed


@transaction.atomic
def contacts_anonymise(*, contact_ids: Iterable[int], actor, request_id: int | None = None) -> BatchOutcome:
    """Anonymise a set of people at once, all or nothing, in a bounded number of queries whatever its size.

    The subject rows are locked first (in id order, so two sets never deadlock) and eligibility is
    decided under that lock: an export part reading a contact under the same lock never sees a mix of
    old and new values. Refused contacts are left unchanged and returned with their reason. Raise
    ``VerificationFailed`` (nothing changed) when the check finds a former value.
    """
    spec = registry.subject
    model = spec.model
    ids = sorted({int(pk) for pk in contact_ids})
    locked = {
        row.pk: row for row in model.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")
    }
    outcome = BatchOutcome(refused={pk: Reason.NOT_FOUND for pk in ids if pk not in locked})
    outcome.refused.update(
        (pk, reason) for pk, reason in _reasons_for(model.objects.filter(pk__in=list(locked))) if reason
    )
    people = {pk: _Person() for pk in locked if pk not in outcome.refused}
    if not people:
        return outcome

    now = timezone.now()
    reprs: dict[tuple[type[models.Model], int], str] = {}
    changed: list[str] = []
    for pk, person in people.items():
        subject = locked[pk]
        changed = _apply_treatments(subject, spec, person.former, person.files)
        setattr(subject, ANONYMISED_AT_FIELD, now)
        reprs[(model, pk)] = _safe_repr(subject, spec)
    # Every person gets the same anonymised values: one UPDATE for the whole set.
    auto_now = {f.name: now for f in model._meta.concrete_fields if getattr(f, "auto_now", False)}
    model.objects.filter(pk__in=list(people)).update(
        **{name: spec.anonymised_value(name) for name in changed}, **{ANONYMISED_AT_FIELD: now}, **auto_now
    )

    related_owners: dict[tuple[type[models.Model], int], int] = {}
    for rspec in registry.related:
        attname = rspec.model._meta.get_field(rspec.subject_field).attname
        rows = list(
            rspec.model.objects.select_for_update()
            .filter(**{f"{rspec.subject_field}__in": list(people)})
            .order_by("pk")
        )
        row_changed: list[str] = []
        for row in rows:
            person = people[getattr(row, attname)]
            row_changed = _apply_treatments(row, rspec, person.former, person.files)
            reprs[(rspec.model, row.pk)] = _safe_repr(row, rspec)
            related_owners[(rspec.model, row.pk)] = getattr(row, attname)
            person.rows_deleted += int(rspec.delete_rows)
        if rows and rspec.delete_rows:
            rspec.model.objects.filter(pk__in=[row.pk for row in rows]).delete()
        elif rows and row_changed:
            rspec.model.objects.bulk_update(rows, row_changed, batch_size=500)

    # The admin history of the people and of their related rows: names and messages are rewritten.
    history = _History(model, people, related_owners)
    rewritten = []
    for entry in history.entries().select_for_update(of=("self",)):
        key, contact_id = history.owner(entry)
        person = people[contact_id]
        before = (entry.object_repr, entry.change_message)
        entry.object_repr = reprs.get(key, entry.object_repr)[:200]
        entry.change_message = _scrub_change_message(entry.change_message, person.former)
        if person.former.found_in(entry.object_repr):
            entry.object_repr = MASK
        if (entry.object_repr, entry.change_message) != before:
            rewritten.append(entry)
            person.history_entries += 1
    # Only the entries that change: bulk_update writes one CASE per row.
    LogEntry.objects.bulk_update(rewritten, ["object_repr", "change_message"], batch_size=500)

    for pk in people:
        subject_anonymised.send(sender=model, instance_id=pk)

    failed = _check_database(spec=spec, people=people, related=registry.related, history=history)
    if failed:
        raise VerificationFailed(failed)

    events = AuditEvent.objects.bulk_create(
        audit_event(
            action=AuditEvent.Action.ANONYMISED,
            actor=actor,
            subject_ids=[pk],
            counts={
                "fields": len(changed),
                "related_rows_deleted": person.rows_deleted,
                "files": len(person.files),
                "history_entries_rewritten": person.history_entries,
                "rows_checked": person.rows_checked,
                "values_checked": len(person.former),
            },
            details={
                "request": request_id,
                "check": "passed",
                "database_check": "passed",
                "storage_check": "pending" if person.files else "passed",
            },
        )
        for pk, person in people.items()
    )
    PendingStorageDeletion.objects.bulk_create(
        (
            PendingStorageDeletion(storage=alias, key=key, contact_id=pk, audit_event=event)
            for (pk, person), event in zip(people.items(), events, strict=True)
            for alias, key in person.files
        ),
        batch_size=2000,
    )
    outcome.anonymised = {pk: event.pk for pk, event in zip(people, events, strict=True)}
    return outcome


def contact_anonymise(*, contact_id: int, actor, request_id: int | None = None) -> int:
    """Anonymise one person; return its audit row id, or raise ``AnonymisationRefused`` (nothing changed)."""
    try:
        outcome = contacts_anonymise(contact_ids=[contact_id], actor=actor, request_id=request_id)
    except VerificationFailed:
        raise AnonymisationRefused(Reason.VERIFICATION_FAILED) from None
    if contact_id in outcome.refused:
        raise AnonymisationRefused(outcome.refused[contact_id])
    return outcome.anonymised[contact_id]


def _anonymise_isolating_failures(contact_ids: list[int], *, actor, request_id: int) -> BatchOutcome:
    """``contacts_anonymise`` on the whole set; a contact that fails its check, or makes it raise, is set
    aside with its reason and the others are done without it (each contact stays all or nothing)."""
    outcome = BatchOutcome()
    remaining = list(contact_ids)
    while remaining:
        try:
            outcome.merge(contacts_anonymise(contact_ids=remaining, actor=actor, request_id=request_id))
            return outcome
        except VerificationFailed as failed:
            outcome.refused.update(dict.fromkeys(failed.contact_ids, Reason.VERIFICATION_FAILED))
            remaining = [pk for pk in remaining if pk not in failed.contact_ids]
        except Exception as exc:
            if len(remaining) > 1:  # find who makes it fail: each contact on its own, in lock order
                for pk in sorted(remaining):
                    outcome.merge(_anonymise_isolating_failures([pk], actor=actor, request_id=request_id))
                return outcome
            # Logged with the id, the error's class and the code path only: a message could quote a value.
            logger.error(
                "rgpd: anonymisation of contact %s failed (%s)\n%s",
                remaining[0],
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            outcome.refused[remaining[0]] = Reason.ERROR
            return outcome
    return outcome


# --- Stored files, after the commit -------------------------------------------------------------


@dataclass
class DeletionReport:
    deleted: int = 0
    failed: int = 0


def _record_storage_checks(event_ids: Iterable[int]) -> None:
    """For each anonymisation whose objects are all gone, record that the storage check passed."""
    # Lock first, then look for remaining objects in a second statement: it waits for a worker deleting
    # the other keys of the same contact to commit, and sees what it did (one statement would not).
    locked = list(AuditEvent.objects.select_for_update().filter(pk__in=set(event_ids)).order_by("pk"))
    waiting = set(
        PendingStorageDeletion.objects.filter(audit_event__in=locked).values_list("audit_event_id", flat=True)
    )
    events = [e for e in locked if e.pk not in waiting and e.details.get("storage_check") != "passed"]
    for event in events:
        event.details = {**event.details, "storage_check": "passed"}
    AuditEvent.objects.bulk_update(events, ["details"], batch_size=500)
    AuditEvent.objects.bulk_create(
        audit_event(
            action=AuditEvent.Action.FILES_DELETED,
            subject_ids=event.subject_ids,
            counts={"files": int(event.counts.get("files", 0))},
            details={"anonymisation_event": event.pk, "storage_check": "passed"},
        )
        for event in events
    )


def pending_deletions_process(
    *,
    contact_ids: Sequence[int] | None = None,
    whole_batches_only: bool = False,
    batch_size: int | None = None,
    max_batches: int = 100,
) -> DeletionReport:
    """Delete queued stored objects (all, or those of ``contact_ids``) and check they are gone.

    Rows are claimed with ``SKIP LOCKED`` so the periodic task and a chunk's worker never delete the same
    batch twice; failures stay queued with their attempt count and error code for the next run. With
    ``whole_batches_only``, a batch smaller than ``batch_size`` is left for later: the chunks of a
    large request pool their objects into full DeleteObjects calls, and its last chunk deletes the rest.
    """
    batch_size = batch_size or S3_DELETE_BATCH
    report = DeletionReport()
    failed_ids: set[int] = set()
    for _batch in range(max_batches):
        with transaction.atomic():
            queryset = PendingStorageDeletion.objects.select_for_update(skip_locked=True).exclude(
                pk__in=failed_ids
            )
            if contact_ids is not None:
                queryset = queryset.filter(contact_id__in=list(contact_ids))
            if whole_batches_only:  # a chunk's worker: keys that failed before are the periodic task's
                queryset = queryset.filter(attempts=0)
            rows = list(queryset.order_by("pk")[:batch_size])
            if not rows or (whole_batches_only and len(rows) < batch_size):
                break
            by_storage: dict[str, list[PendingStorageDeletion]] = defaultdict(list)
            for row in rows:
                by_storage[row.storage].append(row)
            gone, failed = [], []
            for alias, storage_rows in by_storage.items():
                errors = _delete_stored_objects(storages[alias], [row.key for row in storage_rows])
                for row in storage_rows:
                    if row.key in errors:
                        row.attempts += 1
                        row.last_attempt_at = timezone.now()
                        row.last_error = errors[row.key]
                        failed.append(row)
                    else:
                        gone.append(row)
            PendingStorageDeletion.objects.filter(pk__in=[row.pk for row in gone]).delete()
            PendingStorageDeletion.objects.bulk_update(failed, ["attempts", "last_attempt_at", "last_error"])
            _record_storage_checks(row.audit_event_id for row in gone if row.audit_event_id)
        report.deleted += len(gone)
        report.failed += len(failed)
        failed_ids.update(row.pk for row in failed)
        if failed:
            logger.warning(
                "rgpd: %s stored object(s) not deleted yet (first error: %s); retried later",
                len(failed),
                failed[0].last_error,
            )
    return report


def _enqueue_file_deletions(contact_ids: list[int]) -> None:
    from ..tasks.anonymisation import finish_pending_deletions

    try:
        finish_pending_deletions.delay(contact_ids=contact_ids)
    except Exception as exc:  # noqa: BLE001 - the periodic task picks the files up anyway
        logger.warning(
            "rgpd: could not enqueue file deletions (%s); the periodic task will", type(exc).__name__
        )


# --- Requests -------------------------------------------------------------------------------------


def _unique_ids(contact_ids: Iterable[int]) -> list[int]:
    seen: dict[int, None] = {}
    for contact_id in contact_ids:
        seen.setdefault(int(contact_id), None)
    return list(seen)


def _subjects_insert_ids(request: AnonymisationRequest, contact_ids: list[int]) -> None:
    """Result rows for ids as given (an API caller may name a contact that does not exist)."""
    model = registry.subject.model
    existing: set[int] = set()
    for start in range(0, len(contact_ids), 5000):
        batch = contact_ids[start : start + 5000]
        existing.update(model.objects.filter(pk__in=batch).values_list("pk", flat=True))
    AnonymisationSubject.objects.bulk_create(
        (
            AnonymisationSubject(
                request=request,
                requested_id=contact_id,
                contact_id=contact_id if contact_id in existing else None,
            )
            for contact_id in contact_ids
        ),
        batch_size=2000,
    )


def _subjects_insert_selection(request: AnonymisationRequest, selection: QuerySet) -> None:
    """Result rows for a selection (the admin's "select all N matching") with one INSERT ... SELECT, in id
    order: 10,000 ids never travel through Python."""
    quote = connection.ops.quote_name
    subject = AnonymisationSubject._meta
    ids = selection.order_by().values(selected_id=F("pk")).distinct()
    selection_sql, selection_params = ids.query.sql_with_params()
    columns = ", ".join(
        quote(subject.get_field(name).column)
        for name in ("request", "requested_id", "contact", "result", "reason")
    )
    # Names quoted from the model's metadata; the selection's SQL compiled by the ORM, with its params.
    sql = (
        f"INSERT INTO {quote(subject.db_table)} ({columns}) "  # noqa: S608
        f"SELECT %s, q.selected_id, q.selected_id, %s, '' FROM ({selection_sql}) q ORDER BY q.selected_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [request.pk, AnonymisationSubject.Result.PENDING, *selection_params])


@transaction.atomic
def _request_create(
    *, contact_ids: list[int] | None, selection: QuerySet | None, actor, source: str, confirmation_token: str
) -> tuple[AnonymisationRequest, bool]:
    """The new request and True, or the request of an earlier send of the same confirmation and False."""
    request, created = create_once(
        AnonymisationRequest,
        confirmation_token,
        requested_by=actor if actor is not None and actor.is_authenticated else None,
        source=source,
    )
    if not created:
        return request, False
    if selection is not None:
        _subjects_insert_selection(request, selection)
    else:
        _subjects_insert_ids(request, contact_ids)
    subjects = AnonymisationSubject.objects.filter(request=request)
    request.subject_count = subjects.count()
    request.save(update_fields=["subject_count"])
    audit_record(
        action=AuditEvent.Action.ANONYMISATION_REQUESTED,
        actor=actor,
        subject_ids=subjects.exclude(contact=None).values_list("contact_id", flat=True),
        counts={"subjects": request.subject_count},
        details={"request": request.pk, "source": source},
        whole_request=True,
    )
    if request.subject_count > inline_max():
        dispatch.send_after_commit(request, partial(_enqueue_request, request.pk))
    return request, True


def _enqueue_request(request_id: int) -> None:
    """One message from the web request; a worker enqueues the chunks (a lost message is resumed by the
    periodic task once the request is stale)."""
    from ..tasks.anonymisation import enqueue_anonymisation_chunks

    enqueue_anonymisation_chunks.delay(request_id)


def anonymisation_request_enqueue(*, request_id: int) -> int:
    """Enqueue one task per chunk of the request's pending contacts, so that workers share the work.

    A chunk is a range of result-row ids; enqueuing a range twice is harmless (each contact is claimed).
    Return the number of tasks enqueued.
    """
    from ..tasks.anonymisation import anonymise_request

    pending = list(
        AnonymisationSubject.objects.filter(request_id=request_id, result=AnonymisationSubject.Result.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not pending:  # e.g. a chunk died after its last contact, before recording the progress
        _progress_record(request_id=request_id)
        return 0
    size = max(1, chunk_size())
    for start in range(0, len(pending), size):
        chunk = pending[start : start + size]
        anonymise_request.delay(request_id, chunk[0], chunk[-1])
    dispatch.sent(AnonymisationRequest, request_id)
    return -(-len(pending) // size)


def anonymisation_request_create(
    *,
    contact_ids: Iterable[int] | None = None,
    selection: QuerySet | None = None,
    actor,
    confirmed: bool,
    source: str = AnonymisationRequest.Source.ROW,
    confirmation_token: str = "",
) -> AnonymisationRequest:
    """Anonymise contacts: the single entry point of the row icon, the bulk action and the API.

    The contacts are ids as given (``contact_ids``) or a ``selection`` queryset (the admin's selection,
    recorded without reading it into Python). Nothing happens without ``confirmed`` (the checkbox, or
    ``"confirm": true``). Up to ``RGPD_ANONYMISATION_INLINE_MAX`` contacts are processed before
    returning; a larger request is processed in the background in chunks and the caller shows its
    progress. Stored files are always deleted by a worker after the commit. A ``confirmation_token``
    (the confirmation page's) makes it idempotent: the same confirmation sent twice, even at the same
    moment, returns the request of the first (which that first send processes).
    """
    if (contact_ids is None) == (selection is None):
        raise TypeError("Give exactly one of contact_ids or selection.")
    if confirmed is not True:
        raise AnonymisationNotConfirmed
    ids = None if contact_ids is None else _unique_ids(contact_ids)
    request, created = _request_create(
        contact_ids=ids,
        selection=selection,
        actor=actor,
        source=source,
        confirmation_token=confirmation_token,
    )
    if created and request.subject_count <= inline_max():
        anonymised = anonymisation_request_process(request_id=request.pk)
        if anonymised:
            # Outside a transaction this runs at once; a caller's transaction defers it to its commit.
            transaction.on_commit(partial(_enqueue_file_deletions, anonymised), robust=True)
        request.refresh_from_db()
    return request


def _process_chunk(*, pending: QuerySet, actor, request_id: int) -> list[int]:
    """Anonymise the result rows of ``pending`` in one transaction; return the contact ids anonymised.

    The rows are claimed with ``SKIP LOCKED``: a redelivered chunk, or one running twice at once, finds
    them taken or done and does nothing.
    """
    with transaction.atomic():
        claimed = list(pending.select_for_update(skip_locked=True).order_by("pk"))
        if not claimed:
            return []
        outcome = _anonymise_isolating_failures(
            [row.requested_id for row in claimed], actor=actor, request_id=request_id
        )
        refusals = []
        by_result: dict[tuple[str, str], list[int]] = defaultdict(list)
        for row in claimed:
            reason = outcome.refused.get(row.requested_id)
            result = AnonymisationSubject.Result.SKIPPED if reason else AnonymisationSubject.Result.ANONYMISED
            by_result[(result, reason.value if reason else "")].append(row.pk)
            # Anonymising twice is a no-op: no audit row for it, the request's result says it was skipped.
            if reason and reason != Reason.ALREADY_ANONYMISED:
                refusals.append(
                    audit_event(
                        action=AuditEvent.Action.ANONYMISATION_REFUSED,
                        actor=actor,
                        subject_ids=[row.requested_id] if row.contact_id else [],
                        outcome=AuditEvent.Outcome.FAILURE,
                        details={"request": request_id, "reason": reason.value, "contact": row.requested_id},
                    )
                )
        now = timezone.now()
        for (result, reason), pks in by_result.items():  # one UPDATE per outcome, not one per row
            AnonymisationSubject.objects.filter(pk__in=pks).update(
                result=result, reason=reason, processed_at=now
            )
        AuditEvent.objects.bulk_create(refusals)
        return list(outcome.anonymised)


@transaction.atomic
def _progress_record(*, request_id: int) -> None:
    """Recount the request's results (absolute values) and mark it done when no contact is left.

    The request row is locked first, so concurrent chunks record their counts one after the other,
    each seeing everything committed before it: counts never go backwards and the last one is right.
    """
    request = AnonymisationRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        return
    counts = dict(
        AnonymisationSubject.objects.filter(request_id=request_id)
        .order_by()
        .values_list("result")
        .annotate(n=Count("pk"))
    )
    now = timezone.now()
    request.anonymised_count = counts.get(AnonymisationSubject.Result.ANONYMISED, 0)
    request.skipped_count = counts.get(AnonymisationSubject.Result.SKIPPED, 0)
    request.processed_count = request.anonymised_count + request.skipped_count
    request.updated_at = now
    fields = ["anonymised_count", "skipped_count", "processed_count", "updated_at"]
    if (
        not counts.get(AnonymisationSubject.Result.PENDING)
        and request.status == AnonymisationRequest.Status.RUNNING
    ):
        request.status, request.finished_at = AnonymisationRequest.Status.DONE, now
        fields += ["status", "finished_at"]
    request.save(update_fields=fields)


def anonymisation_request_process(
    *, request_id: int, first_subject_id: int | None = None, last_subject_id: int | None = None
) -> list[int]:
    """Process the pending contacts of a request (those of one chunk, when given); return those anonymised.

    Contacts are anonymised together, ``RGPD_ANONYMISATION_CHUNK_SIZE`` per transaction; the request is
    claimed with a conditional update. Running a chunk twice (a redelivered task) or two chunks at once
    is harmless.
    """
    now = timezone.now()
    AnonymisationRequest.objects.filter(pk=request_id, status=AnonymisationRequest.Status.PENDING).update(
        status=AnonymisationRequest.Status.RUNNING, started_at=now, updated_at=now
    )
    request = AnonymisationRequest.objects.filter(pk=request_id).select_related("requested_by").first()
    if request is None or request.status != AnonymisationRequest.Status.RUNNING:
        return []
    pending = AnonymisationSubject.objects.filter(
        request_id=request_id, result=AnonymisationSubject.Result.PENDING
    )
    if first_subject_id is not None:
        pending = pending.filter(pk__gte=first_subject_id)
    if last_subject_id is not None:
        pending = pending.filter(pk__lte=last_subject_id)
    subject_ids = list(pending.order_by("pk").values_list("pk", flat=True))
    anonymised = []
    size = max(1, chunk_size())
    for start in range(0, len(subject_ids), size):
        batch = subject_ids[start : start + size]
        chunk = pending.filter(pk__gte=batch[0], pk__lte=batch[-1])
        anonymised += _process_chunk(pending=chunk, actor=request.requested_by, request_id=request_id)
        _progress_record(request_id=request_id)
    if not subject_ids:
        _progress_record(request_id=request_id)
    return anonymised


def anonymisation_chunk_run(
    *, request_id: int, first_subject_id: int | None, last_subject_id: int | None
) -> list[int]:
    """A background chunk: anonymise it, then delete stored objects in whole DeleteObjects batches; the
    chunk that finishes the request deletes the rest, so a large request costs one call per 1,000 objects."""
    anonymised = anonymisation_request_process(
        request_id=request_id, first_subject_id=first_subject_id, last_subject_id=last_subject_id
    )
    finished = not AnonymisationRequest.objects.filter(
        pk=request_id, status__in=[AnonymisationRequest.Status.PENDING, AnonymisationRequest.Status.RUNNING]
    ).exists()
    pending_deletions_process(whole_batches_only=not finished)
    return anonymised


def stale_anonymisation_requests(*, now: datetime | None = None) -> list[int]:
    """Ids of requests that stopped moving (a lost task message) or whose first message could not be sent
    (the broker was unreachable): the periodic task enqueues them again."""
    now = now or timezone.now()
    return list(
        AnonymisationRequest.objects.filter(
            Q(updated_at__lt=now - STALE_REQUEST_AFTER) | Q(awaiting_broker=True),
            status__in=[AnonymisationRequest.Status.PENDING, AnonymisationRequest.Status.RUNNING],
        ).values_list("pk", flat=True)
    )


# --- Dry run (the confirmation page) ------------------------------------------------------------


@dataclass
class FieldChange:
    name: str
    label: str
    current: str  # masked: never the value in full
    new: str


@dataclass
class RowRemoval:
    label: str  # e.g. "document #12"
    details: list[str]  # non-identifying kept values, e.g. the document's kind


@dataclass
class ContactPreview:
    contact_id: int
    changes: list[FieldChange]
    removals: list[RowRemoval]


@dataclass
class RefusedContact:
    contact_id: int
    reason: str
    message: str


@dataclass
class AnonymisationPreview:
    total: int
    eligible_ids: list[int]
    contacts: list[ContactPreview]
    refused: list[RefusedContact]
    refused_count: int
    refused_by_reason: dict[str, int]
    limit: int

    @property
    def eligible_count(self) -> int:
        return len(self.eligible_ids)

    @property
    def more_contacts(self) -> int:
        return self.eligible_count - len(self.contacts)

    @property
    def more_refused(self) -> int:
        return self.refused_count - len(self.refused)


def mask_current(value) -> str:
    """Show that a field holds something without showing it: its first character and an ellipsis."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        return f"{value.strip()[:1]}…"
    return "…"


def _current_label(instance: models.Model, name: str, treatment: Treatment) -> str:
    value = getattr(instance, name)
    if treatment == Treatment.DELETE_FILE:
        return str(_("a file")) if value else "—"
    return mask_current(value)


def _new_value_label(spec: ModelSpec, name: str) -> str:
    treatment = spec.personal[name]
    if treatment == Treatment.DELETE_FILE:
        return str(_("deleted"))
    value = spec.anonymised_value(name)
    return value if value else str(_("(empty)"))


def _contact_previews(contact_ids: list[int]) -> list[ContactPreview]:
    spec = registry.subject
    contacts = {c.pk: c for c in spec.model.objects.filter(pk__in=contact_ids)}
    related_rows: dict[int, list[tuple[ModelSpec, models.Model]]] = defaultdict(list)
    for rspec in registry.related:
        attname = rspec.model._meta.get_field(rspec.subject_field).attname
        for row in rspec.model.objects.filter(**{f"{rspec.subject_field}__in": contact_ids}).order_by("pk"):
            related_rows[getattr(row, attname)].append((rspec, row))
    previews = []
    for contact_id in contact_ids:
        contact = contacts.get(contact_id)
        if contact is None:
            continue
        changes = [
            FieldChange(
                name=name,
                label=str(spec.model._meta.get_field(name).verbose_name),
                current=_current_label(contact, name, treatment),
                new=_new_value_label(spec, name),
            )
            for name, treatment in spec.personal.items()
            if treatment != Treatment.KEEP
        ]
        removals = []
        for rspec, row in related_rows[contact_id]:
            if not rspec.delete_rows:
                continue
            # Kept values with choices (a document's kind) describe the row; its original file name is
            # not shown: names like "bulletin-Dupont-Jean.pdf" identify the person, the archive has them.
            details = [
                str(getattr(row, f"get_{name}_display")())
                for name, treatment in rspec.personal.items()
                if treatment == Treatment.KEEP and rspec.model._meta.get_field(name).choices
            ]
            label = _("%(model)s #%(id)s") % {"model": rspec.model._meta.verbose_name, "id": row.pk}
            removals.append(RowRemoval(label=str(label), details=details))
        previews.append(ContactPreview(contact_id=contact_id, changes=changes, removals=removals))
    return previews


def anonymisation_preview(*, contacts: QuerySet, limit: int = PREVIEW_LIMIT) -> AnonymisationPreview:
    """What anonymising ``contacts`` would do, changing nothing: the first ``limit`` contacts in detail,
    counts for the rest, and the contacts that would be skipped with their reason."""
    reasons = _reasons_for(contacts)
    eligible = [pk for pk, reason in reasons if reason is None]
    refused_rows = [(pk, reason) for pk, reason in reasons if reason is not None]
    return AnonymisationPreview(
        total=len(reasons),
        eligible_ids=eligible,
        contacts=_contact_previews(eligible[:limit]),
        refused=[
            RefusedContact(contact_id=pk, reason=reason.value, message=reason_message(reason))
            for pk, reason in refused_rows[:limit]
        ],
        refused_count=len(refused_rows),
        refused_by_reason=dict(Counter(reason.value for _pk, reason in refused_rows)),
        limit=limit,
    )


def contact_anonymisation_state(contact: models.Model) -> str:
    """``"anonymised"``, ``"in_progress"`` (files still being deleted) or ``""``, for display."""
    if getattr(contact, ANONYMISED_AT_FIELD) is None:
        return ""
    pending = getattr(contact, "anonymisation_in_progress", None)
    if pending is None:
        pending = PendingStorageDeletion.objects.filter(contact_id=contact.pk).exists()
    return "in_progress" if pending else "anonymised"
