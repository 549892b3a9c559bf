"""The engine's rows keep (population key, subject id) only: the foreign keys to Contact go (see 0008)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("rgpd", "0010_population_keys_replace_contact_foreign_keys"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="exportsubject", name="export_subject_unique"),
        migrations.RemoveIndex(model_name="exportsubject", name="export_subject_contact_idx"),
        migrations.RemoveField(model_name="anonymisationsubject", name="contact"),
        migrations.RemoveField(model_name="exportsubject", name="contact"),
        migrations.RemoveField(model_name="pendingstoragedeletion", name="contact"),
        migrations.AlterField(
            model_name="exportsubject",
            name="subject_id",
            field=models.BigIntegerField(verbose_name="person id"),
        ),
        migrations.AlterField(
            model_name="anonymisationsubject",
            name="requested_id",
            field=models.BigIntegerField(verbose_name="person id"),
        ),
        migrations.AddIndex(
            model_name="exportsubject",
            index=models.Index(fields=["population", "subject_id", "part"], name="export_subject_person_idx"),
        ),
        migrations.AddIndex(
            model_name="pendingstoragedeletion",
            index=models.Index(fields=["population", "subject_id"], name="pending_deletion_person_idx"),
        ),
        migrations.AddConstraint(
            model_name="exportsubject",
            constraint=models.UniqueConstraint(fields=("part", "subject_id"), name="export_subject_unique"),
        ),
    ]
