"""``seed_demo`` adds demo employees with profiles and HR documents, and an HR officer."""

from django.contrib.auth.models import User
from django.core.files.storage import default_storage

from staff.models import RGPD_USERS_PERMISSION, EmployeeProfile, HrDocument
from tests.contacts.test_seed_demo import seed


def test_seed_demo_adds_employees_with_profiles_and_hr_documents_once(db):
    output = seed(contacts=1, documents_per_contact=0, employees=4, seed=3)
    seed(contacts=1, documents_per_contact=0, employees=4, seed=3)

    employees = User.objects.filter(username__startswith="employe")
    assert employees.count() == 4 and "4 employees" in output
    assert employees.filter(is_active=False).count() == 2  # departed ones, to export and anonymise
    for profile in EmployeeProfile.objects.filter(pk__in=employees.values("pk")):
        assert profile.phone and profile.city and profile.job_title and profile.start_date
        assert profile.photo and default_storage.exists(profile.photo.name)
        kinds = sorted(HrDocument.objects.filter(employee=profile).values_list("kind", flat=True))
        assert kinds == ["employment_contract", "payslip"]
    assert User.objects.get(username="rh").has_perm(RGPD_USERS_PERMISSION)
    assert not User.objects.get(username="rgpd").has_perm(RGPD_USERS_PERMISSION)
    assert "rh / rh" in output
