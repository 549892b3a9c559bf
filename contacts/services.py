"""Writes of the contacts domain that the admin forms do not cover by themselves."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext_lazy as _

from .integrity import ANONYMISED_MESSAGE
from .models import Contact

logger = logging.getLogger(__name__)


def stored_files_delete_on_commit(*, files: Iterable[FieldFile]) -> None:
    """Delete these stored objects once the transaction commits (a rollback keeps them)."""
    targets = [(f.storage, f.name) for f in files if f and f.name]

    def _delete() -> None:
        for storage, name in targets:
            try:
                storage.delete(name)
            except Exception:  # a leftover object must not break the user's action; it is logged by key only
                logger.exception("could not delete stored object %s", name)

    if targets:
        transaction.on_commit(_delete)


STALE_FORM_MESSAGE = _(
    "Someone else changed this contact since you opened this form. Reload the page to see the new "
    "values, then make your changes again."
)


def contact_version(contact: Contact) -> str:
    """The contact's version for optimistic concurrency: every save moves ``updated_at`` (auto_now)."""
    return contact.updated_at.isoformat() if contact.updated_at else ""


def contact_lock_for_write(*, contact_id: int, loaded_version: str | None = None) -> None:
    """Lock the contact row until the transaction ends; refuse to write an anonymised or changed contact.

    Called inside the form's transaction: an anonymisation of this contact waits for the save, or the
    save sees that it came first. ``loaded_version`` (when given) is the version the form was loaded with.
    """
    row = (
        Contact.objects.select_for_update()
        .filter(pk=contact_id)
        .values("updated_at", "anonymised_at")
        .first()
    )
    if row is None:
        raise ValidationError(_("This contact no longer exists."), code="gone")
    if row["anonymised_at"] is not None:
        raise ValidationError(ANONYMISED_MESSAGE, code="anonymised")
    if loaded_version is not None and loaded_version != row["updated_at"].isoformat():
        raise ValidationError(STALE_FORM_MESSAGE, code="stale")
