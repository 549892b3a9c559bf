"""The page "Demandes des personnes" in the "Gestion RGPD" section: the register, a request's page and the
forms of its workflow. Thin callers of ``services``; the right "RGPD Contacts Clients" opens everything
(``access``: another population's right opens none of it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from gdpr_portal.ids import parse_database_id  # also registers the <id:…> URL converter
from gdpr_portal.stored_files.downloads import stored_file_response
from gdpr_portal.uploads import safe_extension

from ..models import AuditEvent
from ..permissions import RgpdRecordsAdmin
from ..services.audit import audit_record
from . import forms as request_forms
from . import services
from .access import holds_register_right, register_right_label
from .actions import request_action_view
from .models import CONTACTS_POPULATION, SubjectRequest, SubjectRequestCorrespondence
from .page import request_page_context
from .selectors import subject_requests_due_soon, subject_requests_overdue

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class DeadlineFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [("overdue", _("overdue")), ("soon", _("due within 7 days"))]

    def queryset(self, request, queryset: QuerySet[SubjectRequest]):
        today = timezone.localdate()
        if self.value() == "overdue":
            return subject_requests_overdue(today, queryset)
        if self.value() == "soon":
            return subject_requests_due_soon(today, queryset)
        return queryset


@dataclass(frozen=True)
class Step:
    """One step of the workflow offered on a request's page: its form, and the service it calls."""

    label: StrOrPromise
    form: type[forms.Form]
    run: Callable[..., object]
    statuses: tuple[str, ...]  # the statuses the step is offered from


Status = SubjectRequest.Status
OPEN = (Status.RECEIVED, Status.AWAITING_IDENTITY, Status.IN_PROGRESS)
STEPS: dict[str, Step] = {
    "wait-identity": Step(
        _("Wait for proof of identity (pauses the clock)"),
        request_forms.WaitForIdentityForm,
        services.subject_request_wait_for_identity,
        (Status.RECEIVED,),
    ),
    "start": Step(
        _("Start working on it (resumes the clock)"),
        request_forms.StartForm,
        services.subject_request_start,
        (Status.RECEIVED, Status.AWAITING_IDENTITY),
    ),
    "match": Step(
        _("Match to contacts"),
        request_forms.MatchForm,
        lambda *, subject_request, contacts, forget_identity, actor: services.subject_request_match(
            subject_request=subject_request,
            contact_ids=contacts,
            forget_identity=forget_identity,
            actor=actor,
        ),
        OPEN,
    ),
    "extend": Step(_("Extend the deadline"), request_forms.ExtendForm, services.subject_request_extend, OPEN),
    "answer": Step(
        _("Close as answered"),
        request_forms.AnswerForm,
        services.subject_request_answer,
        (Status.IN_PROGRESS,),
    ),
    "refuse": Step(_("Refuse (Art. 12(5))"), request_forms.RefuseForm, services.subject_request_refuse, OPEN),
    "attach": Step(
        _("Attach correspondence"),
        request_forms.AttachForm,
        lambda *, subject_request, file, actor: services.subject_request_attach(
            subject_request=subject_request, upload=file, actor=actor
        ),
        tuple(Status.values),
    ),
}


@admin.register(SubjectRequest)
class SubjectRequestAdmin(RgpdRecordsAdmin):
    list_display = ["__str__", "kind", "status", "channel", "received_on", "due_on", "days_left_column"]
    list_filter = ["status", "kind", DeadlineFilter]
    list_per_page = 50
    date_hierarchy = "received_on"

    class Media:
        css = {"all": ["rgpd/css/rgpd.css"]}

    def has_records_right(self, request: HttpRequest) -> bool:
        return holds_register_right(request.user)  # its people are contacts: their right, not any

    def required_right(self) -> str:
        return register_right_label()

    @admin.display(description=_("days left"))
    def days_left_column(self, obj: SubjectRequest) -> str:
        left = obj.days_left(timezone.localdate())
        if left is None:
            return "—"
        if obj.is_paused:
            return format_html('<span class="rgpd-clock-paused">{} ({})</span>', left, _("paused"))
        if left < 0:
            return format_html(
                '<strong class="rgpd-overdue">{}</strong>', _("overdue by %(days)d day(s)") % {"days": -left}
            )
        return str(left)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        return super().changelist_view(
            request, {"title": self.opts.verbose_name_plural, **(extra_context or {})}
        )

    def get_urls(self):
        return [
            path(
                "<id:pk>/step/<slug:step>/",
                self.admin_site.admin_view(self.step_view),
                name="rgpd_subjectrequest_step",
            ),
            path(
                "<id:pk>/people/<slug:action>/",
                self.admin_site.admin_view(self.action_view),
                name="rgpd_subjectrequest_action",
            ),
            path(
                "correspondence/<id:pk>/download/",
                self.admin_site.admin_view(self.correspondence_download),
                name="rgpd_subjectrequest_correspondence",
            ),
            *super().get_urls(),
        ]

    def _page(self, request: HttpRequest, template: str, **context) -> TemplateResponse:
        context = {**self.admin_site.each_context(request), "opts": self.opts, "subtitle": None, **context}
        request.current_app = self.admin_site.name
        return TemplateResponse(request, template, context)

    def _form_page(self, request: HttpRequest, form: forms.Form, *, title, obj=None) -> TemplateResponse:
        return self._page(request, "rgpd/subject_request_form.html", title=title, form=form, original=obj)

    def add_view(self, request: HttpRequest, form_url="", extra_context=None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = request_forms.SubjectRequestForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            data = form.cleaned_data
            try:
                obj = services.subject_request_record(
                    kind=data["kind"],
                    channel=data["channel"],
                    received_on=data["received_on"],
                    contact_ids=data["contacts"],
                    unmatched_name=data["unmatched_name"],
                    unmatched_email=data["unmatched_email"],
                    notes=data["notes"],
                    actor=request.user,
                )
            except ValidationError as exc:
                request_forms.add_service_errors(form, exc)
            else:
                self.message_user(
                    request,
                    _("%(request)s recorded: answer due on %(due)s.")
                    % {"request": obj, "due": _format_date(obj.due_on)},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:rgpd_subjectrequest_change", args=[obj.pk]))
        return self._form_page(request, form, title=_("Record a request"))

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        obj = get_object_or_404(SubjectRequest, pk=_id_or_404(object_id))
        people = obj.people.all()
        days_left = obj.days_left(timezone.localdate())
        return self._page(
            request,
            "rgpd/subject_request.html",
            title=str(obj),
            original=obj,
            subject_request=obj,
            days_left=days_left,
            overdue_days=-days_left if days_left is not None and days_left < 0 and not obj.is_paused else 0,
            contacts=[
                (p.subject_id, reverse("contacts:record", args=[p.subject_id]))
                for p in people
                if p.population == CONTACTS_POPULATION
            ],
            correspondence=obj.correspondence.all(),
            steps=[(name, step.label) for name, step in STEPS.items() if obj.status in step.statuses],
            **request_page_context(request, obj),
        )

    def step_view(self, request: HttpRequest, pk: int, step: str) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        obj = get_object_or_404(SubjectRequest, pk=pk)
        action = STEPS.get(step)
        if action is None:
            raise Http404(_("This page does not exist."))
        posted = request.method == "POST"
        form = action.form(request.POST if posted else None, request.FILES if posted else None)
        if form.is_valid():
            try:
                action.run(subject_request=obj, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                request_forms.add_service_errors(form, exc)
            else:
                self.message_user(request, _("%(request)s updated.") % {"request": obj}, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:rgpd_subjectrequest_change", args=[obj.pk]))
        return self._form_page(request, form, title=f"{obj} — {action.label}", obj=obj)

    def action_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        return request_action_view(self.admin_site, request, pk, action)

    def correspondence_download(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        return _correspondence_download(request, pk)


def _id_or_404(object_id: str) -> int:
    number = parse_database_id(str(object_id))
    if number is None:
        raise Http404(_("No request has this id."))
    return number


def _format_date(value: date) -> str:
    return date_format(value, "SHORT_DATE_FORMAT")


@require_safe
def _correspondence_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    if not holds_register_right(request.user):
        raise PermissionDenied(register_right_label())
    item = get_object_or_404(SubjectRequestCorrespondence.objects.select_related("request"), pk=pk)
    if not item.file.name:
        raise Http404
    audit_record(
        action=AuditEvent.Action.CORRESPONDENCE_DOWNLOADED,
        actor=request.user,
        details={"request": item.request_id, "correspondence": item.pk},
    )
    return stored_file_response(
        request=request,
        storage=item.file.storage,
        name=item.file.name,
        filename=item.original_name or f"correspondence-{item.pk}{safe_extension(item.file.name)}",
        described_as=f"correspondence {item.pk} of request {item.request_id}",
        content_type=item.served_content_type,
    )
