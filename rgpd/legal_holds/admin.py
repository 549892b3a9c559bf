"""The page "Conservations légales" in the "Gestion RGPD" section: place, read and change legal holds.

Opened from a contact's record ("Ajouter une conservation légale") and from a request's page, with the
person's number filled in. A hold is never deleted (the answer to an erasure request quotes it): it is
ended by moving its end date. Thin caller of ``services``; the right "RGPD Contacts Clients" opens it.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from ..permissions import RgpdRecordsAdmin
from ..populations import all_populations
from ..populations import population as population_by_key
from .models import LegalHold
from .services import legal_hold_check, legal_hold_save


class InForceFilter(admin.SimpleListFilter):
    title = _("in force")
    parameter_name = "in_force"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No (ended)"))]

    def queryset(self, request, queryset: QuerySet[LegalHold]):
        today = timezone.localdate()
        if self.value() == "yes":
            return queryset.filter(ends_on__gt=today)
        if self.value() == "no":
            return queryset.filter(ends_on__lte=today)
        return queryset


class LegalHoldForm(forms.ModelForm):
    population = forms.ChoiceField(label=_("population"))

    class Meta:
        model = LegalHold
        fields = ["population", "subject_id", "reason", "reason_text", "ends_on"]
        widgets = {"ends_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        population = self.fields["population"]
        assert isinstance(population, forms.ChoiceField)
        population.choices = [(p.key, p.heading) for p in all_populations()]

    def clean(self):
        cleaned = super().clean() or {}
        if not self.errors:
            fields = {name: cleaned.get(name) for name in self.Meta.fields}
            try:
                legal_hold_check(
                    LegalHold(pk=self.instance.pk, **{**fields, "reason_text": fields["reason_text"] or ""})
                )
            except ValidationError as exc:
                for field, errors in exc.error_dict.items():
                    self.add_error(field if field in self.fields else None, errors)
        return cleaned


@admin.register(LegalHold)
class LegalHoldAdmin(RgpdRecordsAdmin):
    form = LegalHoldForm
    list_display = ["__str__", "person_column", "reason", "reason_text", "ends_on", "in_force_column"]
    list_filter = [InForceFilter, "reason"]
    search_fields = ["=subject_id"]
    readonly_fields = ["created_by", "created_at"]
    list_per_page = 50

    @admin.display(description=_("person"), ordering="subject_id")
    def person_column(self, obj: LegalHold) -> str:
        label = _("n° %(id)s") % {"id": obj.subject_id}
        try:
            url = population_by_key(obj.population).record_url(obj.subject_id)
        except LookupError:
            url = ""
        return format_html('<a href="{}">{}</a>', url, label) if url else label

    @admin.display(description=_("in force"), boolean=True)
    def in_force_column(self, obj: LegalHold) -> bool:
        return obj.is_active()

    def save_model(self, request: HttpRequest, obj: LegalHold, form, change: bool) -> None:
        legal_hold_save(hold=obj, actor=request.user)

    def log_addition(self, request, obj, message):
        return None  # the audit log records it, by ids (services.legal_hold_save)

    def log_change(self, request, obj, message):
        return None

    def _back(self, request: HttpRequest) -> HttpResponse | None:
        """Back to the page the hold was placed from (a contact's record, a request's page)."""
        target = request.GET.get("next", "")
        if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
            return HttpResponseRedirect(target)
        return None

    def response_add(self, request, obj, post_url_continue=None):
        return self._back(request) or super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        return self._back(request) or super().response_change(request, obj)
