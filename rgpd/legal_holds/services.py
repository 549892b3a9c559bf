"""Writes on legal holds: place one, change it (ending it early is moving its end date), audited by ids."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..filters import ANONYMISED_AT_FIELD
from ..models import AuditEvent
from ..populations import population
from ..services.audit import audit_record
from .models import LegalHold


def legal_hold_check(hold: LegalHold, *, today: date | None = None) -> None:
    """The rules of a hold, as a ``ValidationError`` keyed by the field at fault."""
    today = today or timezone.localdate()
    errors: dict[str, str] = {}
    try:
        person = _person(hold)
    except LookupError:
        errors["population"] = str(_("No population is declared under this key."))
    else:
        if hold.subject_id is not None and person is None:
            errors["subject_id"] = str(_("No person has this number."))
        elif hold.pk is None and person is not None and person[ANONYMISED_AT_FIELD] is not None:
            errors["subject_id"] = str(
                _("This person is anonymised: nothing is left to keep under a legal hold.")
            )
    if hold.reason == LegalHold.Reason.OTHER and not hold.reason_text.strip():
        errors["reason_text"] = str(_("Explain the reason: the answer to an erasure request quotes it."))
    if hold.pk is None and hold.ends_on is not None and hold.ends_on <= today:
        errors["ends_on"] = str(_("A new hold ends after today."))
    if errors:
        raise ValidationError(errors, code="invalid_hold")


def _person(hold: LegalHold, *, lock: bool = False) -> dict | None:
    """The anonymisation date of the hold's person ({ANONYMISED_AT_FIELD: ...}), None when no one has its
    number; LookupError for an unknown population."""
    rows = population(hold.population).model._default_manager.filter(pk=hold.subject_id)
    return (rows.select_for_update() if lock else rows).values(ANONYMISED_AT_FIELD).first()


def legal_hold_person_anonymised(hold: LegalHold, *, lock: bool = False) -> bool:
    """Whether the hold's person is anonymised; with ``lock``, read under the lock an anonymisation takes
    first (its person's row): one committing meanwhile is seen, one starting after waits for the caller."""
    try:
        person = _person(hold, lock=lock)
    except LookupError:
        return False
    return person is not None and person[ANONYMISED_AT_FIELD] is not None


@transaction.atomic
def legal_hold_save(*, hold: LegalHold, actor, today: date | None = None) -> LegalHold:
    """Place ``hold`` (new) or record its change; audited with the person's id and the reason code."""
    legal_hold_check(hold, today=today)
    placed = hold.pk is None
    if placed and actor is not None and actor.is_authenticated:
        hold.created_by = actor
    hold.reason_text = hold.reason_text.strip()
    if not placed and legal_hold_person_anonymised(hold, lock=True):
        # The anonymisation masked details naming the person: a form opened before it cannot restore them.
        hold.reason_text = LegalHold.objects.filter(pk=hold.pk).values_list("reason_text", flat=True)[0]
    hold.save()
    audit_record(
        action=AuditEvent.Action.LEGAL_HOLD_PLACED if placed else AuditEvent.Action.LEGAL_HOLD_CHANGED,
        actor=actor,
        subject_ids=[hold.subject_id],
        details={
            "hold": hold.pk,
            "population": hold.population,
            "reason": hold.reason,
            "ends_on": hold.ends_on.isoformat(),
        },
    )
    return hold
