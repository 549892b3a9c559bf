"""Reads on legal holds: which are in force on a day (a hold ends on its end date, by itself)."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from .models import LegalHold


def legal_holds_active(today: date | None = None) -> QuerySet[LegalHold]:
    """The holds in force on ``today``: those ending after it."""
    return LegalHold.objects.filter(ends_on__gt=today or timezone.localdate())


def legal_holds_of(population_key: str, subject_ids, today: date | None = None) -> QuerySet[LegalHold]:
    """The holds in force on ``today`` of these people (ids, or a query of ids)."""
    return legal_holds_active(today).filter(population=population_key, subject_id__in=subject_ids)
