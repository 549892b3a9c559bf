"""The dry run of the confirmation page: what anonymising these people would change."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import models
from django.db.models import QuerySet
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from ...populations import Population, population_of
from ...registry import ModelSpec, Treatment
from ..people import Person, people_with_ids
from ..selection import concrete_field
from .eligibility import Reason, _reasons_for, reason_message

PREVIEW_LIMIT = 50  # people listed on the confirmation before "… and N others"
DETAIL_MAX = 3  # up to this many people, each field's change is shown; more: one line per person


# --- Dry run (the confirmation page) ------------------------------------------------------------


@dataclass
class FieldChange:
    name: str
    label: str
    current: str  # shown in full: the officer holds the right and must recognise the person
    new: str


@dataclass
class RowRemoval:
    label: str  # e.g. "document #12"
    details: list[str]  # non-identifying kept values, e.g. the document's kind


class _Named:
    """Who a line of the dry run is about (its dataclass holds these fields)."""

    contact_id: int
    record_url: str
    name: str
    email: str

    @property
    def person(self) -> Person:
        return Person(id=self.contact_id, name=self.name, email=self.email, record_url=self.record_url)


@dataclass
class SubjectPreview(_Named):
    contact_id: int  # the person's id (the templates' name, kept for every population)
    changes: list[FieldChange]
    removals: list[RowRemoval]
    record_url: str = ""
    name: str = ""
    email: str = ""


@dataclass
class RefusedSubject(_Named):
    contact_id: int
    reason: str
    message: str
    record_url: str = ""
    name: str = ""
    email: str = ""


@dataclass
class AnonymisationPreview:
    total: int
    eligible_ids: list[int]
    contacts: list[SubjectPreview]
    refused: list[RefusedSubject]
    refused_count: int
    refused_by_reason: dict[str, int]
    limit: int
    # Skipped for want of a ready archive (never exported, or expired): exporting them is the next step.
    exportable_refused_ids: list[int] = field(default_factory=list)

    @property
    def detailed(self) -> bool:
        """Few people: each one's fields, before and after; more: a compact table, one line per person."""
        return self.eligible_count <= DETAIL_MAX

    @property
    def eligible_count(self) -> int:
        return len(self.eligible_ids)

    @property
    def more_contacts(self) -> int:
        return self.eligible_count - len(self.contacts)

    @property
    def more_refused(self) -> int:
        return self.refused_count - len(self.refused)


def _current_label(instance: models.Model, name: str, treatment: Treatment) -> str:
    value = getattr(instance, name)
    if treatment == Treatment.DELETE_FILE:
        return str(_("a file")) if value else "—"
    if value is None or value == "":
        return "—"
    display = getattr(instance, f"get_{name}_display", None)  # a choice's label, not its code
    if display is not None:
        return str(display())
    return formats.localize(value) if not isinstance(value, str) else value


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
        name, email = population.who(contact)
        previews.append(
            SubjectPreview(
                contact_id=contact_id,
                changes=changes,
                removals=removals,
                record_url=population.record_url(contact_id),
                name=name,
                email=email,
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
    named = {
        person.id: person for person in people_with_ids(population, [pk for pk, _r in refused_rows[:limit]])
    }
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
                name=named[pk].name,
                email=named[pk].email,
            )
            for pk, reason in refused_rows[:limit]
        ],
        refused_count=len(refused_rows),
        refused_by_reason=dict(Counter(str(reason) for _pk, reason in refused_rows)),
        limit=limit,
        exportable_refused_ids=[
            pk for pk, reason in refused_rows if reason in (Reason.NOT_EXPORTED, Reason.ARCHIVE_EXPIRED)
        ],
    )
