"""Who the back office lets in: shared by every app (neither ``contacts`` nor ``rgpd`` owns it)."""

from __future__ import annotations

from typing import Any


def is_back_office_user(user: Any) -> bool:
    """An active staff member: who the admin lets in. Every page, API view and download asks it first."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)
