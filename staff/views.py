"""Permission-checked downloads of an employee's photo and HR documents (never a storage URL)."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
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
