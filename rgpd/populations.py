"""Populations: the kinds of people the RGPD engine serves, each declared once.

A population (the client contacts, later the users) is declared by its own app, in its
``personal_data.py`` next to its registry entries, with ``declare(Population(...))``. Everything the
engine needs to know about it is here: its subject model and related models (through their registry
specs), the right that opens its RGPD page, that page's options, its folder in the archive, its key in
the API (``{"contacts": [ids]}``) and the key stored on requests. Export, anonymisation, eligibility,
previews, the RGPD page and the API take a ``Population`` and never name a model, so a second
population is one more declaration, not a change of the engine.

The RGPD page's proxy model is defined by the population's app with ``Meta.app_label = "rgpd"``: its
permission is then ``rgpd.<codename>`` and its page ``/admin/rgpd/<model>/``, whoever declares it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.module_loading import autodiscover_modules

from .registry import ModelSpec

Label = str | Promise  # a plain or lazily translated string


@dataclass(frozen=True)
class RgpdPage:
    """The population's RGPD page ("Gestion - RGPD : …") in the admin."""

    model: type[models.Model]  # a proxy of the subject model carrying the right (``Meta.permissions``)
    # Columns after the row icons: field names, or callables decorated with ``@admin.display``.
    columns: Sequence[str | Callable[..., Any]]
    list_fields: Sequence[str]  # columns loaded from the database (``only()``)
    search_fields: Sequence[str] = ()
    list_filter: Sequence[Any] = ()
    ordering: Sequence[str] = ("id",)
    record_url_name: str = ""  # URL name of a person's record page (one argument: the id)
    record_label: Label = ""  # accessible name of the record icon ("Accès à la fiche du contact")
    module_name: Label = ""  # the people in the action bar ("Sélectionner tous les 52 contacts")
    # The row actions' URL segment: /admin/rgpd/exportrequest/<segment>/<id>/export/.
    url_segment: str = ""


@dataclass(frozen=True)
class Population:
    key: str  # stored on requests; never renamed once rows carry it
    subject: ModelSpec  # the person itself (registry entry)
    related: tuple[ModelSpec, ...]  # rows that belong to the person (registry entries)
    permission_codename: str  # declared on ``page.model``'s Meta.permissions
    permission_label: str  # e.g. "RGPD Contacts Clients"
    page: RgpdPage
    api_key: str  # the list's key in the API: {"contacts": [ids]}
    api_item_key: str  # a person's id in the API's results: {"contact": 12, "result": …}
    archive_prefix: str  # a person's folder in the archive: "<prefix>-<id>/"
    heading: Label  # the confirmation pages' heading (breadcrumb to the RGPD page)
    # How the officer is shown who a person is (confirmations, skip lists, request pages): the fields to
    # load with ``only()`` and a function of such a row giving (full name, email).
    name_fields: Sequence[str] = ()
    name_and_email: Callable[[Any], tuple[str, str]] | None = None
    # The date field of the person's last activity ("dernier contact"): the retention sweep proposes those
    # inactive for RGPD_INACTIVITY_YEARS. Empty: the population has no retention sweep.
    last_activity_field: str = ""
    # Optional hooks (None: nothing more than the registry entries):
    # - ``refuse(ids, actor)`` -> {id: reason code}: the population's own refusals, decided inside the
    #   anonymisation's transaction after the subjects are locked (e.g. "you cannot anonymise yourself");
    # - ``anonymise_extra(ids)``: what the registry cannot say, run inside the same transaction after the
    #   registry's treatments (e.g. an account closed: sessions and tokens deleted);
    # - ``export_extra(subject)`` -> {key: JSON}: more top-level parts of the person's personal_data.json
    #   (e.g. "account"); never another person's data.
    refuse: Callable[[list[int], Any], Mapping[int, str]] | None = None
    anonymise_extra: Callable[[list[int]], None] | None = None
    export_extra: Callable[[Any], Mapping[str, Any]] | None = None
    # The labels of ``export_extra``'s keys (at any depth) on the person's readable page (a section per
    # top-level key, a row per value); a key labelled "" only groups. Unlabelled keys show as written.
    export_extra_labels: Mapping[str, Label] = field(default_factory=dict)
    # - ``preview_extra(subject)`` -> [(name, label, current, new)]: what ``anonymise_extra`` will change,
    #   for the confirmation page (current values shown in full to the officer, who holds the right).
    preview_extra: Callable[[Any], Sequence[tuple[str, Label, Any, Label]]] | None = None
    # The message context (msgctxt) of the shared pages' texts in this population's words, e.g. "users":
    # "Utilisateur n° 12"; empty: the contacts' texts, which are the seed's.
    wording_context: str = ""
    # The population's wording of the refusals (reason code -> message), over the engine's contact wording.
    refusal_messages: Mapping[str, Label] = field(default_factory=dict)

    @property
    def model(self) -> type[models.Model]:
        return self.subject.model

    @property
    def permission(self) -> str:
        return f"{self.page.model._meta.app_label}.{self.permission_codename}"

    def who(self, person: models.Model) -> tuple[str, str]:
        """(full name, email) of ``person`` as the officer sees it; its number when undeclared."""
        if self.name_and_email is None:
            return (f"n° {person.pk}", "")
        return self.name_and_email(person)

    def refusals(self, ids: Sequence[int], actor: Any) -> dict[int, str]:
        """The population's own refusals among ``ids`` (its ``refuse`` hook), as {id: reason code}."""
        return dict(self.refuse(list(ids), actor)) if self.refuse is not None and ids else {}

    def folder(self, subject_id: int) -> str:
        return f"{self.archive_prefix}-{subject_id}"

    def record_url(self, subject_id: int) -> str:
        return reverse(self.page.record_url_name, args=[subject_id]) if self.page.record_url_name else ""

    def changelist_url(self) -> str:
        meta = self.page.model._meta
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")

    def url_name(self, action: str) -> str:
        """Admin URL name of a row action ("export", "anonymise"): ``rgpd_export_contact``."""
        return f"rgpd_{action}_{self.page.url_segment}"


@dataclass
class _Declared:
    by_key: dict[str, Population] = field(default_factory=dict)
    discovered: bool = False


_declared = _Declared()


def declare(population: Population) -> Population:
    """Declare a population (from its app's ``personal_data.py``); checked here, once, at start-up."""
    problems = []
    if not population.subject.is_subject:
        problems.append("its subject spec names a subject_field")
    for spec in population.related:
        target = spec.model._meta.get_field(spec.subject_field or "").related_model
        if target is not population.model:
            problems.append(f"{spec.model.__name__}.{spec.subject_field} does not point to its subject")
    declared = [codename for codename, _label in population.page.model._meta.permissions]
    if population.permission_codename not in declared:
        problems.append(f"{population.page.model.__name__} does not declare {population.permission_codename}")
    other = _declared.by_key.get(population.key)
    if other is not None and other.model is not population.model:
        problems.append(f"the key {population.key!r} is taken")
    if problems:
        raise ValueError(f"Population {population.key!r}: " + "; ".join(problems))
    _declared.by_key[population.key] = population
    return population


def _discover() -> None:
    # The admin may be loaded before the rgpd app's ready(): whoever asks first imports the declarations.
    if not _declared.discovered:
        _declared.discovered = True
        autodiscover_modules("personal_data")


def all_populations() -> Iterator[Population]:
    _discover()
    return iter(list(_declared.by_key.values()))


def population(key: str) -> Population:
    """The population stored under ``key`` (``LookupError`` when none is declared)."""
    _discover()
    try:
        return _declared.by_key[key]
    except KeyError:
        raise LookupError(f"No population is declared under {key!r}.") from None


def population_of(model: type[models.Model]) -> Population:
    """The population whose subject (or RGPD page) ``model`` is, proxies included."""
    concrete = model._meta.concrete_model
    for candidate in all_populations():
        if candidate.model._meta.concrete_model is concrete:
            return candidate
    raise LookupError(f"{model.__name__} is the subject of no declared population.")


def resolve_population(given: Population | str | None, queryset: QuerySet | None = None) -> Population:
    """The population a service acts on: the one given (or its key), else that of ``queryset``'s model.

    Ids alone do not say whose they are, so a caller giving ids names the population.
    """
    if isinstance(given, Population):
        return given
    if given is not None:
        return population(given)
    if queryset is None:
        raise TypeError("Name the population of the ids.")
    return population_of(queryset.model)
