"""The rights of the populations ("RGPD Contacts Clients", …), checked the same way by every page,
action, API view and download.

Each population has its own right (``Population.permission``); the pages shared by every population
(export history, anonymisation results, audit log, the API's lists) need any of them, and what they
show of a request needs the right of that request's population.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.text import get_text_list
from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission

from gdpr_portal.access import is_back_office_user
from gdpr_portal.admin_input import BoundedInputAdminMixin

from .populations import Population, all_populations


def populations_of(user: Any) -> list[Population]:
    """The populations whose right ``user`` holds (administrators grant rights to security groups).

    Only back-office (staff) users hold any: the API and the downloads refuse whom the admin refuses.
    """
    if not is_back_office_user(user):
        return []
    return [population for population in all_populations() if user.has_perm(population.permission)]


def holds_rgpd_right(user: Any, population: Population | None = None) -> bool:
    """Whether ``user`` holds the right of ``population`` (of any population when None)."""
    if population is None:
        return bool(populations_of(user))
    return is_back_office_user(user) and user.has_perm(population.permission)


def require_rgpd_right(request: HttpRequest, population: Population | None = None) -> None:
    if not holds_rgpd_right(request.user, population):
        raise PermissionDenied


class HasRgpdRight(BasePermission):
    """DRF: the right of at least one population (a view checks the one it acts on)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return holds_rgpd_right(request.user)


class RgpdReadOnlyAdmin(BoundedInputAdminMixin, admin.ModelAdmin):
    """An admin page shown only to holders of a right, where nothing is added, changed or deleted."""

    def has_rgpd_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return holds_rgpd_right(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_rgpd_permission(request)

    def required_right(self) -> str:
        """The right a refused visitor lacks, named on the 403 page: any population's."""
        return str(get_text_list([population.permission_label for population in all_populations()], _("or")))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_rgpd_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RgpdRecordsAdmin(BoundedInputAdminMixin, admin.ModelAdmin):
    """An admin page of records kept for the officers (the register, legal holds): the right adds and
    changes them, nobody deletes them (an accountability record is kept).

    Which right opens the page is ``has_records_right``: any population's here; a page whose records
    are about one population's people narrows it (the register needs the contacts' right)."""

    def has_records_right(self, request: HttpRequest) -> bool:
        return holds_rgpd_right(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_records_right(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_records_right(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.has_records_right(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_records_right(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
