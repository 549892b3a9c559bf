"""One error format for the whole API: ``{"detail": "...", "code": "..."}``.

``detail`` is a sentence for a person (in the request's language), ``code`` a stable word for a program.
A 400 adds ``errors``, the messages per field (``{"contacts": ["..."]}``); an export naming unknown
contacts adds ``unknown_ids``. Set as DRF's ``EXCEPTION_HANDLER``; unknown URLs under ``/api/`` answer
the same way (``api_not_found``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..services.exports import ArchiveNotAvailable, UnknownSubjectsError


class ArchiveGone(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_detail = _("This archive has expired and has been deleted.")
    default_code = "expired"


class ArchiveNotReady(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This archive is not ready.")
    default_code = "not_ready"


class ArchiveFileMissing(exceptions.NotFound):
    default_detail = _(
        "This file is missing from the storage: it cannot be downloaded. Tell an administrator."
    )
    default_code = "file_missing"


ARCHIVE_ERRORS: dict[str, type[exceptions.APIException]] = {
    "expired": ArchiveGone,
    "not_ready": ArchiveNotReady,
    "missing": ArchiveFileMissing,
}


class InvalidInput(exceptions.ValidationError):
    """A 400 naming the field, with extra members (``unknown_ids``) beside ``errors``."""

    def __init__(self, errors: dict[str, list[str]], *, code: str, **extra: Any):
        super().__init__(errors, code=code)
        self.extra = extra


def invalid_subjects(field: str, error: DjangoValidationError) -> InvalidInput:
    """The service refused the list of ids sent as ``field`` (unknown ids, nothing to export…)."""
    extra = {"unknown_ids": error.ids} if isinstance(error, UnknownSubjectsError) else {}
    code = getattr(error, "code", None) or "invalid"
    return InvalidInput({field: error.messages}, code=code, **extra)


def _messages(detail: Any) -> list[str]:
    """Every message in a DRF error detail (a string, a list or nested dicts), flattened."""
    if isinstance(detail, Mapping):
        return [message for value in detail.values() for message in _messages(value)]
    if isinstance(detail, list):
        return [message for value in detail for message in _messages(value)]
    return [str(detail)]


def _first_code(codes: Any) -> str:
    if isinstance(codes, Mapping):
        codes = next(iter(codes.values()), "invalid")
    while isinstance(codes, list | Mapping):
        codes = (list(codes.values()) if isinstance(codes, Mapping) else codes or ["invalid"])[0]
    return str(codes)


def _validation_body(exc: exceptions.ValidationError) -> dict[str, Any]:
    detail = exc.detail if isinstance(exc.detail, Mapping) else {"non_field_errors": exc.detail}
    errors = {field: _messages(value) for field, value in detail.items()}
    first = next((messages[0] for messages in errors.values() if messages), str(_("Invalid input.")))
    body: dict[str, Any] = {"detail": first, "code": _first_code(exc.get_codes()), "errors": errors}
    body.update(getattr(exc, "extra", {}))
    return body


def error_body(exc: exceptions.APIException) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        return _validation_body(exc)
    messages = _messages(exc.detail)
    code = _first_code(exc.get_codes())
    return {"detail": messages[0] if messages else str(exc.default_detail), "code": code}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler (headers such as ``WWW-Authenticate`` and ``Retry-After``), with our body."""
    if isinstance(exc, ArchiveNotAvailable):
        exc = ARCHIVE_ERRORS.get(exc.reason, ArchiveNotReady)()
    elif isinstance(exc, Http404):
        # Not get_object_or_404's English "No ExportRequest matches…": DRF's translated "Not found."
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response  # not ours to describe: Django answers 500
    response.data = error_body(exc)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt  # it changes nothing; a POST from a token client (no CSRF token) gets the JSON 404, not HTML 403
def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    """The last URL under /api/: an address that matches no endpoint answers in the API's format
    (also with ``DEBUG``, where Django's ``handler404`` would show its HTML page)."""
    response = JsonResponse(error_body(exceptions.NotFound()), status=404)
    response["Cache-Control"] = "no-store"
    return response
