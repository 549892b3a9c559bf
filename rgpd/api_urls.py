from django.urls import path

from .api import anonymisations, exports

app_name = "rgpd_api"
urlpatterns: list = [
    path("exports/", exports.ExportRequestListCreate.as_view(), name="export-list"),
    path("exports/<int:pk>/", exports.ExportRequestDetail.as_view(), name="export-detail"),
    path(
        "exports/<int:pk>/parts/<int:number>/download/",
        exports.ExportPartDownload.as_view(),
        name="export-part-download",
    ),
    path("anonymisations/", anonymisations.AnonymisationListView.as_view(), name="anonymisation-list"),
    path(
        "anonymisations/<int:pk>/",
        anonymisations.AnonymisationDetailView.as_view(),
        name="anonymisation-detail",
    ),
]
