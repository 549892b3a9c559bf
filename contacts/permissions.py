"""Who may see a contact's record and download its files."""

from __future__ import annotations

from rgpd.models import RGPD_PERMISSION

VIEW_CONTACT_PERMISSION = "contacts.view_contact"


def can_view_contact_record(user) -> bool:
    """Back-office users holding "RGPD Contacts Clients" or the right to view contacts."""
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and (user.has_perm(RGPD_PERMISSION) or user.has_perm(VIEW_CONTACT_PERMISSION))
    )
