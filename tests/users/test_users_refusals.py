"""Who may not be anonymised among the users: oneself, the last active superuser; and a bulk of 100."""

from django.contrib.auth.models import User
from django.urls import reverse
from django.utils.html import escape

from rgpd.models import AnonymisationRequest, AnonymisationSubject
from staff.models import EmployeeProfile
from tests.factories import UserFactory, exported
from tests.support.helpers import wait_until
from tests.users.support import api_client, users_officer


def anonymise(api, ids):
    return api.post(
        reverse("rgpd_api:anonymisation-list"),
        {"users": ids, "confirm": True},
        content_type="application/json",
    )


def profiles(*users):
    return EmployeeProfile.objects.filter(pk__in=[u.pk for u in users])


def test_an_officer_cannot_anonymise_their_own_account(db):
    # Given an officer whose own data was exported
    officer = users_officer()
    exported(profiles(officer), population="users")
    api, _key = api_client(officer)

    # When they ask to anonymise themselves
    response = anonymise(api, [officer.pk])

    # Then it is refused with the reason, and their account is untouched
    assert response.status_code == 201, response.content
    (result,) = response.json()["results"]
    assert result["result"] == "skipped" and result["reason"] == "self_anonymisation"
    assert result["message"] == "Vous ne pouvez pas anonymiser votre propre compte."
    officer.refresh_from_db()
    assert officer.is_active and EmployeeProfile.objects.get(pk=officer.pk).anonymised_at is None


def test_the_last_active_superuser_is_not_anonymised_but_one_of_two_is(db):
    # Given the only active superuser, exported, and an officer
    boss = UserFactory(is_superuser=True)
    exported(profiles(boss), population="users")
    api, _key = api_client(users_officer())

    # When the officer anonymises the superuser, it is refused with the reason
    (result,) = anonymise(api, [boss.pk]).json()["results"]
    assert result["reason"] == "last_superuser"
    assert "dernier superutilisateur actif" in result["message"]
    assert User.objects.get(pk=boss.pk).is_superuser

    # When a second superuser exists, the first may go
    UserFactory(is_superuser=True)
    (result,) = anonymise(api, [boss.pk]).json()["results"]
    assert result["result"] == "anonymised"
    assert not User.objects.get(pk=boss.pk).is_active


def test_the_confirmation_page_shows_the_self_refusal(db, client):
    officer = users_officer(first_name="Odile", last_name="Marchand")
    exported(profiles(officer), population="users")
    client.force_login(officer)
    page = client.get(reverse("admin:rgpd_anonymise_user", args=[officer.pk])).content.decode()
    assert "Gestion RGPD Utilisateurs" in page
    assert "Vous ne pouvez pas anonymiser votre propre compte." in page
    assert "1 utilisateur de la sélection ne peut pas être anonymisé et sera ignoré" in page
    assert "Odile Marchand" in page  # who is refused, by name
    assert "Aucun des utilisateurs sélectionnés ne peut être anonymisé : rien ne sera modifié." in page


def test_a_bulk_of_100_users_is_anonymised_in_the_background_by_the_worker(celery_worker):
    # Given 100 departed employees, exported, and an officer
    employees = UserFactory.create_batch(100, last_name="Departi")
    exported(profiles(*employees), population="users")
    api, _key = api_client(users_officer())

    # When the officer anonymises them in one call (above the inline limit)
    response = anonymise(api, [u.pk for u in employees])

    # Then the call only records the request; the worker anonymises all 100
    assert response.status_code == 202, response.content
    request = AnonymisationRequest.objects.get(pk=response.json()["id"])
    wait_until(lambda: AnonymisationRequest.objects.get(pk=request.pk).status == "done", message="the bulk")
    results = AnonymisationSubject.objects.filter(request=request)
    assert results.filter(result="anonymised").count() == 100
    accounts = User.objects.filter(pk__in=[u.pk for u in employees])
    assert not accounts.filter(is_active=True).exists()
    assert not accounts.filter(last_name="Departi").exists()
    assert accounts.filter(username__startswith="anonymised-").count() == 100
    assert (
        EmployeeProfile.objects.filter(pk__in=[u.pk for u in employees], anonymised_at__isnull=False).count()
        == 100
    )


def test_bad_input_for_users_is_refused_as_for_contacts(db):
    api, _key = api_client(users_officer())
    exports = reverse("rgpd_api:export-list")

    # Ids that are not ids, and both populations at once: 400 with a message, nothing recorded
    for body in ({"users": ["x"]}, {"users": [0]}, {"users": [1], "contacts": [1]}, {"users": []}):
        response = api.post(exports, body, content_type="application/json")
        assert response.status_code == 400, (body, response.content)
        assert response.json()["detail"]
    assert not AnonymisationRequest.objects.exists()

    # An unknown user is skipped with the users' wording
    (result,) = anonymise(api, [987654]).json()["results"]
    assert result["reason"] == "not_found" and result["message"] == "Aucun utilisateur n'a cet identifiant."


def test_the_confirmation_page_shows_what_closing_the_account_changes(db, client):
    # Given an exported employee and an officer
    employee = UserFactory(first_name="Honorine", last_name="Vaudrevange", email="honorine@exemple.fr")
    exported(profiles(employee), population="users")
    client.force_login(users_officer())

    # When the officer opens the anonymisation of the employee
    page = client.get(reverse("admin:rgpd_anonymise_user", args=[employee.pk])).content.decode()

    # Then the dry run names the employee and lists the account's fields, current values in full (the officer
    # holds the right), and the account closed; nothing changed yet
    assert "Honorine Vaudrevange" in page and "honorine@exemple.fr" in page
    for field in ("username", "first_name", "last_name", "email", "account"):
        assert f'data-field="{field}"' in page, field
    assert "fermé (inactif, sans mot de passe" in page
    assert User.objects.get(pk=employee.pk).is_active


def test_in_english_the_shared_pages_speak_of_users(db, client, settings):
    officer = users_officer()
    exported(profiles(officer), population="users")
    client.force_login(officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    page = client.get(reverse("admin:rgpd_anonymise_user", args=[officer.pk])).content.decode()

    # the refused person is named as the officer knows them (rgpd/services/people.py), in users' words
    assert escape(f"{officer.first_name} {officer.last_name}") in page
    assert "1 user of the selection cannot be anonymised" in page
    assert "You cannot anonymise your own account." in page
    assert "GDPR management of users" in page and "Contact #" not in page
