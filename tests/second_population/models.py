"""A member (the person) and the files attached to them; the RGPD page's proxy carries their right."""

import uuid

from django.db import models

MEMBERS_PERMISSION_CODENAME = "rgpd_members"


def member_file_path(instance: "MemberFile", filename: str) -> str:
    return f"members/{uuid.uuid4().hex}.bin"


class Member(models.Model):
    name = models.CharField("name", max_length=150)
    email = models.EmailField("email", blank=True)
    city = models.CharField("city", max_length=120, blank=True)
    joined_on = models.DateField("joined on", null=True, blank=True)
    anonymised_at = models.DateTimeField("anonymised at", null=True, blank=True, editable=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Member #{self.pk}"


class MemberFile(models.Model):
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="files")
    file = models.FileField("file", upload_to=member_file_path, max_length=255)
    original_name = models.CharField("original name", max_length=255, blank=True)

    def __str__(self) -> str:
        return f"Member file #{self.pk}"


class MemberPage(Member):
    """The members' RGPD page; its own right, independent of "RGPD Contacts Clients"."""

    class Meta:
        proxy = True
        default_permissions = ()
        permissions = [(MEMBERS_PERMISSION_CODENAME, "RGPD Members")]
        verbose_name = "member (GDPR)"
        verbose_name_plural = "GDPR management: members"
