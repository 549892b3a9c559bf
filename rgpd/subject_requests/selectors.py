"""Reads on the register of requests: which are overdue, which fall due soon."""

from __future__ import annotations

from datetime import date, timedelta
from statistics import median

from django.db.models import QuerySet

from .models import RUNNING_STATUSES, SubjectRequest

DUE_SOON_DAYS = 7


def subject_requests_overdue(today: date, queryset: QuerySet[SubjectRequest] | None = None):
    """Requests whose clock runs and whose due date has passed (a paused clock is never overdue)."""
    base = SubjectRequest.objects.all() if queryset is None else queryset
    return base.filter(status__in=RUNNING_STATUSES, due_on__lt=today)


def subject_requests_due_soon(
    today: date, queryset: QuerySet[SubjectRequest] | None = None, *, days: int = DUE_SOON_DAYS
):
    """Requests whose clock runs and that are due from today to ``days`` days from now."""
    base = SubjectRequest.objects.all() if queryset is None else queryset
    return base.filter(
        status__in=RUNNING_STATUSES, due_on__gte=today, due_on__lte=today + timedelta(days=days)
    )


MEDIAN_WINDOW_DAYS = 90


def subject_requests_median_answer_days(today: date, *, days: int = MEDIAN_WINDOW_DAYS) -> float | None:
    """Median of the days from receipt to answer of the requests closed in the last ``days`` days."""
    closed = SubjectRequest.objects.filter(
        answered_on__gt=today - timedelta(days=days), answered_on__lte=today
    )
    spans = [
        (answered - received).days
        for received, answered in closed.values_list("received_on", "answered_on")
        if answered is not None
    ]
    return median(spans) if spans else None
