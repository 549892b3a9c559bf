"""Demo employees for ``manage.py seed_demo``: back-office accounts who left or still work here, each
with a filled profile, a portrait and HR documents (bulletin de salaire, contrat de travail), stored
through the default storage like every upload. Idempotent: an existing demo employee is left as is."""

from __future__ import annotations

import random
from datetime import date

from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import transaction
from faker import Faker

from contacts.demo import make_pdf, make_portraits

from .models import EmployeeProfile, HrDocument

DEMO_EMPLOYEE_PREFIX = "employe"


@transaction.atomic
def ensure_demo_employees(count: int, *, seed: int | None = None, uploaded_by: User | None = None) -> int:
    """Create the missing demo employees ``employe1``… ``employe<count>``; return how many were created."""
    fake, rng = Faker("fr_FR"), random.Random(seed)
    if seed is not None:
        fake.seed_instance(seed)
    portraits = make_portraits(max(count, 1), rng)
    created = 0
    for number in range(1, count + 1):
        first_name, last_name = fake.first_name(), fake.last_name()
        user, new = User.objects.get_or_create(
            username=f"{DEMO_EMPLOYEE_PREFIX}{number}",
            defaults={"first_name": first_name, "last_name": last_name, "email": fake.email()},
        )
        if not new:
            continue
        user.set_unusable_password()  # demo employees never log in
        user.is_active = number % 2 == 0  # one in two has left
        user.save()
        profile = EmployeeProfile.objects.get(pk=user.pk)
        start = date(rng.randint(2008, 2022), rng.randint(1, 12), 1)
        profile.civility = rng.choice([EmployeeProfile.Civility.MR, EmployeeProfile.Civility.MRS])
        profile.phone, profile.mobile = fake.phone_number(), fake.phone_number()
        profile.street, profile.postal_code, profile.city = (
            fake.street_address(),
            fake.postcode(),
            fake.city(),
        )
        profile.country = "France"
        profile.birth_date = fake.date_of_birth(minimum_age=22, maximum_age=62)
        profile.job_title = fake.job()[:200]
        profile.start_date = start
        profile.end_date = None if user.is_active else date(2026, rng.randint(1, 10), 28)
        profile.photo = ContentFile(portraits[number - 1], name="portrait.jpg")
        profile.save()
        for kind, name, title in [
            (HrDocument.Kind.PAYSLIP, "bulletin-de-salaire.pdf", "Bulletin de salaire"),
            (HrDocument.Kind.EMPLOYMENT_CONTRACT, "contrat-de-travail.pdf", "Contrat de travail"),
        ]:
            content = make_pdf(title, [f"{first_name} {last_name}", f"Entrée le {start:%d/%m/%Y}"])
            HrDocument.objects.create(
                employee=profile, kind=kind, file=ContentFile(content, name=name), uploaded_by=uploaded_by
            )
        created += 1
    return created
