"""Who may see a contact's record and download its files."""

from __future__ import annotations

from rgpd.models import RGPD_PERMISSION

VIEW_CONTACT_PERMISSION = "contacts.view_contact"


def is_back_office_user(user) -> bool:
    """An active staff member: who the admin lets in. Every page, API view and download asks it first."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def can_view_contact_record(user) -> bool:
    """Back-office users holding "RGPD Contacts Clients" or the right to view contacts."""
    return is_back_office_user(user) and (
        user.has_perm(RGPD_PERMISSION) or user.has_perm(VIEW_CONTACT_PERMISSION)
    )
