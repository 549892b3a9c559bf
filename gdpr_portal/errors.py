"""The 403 page: inside the back office's frame (header, user tools, logout), naming the missing right.

The right is told by the page that refused: the refusal's own message when it has one; else the view's
or its admin's ``required_right()``; else, on an admin page of a model, the right to view that model.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .permission_names import permission_name


def _model_admin_of(view: Any) -> Any:
    # Django's admin marks its model views; views added by an admin's get_urls wrap one of its methods.
    owner = getattr(view, "model_admin", None)
    if owner is None:
        owner = getattr(getattr(view, "__wrapped__", None), "__self__", None)
    return owner if isinstance(owner, admin.ModelAdmin) else None


def required_right(request: HttpRequest, exception: BaseException | None = None) -> str:
    """The name of the right the refused page needed, in the active language ("" when unknown)."""
    if exception is not None and exception.args and str(exception):
        return str(exception)
    match = getattr(request, "resolver_match", None)
    view = match.func if match else None
    model_admin = _model_admin_of(view)
    for holder in (view, model_admin):
        named = getattr(holder, "required_right", None)
        if callable(named):
            return str(named())
    if model_admin is None:
        return ""
    model = model_admin.model
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    permission = (
        Permission.objects.select_related("content_type")
        .filter(content_type=content_type, codename=f"view_{model._meta.model_name}")
        .first()
    )
    return permission_name(permission) if permission else ""


def permission_denied(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    context = {**admin.site.each_context(request), "required_right": required_right(request, exception)}
    return render(request, "403.html", context, status=403)
