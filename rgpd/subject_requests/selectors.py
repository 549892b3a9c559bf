"""Reads on the register of requests: which are overdue, which fall due soon."""

from __future__ import annotations

from datetime import date, timedelta

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
