"""Administrators manage employee profiles and HR documents from the users admin, with the contacts'
upload rules and permission-checked file links."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from staff.admin import HrDocumentForm
from staff.models import HrDocument
from tests.factories import MINIMAL_PDF, UserFactory
from tests.users.support import departed_employee


def test_the_user_page_holds_the_profile_and_links_its_hr_documents(db):
    user, profile, documents = departed_employee()
    admin = Client()
    admin.force_login(UserFactory(is_superuser=True))

    page = admin.get(reverse("admin:auth_user_change", args=[user.pk])).content.decode()
    assert "Comptable principale" in page and "documents RH (2)" in page
    profile_page = admin.get(reverse("admin:staff_employeeprofile_change", args=[user.pk])).content.decode()
    for document in documents:
        assert reverse("staff:document_download", args=[document.pk]) in profile_page
    assert reverse("staff:photo", args=[user.pk]) in profile_page
    assert profile.photo.url not in profile_page  # never the storage's own address


def test_hr_documents_follow_the_upload_rules_and_record_what_was_uploaded(db):
    _user, profile, _documents = departed_employee()

    program = SimpleUploadedFile("bulletin.pdf", b"MZ\x90\x00" + b"\x00" * 200)
    refused = HrDocumentForm(
        data={"kind": "payslip"}, files={"file": program}, instance=HrDocument(employee=profile)
    )
    assert not refused.is_valid() and "file" in refused.errors

    pdf = SimpleUploadedFile(
        "Attestation employeur.pdf", MINIMAL_PDF, content_type="application/x-msdownload"
    )
    form = HrDocumentForm(data={"kind": "other"}, files={"file": pdf}, instance=HrDocument(employee=profile))
    assert form.is_valid(), form.errors
    document = form.save()
    assert (document.original_name, document.content_type, document.size) == (
        "Attestation employeur.pdf",
        "application/pdf",
        len(MINIMAL_PDF),
    )
    assert document.file.name.startswith(f"employees/{profile.storage_key}/documents/")
