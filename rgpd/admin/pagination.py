"""Pagination of admin lists that stays fast on a million rows (PostgreSQL).

Three costs grow with the table on a Django admin list (measured in bench/RESULTS.md):

- ``COUNT(*)`` of the whole table, for the paginator and for "N total": a full scan on every view.
  Above ``ESTIMATED_COUNT_THRESHOLD`` rows an *unfiltered* list uses PostgreSQL's own estimate (what
  its planner uses: ``reltuples`` scaled to the table's current size); filtered lists count exactly.
- ``OFFSET`` pages: PostgreSQL computes a page's per-row columns (here the EXISTS subqueries of the row
  icons) for every skipped row and reads each from the table. The page's ids are found first with the
  same filters and ordering (an index-only walk of the ordering index), then only those rows are read
  and annotated (a "deferred join").
- A search matching a few thousand rows clustered in the ordering (a last-name prefix): the planner
  walks the ordering index hoping to meet 50 matches early and reads hundreds of thousands of rows.
  When the exact count is at most ``SORT_MATCHES_MAX``, the matches are collected first (the search
  indexes) and sorted, behind an ``OFFSET 0`` planner fence.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import F, QuerySet
from django.utils.functional import cached_property

ESTIMATED_COUNT_THRESHOLD = 100_000
SORT_MATCHES_MAX = 50_000


def estimated_count(queryset: QuerySet) -> int | None:
    """PostgreSQL's row estimate of an unfiltered queryset's table, when above the threshold; else None."""
    if not isinstance(queryset, QuerySet) or queryset.query.where or queryset.query.distinct:
        return None
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN c.reltuples < 0 OR c.relpages = 0 THEN -1"
            " ELSE (c.reltuples / c.relpages"
            " * (pg_relation_size(c.oid) / current_setting('block_size')::int))"
            "::bigint END FROM pg_class c WHERE c.oid = %s::regclass",
            [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    estimate = int(row[0]) if row else -1
    return estimate if estimate >= ESTIMATED_COUNT_THRESHOLD else None


def _sorted_match_ids(queryset: QuerySet, offset: int, limit: int) -> list | None:
    """The ids of one page of a filtered queryset: matches collected, then sorted (see module doc).

    None when the ordering is not plain fields of the model (the caller then lets the ORM do it).
    """
    connection = connections[queryset.db]
    columns, order = {"p": F("pk")}, []
    for position, item in enumerate(queryset.query.order_by):
        if not isinstance(item, str) or "__" in item or item.lstrip("-") == "?":
            return None
        columns[f"o{position}"] = F(item.lstrip("-"))
        order.append(f"o{position} {'DESC' if item.startswith('-') else 'ASC'}")
    sql, params = queryset.order_by().values(**columns).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p FROM ({sql} OFFSET 0) AS matches ORDER BY {', '.join(order)} LIMIT %s OFFSET %s",  # noqa: S608 - SQL compiled by the ORM, aliases ours
            [*params, limit, offset],
        )
        return [row[0] for row in cursor.fetchall()]


class LargeTablePaginator(Paginator):
    """A Paginator with estimated counts for large unfiltered lists and cheap pages at any depth."""

    @cached_property
    def count(self) -> int:
        estimate = estimated_count(self.object_list)
        return super().count if estimate is None else estimate

    def page(self, number):
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        page_ids = None
        if queryset.query.where and self.count <= SORT_MATCHES_MAX:
            page_ids = _sorted_match_ids(queryset, bottom, top - bottom)
        if page_ids is None:
            page_ids = queryset.values("pk")[bottom:top]
        return self._get_page(queryset.filter(pk__in=page_ids), number, self)
