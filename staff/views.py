"""The user's record ("fiche de l'utilisateur") and the permission-checked downloads of an employee's
photo and HR documents (never a storage URL)."""

from __future__ import annotations

from functools import wraps

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from gdpr_portal.access import is_back_office_user
from gdpr_portal.stored_files.downloads import stored_file_response
from gdpr_portal.uploads import safe_extension

from .models import RGPD_USERS_PERMISSION, EmployeeProfile, HrDocument


def can_view_employee_files(user) -> bool:
    """Back-office users holding "RGPD Utilisateurs" or the right to view employee profiles."""
    return is_back_office_user(user) and (
        user.has_perm(RGPD_USERS_PERMISSION) or user.has_perm("staff.view_employeeprofile")
    )


def employee_files_permission_required(view):
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not can_view_employee_files(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


@require_safe
@employee_files_permission_required
def hr_document_download(request: HttpRequest, document_id: int) -> HttpResponseBase:
    document = get_object_or_404(HrDocument, pk=document_id)
    if not document.file.name:
        raise Http404
    return stored_file_response(
        request=request,
        storage=document.file.storage,
        name=document.file.name,
        filename=document.original_name or f"document-{document.pk}{safe_extension(document.file.name)}",
        described_as=f"HR document {document.pk} of employee {document.employee_id}",
        content_type=document.served_content_type,
    )


@require_safe
@employee_files_permission_required
def photo_download(request: HttpRequest, user_id: int) -> HttpResponseBase:
    profile = get_object_or_404(EmployeeProfile.objects.only("user_id", "photo"), pk=user_id)
    if not profile.photo.name:
        raise Http404
    return stored_file_response(
        request=request,
        storage=profile.photo.storage,
        name=profile.photo.name,
        filename=f"photo-{profile.pk}{safe_extension(profile.photo.name)}",
        described_as=f"photo of employee {profile.pk}",
    )


ACCOUNT_FIELDS = ["username", "last_name", "first_name", "email", "is_active", "date_joined", "last_login"]
RECORD_SECTIONS = [
    (_("Identity"), ["civility", "birth_date"]),
    (_("Contact details"), ["phone", "mobile"]),
    (_("Address"), ["street", "postal_code", "city", "country"]),
    (_("Work"), ["job_title", "start_date", "end_date", "anonymised_at"]),
]


def _rows(instance, names: list[str]) -> list[tuple]:
    rows = []
    for name in names:
        field = instance._meta.get_field(name)
        value = getattr(instance, f"get_{name}_display")() if field.choices else getattr(instance, name)
        rows.append((field.verbose_name, name, value))
    return rows


@require_safe
@employee_files_permission_required
def employee_record(request: HttpRequest, user_id: int) -> HttpResponse:
    profile = get_object_or_404(EmployeeProfile.objects.select_related("user"), pk=user_id)
    sections = [{"title": _("Account"), "rows": _rows(profile.user, ACCOUNT_FIELDS)}]
    sections += [{"title": title, "rows": _rows(profile, names)} for title, names in RECORD_SECTIONS]
    context = {
        **admin.site.each_context(request),
        "title": _("User's record"),
        "subtitle": None,
        "profile": profile,
        "account": profile.user,
        "sections": sections,
        "documents": HrDocument.objects.filter(employee_id=profile.pk).order_by("uploaded_at", "id"),
    }
    return render(request, "staff/employee_record.html", context)
