"""Every user created before the employees existed gets an (empty) profile."""

from django.conf import settings
from django.db import migrations


def profiles_for_existing_users(apps, schema_editor):
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))  # noqa: N806
    EmployeeProfile = apps.get_model("staff", "EmployeeProfile")  # noqa: N806
    missing = User.objects.filter(employee_profile__isnull=True).values_list("pk", flat=True)
    EmployeeProfile.objects.bulk_create(
        (EmployeeProfile(user_id=pk) for pk in missing.iterator()), batch_size=1000
    )


class Migration(migrations.Migration):
    dependencies = [("staff", "0001_employees_and_hr_documents")]

    operations = [migrations.RunPython(profiles_for_existing_users, migrations.RunPython.noop)]
