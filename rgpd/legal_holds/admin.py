"""The page "Conservations légales" in the "Gestion RGPD" section: place, read and change legal holds.

Opened from a contact's record ("Ajouter une conservation légale") and from a request's page, with the
person's number filled in. A hold is never deleted (the answer to an erasure request quotes it): it is
ended by moving its end date. Thin caller of ``services``; any population's right opens it, and an officer
sees, places and changes holds only on the people of the populations whose right they hold.
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

from ..permissions import RgpdRecordsAdmin, populations_of
from ..populations import population as population_by_key
from .models import LegalHold
from .services import legal_hold_check, legal_hold_person_anonymised, legal_hold_save


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
    allowed: tuple[str, ...] = ()  # the keys of the populations whose right the officer holds (get_form)

    class Meta:
        model = LegalHold
        fields = ["population", "subject_id", "reason", "reason_text", "ends_on"]
        widgets = {"ends_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        population = self.fields["population"]
        assert isinstance(population, forms.ChoiceField)
        population.choices = [(key, population_by_key(key).heading) for key in self.allowed]

    def clean(self):
        cleaned = super().clean() or {}
        if cleaned.get("population") not in self.allowed:
            self.add_error("population", _("You do not hold this population's right."))
        if not self.errors:
            # A field shown read-only is not in the form: the hold keeps its value.
            fields = {name: cleaned.get(name, getattr(self.instance, name)) for name in self.Meta.fields}
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[LegalHold]:
        """Only the holds on people of the populations whose right the officer holds."""
        keys = [population.key for population in populations_of(request.user)]
        return super().get_queryset(request).filter(population__in=keys)

    def has_change_permission(self, request: HttpRequest, obj: LegalHold | None = None) -> bool:
        if obj is not None and obj.population not in {p.key for p in populations_of(request.user)}:
            return False
        return super().has_change_permission(request, obj)

    def has_view_permission(self, request: HttpRequest, obj: LegalHold | None = None) -> bool:
        return (
            self.has_change_permission(request, obj)
            if obj is not None
            else super().has_view_permission(request)
        )

    def get_readonly_fields(self, request: HttpRequest, obj: LegalHold | None = None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and legal_hold_person_anonymised(obj):
            fields.append("reason_text")  # masked where it named the person: the register's record now
        return fields

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        allowed = tuple(population.key for population in populations_of(request.user))
        return type(form.__name__, (form,), {"allowed": allowed})

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
