"""``{% subject_request_deadlines %}``: overdue and soon-due counts of the register, on the RGPD home (to
the register's right holders), and each held population's people past their retention period."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils import timezone

from ..permissions import populations_of
from ..retention import past_retention_count, past_retention_url
from ..subject_requests.access import holds_register_right
from ..subject_requests.selectors import (
    DUE_SOON_DAYS,
    MEDIAN_WINDOW_DAYS,
    subject_requests_due_soon,
    subject_requests_median_answer_days,
    subject_requests_overdue,
)

register = template.Library()


@register.inclusion_tag("rgpd/subject_request_deadlines.html", takes_context=True)
def subject_request_deadlines(context) -> dict:
    request = context.get("request")
    populations = populations_of(request.user) if request is not None else []
    if not populations:
        return {"shown": False}
    today = timezone.localdate()
    # "À examiner — durée de conservation dépassée", per population with a retention sweep.
    retention = [
        (p.heading, past_retention_count(p, today=today), past_retention_url(p))
        for p in populations
        if p.last_activity_field
    ]
    if not holds_register_right(request.user):  # the register's people are another population's
        return {"shown": bool(retention), "register": False, "retention": retention}
    changelist = reverse("admin:rgpd_subjectrequest_changelist")
    return {
        "shown": True,
        "register": True,
        "overdue": subject_requests_overdue(today).count(),
        "due_soon": subject_requests_due_soon(today).count(),
        "days": DUE_SOON_DAYS,
        "overdue_url": f"{changelist}?deadline=overdue",
        "due_soon_url": f"{changelist}?deadline=soon",
        "median_days": subject_requests_median_answer_days(today),
        "median_window": MEDIAN_WINDOW_DAYS,
        "retention": retention,
    }
