"""Anonymisation in the back office: the detective icon, confirmation pages, bulk action, result page."""

import html
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Contact, Document
from harness.admin_actions import bulk_action_payload
from rgpd.models import AnonymisationRequest, ExportPart, PendingStorageDeletion
from rgpd.services.anonymisation import pending_deletions_process
from tests.factories import ContactFactory, DocumentFactory, UserFactory, exported, png_image, rgpd_user

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:rgpd_rgpdcontact_changelist"
SEED_TEXTS = [
    "Une fois les fichiers archives générés, vous avez la possibilité de rendre anonyme une personne dans "
    "votre environnement.",
    "A savoir que la personne sera toujours visible dans l'application mais de manière anonyme de façon à ne "
    "plus être identifiée. Les éléments de types nom, prénom, numéro de téléphone, adresse seront remplacés "
    "par des xxx",
    "Cette action peut avoir des conséquences irréversibles.",
    "Il vous est fortement conseillé de télécharger et sauvegarder chez vous les données et les documents "
    "précédemment archivés.",
    "Si vous ne suivez pas ce process, vos données seront définitivement perdues 10 jours après avoir créé "
    "votre archive et vous ne pourrez plus jamais réintégrer les données concernant le(s) contact(s) "
    "sélectionné(s).",
    "J'ai pris connaissance des éléments ci-dessus et j'accepte que les données soient anonymisées.",
    "Rendre anonyme les données",
]


def text_of(response) -> str:
    """The page as a user reads it: entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def confirm_url(contact) -> str:
    return reverse("admin:rgpd_anonymise_contact", args=[contact.pk])


def row_of(page: str, contact) -> str:
    """The RGPD page's table row of ``contact`` (found by its selection checkbox)."""
    for row in re.findall(r"<tr.*?</tr>", page, flags=re.S):
        if f'name="_selected_action" value="{contact.pk}"' in row:
            return row
    raise AssertionError(f"no row for contact {contact.pk}")


def snapshot(*contacts) -> list:
    return [
        (
            list(Contact.objects.filter(pk=c.pk).values()),
            list(Document.objects.filter(contact_id=c.pk).values()),
        )
        for c in contacts
    ]


@pytest.fixture
def client_rgpd(client):
    user = rgpd_user()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def exported_contact():
    contact = ContactFactory(
        first_name="Aurelienne",
        last_name="Quintabelle",
        city="Valence",
        photo=png_image("visage.png"),
        notes="Rencontrée au salon.",  # not Faker's French words: the dry run shows current values in full
    )
    DocumentFactory(contact=contact, kind=Document.Kind.PAYSLIP)
    DocumentFactory(contact=contact, kind=Document.Kind.IDENTITY_DOCUMENT)
    exported([contact])
    return contact


# --- The detective icon on the RGPD page -----------------------------------------------------------


def test_the_detective_icon_is_a_link_only_for_a_contact_with_a_ready_archive(client_rgpd):
    # Given contacts in every state
    ready = ContactFactory()
    exported([ready])
    not_exported = ContactFactory()
    pending = ContactFactory()
    exported([pending], status=ExportPart.Status.PENDING)
    expired = ContactFactory()
    exported([expired], expires_in=timedelta(seconds=-1))
    done = ContactFactory()
    exported([done])
    client_rgpd.post(confirm_url(done), {"acknowledge": "on"})
    pending_deletions_process()

    # When the RGPD page is shown
    page = html.unescape(client_rgpd.get(reverse(CHANGELIST)).content.decode())

    # Then only the exported contact's detective is a link, the others say why they are disabled
    assert f'href="{confirm_url(ready)}"' in row_of(page, ready)
    assert 'aria-label="Anonymiser les données"' in row_of(page, ready)
    expectations = {
        not_exported: "Aucune archive n'a été générée pour ce contact : exportez d'abord les données.",
        pending: "Un export de ce contact est en cours de génération : attendez que son archive soit prête.",
        expired: "L'archive de ce contact a expiré : exportez de nouveau les données d'abord.",
        done: "Ce contact a déjà été anonymisé.",
    }
    for contact, reason in expectations.items():
        row = row_of(page, contact)
        assert confirm_url(contact) not in row
        assert 'aria-disabled="true"' in row and f'title="{reason}"' in row


def test_the_rgpd_page_costs_no_query_per_row(client_rgpd):
    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client_rgpd.get(reverse(CHANGELIST)).status_code == 200
        return len(queries)

    exported(ContactFactory.create_batch(3))
    few = queries_for_page()
    exported(ContactFactory.create_batch(25))
    ContactFactory.create_batch(5)
    assert queries_for_page() == few


# --- One row: the confirmation page ----------------------------------------------------------------


def test_the_confirmation_page_shows_the_seed_texts_and_a_dry_run_without_changing_anything(
    client_rgpd, exported_contact
):
    before = snapshot(exported_contact)

    response = client_rgpd.get(confirm_url(exported_contact))

    assert response.status_code == 200
    page = text_of(response)
    for sentence in SEED_TEXTS:
        assert sentence in page
    assert (
        "Les données concernant 1 contact(s) vont être anonymisées et les documents attachés supprimés."
        in page
    )
    # the button is disabled until the box is ticked (tiny script), and the box is unticked
    button = re.search(r"<input[^>]*data-rgpd-anonymise-submit[^>]*>", page).group(0)
    assert "disabled" in button and 'value="Rendre anonyme les données"' in button
    assert "anonymise-confirm.js" in page
    # the dry run, headed by who it is: each field's current value (the officer holds the right and must
    # recognise the person) beside its new one; documents by kind and id, never their file names
    section = re.search(rf'<section[^>]*data-contact="{exported_contact.pk}".*?</section>', page).group(0)
    assert re.search(r"<h3>.*?Aurelienne Quintabelle</a>.*?</h3>", section)
    assert re.search(r'data-field="first_name">.*?<td>Aurelienne</td><td>xxx</td>', section)
    assert re.search(r'data-field="city">.*?<td>Valence</td><td>xxx</td>', section)
    assert re.search(r'data-field="photo">.*?<td>un fichier</td><td>supprimé</td>', section)
    assert f"Document n° {exported_contact.documents.first().pk} — Bulletin de salaire" in section
    assert "Pièce d'identité" in section
    for value in ["visage", "bulletin-"]:
        assert value not in page
    # and nothing happened
    assert snapshot(exported_contact) == before
    assert not AnonymisationRequest.objects.exists()


def test_submitting_without_the_box_is_refused_with_a_form_error(client_rgpd, exported_contact):
    before = snapshot(exported_contact)

    response = client_rgpd.post(confirm_url(exported_contact), {})

    assert response.status_code == 200
    assert "Cochez la case pour confirmer" in text_of(response)
    assert snapshot(exported_contact) == before
    assert not AnonymisationRequest.objects.exists()


def test_ticking_the_box_anonymises_and_the_result_page_follows_the_file_deletion(
    client_rgpd, exported_contact
):
    # When the box is ticked and the form sent
    response = client_rgpd.post(confirm_url(exported_contact), {"acknowledge": "on"})

    # Then the contact is anonymised and the result page shows it, files still being deleted
    anonymisation = AnonymisationRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:rgpd_anonymisationrequest_change", args=[anonymisation.pk])
    contact = Contact.objects.get(pk=exported_contact.pk)
    assert contact.first_name == "xxx" and contact.anonymised_at is not None
    assert anonymisation.requested_by == client_rgpd.user
    result = text_of(client_rgpd.get(response["Location"]))
    assert f'data-contact="{contact.pk}" data-result="in_progress"' in result
    assert "anonymisation en cours" in result
    # And once the files are deleted, it reads "anonymised", and the contact is still on the RGPD page
    pending_deletions_process()
    result = text_of(client_rgpd.get(response["Location"]))
    assert f'data-contact="{contact.pk}" data-result="anonymised"' in result
    assert "1 contact anonymisé" in result
    assert f'value="{contact.pk}"' in client_rgpd.get(reverse(CHANGELIST)).content.decode()


def test_files_deleted_while_the_result_page_is_read_never_leave_it_stopped_on_en_cours(
    client_rgpd, exported_contact
):
    # Given a contact just anonymised, its stored files not deleted yet
    response = client_rgpd.post(confirm_url(exported_contact), {"acknowledge": "on"})
    assert PendingStorageDeletion.objects.filter(subject_id=exported_contact.pk).exists()

    # When the worker deletes the files right after the result page's first look at them
    looked = []

    def worker_commits_after_the_first_look(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "rgpd_pendingstoragedeletion" in sql and not looked:
            looked.append(sql)
            pending_deletions_process()
        return result

    with connection.execute_wrapper(worker_commits_after_the_first_look):
        page = text_of(client_rgpd.get(response["Location"]))

    # Then the page is consistent or asks again: never "done" and no longer refreshing beside a row "en cours"
    assert looked
    row_in_progress = f'data-contact="{exported_contact.pk}" data-result="in_progress"' in page
    assert not row_in_progress or "data-live-poll" in page
    # and the next look shows it anonymised, and the page stops asking
    page = text_of(client_rgpd.get(response["Location"]))
    assert f'data-contact="{exported_contact.pk}" data-result="anonymised"' in page
    assert "data-live-poll" not in page


def test_a_contact_without_archive_gets_the_reason_and_no_form(client_rgpd):
    contact = ContactFactory()
    before = snapshot(contact)

    page = text_of(client_rgpd.get(confirm_url(contact)))
    assert "Aucune archive n'a été générée pour ce contact : exportez d'abord les données." in page
    assert "data-rgpd-anonymise-submit" not in page

    # Even a forged submission changes nothing: it is skipped with the reason
    response = client_rgpd.post(confirm_url(contact), {"acknowledge": "on"})
    result = text_of(client_rgpd.get(response["Location"]))
    assert f'data-contact="{contact.pk}" data-result="skipped" data-reason="not_exported"' in result
    assert "Aucune archive n'a été générée pour ce contact" in result
    assert snapshot(contact) == before


def test_without_the_right_every_page_answers_403_and_nothing_changes(client, exported_contact):
    client.force_login(UserFactory())  # staff, no "RGPD Contacts Clients"
    before = snapshot(exported_contact)
    anonymisation = AnonymisationRequest.objects.create(population="contacts")

    assert client.get(confirm_url(exported_contact)).status_code == 403
    assert client.post(confirm_url(exported_contact), {"acknowledge": "on"}).status_code == 403
    assert (
        client.get(reverse("admin:rgpd_anonymisationrequest_change", args=[anonymisation.pk])).status_code
        == 403
    )
    bulk = bulk_action_payload("anonymise_selected", [exported_contact.pk], confirm=True, acknowledge="on")
    assert client.post(reverse(CHANGELIST), bulk).status_code == 403
    assert snapshot(exported_contact) == before
    assert AnonymisationRequest.objects.count() == 1


# --- A selection: the bulk action ------------------------------------------------------------------


def test_the_bulk_action_confirms_a_selection_and_skips_who_cannot_be_anonymised(client_rgpd):
    # Given two exported contacts and one whose export is still being built
    ready = ContactFactory.create_batch(2)
    exported(ready)
    building = ContactFactory()
    exported([building], status=ExportPart.Status.RUNNING)
    bystander = ContactFactory()
    exported([bystander])
    selection = [*ready, building]
    data = bulk_action_payload("anonymise_selected", [c.pk for c in selection])

    # When the action is chosen on the RGPD page
    response = client_rgpd.post(reverse(CHANGELIST), data)

    # Then the intermediate page counts who will be anonymised and lists who will be skipped, and why
    page = text_of(response)
    assert response.status_code == 200
    assert (
        "Les données concernant 2 contact(s) vont être anonymisées et les documents attachés supprimés."
        in page
    )
    assert f'data-contact="{building.pk}" data-reason="export_in_progress"' in page
    assert "Un export de ce contact est en cours de génération" in page
    assert "Rendre anonyme les données" in page

    # When it is confirmed without the box, Then a form error and nothing changes
    before = snapshot(*selection, bystander)
    confirm = bulk_action_payload(
        "anonymise_selected", [c.pk for c in selection], confirm=True, expected_count="3"
    )
    refused = client_rgpd.post(reverse(CHANGELIST), confirm)
    assert refused.status_code == 200 and "Cochez la case pour confirmer" in text_of(refused)
    assert snapshot(*selection, bystander) == before

    # When confirmed with the box, Then the two are anonymised, the building one skipped, the bystander kept
    done = client_rgpd.post(reverse(CHANGELIST), {**confirm, "acknowledge": "on"})
    anonymisation = AnonymisationRequest.objects.get()
    assert done.status_code == 302
    assert (anonymisation.source, anonymisation.anonymised_count, anonymisation.skipped_count) == (
        "bulk",
        2,
        1,
    )
    assert all(Contact.objects.get(pk=c.pk).anonymised_at for c in ready)
    assert snapshot(building, bystander) == before[2:]


def test_select_all_matching_carries_the_query_not_one_field_per_contact(client_rgpd):
    # Given contacts found by a search, and others not
    found = [ContactFactory(last_name="Martinon") for _ in range(4)]
    exported(found[:3])
    others = ContactFactory.create_batch(3)
    exported(others)
    url = reverse(CHANGELIST) + "?q=Martinon"
    data = bulk_action_payload("anonymise_selected", [found[0].pk], select_across=True)

    # When "select all 4" is used with the bulk action
    page = client_rgpd.post(url, data).content.decode()

    # Then the page carries select_across and a single id, and counts the whole search
    form = re.search(r'<form[^>]*class="rgpd-anonymise__form.*?</form>', page, flags=re.S).group(0)
    assert len(re.findall(r'name="_selected_action"', form)) == 1
    assert re.search(r'name="select_across" value="1"', form)
    assert "Les données concernant 3 contact(s) vont être anonymisées" in html.unescape(page)
    before = snapshot(*others)

    # When confirmed (posted to the same search URL)
    confirm = bulk_action_payload(
        "anonymise_selected",
        [found[0].pk],
        select_across=True,
        confirm=True,
        expected_count="4",
        acknowledge="on",
    )
    response = client_rgpd.post(url, confirm)

    # Then exactly the search's contacts were processed: 3 anonymised, 1 skipped; the others untouched
    assert response.status_code == 302
    anonymisation = AnonymisationRequest.objects.get()
    assert sorted(anonymisation.subjects.values_list("requested_id", flat=True)) == sorted(
        c.pk for c in found
    )
    assert (anonymisation.anonymised_count, anonymisation.skipped_count) == (3, 1)
    assert snapshot(*others) == before


def test_a_selection_that_changed_since_the_page_was_shown_is_shown_again(client_rgpd):
    found = [ContactFactory(last_name="Martinon") for _ in range(2)]
    exported(found)
    url = reverse(CHANGELIST) + "?q=Martinon"
    # expected_count: the page was shown when the search found one contact
    confirm = bulk_action_payload(
        "anonymise_selected",
        [found[0].pk],
        select_across=True,
        confirm=True,
        expected_count="1",
        acknowledge="on",
    )

    response = client_rgpd.post(url, confirm)

    assert response.status_code == 200
    assert "La sélection a changé depuis l'affichage de cette page" in text_of(response)
    assert not AnonymisationRequest.objects.exists()
    assert not Contact.objects.filter(anonymised_at__isnull=False).exists()


def test_a_large_selection_is_one_line_per_person_with_the_button_kept_in_view(client_rgpd):
    contacts = ContactFactory.create_batch(14)
    exported(contacts[:12])
    data = bulk_action_payload("anonymise_selected", [contacts[0].pk], select_across=True)

    page = text_of(client_rgpd.post(reverse(CHANGELIST), data))

    assert "Les données concernant 12 contact(s) vont être anonymisées" in page
    assert not re.findall(r'<section class="module rgpd-anonymise__contact"', page)
    compact = re.search(r'<table class="rgpd-anonymise__compact">.*?</table>', page, flags=re.S).group(0)
    assert len(re.findall(r"<tr data-contact=", compact)) == 12
    for contact in contacts[:12]:
        assert f"{contact.first_name} {contact.last_name}" in compact and contact.email in compact
    assert 'class="rgpd-anonymise__form rgpd-anonymise__form--sticky"' in page
    assert "2 contacts de la sélection ne peuvent pas être anonymisés et seront ignorés" in page


def test_a_very_large_selection_lists_the_first_fifty_and_counts_the_rest(client_rgpd):
    contacts = ContactFactory.create_batch(53)
    exported(contacts)
    data = bulk_action_payload("anonymise_selected", [contacts[0].pk], select_across=True)

    page = text_of(client_rgpd.post(reverse(CHANGELIST), data))

    assert len(re.findall(r'<tr data-contact="\d+"><td>', page)) == 50
    assert "… et 3 autres contacts, anonymisés de la même façon." in page


def test_the_bulk_action_is_offered_with_the_seed_label(client_rgpd):
    ContactFactory()
    page = text_of(client_rgpd.get(reverse(CHANGELIST)))
    assert '<option value="anonymise_selected">Rendre anonyme les données >></option>' in page


def test_the_result_page_of_a_running_anonymisation_updates_in_place_without_a_meta_refresh(client):
    # Given an anonymisation still running
    officer = rgpd_user()
    running = AnonymisationRequest.objects.create(
        requested_by=officer,
        population="contacts",
        status=AnonymisationRequest.Status.RUNNING,
        subject_count=3,
    )
    client.force_login(officer)

    # Then its page asks for its news by itself (live-progress.js), with a region screen readers announce
    page = client.get(reverse("admin:rgpd_anonymisationrequest_change", args=[running.pk])).content.decode()
    assert '<meta http-equiv="refresh"' not in page
    assert 'data-live-poll="3"' in page and "gdpr_portal/js/live-progress" in page
    assert re.search(r'role="status" aria-live="polite" data-live-announcer', page)

    # And once done it stops asking
    running.status = AnonymisationRequest.Status.DONE
    running.save(update_fields=["status"])
    page = client.get(reverse("admin:rgpd_anonymisationrequest_change", args=[running.pk])).content.decode()
    assert "data-live-poll" not in page
