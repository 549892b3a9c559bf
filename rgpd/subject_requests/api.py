"""REST API of the register: ``/api/rgpd/requests/`` (thin callers of ``services`` and ``selectors``).

Same authentication (token or session) as the other RGPD endpoints; the right is the register's people's
(``access``: "RGPD Contacts Clients"), another population's is refused. A broken rule answers
400 in the API's one error format, naming the field in ``errors``; an unknown id answers 404.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api import schema
from ..api.fields import DatabaseIdListField
from ..api.pagination import BoundedLimitOffsetPagination
from . import clock
from .access import HasRegisterRight
from .models import CONTACTS_POPULATION, ErasureOutcome, SubjectRequest
from .selectors import subject_requests_overdue
from .services import subject_request_answer, subject_request_extend, subject_request_record


class ErasureOutcomeSerializer(serializers.Serializer):
    contact = serializers.IntegerField(source="subject_id")
    outcome = serializers.ChoiceField(choices=ErasureOutcome.choices)
    kept_because = serializers.CharField(help_text="The legal hold's reason, when kept.")
    kept_until = serializers.DateField(allow_null=True, help_text="The legal hold's end date, when kept.")


class SubjectRequestSerializer(serializers.ModelSerializer):
    contacts = serializers.SerializerMethodField()
    days_left = serializers.SerializerMethodField()
    erasure_outcomes = ErasureOutcomeSerializer(
        source="outcomes",
        many=True,
        read_only=True,
        help_text="An answered erasure request: each contact anonymised, or kept under a legal hold and why.",
    )

    class Meta:
        model = SubjectRequest
        fields = [
            "id",
            "kind",
            "channel",
            "status",
            "received_on",
            "due_on",
            "days_left",
            "contacts",
            "extension_months",
            "extension_reason",
            "extension_informed_on",
            "paused_since",
            "paused_days",
            "answered_on",
            "answered_on_time",
            "refusal_reason",
            "erasure_outcomes",
            "created_at",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField(), help_text="Contact ids."))
    def get_contacts(self, obj: SubjectRequest) -> list[int]:
        return [p.subject_id for p in obj.people.all() if p.population == CONTACTS_POPULATION]

    @extend_schema_field(
        serializers.IntegerField(
            allow_null=True, help_text="Days until due_on (negative once overdue); null once closed."
        )
    )
    def get_days_left(self, obj: SubjectRequest) -> int | None:
        return obj.days_left(timezone.localdate())


class SubjectRequestCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SubjectRequest.Kind.choices)
    received_on = serializers.DateField()
    contacts = DatabaseIdListField()
    channel = serializers.ChoiceField(choices=SubjectRequest.Channel.choices, required=False)


class SubjectRequestExtendSerializer(serializers.Serializer):
    months = serializers.ChoiceField(choices=[(m, m) for m in range(1, clock.MAX_EXTENSION_MONTHS + 1)])
    reason = serializers.CharField(max_length=2000)
    # The date the person was told of the extension and its reason; today when not given.
    informed_on = serializers.DateField(required=False)


SUBJECT_REQUEST_EXAMPLE = {
    "id": 3,
    "kind": "access",
    "channel": "email",
    "status": "received",
    "received_on": "2026-11-30",
    "due_on": "2026-12-30",
    "days_left": 29,
    "contacts": [41],
    "extension_months": 0,
    "extension_reason": "",
    "extension_informed_on": None,
    "paused_since": None,
    "paused_days": 0,
    "answered_on": None,
    "answered_on_time": None,
    "refusal_reason": "",
    "erasure_outcomes": [],
    "created_at": "2026-11-30T10:00:00+01:00",
}
EXTENDED_EXAMPLE = {
    **SUBJECT_REQUEST_EXAMPLE,
    "due_on": "2027-03-01",
    "days_left": 90,
    "extension_months": 2,
    "extension_reason": "Twelve years of correspondence to gather.",
    "extension_informed_on": "2026-12-01",
}
ANSWERED_EXAMPLE = {
    **SUBJECT_REQUEST_EXAMPLE,
    "kind": "erasure",
    "status": "answered",
    "days_left": None,
    "answered_on": "2026-12-10",
    "answered_on_time": True,
    "erasure_outcomes": [
        {"contact": 41, "outcome": "kept", "kept_because": "obligation fiscale", "kept_until": "2032-12-31"}
    ],
}
EXTEND_REFUSED = schema.error_response(
    "The body is not valid, or the rule refuses it (a closed or already extended request, the person "
    "told too late); nothing was changed.",
    "This request has already been extended.",
    "invalid",
    schema.ValidationErrorSerializer,
    errors={"months": ["This request has already been extended."]},
)
OVERDUE_REFUSED = schema.error_response(
    "overdue is neither true nor false.",
    "Use overdue=true or overdue=false.",
    "invalid",
    schema.ValidationErrorSerializer,
    errors={"overdue": ["Use overdue=true or overdue=false."]},
)


def _answer(description: str, example_name: str, example: dict) -> OpenApiResponse:
    return OpenApiResponse(
        SubjectRequestSerializer,
        description=description,
        examples=[OpenApiExample(example_name, value=example, response_only=True)],
    )


def _requests():
    return SubjectRequest.objects.prefetch_related("people", "outcomes").order_by("due_on", "id")


def _rule_broken(exc: DjangoValidationError) -> serializers.ValidationError:
    """The service's refusal as the API's 400 (``rgpd/api/errors.py`` gives it the one error format)."""
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    return serializers.ValidationError(detail, code=getattr(exc, "code", None) or "invalid")


class SubjectRequestListCreate(APIView):
    """GET: the register (``?overdue=true``: only overdue requests). POST: record a request (201)."""

    permission_classes = [IsAuthenticated, HasRegisterRight]

    @extend_schema(
        summary="List the register of requests",
        description="The data subjects' requests, the nearest due date first.",
        operation_id="requests_list",
        parameters=[
            OpenApiParameter(
                "overdue",
                str,
                enum=["true", "false"],
                description="true: only the open requests past their due date; false: all the others.",
            ),
            *schema.page_parameters(),
        ],
        responses={200: schema.page_of(SubjectRequestSerializer), 400: OVERDUE_REFUSED, **schema.READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        queryset = _requests()
        overdue = request.query_params.get("overdue")
        if overdue is not None:
            if overdue not in ("true", "false"):
                raise serializers.ValidationError({"overdue": [_("Use overdue=true or overdue=false.")]})
            late = subject_requests_overdue(timezone.localdate(), queryset)
            queryset = late if overdue == "true" else queryset.exclude(pk__in=late.values("pk"))
        paginator = BoundedLimitOffsetPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(SubjectRequestSerializer(page, many=True).data)

    @extend_schema(
        summary="Record a request",
        description="Records a data subject's request received on `received_on` about the contacts named; "
        "the answer gives its legal due date (`due_on`, one month, moved to the next working day).",
        operation_id="requests_create",
        request=SubjectRequestCreateSerializer,
        parameters=[schema.location_header()],
        responses={201: _answer("Recorded.", "recorded", SUBJECT_REQUEST_EXAMPLE), **schema.CREATE_ERRORS},
        examples=[
            OpenApiExample(
                "access by email",
                value={"kind": "access", "received_on": "2026-11-30", "contacts": [41], "channel": "email"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        payload = SubjectRequestCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            subject_request = subject_request_record(
                kind=data["kind"],
                received_on=data["received_on"],
                contact_ids=data["contacts"],
                channel=data.get("channel", SubjectRequest.Channel.OTHER),
                actor=request.user,
            )
        except DjangoValidationError as exc:
            raise _rule_broken(exc) from exc
        location = reverse("rgpd_api:request-detail", args=[subject_request.pk])
        body = SubjectRequestSerializer(_requests().get(pk=subject_request.pk)).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})


class SubjectRequestDetail(APIView):
    permission_classes = [IsAuthenticated, HasRegisterRight]

    @extend_schema(
        summary="One request of the register",
        operation_id="requests_retrieve",
        responses={200: _answer("The request.", "received", SUBJECT_REQUEST_EXAMPLE), **schema.DETAIL_ERRORS},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(SubjectRequestSerializer(get_object_or_404(_requests(), pk=pk)).data)


class SubjectRequestAnswerSerializer(serializers.Serializer):
    # The date the answer was sent; today when not given.
    answered_on = serializers.DateField(required=False)


ANSWER_REFUSED = schema.error_response(
    "The rule refuses it: the request is not in progress, or it is an erasure whose people are neither "
    "anonymised nor under a legal hold; nothing was changed.",
    "An erasure request is answered once its people are anonymised or kept under a legal hold that says "
    "why. Still to do: contacts n° 41.",
    "invalid",
    schema.ValidationErrorSerializer,
    errors={"contacts": ["An erasure request is answered once its people are anonymised or kept…"]},
)


class SubjectRequestAnswer(APIView):
    """POST ``{"answered_on": "…"}``: close the request as answered (an erasure: once its people are done)."""

    permission_classes = [IsAuthenticated, HasRegisterRight]

    @extend_schema(
        summary="Close a request as answered",
        description="Records the answer's date and whether it was on time. An erasure request (Art. 17) is "
        "answered only once each of its contacts is anonymised or under a legal hold in force; the answer "
        "then keeps what was kept and why.",
        operation_id="requests_answer",
        request=SubjectRequestAnswerSerializer,
        responses={
            200: _answer("Answered: the request, closed.", "answered", ANSWERED_EXAMPLE),
            400: ANSWER_REFUSED,
            **schema.DETAIL_ERRORS,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        subject_request = get_object_or_404(SubjectRequest, pk=pk)
        payload = SubjectRequestAnswerSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            subject_request_answer(
                subject_request=subject_request,
                answered_on=payload.validated_data.get("answered_on") or timezone.localdate(),
                actor=request.user,
            )
        except DjangoValidationError as exc:
            raise _rule_broken(exc) from exc
        return Response(SubjectRequestSerializer(_requests().get(pk=pk)).data)


class SubjectRequestExtend(APIView):
    """POST ``{"months": 1|2, "reason": "…"}``: extend the deadline; answers the request and its due_on."""

    permission_classes = [IsAuthenticated, HasRegisterRight]

    @extend_schema(
        summary="Extend a request's deadline",
        description="Art. 12(3): by one or two further months, once, with the reason the person was told of "
        "within the first month (`informed_on`, today when not given).",
        operation_id="requests_extend",
        request=SubjectRequestExtendSerializer,
        responses={
            200: _answer("Extended: the request with its new due_on.", "extended", EXTENDED_EXAMPLE),
            400: EXTEND_REFUSED,
            **schema.DETAIL_ERRORS,
        },
        examples=[
            OpenApiExample(
                "two months",
                value={
                    "months": 2,
                    "reason": "Twelve years of correspondence to gather.",
                    "informed_on": "2026-12-01",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, pk: int) -> Response:
        subject_request = get_object_or_404(SubjectRequest, pk=pk)
        payload = SubjectRequestExtendSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            subject_request_extend(
                subject_request=subject_request,
                months=int(data["months"]),
                reason=data["reason"],
                informed_on=data.get("informed_on") or timezone.localdate(),
                actor=request.user,
            )
        except DjangoValidationError as exc:
            raise _rule_broken(exc) from exc
        return Response(SubjectRequestSerializer(_requests().get(pk=pk)).data)
