"""The register of data subjects' requests ("Demandes des personnes"): the legal clock, the workflow,
its admin pages and its API ``/api/rgpd/requests/``."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from rgpd.models import AuditEvent, SubjectRequest, SubjectRequestCorrespondence
from rgpd.subject_requests import clock, services
from rgpd.subject_requests.selectors import subject_requests_due_soon, subject_requests_overdue
from tests.factories import MINIMAL_PDF, ContactFactory, UserFactory, rgpd_user

Status = SubjectRequest.Status
LIST_URL = "/api/rgpd/requests/"
ADMIN_LIST = "/admin/rgpd/subjectrequest/"


# --- The legal clock ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "received, due",
    [
        (date(2027, 3, 15), date(2027, 4, 15)),  # same day number next month
        (date(2028, 1, 31), date(2028, 2, 29)),  # no 31 February: the month's last day (leap year)
        (date(2027, 1, 31), date(2027, 3, 1)),  # 28 February 2027 is a Sunday: next working day
        (date(2027, 10, 11), date(2027, 11, 12)),  # 11 November is a public holiday
    ],
)
def test_the_answer_is_due_one_month_after_receipt_on_a_working_day(received, due):
    assert clock.due_date(received) == due


def test_an_extension_of_two_months_counts_three_months_from_receipt():
    assert clock.due_date(date(2027, 1, 31), extension_months=2) == date(2027, 4, 30)


def test_ten_days_waiting_for_identity_move_the_due_date_by_ten_days():
    # 16 April 2027 is a Friday, 26 April a Monday: both working days
    assert clock.due_date(date(2027, 3, 16)) == date(2027, 4, 16)
    assert clock.due_date(date(2027, 3, 16), paused_days=10) == date(2027, 4, 26)


def test_a_pause_ending_on_a_weekend_ends_on_the_next_working_day():
    # 15 April 2027 + 10 days is Sunday 25 April
    assert clock.due_date(date(2027, 3, 15), paused_days=10) == date(2027, 4, 26)


def test_months_roll_over_the_year_and_keep_the_day_number():
    assert clock.add_months(date(2027, 12, 31), 1) == date(2028, 1, 31)
    assert clock.add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)


@pytest.mark.parametrize("months", [-1, 3])
def test_an_extension_beyond_two_months_is_refused_by_the_clock(months):
    with pytest.raises(ValueError):
        clock.due_date(date(2027, 1, 4), extension_months=months)


def test_days_left_count_down_to_zero_then_go_negative():
    assert clock.days_left(date(2027, 4, 15), date(2027, 4, 10)) == 5
    assert clock.days_left(date(2027, 4, 15), date(2027, 4, 15)) == 0
    assert clock.days_left(date(2027, 4, 15), date(2027, 4, 18)) == -3


# --- The workflow (services) ----------------------------------------------------------------------------

# A fixed "today" after every date used below, so the services' "not in the future" rule holds.
TODAY = date(2027, 6, 1)


def record(
    *contacts, received_on=date(2027, 3, 16), kind="erasure", actor=None, today=TODAY, **extra
) -> SubjectRequest:
    """A request about ``contacts``; ``today=None`` for the real today."""
    return services.subject_request_record(
        kind=kind,
        received_on=received_on,
        contact_ids=[c.pk for c in contacts],
        actor=actor,
        today=today,
        **extra,
    )


def extend(request: SubjectRequest, *, months: int, reason: str, informed_on: date) -> SubjectRequest:
    return services.subject_request_extend(
        subject_request=request,
        months=months,
        reason=reason,
        informed_on=informed_on,
        actor=None,
        today=TODAY,
    )


@pytest.mark.django_db
def test_a_recorded_request_is_received_with_its_due_date_and_audited_by_ids_only():
    # Given a contact and an officer
    contact = ContactFactory()
    officer = rgpd_user()

    # When the officer records an erasure request received by post
    request = record(contact, actor=officer, channel="post", notes="Lettre recommandée")

    # Then it is "received", due one month later, and the audit row holds ids and codes only
    assert request.status == Status.RECEIVED
    assert request.due_on == date(2027, 4, 16)
    event = AuditEvent.objects.get(action=AuditEvent.Action.REQUEST_RECORDED)
    assert event.subject_ids == [contact.pk]
    assert event.actor == officer
    assert event.details == {"request": request.pk, "kind": "erasure"}


@pytest.mark.django_db
def test_an_unmatched_person_stays_out_of_the_audit_log():
    request = record(unmatched_name="Jeanne Martin", unmatched_email="jeanne@example.org")
    assert request.people.count() == 0
    logged = json.dumps(list(AuditEvent.objects.values("subject_ids", "details", "counts")))
    assert "Jeanne" not in logged and "jeanne@example.org" not in logged


@pytest.mark.django_db
def test_a_person_matched_later_joins_the_request_and_their_identity_as_given_is_forgotten(officer_client):
    # Given a request from someone not matched to a contact yet
    request = record(unmatched_name="Jeanne Martin", unmatched_email="jeanne@example.org")
    contact = ContactFactory()

    # When the officer matches the request to the contact, forgetting the identity as given
    url = reverse("admin:rgpd_subjectrequest_step", args=[request.pk, "match"])
    response = officer_client.post(url, {"contacts": f"{contact.pk}", "forget_identity": "on"})

    # Then the contact is named, the name and email are gone, and the audit row holds ids only
    assert response.status_code == 302
    request.refresh_from_db()
    assert list(request.people.values_list("subject_id", flat=True)) == [contact.pk]
    assert (request.unmatched_name, request.unmatched_email) == ("", "")
    event = AuditEvent.objects.get(action=AuditEvent.Action.REQUEST_MATCHED)
    assert event.subject_ids == [contact.pk] and event.details["identity_forgotten"] is True
    # An unknown contact is named on the form
    page = officer_client.post(url, {"contacts": "999999"})
    assert "999999" in page.context["form"].errors["contacts"][0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "about, field",
    [
        ({"received_on": date(2027, 6, 2)}, "received_on"),  # in the future
        ({"received_on": date(1999, 12, 31)}, "received_on"),
        ({}, "contacts"),  # nobody named
    ],
)
def test_a_request_without_a_person_or_with_a_wrong_date_is_refused(about, field):
    with pytest.raises(ValidationError) as refused:
        record(**about)
    assert field in refused.value.message_dict
    assert not SubjectRequest.objects.exists()


@pytest.mark.django_db
def test_a_request_naming_an_unknown_contact_is_refused():
    contact = ContactFactory()
    with pytest.raises(ValidationError) as refused:
        services.subject_request_record(
            kind="access", received_on=TODAY, contact_ids=[contact.pk, 999999], actor=None, today=TODAY
        )
    assert "999999" in refused.value.message_dict["contacts"][0]


@pytest.mark.django_db
def test_ten_days_waiting_for_identity_push_the_due_date_by_ten_days():
    # Given a request received on 16 March 2027, due on 16 April
    request = record(ContactFactory())

    # When proof of identity is asked for on 20 March and received on 30 March
    request = services.subject_request_wait_for_identity(
        subject_request=request, on=date(2027, 3, 20), actor=None, today=TODAY
    )
    assert request.status == Status.AWAITING_IDENTITY
    # (while paused, the days left stay frozen and the request is never overdue)
    assert request.days_left(date(2027, 5, 30)) == request.days_left(date(2027, 3, 25))
    assert not subject_requests_overdue(date(2027, 5, 30)).exists()
    request = services.subject_request_start(
        subject_request=request, on=date(2027, 3, 30), actor=None, today=TODAY
    )

    # Then the due date moved by those 10 days
    assert request.status == Status.IN_PROGRESS
    assert request.paused_days == 10
    assert request.due_on == date(2027, 4, 26)
    moves = AuditEvent.objects.filter(action=AuditEvent.Action.REQUEST_STATUS_CHANGED).order_by("id")
    assert [(e.details["origin"], e.details["target"]) for e in moves] == [
        ("received", "awaiting_identity"),
        ("awaiting_identity", "in_progress"),
    ]


@pytest.mark.django_db
def test_a_refusal_while_waiting_for_identity_counts_the_days_paused():
    request = record(ContactFactory())
    request = services.subject_request_wait_for_identity(
        subject_request=request, on=date(2027, 3, 20), actor=None, today=TODAY
    )
    # A date before the pause began is refused on its field
    with pytest.raises(ValidationError) as refused:
        services.subject_request_refuse(
            subject_request=request,
            refusal_reason="manifestly_unfounded",
            answered_on=date(2027, 3, 19),
            actor=None,
            today=TODAY,
        )
    assert "answered_on" in refused.value.message_dict
    request = services.subject_request_refuse(
        subject_request=request,
        refusal_reason="manifestly_unfounded",
        answered_on=date(2027, 4, 20),
        actor=None,
        today=TODAY,
    )
    assert (request.status, request.paused_days, request.paused_since) == (Status.REFUSED, 31, None)
    # Due on 18 May once the 31 days paused are counted (16 April + 31 days is Whit Monday)
    assert request.due_on == date(2027, 5, 18)
    assert request.answered_on_time is True


@pytest.mark.django_db
def test_an_extension_of_two_months_moves_the_due_date_and_is_audited():
    request = record(ContactFactory(), received_on=date(2027, 1, 31))
    request = extend(request, months=2, reason="Demande complexe", informed_on=date(2027, 2, 20))
    assert request.due_on == date(2027, 4, 30)
    assert request.extension_reason == "Demande complexe"
    event = AuditEvent.objects.get(action=AuditEvent.Action.REQUEST_EXTENDED)
    assert event.details["months"] == 2 and "Demande" not in json.dumps(event.details)

    # A second extension is refused: the law allows two further months in all
    with pytest.raises(ValidationError) as refused:
        extend(request, months=1, reason="Encore", informed_on=date(2027, 3, 1))
    assert "months" in refused.value.message_dict


@pytest.mark.django_db
def test_an_extension_without_a_reason_is_refused():
    request = record(ContactFactory())
    with pytest.raises(ValidationError) as refused:
        extend(request, months=1, reason="  ", informed_on=date(2027, 3, 20))
    assert "reason" in refused.value.message_dict
    request.refresh_from_db()
    assert (request.extension_months, request.due_on) == (0, date(2027, 4, 16))


@pytest.mark.django_db
def test_an_answer_records_its_date_and_whether_it_was_on_time():
    on_time = services.subject_request_start(
        subject_request=record(ContactFactory(), kind="access"), on=date(2027, 3, 17), actor=None, today=TODAY
    )
    on_time = services.subject_request_answer(
        subject_request=on_time, answered_on=date(2027, 4, 16), actor=None, today=TODAY
    )
    assert (on_time.status, on_time.answered_on, on_time.answered_on_time) == (
        Status.ANSWERED,
        date(2027, 4, 16),
        True,
    )
    late = services.subject_request_start(
        subject_request=record(ContactFactory(), kind="access"), on=date(2027, 3, 17), actor=None, today=TODAY
    )
    late = services.subject_request_answer(
        subject_request=late, answered_on=date(2027, 4, 19), actor=None, today=TODAY
    )
    assert late.answered_on_time is False


@pytest.mark.django_db
def test_invalid_transitions_are_refused_with_a_clear_message():
    request = record(ContactFactory())
    # A request not yet worked on cannot be answered
    with pytest.raises(ValidationError) as refused:
        services.subject_request_answer(subject_request=request, answered_on=TODAY, actor=None, today=TODAY)
    assert refused.value.message_dict["status"] == [
        "Une demande « reçue » ne peut pas passer à « répondue »."
    ]

    # A refusal needs its Art. 12(5) reason; once refused, the request is closed
    with pytest.raises(ValidationError) as refused:
        services.subject_request_refuse(
            subject_request=request, refusal_reason="", answered_on=TODAY, actor=None, today=TODAY
        )
    assert "refusal_reason" in refused.value.message_dict
    request = services.subject_request_refuse(
        subject_request=request, refusal_reason="excessive", answered_on=TODAY, actor=None, today=TODAY
    )
    with pytest.raises(ValidationError):
        services.subject_request_start(subject_request=request, on=TODAY, actor=None, today=TODAY)
    with pytest.raises(ValidationError):
        extend(request, months=1, reason="x", informed_on=TODAY)
    request.refresh_from_db()
    assert request.status == Status.REFUSED


@pytest.mark.django_db
def test_overdue_and_due_soon_count_running_clocks_only():
    today = timezone.localdate()
    late = record(ContactFactory(), received_on=today - timedelta(days=60), today=None)
    soon = record(ContactFactory(), received_on=today - timedelta(days=27), today=None)
    paused = record(ContactFactory(), received_on=today - timedelta(days=60), today=None)
    services.subject_request_wait_for_identity(subject_request=paused, on=today, actor=None)
    assert list(subject_requests_overdue(today)) == [late]
    assert soon in subject_requests_due_soon(today) and late not in subject_requests_due_soon(today)


# --- Admin pages ----------------------------------------------------------------------------------------


@pytest.fixture
def officer_client(client):
    client.force_login(rgpd_user())
    return client


@pytest.mark.django_db
def test_the_register_is_for_holders_of_the_right_only(client):
    client.force_login(UserFactory())  # a back-office user without the right
    assert client.get(ADMIN_LIST).status_code == 403
    assert "Demandes des personnes" not in client.get("/admin/").content.decode()


@pytest.mark.django_db
def test_the_list_shows_status_due_date_and_highlights_overdue_requests(officer_client):
    # Given an overdue request and one due in about a week
    today = timezone.localdate()
    late = record(ContactFactory(), received_on=today - timedelta(days=60), today=None)
    soon = record(ContactFactory(), received_on=today - timedelta(days=27), today=None)

    # When the officer opens "Demandes des personnes" in the "Gestion RGPD" section
    index = officer_client.get("/admin/").content.decode()
    assert "Gestion RGPD" in index and "Demandes des personnes" in index
    page = officer_client.get(ADMIN_LIST).content.decode()

    # Then each row shows its status and due date, and the overdue one stands out
    assert "reçue" in page and "rgpd-overdue" in page and "en retard de" in page
    overdue = officer_client.get(ADMIN_LIST, {"deadline": "overdue"}).context["cl"].result_list
    assert list(overdue) == [late]
    due_soon = officer_client.get(ADMIN_LIST, {"deadline": "soon"}).context["cl"].result_list
    assert list(due_soon) == [soon]
    by_kind = officer_client.get(ADMIN_LIST, {"kind__exact": "access"}).context["cl"].result_list
    assert list(by_kind) == []


@pytest.mark.django_db
def test_the_register_speaks_english_when_chosen(officer_client, settings):
    record(ContactFactory(), received_on=timezone.localdate() - timedelta(days=60), today=None)
    officer_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = officer_client.get(ADMIN_LIST).content.decode()
    assert "Requests from individuals" in page and "Erasure (Art. 17)" in page and "overdue by" in page


@pytest.mark.django_db
def test_the_gdpr_home_counts_overdue_and_soon_due_requests(officer_client):
    today = timezone.localdate()
    record(ContactFactory(), received_on=today - timedelta(days=60), today=None)
    record(ContactFactory(), received_on=today - timedelta(days=61), today=None)
    record(ContactFactory(), received_on=today - timedelta(days=27), today=None)
    page = officer_client.get("/admin/rgpd/").content.decode()
    assert "2 demandes en retard" in page
    assert "1 demande à échéance dans les 7 jours" in page
    assert f"{ADMIN_LIST}?deadline=overdue" in page


@pytest.mark.django_db
def test_an_officer_records_a_request_and_sees_its_due_date(officer_client):
    contact = ContactFactory()
    received = timezone.localdate() - timedelta(days=2)
    response = officer_client.post(
        f"{ADMIN_LIST}add/",
        {
            "kind": "erasure",
            "channel": "post",
            "received_on": received.isoformat(),
            "contacts": f"{contact.pk}",
        },
    )
    request = SubjectRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:rgpd_subjectrequest_change", args=[request.pk])
    page = officer_client.get(response["Location"]).content.decode()
    assert request.due_on == clock.due_date(received)
    assert "Effacement (art. 17)" in page and "Courrier" in page
    assert reverse("contacts:record", args=[contact.pk]) in page


@pytest.mark.django_db
def test_the_add_form_names_unknown_contacts_and_bad_ids(officer_client):
    page = officer_client.post(
        f"{ADMIN_LIST}add/",
        {"kind": "access", "channel": "email", "received_on": "2026-01-05", "contacts": "999999, abc"},
    )
    assert page.status_code == 200
    assert "abc" in page.context["form"].errors["contacts"][0]
    page = officer_client.post(
        f"{ADMIN_LIST}add/",
        {"kind": "access", "channel": "email", "received_on": "2026-01-05", "contacts": "999999"},
    )
    assert "999999" in page.context["form"].errors["contacts"][0]
    assert not SubjectRequest.objects.exists()


@pytest.mark.django_db
def test_an_extension_without_a_reason_is_a_form_error(officer_client):
    request = record(ContactFactory(), received_on=timezone.localdate() - timedelta(days=3), today=None)
    url = reverse("admin:rgpd_subjectrequest_step", args=[request.pk, "extend"])
    page = officer_client.post(
        url, {"months": "2", "reason": "", "informed_on": timezone.localdate().isoformat()}
    )
    assert page.status_code == 200
    assert page.context["form"].errors["reason"] == ["Ce champ est obligatoire."]
    request.refresh_from_db()
    assert request.extension_months == 0


@pytest.mark.django_db
def test_a_step_that_the_status_forbids_is_shown_as_a_form_error(officer_client):
    request = record(ContactFactory(), received_on=timezone.localdate(), today=None)
    url = reverse("admin:rgpd_subjectrequest_step", args=[request.pk, "answer"])
    page = officer_client.post(url, {"answered_on": timezone.localdate().isoformat()})
    assert "ne peut pas passer à « répondue »" in page.content.decode()
    assert (
        officer_client.get(reverse("admin:rgpd_subjectrequest_step", args=[request.pk, "nope"])).status_code
        == 404
    )
    assert officer_client.get(f"{ADMIN_LIST}999999/change/").status_code == 404


@pytest.mark.django_db
def test_correspondence_is_checked_on_upload_and_downloaded_with_the_right_only(officer_client, client):
    request = record(ContactFactory(), received_on=timezone.localdate(), today=None)
    url = reverse("admin:rgpd_subjectrequest_step", args=[request.pk, "attach"])

    # A file that is not an accepted document is refused on the form
    page = officer_client.post(url, {"file": SimpleUploadedFile("lettre.pdf", b"#!/bin/sh\necho hi\n")})
    assert page.status_code == 200 and "file" in page.context["form"].errors

    # A PDF letter is stored under an opaque key, then offered through a checked link
    response = officer_client.post(url, {"file": SimpleUploadedFile("Lettre Martin.pdf", MINIMAL_PDF)})
    assert response.status_code == 302
    item = SubjectRequestCorrespondence.objects.get()
    assert "Martin" not in item.file.name and item.file.name.startswith("subject-requests/")
    assert item.content_type == "application/pdf" and item.original_name == "Lettre Martin.pdf"
    download = reverse("admin:rgpd_subjectrequest_correspondence", args=[item.pk])
    assert (
        download
        in officer_client.get(reverse("admin:rgpd_subjectrequest_change", args=[request.pk])).content.decode()
    )
    assert officer_client.get(download).status_code in (200, 302)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CORRESPONDENCE_DOWNLOADED).count() == 1

    client.force_login(UserFactory())
    assert client.get(download).status_code == 403


# --- API ------------------------------------------------------------------------------------------------


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _created = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.mark.django_db
def test_the_api_records_a_request_and_answers_its_due_date():
    contacts = ContactFactory.create_batch(2)
    received = timezone.localdate() - timedelta(days=1)
    response = api(rgpd_user()).post(
        LIST_URL,
        {"kind": "portability", "received_on": received.isoformat(), "contacts": [c.pk for c in contacts]},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "received"
    assert body["due_on"] == clock.due_date(received).isoformat()
    assert sorted(body["contacts"]) == sorted(c.pk for c in contacts)
    assert response["Location"] == f"{LIST_URL}{body['id']}/"

    detail = api(rgpd_user(username="other")).get(f"{LIST_URL}{body['id']}/")
    assert detail.status_code == 200 and detail.json()["kind"] == "portability"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload, field",
    [
        ({"kind": "deletion", "received_on": "2026-01-05", "contacts": ["C"]}, "kind"),
        ({"kind": "access", "received_on": "05/01/2026", "contacts": ["C"]}, "received_on"),
        ({"kind": "access", "received_on": "2999-01-05", "contacts": ["C"]}, "received_on"),
        ({"kind": "access", "received_on": "2026-01-05", "contacts": [999999]}, "contacts"),
        ({"kind": "access", "received_on": "2026-01-05", "contacts": "C"}, "contacts"),
        ({"kind": "access", "received_on": "2026-01-05"}, "contacts"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(payload, field):
    contact = ContactFactory()
    payload = {k: ([contact.pk] if v == ["C"] else v) for k, v in payload.items()}
    response = api(rgpd_user()).post(LIST_URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not SubjectRequest.objects.exists()


@pytest.mark.django_db
def test_overdue_requests_are_listed_with_overdue_true():
    today = timezone.localdate()
    late = record(ContactFactory(), received_on=today - timedelta(days=60), today=None)
    record(ContactFactory(), received_on=today - timedelta(days=3), today=None)
    client = api(rgpd_user())
    assert [r["id"] for r in client.get(LIST_URL, {"overdue": "true"}).json()["results"]] == [late.pk]
    assert late.pk not in [r["id"] for r in client.get(LIST_URL, {"overdue": "false"}).json()["results"]]
    assert client.get(LIST_URL).json()["count"] == 2
    refused = client.get(LIST_URL, {"overdue": "yes"})
    assert refused.status_code == 400 and "overdue" in refused.json()["errors"]
    # An offset past what the database takes is an empty page, not a server error
    far = client.get(LIST_URL, {"offset": str(10**20)})
    assert far.status_code == 200 and far.json()["results"] == [] and far.json()["count"] == 2


@pytest.mark.django_db
def test_the_api_extends_a_request_and_refuses_an_extension_without_a_reason():
    request = record(ContactFactory(), received_on=timezone.localdate() - timedelta(days=5), today=None)
    client = api(rgpd_user())
    url = f"{LIST_URL}{request.pk}/extend/"

    no_reason = client.post(url, {"months": 2}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    blank = client.post(url, {"months": 2, "reason": ""}, format="json")
    assert blank.status_code == 400 and "reason" in blank.json()["errors"]
    three = client.post(url, {"months": 3, "reason": "Complexe"}, format="json")
    assert three.status_code == 400 and "months" in three.json()["errors"]

    response = client.post(url, {"months": 2, "reason": "Demande complexe"}, format="json")
    assert response.status_code == 200
    assert response.json()["due_on"] == clock.due_date(request.received_on, extension_months=2).isoformat()
    assert response.json()["extension_months"] == 2

    again = client.post(url, {"months": 1, "reason": "Encore"}, format="json")
    assert again.status_code == 400 and "months" in again.json()["errors"]


@pytest.mark.django_db
def test_the_api_answers_404_401_and_403():
    outsider = UserFactory()
    assert api(rgpd_user()).get(f"{LIST_URL}999999/").status_code == 404
    assert (
        api(rgpd_user(username="b"))
        .post(f"{LIST_URL}999999/extend/", {"months": 1, "reason": "x"})
        .status_code
        == 404
    )
    assert api().get(LIST_URL).status_code == 401
    assert api(outsider).get(LIST_URL).status_code == 403
    assert api(outsider).post(LIST_URL, {}, format="json").status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("bad_id", [str(2**64), "abc", "0"])
def test_out_of_range_or_malformed_ids_are_404(officer_client, bad_id):
    request = record(ContactFactory(), received_on=timezone.localdate(), today=None)
    urls = [
        f"{ADMIN_LIST}{bad_id}/change/",
        f"{ADMIN_LIST}{bad_id}/step/start/",
        f"{ADMIN_LIST}correspondence/{bad_id}/download/",
        f"{LIST_URL}{bad_id}/",
        f"{LIST_URL}{bad_id}/extend/",
    ]
    for url in urls:
        assert officer_client.get(url, follow=True).status_code == 404, url
    assert officer_client.post(f"{LIST_URL}{bad_id}/extend/", {"months": 1, "reason": "x"}).status_code == 404
    request.refresh_from_db()
    assert request.status == Status.RECEIVED


@pytest.mark.django_db
def test_oversized_or_out_of_range_extension_fields_are_400():
    request = record(ContactFactory(), received_on=timezone.localdate() - timedelta(days=5), today=None)
    client = api(rgpd_user())
    url = f"{LIST_URL}{request.pk}/extend/"
    too_long = client.post(url, {"months": 1, "reason": "x" * 2001}, format="json")
    assert too_long.status_code == 400 and "reason" in too_long.json()["errors"]
    before = (request.received_on - timedelta(days=1)).isoformat()
    early = client.post(url, {"months": 1, "reason": "Complexe", "informed_on": before}, format="json")
    assert early.status_code == 400 and "informed_on" in early.json()["errors"]
    request.refresh_from_db()
    assert request.extension_months == 0


@pytest.mark.django_db
def test_an_extension_told_after_the_first_month_is_refused():
    # Received on 16 March 2027, due on 16 April: the person must hear of an extension by then
    request = record(ContactFactory())
    with pytest.raises(ValidationError) as refused:
        extend(request, months=1, reason="Demande complexe", informed_on=date(2027, 4, 19))
    assert refused.value.message_dict["informed_on"] == [
        "La personne doit être informée d'une prolongation dans le premier mois, au plus tard le 2027-04-16."
    ]
