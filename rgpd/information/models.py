"""The one row of "Informations sur le traitement" (app label ``rgpd``: its page is in "Gestion RGPD")."""

from __future__ import annotations

from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from gdpr_portal.uploads import uploader_field

from . import defaults

SINGLETON_ID = 1


class ProcessingInformation(models.Model):
    """What Art. 15(1) GDPR requires besides the data, in the order the archive shows it."""

    controller = models.TextField(
        _("controller"), default=defaults.CONTROLLER, help_text=_("Identity and contact details.")
    )
    dpo = models.TextField(_("data protection officer"), default=defaults.DPO, blank=True)
    purposes = models.TextField(_("purposes of the processing"), default=defaults.PURPOSES)
    categories = models.TextField(_("categories of personal data"), default=defaults.CATEGORIES)
    recipients = models.TextField(_("recipients"), default=defaults.RECIPIENTS)
    retention = models.TextField(_("retention period"), default=defaults.RETENTION)
    rights = models.TextField(
        _("your rights"),
        default=defaults.RIGHTS,
        help_text=_("Rectification, erasure, restriction, objection, portability."),
    )
    complaint = models.TextField(_("right to lodge a complaint"), default=defaults.COMPLAINT)
    source = models.TextField(_("source of the data"), default=defaults.SOURCE)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = uploader_field(_("updated by"))

    # The texts, in the order the archive shows them (a test checks none is forgotten).
    TEXT_FIELDS = (
        "controller",
        "dpo",
        "purposes",
        "categories",
        "recipients",
        "retention",
        "rights",
        "complaint",
        "source",
    )

    class Meta:
        app_label = "rgpd"
        verbose_name = _("processing information")
        verbose_name_plural = _("processing information")
        default_permissions = ("view", "change")

    def __str__(self) -> str:
        return capfirst(str(self._meta.verbose_name))

    @classmethod
    def current(cls) -> ProcessingInformation:
        """The sheet as it stands (created with its default texts the first time it is asked for)."""
        sheet, _created = cls.objects.get_or_create(pk=SINGLETON_ID)
        return sheet

    def sections(self) -> list[tuple[str, str]]:
        """(heading, text) of each non-empty text, in the archive's order, in the active language."""
        fields = {field.name: field for field in self._meta.concrete_fields}
        return [
            (str(fields[name].verbose_name), getattr(self, name))
            for name in self.TEXT_FIELDS
            if getattr(self, name).strip()
        ]
