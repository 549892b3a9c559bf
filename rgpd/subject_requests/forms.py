"""Forms of the register's pages: record a request, and one form per step of its workflow."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from gdpr_portal.ids import ids_summary, invalid_id_message, parse_database_id

from . import clock
from .models import SubjectRequest


class DateInput(forms.DateInput):
    """The browser's date picker (ISO dates)."""

    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def date_field(label) -> forms.DateField:
    return forms.DateField(label=label, widget=DateInput(), initial=timezone.localdate)


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's refusal on the form: on its field when the form has it, else above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class RegisterForm(forms.Form):
    """A form of the register: labels start with a capital, as on the admin's own forms."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.label = capfirst(field.label)


class ContactIdsField(forms.CharField):
    """Contact numbers typed as ``12, 15``: a list of ids, the bad entries named."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("contacts concerned"))
        kwargs.setdefault("help_text", _("The contacts' numbers, separated by commas (see the RGPD page)."))
        super().__init__(max_length=2000, **kwargs)

    def clean(self, value) -> list[int]:
        text = super().clean(value)
        values = [v.strip() for v in text.replace(";", ",").split(",") if v.strip()]
        ids = [parse_database_id(v) for v in values]
        bad = [v for v, number in zip(values, ids, strict=True) if number is None]
        if bad:
            raise ValidationError(
                _("Not valid ids: %(ids)s. %(rule)s")
                % {"ids": ids_summary(bad), "rule": invalid_id_message()}
            )
        return [number for number in ids if number is not None]


class SubjectRequestForm(RegisterForm):
    kind = forms.ChoiceField(label=_("kind of request"), choices=SubjectRequest.Kind.choices)
    channel = forms.ChoiceField(label=_("channel"), choices=SubjectRequest.Channel.choices)
    received_on = date_field(_("received on"))
    contacts = ContactIdsField(required=False)
    unmatched_name = forms.CharField(
        label=_("name as given"),
        required=False,
        max_length=200,
        help_text=_("When the person is not matched to a contact yet."),
    )
    unmatched_email = forms.EmailField(label=_("email as given"), required=False)
    notes = forms.CharField(label=_("notes"), required=False, widget=forms.Textarea(attrs={"rows": 4}))


class ExtendForm(RegisterForm):
    months = forms.TypedChoiceField(
        label=_("extension"),
        coerce=int,
        choices=[
            (m, _("%(months)d month(s)") % {"months": m}) for m in range(1, clock.MAX_EXTENSION_MONTHS + 1)
        ],
    )
    reason = forms.CharField(
        label=_("reason for the extension"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why the request needs more time (complexity, number of requests): the person is told."),
    )
    informed_on = date_field(_("person informed of the extension on"))


class WaitForIdentityForm(RegisterForm):
    on = date_field(_("proof of identity asked for on"))


class StartForm(RegisterForm):
    on = date_field(_("work started (or proof of identity received) on"))


class AnswerForm(RegisterForm):
    answered_on = date_field(_("answered on"))


class RefuseForm(RegisterForm):
    refusal_reason = forms.ChoiceField(
        label=_("reason for the refusal"), choices=SubjectRequest.RefusalReason.choices
    )
    answered_on = date_field(_("person told of the refusal on"))


class MatchForm(RegisterForm):
    contacts = ContactIdsField()
    forget_identity = forms.BooleanField(
        label=_("forget the name and email as given"),
        required=False,
        initial=True,
        help_text=_("The person is now known by their contact record: keep no other copy."),
    )


class AttachForm(RegisterForm):
    file = forms.FileField(label=_("correspondence (letter, email, proof)"))
