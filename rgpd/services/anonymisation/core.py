"""Anonymising a set of people of one population at once, all or nothing, in a bounded number of queries."""

from __future__ import annotations

import logging
import traceback
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.admin.models import LogEntry
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from ...models import AuditEvent, LegalHold, PendingStorageDeletion
from ...populations import Population, resolve_population
from ...registry import MASK, ModelSpec, Treatment
from ..audit import audit_insert
from ..selection import concrete_field, insert_columns
from .check import _check_database, _History, _holds_naming, _Person
from .deleted_history import id_only_repr, rows_delete_history_rewritten
from .deletions import _storage_alias
from .eligibility import ANONYMISED_AT_FIELD, Reason, _reasons_for
from .former import _scrub_change_message
from .tombstones import tombstone_owed

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


def _safe_repr(instance: models.Model) -> str:
    try:
        text = str(instance)
    except Exception:  # noqa: BLE001 - a __str__ needing deleted rows
        text = ""
    return text or id_only_repr(type(instance), instance.pk)


def _treated(spec: ModelSpec) -> list[models.Field]:
    """The personal fields ``spec`` changes (all but KEEP)."""
    return [concrete_field(spec.model, name) for name, t in spec.personal.items() if t != Treatment.KEEP]


def _locked_values(queryset: QuerySet, spec: ModelSpec, *columns: str) -> list[dict]:
    """The rows of ``queryset`` locked in id order: their id, ``columns`` and treated personal fields, as
    stored (no model instance built per row)."""
    names = [f.attname for f in _treated(spec)]
    return list(queryset.select_for_update(of=("self",)).order_by("pk").values("pk", *columns, *names))


def _hold_former(rows: Iterable[dict], spec: ModelSpec, people: dict[int, _Person], owner: str) -> None:
    """Note each row's former values (for the check) and stored files (for their deletion), under the
    person its ``owner`` column names."""
    files, values = [], []
    for f in _treated(spec):
        if spec.personal[f.name] == Treatment.DELETE_FILE:
            files.append((f.attname, _storage_alias(f.storage)))  # type: ignore[attr-defined]
        elif not f.is_relation:  # a related row's id is not a value of the person's
            values.append(f.attname)
    for row in rows:
        person = people[row[owner]]
        person.files.extend((alias, row[attname]) for attname, alias in files if row[attname])
        person.former.update([row[attname] for attname in values])


def _anonymised_values(spec: ModelSpec) -> dict:
    return {f.attname: spec.anonymised_value(f.name) for f in _treated(spec)}


def _rows_named(model: type[models.Model], pks: set[int], spec: ModelSpec | None = None) -> dict:
    """(model, id) -> how the history names each row ``pks`` of ``model`` once anonymised (``spec``: rows
    read before they are changed, anonymised in memory)."""
    anonymised = _anonymised_values(spec) if spec else {}
    named = {}
    for row in model._default_manager.filter(pk__any_of=pks) if pks else []:
        for attname, value in anonymised.items():
            setattr(row, attname, value)
        named[(model, row.pk)] = _safe_repr(row)
    return named


def _mask_hold_texts(population_key: str, people: dict[int, _Person]) -> None:
    """A legal hold's details holding a former value are masked (officers are asked not to write any, but
    the hold outlives the person's data: its reason and dates stay, as the register's record)."""
    masked = {pk for pk, _subject_id in _holds_naming(population_key, people)}
    if masked:
        LegalHold.objects.filter(pk__any_of=masked).update(reason_text=MASK)


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
        row["pk"]: row for row in _locked_values(model._default_manager.filter(pk__any_of=set(ids)), spec)
    }
    outcome = BatchOutcome(refused={pk: Reason.NOT_FOUND for pk in ids if pk not in locked})
    if not replay:  # eligibility and the population's own refusals (e.g. one's own account), under the lock
        among = locked.keys()
        refused = _reasons_for(model._default_manager.filter(pk__any_of=among).order_by(), among)
        outcome.refused.update((pk, reason) for pk, reason in refused if reason)
        outcome.refused.update(population.refusals([pk for pk in locked if pk not in outcome.refused], actor))
    people = {pk: _Person() for pk in locked if pk not in outcome.refused}
    if not people:
        return outcome

    now = timezone.now()
    _hold_former((locked[pk] for pk in people), spec, people, "pk")
    # Every person gets the same anonymised values: one UPDATE for the whole set.
    auto_now = {f.attname: now for f in model._meta.concrete_fields if getattr(f, "auto_now", False)}
    model._default_manager.filter(pk__any_of=people.keys()).update(
        **_anonymised_values(spec), **{ANONYMISED_AT_FIELD: now}, **auto_now
    )

    related: list[tuple[ModelSpec, set[int]]] = []
    related_owners: dict[tuple[type[models.Model], int], int] = {}
    for rspec in population.related:
        attname = concrete_field(rspec.model, rspec.subject_field or "").attname
        values = _locked_values(
            rspec.model._default_manager.filter(**{f"{attname}__any_of": people.keys()}), rspec, attname
        )
        _hold_former(values, rspec, people, attname)
        for row in values:
            related_owners[(rspec.model, row["pk"])] = row[attname]
            people[row[attname]].rows_deleted += int(rspec.delete_rows)
        related.append((rspec, {row["pk"] for row in values}))

    # The admin history of the people and of their related rows: names and messages are rewritten. A row
    # with history is named as anonymised: read before a deleted row goes, after an updated one changed.
    history = _History(model, people, related_owners)
    entries = list(history.entries().select_for_update(of=("self",)))
    owners = [history.owner(content_type_id, object_id) for _pk, content_type_id, object_id, *_ in entries]
    with_history: dict[type[models.Model], set[int]] = defaultdict(set)
    for (row_model, pk), _subject_id in owners:
        with_history[row_model].add(pk)
    reprs = _rows_named(model, with_history[model])
    for rspec, pks in related:
        rows = rspec.model._default_manager.filter(pk__any_of=pks)
        if rspec.delete_rows:
            reprs.update(_rows_named(rspec.model, with_history[rspec.model], rspec))
            rows_delete_history_rewritten(rows)
        else:
            rows.update(**_anonymised_values(rspec))
            reprs.update(_rows_named(rspec.model, with_history[rspec.model]))
    rewritten = []
    for (pk, _type, _id, name, message), (key, subject_id) in zip(entries, owners, strict=True):
        person = people[subject_id]
        new_name = reprs[key][:200] if key in reprs else name
        new_message = _scrub_change_message(message, person.former)
        if person.former.found_in(new_name):
            new_name = MASK
        if (new_name, new_message) != (name, message):
            rewritten.append(LogEntry(pk=pk, object_repr=new_name, change_message=new_message))
            person.history_entries += 1
    # Only the entries that change: bulk_update writes one CASE per row.
    LogEntry.objects.bulk_update(rewritten, ["object_repr", "change_message"], batch_size=500)

    if population.anonymise_extra is not None:  # what the registry cannot say (e.g. an account closed)
        population.anonymise_extra(list(people))
    _mask_hold_texts(population.key, people)

    failed = _check_database(
        spec=spec, people=people, related=list(population.related), history=history, population=population.key
    )
    if failed:
        raise VerificationFailed(failed)

    changed = len(_treated(spec))
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
                    "fields": changed,
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
        tombstone_owed(population.key, now, list(people))
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
