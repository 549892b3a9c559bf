"""Bounds on what an admin list accepts: its search box and the ids of a bulk action's selection.

A search of a thousand words becomes a query of thousands of conditions (SQLite refuses it, PostgreSQL
is slowed down for everyone): only the first ``SEARCH_MAX_WORDS`` words, ``SEARCH_MAX_LENGTH``
characters at most, are searched, and the list says so. A selection holding something other than ids
runs no action (Django would fail on it with an error page).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.admin import AdminSite, ModelAdmin, helpers
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.text import smart_split
from django.utils.translation import gettext as _

from .ids import ids_summary, invalid_id_message, parse_database_id

SEARCH_MAX_LENGTH = 200
SEARCH_MAX_WORDS = 10


def bounded_search_term(term: str) -> tuple[str, bool]:
    """The part of ``term`` that is searched, and whether it had to be shortened."""
    bounded = term[:SEARCH_MAX_LENGTH]
    words = list(smart_split(bounded))  # the admin's own splitting ("quoted phrases" are one word)
    if len(words) > SEARCH_MAX_WORDS:
        bounded = " ".join(words[:SEARCH_MAX_WORDS])
    return bounded, bounded != term


def _selects_across(request: HttpRequest) -> bool:
    # As Django's action form reads it: "select all N" makes the listed ids irrelevant.
    return request.POST.get("select_across", "").lower() not in ("", "0", "false")


# The mixin is typed against the ModelAdmin it is mixed into; at run time it adds no base class.
if TYPE_CHECKING:
    _AdminBase = ModelAdmin[Any]
else:
    _AdminBase = object


class BoundedInputAdminMixin(_AdminBase):
    """For a ``ModelAdmin``: a bounded search (with a message on the list) and a checked selection."""

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        # Every search goes through here: the list, its bulk actions, the autocomplete of related fields.
        search_term, _shortened = bounded_search_term(search_term)
        return super().get_search_results(request, queryset, search_term)

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        changelist = super().get_changelist_instance(request)
        # The search box then shows what was searched.
        changelist.query, shortened = bounded_search_term(changelist.query)
        if shortened:
            messages.warning(
                request,
                _(
                    "The search was too long: only its first %(words)d words (%(length)d characters at "
                    "most) were searched."
                )
                % {"words": SEARCH_MAX_WORDS, "length": SEARCH_MAX_LENGTH},
            )
        return changelist

    def response_action(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        if not _selects_across(request):
            selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
            invalid = [value for value in selected if parse_database_id(value) is None]
            if invalid:
                messages.error(
                    request,
                    _("The selection holds values that are not ids: %(values)s. %(rule)s No action was run.")
                    % {"values": ids_summary(invalid), "rule": invalid_id_message()},
                )
                return None  # Django then shows the list again
        return super().response_action(request, queryset)


def bound_every_admin(site: AdminSite) -> None:
    """Give the bounds to the admins other apps registered before (users, groups, API tokens)."""
    for model, model_admin in list(site._registry.items()):
        if not isinstance(model_admin, BoundedInputAdminMixin):
            bounded = type(type(model_admin).__name__, (BoundedInputAdminMixin, type(model_admin)), {})
            site.unregister(model)
            site.register(model, bounded)
