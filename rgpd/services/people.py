"""Who: the people of a selection or a request as the officer sees them (full name, email, record link).

The confirmations, the export request's page, the anonymisation result and skip lists name people
through here, never by number alone, so the officer can check they have the right person. Names come
from the population's declaration (``Population.who`` and ``name_fields``): one query per list shown,
whatever the size of the selection.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import QuerySet

from ..populations import Population

PEOPLE_SHOWN = 10  # people named on a confirmation before "… and N others"


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email: str
    record_url: str = ""


def _loaded(population: Population, queryset: QuerySet) -> QuerySet:
    return queryset.only("pk", *population.name_fields)


def person_of(population: Population, row) -> Person:
    name, email = population.who(row)
    # A person without a name (an account without names, one anonymised) is named by their number.
    return Person(
        id=row.pk, name=name or f"n° {row.pk}", email=email, record_url=population.record_url(row.pk)
    )


def people_with_ids(population: Population, ids: Iterable[int]) -> list[Person]:
    """The people with these ids, in the ids' order; an id that names nobody (any more) by its number."""
    ids = list(ids)
    rows = _loaded(population, population.model._default_manager.filter(pk__in=ids))
    found = {row.pk: person_of(population, row) for row in rows}
    return [found.get(pk) or Person(id=pk, name=f"n° {pk}", email="") for pk in ids]


def first_people(population: Population, people: QuerySet, limit: int = PEOPLE_SHOWN) -> list[Person]:
    """The first ``limit`` people of a selection, in its order (the RGPD page's when it has none)."""
    if not people.ordered:
        people = people.order_by(*population.page.ordering)
    return [person_of(population, row) for row in _loaded(population, people)[:limit]]
