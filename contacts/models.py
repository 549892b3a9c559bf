import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gdpr_portal.documents import UploadedDocument
from gdpr_portal.person_fields import ReachDetails
from gdpr_portal.uploads import (
    safe_extension,
    validate_document_upload,
    validate_photo_upload,
)

from .integrity import refused_if_anonymised


def contact_photo_path(contact: "Contact", filename: str) -> str:
    return f"contacts/{contact.storage_key}/photo/{uuid.uuid4().hex}{safe_extension(filename)}"


def document_file_path(document: "Document", filename: str) -> str:
    return f"contacts/{document.contact.storage_key}/documents/{uuid.uuid4().hex}{safe_extension(filename)}"


class Contact(ReachDetails):
    class Civility(models.TextChoices):
        MR = "M.", _("Mr")
        MRS = "Mme", _("Mrs")
        OTHER = "", _("Not specified")

    civility = models.CharField(_("title"), max_length=8, choices=Civility.choices, blank=True)
    first_name = models.CharField(_("first name"), max_length=150)
    last_name = models.CharField(_("last name"), max_length=150)
    email = models.EmailField(_("email"), blank=True)
    photo = models.ImageField(
        _("photo"),
        upload_to=contact_photo_path,
        blank=True,
        max_length=255,
        validators=[validate_photo_upload],
    )
    company = models.CharField(_("company"), max_length=200, blank=True)
    job_title = models.CharField(_("job title"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # Storage prefix of the contact's files: opaque, so object keys reveal nothing about the person.
    storage_key = models.UUIDField(_("storage key"), default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True, editable=False)
    # "Dernier contact": the last exchange with the person, edited by hand and moved by a new document; the
    # retention sweep proposes contacts inactive for RGPD_INACTIVITY_YEARS (rgpd/retention.py).
    last_activity_on = models.DateField(
        _("last contact"),
        null=True,
        blank=True,
        help_text=_("Date of the last exchange with this person (moved forward by a new document)."),
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(fields=["last_name", "first_name", "id"], name="contact_name_order_idx"),
            models.Index(fields=["email"], name="contact_email_idx"),
            models.Index(fields=["phone"], name="contact_phone_idx"),
            models.Index(fields=["anonymised_at"], name="contact_anonymised_idx"),
            models.Index(fields=["last_activity_on"], name="contact_last_activity_idx"),
        ]

    def __str__(self) -> str:
        # The name, as the back office shows a person (lists, messages, the document form's autocomplete).
        # It lands in the admin history too: anonymisation rewrites that history with this string once
        # the person is anonymised, which then names no one.
        if self.is_anonymised:
            return str(_("Anonymised contact #%(id)s") % {"id": self.pk})
        return self.full_name or str(_("Contact #%(id)s") % {"id": self.pk})

    def save(self, *args, **kwargs):
        if self._state.adding and self.last_activity_on is None:
            self.last_activity_on = timezone.localdate()  # a new contact: we were in touch today
        # The database refuses to change an anonymised contact: ContactAnonymised, new photo removed.
        with refused_if_anonymised(self.photo):
            super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def is_anonymised(self) -> bool:
        return self.anonymised_at is not None


class Document(UploadedDocument):
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="documents"
    )
    file = models.FileField(
        _("file"), upload_to=document_file_path, max_length=255, validators=[validate_document_upload]
    )

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["contact_id", "id"]

    def __str__(self) -> str:
        # Its file's name (anonymisation deletes the document and rewrites its history).
        return self.original_name or str(_("Document #%(id)s") % {"id": self.pk})

    def save(self, *args, **kwargs):
        self._describe_new_upload()
        if self._state.adding:
            self._bump_last_activity()
        # The database refuses a document for an anonymised contact: ContactAnonymised, file removed.
        with refused_if_anonymised(self.file):
            super().save(*args, **kwargs)

    def _bump_last_activity(self) -> None:
        """A document added is activity: "dernier contact" moves forward, never back.

        Before the insert, so the contact row is locked before the insert's trigger reads it (two uploads
        at once queue instead of deadlocking); updated_at, an open form's version, is left alone.
        """
        today = timezone.localdate()
        Contact.objects.filter(pk=self.contact_id, anonymised_at__isnull=True).filter(
            models.Q(last_activity_on__isnull=True) | models.Q(last_activity_on__lt=today)
        ).update(last_activity_on=today)


# The right "RGPD Contacts Clients": its codename is what existing security groups hold, never renamed.
RGPD_PERMISSION_CODENAME = "rgpd_contacts_clients"
RGPD_PERMISSION = f"rgpd.{RGPD_PERMISSION_CODENAME}"
RGPD_PERMISSION_LABEL = "RGPD Contacts Clients"  # the seed's name, in every language


class RgpdContact(Contact):
    """The RGPD page's view of contacts; carries the right "RGPD Contacts Clients".

    Declared here, by the population it shows, but in the ``rgpd`` app (``app_label``): the permission
    stays ``rgpd.rgpd_contacts_clients`` and the page ``/admin/rgpd/rgpdcontact/``, as before the engine
    stopped naming contacts (its migration stays rgpd's 0001).
    """

    class Meta:
        app_label = "rgpd"
        proxy = True
        default_permissions = ()
        permissions = [(RGPD_PERMISSION_CODENAME, RGPD_PERMISSION_LABEL)]
        verbose_name = _("client contact (GDPR)")
        verbose_name_plural = _("GDPR management: client contacts")
