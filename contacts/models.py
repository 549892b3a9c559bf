import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from gdpr_portal.documents import UploadedDocument
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


class Contact(models.Model):
    class Civility(models.TextChoices):
        MR = "M.", _("Mr")
        MRS = "Mme", _("Mrs")
        OTHER = "", _("Not specified")

    civility = models.CharField(_("civility"), max_length=8, choices=Civility.choices, blank=True)
    first_name = models.CharField(_("first name"), max_length=150)
    last_name = models.CharField(_("last name"), max_length=150)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    mobile = models.CharField(_("mobile"), max_length=40, blank=True)
    street = models.CharField(_("address"), max_length=255, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=120, blank=True)
    country = models.CharField(_("country"), max_length=120, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
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

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(fields=["last_name", "first_name", "id"], name="contact_name_order_idx"),
            models.Index(fields=["email"], name="contact_email_idx"),
            models.Index(fields=["phone"], name="contact_phone_idx"),
            models.Index(fields=["anonymised_at"], name="contact_anonymised_idx"),
        ]

    def __str__(self) -> str:
        # Never names: this string lands in admin history and messages, which must survive anonymisation.
        return _("Contact #%(id)s") % {"id": self.pk}

    def save(self, *args, **kwargs):
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
        return _("Document #%(id)s") % {"id": self.pk}

    def save(self, *args, **kwargs):
        self._describe_new_upload()
        # The database refuses a document for an anonymised contact: ContactAnonymised, file removed.
        with refused_if_anonymised(self.file):
            super().save(*args, **kwargs)


# The right "RGPD Contacts Clients": its codename is what existing security groups hold, never renamed.
RGPD_PERMISSION_CODENAME = "rgpd_contacts_clients"
RGPD_PERMISSION = f"rgpd.{RGPD_PERMISSION_CODENAME}"


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
        permissions = [(RGPD_PERMISSION_CODENAME, "RGPD Contacts Clients")]
        verbose_name = _("client contact (GDPR)")
        verbose_name_plural = _("GDPR management: client contacts")
