"""The audit log: ids, counts and codes only, never personal values."""

from collections.abc import Iterable

from ..models import AuditEvent, ExportRequest


def audit_event(
    *,
    action: str,
    actor=None,
    subject_ids: Iterable[int] = (),
    export_request: ExportRequest | None = None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    counts: dict[str, int] | None = None,
    details: dict[str, str | int | bool | None] | None = None,
) -> AuditEvent:
    """One audit row, not saved yet (``AuditEvent.objects.bulk_create`` writes many at once)."""
    return AuditEvent(
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        subject_ids=sorted(int(i) for i in subject_ids),
        export_request=export_request,
        outcome=outcome,
        counts=counts or {},
        details=details or {},
    )


def audit_record(**about) -> AuditEvent:
    """Write one audit row (``audit_event``'s arguments); call it inside the transaction of the change it
    records."""
    event = audit_event(**about)
    event.save()
    return event
