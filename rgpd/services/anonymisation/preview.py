"""The dry run of the confirmation page: what anonymising these people would change."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ...populations import Population, population_of
from ...registry import ModelSpec, Treatment
from ..selection import concrete_field
from .eligibility import _reasons_for, reason_message

PREVIEW_LIMIT = 10


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
class SubjectPreview:
    contact_id: int  # the person's id (the templates' name, kept for every population)
    changes: list[FieldChange]
    removals: list[RowRemoval]
    record_url: str = ""


@dataclass
class RefusedSubject:
    contact_id: int
    reason: str
    message: str
    record_url: str = ""


@dataclass
class AnonymisationPreview:
    total: int
    eligible_ids: list[int]
    contacts: list[SubjectPreview]
    refused: list[RefusedSubject]
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


def _subject_previews(population: Population, contact_ids: list[int]) -> list[SubjectPreview]:
    spec = population.subject
    contacts = {c.pk: c for c in spec.model._default_manager.filter(pk__in=contact_ids)}
    related_rows: dict[int, list[tuple[ModelSpec, models.Model]]] = defaultdict(list)
    for rspec in population.related:
        attname = concrete_field(rspec.model, rspec.subject_field or "").attname
        for row in rspec.model._default_manager.filter(
            **{f"{rspec.subject_field}__in": contact_ids}
        ).order_by("pk"):
            related_rows[getattr(row, attname)].append((rspec, row))
    previews = []
    for contact_id in contact_ids:
        contact = contacts.get(contact_id)
        if contact is None:
            continue
        changes = [
            FieldChange(
                name=name,
                label=str(concrete_field(spec.model, name).verbose_name),
                current=_current_label(contact, name, treatment),
                new=_new_value_label(spec, name),
            )
            for name, treatment in spec.personal.items()
            # An empty file field has nothing to delete: no "Photo — deleted" line without a photo.
            if treatment != Treatment.KEEP and (treatment != Treatment.DELETE_FILE or getattr(contact, name))
        ]
        if population.preview_extra is not None:  # what a hook changes too (e.g. the user's account)
            changes += [
                FieldChange(name=name, label=str(label), current=str(current), new=str(new))
                for name, label, current, new in population.preview_extra(contact)
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
                if treatment == Treatment.KEEP and concrete_field(rspec.model, name).choices
            ]
            label = _("%(model)s #%(id)s") % {"model": rspec.model._meta.verbose_name, "id": row.pk}
            removals.append(RowRemoval(label=str(label), details=details))
        previews.append(
            SubjectPreview(
                contact_id=contact_id,
                changes=changes,
                removals=removals,
                record_url=population.record_url(contact_id),
            )
        )
    return previews


def anonymisation_preview(
    *, people: QuerySet, limit: int = PREVIEW_LIMIT, actor=None
) -> AnonymisationPreview:
    """What anonymising ``people`` (a queryset of a population's model) would do, changing nothing: the
    first ``limit`` people in detail, counts for the rest, and those who would be skipped and why (the
    population's own refusals for ``actor`` included)."""
    population = population_of(people.model)
    reasons: list[tuple[int, str | None]] = list(_reasons_for(people))
    own = population.refusals([pk for pk, reason in reasons if reason is None], actor)
    reasons = [(pk, reason or own.get(pk)) for pk, reason in reasons]
    eligible = [pk for pk, reason in reasons if reason is None]
    refused_rows = [(pk, reason) for pk, reason in reasons if reason is not None]
    return AnonymisationPreview(
        total=len(reasons),
        eligible_ids=eligible,
        contacts=_subject_previews(population, eligible[:limit]),
        refused=[
            RefusedSubject(
                contact_id=pk,
                reason=str(reason),
                message=reason_message(reason, population),
                record_url=population.record_url(pk),
            )
            for pk, reason in refused_rows[:limit]
        ],
        refused_count=len(refused_rows),
        refused_by_reason=dict(Counter(str(reason) for _pk, reason in refused_rows)),
        limit=limit,
    )
