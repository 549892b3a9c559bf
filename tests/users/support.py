"""Employees and officers of "Gestion RGPD Utilisateurs" for the tests."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import Group, Permission, User
from django.core.files.base import ContentFile
from django.test import Client
from rest_framework.authtoken.models import Token

from staff.models import RGPD_USERS_PERMISSION_CODENAME, EmployeeProfile, HrDocument
from tests.factories import MINIMAL_PDF, UserFactory, png_image

PAYSLIP = MINIMAL_PDF + b"% bulletin de salaire de mars\n"
CONTRACT = MINIMAL_PDF + b"% contrat de travail\n"

FORMER = {
    "first_name": "Ermengarde",
    "last_name": "Pouliquenne",
    "email": "ermengarde.pouliquenne@exemple.fr",
    "phone": "+33 1 98 76 54 32",
}


def users_group(name: str = "Sécurité RGPD Utilisateurs") -> Group:
    """A security group holding the right "RGPD Utilisateurs"."""
    group, _created = Group.objects.get_or_create(name=name)
    group.permissions.add(Permission.objects.get(codename=RGPD_USERS_PERMISSION_CODENAME))
    return group


def users_officer(**kwargs) -> User:
    """A back-office user holding only "RGPD Utilisateurs", through a group."""
    return UserFactory(groups=[users_group()], **kwargs)


def api_client(user: User) -> tuple[Client, str]:
    key = Token.objects.create(user=user).key
    return Client(HTTP_AUTHORIZATION=f"Token {key}"), key


def departed_employee(username: str = "emp-4417") -> tuple[User, EmployeeProfile, list[HrDocument]]:
    """An employee who left: account, full profile with a photo, a payslip and a contract."""
    user = UserFactory(
        username=username,
        first_name=FORMER["first_name"],
        last_name=FORMER["last_name"],
        email=FORMER["email"],
    )
    profile = EmployeeProfile.objects.get(pk=user.pk)  # created with the user
    profile.civility = EmployeeProfile.Civility.MRS
    profile.phone = FORMER["phone"]
    profile.mobile = "+33 6 55 44 33 22"
    profile.street = "12 rue des Tisserands"
    profile.postal_code = "69004"
    profile.city = "Villefranche-Quarante"
    profile.country = "France"
    profile.birth_date = datetime.date(1984, 3, 9)
    profile.job_title = "Comptable principale"
    profile.start_date = datetime.date(2015, 9, 1)
    profile.end_date = datetime.date(2026, 10, 31)
    profile.photo = png_image("portrait.png", colour="teal")
    profile.save()
    documents = [
        HrDocument.objects.create(
            employee=profile,
            kind=HrDocument.Kind.PAYSLIP,
            file=ContentFile(PAYSLIP, name="bulletin-Pouliquenne-2026-03.pdf"),
        ),
        HrDocument.objects.create(
            employee=profile,
            kind=HrDocument.Kind.EMPLOYMENT_CONTRACT,
            file=ContentFile(CONTRACT, name="contrat-Pouliquenne.pdf"),
        ),
    ]
    return user, profile, documents
