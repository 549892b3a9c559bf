"""How the officer chose the people of a bulk action, as a sentence kept on the export request, and the
way back to the list as it was (search, filters, page)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR
from django.http import HttpRequest
from django.utils.translation import gettext as _

PRESERVED_FILTERS = "_changelist_filters"  # Django admin's name for "the list's query string, kept"


def selection_label(modeladmin, request: HttpRequest, *, count: int) -> str:
    """The search and filters of the RGPD page behind a selection, e.g.
    "All 52 contacts matching: search « dupont »; anonymised: No"; "" when nothing narrowed the list."""
    query = request.GET
    narrowed = []
    search = query.get(SEARCH_VAR, "").strip()
    if search:
        narrowed.append(_("search « %(terms)s »") % {"terms": search})
    for list_filter in modeladmin.get_list_filter(request):
        if not (isinstance(list_filter, type) and issubclass(list_filter, admin.SimpleListFilter)):
            continue
        params: dict[str, Any] = {name: query.getlist(name) for name in query}  # as the ChangeList does
        spec = list_filter(request, params, modeladmin.model, modeladmin)
        chosen = dict((str(value), label) for value, label in spec.lookup_choices).get(spec.value() or "")
        if chosen is not None:
            narrowed.append(_("%(filter)s: %(choice)s") % {"filter": spec.title, "choice": chosen})
    if not narrowed:
        return ""
    return _("All %(count)s %(people)s matching: %(criteria)s") % {
        "count": count,
        "people": modeladmin.population.page.module_name,
        "criteria": "; ".join(str(item) for item in narrowed),
    }


def list_url(changelist_url: str, request: HttpRequest) -> str:
    """The list the officer came from (its search, filters and page), from the ``_changelist_filters``
    the row icons carry; the plain list otherwise."""
    kept = request.GET.get(PRESERVED_FILTERS, "")
    return f"{changelist_url}?{kept}" if kept else changelist_url


def with_list_query(url: str, list_query: str) -> str:
    """``url`` carrying the list's query string, so that its page can lead back to that list."""
    return f"{url}?{urlencode({PRESERVED_FILTERS: list_query})}" if list_query else url
