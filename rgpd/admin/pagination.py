"""Pagination of admin lists that stays fast on a million rows (PostgreSQL), in a constant number of queries.

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

None of these choices may cost a query: a view makes the same queries on 1,000 rows as on a million.
A count is one query either way (``count_rows``: the estimate, or ``COUNT(*)`` in the same statement
when the estimate is under the threshold), a page is one query either way (its ids are a subquery), and
"N total" is set from one such count (``set_full_result_count``) instead of Django's extra ``COUNT(*)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.functional import cached_property

ESTIMATED_COUNT_THRESHOLD = 100_000
SORT_MATCHES_MAX = 50_000

# PostgreSQL's estimate of a table's rows, -1 when it has none yet (never analysed, or empty).
_ESTIMATE_SQL = (
    "SELECT CASE WHEN c.reltuples < 0 OR c.relpages = 0 THEN -1"
    " ELSE (c.reltuples / c.relpages"
    " * (pg_relation_size(c.oid) / current_setting('block_size')::int))"
    "::bigint END AS estimate FROM pg_class c WHERE c.oid = %s::regclass"
)


@dataclass(frozen=True)
class RowCount:
    value: int
    estimated: bool  # PostgreSQL's estimate of the table's rows, not a COUNT(*)


def _can_estimate(queryset: QuerySet) -> bool:
    """An unfiltered list of one PostgreSQL table: its rows are the table's rows."""
    query = queryset.query
    return connections[queryset.db].vendor == "postgresql" and not (
        query.where or query.distinct or query.is_sliced or query.group_by or query.combinator
    )


def count_rows(queryset: QuerySet) -> RowCount:
    """The rows of ``queryset``, always in one query.

    An unfiltered list on PostgreSQL: the table's estimate when it is at least
    ``ESTIMATED_COUNT_THRESHOLD``, else the exact ``COUNT(*)``, in one statement (PostgreSQL runs the
    count's subquery only when the ``CASE`` needs it). Any other list: ``COUNT(*)``.
    """
    if not _can_estimate(queryset):
        return RowCount(queryset.count(), estimated=False)
    threshold = ESTIMATED_COUNT_THRESHOLD
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    exact = f"(SELECT COUNT(*) FROM ({sql}) AS counted)"  # noqa: S608 - SQL compiled by the ORM
    columns = f"CASE WHEN estimate >= %s THEN estimate ELSE {exact} END, estimate >= %s"
    statement = f"SELECT {columns} FROM ({_ESTIMATE_SQL}) AS table_estimate"  # noqa: S608 - ours
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(statement, [threshold, *params, threshold, queryset.model._meta.db_table])
        value, estimated = cursor.fetchone()
    return RowCount(int(value), estimated=bool(estimated))


def _sorted_match_ids(queryset: QuerySet, offset: int, limit: int) -> RawSQL | None:
    """The ids of one page of a filtered queryset, as a subquery: matches collected, then sorted (see
    module doc).

    None when the ordering is not plain fields of the model (the caller then lets the ORM do it).
    """
    columns, order = {"p": F("pk")}, []
    for position, item in enumerate(queryset.query.order_by):
        if not isinstance(item, str) or "__" in item or item.lstrip("-") == "?":
            return None
        columns[f"o{position}"] = F(item.lstrip("-"))
        order.append(f"o{position} {'DESC' if item.startswith('-') else 'ASC'}")
    sql, params = queryset.order_by().values(**columns).query.sql_with_params()
    return RawSQL(  # noqa: S611 - SQL compiled by the ORM, aliases ours
        f"SELECT p FROM ({sql} OFFSET 0) AS matches ORDER BY {', '.join(order)} LIMIT %s OFFSET %s",  # noqa: S608 - SQL compiled by the ORM, aliases ours
        [*params, limit, offset],
    )


class LargeTablePaginator(Paginator):
    """A Paginator with estimated counts for large unfiltered lists and cheap pages at any depth.

    One query for the count and one for a page, whichever way each is computed.
    """

    @cached_property
    def row_count(self) -> RowCount:
        if not isinstance(self.object_list, QuerySet):
            return RowCount(super().count, estimated=False)
        return count_rows(self.object_list)

    @cached_property
    def count(self) -> int:
        return self.row_count.value

    def page(self, number):
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        page_ids: RawSQL | QuerySet | None = None
        if queryset.query.where and self.count <= SORT_MATCHES_MAX:
            page_ids = _sorted_match_ids(queryset, bottom, top - bottom)
        if page_ids is None:
            page_ids = queryset.values("pk")[bottom:top]
        # Paginator._get_page (how page() builds its Page, overridable) is missing from the stubs.
        return self._get_page(queryset.filter(pk__in=page_ids), number, self)  # type: ignore[attr-defined]


def set_full_result_count(changelist) -> None:
    """Set "N total" of an admin ``ChangeList`` paginated by ``LargeTablePaginator``, in one query at most.

    Django counts the whole list with ``COUNT(*)`` when ``ModelAdmin.show_full_result_count`` is true
    (asking the admin twice); the admin sets it false and calls this once the ChangeList is built. The
    same as Django shows: the exact total on a small table; on a large one, "Show all" instead.
    """
    # Filtered (a search, a filter): count the unfiltered list; else the page's own count is the total.
    filtered = bool(changelist.queryset.query.where)
    total = count_rows(changelist.root_queryset) if filtered else changelist.paginator.row_count
    changelist.show_full_result_count = not total.estimated
    changelist.full_result_count = None if total.estimated else total.value
    changelist.show_admin_actions = total.estimated or bool(total.value)
