from django.urls import path

from . import views

app_name = "contacts"
urlpatterns = [
    path("<int:contact_id>/", views.contact_record, name="record"),
    path("<int:contact_id>/photo/", views.photo_download, name="photo"),
    path("documents/<int:document_id>/download/", views.document_download, name="document_download"),
]
