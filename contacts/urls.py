from django.urls import path

import gdpr_portal.ids  # noqa: F401 - registers the <id:…> URL converter

from . import views

app_name = "contacts"
urlpatterns = [
    path("<id:contact_id>/", views.contact_record, name="record"),
    path("<id:contact_id>/photo/", views.photo_download, name="photo"),
    path("documents/<id:document_id>/download/", views.document_download, name="document_download"),
]
