"""Writes on the register of requests: record, extend, move through the statuses, attach correspondence.

Each service locks the request's row, checks the rule, keeps ``due_on`` in step with the legal clock and
writes its audit row (ids and codes only) in the same transaction. A broken rule raises a
``ValidationError`` keyed by the field at fault, which the admin shows on the form and the API as a 400.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gdpr_portal.ids import ids_summary

from ..models import AnonymisationRequest, AuditEvent, ExportRequest
from ..populations import population
from ..services.audit import audit_record
from . import clock, erasure
from .models import (
    CONTACTS_POPULATION,
    SubjectRequest,
    SubjectRequestAction,
    SubjectRequestCorrespondence,
    SubjectRequestPerson,
)

Status = SubjectRequest.Status

# Where each status may go: reçue → (en attente d'identité) → en cours → répondue | refusée.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.RECEIVED: frozenset({Status.AWAITING_IDENTITY, Status.IN_PROGRESS, Status.REFUSED}),
    Status.AWAITING_IDENTITY: frozenset({Status.IN_PROGRESS, Status.REFUSED}),
    Status.IN_PROGRESS: frozenset({Status.ANSWERED, Status.REFUSED}),
    Status.ANSWERED: frozenset(),
    Status.REFUSED: frozenset(),
}
# The oldest date a request may carry: older dates are typing mistakes, not requests.
EARLIEST_DATE = date(2000, 1, 1)


def _today(today: date | None) -> date:
    return today or timezone.localdate()


def _check_date(field: str, value: date, *, not_before: date, today: date) -> None:
    if value > today:
        raise ValidationError({field: _("This date is in the future.")}, code="future_date")
    if value < not_before:
        raise ValidationError(
            {field: _("This date cannot be before %(date)s.") % {"date": not_before.isoformat()}},
            code="date_too_early",
        )


def unknown_contact_ids(contact_ids: Iterable[int]) -> list[int]:
    wanted = set(contact_ids)
    found = set(
        population(CONTACTS_POPULATION)
        .model._default_manager.filter(pk__in=wanted)
        .values_list("pk", flat=True)
    )
    return sorted(wanted - found)


def _check_contacts_exist(contact_ids: list[int]) -> None:
    unknown = unknown_contact_ids(contact_ids)
    if unknown:
        raise ValidationError(
            {"contacts": _("No contact has these ids: %(ids)s.") % {"ids": ids_summary(unknown)}},
            code="unknown_contacts",
        )


def _add_people(subject_request: SubjectRequest, contact_ids: list[int]) -> None:
    SubjectRequestPerson.objects.bulk_create(
        (
            SubjectRequestPerson(request=subject_request, population=CONTACTS_POPULATION, subject_id=pk)
            for pk in contact_ids
        ),
        ignore_conflicts=True,  # a contact already named stays named once
    )


def _contact_ids(subject_request: SubjectRequest) -> list[int]:
    return list(
        subject_request.people.filter(population=CONTACTS_POPULATION).values_list("subject_id", flat=True)
    )


def _audit(subject_request: SubjectRequest, action: str, actor, **details: str | int | bool) -> None:
    audit_record(
        action=action,
        actor=actor,
        subject_ids=_contact_ids(subject_request),
        details={"request": subject_request.pk, "kind": subject_request.kind, **details},
    )


def _refresh_due(subject_request: SubjectRequest) -> None:
    subject_request.due_on = clock.due_date(
        subject_request.received_on,
        extension_months=subject_request.extension_months,
        paused_days=subject_request.paused_days,
    )


def _locked(subject_request: SubjectRequest) -> SubjectRequest:
    return SubjectRequest.objects.select_for_update().get(pk=subject_request.pk)


@transaction.atomic
def subject_request_record(
    *,
    kind: str,
    received_on: date,
    contact_ids: Iterable[int] = (),
    channel: str = SubjectRequest.Channel.OTHER,
    unmatched_name: str = "",
    unmatched_email: str = "",
    notes: str = "",
    actor,
    today: date | None = None,
) -> SubjectRequest:
    """Record a request received on ``received_on`` about contacts, or a person not matched yet."""
    contact_ids = sorted(set(contact_ids))
    _check_date("received_on", received_on, not_before=EARLIEST_DATE, today=_today(today))
    if not contact_ids and not (unmatched_name.strip() or unmatched_email.strip()):
        raise ValidationError(
            {"contacts": _("Name at least one contact, or the person's name or email as given.")},
            code="no_person",
        )
    _check_contacts_exist(contact_ids)
    subject_request = SubjectRequest(
        kind=kind,
        channel=channel,
        received_on=received_on,
        unmatched_name=unmatched_name.strip(),
        unmatched_email=unmatched_email.strip(),
        notes=notes,
        recorded_by=actor if actor is not None and actor.is_authenticated else None,
    )
    _refresh_due(subject_request)
    subject_request.full_clean(exclude=["due_on"])
    subject_request.save()
    _add_people(subject_request, contact_ids)
    _audit(subject_request, AuditEvent.Action.REQUEST_RECORDED, actor)
    return subject_request


@transaction.atomic
def subject_request_match(
    *, subject_request: SubjectRequest, contact_ids: Iterable[int], forget_identity: bool, actor
) -> SubjectRequest:
    """Add the contacts the person turned out to be; once matched, the name and email as given may be
    forgotten (they are kept nowhere else)."""
    subject_request = _locked(subject_request)
    contact_ids = sorted(set(contact_ids))
    if not contact_ids:
        raise ValidationError({"contacts": _("Name at least one contact.")}, code="no_person")
    _check_contacts_exist(contact_ids)
    _add_people(subject_request, contact_ids)
    if forget_identity:
        subject_request.unmatched_name = subject_request.unmatched_email = ""
        subject_request.save(update_fields=["unmatched_name", "unmatched_email"])
    _audit(subject_request, AuditEvent.Action.REQUEST_MATCHED, actor, identity_forgotten=forget_identity)
    return subject_request


@transaction.atomic
def subject_request_extend(
    *,
    subject_request: SubjectRequest,
    months: int,
    reason: str,
    informed_on: date,
    actor,
    today: date | None = None,
) -> SubjectRequest:
    """Extend the deadline by ``months`` (Art. 12(3)), with the reason the person was told of."""
    subject_request = _locked(subject_request)
    if not subject_request.is_open:
        raise ValidationError({"months": _("A closed request cannot be extended.")}, code="closed")
    if subject_request.extension_months:
        raise ValidationError({"months": _("This request has already been extended.")}, code="extended")
    if months not in range(1, clock.MAX_EXTENSION_MONTHS + 1):
        raise ValidationError({"months": _("An extension is of 1 or 2 months.")}, code="months")
    if not reason.strip():
        raise ValidationError(
            {"reason": _("Give the reason for the extension: the person must be told of it.")},
            code="reason_required",
        )
    _check_date("informed_on", informed_on, not_before=subject_request.received_on, today=_today(today))
    # Art. 12(3): the person is told of the extension within one month of receipt.
    first_due = clock.due_date(subject_request.received_on, paused_days=subject_request.paused_days)
    if informed_on > first_due:
        raise ValidationError(
            {
                "informed_on": _(
                    "The person must be told of an extension within the first month, by %(date)s."
                )
                % {"date": first_due.isoformat()}
            },
            code="informed_too_late",
        )
    subject_request.extension_months = months
    subject_request.extension_reason = reason.strip()
    subject_request.extension_informed_on = informed_on
    _refresh_due(subject_request)
    subject_request.save()
    _audit(subject_request, AuditEvent.Action.REQUEST_EXTENDED, actor, months=months)
    return subject_request


def _move(subject_request: SubjectRequest, to: str, actor) -> None:
    """Change the status if the workflow allows it, and audit the change."""
    origin = subject_request.status
    if to not in TRANSITIONS[origin]:
        raise ValidationError(
            {
                "status": _("A request that is “%(origin)s” cannot become “%(target)s”.")
                % {"origin": Status(origin).label, "target": Status(to).label}
            },
            code="invalid_transition",
        )
    subject_request.status = to
    subject_request.save()
    _audit(subject_request, AuditEvent.Action.REQUEST_STATUS_CHANGED, actor, origin=origin, target=to)


@transaction.atomic
def subject_request_wait_for_identity(
    *, subject_request: SubjectRequest, on: date, actor, today: date | None = None
) -> SubjectRequest:
    """Pause the clock from ``on``: proof of identity has been asked for (Art. 12(6))."""
    subject_request = _locked(subject_request)
    _check_date("on", on, not_before=subject_request.received_on, today=_today(today))
    subject_request.paused_since = on
    _move(subject_request, Status.AWAITING_IDENTITY, actor)
    return subject_request


@transaction.atomic
def subject_request_start(
    *, subject_request: SubjectRequest, on: date, actor, today: date | None = None
) -> SubjectRequest:
    """Work on the request; coming back from a pause, the due date moves by the days paused."""
    subject_request = _locked(subject_request)
    _end_pause(subject_request, "on", on, today)
    _move(subject_request, Status.IN_PROGRESS, actor)
    return subject_request


def _end_pause(subject_request: SubjectRequest, field: str, on: date, today: date | None) -> None:
    """Check the date ``on`` of a step; a paused clock restarts then, the due date moved by the pause."""
    paused_since = subject_request.paused_since
    _check_date(field, on, not_before=paused_since or subject_request.received_on, today=_today(today))
    if paused_since is not None:
        subject_request.paused_days += (on - paused_since).days
        subject_request.paused_since = None
        _refresh_due(subject_request)


def _close(subject_request: SubjectRequest, *, to: str, on: date, actor, today: date | None) -> None:
    _end_pause(subject_request, "answered_on", on, today)
    subject_request.answered_on = on
    subject_request.answered_on_time = on <= subject_request.due_on
    _move(subject_request, to, actor)


@transaction.atomic
def subject_request_answer(
    *, subject_request: SubjectRequest, answered_on: date, actor, today: date | None = None
) -> SubjectRequest:
    """Close the request as answered on ``answered_on``; whether that was on time is recorded.

    An erasure request is answered only once each of its people is anonymised or under a legal hold; the
    answer then keeps what was kept and why (``erasure``).
    """
    subject_request = _locked(subject_request)
    erased = None
    # (A status that cannot be answered is refused by _close with its own message.)
    if (
        subject_request.kind == SubjectRequest.Kind.ERASURE
        and Status.ANSWERED in TRANSITIONS[subject_request.status]
    ):
        erased = erasure.erasure_answer_check(subject_request, today=_today(today))
    _close(subject_request, to=Status.ANSWERED, on=answered_on, actor=actor, today=today)
    if erased is not None:
        erasure.erasure_outcomes_record(subject_request, erased)
    return subject_request


@transaction.atomic
def subject_request_link_action(
    *,
    subject_request: SubjectRequest,
    actor,
    export_request: ExportRequest | None = None,
    anonymisation_request: AnonymisationRequest | None = None,
) -> SubjectRequestAction:
    """Link an export or an anonymisation started from the request's page (once, however often sent)."""
    link, created = SubjectRequestAction.objects.get_or_create(
        request=subject_request, export_request=export_request, anonymisation_request=anonymisation_request
    )
    if created:
        started = {"export": export_request, "anonymisation": anonymisation_request}
        ids = {kind: row.pk for kind, row in started.items() if row is not None}
        _audit(subject_request, AuditEvent.Action.REQUEST_ACTION_STARTED, actor, **ids)
    return link


@transaction.atomic
def subject_request_refuse(
    *,
    subject_request: SubjectRequest,
    refusal_reason: str,
    answered_on: date,
    actor,
    today: date | None = None,
) -> SubjectRequest:
    """Refuse the request as manifestly unfounded or excessive (Art. 12(5)), told on ``answered_on``."""
    subject_request = _locked(subject_request)
    if refusal_reason not in SubjectRequest.RefusalReason.values:
        raise ValidationError(
            {"refusal_reason": _("Choose the reason for the refusal (Art. 12(5)).")}, code="refusal_reason"
        )
    subject_request.refusal_reason = refusal_reason
    _close(subject_request, to=Status.REFUSED, on=answered_on, actor=actor, today=today)
    return subject_request


@transaction.atomic
def subject_request_attach(
    *, subject_request: SubjectRequest, upload: File, actor
) -> SubjectRequestCorrespondence:
    """Attach a letter or an email to the request (the upload checks of documents apply)."""
    item = SubjectRequestCorrespondence(
        request=subject_request,
        file=upload,
        uploaded_by=actor if actor is not None and actor.is_authenticated else None,
    )
    item.full_clean()
    item.save()
    _audit(subject_request, AuditEvent.Action.CORRESPONDENCE_ADDED, actor, correspondence=item.pk)
    return item
