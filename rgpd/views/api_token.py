"""The page "Mon jeton d'API" (``/admin/api-token/``): create, see the date of and revoke one's API token.

Holders of the right "RGPD Contacts Clients" only (others get a 403 saying why). The key appears once,
in the answer to the POST that created it. Superusers also see every token and may revoke anyone's.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from gdpr_portal.ids import parse_database_id

from ..permissions import holds_rgpd_right
from ..services.api_tokens import (
    api_token_create,
    api_token_of,
    api_token_revoke,
    api_tokens_for_administrators,
)


def _denied(request: HttpRequest) -> HttpResponse:
    reason = _('Only users holding the right "RGPD Contacts Clients" may have an API token.')
    context = {**admin.site.each_context(request), "reason": reason}
    return render(request, "403.html", context, status=403)


def _user(request: HttpRequest) -> User:
    # staff_member_required let only a logged-in staff member (a User) through
    assert isinstance(request.user, User)
    return request.user


def _page(request: HttpRequest, *, new_key: str | None = None) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": _("My API token"),
        "token": api_token_of(_user(request)),
        "new_key": new_key,
        "all_tokens": api_tokens_for_administrators() if request.user.is_superuser else None,
    }
    return render(request, "admin/api_token.html", context)


def _revoke_someone(request: HttpRequest) -> None:
    user_id = parse_database_id(request.POST.get("user", ""))
    owner = get_object_or_404(get_user_model(), pk=user_id) if user_id else None
    if owner is None or not api_token_revoke(user=owner):
        messages.warning(request, _("This user has no API token."))
    else:
        messages.success(request, _("The API token of %(user)s is revoked.") % {"user": owner.get_username()})


@staff_member_required
@require_http_methods(["GET", "POST"])
def api_token_page(request: HttpRequest) -> HttpResponse:
    if not holds_rgpd_right(request.user):
        return _denied(request)
    action = request.POST.get("action")
    if action == "create":
        # Shown in this answer only: the page reloaded or opened later shows the date, never the key.
        return _page(request, new_key=api_token_create(user=_user(request)))
    if action == "revoke":
        if api_token_revoke(user=_user(request)):
            messages.success(request, _("Your API token is revoked: it no longer opens the API."))
        return redirect("api-token")
    if action == "revoke_user":
        if not request.user.is_superuser:
            raise PermissionDenied
        _revoke_someone(request)
        return redirect("api-token")
    return _page(request)
