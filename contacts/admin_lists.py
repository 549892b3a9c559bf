"""What makes the contacts list a daily tool: search by phone whatever its spacing, filters by company, city
and document kind, and the warning that files chosen in a form with errors must be chosen again."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin, messages
from django.db.models import Exists, F, OuterRef, QuerySet, Value
from django.db.models.functions import Replace
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import Document

# What people type between a phone number's digits: spaces, dots, dashes, slashes, brackets.
PHONE_SEPARATORS = (" ", ".", "-", "/", "(", ")")
MIN_PHONE_DIGITS = 4


def phone_digits(term: str) -> str:
    """The digits of a search that looks like (part of) a phone number, else ""."""
    digits = re.sub(r"[\s.\-/()]", "", term)
    return digits if len(digits) >= MIN_PHONE_DIGITS and digits.isdigit() else ""


def _without_separators(field: str):
    expression: Any = F(field)
    for separator in PHONE_SEPARATORS:
        expression = Replace(expression, Value(separator), Value(""))
    return expression


def matching_phone(queryset: QuerySet, term: str, fields: tuple[str, ...] = ("phone", "mobile")) -> QuerySet:
    """The rows of ``queryset`` whose phone holds the digits of ``term``, however either is spaced."""
    digits = phone_digits(term)
    if not digits:
        return queryset.none()
    annotated = queryset.annotate(**{f"{name}_digits": _without_separators(name) for name in fields})
    condition = None
    for name in fields:
        match = annotated.filter(**{f"{name}_digits__contains": digits})
        condition = match if condition is None else condition | match
    return queryset.filter(pk__in=condition.values("pk")) if condition is not None else queryset.none()


class FilledValuesListFilter(admin.AllValuesFieldListFilter):
    """Every value the field holds (company, city), without the blank one: a link needs a name."""

    def __init__(self, field, request, params, model, model_admin, field_path) -> None:
        super().__init__(field, request, params, model, model_admin, field_path)
        self.lookup_choices = self.lookup_choices.exclude(**{field.name: ""})


class DocumentKindListFilter(admin.SimpleListFilter):
    """Contacts holding at least one document of a kind (payslip, contract…)."""

    title = _("document kind")
    parameter_name = "document_kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(Document.Kind.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in Document.Kind.values:
            documents = Document.objects.filter(contact=OuterRef("pk"), kind=self.value())
            return queryset.filter(Exists(documents))
        return queryset


class DocumentInlineFormSet(BaseInlineFormSet):
    """The inline's table names its inputs for assistive technologies (the column headers are not
    labels): "Type", "Fichier", "Supprimer", each with its row number."""

    def add_fields(self, form, index) -> None:
        super().add_fields(form, index)
        row = gettext("row %(n)d") % {"n": (index or 0) + 1}
        for name, field in form.fields.items():
            label = gettext("Delete") if name == "DELETE" else field.label
            if label and not field.widget.is_hidden:
                field.widget.attrs.setdefault("aria-label", f"{capfirst(label)} ({row})")


def warn_files_to_choose_again(request: HttpRequest, has_errors: bool) -> None:
    """After a form with errors, name the files the person chose: browsers do not keep them."""
    if request.method != "POST" or not has_errors or not request.FILES:
        return
    chosen = []
    for name, upload in request.FILES.items():
        file_name = getattr(upload, "name", "")
        row = re.fullmatch(r"documents-(\d+)-file", name)
        if row:
            what = gettext("document (row %(n)d)") % {"n": int(row.group(1)) + 1}
        else:
            what = gettext("photo") if name == "photo" else gettext("file")
        chosen.append(gettext("%(what)s “%(name)s”") % {"what": what, "name": file_name})
    messages.warning(
        request,
        gettext(
            "Nothing was saved. Once the errors below are corrected, choose these files again (a browser "
            "does not keep the files chosen in a form): %(files)s."
        )
        % {"files": ", ".join(chosen)},
    )
