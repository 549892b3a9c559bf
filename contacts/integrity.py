"""An anonymisation is final: the database refuses writes that would undo it (migration 0003).

Writers turn the database's refusal into ``ContactAnonymised`` (a message for the user, not a 500) and
remove the file they had just stored for the refused row, so nothing personal is left behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import IntegrityError
from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext_lazy as _

from gdpr_portal.uploads import is_new_upload

# Text of the triggers' error (contacts/migrations/0003_anonymisation_is_final.py).
ANONYMISED_REFUSAL = "gdpr_portal: anonymised contact is final"
ANONYMISED_MESSAGE = _("This contact has been anonymised: it can no longer be changed.")


class ContactAnonymised(Exception):
    """A write was refused because the contact it touches has been anonymised.

    Other populations subclass it with their own ``refusal`` (the triggers' text) and ``message``: the
    admin's handling (contacts/admin.py ``RefusesAnonymisedWrites``) is the same for all.
    """

    refusal = ANONYMISED_REFUSAL
    message = ANONYMISED_MESSAGE

    def __init__(self) -> None:
        super().__init__(str(self.message))


def is_anonymised_refusal(error: BaseException, refusal: str = ANONYMISED_REFUSAL) -> bool:
    return isinstance(error, IntegrityError) and refusal in str(error)


@contextmanager
def refused_if_anonymised(
    *files: FieldFile, raises: type[ContactAnonymised] = ContactAnonymised
) -> Iterator[None]:
    """Run a write; if the database refuses it for an anonymised person, delete ``files`` newly stored.

    ``files`` are the row's file fields: those not yet committed before the write are new uploads.
    ``raises`` is the population's refusal (its trigger text and message).
    """
    new_uploads = [f for f in files if is_new_upload(f)]
    try:
        yield
    except IntegrityError as error:
        if not is_anonymised_refusal(error, raises.refusal):
            raise
        for upload in new_uploads:
            if upload.name:
                upload.storage.delete(upload.name)
        raise raises from None
