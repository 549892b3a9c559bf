"""A legal hold on a person: why their data is kept, and until when."""

from __future__ import annotations

from datetime import date

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gdpr_portal.uploads import uploader_field

from ..subject_requests.models import CONTACTS_POPULATION


class LegalHold(models.Model):
    class Reason(models.TextChoices):
        ACCOUNTING = "accounting", _("accounting obligation (10 years)")
        TAX = "tax", _("tax obligation")
        LITIGATION = "litigation", _("litigation")
        OTHER = "other", _("other")

    population = models.CharField(_("population"), max_length=32, default=CONTACTS_POPULATION)
    subject_id = models.BigIntegerField(_("person number"))
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    # Required with "other": the officer's own words (a legal basis, a case number), no personal values.
    reason_text = models.TextField(_("details of the reason"), blank=True)
    # The hold ends on this day: from then on the person may be anonymised again.
    ends_on = models.DateField(_("kept until"))
    created_by = uploader_field(_("recorded by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        app_label = "rgpd"
        verbose_name = _("legal hold")
        verbose_name_plural = _("Legal holds")
        ordering = ["population", "subject_id", "-ends_on", "id"]
        default_permissions = ()  # the right "RGPD Contacts Clients" gives access
        indexes = [models.Index(fields=["population", "subject_id", "ends_on"], name="legal_hold_person_idx")]

    def __str__(self) -> str:
        return _("Legal hold #%(id)s") % {"id": self.pk}

    def is_active(self, today: date | None = None) -> bool:
        return self.ends_on > (today or timezone.localdate())

    @property
    def explanation(self) -> str:
        """The reason as the officer reads it: its label, then the details given."""
        label = str(self.get_reason_display())
        return f"{label} — {self.reason_text}" if self.reason_text else label
