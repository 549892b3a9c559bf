"""The daily email of the register: requests due within 7 days and overdue ones, to the officers.

Sent once per day whatever runs it (beat twice, a retry, two workers at once): the day's row
(``DeadlineReminder``, unique per date) is inserted first, in the transaction that sends; a second run
waits for it, finds the row and sends nothing. It holds request numbers, due dates and links only: no
name, no email of a person concerned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from ..models import AuditEvent
from ..services.audit import audit_record
from .access import holds_register_right
from .models import DeadlineReminder
from .selectors import DUE_SOON_DAYS, subject_requests_due_soon, subject_requests_overdue


@dataclass(frozen=True)
class Line:
    number: int
    due_on: date
    url: str


def _lines(requests) -> list[Line]:
    return [
        Line(r.pk, r.due_on, settings.SITE_URL + reverse("admin:rgpd_subjectrequest_change", args=[r.pk]))
        for r in requests.only("id", "due_on").order_by("due_on", "id")
    ]


def reminder_recipients() -> list[str]:
    """The addresses of the active back-office users holding the register's right (``access``)."""
    users = get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="").order_by("pk")
    return sorted({user.email for user in users if holds_register_right(user)})


def deadline_reminders_send(*, today: date | None = None) -> int:
    """Send today's reminder unless it was sent already; return the number of emails sent."""
    today = today or timezone.localdate()
    try:
        with transaction.atomic():
            reminder, created = DeadlineReminder.objects.get_or_create(day=today)
            if not created:
                return 0
            return _send(reminder, today)
    except IntegrityError:  # another run inserted the day's row at the same moment, and sent it
        return 0


def _send(reminder: DeadlineReminder, today: date) -> int:
    overdue = _lines(subject_requests_overdue(today))
    due_soon = _lines(subject_requests_due_soon(today))
    recipients = reminder_recipients() if overdue or due_soon else []
    if recipients:
        with translation.override(settings.LANGUAGE_CODE):
            context = {
                "overdue": overdue,
                "due_soon": due_soon,
                "days": DUE_SOON_DAYS,
                "today": today,
                "register_url": settings.SITE_URL + reverse("admin:rgpd_subjectrequest_changelist"),
            }
            subject = " ".join(render_to_string("rgpd/email/deadline_reminder_subject.txt", context).split())
            body = render_to_string("rgpd/email/deadline_reminder.txt", context)
        # One message per officer: nobody sees the others' addresses.
        send_mass_mail([(subject, body, None, [address]) for address in recipients])
    reminder.recipients = len(recipients)
    reminder.request_count = len(overdue) + len(due_soon)
    reminder.save(update_fields=["recipients", "request_count"])
    audit_record(
        action=AuditEvent.Action.REMINDERS_SENT,
        counts={"recipients": len(recipients), "overdue": len(overdue), "due_soon": len(due_soon)},
        details={"day": today.isoformat()},
    )
    return len(recipients)


__all__ = ["deadline_reminders_send", "reminder_recipients"]
