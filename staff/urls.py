from django.urls import path

import gdpr_portal.ids  # noqa: F401 - registers the <id:…> URL converter

from . import views

app_name = "staff"
urlpatterns = [
    path("<id:user_id>/", views.employee_record, name="record"),
    path("<id:user_id>/photo/", views.photo_download, name="photo"),
    path("documents/<id:document_id>/download/", views.hr_document_download, name="document_download"),
]
