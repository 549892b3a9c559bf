"""REST API of the register: ``/api/rgpd/requests/`` (thin callers of ``services`` and ``selectors``).

Same authentication (token or session) and right as the other RGPD endpoints. A broken rule answers
400 in the API's one error format, naming the field in ``errors``; an unknown id answers 404.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api.fields import DatabaseIdListField
from ..permissions import HasRgpdRight
from . import clock
from .models import CONTACTS_POPULATION, SubjectRequest
from .selectors import subject_requests_overdue
from .services import subject_request_extend, subject_request_record


class SubjectRequestSerializer(serializers.ModelSerializer):
    contacts = serializers.SerializerMethodField()
    days_left = serializers.SerializerMethodField()

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
            "created_at",
        ]

    def get_contacts(self, obj: SubjectRequest) -> list[int]:
        return [p.subject_id for p in obj.people.all() if p.population == CONTACTS_POPULATION]

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


class SubjectRequestPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


def _requests():
    return SubjectRequest.objects.prefetch_related("people").order_by("due_on", "id")


def _rule_broken(exc: DjangoValidationError) -> serializers.ValidationError:
    """The service's refusal as the API's 400 (``rgpd/api/errors.py`` gives it the one error format)."""
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    return serializers.ValidationError(detail, code=getattr(exc, "code", None) or "invalid")


class SubjectRequestListCreate(APIView):
    """GET: the register (``?overdue=true``: only overdue requests). POST: record a request (201)."""

    permission_classes = [IsAuthenticated, HasRgpdRight]

    def get(self, request: Request) -> Response:
        queryset = _requests()
        overdue = request.query_params.get("overdue")
        if overdue is not None:
            if overdue not in ("true", "false"):
                raise serializers.ValidationError({"overdue": [_("Use overdue=true or overdue=false.")]})
            late = subject_requests_overdue(timezone.localdate(), queryset)
            queryset = late if overdue == "true" else queryset.exclude(pk__in=late.values("pk"))
        paginator = SubjectRequestPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(SubjectRequestSerializer(page, many=True).data)

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
    permission_classes = [IsAuthenticated, HasRgpdRight]

    def get(self, request: Request, pk: int) -> Response:
        return Response(SubjectRequestSerializer(get_object_or_404(_requests(), pk=pk)).data)


class SubjectRequestExtend(APIView):
    """POST ``{"months": 1|2, "reason": "…"}``: extend the deadline; answers the request and its due_on."""

    permission_classes = [IsAuthenticated, HasRgpdRight]

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
