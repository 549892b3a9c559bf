"""The retention sweep (Art. 5(1)(e) GDPR, storage limitation): people inactive for too long.

A population declares the date field of its people's last activity (``Population.last_activity_field``,
"dernier contact" for client contacts). Those whose last activity is older than ``RGPD_INACTIVITY_YEARS``
(the CNIL's reference for client and prospect files is three years), not anonymised and not under a legal
hold in force, are listed "À examiner — durée de conservation dépassée" on the RGPD page. Nothing is
anonymised from here: the officer exports then anonymises them through the usual confirmations.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .filters import ANONYMISED_AT_FIELD
from .legal_holds.selectors import legal_holds_active
from .populations import Population, population_of
from .subject_requests.clock import add_months

PARAMETER = "retention"
PAST = "past"


def inactivity_cutoff(today: date | None = None) -> date:
    """The last activity before this day is too old: ``RGPD_INACTIVITY_YEARS`` years before today."""
    return add_months(today or timezone.localdate(), -12 * settings.RGPD_INACTIVITY_YEARS)


def past_retention(queryset: QuerySet, *, today: date | None = None) -> QuerySet:
    """The people of ``queryset`` inactive beyond the limit, not anonymised, not under a legal hold."""
    population = population_of(queryset.model)
    field = population.last_activity_field
    if not field:
        return queryset.none()
    today = today or timezone.localdate()
    held = legal_holds_active(today).filter(population=population.key, subject_id=OuterRef("pk"))
    return queryset.filter(
        **{f"{field}__lt": inactivity_cutoff(today), f"{ANONYMISED_AT_FIELD}__isnull": True}
    ).filter(~Exists(held))


def past_retention_count(population: Population, *, today: date | None = None) -> int:
    return past_retention(population.model._default_manager.all(), today=today).count()


def past_retention_url(population: Population) -> str:
    return f"{population.changelist_url()}?{PARAMETER}={PAST}"


class RetentionListFilter(admin.SimpleListFilter):
    """The RGPD page's list "À examiner — durée de conservation dépassée"."""

    title = _("retention period")
    parameter_name = PARAMETER

    def lookups(self, request, model_admin):
        return [(PAST, _("To review — retention period exceeded"))]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() == PAST:
            return past_retention(queryset)
        return queryset
