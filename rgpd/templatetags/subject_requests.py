"""``{% subject_request_deadlines %}``: overdue and soon-due counts of the register, on the RGPD home."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils import timezone

from ..permissions import holds_rgpd_right
from ..subject_requests.selectors import DUE_SOON_DAYS, subject_requests_due_soon, subject_requests_overdue

register = template.Library()


@register.inclusion_tag("rgpd/subject_request_deadlines.html", takes_context=True)
def subject_request_deadlines(context) -> dict:
    request = context.get("request")
    if request is None or not holds_rgpd_right(request.user):
        return {"shown": False}
    today = timezone.localdate()
    changelist = reverse("admin:rgpd_subjectrequest_changelist")
    return {
        "shown": True,
        "overdue": subject_requests_overdue(today).count(),
        "due_soon": subject_requests_due_soon(today).count(),
        "days": DUE_SOON_DAYS,
        "overdue_url": f"{changelist}?deadline=overdue",
        "due_soon_url": f"{changelist}?deadline=soon",
    }
