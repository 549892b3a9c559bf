from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.models import Contact

RGPD_PERMISSION_CODENAME = "rgpd_contacts_clients"
RGPD_PERMISSION = f"rgpd.{RGPD_PERMISSION_CODENAME}"


class RgpdContact(Contact):
    """The RGPD page's view of contacts; carries the right "RGPD Contacts Clients"."""

    class Meta:
        proxy = True
        default_permissions = ()
        permissions = [(RGPD_PERMISSION_CODENAME, "RGPD Contacts Clients")]
        verbose_name = _("client contact (GDPR)")
        verbose_name_plural = _("GDPR management: client contacts")


class ExportRequest(models.Model):
    """One "Exporter les données" action: one archive, in parts of at most RGPD_EXPORT_PART_SIZE people."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        RUNNING = "running", _("running")
        READY = "ready", _("ready")
        READY_WITH_WARNINGS = "ready_with_warnings", _("ready with warnings")
        PARTIALLY_FAILED = "partially_failed", _("partially failed")
        FAILED = "failed", _("failed")
        EXPIRED = "expired", _("expired")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="rgpd_export_requests",
    )
    language = models.CharField(_("language"), max_length=8, default="fr")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    subject_count = models.PositiveIntegerField(_("number of people"), default=0)
    part_count = models.PositiveIntegerField(_("number of parts"), default=0)
    notified_at = models.DateTimeField(_("email sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("export request")
        verbose_name_plural = _("export requests")
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return _("Export #%(id)s") % {"id": self.pk}


class ExportPart(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        RUNNING = "running", _("running")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")
        EXPIRED = "expired", _("expired")

    request = models.ForeignKey(ExportRequest, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveIntegerField(_("part"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    has_warnings = models.BooleanField(_("with warnings"), default=False)
    subject_count = models.PositiveIntegerField(_("number of people"), default=0)
    object_key = models.CharField(_("object key"), max_length=255, blank=True)
    size = models.BigIntegerField(_("size"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True, db_index=True)
    purged_at = models.DateTimeField(_("purged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("archive part")
        verbose_name_plural = _("archive parts")
        ordering = ["request_id", "number"]
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["request", "number"], name="export_part_unique_number")
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="export_part_status_expiry_idx")]

    def __str__(self) -> str:
        return _("Part %(number)s of export #%(request)s") % {
            "number": self.number,
            "request": self.request_id,
        }


class ExportSubject(models.Model):
    """Which archive part covers which person: answers "has this person a ready, unexpired archive?"."""

    part = models.ForeignKey(ExportPart, on_delete=models.CASCADE, related_name="subjects")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="rgpd_exports")

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["part", "contact"], name="export_subject_unique")]
        indexes = [models.Index(fields=["contact", "part"], name="export_subject_contact_idx")]

    def __str__(self) -> str:
        return f"{self.part} / {self.contact}"


class AuditEvent(models.Model):
    """Who did what to whom, by ids only: it holds no personal data and survives anonymisation."""

    class Action(models.TextChoices):
        EXPORT_REQUESTED = "export_requested", _("export requested")
        PART_READY = "part_ready", _("archive part ready")
        PART_FAILED = "part_failed", _("archive part failed")
        ARCHIVE_DOWNLOADED = "archive_downloaded", _("archive downloaded")
        ARCHIVE_PURGED = "archive_purged", _("archive purged")
        ANONYMISATION_REQUESTED = "anonymisation_requested", _("anonymisation requested")
        ANONYMISED = "anonymised", _("contact anonymised")
        ANONYMISATION_REFUSED = "anonymisation_refused", _("anonymisation refused")
        FILES_DELETED = "files_deleted", _("files deleted")

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("success")
        WARNING = "warning", _("warning")
        FAILURE = "failure", _("failure")

    at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    subject_ids = models.JSONField(_("subject ids"), default=list, blank=True)
    export_request = models.ForeignKey(
        ExportRequest, verbose_name=_("export request"), null=True, blank=True, on_delete=models.SET_NULL
    )
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    # Codes and ids only (e.g. {"part": 3, "reason": "no_ready_archive"}), never values of personal fields.
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("GDPR log entry")
        verbose_name_plural = _("GDPR audit log")
        ordering = ["-at", "-id"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.get_action_display()} — {self.at:%Y-%m-%d %H:%M}"
