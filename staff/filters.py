"""The users' RGPD page filters: active accounts, and people with a ready archive."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class _YesNoFilter(admin.SimpleListFilter):
    lookup: str = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(**{self.lookup: self.value() == "yes"})
        return queryset


class ActiveListFilter(_YesNoFilter):
    title = _("active")
    parameter_name = "active"
    lookup = "user__is_active"


class ReadyArchiveListFilter(_YesNoFilter):
    """Read from the page's own annotation (``has_ready_archive``, set for the detective icon)."""

    title = _("archive ready")
    parameter_name = "archive_ready"
    lookup = "has_ready_archive"
