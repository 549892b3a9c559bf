"""The retention sweep ("À examiner — durée de conservation dépassée"), the "Gestion RGPD" dashboard and
the daily email of due and overdue requests."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from contacts.models import Contact
from rgpd.models import DeadlineReminder, LegalHold, SubjectRequest
from rgpd.retention import inactivity_cutoff
from rgpd.subject_requests import services
from rgpd.subject_requests.reminders import deadline_reminders_send
from tests.contacts.test_documents import contact_form_data
from tests.factories import ContactFactory, DocumentFactory, UserFactory, rgpd_user
from tests.rgpd_page.test_rgpd_page_access import _count_queries

RGPD_PAGE = "/admin/rgpd/rgpdcontact/"


def inactive_since(years: int, days: int = 1, **fields) -> Contact:
    contact = ContactFactory(**fields)
    last = date.today().replace(year=date.today().year - years) - timedelta(days=days)
    Contact.objects.filter(pk=contact.pk).update(last_activity_on=last)
    return contact


@pytest.fixture
def officer(client):
    client.force_login(rgpd_user(email="dpo@example.org"))
    return client


def listed(client) -> set[int]:
    return {c.pk for c in client.get(RGPD_PAGE, {"retention": "past"}).context["cl"].result_list}


@pytest.mark.django_db
def test_the_retention_list_shows_contacts_inactive_beyond_the_limit_not_held_nor_anonymised(officer):
    # Given contacts inactive for over 3 years (one on hold, one anonymised), and two active ones
    old = inactive_since(3)
    held = inactive_since(5)
    LegalHold.objects.create(
        subject_id=held.pk, reason="accounting", ends_on=timezone.localdate() + timedelta(1)
    )
    gone = inactive_since(4)
    Contact.objects.filter(pk=gone.pk).update(anonymised_at=timezone.now())
    recent = inactive_since(2, days=300)
    new = ContactFactory()  # created today: last contact today

    # When the officer opens "À examiner — durée de conservation dépassée" on the RGPD page
    page = officer.get(RGPD_PAGE, {"retention": "past"}).content.decode()

    # Then only the old contact, neither held nor anonymised, is listed
    assert "À examiner — durée de conservation dépassée" in page
    assert listed(officer) == {old.pk}
    assert new.last_activity_on == timezone.localdate() and recent.pk not in listed(officer)


@pytest.mark.django_db
def test_the_limit_follows_rgpd_inactivity_years_and_a_document_makes_a_contact_active(officer, settings):
    contact = inactive_since(2)
    assert contact.pk not in listed(officer)
    settings.RGPD_INACTIVITY_YEARS = 1
    assert inactivity_cutoff(date(2027, 3, 15)) == date(2026, 3, 15)
    assert listed(officer) == {contact.pk}

    # A document added: the contact's "dernier contact" moves to today, it leaves the list
    DocumentFactory(contact=contact)
    assert Contact.objects.get(pk=contact.pk).last_activity_on == timezone.localdate()
    assert listed(officer) == set()


@pytest.mark.django_db
def test_the_last_contact_date_is_edited_in_the_contact_form(client):
    client.force_login(UserFactory(is_superuser=True))
    contact = ContactFactory()
    url = f"/admin/contacts/contact/{contact.pk}/change/"
    assert "Dernier contact" in client.get(url).content.decode()
    response = client.post(url, contact_form_data(contact, last_activity_on="2020-02-03"))
    assert response.status_code == 302
    assert Contact.objects.get(pk=contact.pk).last_activity_on == date(2020, 2, 3)


def request_received(days_ago: int) -> SubjectRequest:
    return services.subject_request_record(
        kind="access",
        received_on=timezone.localdate() - timedelta(days=days_ago),
        contact_ids=[ContactFactory().pk],
        actor=None,
    )


@pytest.mark.django_db
def test_the_dashboard_shows_overdue_due_soon_retention_and_the_median_answer_time(officer):
    # Given an overdue request, one due soon, two answered (in 10 and 20 days), and a contact past retention
    request_received(40)
    request_received(27)
    for received, took in ((50, 10), (30, 20)):
        answered = services.subject_request_start(
            subject_request=request_received(received),
            on=timezone.localdate() - timedelta(days=received),
            actor=None,
        )
        services.subject_request_answer(
            subject_request=answered,
            answered_on=timezone.localdate() - timedelta(days=received - took),
            actor=None,
        )
    inactive_since(4)

    # When the officer opens the "Gestion RGPD" home
    page = re.sub(r"\s+", " ", officer.get("/admin/rgpd/").content.decode())

    # Then it counts them, and links the retention list
    assert "1 demande en retard" in page
    assert "1 demande à échéance dans les 7 jours" in page
    assert "Délai médian de réponse sur les 90 derniers jours : 15 jour(s)" in page
    assert "1 personne à examiner : durée de conservation dépassée" in page
    assert f"{RGPD_PAGE}?retention=past" in page


@pytest.mark.django_db
def test_the_daily_email_lists_numbers_due_dates_and_links_only_once_per_day(officer, settings):
    # Given an overdue request about a named contact, one due soon, officers and a user without the right
    settings.SITE_URL = "https://rgpd.example.com"
    late = services.subject_request_record(
        kind="erasure",
        received_on=timezone.localdate() - timedelta(days=45),
        contact_ids=[ContactFactory(last_name="Beaumarchais", email="pierre@example.net").pk],
        actor=None,
        unmatched_name="Pierre Caron",
    )
    soon = request_received(27)
    rgpd_user(username="second", email="second@example.org")
    UserFactory(email="nobody@example.org")

    # When beat runs the task twice the same day
    assert deadline_reminders_send() == 2
    assert deadline_reminders_send() == 0

    # Then each officer got one email listing the numbers, due dates and links, and no personal data
    assert sorted(m.to[0] for m in mail.outbox) == ["dpo@example.org", "second@example.org"]
    body = mail.outbox[0].body
    assert f"Demande n° {late.pk}, due le {late.due_on:%d/%m/%Y}" in body
    assert f"https://rgpd.example.com/admin/rgpd/subjectrequest/{soon.pk}/change/" in body
    assert "Beaumarchais" not in body and "pierre@" not in body and "Caron" not in body
    assert DeadlineReminder.objects.get().day == timezone.localdate()

    # And the next day it is sent again
    mail.outbox.clear()
    assert deadline_reminders_send(today=timezone.localdate() + timedelta(days=1)) == 2


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_the_same_moment_send_the_email_once():
    rgpd_user(email="dpo@example.org")
    request_received(45)
    sent: list[int] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        try:
            sent.append(deadline_reminders_send())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sent) == [0, 1]
    assert len(mail.outbox) == 1 and DeadlineReminder.objects.count() == 1


@pytest.mark.django_db
def test_the_retention_list_and_the_held_rows_cost_the_same_queries_for_5_or_60_contacts(client):
    # The legal hold and the retention rule are read in the list's own query: no query per row.
    client.force_login(rgpd_user())

    def people(count: int) -> None:
        for n in range(count):
            contact = inactive_since(4)
            if n % 3 == 0:
                LegalHold.objects.create(subject_id=contact.pk, reason="tax", ends_on=date(2099, 1, 1))

    people(5)
    few = (_count_queries(client), _count_queries(client, {"retention": "past"}))
    people(55)
    assert (_count_queries(client), _count_queries(client, {"retention": "past"})) == few
