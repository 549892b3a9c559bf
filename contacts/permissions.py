"""Who may see a contact's record and download its files."""

from __future__ import annotations

from gdpr_portal.access import is_back_office_user

from .models import RGPD_PERMISSION

VIEW_CONTACT_PERMISSION = "contacts.view_contact"


def can_view_contact_record(user) -> bool:
    """Back-office users holding "RGPD Contacts Clients" or the right to view contacts."""
    return is_back_office_user(user) and (
        user.has_perm(RGPD_PERMISSION) or user.has_perm(VIEW_CONTACT_PERMISSION)
    )
