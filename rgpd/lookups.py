"""``field__any_of=values``: membership in a list of values sent as ONE parameter.

Django's ``__in`` prepares and sends one parameter per value; an anonymisation's statements name
thousands of ids each, and preparing them costs more than running the statement. On PostgreSQL this
lookup is ``field = ANY(%s::type[])`` with the values as one array (whole numbers as the array's text,
built by one ``join``: psycopg adapts a list value by value, in Python); elsewhere it is Django's ``__in``.

Give thousands of values as a set, a dict's keys or a generator rather than a list or a tuple: Django
walks a list or tuple value by value before any lookup sees it (in case one is an expression).
"""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db import models
from django.db.models.lookups import In, Lookup


class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        values = list(self.rhs)
        if connection.vendor != "postgresql":
            return In(self.lhs, values).as_sql(compiler, connection)
        if not values:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        db_type = self.lhs.output_field.db_type(connection)
        if all(type(value) is int for value in values):  # noqa: E721 - not bool, an int subclass
            return f"{lhs} = ANY(%s::{db_type}[])", [*lhs_params, "{" + ",".join(map(str, values)) + "}"]
        return f"{lhs} = ANY(%s::{db_type}[])", [*lhs_params, values]


# Relations keep their own lookups (not the Field's): registered on both.
models.Field.register_lookup(AnyOf)
models.ForeignObject.register_lookup(AnyOf)
