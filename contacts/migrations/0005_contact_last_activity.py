"""A contact's last activity ("dernier contact"), backfilled from the last change of the record.

Added without a default and nullable: on SQLite that is a plain ``ALTER TABLE ADD COLUMN``, not a table
rebuild, which would drop the anonymisation triggers of 0003. The backfill's UPDATE leaves the personal
columns alone, so the triggers let it through on anonymised contacts too.
"""

from django.db import migrations, models
from django.db.models.functions import Coalesce, TruncDate


def backfill(apps, schema_editor):
    Contact = apps.get_model("contacts", "Contact")
    Contact.objects.filter(last_activity_on__isnull=True).update(
        last_activity_on=TruncDate(Coalesce("updated_at", "created_at"))
    )


class Migration(migrations.Migration):
    dependencies = [("contacts", "0004_contact_title_label")]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="last_activity_on",
            field=models.DateField(
                blank=True,
                help_text="Date of the last exchange with this person (moved forward by a new document).",
                null=True,
                verbose_name="last contact",
            ),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(fields=["last_activity_on"], name="contact_last_activity_idx"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
