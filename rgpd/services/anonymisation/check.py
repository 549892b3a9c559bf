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
        value = getattr(row, concrete_field(spec.model, name).attname)
        if treatment == Treatment.DELETE_FILE and value:
            return False
        masked = treatment not in (Treatment.KEEP, Treatment.DELETE_FILE)
        if masked and value != spec.anonymised_value(name):
            return False
    return not any(former.found_in(text) for text in _text_columns(row, spec))


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
    failed: set[int] = set()
    rows = [(row, spec, row.pk) for row in spec.model._default_manager.filter(pk__in=list(people))]
    for rspec in related:
        attname = concrete_field(rspec.model, rspec.subject_field or "").attname
        remaining = rspec.model._default_manager.filter(**{f"{rspec.subject_field}__in": list(people)})
        if rspec.delete_rows:
            failed.update(remaining.values_list(attname, flat=True))
            continue
        rows.extend((row, rspec, getattr(row, attname)) for row in remaining)
    for row, row_spec, subject_id in rows:
        people[subject_id].rows_checked += 1
        if not _row_is_clean(row, row_spec, people[subject_id].former):
            failed.add(subject_id)
    for entry in history.entries():
        _key, subject_id = history.owner(entry)
        former = people[subject_id].former
        if former.found_in(entry.object_repr) or _message_holds(entry.change_message, former):
            failed.add(subject_id)
    return failed
