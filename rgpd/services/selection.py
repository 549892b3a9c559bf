"""These people: the contacts of a request, given as ids or as a search, recorded as the request's rows.

Shared by the export and the anonymisation. A search (the admin's "select all N matching") is recorded
with one ``INSERT … SELECT``: its ids never travel through Python, whatever its size; ids given by a
caller are checked against the database and inserted in bulk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

from django.db import connection, models
from django.db.models import F, QuerySet

ROWS_PER_INSERT = 2000  # rows of ids given by the caller, per INSERT


def batched(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch


def concrete_field(model: type[models.Model], name: str) -> models.Field:
    """``model``'s field ``name``, narrowed to a concrete column (``get_field`` also returns relations)."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field), f"{model.__name__}.{name} is not a concrete field"
    return field


def existing_ids(model: type[models.Model], ids: Sequence[int], *, per_query: int) -> set[int]:
    """Which of ``ids`` are rows of ``model``, asked ``per_query`` ids at a time."""
    found: set[int] = set()
    for batch in batched(ids, per_query):
        found.update(model._default_manager.filter(pk__in=batch).values_list("pk", flat=True))
    return found


def selected_ids(queryset: QuerySet) -> QuerySet:
    """The search as a query of distinct ids, ``selected_id`` (unordered: the insert orders them)."""
    ids = queryset.order_by().values(selected_id=F("pk"))
    # A filter across a to-many relation repeats a contact once per matching row; the admin adds
    # DISTINCT itself when its search does that. Without joins there is nothing to remove.
    if not ids.query.distinct and len(ids.query.alias_map) > 1:
        ids = ids.distinct()
    return ids


def compiled(queryset: QuerySet) -> tuple[str, list]:
    """A query's SQL and parameters, as the ORM compiles them."""
    sql, params = queryset.query.sql_with_params()
    return sql, list(params)


def insert_select(model: type[models.Model], fields: Sequence[str], select: str, params: Sequence) -> int:
    """``INSERT INTO`` ``model``'s table (``fields``' columns) the rows of ``select``; return how many.

    ``select`` is SQL whose names the caller quoted from the models' metadata and whose selection the
    ORM compiled (``compiled``), with its parameters in ``params``.
    """
    quote = connection.ops.quote_name
    meta = model._meta
    columns = ", ".join(quote(concrete_field(model, name).column) for name in fields)
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) {select}"
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return cursor.rowcount


def insert_rows(model: type[models.Model], rows: Iterable[models.Model]) -> None:
    """Insert ``rows`` (built from ids given by a caller) in bulk, a bounded number at a time."""
    for batch in batched(rows, ROWS_PER_INSERT):
        model._default_manager.bulk_create(batch)
