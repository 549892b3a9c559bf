"""Reads of the RGPD engine, returning QuerySets."""

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from contacts.models import Contact

from .models import ExportPart, ExportSubject


def ready_archive_subjects(*, now=None) -> QuerySet[ExportSubject]:
    """Archive memberships whose part is ready and not yet expired."""
    now = now or timezone.now()
    return ExportSubject.objects.filter(part__status=ExportPart.Status.READY, part__expires_at__gt=now)


def contacts_with_ready_archive(*, now=None) -> QuerySet[Contact]:
    """Contacts covered by a ready, unexpired archive: the seed's condition to anonymise them."""
    covered = ready_archive_subjects(now=now).filter(contact_id=OuterRef("pk"))
    return Contact.objects.filter(Exists(covered))


def annotate_has_ready_archive(queryset: QuerySet[Contact], *, now=None) -> QuerySet[Contact]:
    covered = ready_archive_subjects(now=now).filter(contact_id=OuterRef("pk"))
    return queryset.annotate(has_ready_archive=Exists(covered))
