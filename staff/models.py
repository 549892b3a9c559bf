"""The employees: a profile for each back-office user and their HR documents (the second population of
the RGPD engine, "Gestion RGPD Utilisateurs"). The profile's primary key is the user's id, so a person
has the same number on the RGPD page, in the API and in the archive (``user-<id>/``)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from contacts.integrity import refused_if_anonymised
from gdpr_portal.documents import UploadedDocument
from gdpr_portal.person_fields import ReachDetails
from gdpr_portal.uploads import (
    safe_extension,
    validate_document_upload,
    validate_photo_upload,
)

from .integrity import EmployeeAnonymised


def employee_photo_path(profile: EmployeeProfile, filename: str) -> str:
    return f"employees/{profile.storage_key}/photo/{uuid.uuid4().hex}{safe_extension(filename)}"


def hr_document_path(document: HrDocument, filename: str) -> str:
    return f"employees/{document.employee.storage_key}/documents/{uuid.uuid4().hex}{safe_extension(filename)}"


class EmployeeProfile(ReachDetails):
    class Civility(models.TextChoices):
        MR = "M.", _("Mr")
        MRS = "Mme", _("Mrs")
        OTHER = "", _("Not specified")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="employee_profile",
    )
    civility = models.CharField(_("civility"), max_length=8, choices=Civility.choices, blank=True)
    photo = models.ImageField(
        _("photo"),
        upload_to=employee_photo_path,
        blank=True,
        max_length=255,
        validators=[validate_photo_upload],
    )
    job_title = models.CharField(_("job title"), max_length=200, blank=True)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    # Storage prefix of the employee's files: opaque, so object keys reveal nothing about the person.
    storage_key = models.UUIDField(_("storage key"), default=uuid.uuid4, unique=True, editable=False)
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("employee profile")
        verbose_name_plural = _("employee profiles")
        indexes = [models.Index(fields=["anonymised_at"], name="employee_anonymised_idx")]

    def __str__(self) -> str:
        # Never names: this string lands in admin history, which must survive anonymisation.
        return _("Employee #%(id)s") % {"id": self.pk}

    def save(self, *args, **kwargs):
        # The database refuses to change an anonymised profile: EmployeeAnonymised, new photo removed.
        with refused_if_anonymised(self.photo, raises=EmployeeAnonymised):
            super().save(*args, **kwargs)


class HrDocument(UploadedDocument):
    employee = models.ForeignKey(
        EmployeeProfile, verbose_name=_("employee"), on_delete=models.CASCADE, related_name="documents"
    )
    file = models.FileField(
        _("file"), upload_to=hr_document_path, max_length=255, validators=[validate_document_upload]
    )

    class Meta:
        verbose_name = _("HR document")
        verbose_name_plural = _("HR documents")
        ordering = ["employee_id", "id"]

    def __str__(self) -> str:
        return _("HR document #%(id)s") % {"id": self.pk}

    def save(self, *args, **kwargs):
        self._describe_new_upload()
        # The database refuses a document for an anonymised employee: EmployeeAnonymised, file removed.
        with refused_if_anonymised(self.file, raises=EmployeeAnonymised):
            super().save(*args, **kwargs)


# The right "RGPD Utilisateurs": its codename is what security groups hold, never renamed.
RGPD_USERS_PERMISSION_CODENAME = "rgpd_utilisateurs"
RGPD_USERS_PERMISSION = f"rgpd.{RGPD_USERS_PERMISSION_CODENAME}"


class RgpdUserManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        # The page's columns are the account's (names, email): read in the list's own query.
        return super().get_queryset().select_related("user")


class RgpdUser(EmployeeProfile):
    """The RGPD page's view of the employees; carries the right "RGPD Utilisateurs".

    In the ``rgpd`` app (``app_label``) like the contacts' page: the permission is
    ``rgpd.rgpd_utilisateurs`` and the page ``/admin/rgpd/rgpduser/``, in the "Gestion RGPD" section.
    """

    objects: ClassVar[RgpdUserManager] = RgpdUserManager()

    class Meta:
        app_label = "rgpd"
        proxy = True
        default_permissions = ()
        permissions = [(RGPD_USERS_PERMISSION_CODENAME, "RGPD Utilisateurs")]
        verbose_name = _("user (GDPR)")
        verbose_name_plural = _("GDPR management: users")
