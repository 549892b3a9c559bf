"""The engine's rows name people by (population key, subject id) instead of a foreign key to Contact.

This step adds the new columns and copies the ids; 0009 drops the foreign keys (a separate
transaction: PostgreSQL refuses to alter a table with pending deferred constraint checks).

Existing rows are the contacts' ("contacts"); each former contact_id is copied into subject_id before
the foreign keys go, so archives, results and pending deletions keep their people.
"""

from django.db import migrations, models
from django.db.models import F

POPULATION = "contacts"  # the only population before this migration


def copy_contact_ids(apps, schema_editor):
    for model_name in ("ExportSubject", "AnonymisationSubject", "PendingStorageDeletion"):
        model = apps.get_model("rgpd", model_name)
        model.objects.update(subject_id=F("contact_id"))


def copy_subject_ids_back(apps, schema_editor):
    for model_name in ("ExportSubject", "AnonymisationSubject", "PendingStorageDeletion"):
        model = apps.get_model("rgpd", model_name)
        model.objects.update(contact_id=F("subject_id"))


def population_field(**kwargs):
    return models.CharField(editable=False, max_length=32, verbose_name="population", **kwargs)


class Migration(migrations.Migration):
    dependencies = [
        ("rgpd", "0009_subject_requests_register"),
    ]

    operations = [
        *(
            migrations.AddField(
                model_name=model_name,
                name="population",
                field=population_field(default=POPULATION),
                preserve_default=False,
            )
            for model_name in (
                "exportrequest",
                "anonymisationrequest",
                "exportsubject",
                "pendingstoragedeletion",
            )
        ),
        migrations.AddField(
            model_name="exportsubject",
            name="subject_id",
            field=models.BigIntegerField(null=True, verbose_name="person id"),
        ),
        migrations.AddField(
            model_name="anonymisationsubject",
            name="subject_id",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="existing person id"),
        ),
        migrations.AddField(
            model_name="pendingstoragedeletion",
            name="subject_id",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="person id"),
        ),
        migrations.RunPython(copy_contact_ids, copy_subject_ids_back),
    ]
