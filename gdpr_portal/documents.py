"""What an attached document records, whoever it belongs to (a contact's documents, an employee's HR
documents): its kind, and its name, type (from its bytes), size and sha256 taken when it is uploaded."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .uploads import describe_new_upload, served_type, uploader_field


class DocumentKind(models.TextChoices):
    PAYSLIP = "payslip", _("Payslip")
    EMPLOYMENT_CONTRACT = "employment_contract", _("Employment contract")
    IDENTITY_DOCUMENT = "identity_document", _("Identity document")
    OTHER = "other", _("Other")


class UploadedDocument(models.Model):
    """Abstract: a subclass adds its owner and its ``file`` field (with its own storage path)."""

    Kind = DocumentKind

    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices, default=Kind.OTHER)
    original_name = models.CharField(_("original name"), max_length=255, blank=True, editable=False)
    content_type = models.CharField(_("content type"), max_length=120, blank=True, editable=False)
    size = models.BigIntegerField(_("size"), default=0, editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True, editable=False)
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now, editable=False)
    uploaded_by = uploader_field()

    file: models.FileField

    class Meta:
        abstract = True

    @property
    def served_content_type(self) -> str:
        return served_type(self.content_type)

    def _describe_new_upload(self) -> None:
        """Record name, type, size and sha256 of a file that has just been uploaded (not yet stored)."""
        described = describe_new_upload(self.file)
        if described is not None:
            self.original_name, self.content_type = described.original_name, described.content_type
            self.size, self.sha256 = described.size, described.sha256
