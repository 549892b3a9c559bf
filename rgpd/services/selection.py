"""These people: the contacts of a request, given as ids or as a search, recorded as the request's rows.

Shared by the export and the anonymisation. A search (the admin's "select all N matching") is recorded
with one ``INSERT … SELECT``: its ids never travel through Python, whatever its size; ids given by a
caller are checked against the database and inserted in bulk.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.db.models import F, Max, QuerySet

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
        found.update(model._default_manager.filter(pk__any_of=batch).values_list("pk", flat=True))
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


def selection_for_worker(model: type[models.Model], selection: QuerySet) -> tuple[str, list] | None:
    """The selection's SQL and parameters as a worker will run them (a large "select all" handed off),
    bounded by today's highest id of ``model`` so that people created later are not included; None when a
    parameter would not survive JSON (the caller then records the people at once)."""
    highest = model._default_manager.aggregate(highest=Max("pk"))["highest"] or 0
    sql, params = compiled(selection.filter(pk__lte=highest))
    if not all(param is None or isinstance(param, str | int | float | bool) for param in params):
        return None
    return sql, params


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


def insert_columns(
    model: type[models.Model], varying: dict[str, Sequence], constant: dict[str, object] | None = None
) -> list[int]:
    """Insert rows of ``model`` given column by column; return their ids, in the rows' order.

    ``varying`` holds one list of values per field (all the same length, one value per row), ``constant``
    the values shared by every row; the other fields take their default. On PostgreSQL it is one
    ``INSERT … SELECT … FROM jsonb_to_recordset(rows)``: the rows travel as one JSON parameter, not one
    parameter per value (several times faster than ``bulk_create`` or arrays for thousands of rows);
    elsewhere ``bulk_create``.
    """
    count = len(next(iter(varying.values()), []))
    values = dict(constant or {})
    for f in model._meta.concrete_fields:
        if not f.primary_key and f.name not in varying and f.attname not in varying and f.name not in values:
            values[f.name] = f.get_default()
    if not count:
        return []
    if connection.vendor != "postgresql":
        # By column (a foreign key by its id): the values are given as ids or as instances.
        by_column = {concrete_field(model, name).attname: column for name, column in varying.items()}
        shared = {
            concrete_field(model, name).attname: value.pk if isinstance(value, models.Model) else value
            for name, value in values.items()
        }
        instances = [
            model(**{attname: column[i] for attname, column in by_column.items()}, **shared)
            for i in range(count)
        ]
        created = model._default_manager.bulk_create(instances, batch_size=ROWS_PER_INSERT)
        return [instance.pk for instance in created]
    quote = connection.ops.quote_name
    names, selected, definitions, constants = [], [], [], []
    for position, name in enumerate(varying):
        field = concrete_field(model, name)
        names.append(quote(field.column))
        selected.append(f"r.c{position}")
        definitions.append(f"c{position} {field.db_type(connection)}")
    for name, value in values.items():
        field = concrete_field(model, name)
        names.append(quote(field.column))
        selected.append(f"%s::{field.db_type(connection)}")
        value = _db_value(field, value)
        constants.append(
            json.dumps(value, cls=DjangoJSONEncoder) if isinstance(field, models.JSONField) else value
        )
    columns = [_db_values(concrete_field(model, name), column) for name, column in varying.items()]
    keys = [f"c{position}" for position in range(len(columns))]
    rows = [dict(zip(keys, row)) for row in zip(*columns, strict=True)]  # noqa: B905 - rows of len(keys)
    aliases = ", ".join(keys)
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(names)}) "  # noqa: S608 - names from the model
        f"SELECT {', '.join(selected)} "
        f"FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS ({', '.join(definitions)})) "
        f"WITH ORDINALITY AS r({aliases}, n) "
        f"ORDER BY r.n RETURNING {quote(model._meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*constants, json.dumps(rows, cls=DjangoJSONEncoder)])
        # The ids come from the sequence in the order the rows were inserted (ORDER BY r.n).
        return sorted(row[0] for row in cursor.fetchall())


def _db_values(field: models.Field, column: Sequence) -> list:
    """A column's values as ``field``'s column takes them; ints and strings as they are (most columns)."""
    if isinstance(field, models.JSONField) or all(
        value is None or type(value) in (int, str)  # noqa: E721 - exactly these
        for value in column
    ):
        return list(column)
    return [_db_value(field, value) for value in column]


def _db_value(field: models.Field, value):
    """``value`` as ``field``'s column takes it (a JSON field's value as it is: the rows travel as JSON)."""
    if isinstance(field, models.JSONField):
        return value
    if value is None or type(value) in (int, str):  # noqa: E721 - exactly these: nothing to convert
        return value
    if isinstance(value, models.Model):
        value = value.pk
    return field.get_db_prep_save(value, connection)
