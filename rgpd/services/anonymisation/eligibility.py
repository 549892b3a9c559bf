"""Who may be anonymised, and why not: reason codes and their messages."""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum
from typing import Protocol, cast

from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ...filters import ANONYMISED_AT_FIELD
from ...populations import Population
from ...selectors import annotate_anonymisation_eligibility


class Reason(StrEnum):
    """Why a contact was not anonymised (stored on the request's result rows and in the audit log)."""

    NOT_FOUND = "not_found"
    ALREADY_ANONYMISED = "already_anonymised"
    LEGAL_HOLD = "legal_hold"
    EXPORT_IN_PROGRESS = "export_in_progress"
    ARCHIVE_EXPIRED = "archive_expired"
    NOT_EXPORTED = "not_exported"
    VERIFICATION_FAILED = "verification_failed"
    ERROR = "error"


REASON_MESSAGES = {
    Reason.NOT_FOUND: _("No contact has this id."),
    Reason.ALREADY_ANONYMISED: _("This contact has already been anonymised."),
    Reason.LEGAL_HOLD: _(
        "This contact's data is kept under a legal hold: it cannot be anonymised before the hold ends."
    ),
    Reason.EXPORT_IN_PROGRESS: _(
        "An export of this contact is still being generated: wait until its archive is ready."
    ),
    Reason.ARCHIVE_EXPIRED: _("The archive of this contact has expired: export the data again first."),
    Reason.NOT_EXPORTED: _("No archive has been generated for this contact: export the data first."),
    Reason.VERIFICATION_FAILED: _(
        "The check after anonymisation found a former value: nothing was changed for this contact."
    ),
    Reason.ERROR: _("An unexpected error occurred: nothing was changed for this contact."),
}


def reason_message(reason: str, population: Population | None = None) -> str:
    """The message of a reason code, in the population's wording when it declares one."""
    if population is not None and reason in population.refusal_messages:
        return str(population.refusal_messages[reason])
    try:
        return str(REASON_MESSAGES[Reason(reason)])
    except ValueError:
        return reason


class AnonymisationNotConfirmed(Exception):
    """The caller did not confirm (checkbox / ``"confirm": true``): nothing is done."""


# --- Eligibility --------------------------------------------------------------------------------


def _reason(
    *, anonymised: bool, export_in_progress: bool, ready: bool, expired: bool, held: bool = False
) -> Reason | None:
    if anonymised:
        return Reason.ALREADY_ANONYMISED
    if held:
        return Reason.LEGAL_HOLD
    if export_in_progress:
        return Reason.EXPORT_IN_PROGRESS
    if ready:
        return None
    return Reason.ARCHIVE_EXPIRED if expired else Reason.NOT_EXPORTED


class _EligibilityAnnotations(Protocol):
    """What ``annotate_anonymisation_eligibility`` adds to each row."""

    has_export_in_progress: bool
    has_ready_archive: bool
    has_expired_archive: bool
    has_legal_hold: bool


def refusal_reason(contact: models.Model) -> Reason | None:
    """Why ``contact`` (annotated by ``annotate_anonymisation_eligibility``) cannot be anonymised, if so."""
    annotated = cast(_EligibilityAnnotations, contact)
    return _reason(
        anonymised=getattr(contact, ANONYMISED_AT_FIELD) is not None,
        export_in_progress=annotated.has_export_in_progress,
        ready=annotated.has_ready_archive,
        expired=annotated.has_expired_archive,
        held=annotated.has_legal_hold,
    )


def _reasons_for(queryset: QuerySet, among: Collection[int] | None = None) -> list[tuple[int, Reason | None]]:
    """(id, reason) of every contact of ``queryset`` (limited to the ids ``among``, when known), in its
    order, in one query."""
    rows = annotate_anonymisation_eligibility(queryset, among=among).values_list(
        "pk",
        ANONYMISED_AT_FIELD,
        "has_export_in_progress",
        "has_ready_archive",
        "has_expired_archive",
        "has_legal_hold",
    )
    return [
        (pk, _reason(anonymised=at is not None, export_in_progress=busy, ready=ready, expired=old, held=held))
        for pk, at, busy, ready, old, held in rows.iterator(chunk_size=2000)
    ]
