"""Confirmation tokens: what a confirmation page confirms happens once, however often it is sent.

The page carries a one-time token; the request it creates stores it under a unique constraint. The
same confirmation sent again (a double click, back and confirm again, two sends at the same moment)
returns the request of the first send. Shared by the export and the anonymisation confirmations.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TypeVar

from django.db import IntegrityError, models, transaction

FIELD = "confirmation_token"  # the hidden field of the confirmation pages and the models' field
MAX_LENGTH = 64  # the models' field (rgpd.models.confirmation_token_field)

Row = TypeVar("Row", bound=models.Model)


def new_token() -> str:
    """A token for one showing of a confirmation page."""
    return secrets.token_urlsafe(24)


def posted_token(data: Mapping) -> str:
    """The token a confirmation sent back; "" when none (the request is then not deduplicated)."""
    value = data.get(FIELD, "")
    return value[:MAX_LENGTH] if isinstance(value, str) else ""


def create_once(model: type[Row], token: str, **fields) -> tuple[Row, bool]:
    """``(new row, True)``, or ``(row, False)`` when a send of the same confirmation created ``row``.

    Two sends at the same moment: on PostgreSQL the second insert waits on the unique constraint until
    the first commits, fails, and reads the row; on SQLite the caller's transaction (``BEGIN IMMEDIATE``)
    already waited for the first to commit, and finds the row.
    """
    existing = confirmed_before(model, token)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return model._default_manager.create(**fields, confirmation_token=token), True
    except IntegrityError:
        existing = confirmed_before(model, token)
        if existing is None:
            raise
        return existing, False


def confirmed_before(model: type[Row], token: str) -> Row | None:
    """The ``model`` row an earlier send of this confirmation created, if any."""
    return model._default_manager.filter(confirmation_token=token).first() if token else None
