"""Database ids given by users (URLs, API bodies, admin forms): their bounds and how bad ones are named.

Every table's key is a 64-bit integer, so an id outside 1..2^63-1 names nothing. URLs match ids with
the ``<id:…>`` converter registered here: any other value is a plain 404 before a view or the database
sees it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.urls import register_converter
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

MAX_DATABASE_ID = 2**63 - 1
_ID_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_database_id(value: str) -> int | None:
    """The id written in ``value`` when it is one (digits, 1..MAX_DATABASE_ID), else None."""
    if not _ID_DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_DATABASE_ID else None


class DatabaseIdConverter:
    """``<id:name>`` in a URL: a database id, else the URL does not match (404)."""

    regex = _ID_DIGITS.pattern

    def to_python(self, value: str) -> int:
        number = parse_database_id(value)
        if number is None:
            raise ValueError(value)  # Django then tries the next pattern, and answers 404
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(DatabaseIdConverter, "id")


def ids_summary(ids: Sequence[object], *, shown: int = 3) -> str:
    """``5, 7, 9 and 12 more``: the first ``shown`` values, and how many others there are."""
    listed = ", ".join(str(value)[:30] for value in ids[:shown])
    others = len(ids) - shown
    if others <= 0:
        return listed
    return ngettext("%(ids)s and %(count)d more", "%(ids)s and %(count)d more", others) % {
        "ids": listed,
        "count": others,
    }


def invalid_id_message() -> str:
    return _("An id is a whole number from 1 to %(max)d.") % {"max": MAX_DATABASE_ID}
