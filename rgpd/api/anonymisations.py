"""REST API of anonymisation: ``POST /api/rgpd/anonymisations/`` and the request's result.

``{"contacts": [ids], "confirm": true}`` anonymises through the same service as the back office and
answers the result per contact: ``anonymised``, or ``skipped`` with a reason code and a message. A
small request is answered when done (201); a larger one runs in the background (202) and its
``url`` gives the results as they come. Without ``"confirm": true`` the answer is 400 and nothing changes.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from gdpr_portal.throttling import CreationThrottle

from ..models import AnonymisationRequest, AnonymisationSubject
from ..permissions import HasRgpdRight, holds_rgpd_right, populations_of
from ..populations import population as population_by_key
from ..selectors import subjects_with_files_pending
from ..services import dispatch
from ..services.anonymisation import anonymisation_request_create, reason_message
from . import schema
from .people import PeopleSerializer


class AnonymisationCreateSerializer(PeopleSerializer):
    confirm = serializers.BooleanField(
        help_text="Must be the JSON literal true: anonymisation cannot be undone.",
        error_messages={"required": _('Send "confirm": true to anonymise: nothing was changed.')},
    )

    def validate_confirm(self, value: bool) -> bool:
        # Only the JSON literal true confirms: not "yes", 1 or "true".
        if value is not True or self.initial_data.get("confirm") is not True:
            raise serializers.ValidationError(_('Send "confirm": true to anonymise: nothing was changed.'))
        return value


def anonymisation_representation(anonymisation: AnonymisationRequest, request: Request) -> dict:
    population = population_by_key(anonymisation.population)
    subjects = list(
        AnonymisationSubject.objects.filter(request=anonymisation)
        .order_by("pk")
        .values_list("requested_id", "subject_id", "result", "reason")
    )
    anonymised_ids = [subject_id for _id, subject_id, result, _r in subjects if result == "anonymised"]
    in_progress = set(subjects_with_files_pending(population.key, anonymised_ids))
    results = []
    for requested_id, subject_id, result, reason in subjects:
        item = {population.api_item_key: requested_id, "result": result}
        if result == AnonymisationSubject.Result.SKIPPED:
            item.update(reason=reason, message=reason_message(reason, population))
        elif result == AnonymisationSubject.Result.ANONYMISED:
            item["files_deleted"] = subject_id not in in_progress
        results.append(item)
    return {
        "id": anonymisation.pk,
        "status": anonymisation.status,
        "created_at": anonymisation.created_at,
        "url": request.build_absolute_uri(reverse("rgpd_api:anonymisation-detail", args=[anonymisation.pk])),
        "result_page": request.build_absolute_uri(
            reverse("admin:rgpd_anonymisationrequest_change", args=[anonymisation.pk])
        ),
        "counts": {
            population.api_key: anonymisation.subject_count,
            "processed": anonymisation.processed_count,
            "anonymised": anonymisation.anonymised_count,
            "skipped": anonymisation.skipped_count,
        },
        "awaiting_broker": anonymisation.awaiting_broker,
        "results": results,
    }


class AnonymisationListView(APIView):
    permission_classes = [IsAuthenticated, HasRgpdRight]
    throttle_classes = [CreationThrottle]
    throttle_scope = "rgpd_anonymisations"

    @extend_schema(
        summary="Anonymise contacts",
        description="Each contact needs an unexpired archive (export it first). Up to "
        "RGPD_ANONYMISATION_INLINE_MAX contacts are done during the request (201); more run in the "
        "background (202): poll `url`. Contacts that cannot be anonymised are skipped with a reason.",
        request=AnonymisationCreateSerializer,
        parameters=[schema.location_header()],
        responses={
            201: OpenApiResponse(
                schema.AnonymisationSerializer,
                description="Done.",
                examples=[OpenApiExample("done", value=schema.ANONYMISATION_EXAMPLE, response_only=True)],
            ),
            202: OpenApiResponse(schema.AnonymisationSerializer, description="Running in the background."),
            **schema.CREATE_ERRORS,
        },
        examples=[
            OpenApiExample("two contacts", value={"contacts": [41, 42], "confirm": True}, request_only=True)
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = AnonymisationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        population = serializer.validated_data["population"]
        if not holds_rgpd_right(request.user, population):
            raise PermissionDenied
        anonymisation = anonymisation_request_create(
            population=population,
            subject_ids=serializer.validated_data["subject_ids"],
            actor=request.user,
            confirmed=serializer.validated_data["confirm"],
            source=AnonymisationRequest.Source.API,
        )
        data = anonymisation_representation(anonymisation, request)
        if anonymisation.awaiting_broker:
            data["message"] = str(dispatch.QUEUED_NOTICE)
        done = anonymisation.status == AnonymisationRequest.Status.DONE
        return Response(
            data,
            status=status.HTTP_201_CREATED if done else status.HTTP_202_ACCEPTED,
            headers={"Location": data["url"]},
        )


class AnonymisationDetailView(APIView):
    permission_classes = [IsAuthenticated, HasRgpdRight]

    @extend_schema(
        summary="One anonymisation request and its results",
        responses={
            200: OpenApiResponse(
                schema.AnonymisationSerializer,
                examples=[OpenApiExample("done", value=schema.ANONYMISATION_EXAMPLE, response_only=True)],
            ),
            **schema.DETAIL_ERRORS,
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        keys = [population.key for population in populations_of(request.user)]
        anonymisation = AnonymisationRequest.objects.filter(pk=pk, population__in=keys).first()
        if anonymisation is None:
            raise NotFound
        return Response(anonymisation_representation(anonymisation, request))
