"""The check after anonymising: the rows and the admin history re-read, searched for former values."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, QuerySet

from ...registry import ModelSpec, Treatment
from ..selection import concrete_field
from .former import FormerValues, _message_holds


@dataclass
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


_NO_FILE = object()  # what the check expects of a DELETE_FILE field: no file name


def _checked_columns(spec: ModelSpec) -> tuple[list[tuple[str, str]], list[str]]:
    """What the check reads of ``spec``'s rows: (attname, expected) of each treated personal field, and the
    text columns that must not hold a former value (KEEP fields keep theirs on purpose)."""
    model = spec.model
    personal = []
    for name, treatment in spec.personal.items():
        if treatment == Treatment.KEEP:
            continue
        # A file field: its name is gone (empty or NULL), checked below as "not set".
        expected = _NO_FILE if treatment == Treatment.DELETE_FILE else spec.anonymised_value(name)
        personal.append((concrete_field(model, name).attname, expected))
    kept = {name for name, treatment in spec.personal.items() if treatment == Treatment.KEEP}
    texts = [
        f.attname
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField) and f.name not in kept
    ]
    return personal, texts


def _clean_rows(queryset: QuerySet, spec: ModelSpec, owner: str, people: dict[int, _Person]) -> set[int]:
    """Read the checked columns of ``queryset``'s rows (values, not model instances) and return the people
    (``owner`` column) of those still holding a former value or a personal field not anonymised."""
    personal, texts = _checked_columns(spec)
    failed: set[int] = set()
    expected = tuple(value for _attname, value in personal)
    columns = [owner, *(attname for attname, _value in personal), *texts]
    for row in queryset.values_list(*columns).iterator(chunk_size=2000):
        subject_id, values, text_values = row[0], row[1 : 1 + len(personal)], row[1 + len(personal) :]
        person = people[subject_id]
        person.rows_checked += 1
        values = tuple(
            _NO_FILE if want is _NO_FILE and not value else value
            for value, want in zip(values, expected, strict=True)
        )
        if values != expected or any(person.former.found_in(str(text or "")) for text in text_values):
            failed.add(subject_id)
    return failed


class _History:
    """The admin history (``LogEntry``) of a set of people and of their related rows."""

    def __init__(self, subject_model: type[models.Model], subject_ids, related_owners: dict):
        self.subject_model = subject_model
        # (concrete model, pk) -> person id, for the related rows
        self.related_owners = related_owners
        self.filter = Q(
            content_type__in=_content_types_of(subject_model), object_id__in=[str(pk) for pk in subject_ids]
        )
        by_model: dict[type[models.Model], list[str]] = defaultdict(list)
        for row_model, pk in related_owners:
            by_model[row_model].append(str(pk))
        for row_model, pks in by_model.items():
            self.filter |= Q(content_type__in=_content_types_of(row_model), object_id__in=pks)

    def entries(self) -> QuerySet:
        return LogEntry.objects.select_related("content_type").filter(self.filter)

    def owner(self, entry: LogEntry) -> tuple[tuple[type[models.Model], int], int]:
        """((concrete model, object id), person id) of an entry of ``entries()``."""
        model = entry.content_type.model_class()
        # entries() selects the content types of installed models, each with its owner known.
        assert model is not None and model._meta.concrete_model is not None
        concrete = model._meta.concrete_model
        key = (concrete, int(entry.object_id))
        if concrete is self.subject_model:
            return key, key[1]
        return key, self.related_owners[key]


def _check_database(
    *, spec: ModelSpec, people: dict[int, _Person], related: list[ModelSpec], history: _History
) -> set[int]:
    """Re-read what was changed and search each person's former values; return who still has one."""
    failed = _clean_rows(spec.model._default_manager.filter(pk__in=list(people)), spec, "pk", people)
    for rspec in related:
        attname = concrete_field(rspec.model, rspec.subject_field or "").attname
        remaining = rspec.model._default_manager.filter(**{f"{rspec.subject_field}__in": list(people)})
        if rspec.delete_rows:
            failed.update(remaining.values_list(attname, flat=True))
            continue
        failed |= _clean_rows(remaining, rspec, attname, people)
    for entry in history.entries():
        _key, subject_id = history.owner(entry)
        former = people[subject_id].former
        if former.found_in(entry.object_repr) or _message_holds(entry.change_message, former):
            failed.add(subject_id)
    return failed
