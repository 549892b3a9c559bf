"""``{% rgpd_workers_state %}``: the workers' state panel, rendered for superusers only."""

from __future__ import annotations

from django import template

from ..services.workers_state import workers_state

register = template.Library()


@register.inclusion_tag("admin/rgpd/workers_state.html", takes_context=True)
def rgpd_workers_state(context: template.Context) -> dict[str, object]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_superuser:
        return {"state": None}
    return {"state": workers_state()}
