"""The audit log: ids, counts and codes only, never personal values."""

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db.models import F, Func, JSONField, QuerySet, Value
from django.utils import timezone

from ..models import AuditEvent, ExportRequest
from .selection import insert_columns

# Ids listed in one audit row. A "select all" of a large base would otherwise write one JSON value of a
# million ids: beyond this the row says so (``subject_ids_omitted``) and keeps its counts; who was
# concerned is answered by the request's own rows (ExportSubject, AnonymisationSubject) and by the
# per-part and per-contact audit rows, which list their people.
AUDIT_SUBJECT_IDS_MAX = 1000


def audit_event(
    *,
    action: str,
    actor=None,
    subject_ids: Iterable[int] = (),
    export_request: ExportRequest | None = None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    counts: dict[str, int] | None = None,
    details: dict[str, str | int | bool | None] | None = None,
    whole_request: bool = False,
) -> AuditEvent:
    """One audit row, not saved yet (``AuditEvent.objects.bulk_create`` writes many at once).

    A ``whole_request`` row lists at most ``AUDIT_SUBJECT_IDS_MAX`` people (``subject_ids`` may then be a
    queryset of ids, of which no more are read); the rows of a part or of a person list all of theirs.
    """
    details = dict(details or {})
    if whole_request:
        if isinstance(subject_ids, QuerySet):
            subject_ids = subject_ids[: AUDIT_SUBJECT_IDS_MAX + 1]
        subject_ids = list(subject_ids)
        if len(subject_ids) > AUDIT_SUBJECT_IDS_MAX:
            subject_ids, details["subject_ids_omitted"] = [], True
    ids = sorted(int(i) for i in subject_ids)
    return AuditEvent(
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        subject_ids=ids,
        export_request=export_request,
        outcome=outcome,
        counts=counts or {},
        details=details,
    )


def audit_record(**about) -> AuditEvent:
    """Write one audit row (``audit_event``'s arguments); call it inside the transaction of the change it
    records."""
    event = audit_event(**about)
    event.save()
    return event


def audit_insert(
    *, action: str, actor=None, rows: Sequence[tuple[int, dict[str, int], dict]], at: datetime | None = None
) -> list[int]:
    """Write one audit row per ``(subject id, counts, details)`` of ``rows``, all of one action and actor,
    in one statement (thousands of people anonymised together); return their ids in the rows' order."""
    return insert_columns(
        AuditEvent,
        varying={
            "subject_ids": [[int(subject_id)] for subject_id, _counts, _details in rows],
            "counts": [counts for _subject_id, counts, _details in rows],
            "details": [details for _subject_id, _counts, details in rows],
        },
        constant={
            "action": action,
            "actor": actor if actor is not None and actor.is_authenticated else None,
            "at": at or timezone.now(),
        },
    )


class DetailsWith(Func):
    """An audit row's ``details`` with some keys set, in SQL: one UPDATE marks thousands of rows."""

    output_field = JSONField()
    template = "json_patch(%(expressions)s)"  # SQLite (MySQL's JSON_MERGE_PATCH alike)

    def __init__(self, values: dict[str, str | int | bool | None]) -> None:
        super().__init__(F("details"), Value(json.dumps(values)))

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="(%(expressions)s::jsonb)", arg_joiner=" || ", **extra_context
        )
