"""The email sent to the person who asked for an export, once its archive is ready (or failed)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from .models import ExportPart, ExportRequest
from .selectors import ExportProgress


def export_request_admin_url(export_request: ExportRequest) -> str:
    """Absolute link to the request's page in the back office (never a storage URL)."""
    path = reverse("admin:rgpd_exportrequest_change", args=[export_request.pk])
    return f"{settings.SITE_URL}{path}"


def send_export_finished_email(export_request: ExportRequest, progress: ExportProgress) -> None:
    """One HTML + text email, in the requester's language: counts, expiry, warnings, failures, link."""
    user = export_request.requested_by
    # The caller sends only for requests that still have a requester (the FK is nullable for erasure).
    assert user is not None
    with translation.override(export_request.language or settings.LANGUAGE_CODE):
        missing = sum(
            export_request.parts.filter(status=ExportPart.Status.READY).values_list(
                "missing_file_count", flat=True
            )
        )
        context = {
            "export_request": export_request,
            "progress": progress,
            "people": export_request.subject_count,
            "expires_at": timezone.localtime(progress.expires_at) if progress.expires_at else None,
            "missing_files": missing,
            "failed_parts": progress.failed,
            "total_parts": progress.total,
            "url": export_request_admin_url(export_request),
            "user": user,
        }
        subject = " ".join(render_to_string("rgpd/email/export_finished_subject.txt", context).split())
        text = render_to_string("rgpd/email/export_finished.txt", context)
        html = render_to_string("rgpd/email/export_finished.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[user.email])
    message.attach_alternative(html, "text/html")
    message.send()
