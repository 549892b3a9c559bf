"""The officer sees who (issue 16, items 1, 2, 3 and 5): people named on confirmations, request and result
pages; the RGPD page's archive status; the steps chained; the way back to the list; the email truth."""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from harness.admin_actions import bulk_action_payload
from rgpd.models import AnonymisationRequest, AnonymisationSubject, ExportPart, ExportRequest, ExportSubject
from rgpd.services.exports import export_archives_purge
from tests.factories import ContactFactory, exported, rgpd_user

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:rgpd_rgpdcontact_changelist"


def text_of(response) -> str:
    """The page as a user reads it: tags dropped, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def source_of(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def officer(client):
    user = rgpd_user(username="claire.dpo", email="claire.dpo@example.com")
    client.force_login(user)
    client.user = user
    return client


def person(first: str, last: str, **fields) -> Contact:
    address = unicodedata.normalize("NFKD", f"{first}.{last}".lower()).encode("ascii", "ignore").decode()
    return ContactFactory(first_name=first, last_name=last, email=f"{address}@example.fr", **fields)


def subject_ids_of(export_request: ExportRequest) -> set[int]:
    rows = ExportSubject.objects.filter(part__request=export_request).values_list("subject_id", flat=True)
    return set(rows)


# --- Who, on the confirmations ----------------------------------------------------------------------


def test_the_export_confirmation_of_a_row_names_the_person_and_their_email(officer):
    elodie = person("Élodie", "Lefèvre")

    page = text_of(officer.get(reverse("admin:rgpd_export_contact", args=[elodie.pk])))

    assert "Les données et éventuels documents concernant 1 personne(s) vont être exportées." in page
    assert "Élodie Lefèvre <elodie.lefevre@example.fr>" in page


def test_the_bulk_export_confirmation_names_the_first_ten_then_counts_the_others(officer):
    people = [person(f"Prénom{n:02d}", f"Nom{n:02d}") for n in range(12)]
    data = bulk_action_payload("export_selected", [people[0].pk], select_across=True)

    page = text_of(officer.post(reverse(CHANGELIST), data))

    assert "concernant 12 personne(s) vont être exportées." in page
    for listed in people[:10]:
        assert f"Prénom{listed.first_name[-2:]} Nom{listed.last_name[-2:]}" in page
    assert "Prénom10" not in page and "Prénom11" not in page
    assert "… et 2 autres" in page


def test_a_requester_without_email_is_warned_on_the_confirmation_and_told_on_the_request_page(client):
    client.force_login(rgpd_user(username="sans.email", email=""))
    contact = person("Hugo", "Arnaud")
    url = reverse("admin:rgpd_export_contact", args=[contact.pk])

    confirmation = text_of(client.get(url))
    started = client.post(url, {"confirmation_token": "t-no-email"}, follow=True)

    assert "Votre compte n'a pas d'adresse email : aucun email ne sera envoyé." in confirmation
    page = text_of(started)
    assert "Vous n'avez pas d'adresse email : aucun email ne sera envoyé" in page
    assert "Un email vous sera envoyé" not in page
    # The request's page says at once that no email will come, before the archive is even ready.
    assert "Aucun email n'a pu être envoyé : le demandeur n'a pas d'adresse email." in page


def test_an_officer_with_an_email_is_not_warned(officer):
    contact = person("Inès", "Bertin")

    page = text_of(officer.get(reverse("admin:rgpd_export_contact", args=[contact.pk])))

    assert "aucun email ne sera envoyé" not in page


def test_the_anonymisation_confirmation_names_the_skipped_and_offers_to_export_them(officer):
    ready, never = person("Louis", "Mercier"), person("Chloé", "Roussel")
    exported([ready])
    data = bulk_action_payload("anonymise_selected", [ready.pk, never.pk])

    response = officer.post(reverse(CHANGELIST), data)

    page = text_of(response)
    assert "Chloé Roussel <chloe.roussel@example.fr>" in page  # the skip list says who
    assert "Louis Mercier <louis.mercier@example.fr>" in page  # the dry run says who
    form = re.search(r'<form[^>]*class="rgpd-export-skipped".*?</form>', source_of(response), re.S).group(0)
    assert 'value="Exporter les contacts ignorés"' in form
    assert 'name="action" value="export_selected"' in form
    assert f'name="_selected_action" value="{never.pk}"' in form
    assert f'value="{ready.pk}"' not in form

    # When the officer sends it: the export confirmation of exactly the skipped one
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    confirmation = text_of(officer.post(reverse(CHANGELIST), fields))
    assert "concernant 1 personne(s) vont être exportées." in confirmation
    assert "Chloé Roussel" in confirmation and "Louis Mercier" not in confirmation


def test_a_row_that_cannot_be_anonymised_offers_its_export_and_keeps_the_list(officer):
    never = person("Chloé", "Roussel")
    url = reverse("admin:rgpd_anonymise_contact", args=[never.pk]) + "?_changelist_filters=q%3Droussel"

    page = source_of(officer.get(url))

    form = re.search(r'<form[^>]*class="rgpd-export-skipped".*?</form>', page, re.S).group(0)
    assert 'method="get"' in form
    assert f'action="{reverse("admin:rgpd_export_contact", args=[never.pk])}"' in form
    assert 'name="_changelist_filters" value="q=roussel"' in form


# --- The export request's page ------------------------------------------------------------------


def test_the_export_request_page_lists_its_people_by_name_a_page_at_a_time(officer):
    people = [person(f"P{n:02d}", f"N{n:02d}") for n in range(55)]
    part = exported(people)
    url = reverse("admin:rgpd_exportrequest_change", args=[part.request_id])

    first = text_of(officer.get(url))
    second = text_of(officer.get(url, {"people": 2}))

    assert "Personnes de cet export" in first
    assert "P00 N00 <p00.n00@example.fr>" in first and "P49 N49" in first and "P50 N50" not in first
    assert "Page 1 sur 2" in first
    assert "P50 N50" in second and "P54 N54" in second and "P00 N00" not in second


def test_the_export_request_page_costs_no_query_per_person(officer):
    def queries_for(part) -> int:
        url = reverse("admin:rgpd_exportrequest_change", args=[part.request_id])
        with CaptureQueriesContext(connection) as queries:
            assert officer.get(url).status_code == 200
        return len(queries)

    few = queries_for(exported(ContactFactory.create_batch(2)))
    many = queries_for(exported(ContactFactory.create_batch(40)))

    assert many == few


def test_a_select_all_export_records_the_search_and_filters_that_chose_its_people(officer):
    dupont = [person("Jean", "Dupont"), person("Anne", "Dupont")]
    person("Marc", "Durand")
    url = reverse(CHANGELIST) + "?q=dupont&anonymised=no"
    data = bulk_action_payload("export_selected", [dupont[0].pk], select_across=True, confirm=True)

    response = officer.post(url, data, follow=True)

    export_request = ExportRequest.objects.get()
    assert subject_ids_of(export_request) == {c.pk for c in dupont}
    label = "Tous les 2 contacts correspondant à : recherche « dupont »; anonymisé : Non"
    assert export_request.selection_label == label
    assert f"Sélection {label}" in text_of(response)


def test_the_search_recorded_on_a_request_goes_with_its_archive(officer):
    part = exported([person("Jean", "Dupont")], expires_in=timedelta(seconds=-1))
    ExportRequest.objects.filter(pk=part.request_id).update(selection_label="recherche « dupont »")

    export_archives_purge()

    assert ExportRequest.objects.get(pk=part.request_id).selection_label == ""


def test_the_search_goes_on_every_purge_with_a_failed_export_or_once_its_people_are_anonymised(officer):
    failed = exported([person("Jean", "Dupont")], status="failed")
    forgotten = exported([person("Anne", "Dupont"), person("Luc", "Dupont")])
    kept = exported([person("Paul", "Dupont"), person("Rose", "Dupont")])
    parts = (failed, forgotten, kept)
    ExportRequest.objects.filter(pk__in=[p.request_id for p in parts]).update(selection_label="« dupont »")
    anonymised = [*forgotten.subjects.values_list("subject_id", flat=True), kept.subjects.first().subject_id]
    Contact.objects.filter(pk__in=anonymised).update(anonymised_at=timezone.now())

    assert export_archives_purge() == 0  # nothing expired: the searches are forgotten all the same

    labels = dict(ExportRequest.objects.values_list("pk", "selection_label"))
    assert [labels[p.request_id] for p in parts] == ["", "", "« dupont »"]


def test_a_started_export_names_the_person_in_its_message(officer):
    contact = person("Élodie", "Lefèvre")
    url = reverse("admin:rgpd_export_contact", args=[contact.pk])

    page = text_of(officer.post(url, {"confirmation_token": "t-named"}, follow=True))

    assert "L'export a démarré : Élodie Lefèvre." in page


def test_the_message_naming_the_person_is_kept_on_the_server_not_in_a_cookie(officer):
    contact = person("Élodie", "Lefèvre")
    url = reverse("admin:rgpd_export_contact", args=[contact.pk])

    started = officer.post(url, {"confirmation_token": "t-cookie"})

    # Django's default storage puts messages in a signed cookie anyone holding it can read.
    assert "messages" not in started.cookies
    assert not [c.value for c in started.cookies.values() if "Lef" in c.value or "lodie" in c.value]
    assert "L'export a démarré : Élodie Lefèvre." in text_of(officer.get(started["Location"]))


# --- Chained steps --------------------------------------------------------------------------------


def test_a_ready_export_offers_to_anonymise_exactly_its_people(officer):
    theirs = [person("Louis", "Mercier"), person("Chloé", "Roussel")]
    other = person("Inès", "Bertin")
    part = exported(theirs)
    exported([other])  # ready too, but of another export
    page = source_of(officer.get(reverse("admin:rgpd_exportrequest_change", args=[part.request_id])))
    link = re.search(r'<a href="([^"]+)" class="button" id="anonymise-these-people">', page).group(1)

    confirmation = officer.get(link)
    confirmed = text_of(confirmation)
    assert "Les données concernant 2 contact(s) vont être anonymisées" in confirmed
    assert "Louis Mercier" in confirmed and "Chloé Roussel" in confirmed and "Inès Bertin" not in confirmed
    back = reverse("admin:rgpd_exportrequest_change", args=[part.request_id])
    assert f'href="{back}" class="button cancel-link"' in source_of(confirmation)

    response = officer.post(
        link, {"acknowledge": "on", "expected_count": "2", "confirmation_token": "t-chain"}, follow=True
    )

    assert response.status_code == 200
    anonymised = set(Contact.objects.filter(anonymised_at__isnull=False).values_list("pk", flat=True))
    assert anonymised == {c.pk for c in theirs}


def test_an_export_not_ready_offers_no_anonymisation(officer):
    part = exported([person("Louis", "Mercier")], status=ExportPart.Status.RUNNING)

    page = source_of(officer.get(reverse("admin:rgpd_exportrequest_change", args=[part.request_id])))

    assert "anonymise-these-people" not in page


def test_the_result_page_names_people_and_exports_the_skipped_ones(officer):
    done, skipped = person("Louis", "Mercier"), person("Chloé", "Roussel")
    anonymisation = AnonymisationRequest.objects.create(
        population="contacts", status=AnonymisationRequest.Status.DONE, subject_count=2, processed_count=2
    )
    AnonymisationSubject.objects.create(
        request=anonymisation, requested_id=done.pk, subject_id=done.pk, result="anonymised"
    )
    AnonymisationSubject.objects.create(
        request=anonymisation,
        requested_id=skipped.pk,
        subject_id=skipped.pk,
        result="skipped",
        reason="not_exported",
    )
    result = officer.get(reverse("admin:rgpd_anonymisationrequest_change", args=[anonymisation.pk]))
    assert "Chloé Roussel <chloe.roussel@example.fr>" in text_of(result)
    link = re.search(r'<a href="([^"]+)" class="button" id="export-skipped">', source_of(result)).group(1)

    confirmation = text_of(officer.get(link))
    started = officer.post(link, {"confirmation_token": "t-skipped"}, follow=True)

    assert "concernant 1 personne(s) vont être exportées." in confirmation and "Chloé Roussel" in confirmation
    assert "Louis Mercier" not in confirmation
    assert subject_ids_of(ExportRequest.objects.get()) == {skipped.pk}
    assert started.status_code == 200


# --- The way back to the list --------------------------------------------------------------------


def test_a_row_icon_leads_back_to_the_list_with_its_search_filters_and_page(officer):
    contact = person("Jean", "Dupont")
    exported([contact])
    list_query = "q=dupont&archive=ready"
    page = source_of(officer.get(reverse(CHANGELIST) + "?" + list_query))
    export_link = re.search(r'<a href="([^"]+/export/[^"]*)"', page).group(1)
    anonymise_link = re.search(
        rf'<a href="([^"]+/anonymisationrequest/contact/{contact.pk}/\?[^"]*)"', page
    ).group(1)

    for link in (export_link, anonymise_link):
        confirmation = source_of(officer.get(link))
        back = re.search(r'<a href="([^"]+)" class="button cancel-link">', confirmation).group(1)
        assert urlsplit(back).path == reverse(CHANGELIST)
        assert parse_qs(urlsplit(back).query) == {"q": ["dupont"], "archive": ["ready"]}


def test_a_bulk_confirmation_leads_back_to_the_list_as_it_was(officer):
    contact = person("Jean", "Dupont")
    url = reverse(CHANGELIST) + "?q=dupont&p=1"

    page = source_of(officer.post(url, bulk_action_payload("export_selected", [contact.pk])))

    assert f'<a href="{url}" class="button cancel-link">' in page


# --- The RGPD page: status columns and filters --------------------------------------------------------


def test_the_rgpd_page_shows_each_persons_last_export_and_anonymisation(officer, settings):
    settings.TIME_ZONE = "Europe/Paris"
    ready, expired, never = person("Louis", "Mercier"), person("Chloé", "Roussel"), person("Inès", "Bertin")
    gone = person("xxx", "xxx")
    part = exported([ready])
    exported([expired], expires_in=timedelta(days=-1))
    Contact.objects.filter(pk=gone.pk).update(anonymised_at=timezone.now())

    page = text_of(officer.get(reverse(CHANGELIST)))

    until = timezone.localtime(part.expires_at).strftime("%d/%m/%Y")
    assert "Dernier export" in page and "Anonymisé le" in page
    assert f"prête jusqu'au {until}" in page
    assert "expirée" in page
    today = timezone.localtime().strftime("%d/%m/%Y")
    assert page.count(today) >= 3  # two exports and one anonymisation today
    assert never.last_name in page


@pytest.mark.parametrize(
    ("archive", "anonymised", "expected"),
    [
        ("ready", None, {"ready"}),
        ("expired", None, {"expired"}),
        ("never", None, {"never", "gone"}),
        (None, "yes", {"gone"}),
    ],
)
def test_the_rgpd_page_filters_by_archive_state_and_anonymisation(officer, archive, anonymised, expected):
    people = {
        "ready": person("Louis", "Mercier"),
        "expired": person("Chloé", "Roussel"),
        "never": person("Inès", "Bertin"),
        "gone": person("Jean", "Dupont"),
    }
    exported([people["ready"]])
    exported([people["expired"]], expires_in=timedelta(days=-1))
    Contact.objects.filter(pk=people["gone"].pk).update(anonymised_at=timezone.now())
    query = {key: value for key, value in (("archive", archive), ("anonymised", anonymised)) if value}

    response = officer.get(reverse(CHANGELIST), query)

    shown = {contact.pk for contact in response.context["cl"].result_list}
    assert shown == {people[name].pk for name in expected}
    filters = text_of(response)
    for choice in ("prête", "expirée", "jamais exporté", "Par anonymisé"):
        assert choice in filters


def test_the_rgpd_page_is_listed_first_in_its_section(officer):
    page = source_of(officer.get(reverse("admin:app_list", args=["rgpd"])))

    models = re.findall(r'<th scope="row" id="rgpd-(\w+)">', page)
    assert models[0] == "rgpdcontact", models
    assert {"exportrequest", "auditevent"} <= set(models[1:])
