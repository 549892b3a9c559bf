from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# A request's people are (population key, subject id): the engine holds no foreign key to a subject
# model, so any declared population (rgpd/populations.py) fits these tables as they are.
POPULATION_KEY_LENGTH = 32
SELECTION_LABEL_MAX = 600


def population_field() -> models.CharField:
    return models.CharField(_("population"), max_length=POPULATION_KEY_LENGTH, editable=False)


def confirmation_token_field() -> models.CharField:
    """The confirmation page's one-time token: that confirmation sent twice (a double click, or back and
    confirm again) is one request (``rgpd.services.confirmation``)."""
    return models.CharField(_("confirmation token"), max_length=64, blank=True, default="", editable=False)


def unique_confirmation_token(name: str) -> models.UniqueConstraint:
    """One request per token; requests made without a confirmation page (the API) have none."""
    return models.UniqueConstraint(
        fields=["confirmation_token"], condition=~models.Q(confirmation_token=""), name=name
    )


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
    population = population_field()
    language = models.CharField(_("language"), max_length=8, default="fr")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    subject_count = models.PositiveIntegerField(_("number of people"), default=0)
    part_count = models.PositiveIntegerField(_("number of parts"), default=0)
    notified_at = models.DateTimeField(_("email sent at"), null=True, blank=True)
    confirmation_token = confirmation_token_field()
    # A large "select all" waiting for a worker to split it into parts (``export_request_prepare``): the
    # selection's SQL and parameters, as the confirmation saw them. Emptied once the parts exist, since
    # the parameters may hold a search term.
    pending_selection_sql = models.TextField(blank=True, default="", editable=False)
    pending_selection_params = models.JSONField(default=list, blank=True, editable=False)
    # The search and filters of the RGPD page that produced a "select all" (as the officer saw them), so the
    # request's page says how its people were chosen. Dropped with the archive (the search may be a name).
    selection_label = models.CharField(
        _("selection"), max_length=SELECTION_LABEL_MAX, blank=True, default="", editable=False
    )
    # Its first task message could not be sent (the broker was unreachable): the periodic sweep sends it.
    awaiting_broker = models.BooleanField(_("waiting for the task queue"), default=False, editable=False)
    # The last failed attempt at sending the requester's email (cleared by a resend) and why: the
    # exception's class name only, never its text (it may quote an address).
    email_failed_at = models.DateTimeField(_("email failed at"), null=True, blank=True, editable=False)
    email_error = models.CharField(_("email error"), max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("export request")
        verbose_name_plural = _("export requests")
        ordering = ["-created_at", "-id"]
        default_permissions = ("view",)
        constraints = [unique_confirmation_token("rgpd_export_request_confirmation_token_unique")]

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
    # Documents listed as missing in the part's manifest (the part is then "ready with warnings").
    missing_file_count = models.PositiveIntegerField(_("missing files"), default=0)
    # Claim number: each claim increments it, and only the holder of the latest claim may finish the part.
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # Lease of the running build: a part RUNNING with a heartbeat older than RGPD_EXPORT_LEASE_SECONDS
    # belongs to a dead worker and may be reclaimed by the redelivered task.
    heartbeat_at = models.DateTimeField(_("heartbeat"), null=True, blank=True)
    # S3 multipart upload in progress, aborted by whoever reclaims the part.
    upload_id = models.CharField(_("upload id"), max_length=255, blank=True)
    # Node name of the worker that claimed it last: that worker, restarted after a crash, takes it back.
    worker = models.CharField(_("worker"), max_length=255, blank=True, editable=False)
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
    # The request's population, repeated here so that "has this person a ready archive?" is one index
    # lookup (population, subject_id) joined to its part, as it was with a foreign key.
    population = population_field()
    subject_id = models.BigIntegerField(_("person id"))

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["part", "subject_id"], name="export_subject_unique")]
        indexes = [
            models.Index(fields=["population", "subject_id", "part"], name="export_subject_person_idx")
        ]

    def __str__(self) -> str:
        return f"{self.part} / {self.population} #{self.subject_id}"


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
        REQUEST_RECORDED = "request_recorded", _("request from an individual recorded")
        REQUEST_MATCHED = "request_matched", _("request matched to contacts")
        REQUEST_EXTENDED = "request_extended", _("request's deadline extended")
        REQUEST_STATUS_CHANGED = "request_status_changed", _("request's status changed")
        CORRESPONDENCE_ADDED = "correspondence_added", _("correspondence attached to a request")
        CORRESPONDENCE_DOWNLOADED = "correspondence_downloaded", _("correspondence downloaded")
        LEGAL_HOLD_PLACED = "legal_hold_placed", _("legal hold placed")
        LEGAL_HOLD_CHANGED = "legal_hold_changed", _("legal hold changed")
        REQUEST_ACTION_STARTED = "request_action_started", _("export or anonymisation started from a request")
        REMINDERS_SENT = "reminders_sent", _("deadline reminders sent")

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


class AnonymisationRequest(models.Model):
    """One "Rendre anonyme les données" action (a row, a selection or an API call), run in chunks."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        RUNNING = "running", _("running")
        DONE = "done", _("done")

    class Source(models.TextChoices):
        ROW = "row", _("row action")
        BULK = "bulk", _("bulk action")
        API = "api", _("API")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="rgpd_anonymisation_requests",
    )
    population = population_field()
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.ROW)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Moves with every processed contact: a request that stopped moving is resumed by the periodic task.
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    subject_count = models.PositiveIntegerField(_("number of contacts"), default=0)
    processed_count = models.PositiveIntegerField(_("processed"), default=0)
    anonymised_count = models.PositiveIntegerField(_("anonymised"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    confirmation_token = confirmation_token_field()
    # A large "select all" waiting for a worker to record its people (``anonymisation_request_enqueue``):
    # the selection's SQL and parameters, as the confirmation saw them. Emptied once the people are
    # recorded, since the parameters may hold a search term.
    pending_selection_sql = models.TextField(blank=True, default="", editable=False)
    pending_selection_params = models.JSONField(default=list, blank=True, editable=False)
    # Its first task message could not be sent (the broker was unreachable): the periodic sweep sends it.
    awaiting_broker = models.BooleanField(_("waiting for the task queue"), default=False, editable=False)

    class Meta:
        verbose_name = _("anonymisation request")
        verbose_name_plural = _("anonymisation requests")
        ordering = ["-created_at", "-id"]
        default_permissions = ()
        constraints = [unique_confirmation_token("rgpd_anonymisation_request_confirmation_token_unique")]

    def __str__(self) -> str:
        return _("Anonymisation #%(id)s") % {"id": self.pk}


class AnonymisationSubject(models.Model):
    """The outcome for one contact of an anonymisation request: ids and a reason code only."""

    class Result(models.TextChoices):
        PENDING = "pending", _("pending")
        ANONYMISED = "anonymised", _("anonymised")
        SKIPPED = "skipped", _("skipped")

    request = models.ForeignKey(AnonymisationRequest, on_delete=models.CASCADE, related_name="subjects")
    # The id as asked (an API caller may name a person that does not exist), and the same id when that
    # person existed when the request was recorded (its population is the request's).
    requested_id = models.BigIntegerField(_("person id"))
    subject_id = models.BigIntegerField(_("existing person id"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=16, choices=Result.choices, default=Result.PENDING)
    reason = models.CharField(_("reason"), max_length=32, blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        default_permissions = ()
        ordering = ["request_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "requested_id"], name="anonymisation_subject_unique")
        ]
        indexes = [models.Index(fields=["request", "result"], name="anon_subject_result_idx")]

    def __str__(self) -> str:
        return f"{self.request} / {self.requested_id}"


class PendingStorageDeletion(models.Model):
    """A stored object to delete after an anonymisation committed, retried until it is gone.

    Object keys are opaque (``contacts/<uuid>/...``): they reveal nothing about the person.
    """

    storage = models.CharField(_("storage"), max_length=32, default="default")
    key = models.CharField(_("object key"), max_length=1024)
    # Whose files they are: while a row remains, that person's anonymisation is "in progress".
    population = population_field()
    subject_id = models.BigIntegerField(_("person id"), null=True, blank=True)
    # The anonymisation's audit row: it records the storage check once every object of it is gone.
    audit_event = models.ForeignKey(
        AuditEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("pending storage deletion")
        verbose_name_plural = _("pending storage deletions")
        ordering = ["id"]
        default_permissions = ()
        indexes = [models.Index(fields=["population", "subject_id"], name="pending_deletion_person_idx")]

    def __str__(self) -> str:
        return _("Pending deletion #%(id)s") % {"id": self.pk}


class PendingTombstone(models.Model):
    """A set of anonymised people whose tombstone (see ``services.anonymisation.tombstones``) is not in
    storage yet: written at the commit, or by the periodic task when the storage refused it. Ids and a
    date only: one row per set, whatever its size."""

    population = population_field()
    anonymised_at = models.DateTimeField(_("anonymised at"))
    subject_ids = models.JSONField(_("subject ids"), default=list)

    class Meta:
        verbose_name = _("pending tombstone")
        verbose_name_plural = _("pending tombstones")
        ordering = ["id"]
        default_permissions = ()

    def __str__(self) -> str:
        return _("Pending tombstone #%(id)s") % {"id": self.pk}


class PeriodicTaskRun(models.Model):
    """When a periodic (beat) task last ran on a worker, and whether it succeeded: the workers' state.

    A database row, not a cache key: the embedded cache is one per process (the web process would never
    see what a worker wrote) and a Redis cache may be flushed or evict it; the row is shared by every
    process and survives restarts. It holds a task name and dates only.
    """

    task = models.CharField(_("task"), max_length=100, unique=True)
    last_run_at = models.DateTimeField(_("last run"))
    succeeded = models.BooleanField(_("succeeded"), default=True)

    class Meta:
        verbose_name = _("periodic task run")
        verbose_name_plural = _("periodic task runs")
        default_permissions = ()

    def __str__(self) -> str:
        return self.task


# Models of the "Gestion RGPD" section kept in their own packages (app label "rgpd"): the register of data
# subjects' requests with legal holds, and the information sheet of Art. 15(1) GDPR copied into every archive.
from .information.models import ProcessingInformation  # noqa: E402, F401
from .legal_holds.models import LegalHold  # noqa: E402, F401
from .subject_requests.models import (  # noqa: E402, F401
    DeadlineReminder,
    SubjectRequest,
    SubjectRequestAction,
    SubjectRequestCorrespondence,
    SubjectRequestOutcome,
    SubjectRequestPerson,
)
