"""The contact's record ("fiche du contact") and the permission-checked downloads of its files."""

from __future__ import annotations

from functools import wraps

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.text import get_text_list
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from gdpr_portal.permission_names import DEFAULT_ACTIONS
from gdpr_portal.stored_files.downloads import stored_file_response
from gdpr_portal.uploads import safe_extension

from .models import RGPD_PERMISSION_LABEL, Contact
from .permissions import can_view_contact_record
from .selectors import contact_documents, contact_for_record, document_for_download

# The record's sections and the fields they show, in this order. A concrete field missing here is
# shown under "Other", so a new field of Contact appears on the record without a template change.
RECORD_SECTIONS = [
    (_("Identity"), ["civility", "last_name", "first_name", "birth_date"]),
    (_("Contact details"), ["email", "phone", "mobile"]),
    (_("Address"), ["street", "postal_code", "city", "country"]),
    (_("Work"), ["company", "job_title", "notes"]),
    (_("Record"), ["id", "last_activity_on", "created_at", "updated_at", "anonymised_at"]),
]
NOT_ON_RECORD = {"photo", "storage_key"}


def record_permission_required(view):
    """Anonymous users go to the login page; others need the right to view contacts (else 403)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not can_view_contact_record(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapper.required_right = record_right  # type: ignore[attr-defined]  # named on the 403 page
    return wrapper


def record_right() -> str:
    """ "RGPD Contacts Clients" or the right to view contacts (see ``can_view_contact_record``)."""
    view = DEFAULT_ACTIONS["view"] % {"model": Contact._meta.verbose_name}
    return str(get_text_list([RGPD_PERMISSION_LABEL, str(view)], _("or")))


def _field_row(contact: Contact, field: models.Field) -> dict:
    name = field.name
    value = getattr(contact, f"get_{name}_display")() if field.choices else getattr(contact, name)
    return {"name": name, "label": field.verbose_name, "value": value, "multiline": name == "notes"}


def record_sections(contact: Contact) -> list[dict]:
    fields = {f.name: f for f in Contact._meta.concrete_fields}
    listed = {name for _title, names in RECORD_SECTIONS for name in names}
    sections = [
        {"title": title, "rows": [_field_row(contact, fields[name]) for name in names]}
        for title, names in RECORD_SECTIONS
    ]
    others = [f for f in fields.values() if f.name not in listed | NOT_ON_RECORD]
    if others:
        sections.append({"title": _("Other"), "rows": [_field_row(contact, f) for f in others]})
    return sections


@require_safe
@record_permission_required
def contact_record(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = get_object_or_404(contact_for_record(contact_id=contact_id))
    documents = list(contact_documents(contact_id=contact.pk))
    user = request.user
    context = {
        **admin.site.each_context(request),
        "title": _("Contact's record"),
        "subtitle": None,
        "contact": contact,
        "sections": record_sections(contact),
        "documents": documents,
        "opts": Contact._meta,
        "can_change": user.has_perm("contacts.change_contact"),
        "change_url": reverse("admin:contacts_contact_change", args=[contact.pk]),
    }
    return render(request, "contacts/contact_record.html", context)


@require_safe
@record_permission_required
def document_download(request: HttpRequest, document_id: int) -> HttpResponseBase:
    document = get_object_or_404(document_for_download(document_id=document_id))
    name = document.file.name
    if not name:  # an empty file field
        raise Http404
    filename = document.original_name or f"document-{document.pk}{safe_extension(name)}"
    return stored_file_response(
        request=request,
        storage=document.file.storage,
        name=name,
        filename=filename,
        described_as=f"document {document.pk} of contact {document.contact_id}",
        content_type=document.served_content_type,
    )


@require_safe
@record_permission_required
def photo_download(request: HttpRequest, contact_id: int) -> HttpResponseBase:
    contact = get_object_or_404(Contact.objects.only("id", "photo"), pk=contact_id)
    name = contact.photo.name
    if not name:  # no photo
        raise Http404
    return stored_file_response(
        request=request,
        storage=contact.photo.storage,
        name=name,
        # Also the record's <img>: browsers ignore "attachment" for images embedded in a page.
        filename=f"photo-{contact.pk}{safe_extension(name)}",
        described_as=f"photo of contact {contact.pk}",
    )
