"""The register of data subjects' requests ("Demandes des personnes").

These models carry the app label ``rgpd`` so that their admin page sits in the "Gestion RGPD" section,
next to the RGPD page, under the same right. People are referenced as (population, subject id), never by
a foreign key: the GDPR engine works on any declared population, and a request outlives the records of
the people it names (ids are kept after an anonymisation, like the audit log does).
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import PurePath

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gdpr_portal.uploads import (
    detected_type,
    is_new_upload,
    safe_extension,
    served_type,
    uploader_field,
    validate_document_upload,
)

from . import clock

# The population of client contacts (``rgpd.models.ExportSubject.population`` uses the same key).
CONTACTS_POPULATION = "contacts"


class SubjectRequest(models.Model):
    class Kind(models.TextChoices):
        ACCESS = "access", _("Access / copy (Art. 15)")
        PORTABILITY = "portability", _("Portability (Art. 20)")
        ERASURE = "erasure", _("Erasure (Art. 17)")
        RECTIFICATION = "rectification", _("Rectification (Art. 16)")
        OBJECTION = "objection", _("Objection (Art. 21)")
        RESTRICTION = "restriction", _("Restriction (Art. 18)")

    class Channel(models.TextChoices):
        POST = "post", _("Post")
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        WEB_FORM = "web_form", _("Web form")
        IN_PERSON = "in_person", _("In person")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        RECEIVED = "received", _("received")
        AWAITING_IDENTITY = "awaiting_identity", _("awaiting proof of identity")
        IN_PROGRESS = "in_progress", _("in progress")
        ANSWERED = "answered", _("answered")
        REFUSED = "refused", _("refused")

    class RefusalReason(models.TextChoices):
        MANIFESTLY_UNFOUNDED = "manifestly_unfounded", _("Manifestly unfounded (Art. 12(5))")
        EXCESSIVE = "excessive", _("Excessive, in particular repetitive (Art. 12(5))")

    kind = models.CharField(_("kind of request"), max_length=16, choices=Kind.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.OTHER)
    received_on = models.DateField(_("received on"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.RECEIVED)
    # Kept by the services from received_on, the extension and the days paused (clock.due_date).
    due_on = models.DateField(_("due on"), db_index=True)
    extension_months = models.PositiveSmallIntegerField(_("extension (months)"), default=0)
    extension_reason = models.TextField(_("reason for the extension"), blank=True)
    extension_informed_on = models.DateField(_("person informed of the extension on"), null=True, blank=True)
    paused_since = models.DateField(_("clock paused since"), null=True, blank=True)
    paused_days = models.PositiveIntegerField(_("days paused"), default=0)
    answered_on = models.DateField(_("answered on"), null=True, blank=True)
    answered_on_time = models.BooleanField(_("answered on time"), null=True, blank=True)
    refusal_reason = models.CharField(
        _("reason for the refusal"), max_length=32, choices=RefusalReason.choices, blank=True
    )
    notes = models.TextField(_("notes"), blank=True)
    # A person not matched to a record yet, as they gave themselves: personal data, never exported nor
    # written to the audit log or logs; shown only on the request's page.
    unmatched_name = models.CharField(_("name as given"), max_length=200, blank=True)
    unmatched_email = models.EmailField(_("email as given"), blank=True)
    # Storage prefix of the correspondence: opaque, so object keys reveal nothing about the person.
    storage_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    recorded_by = uploader_field(_("recorded by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        app_label = "rgpd"
        verbose_name = _("request from an individual")
        verbose_name_plural = _("Requests from individuals")
        ordering = ["due_on", "id"]
        default_permissions = ()  # the right "RGPD Contacts Clients" gives access
        indexes = [models.Index(fields=["status", "due_on"], name="subject_request_open_due_idx")]

    def __str__(self) -> str:
        return _("Request #%(id)s") % {"id": self.pk}

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_paused(self) -> bool:
        return self.status == self.Status.AWAITING_IDENTITY

    def days_left(self, today: date) -> int | None:
        """Days until the due date; frozen while the clock is paused; None once closed."""
        if not self.is_open:
            return None
        return clock.days_left(self.due_on, self.paused_since if self.paused_since else today)


OPEN_STATUSES = (
    SubjectRequest.Status.RECEIVED,
    SubjectRequest.Status.AWAITING_IDENTITY,
    SubjectRequest.Status.IN_PROGRESS,
)
# Statuses whose clock runs: a request waiting for proof of identity is never overdue.
RUNNING_STATUSES = (SubjectRequest.Status.RECEIVED, SubjectRequest.Status.IN_PROGRESS)


class SubjectRequestPerson(models.Model):
    """One person a request is about: a subject of a declared population, by id."""

    request = models.ForeignKey(SubjectRequest, on_delete=models.CASCADE, related_name="people")
    population = models.CharField(_("population"), max_length=32, default=CONTACTS_POPULATION)
    subject_id = models.BigIntegerField(_("subject id"))

    class Meta:
        app_label = "rgpd"
        default_permissions = ()
        ordering = ["request_id", "population", "subject_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "population", "subject_id"], name="subject_request_person_unique"
            )
        ]
        indexes = [models.Index(fields=["population", "subject_id"], name="subject_request_person_idx")]

    def __str__(self) -> str:
        return f"{self.population}-{self.subject_id}"


class ErasureOutcome(models.TextChoices):
    """What the answer to an erasure request says of one person (Art. 17(3): what was kept and why)."""

    ANONYMISED = "anonymised", _("anonymised")
    KEPT = "kept", _("kept under a legal hold")
    GONE = "gone", _("no longer held")


class SubjectRequestOutcome(models.Model):
    """The answer to an erasure request, person by person, as it stood on the day it was answered."""

    request = models.ForeignKey(SubjectRequest, on_delete=models.CASCADE, related_name="outcomes")
    population = models.CharField(_("population"), max_length=32, default=CONTACTS_POPULATION)
    subject_id = models.BigIntegerField(_("subject id"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=ErasureOutcome.choices)
    # The legal hold's reason and end date (copied: the answer stays as given when the hold ends).
    kept_because = models.TextField(_("kept because"), blank=True)
    kept_until = models.DateField(_("kept until"), null=True, blank=True)

    class Meta:
        app_label = "rgpd"
        default_permissions = ()
        ordering = ["request_id", "population", "subject_id"]

    def __str__(self) -> str:
        return f"{self.population}-{self.subject_id}: {self.outcome}"

    @property
    def outcome_label(self) -> str:
        return str(self.get_outcome_display())


class SubjectRequestAction(models.Model):
    """An export or an anonymisation started from a request's page, for exactly its people."""

    request = models.ForeignKey(SubjectRequest, on_delete=models.CASCADE, related_name="actions")
    export_request = models.ForeignKey(
        "rgpd.ExportRequest", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    anonymisation_request = models.ForeignKey(
        "rgpd.AnonymisationRequest", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        app_label = "rgpd"
        default_permissions = ()
        ordering = ["request_id", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "export_request"], name="subject_request_export_once"),
            models.UniqueConstraint(
                fields=["request", "anonymisation_request"], name="subject_request_anonymisation_once"
            ),
        ]

    def __str__(self) -> str:
        return str(self.export_request or self.anonymisation_request)


def correspondence_path(item: SubjectRequestCorrespondence, filename: str) -> str:
    return f"subject-requests/{item.request.storage_key}/{uuid.uuid4().hex}{safe_extension(filename)}"


class SubjectRequestCorrespondence(models.Model):
    """A letter, email or proof attached to a request: private storage, downloaded through a checked link."""

    request = models.ForeignKey(SubjectRequest, on_delete=models.CASCADE, related_name="correspondence")
    file = models.FileField(
        _("file"), upload_to=correspondence_path, max_length=255, validators=[validate_document_upload]
    )
    original_name = models.CharField(_("original name"), max_length=255, blank=True, editable=False)
    content_type = models.CharField(_("content type"), max_length=120, blank=True, editable=False)
    size = models.BigIntegerField(_("size"), default=0, editable=False)
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now, editable=False)
    uploaded_by = uploader_field()

    class Meta:
        app_label = "rgpd"
        verbose_name = _("correspondence")
        verbose_name_plural = _("correspondence")
        ordering = ["request_id", "id"]
        default_permissions = ()

    def __str__(self) -> str:
        return _("Correspondence #%(id)s") % {"id": self.pk}

    def save(self, *args, **kwargs):
        if is_new_upload(self.file):
            # Described from the bytes: the type the client claims is never stored nor served back.
            self.original_name = PurePath(self.file.name).name[:255]
            self.content_type = detected_type(self.file.file)[:120]
            self.size = self.file.size or 0
        super().save(*args, **kwargs)

    @property
    def served_content_type(self) -> str:
        return served_type(self.content_type)


class DeadlineReminder(models.Model):
    """The daily email of due and overdue requests: one row per day, so it is sent once whatever runs it."""

    day = models.DateField(_("day"), unique=True)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)
    request_count = models.PositiveIntegerField(_("requests listed"), default=0)

    class Meta:
        app_label = "rgpd"
        default_permissions = ()
        ordering = ["-day"]

    def __str__(self) -> str:
        return self.day.isoformat()
