"""REST API of exports: ``/api/rgpd/exports/`` (thin callers of ``rgpd.services.exports``).

Session or token authentication (``Authorization: Token …``); the same right as the RGPD page.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import get_language
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gdpr_portal.throttling import CreationThrottle

from ..models import ExportPart, ExportRequest
from ..permissions import HasRgpdRight, holds_rgpd_right
from ..selectors import export_request_progress, export_requests_visible_to, export_requests_with_progress
from ..services import dispatch
from ..services.exports import export_request_create
from ..views.exports import download_part
from . import schema
from .errors import invalid_subjects
from .pagination import BoundedLimitOffsetPagination
from .people import PeopleSerializer


class ExportPartSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportPart
        fields = [
            "number",
            "status",
            "has_warnings",
            "missing_file_count",
            "subject_count",
            "size",
            "sha256",
            "error",
            "ready_at",
            "expires_at",
            "download_url",
        ]

    @extend_schema_field(serializers.URLField(allow_null=True, help_text="Null until the part is ready."))
    def get_download_url(self, part: ExportPart) -> str | None:
        if part.status != ExportPart.Status.READY:
            return None
        path = reverse("rgpd_api:export-part-download", args=[part.request_id, part.number])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class ExportProgressSerializer(serializers.Serializer):
    percent = serializers.IntegerField(min_value=0, max_value=100)
    parts_done = serializers.IntegerField()
    parts_total = serializers.IntegerField()


class ExportRequestSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    expires_at = serializers.SerializerMethodField()
    requested_by: serializers.SlugRelatedField[AbstractBaseUser] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="Login of the user who asked."
    )
    parts = ExportPartSerializer(many=True, read_only=True)

    class Meta:
        model = ExportRequest
        fields = [
            "id",
            "status",
            "progress",
            "requested_by",
            "created_at",
            "language",
            "subject_count",
            "part_count",
            "expires_at",
            "notified_at",
            "awaiting_broker",
            "parts",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=ExportRequest.Status.choices))
    def get_status(self, obj: ExportRequest) -> str:
        return export_request_progress(obj).status

    @extend_schema_field(ExportProgressSerializer)
    def get_progress(self, obj: ExportRequest) -> dict:
        progress = export_request_progress(obj)
        return {"percent": progress.percent, "parts_done": progress.done, "parts_total": progress.total}

    @extend_schema_field(serializers.DateTimeField(allow_null=True, help_text="When the first part expires."))
    def get_expires_at(self, obj: ExportRequest):
        expires_at = export_request_progress(obj).expires_at
        return serializers.DateTimeField().to_representation(expires_at) if expires_at else None


class ExportCreatedSerializer(ExportRequestSerializer):
    message = serializers.CharField(required=False, help_text="Only while the queue is unreachable.")

    class Meta(ExportRequestSerializer.Meta):
        fields = [*ExportRequestSerializer.Meta.fields, "message"]


def _requests(request: Request):
    return (
        export_requests_with_progress(export_requests_visible_to(request.user))
        .select_related("requested_by")
        .prefetch_related("parts")
    )


class ExportRequestListCreate(APIView):
    """GET: the export requests visible to the caller. POST ``{"contacts": [ids]}`` (any population's
    API key): start an export (202)."""

    permission_classes = [IsAuthenticated, HasRgpdRight]
    pagination_class = BoundedLimitOffsetPagination
    throttle_classes = [CreationThrottle]
    throttle_scope = "rgpd_exports"

    @extend_schema(
        summary="List export requests",
        operation_id="exports_list",
        parameters=schema.page_parameters(),
        responses={200: schema.page_of(ExportRequestSerializer), **schema.READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(_requests(request), request, view=self)
        return paginator.get_paginated_response(
            ExportRequestSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        summary="Start an export",
        description="Builds one archive (in parts) of the contacts' data and documents; poll the answer's "
        "request until its status is ready, then download each part.",
        request=PeopleSerializer,
        parameters=[schema.location_header()],
        responses={
            202: OpenApiResponse(
                ExportCreatedSerializer,
                description="Accepted: the archive is being built.",
                examples=[
                    OpenApiExample(
                        "accepted",
                        value=schema.EXPORT_ACCEPTED_EXAMPLE,
                        response_only=True,
                    )
                ],
            ),
            **schema.CREATE_ERRORS,
        },
        examples=[OpenApiExample("two contacts", value={"contacts": [41, 42]}, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        payload = PeopleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        population = payload.validated_data["population"]
        if not holds_rgpd_right(request.user, population):
            raise PermissionDenied
        try:
            export_request = export_request_create(
                population=population,
                subject_ids=payload.validated_data["subject_ids"],
                actor=request.user,
                language=get_language(),
            )
        except DjangoValidationError as exc:  # unknown ids (named in unknown_ids), nothing to export…
            raise invalid_subjects(population.api_key, exc) from exc
        data = ExportRequestSerializer(
            _requests(request).get(pk=export_request.pk), context={"request": request}
        ).data
        if export_request.awaiting_broker:
            data["message"] = str(dispatch.QUEUED_NOTICE)
        location = reverse("rgpd_api:export-detail", args=[export_request.pk])
        return Response(data, status=202, headers={"Location": location})


class ExportRequestDetail(APIView):
    permission_classes = [IsAuthenticated, HasRgpdRight]

    @extend_schema(
        summary="One export request",
        responses={
            200: OpenApiResponse(
                ExportRequestSerializer,
                examples=[OpenApiExample("ready", value=schema.EXPORT_EXAMPLE, response_only=True)],
            ),
            **schema.DETAIL_ERRORS,
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        export_request = get_object_or_404(_requests(request), pk=pk)
        return Response(ExportRequestSerializer(export_request, context={"request": request}).data)


class ExportPartDownload(APIView):
    """302 to a presigned URL (S3) or the streamed archive; 410 once expired; audited."""

    permission_classes = [IsAuthenticated, HasRgpdRight]

    @extend_schema(
        summary="Download a part of an export",
        description="Audited. On S3 storage a 302 to a presigned URL valid 5 minutes; else the ZIP itself.",
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The archive (ZIP)."),
            302: OpenApiResponse(description="Redirect to the archive's presigned URL (`Location`)."),
            **schema.DOWNLOAD_ERRORS,
        },
    )
    def get(self, request: Request, pk: int, number: int):
        return download_part(request, request_id=pk, number=number, channel="api")
