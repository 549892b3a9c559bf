"""An employee's anonymisation is final, as a contact's: the profile, its HR documents and its account
cannot be put back, whatever writes, even at the same moment (PostgreSQL threads) and on SQLite."""

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse

from rgpd.populations import population
from rgpd.services.anonymisation import subjects_anonymise
from staff.integrity import EMPLOYEE_REFUSAL, EmployeeAnonymised
from staff.models import EmployeeProfile, HrDocument
from tests.anonymisation.test_anonymisation_is_final import logged_in_client, run_in_pairs
from tests.factories import MINIMAL_PDF, UserFactory, exported, png_image
from tests.support.final_on_sqlite import a_value_for, probe
from tests.users.support import FORMER, departed_employee, users_officer

PAIRS = 20
REFUSED_PAGE = "Cet utilisateur a été anonymisé : son compte et son profil ne peuvent plus être modifiés."

pytestmark = pytest.mark.django_db(transaction=True)


def personal_columns() -> list[str]:
    return [*population("users").subject.personal, "anonymised_at"]


def anonymise(user: User) -> None:
    outcome = subjects_anonymise(population="users", subject_ids=[user.pk], actor=users_officer())
    assert user.pk in outcome.anonymised, outcome.refused


def an_anonymised_employee(username: str = "emp-4417") -> User:
    user, _profile, _documents = departed_employee(username)
    exported(EmployeeProfile.objects.filter(pk=user.pk), population="users")
    anonymise(user)
    return user


def account_manager() -> User:
    """A back-office administrator of accounts, not of HR profiles: the user form has no profile in it."""
    manager = UserFactory(is_staff=True)
    manager.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    return manager


def user_form_data(user: User, **changes) -> dict:
    """The user's change form (the account's fields) as loaded now, with ``changes``."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "date_joined_0": user.date_joined.date().isoformat(),
        "date_joined_1": user.date_joined.time().strftime("%H:%M:%S"),
    }
    return data | changes


# --- The database itself --------------------------------------------------------------------------------


@pytest.mark.parametrize("field_name", personal_columns())
def test_postgresql_refuses_to_put_a_personal_value_back_on_an_anonymised_profile(field_name):
    user = an_anonymised_employee()
    profile = EmployeeProfile.objects.filter(pk=user.pk)
    before = profile.values().get()

    with pytest.raises(IntegrityError, match=EMPLOYEE_REFUSAL), transaction.atomic():
        profile.update(**{field_name: a_value_for(field_name, EmployeeProfile)})

    assert profile.values().get() == before


def test_postgresql_keeps_the_account_of_an_anonymised_employee_closed():
    # Given an anonymised employee, and a colleague who is not
    user = an_anonymised_employee()
    colleague = UserFactory(first_name="Basile")
    account = User.objects.filter(pk=user.pk)
    before = account.values().get()

    # When a plain ORM update gives the account back its names, email, username or activity
    for change in (
        {"first_name": FORMER["first_name"]},
        {"last_name": FORMER["last_name"]},
        {"email": FORMER["email"]},
        {"username": "emp-4417"},
        {"is_active": True},
    ):
        with pytest.raises(IntegrityError, match=EMPLOYEE_REFUSAL), transaction.atomic():
            account.update(**change)

    # Then nothing changed; other accounts still change
    assert account.values().get() == before
    User.objects.filter(pk=colleague.pk).update(first_name="Basile-Marie")


def test_a_stale_profile_save_and_a_new_hr_document_are_refused_and_their_files_removed():
    # Given a profile loaded before its employee's anonymisation
    user, _profile, _documents = departed_employee()
    exported(EmployeeProfile.objects.filter(pk=user.pk), population="users")
    stale = EmployeeProfile.objects.get(pk=user.pk)
    anonymise(user)

    # When it is saved back with a new photo
    stale.photo = png_image("retour.png")
    with pytest.raises(EmployeeAnonymised):
        stale.save()
    # Then nothing changed and the new photo is gone from the storage
    assert EmployeeProfile.objects.get(pk=user.pk).phone == "xxx"
    assert stale.photo.name and not stale.photo.storage.exists(stale.photo.name)

    # When an HR document is created for the anonymised employee
    document = HrDocument(employee_id=user.pk, file=ContentFile(MINIMAL_PDF, name="bulletin.pdf"))
    with pytest.raises(EmployeeAnonymised):
        document.save()
    assert not HrDocument.objects.filter(employee_id=user.pk).exists()
    assert document.file.name and not document.file.storage.exists(document.file.name)

    # And a colleague's document cannot be moved to them
    _other, _other_profile, other_documents = departed_employee("emp-5000")
    with pytest.raises(IntegrityError, match=EMPLOYEE_REFUSAL), transaction.atomic():
        HrDocument.objects.filter(pk=other_documents[0].pk).update(employee_id=user.pk)


def test_sqlite_refuses_the_same_writes(tmp_path):
    outcome = probe(tmp_path, personal_columns(), population="users")

    assert outcome["engine"] == "sqlite"
    expected = [*personal_columns(), "document_insert", "document_move"]
    expected += ["account_names", "account_email", "account_username", "account_active"]
    assert outcome["refused"] == dict.fromkeys(expected, True)
    assert outcome["unchanged"] is True
    assert outcome["others_still_change"] is True


# --- The admin ------------------------------------------------------------------------------------------


def test_a_user_form_opened_before_the_anonymisation_says_so_and_saves_nothing():
    # Given the user's change form opened by an administrator of accounts, then the employee anonymised
    user, _profile, _documents = departed_employee()
    exported(EmployeeProfile.objects.filter(pk=user.pk), population="users")
    editor = logged_in_client(account_manager())
    url = reverse("admin:auth_user_change", args=[user.pk])
    assert editor.get(url).status_code == 200
    data = user_form_data(user, first_name="Ermengarde-Revenue")
    anonymise(user)

    # When the form is saved
    response = editor.post(url, data, follow=True)

    # Then the administrator reads why, and the account stays closed and nameless
    assert REFUSED_PAGE in response.content.decode()
    account = User.objects.get(pk=user.pk)
    assert (account.first_name, account.last_name, account.email, account.is_active) == ("", "", "", False)
    assert account.username.startswith("anonymised-")
    assert EmployeeProfile.objects.get(pk=user.pk).phone == "xxx"


def test_a_profile_form_opened_before_the_anonymisation_says_so():
    user, _profile, _documents = departed_employee()
    exported(EmployeeProfile.objects.filter(pk=user.pk), population="users")
    editor = logged_in_client(UserFactory(is_superuser=True))
    data = {
        "civility": "Mme",
        "phone": FORMER["phone"],
        "documents-TOTAL_FORMS": "0",
        "documents-INITIAL_FORMS": "0",
        "documents-MIN_NUM_FORMS": "0",
        "documents-MAX_NUM_FORMS": "1000",
    }
    anonymise(user)

    url = reverse("admin:staff_employeeprofile_change", args=[user.pk])
    response = editor.post(url, data, follow=True)

    assert REFUSED_PAGE in response.content.decode()
    assert EmployeeProfile.objects.get(pk=user.pk).phone == "xxx"


def test_user_form_saves_racing_anonymisations_never_revive_an_account():
    # Given 20 exported employees, an administrator of accounts with their user forms open, and an officer
    users = [departed_employee(f"emp-{n}")[0] for n in range(PAIRS)]
    exported(EmployeeProfile.objects.filter(pk__in=[u.pk for u in users]), population="users")
    forms = {user.pk: user_form_data(user) for user in users}
    editor = logged_in_client(account_manager())
    officer = users_officer()
    statuses: list[int] = []

    def save_form(user: User):
        def post():
            url = reverse("admin:auth_user_change", args=[user.pk])
            statuses.append(editor.post(url, forms[user.pk]).status_code)

        return post

    def anonymise_one(user: User):
        return lambda: subjects_anonymise(population="users", subject_ids=[user.pk], actor=officer)

    # When each form is saved at the same moment as the officer anonymises that employee
    errors = run_in_pairs([(save_form(u), anonymise_one(u)) for u in users])

    # Then no error page, every employee is anonymised and no account got its names, email or login back
    assert errors == []
    assert set(statuses) <= {302}, statuses
    ids = [u.pk for u in users]
    assert EmployeeProfile.objects.filter(pk__in=ids, anonymised_at__isnull=False).count() == PAIRS
    for account in User.objects.filter(pk__in=ids):
        assert (account.first_name, account.last_name, account.email, account.is_active) == (
            "",
            "",
            "",
            False,
        )
        assert account.username.startswith("anonymised-")
    assert not EmployeeProfile.objects.filter(pk__in=ids).exclude(phone="xxx").exists()
