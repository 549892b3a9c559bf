"""The audit log: ids, counts and codes only, never personal values."""

from collections.abc import Iterable

from django.db.models import QuerySet

from ..models import AuditEvent, ExportRequest

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
