"""The right "RGPD Contacts Clients", checked the same way by every page, action, API view and download."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.permissions import BasePermission

from contacts.permissions import is_back_office_user
from gdpr_portal.admin_input import BoundedInputAdminMixin

from .models import RGPD_PERMISSION


def holds_rgpd_right(user) -> bool:
    """Whether ``user`` holds the right (administrators grant it to security groups).

    Only back-office (staff) users do: the API and the downloads refuse whom the admin refuses.
    """
    return is_back_office_user(user) and user.has_perm(RGPD_PERMISSION)


def require_rgpd_right(request: HttpRequest) -> None:
    if not holds_rgpd_right(request.user):
        raise PermissionDenied


class HasRgpdRight(BasePermission):
    """DRF: the right "RGPD Contacts Clients"."""

    def has_permission(self, request, view) -> bool:
        return holds_rgpd_right(request.user)


class RgpdReadOnlyAdmin(BoundedInputAdminMixin, admin.ModelAdmin):
    """An admin page shown only to holders of the right, where nothing is added, changed or deleted."""

    def has_rgpd_permission(self, request: HttpRequest, obj=None) -> bool:
        return holds_rgpd_right(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_rgpd_permission(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return self.has_rgpd_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
