"""The register of requests: an officer records an erasure request received by post, exports and anonymises
the person from it, and closes it as answered on time."""

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from contacts.models import Contact
from rgpd.models import SubjectRequest
from rgpd.subject_requests import clock
from rgpd.subject_requests.services import subject_request_record
from tests.browser.support import ACKNOWLEDGE_FR, anonymise_count_text, export_count_text
from tests.factories import ContactFactory, DocumentFactory, rgpd_user


def test_an_officer_records_an_erasure_request_erases_the_person_from_it_and_answers_it_on_time(
    celery_worker, page, login, screenshot
):
    # Given an RGPD officer, an access request left unanswered for two months, and the contact who wrote
    # to ask for erasure three days ago
    officer = rgpd_user(username="claire.dpo")
    late = subject_request_record(
        kind="access",
        received_on=timezone.localdate() - timedelta(days=62),
        contact_ids=[],
        actor=None,
        unmatched_email="demandeur@example.org",
    )
    contact = ContactFactory(last_name="Beaumarchais")
    DocumentFactory(contact=contact)
    received = timezone.localdate() - timedelta(days=3)
    due = clock.due_date(received)

    # When the officer opens "Demandes des personnes" in the "Gestion RGPD" section and records the request
    login(officer)
    page.get_by_role("link", name="Demandes des personnes").first.click()
    page.get_by_role("link", name="Ajouter demande d'une personne").click()
    page.get_by_label("Type de demande").select_option(label="Effacement (art. 17)")
    page.get_by_label("Canal").select_option(label="Courrier")
    page.get_by_label("Reçue le").fill(received.isoformat())
    page.get_by_label("Contacts concernés").fill(str(contact.pk))
    page.get_by_role("button", name="Enregistrer").click()

    # Then the request's page shows it received, with its due date one month later
    expect(page.locator(".messagelist")).to_contain_text(f"réponse due le {due:%d/%m/%Y}")
    expect(page.locator("#request-status")).to_contain_text("reçue")
    expect(page.locator("#request-due")).to_have_text(f"{due:%d/%m/%Y}")
    expect(page.locator("#request-people")).to_contain_text(f"Contact n° {contact.pk}")
    screenshot("subject-request")

    # When the officer asks for proof of identity: the clock pauses
    page.get_by_role("link", name="En attente de justificatif d'identité (suspend le délai)").click()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#request-status")).to_contain_text("en attente de justificatif d'identité")
    expect(page.locator("#request-days-left")).to_contain_text("délai suspendu depuis le")

    # And, the proof received, resumes the work
    page.get_by_role("link", name="Passer en cours (reprend le délai)").click()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#request-status")).to_contain_text("en cours")
    request_page = page.url

    # When the officer tries to close it before the person is erased: the form says what is left to do
    page.get_by_role("link", name="Clore : répondue").click()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator(".errornote, .errorlist").first).to_be_visible()
    expect(page.get_by_text(f"Reste à traiter : contacts n° {contact.pk}.")).to_be_visible()

    # When the officer starts the export of the request's people, through the usual confirmation
    page.goto(request_page)
    page.get_by_role("link", name="Exporter les données de ces personnes").click()
    expect(page.get_by_text(export_count_text(1), exact=True)).to_be_visible()
    page.get_by_role("button", name="Exporter les données").click()

    # Then the export's page shows its archive ready, built by the worker
    expect(page.locator(".rgpd-export-status")).to_have_text(re.compile("prête", re.I), timeout=60_000)

    # When the officer comes back to the request and anonymises its people, ticking the seed's box
    page.goto(request_page)
    expect(page.locator("#request-actions")).to_contain_text("Export n°")
    page.get_by_role("link", name="Anonymiser les données de ces personnes").click()
    expect(page.get_by_text(anonymise_count_text(1), exact=True)).to_be_visible()
    page.get_by_label(ACKNOWLEDGE_FR).check()
    page.get_by_role("button", name="Rendre anonyme les données").click()
    expect(page.locator("body")).to_contain_text("anonymisé")

    # Then the request lists both actions and shows its person anonymised
    page.goto(request_page)
    expect(page.locator("#request-actions")).to_contain_text("Anonymisation n°")
    expect(page.locator("#request-erasure")).to_contain_text("anonymisé")
    assert Contact.objects.get(pk=contact.pk).is_anonymised
    screenshot("subject-request-erasure")

    # And the officer closes it as answered today
    page.get_by_role("link", name="Clore : répondue").click()
    page.get_by_role("button", name="Enregistrer").click()

    # Then it is answered, on time, and only the answer letter may still be attached
    expect(page.locator("#request-status")).to_contain_text("répondue")
    expect(page.locator("#request-answered")).to_contain_text("dans les délais")
    expect(page.locator(".rgpd-request-steps a")).to_have_text(["Joindre un courrier"])
    request = SubjectRequest.objects.get(kind="erasure")
    assert (request.channel, request.answered_on_time) == ("post", True)

    # And the register lists both: the answered one without days left, the forgotten one highlighted
    page.get_by_role("link", name="Demandes des personnes").last.click()
    late_row = page.locator("#result_list tr", has_text=f"Demande n° {late.pk}")
    expect(late_row.locator(".rgpd-overdue")).to_contain_text("en retard de")
    expect(page.locator("#result_list tr", has_text=f"Demande n° {request.pk}")).to_contain_text("répondue")
    screenshot("subject-requests")
