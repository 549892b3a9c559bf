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
        verbose_name = _("contact client (RGPD)")
        verbose_name_plural = _("Gestion - RGPD : Contacts Clients")


class ExportRequest(models.Model):
    """One "Exporter les données" action: one archive, split into parts of at most RGPD_EXPORT_PART_SIZE people."""

    class Status(models.TextChoices):
        PENDING = "pending", _("en attente")
        RUNNING = "running", _("en cours")
        READY = "ready", _("prête")
        READY_WITH_WARNINGS = "ready_with_warnings", _("prête avec avertissements")
        PARTIALLY_FAILED = "partially_failed", _("partiellement en échec")
        FAILED = "failed", _("en échec")
        EXPIRED = "expired", _("expirée")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("demandée par"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="rgpd_export_requests",
    )
    language = models.CharField(_("langue"), max_length=8, default="fr")
    created_at = models.DateTimeField(_("créée le"), default=timezone.now, db_index=True)
    subject_count = models.PositiveIntegerField(_("nombre de personnes"), default=0)
    part_count = models.PositiveIntegerField(_("nombre de parties"), default=0)
    notified_at = models.DateTimeField(_("email envoyé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("demande d'export")
        verbose_name_plural = _("demandes d'export")
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return _("Export n°%(id)s") % {"id": self.pk}


class ExportPart(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("en attente")
        RUNNING = "running", _("en cours")
        READY = "ready", _("prête")
        FAILED = "failed", _("en échec")
        EXPIRED = "expired", _("expirée")

    request = models.ForeignKey(ExportRequest, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveIntegerField(_("partie"))
    status = models.CharField(_("statut"), max_length=16, choices=Status.choices, default=Status.PENDING)
    has_warnings = models.BooleanField(_("avec avertissements"), default=False)
    subject_count = models.PositiveIntegerField(_("nombre de personnes"), default=0)
    object_key = models.CharField(_("clé de l'objet"), max_length=255, blank=True)
    size = models.BigIntegerField(_("taille"), null=True, blank=True)
    sha256 = models.CharField(_("empreinte SHA-256"), max_length=64, blank=True)
    error = models.TextField(_("erreur"), blank=True)
    attempts = models.PositiveIntegerField(_("tentatives"), default=0)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)
    started_at = models.DateTimeField(_("commencée le"), null=True, blank=True)
    ready_at = models.DateTimeField(_("prête le"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expire le"), null=True, blank=True, db_index=True)
    purged_at = models.DateTimeField(_("supprimée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("partie d'archive")
        verbose_name_plural = _("parties d'archive")
        ordering = ["request_id", "number"]
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["request", "number"], name="export_part_unique_number")]
        indexes = [models.Index(fields=["status", "expires_at"], name="export_part_status_expiry_idx")]

    def __str__(self) -> str:
        return _("Partie %(number)s de l'export n°%(request)s") % {
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


class AuditEvent(models.Model):
    """Who did what to whom, by ids only: it holds no personal data and survives anonymisation."""

    class Action(models.TextChoices):
        EXPORT_REQUESTED = "export_requested", _("export demandé")
        PART_READY = "part_ready", _("partie d'archive prête")
        PART_FAILED = "part_failed", _("partie d'archive en échec")
        ARCHIVE_DOWNLOADED = "archive_downloaded", _("archive téléchargée")
        ARCHIVE_PURGED = "archive_purged", _("archive supprimée")
        ANONYMISATION_REQUESTED = "anonymisation_requested", _("anonymisation demandée")
        ANONYMISED = "anonymised", _("contact anonymisé")
        ANONYMISATION_REFUSED = "anonymisation_refused", _("anonymisation refusée")
        FILES_DELETED = "files_deleted", _("fichiers supprimés")

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("succès")
        WARNING = "warning", _("avertissement")
        FAILURE = "failure", _("échec")

    at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("auteur"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    outcome = models.CharField(_("résultat"), max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    subject_ids = models.JSONField(_("identifiants des personnes"), default=list, blank=True)
    export_request = models.ForeignKey(
        ExportRequest, verbose_name=_("demande d'export"), null=True, blank=True, on_delete=models.SET_NULL
    )
    counts = models.JSONField(_("compteurs"), default=dict, blank=True)
    # Codes and ids only (e.g. {"part": 3, "reason": "no_ready_archive"}), never values of personal fields.
    details = models.JSONField(_("détails"), default=dict, blank=True)

    class Meta:
        verbose_name = _("entrée du journal RGPD")
        verbose_name_plural = _("journal RGPD")
        ordering = ["-at", "-id"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.get_action_display()} — {self.at:%Y-%m-%d %H:%M}"
