"""Anonymising a set of people of one population at once, all or nothing, in a bounded number of queries."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.admin.models import LogEntry
from django.db import models, transaction
from django.utils import timezone

from ...models import AuditEvent, PendingStorageDeletion
from ...populations import Population, resolve_population
from ...registry import MASK, ModelSpec, Treatment
from ..audit import audit_insert
from ..selection import concrete_field, insert_columns
from .check import _check_database, _History, _Person
from .deleted_history import history_rewritten_by_caller, id_only_repr
from .deletions import _storage_alias
from .eligibility import ANONYMISED_AT_FIELD, Reason, _reasons_for
from .former import FormerValues, _scrub_change_message
from .tombstones import tombstone_details, tombstones_after_commit

logger = logging.getLogger(__name__)


@dataclass
class BatchOutcome:
    """What anonymising a set of people did: person id -> its audit row id, and the refusals."""

    anonymised: dict[int, int] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)  # a ``Reason`` or a population's own code

    def merge(self, other: BatchOutcome) -> None:
        self.anonymised.update(other.anonymised)
        self.refused.update(other.refused)


class VerificationFailed(Exception):
    """The check found a former value: the whole set is rolled back; ``subject_ids`` hold it."""

    def __init__(self, subject_ids: set[int]) -> None:
        super().__init__(f"former values found for {len(subject_ids)} person(s)")
        self.subject_ids = subject_ids


def _safe_repr(instance: models.Model, spec: ModelSpec) -> str:
    try:
        text = str(instance)
    except Exception:  # noqa: BLE001 - a __str__ needing deleted rows
        text = ""
    return text or id_only_repr(type(instance), instance.pk)


def _apply_treatments(
    instance: models.Model, spec: ModelSpec, former: FormerValues, files: list
) -> list[str]:
    """Set every personal field of ``instance`` to its anonymised value (in memory); return their names."""
    changed = []
    for name, treatment in spec.personal.items():
        if treatment == Treatment.KEEP:
            continue
        if treatment == Treatment.DELETE_FILE:
            file_field = instance._meta.get_field(name)
            assert isinstance(file_field, models.FileField)  # DELETE_FILE is declared on file fields
            # The stored name as loaded (no FieldFile built for each row); a FieldFile once accessed.
            value = instance.__dict__.get(file_field.attname)
            value = getattr(value, "name", value)
            if value:
                files.append((_storage_alias(file_field.storage), value))
            new_value = ""
        else:
            former.add(getattr(instance, name))
            new_value = spec.anonymised_value(name)
        setattr(instance, name, new_value)
        changed.append(name)
    return changed


@transaction.atomic
def subjects_anonymise(
    *,
    population: Population | str,
    subject_ids: Iterable[int],
    actor,
    request_id: int | None = None,
    replay: bool = False,
) -> BatchOutcome:
    """Anonymise a set of people at once, all or nothing, in a bounded number of queries whatever its size.

    The subject rows are locked first (in id order, so two sets never deadlock) and eligibility is
    decided under that lock: an export part reading a person under the same lock never sees a mix of
    old and new values. Refused people are left unchanged and returned with their reason. Raise
    ``VerificationFailed`` (nothing changed) when the check finds a former value.
    """
    population = resolve_population(population)
    spec = population.subject
    model = spec.model
    ids = sorted({int(pk) for pk in subject_ids})
    locked = {
        row.pk: row
        for row in model._default_manager.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")
    }
    outcome = BatchOutcome(refused={pk: Reason.NOT_FOUND for pk in ids if pk not in locked})
    outcome.refused.update(
        (pk, reason)
        for pk, reason in ([] if replay else _reasons_for(model._default_manager.filter(pk__in=list(locked))))
        if reason
    )
    if not replay:  # the population's own refusals (e.g. one's own account), decided under the lock
        outcome.refused.update(population.refusals([pk for pk in locked if pk not in outcome.refused], actor))
    people = {pk: _Person() for pk in locked if pk not in outcome.refused}
    if not people:
        return outcome

    now = timezone.now()
    # The rows as anonymised, by (model, pk): their new name is computed only for those with a history.
    reprs: dict[tuple[type[models.Model], int], tuple[models.Model, ModelSpec]] = {}
    changed: list[str] = []
    for pk, person in people.items():
        subject = locked[pk]
        changed = _apply_treatments(subject, spec, person.former, person.files)
        setattr(subject, ANONYMISED_AT_FIELD, now)
        reprs[(model, pk)] = (subject, spec)
    # Every person gets the same anonymised values: one UPDATE for the whole set.
    auto_now = {f.name: now for f in model._meta.concrete_fields if getattr(f, "auto_now", False)}
    model._default_manager.filter(pk__in=list(people)).update(
        **{name: spec.anonymised_value(name) for name in changed}, **{ANONYMISED_AT_FIELD: now}, **auto_now
    )

    related_owners: dict[tuple[type[models.Model], int], int] = {}
    for rspec in population.related:
        attname = concrete_field(rspec.model, rspec.subject_field or "").attname
        rows = list(
            rspec.model._default_manager.select_for_update()
            .filter(**{f"{rspec.subject_field}__in": list(people)})
            .order_by("pk")
        )
        row_changed: list[str] = []
        for row in rows:
            person = people[getattr(row, attname)]
            row_changed = _apply_treatments(row, rspec, person.former, person.files)
            reprs[(rspec.model, row.pk)] = (row, rspec)
            related_owners[(rspec.model, row.pk)] = getattr(row, attname)
            person.rows_deleted += int(rspec.delete_rows)
        if rows and rspec.delete_rows:
            with history_rewritten_by_caller():  # below, with the people's history
                rspec.model._default_manager.filter(pk__in=[row.pk for row in rows]).delete()
        elif rows and row_changed:
            rspec.model._default_manager.bulk_update(rows, row_changed, batch_size=500)

    # The admin history of the people and of their related rows: names and messages are rewritten.
    history = _History(model, people, related_owners)
    rewritten = []
    for entry in history.entries().select_for_update(of=("self",)):
        key, subject_id = history.owner(entry)
        person = people[subject_id]
        before = (entry.object_repr, entry.change_message)
        if key in reprs:
            entry.object_repr = _safe_repr(*reprs[key])[:200]
        entry.change_message = _scrub_change_message(entry.change_message, person.former)
        if person.former.found_in(entry.object_repr):
            entry.object_repr = MASK
        if (entry.object_repr, entry.change_message) != before:
            rewritten.append(entry)
            person.history_entries += 1
    # Only the entries that change: bulk_update writes one CASE per row.
    LogEntry.objects.bulk_update(rewritten, ["object_repr", "change_message"], batch_size=500)

    if population.anonymise_extra is not None:  # what the registry cannot say (e.g. an account closed)
        population.anonymise_extra(list(people))

    failed = _check_database(spec=spec, people=people, related=list(population.related), history=history)
    if failed:
        raise VerificationFailed(failed)

    # One audit row per person (ids and counts only) and one deletion row per stored object, each set
    # written with one INSERT whatever its size.
    event_ids = audit_insert(
        action=AuditEvent.Action.ANONYMISED,
        actor=actor,
        at=now,
        rows=[
            (
                pk,
                {
                    "fields": len(changed),
                    "related_rows_deleted": person.rows_deleted,
                    "files": len(person.files),
                    "history_entries_rewritten": person.history_entries,
                    "rows_checked": person.rows_checked,
                    "values_checked": len(person.former),
                },
                {
                    "request": request_id,
                    "check": "passed",
                    "database_check": "passed",
                    "storage_check": "pending" if person.files else "passed",
                    **({} if replay else tombstone_details(population.key, now)),
                },
            )
            for pk, person in people.items()
        ],
    )
    files = [
        (alias, key, pk, event_id)
        for (pk, person), event_id in zip(people.items(), event_ids, strict=True)
        for alias, key in person.files
    ]
    insert_columns(
        PendingStorageDeletion,
        varying={
            "storage": [alias for alias, _key, _pk, _event in files],
            "key": [key for _alias, key, _pk, _event in files],
            "subject_id": [pk for _alias, _key, pk, _event in files],
            "audit_event": [event_id for _alias, _key, _pk, event_id in files],
        },
        constant={"population": population.key, "created_at": now},
    )
    if not replay:
        tombstones_after_commit(event_ids)
    outcome.anonymised = dict(zip(people, event_ids, strict=True))
    return outcome


def _anonymise_isolating_failures(
    population: Population, subject_ids: list[int], *, actor, request_id: int
) -> BatchOutcome:
    """``subjects_anonymise`` on the whole set; a person who fails its check, or makes it raise, is set
    aside with its reason and the others are done without it (each person stays all or nothing)."""
    outcome = BatchOutcome()
    remaining = list(subject_ids)
    while remaining:
        try:
            outcome.merge(
                subjects_anonymise(
                    population=population, subject_ids=remaining, actor=actor, request_id=request_id
                )
            )
            return outcome
        except VerificationFailed as failed:
            outcome.refused.update(dict.fromkeys(failed.subject_ids, Reason.VERIFICATION_FAILED))
            remaining = [pk for pk in remaining if pk not in failed.subject_ids]
        except Exception as exc:
            if len(remaining) > 1:  # find who makes it fail: each person on their own, in lock order
                for pk in sorted(remaining):
                    outcome.merge(
                        _anonymise_isolating_failures(population, [pk], actor=actor, request_id=request_id)
                    )
                return outcome
            # Logged with the id, the error's class and the code path only: a message could quote a value.
            logger.error(
                "rgpd: anonymisation of %s #%s failed (%s)\n%s",
                population.key,
                remaining[0],
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            outcome.refused[remaining[0]] = Reason.ERROR
            return outcome
    return outcome
