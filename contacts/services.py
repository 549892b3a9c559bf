"""Writes of the contacts domain that the admin forms do not cover by themselves."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models.fields.files import FieldFile

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
