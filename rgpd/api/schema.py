"""What the OpenAPI schema says beyond the views' own serializers: the error body, the answers built as
plain dicts (anonymisations), the export list's page, and the error answers each endpoint can give.

These serializers only describe; the views build the answers (``rgpd/api/errors.py`` the errors).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from ..models import AnonymisationRequest, AnonymisationSubject
from ..services.anonymisation import Reason

ERROR_CODES_HELP = (
    "A stable code for programs: invalid, too_many, invalid_ids, unknown_contacts, not_authenticated, "
    "authentication_failed, permission_denied, not_found, file_missing, expired, not_ready, "
    "method_not_allowed, parse_error, unsupported_media_type, throttled…"
)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, for a person (in the request's language).")
    code = serializers.CharField(help_text=ERROR_CODES_HELP)


# Built inline: a Serializer subclass cannot declare a field named "errors" (it is a Serializer property).
ValidationErrorSerializer = inline_serializer(
    name="ValidationError",
    fields={
        "detail": serializers.CharField(help_text="The first message, for a person."),
        "code": serializers.CharField(help_text=ERROR_CODES_HELP),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="The messages per field of the request's body (non_field_errors: the body as a "
            "whole); absent when the body is not JSON at all (code parse_error).",
        ),
        "unknown_ids": serializers.ListField(
            child=serializers.IntegerField(),
            required=False,
            help_text="Export only: the contact ids that do not exist.",
        ),
    },
)


def error_response(
    description: str, detail: str, code: str, serializer=ErrorSerializer, **extra
) -> OpenApiResponse:
    example = OpenApiExample(code, value={"detail": detail, "code": code, **extra}, response_only=True)
    return OpenApiResponse(serializer, description=description, examples=[example])


INVALID_IDS = "Not valid ids: 0, abc. An id is a whole number from 1 to 9223372036854775807."
BAD_REQUEST = error_response(
    "The body is not valid; nothing was done.",
    INVALID_IDS,
    "invalid_ids",
    ValidationErrorSerializer,
    errors={"contacts": [INVALID_IDS]},
)
UNAUTHENTICATED = error_response(
    "No token, or a wrong one (the answer carries `WWW-Authenticate: Token`).",
    "Invalid token.",
    "authentication_failed",
)
FORBIDDEN = error_response(
    'The caller does not hold the right "RGPD Contacts Clients".',
    "You do not have permission to perform this action.",
    "permission_denied",
)
NOT_FOUND = error_response("Nothing has this id.", "Not found.", "not_found")
THROTTLED = error_response(
    "Too many requests, or too many wrong tokens from this address; `Retry-After` says when to try again.",
    "Request was throttled. Expected available in 60 seconds.",
    "throttled",
)
READ_ERRORS = {401: UNAUTHENTICATED, 403: FORBIDDEN, 429: THROTTLED}
DETAIL_ERRORS = {**READ_ERRORS, 404: NOT_FOUND}
CREATE_ERRORS = {**READ_ERRORS, 400: BAD_REQUEST}
DOWNLOAD_ERRORS = {
    **DETAIL_ERRORS,
    404: error_response(
        "No such archive, or its file is missing from the storage.",
        "This file is missing from the storage: it cannot be downloaded. Tell an administrator.",
        "file_missing",
    ),
    409: error_response("The archive is not built yet.", "This archive is not ready.", "not_ready"),
    410: error_response(
        "The archive has expired and has been deleted.",
        "This archive has expired and has been deleted.",
        "expired",
    ),
}


# --- Anonymisations (answered as plain dicts by rgpd.api.anonymisations) ---------------------------
class AnonymisationCountsSerializer(serializers.Serializer):
    contacts = serializers.IntegerField(help_text="Contacts asked for.")
    processed = serializers.IntegerField()
    anonymised = serializers.IntegerField()
    skipped = serializers.IntegerField()


class AnonymisationResultSerializer(serializers.Serializer):
    contact = serializers.IntegerField(help_text="The contact id as sent.")
    result = serializers.ChoiceField(choices=AnonymisationSubject.Result.choices)
    reason = serializers.ChoiceField(
        choices=[reason.value for reason in Reason], required=False, help_text="When skipped: why."
    )
    message = serializers.CharField(required=False, help_text="When skipped: the reason, for a person.")
    files_deleted = serializers.BooleanField(
        required=False, help_text="When anonymised: whether its stored files are already deleted."
    )


class AnonymisationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=AnonymisationRequest.Status.choices)
    created_at = serializers.DateTimeField()
    url = serializers.URLField(help_text="This request in the API: poll it while status is not done.")
    result_page = serializers.URLField(help_text="This request's page in the back office.")
    counts = AnonymisationCountsSerializer()
    awaiting_broker = serializers.BooleanField(help_text="The queue was unreachable; it is sent again.")
    results = AnonymisationResultSerializer(many=True)
    message = serializers.CharField(required=False, help_text="Only while the queue is unreachable.")


ANONYMISATION_EXAMPLE = {
    "id": 12,
    "status": "done",
    "created_at": "2026-11-30T10:00:00+01:00",
    "url": "https://rgpd.example.com/api/rgpd/anonymisations/12/",
    "result_page": "https://rgpd.example.com/admin/rgpd/anonymisationrequest/12/change/",
    "counts": {"contacts": 2, "processed": 2, "anonymised": 1, "skipped": 1},
    "awaiting_broker": False,
    "results": [
        {"contact": 41, "result": "anonymised", "files_deleted": True},
        {
            "contact": 42,
            "result": "skipped",
            "reason": "not_exported",
            "message": "No archive has been generated for this contact: export the data first.",
        },
    ],
}

EXPORT_EXAMPLE = {
    "id": 7,
    "status": "ready",
    "progress": {"percent": 100, "parts_done": 1, "parts_total": 1},
    "requested_by": "rgpd",
    "created_at": "2026-11-30T10:00:00+01:00",
    "language": "fr",
    "subject_count": 2,
    "part_count": 1,
    "expires_at": "2026-12-10T10:00:05+01:00",
    "notified_at": "2026-11-30T10:00:06+01:00",
    "awaiting_broker": False,
    "parts": [
        {
            "number": 1,
            "status": "ready",
            "has_warnings": False,
            "missing_file_count": 0,
            "subject_count": 2,
            "size": 48213,
            "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "error": "",
            "ready_at": "2026-11-30T10:00:05+01:00",
            "expires_at": "2026-12-10T10:00:05+01:00",
            "download_url": "https://rgpd.example.com/api/rgpd/exports/7/parts/1/download/",
        }
    ],
}

EXPORT_ACCEPTED_EXAMPLE = {
    **EXPORT_EXAMPLE,
    "status": "pending",
    "progress": {"percent": 0, "parts_done": 0, "parts_total": 1},
    "expires_at": None,
    "notified_at": None,
    "parts": [],
}


def page_of(serializer: type[serializers.Serializer]) -> serializers.Serializer:
    """A LimitOffsetPagination page of ``serializer`` (the list views are plain APIViews)."""
    return inline_serializer(
        name=f"Paginated{serializer.__name__.removesuffix('Serializer')}List",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer(many=True),
        },
    )


def page_parameters() -> list[OpenApiParameter]:
    """``limit`` and ``offset`` of a list endpoint (``rgpd.api.pagination``)."""
    return [
        OpenApiParameter("limit", OpenApiTypes.INT, description="Page size (default 50, at most 500)."),
        OpenApiParameter("offset", OpenApiTypes.INT, description="Index of the first item returned."),
    ]


def location_header() -> OpenApiParameter:
    return OpenApiParameter(
        "Location",
        OpenApiTypes.URI,
        OpenApiParameter.HEADER,
        response=[201, 202],
        description="The new request's address in the API.",
    )
