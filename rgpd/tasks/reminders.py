"""The register's daily email (beat, once a day; sent once per day however often it runs)."""

from __future__ import annotations

from celery import shared_task

from ..subject_requests.reminders import deadline_reminders_send


@shared_task(name="rgpd.send_deadline_reminders")
def send_deadline_reminders() -> int:
    return deadline_reminders_send()
