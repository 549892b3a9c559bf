"""The page shown when django-axes refuses a login (too many wrong passwords): the admin's look, 429."""

from __future__ import annotations

import math

from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: tell the person how long to wait, in their language, and the client too."""
    cool_off_seconds = int(get_cool_off(request).total_seconds())
    response = render(
        request,
        "admin/login_locked.html",
        {"minutes": max(1, math.ceil(cool_off_seconds / 60))},
        status=429,
    )
    response["Retry-After"] = str(cool_off_seconds)
    return response
