"""Legal holds: a contact whose data is kept under a legal obligation is not anonymised (reason
``legal_hold``) by the row icon, the bulk action or the API, until the hold's end date."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contacts.models import Contact
from harness.admin_actions import bulk_action_payload
from rgpd.legal_holds.services import legal_hold_save
from rgpd.models import AnonymisationSubject, AuditEvent, LegalHold
from rgpd.subject_requests.services import subject_request_record
from tests.factories import ContactFactory, exported, rgpd_user

pytestmark = pytest.mark.django_db

RGPD_PAGE = "/admin/rgpd/rgpdcontact/"
HOLDS = "/admin/rgpd/legalhold/"
HELD_FR = (
    "Les données de ce contact sont conservées au titre d'une obligation légale : il ne peut pas être "
    "anonymisé avant la fin de cette conservation."
)


def text_of(response) -> str:
    return text_of_html(response.content.decode())


def text_of_html(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(page))


def hold(contact, *, days: int = 365, reason: str = LegalHold.Reason.ACCOUNTING, text: str = "") -> LegalHold:
    return LegalHold.objects.create(
        subject_id=contact.pk, reason=reason, reason_text=text, ends_on=timezone.localdate() + timedelta(days)
    )


@pytest.fixture
def officer(client):
    user = rgpd_user()
    client.force_login(user)
    return client


def row_of(page: str, contact) -> str:
    for row in re.findall(r"<tr.*?</tr>", page, flags=re.S):
        if f'name="_selected_action" value="{contact.pk}"' in row:
            return row
    raise AssertionError(f"no row for contact {contact.pk}")


def test_the_row_icon_of_a_held_contact_is_disabled_with_the_reason_as_tooltip(officer):
    held, free = ContactFactory(), ContactFactory()
    exported([held, free])
    hold(held)
    page = html.unescape(officer.get(RGPD_PAGE).content.decode())
    assert HELD_FR in row_of(page, held)
    assert HELD_FR not in row_of(page, free)
    assert reverse("admin:rgpd_anonymise_contact", args=[free.pk]) in row_of(page, free)


def test_the_bulk_action_skips_a_held_contact_and_says_why(officer):
    # Given two exported contacts, one under a legal hold
    held, free = ContactFactory(), ContactFactory()
    exported([held, free])
    hold(held)

    # When the officer runs "Rendre anonyme les données >>" on both
    confirmation = officer.post(RGPD_PAGE, bulk_action_payload("anonymise_selected", [held.pk, free.pk]))

    # Then the confirmation lists the held one among those skipped, with the reason
    assert HELD_FR in text_of(confirmation)
    officer.post(
        RGPD_PAGE,
        bulk_action_payload(
            "anonymise_selected", [held.pk, free.pk], confirm=True, acknowledge="on", expected_count="2"
        ),
    )
    # And only the free one is anonymised; the held one is skipped with the code legal_hold
    assert Contact.objects.get(pk=free.pk).is_anonymised
    assert not Contact.objects.get(pk=held.pk).is_anonymised
    skipped = AnonymisationSubject.objects.get(requested_id=held.pk)
    assert (skipped.result, skipped.reason) == ("skipped", "legal_hold")


def api_client() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=rgpd_user()).key}")
    return client


def test_the_api_refuses_a_held_contact_with_legal_hold_and_allows_it_after_the_end_date():
    # Given an exported contact under a legal hold
    contact = ContactFactory()
    exported([contact])
    placed = hold(contact, days=30)
    client = api_client()

    # When the API is asked to anonymise it: refused, reason legal_hold
    body = client.post(
        "/api/rgpd/anonymisations/", {"contacts": [contact.pk], "confirm": True}, format="json"
    )
    item = body.json()["results"][0]
    assert (item["result"], item["reason"]) == ("skipped", "legal_hold")
    assert item["message"] == HELD_FR
    assert not Contact.objects.get(pk=contact.pk).is_anonymised

    # When the hold reaches its end date (today): it has ended by itself, the contact can be anonymised
    LegalHold.objects.filter(pk=placed.pk).update(ends_on=timezone.localdate())
    body = client.post(
        "/api/rgpd/anonymisations/", {"contacts": [contact.pk], "confirm": True}, format="json"
    )
    assert body.json()["results"][0]["result"] == "anonymised"
    assert Contact.objects.get(pk=contact.pk).is_anonymised


def test_an_ended_hold_stays_in_the_register_but_details_naming_the_person_are_masked_at_anonymisation():
    # Given an exported contact with two ended holds: one whose details name the person (officers are asked
    # not to), one whose details are a case number
    contact = ContactFactory(last_name="Zwingli", city="Gérardmer")
    exported([contact])
    naming = hold(contact, days=-1, reason=LegalHold.Reason.OTHER, text="Litige Zwingli, Gérardmer")
    neutral = hold(contact, days=-30, reason=LegalHold.Reason.LITIGATION, text="Dossier prud'homal 2024-117")

    # When the contact is anonymised
    body = api_client().post(
        "/api/rgpd/anonymisations/", {"contacts": [contact.pk], "confirm": True}, format="json"
    )

    # Then both holds remain with their reason and dates; only the details naming the person are masked
    assert body.json()["results"][0]["result"] == "anonymised"
    kept = {
        h.pk: (h.reason, h.ends_on, h.reason_text) for h in LegalHold.objects.filter(subject_id=contact.pk)
    }
    assert kept == {
        naming.pk: (LegalHold.Reason.OTHER, naming.ends_on, "xxx"),
        neutral.pk: (LegalHold.Reason.LITIGATION, neutral.ends_on, "Dossier prud'homal 2024-117"),
    }


def test_a_hold_form_opened_before_the_anonymisation_does_not_restore_the_masked_details():
    # Given an ended hold whose details name the person, open in an officer's form (read before)
    contact = ContactFactory(last_name="Zwingli")
    exported([contact])
    stale = hold(contact, days=-1, reason=LegalHold.Reason.OTHER, text="Litige Zwingli")
    response = api_client().post(
        "/api/rgpd/anonymisations/", {"contacts": [contact.pk], "confirm": True}, format="json"
    )
    assert response.json()["results"][0]["result"] == "anonymised"

    # When the officer saves that form after the anonymisation, moving the end date
    stale.ends_on = timezone.localdate() - timedelta(days=2)
    legal_hold_save(hold=stale, actor=rgpd_user())

    # Then the new date is kept, and the details stay masked
    saved = LegalHold.objects.get(pk=stale.pk)
    assert (saved.ends_on, saved.reason_text) == (timezone.localdate() - timedelta(days=2), "xxx")


def test_the_hold_form_of_an_anonymised_person_shows_the_details_read_only_and_still_saves(officer):
    # Given an ended hold "autre" whose details named a person since anonymised
    contact = ContactFactory(last_name="Zwingli")
    exported([contact])
    ended = hold(contact, days=-1, reason=LegalHold.Reason.OTHER, text="Litige Zwingli")
    api_client().post("/api/rgpd/anonymisations/", {"contacts": [contact.pk], "confirm": True}, format="json")
    change = f"{HOLDS}{ended.pk}/change/"

    # When an officer opens its form: the details are shown masked, not as a field to fill
    page = officer.get(change)
    assert "reason_text" not in page.context["adminform"].form.fields
    assert 'name="reason_text"' not in page.content.decode()

    # When the form is saved with a new end date (a details field posted anyway is ignored)
    ends = (timezone.localdate() - timedelta(days=5)).isoformat()
    data = {"population": "contacts", "subject_id": contact.pk, "reason": "other", "ends_on": ends}
    saved = officer.post(change, {**data, "reason_text": "Litige Zwingli"})

    # Then it is saved: the date changes, the details stay masked
    assert saved.status_code == 302
    assert LegalHold.objects.filter(pk=ended.pk, ends_on=ends, reason_text="xxx").exists()


def test_an_officer_places_a_hold_from_the_contact_record(officer):
    # Given a contact's record
    contact = ContactFactory()
    record = reverse("contacts:record", args=[contact.pk])
    page = officer.get(record).content.decode()

    # Then it offers "Ajouter une conservation légale" for this contact
    add_url = html.unescape(re.search(r'href="([^"]*legalhold/add/\?[^"]*)"', page).group(1))
    assert f"subject_id={contact.pk}" in add_url
    form = officer.get(add_url)
    assert form.context["adminform"].form.initial["subject_id"] == str(contact.pk)

    # When "autre" is chosen without saying why: a form error, nothing saved
    ends = (timezone.localdate() + timedelta(days=3650)).isoformat()
    data = {"population": "contacts", "subject_id": contact.pk, "reason": "other", "ends_on": ends}
    refused = officer.post(add_url, {**data, "reason_text": ""})
    assert refused.status_code == 200 and "Précisez le motif" in text_of(refused)
    assert not LegalHold.objects.exists()

    # When it is placed with the reason "obligation comptable (10 ans)"
    placed = officer.post(add_url, {**data, "reason": "accounting", "reason_text": ""})

    # Then the officer is back on the record, which shows the hold, audited by ids only
    assert placed.status_code == 302 and placed["Location"] == record
    assert "obligation comptable (10 ans)" in text_of(officer.get(record))
    event = AuditEvent.objects.get(action=AuditEvent.Action.LEGAL_HOLD_PLACED)
    assert event.subject_ids == [contact.pk] and event.details["reason"] == "accounting"
    assert "obligation comptable (10 ans)" in text_of(officer.get(HOLDS))


def test_a_hold_on_an_unknown_contact_or_ending_today_is_refused(officer):
    today = timezone.localdate()
    unknown = officer.post(
        f"{HOLDS}add/",
        {"population": "contacts", "subject_id": 999999, "reason": "tax", "ends_on": "2040-01-01"},
    )
    assert "Aucune personne n'a ce numéro." in text_of(unknown)
    ended = officer.post(
        f"{HOLDS}add/",
        {"population": "contacts", "subject_id": ContactFactory().pk, "reason": "tax", "ends_on": today},
    )
    assert "Une nouvelle conservation se termine après aujourd'hui." in text_of(ended)
    assert not LegalHold.objects.exists()


def test_no_hold_is_placed_on_an_anonymised_contact(officer):
    # Given a request about two contacts, one of whom has since been anonymised
    gone, kept = ContactFactory(), ContactFactory()
    request = subject_request_record(
        kind="erasure", received_on=timezone.localdate(), contact_ids=[gone.pk, kept.pk], actor=None
    )
    Contact.objects.filter(pk=gone.pk).update(anonymised_at=timezone.now())

    # Then the request's page offers "Ajouter une conservation légale" for the other one only
    page = officer.get(reverse("admin:rgpd_subjectrequest_change", args=[request.pk])).content.decode()
    links = [html.unescape(url) for url in re.findall(r'href="([^"]*legalhold/add/\?[^"]*)"', page)]
    assert [f"subject_id={kept.pk}" in url for url in links] == [True]
    assert "anonymisé : plus rien à conserver" in text_of_html(page)

    # And a hold posted on the anonymised one anyway is refused with a clear message, nothing saved
    refused = officer.post(
        f"{HOLDS}add/",
        {"population": "contacts", "subject_id": gone.pk, "reason": "tax", "ends_on": "2040-01-01"},
    )
    assert refused.status_code == 200
    assert "Cette personne est anonymisée : il ne reste rien à conserver" in text_of(refused)
    assert not LegalHold.objects.exists()
