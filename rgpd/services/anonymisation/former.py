"""Former values, held in memory during one run only, and masking them in admin change messages."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import models

from ...registry import MASK

# --- Former values, held in memory during one contact's run only ------------------------------------


@dataclass
class FormerValues:
    """The values a contact had before anonymisation; never stored, never logged."""

    texts: set[str] = field(default_factory=set)

    def add(self, value) -> None:
        self.update((value,))

    def update(self, values: Iterable) -> None:
        """Hold each of ``values`` (text, above all: converted only when it is not)."""
        texts = self.texts
        for value in values:
            text = value if type(value) is str else _as_text(value)  # noqa: E721 - no conversion for text
            if text:
                text = text.strip().casefold()
                # Two characters at least (a surname like "Li"); nothing the anonymised values contain.
                if len(text) >= 2 and text not in MASK:
                    texts.add(text)

    def found_in(self, text: str | None) -> bool:
        if not text:
            return False
        folded = str(text).casefold()
        return any(value in folded for value in self.texts)

    def __len__(self) -> int:
        return len(self.texts)


def _as_text(value) -> str:
    """A value that is not text, as text: empty when it is no value of the person's own."""
    if not value or isinstance(value, bool | models.Model):  # empty, or a related row
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value) if isinstance(value, str | int | float) else ""  # a str subclass included


def _scrub(value, former: FormerValues):
    """``value`` (parsed JSON) with every string holding a former value masked; keys are Django's own."""
    if isinstance(value, str):
        return MASK if former.found_in(value) else value
    if isinstance(value, list):
        return [_scrub(item, former) for item in value]
    if isinstance(value, dict):
        return {key: _scrub(item, former) for key, item in value.items()}
    return value


def _message_holds(message: str, former: FormerValues) -> bool:
    """Whether an admin change message (JSON since Django 2.0, free text before) holds a former value."""
    try:
        data = json.loads(message or "[]")
    except ValueError:
        return former.found_in(message)
    return _scrub(data, former) != data


def _scrub_change_message(message: str, former: FormerValues) -> str:
    """Mask every value of an admin change message that holds a former value, keeping its structure."""
    if not _message_holds(message, former):
        return message
    try:
        return json.dumps(_scrub(json.loads(message), former))
    except ValueError:
        return ""  # a free-text message: nothing in it can be kept safely
