"""The check after anonymising: the rows and the admin history re-read, searched for former values."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import BooleanField, Case, Count, Min, Q, QuerySet, Value, When

from ...models import LegalHold
from ...registry import ModelSpec, Treatment
from ..selection import concrete_field
from .former import FormerValues, _message_holds


@dataclass(slots=True)
class _Person:
    """One person during a run: its former values (in memory only), its files and what was done."""

    former: FormerValues = field(default_factory=FormerValues)
    files: list[tuple[str, str]] = field(default_factory=list)
    rows_deleted: int = 0
    history_entries: int = 0
    rows_checked: int = 0


def _content_types_of(model: type[models.Model]) -> list[ContentType]:
    """The content types under which the admin logs ``model`` (itself and its proxies)."""
    family = [m for m in apps.get_models() if m._meta.concrete_model is model._meta.concrete_model]
    return list(ContentType.objects.get_for_models(*family, for_concrete_models=False).values())


def _anonymised(spec: ModelSpec) -> tuple[Q, list[str]]:
    """What the check asks of ``spec``'s rows: a condition true when every treated personal field holds its
    anonymised value (no file for DELETE_FILE), and the other text columns, searched for former values
    (KEEP fields keep theirs on purpose). A column equal to its anonymised value (the mask, empty or NULL)
    holds no former value: a former value is never part of the mask."""
    model = spec.model
    condition = Q()
    treated = set()
    for name, treatment in spec.personal.items():
        if treatment == Treatment.KEEP:
            continue
        treated.add(name)
        attname = concrete_field(model, name).attname
        value = spec.anonymised_value(name)
        if treatment == Treatment.DELETE_FILE:
            condition &= Q(**{f"{attname}__isnull": True}) | Q(**{attname: ""})
        elif value is None:
            condition &= Q(**{f"{attname}__isnull": True})
        else:
            condition &= Q(**{attname: value})
    kept = {name for name, treatment in spec.personal.items() if treatment == Treatment.KEEP}
    texts = [
        f.attname
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField) and f.name not in kept | treated
    ]
    return condition or Q(pk__isnull=False), texts


def _clean_rows(queryset: QuerySet, spec: ModelSpec, owner: str, people: dict[int, _Person]) -> set[int]:
    """The people (``owner`` column) of ``queryset``'s rows still holding a former value or a personal
    field not anonymised: the personal fields are compared in SQL, only other text columns are read."""
    condition, texts = _anonymised(spec)
    failed: set[int] = set()
    if not texts:  # nothing to search in Python: rows counted and compared per person in SQL
        grouped = (
            queryset.order_by()
            .values_list(owner)
            .annotate(rows=Count("pk"), clean=Min(Case(When(condition, then=1), default=0)))
        )
        for subject_id, rows, clean in grouped:
            people[subject_id].rows_checked += rows
            if not clean:
                failed.add(subject_id)
        return failed
    checked = queryset.annotate(
        rgpd_anonymised=Case(
            When(condition, then=Value(True)), default=Value(False), output_field=BooleanField()
        )
    )
    for subject_id, anonymised, *text_values in checked.values_list(
        owner, "rgpd_anonymised", *texts
    ).iterator(chunk_size=2000):
        person = people[subject_id]
        person.rows_checked += 1
        if not anonymised or any(person.former.found_in(str(text or "")) for text in text_values):
            failed.add(subject_id)
    return failed


class _History:
    """The admin history (``LogEntry``) of a set of people and of their related rows."""

    def __init__(self, subject_model: type[models.Model], subject_ids, related_owners: dict):
        self.subject_model = subject_model
        # (concrete model, pk) -> person id, for the related rows
        self.related_owners = related_owners
        self.filter = Q(
            content_type__in=_content_types_of(subject_model),
            object_id__any_of={str(pk) for pk in subject_ids},
        )
        by_model: dict[type[models.Model], set[str]] = defaultdict(set)
        for row_model, pk in related_owners:
            by_model[row_model].add(str(pk))
        for row_model, pks in by_model.items():
            self.filter |= Q(content_type__in=_content_types_of(row_model), object_id__any_of=pks)

    def entries(self) -> QuerySet:
        """(id, content type id, object id, object_repr, change_message) of each entry."""
        return LogEntry.objects.filter(self.filter).values_list(
            "pk", "content_type_id", "object_id", "object_repr", "change_message"
        )

    def owner(self, content_type_id: int, object_id: str) -> tuple[tuple[type[models.Model], int], int]:
        """((concrete model, object id), person id) of an entry of ``entries()``."""
        model = ContentType.objects.get_for_id(content_type_id).model_class()  # cached by Django
        # entries() selects the content types of installed models, each with its owner known.
        assert model is not None and model._meta.concrete_model is not None
        concrete = model._meta.concrete_model
        key = (concrete, int(object_id))
        if concrete is self.subject_model:
            return key, key[1]
        return key, self.related_owners[key]


def _holds_naming(population_key: str, people: dict[int, _Person]) -> list[tuple[int, int]]:
    """(id, person id) of the people's legal holds whose details hold one of their former values."""
    holds = (
        LegalHold.objects.filter(population=population_key, subject_id__any_of=people.keys())
        .exclude(reason_text="")
        .values_list("pk", "subject_id", "reason_text")
    )
    return [(pk, subject_id) for pk, subject_id, text in holds if people[subject_id].former.found_in(text)]


def _check_database(
    *,
    spec: ModelSpec,
    people: dict[int, _Person],
    related: list[ModelSpec],
    history: _History,
    population: str,
) -> set[int]:
    """Re-read what was changed and search each person's former values; return who still has one."""
    failed = _clean_rows(spec.model._default_manager.filter(pk__any_of=people.keys()), spec, "pk", people)
    for rspec in related:
        attname = concrete_field(rspec.model, rspec.subject_field or "").attname
        remaining = rspec.model._default_manager.filter(**{f"{attname}__any_of": people.keys()})
        if rspec.delete_rows:
            failed.update(remaining.values_list(attname, flat=True))
            continue
        failed |= _clean_rows(remaining, rspec, attname, people)
    for _pk, content_type_id, object_id, name, message in history.entries().iterator(chunk_size=2000):
        _key, subject_id = history.owner(content_type_id, object_id)
        former = people[subject_id].former
        if former.found_in(name) or _message_holds(message, former):
            failed.add(subject_id)
    failed.update(subject_id for _pk, subject_id in _holds_naming(population, people))
    return failed
