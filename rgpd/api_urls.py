from django.urls import path

import gdpr_portal.ids  # noqa: F401 - registers the <id:…> URL converter

from .api import anonymisations, exports
from .subject_requests import api as subject_requests

app_name = "rgpd_api"
urlpatterns: list = [
    path("exports/", exports.ExportRequestListCreate.as_view(), name="export-list"),
    path("exports/<id:pk>/", exports.ExportRequestDetail.as_view(), name="export-detail"),
    path(
        "exports/<id:pk>/parts/<id:number>/download/",
        exports.ExportPartDownload.as_view(),
        name="export-part-download",
    ),
    path("anonymisations/", anonymisations.AnonymisationListView.as_view(), name="anonymisation-list"),
    path(
        "anonymisations/<id:pk>/",
        anonymisations.AnonymisationDetailView.as_view(),
        name="anonymisation-detail",
    ),
    path("requests/", subject_requests.SubjectRequestListCreate.as_view(), name="request-list"),
    path("requests/<id:pk>/", subject_requests.SubjectRequestDetail.as_view(), name="request-detail"),
    path("requests/<id:pk>/extend/", subject_requests.SubjectRequestExtend.as_view(), name="request-extend"),
    path("requests/<id:pk>/answer/", subject_requests.SubjectRequestAnswer.as_view(), name="request-answer"),
]
