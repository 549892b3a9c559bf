"""The information sheet of Art. 15(1) GDPR ("Informations sur le traitement"), one row."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The texts are data: the migration reads them where the model does, never copies them.
from rgpd.information import defaults


class Migration(migrations.Migration):
    dependencies = [
        ("rgpd", "0011_drop_contact_foreign_keys"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ProcessingInformation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "controller",
                    models.TextField(
                        default=defaults.CONTROLLER,
                        help_text="Identity and contact details.",
                        verbose_name="controller",
                    ),
                ),
                (
                    "dpo",
                    models.TextField(
                        blank=True,
                        default=defaults.DPO,
                        verbose_name="data protection officer",
                    ),
                ),
                (
                    "purposes",
                    models.TextField(
                        default=defaults.PURPOSES,
                        verbose_name="purposes of the processing",
                    ),
                ),
                (
                    "categories",
                    models.TextField(
                        default=defaults.CATEGORIES,
                        verbose_name="categories of personal data",
                    ),
                ),
                (
                    "recipients",
                    models.TextField(
                        default=defaults.RECIPIENTS,
                        verbose_name="recipients",
                    ),
                ),
                (
                    "retention",
                    models.TextField(
                        default=defaults.RETENTION,
                        verbose_name="retention period",
                    ),
                ),
                (
                    "rights",
                    models.TextField(
                        default=defaults.RIGHTS,
                        help_text="Rectification, erasure, restriction, objection, portability.",
                        verbose_name="your rights",
                    ),
                ),
                (
                    "complaint",
                    models.TextField(
                        default=defaults.COMPLAINT,
                        verbose_name="right to lodge a complaint",
                    ),
                ),
                (
                    "source",
                    models.TextField(
                        default=defaults.SOURCE,
                        verbose_name="source of the data",
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="updated by",
                    ),
                ),
            ],
            options={
                "verbose_name": "processing information",
                "verbose_name_plural": "processing information",
                "default_permissions": ("view", "change"),
            },
        ),
    ]
