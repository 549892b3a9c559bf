"""An erasure request (Art. 17) is answered once each of its people is anonymised, or kept under a legal
hold that says why (Art. 17(3)); the answer records, person by person, what was kept and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from gdpr_portal.ids import ids_summary

from ..filters import ANONYMISED_AT_FIELD
from ..legal_holds.selectors import legal_holds_of
from ..populations import population
from .models import ErasureOutcome, SubjectRequest, SubjectRequestOutcome


@dataclass(frozen=True)
class PersonErasure:
    """Where one person of an erasure request stands: ``outcome`` is "" while nothing answers for them."""

    population: str
    subject_id: int
    outcome: str
    kept_because: str = ""
    kept_until: date | None = None

    @property
    def outcome_label(self) -> str:
        return str(ErasureOutcome(self.outcome).label) if self.outcome else str(_("to do"))


def erasure_state(subject_request: SubjectRequest, *, today: date) -> list[PersonErasure]:
    """Each person of the request: anonymised, kept (the hold in force that ends last), gone, or to do."""
    states = []
    by_population: dict[str, list[int]] = {}
    for person in subject_request.people.all():
        by_population.setdefault(person.population, []).append(person.subject_id)
    for key, ids in by_population.items():
        model = population(key).model
        anonymised = dict(model._default_manager.filter(pk__in=ids).values_list("pk", ANONYMISED_AT_FIELD))
        holds = {}
        for hold in legal_holds_of(key, ids, today).order_by("ends_on"):
            holds[hold.subject_id] = hold  # the one ending last wins
        for subject_id in ids:
            if subject_id not in anonymised:
                states.append(PersonErasure(key, subject_id, ErasureOutcome.GONE))
            elif anonymised[subject_id] is not None:
                states.append(PersonErasure(key, subject_id, ErasureOutcome.ANONYMISED))
            elif subject_id in holds:
                hold = holds[subject_id]
                states.append(
                    PersonErasure(key, subject_id, ErasureOutcome.KEPT, hold.explanation, hold.ends_on)
                )
            else:
                states.append(PersonErasure(key, subject_id, ""))
    return states


def erasure_answer_check(subject_request: SubjectRequest, *, today: date) -> list[PersonErasure]:
    """The state of an erasure request's people, or a ``ValidationError`` naming those left to do."""
    states = erasure_state(subject_request, today=today)
    left = [state.subject_id for state in states if not state.outcome]
    if left:
        raise ValidationError(
            {
                "contacts": _(
                    "An erasure request is answered once its people are anonymised or kept under a legal "
                    "hold that says why. Still to do: contacts n° %(ids)s."
                )
                % {"ids": ids_summary(left)}
            },
            code="erasure_not_done",
        )
    return states


def erasure_outcomes_record(subject_request: SubjectRequest, states: list[PersonErasure]) -> None:
    """Keep the answer as given: what was anonymised, what was kept, why and until when."""
    SubjectRequestOutcome.objects.filter(request=subject_request).delete()
    SubjectRequestOutcome.objects.bulk_create(
        SubjectRequestOutcome(
            request=subject_request,
            population=state.population,
            subject_id=state.subject_id,
            outcome=state.outcome,
            kept_because=state.kept_because,
            kept_until=state.kept_until,
        )
        for state in states
    )
