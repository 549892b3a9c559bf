"""A very large selection (100,000 people) is recorded with a bounded number of queries, in parts."""

from __future__ import annotations

import time

from contacts.models import Contact
from rgpd.models import AuditEvent, ExportPart, ExportSubject
from rgpd.services.exports import export_request_create
from tests.factories import rgpd_user

PEOPLE = 100_000


def test_an_export_of_100000_contacts_is_recorded_in_parts_without_loading_them(
    db, settings, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    # Given 100,000 contacts (made in bulk) and the default part size
    settings.RGPD_EXPORT_PART_SIZE = 200
    Contact.objects.bulk_create(
        (Contact(first_name="P", last_name=f"N{n:06d}") for n in range(PEOPLE)), batch_size=5000
    )
    user = rgpd_user()

    # When all of them are exported (as "select all matching" gives: a queryset)
    started = time.monotonic()
    with (
        django_assert_max_num_queries(PEOPLE // 200 + 120),
        django_capture_on_commit_callbacks() as callbacks,
    ):
        export_request = export_request_create(queryset=Contact.objects.all(), actor=user, language="fr")
    elapsed = time.monotonic() - started

    # Then 500 parts of 200 people, every person once, one audit row, one enqueue after commit
    assert (export_request.subject_count, export_request.part_count) == (PEOPLE, 500)
    assert ExportPart.objects.filter(request=export_request, subject_count=200).count() == 500
    assert (
        ExportSubject.objects.filter(part__request=export_request).values("contact").distinct().count()
        == PEOPLE
    )
    assert AuditEvent.objects.get(export_request=export_request).counts == {"subjects": PEOPLE, "parts": 500}
    assert len(callbacks) == 1
    assert elapsed < 60, f"{elapsed:.1f}s"
