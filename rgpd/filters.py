"""Admin list filters every population's pages share."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .selectors import with_archive_state

# The subject model's marker of an anonymised person (part of the registry's contract with the subject).
ANONYMISED_AT_FIELD = "anonymised_at"


class AnonymisedListFilter(admin.SimpleListFilter):
    """Anonymised yes / no, read from the subject's ``anonymised_at``."""

    title = _("anonymised")
    parameter_name = "anonymised"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(**{f"{ANONYMISED_AT_FIELD}__isnull": self.value() == "no"})
        return queryset


class ArchiveListFilter(admin.SimpleListFilter):
    """The state of a person's archive: ready, expired, or never exported (the RGPD page's status)."""

    title = _("archive")
    parameter_name = "archive"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("ready", _("ready")), ("expired", _("expired")), ("never", _("never exported"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("ready", "expired", "never"):
            return with_archive_state(queryset, str(self.value()))
        return queryset
