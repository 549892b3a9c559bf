"""``{% legal_holds_box person %}``: a person's legal holds and the link to add one, on their record page.

Shown only to holders of the person's population's right; the record page belongs to the population's
app, which loads this tag without the engine naming its model.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.urls import reverse

from ..filters import ANONYMISED_AT_FIELD
from ..legal_holds.models import LegalHold
from ..permissions import holds_rgpd_right
from ..populations import population_of

register = template.Library()


@register.inclusion_tag("rgpd/legal_holds_box.html", takes_context=True)
def legal_holds_box(context, person) -> dict:
    request = context.get("request")
    population = population_of(type(person))
    if request is None or not holds_rgpd_right(request.user, population):
        return {"shown": False}
    if getattr(person, ANONYMISED_AT_FIELD, None) is not None:
        return {"shown": False}  # nothing is left to keep
    query = {"population": population.key, "subject_id": person.pk, "next": request.get_full_path()}
    holds = LegalHold.objects.filter(population=population.key, subject_id=person.pk).order_by("-ends_on")
    return {
        "shown": True,
        "holds": list(holds),
        "add_url": f"{reverse('admin:rgpd_legalhold_add')}?{urlencode(query)}",
    }
