"""A "select all" larger than RGPD_EXPORT_INLINE_MAX: the web request stores the selection and one
message, a worker records its parts and people; nothing is lost and the search term is not kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.translation import gettext

from contacts.models import Contact
from rgpd.models import AnonymisationSubject, AuditEvent, ExportPart, ExportRequest, ExportSubject
from rgpd.selectors import export_request_progress
from rgpd.services.anonymisation import Reason, anonymisation_request_create
from rgpd.services.exports import (
    export_request_create,
    export_request_prepare,
    export_requests_resume_stalled,
)
from tests.factories import exported, rgpd_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def large(settings):
    """The web side records at most 10 people itself; parts of 4."""
    settings.RGPD_EXPORT_INLINE_MAX = 10
    settings.RGPD_EXPORT_PART_SIZE = 4


def people(count: int, last_name: str) -> list[Contact]:
    return Contact.objects.bulk_create(Contact(first_name="P", last_name=last_name) for _ in range(count))


def accept(last_name: str, user) -> ExportRequest:
    return export_request_create(queryset=Contact.objects.filter(last_name=last_name), actor=user)


def test_the_web_request_stores_the_selection_with_the_same_queries_at_any_size(large):
    # Given two searches, of 12 and of 120 people, and other contacts
    people(12, "Zorglub")
    people(120, "Zygomar")
    people(3, "Autre")
    user = rgpd_user()

    # When "select all matching" is confirmed for each
    with CaptureQueriesContext(connection) as small_queries:
        small = accept("Zorglub", user)
    with CaptureQueriesContext(connection) as large_queries:
        big = accept("Zygomar", user)

    # Then each is accepted with its count and no part yet, in as many queries whatever its size
    assert len(small_queries) == len(large_queries) <= 10
    assert (small.subject_count, small.part_count, small.parts.count()) == (12, 0, 0)
    assert (big.subject_count, big.part_count, big.parts.count()) == (120, 0, 0)
    assert "Zorglub" in ExportRequest.objects.get(pk=small.pk).pending_selection_params
    # and its audit row names no one (counts only), the progress shows nothing done
    event = AuditEvent.objects.get(export_request=small, action=AuditEvent.Action.EXPORT_REQUESTED)
    assert (event.subject_ids, event.counts["subjects"]) == ([], 12)
    progress = export_request_progress(small)
    assert (progress.status, progress.percent, progress.is_done) == ("pending", 0, False)


def test_the_worker_records_the_selection_up_to_the_confirmation_in_parts_and_forgets_the_search(large):
    # Given a large selection accepted, then a matching contact created after the confirmation
    selected = people(12, "Zorglub")
    export_request = accept("Zorglub", rgpd_user())
    later = people(1, "Zorglub")[0]

    # When the worker records it (twice: a redelivered message)
    assert export_request_prepare(request_id=export_request.pk) == 3
    assert export_request_prepare(request_id=export_request.pk) == 0

    # Then the 12 confirmed people are in 3 parts of 4, in id order, and the newcomer is not
    export_request.refresh_from_db()
    parts = list(export_request.parts.order_by("number"))
    assert [(p.number, p.subject_count, p.status) for p in parts] == [(n, 4, "pending") for n in (1, 2, 3)]
    recorded = list(
        ExportSubject.objects.filter(part__request=export_request).order_by("part__number", "subject_id")
    )
    assert [s.subject_id for s in recorded] == sorted(c.pk for c in selected)
    assert later.pk not in {s.subject_id for s in recorded}
    # and the stored selection, which held the search term, is gone
    assert (export_request.subject_count, export_request.part_count) == (12, 3)
    assert (export_request.pending_selection_sql, export_request.pending_selection_params) == ("", [])


def test_a_selection_emptied_before_the_worker_records_it_ends_visibly_failed(large):
    selected = people(12, "Zorglub")
    export_request = accept("Zorglub", rgpd_user())
    Contact.objects.filter(pk__in=[c.pk for c in selected]).delete()

    export_request_prepare(request_id=export_request.pk)

    part = ExportPart.objects.get(request=export_request)
    assert (part.status, part.error) == (
        ExportPart.Status.FAILED,
        gettext("Nobody of the selection is left to export."),
    )
    progress = export_request_progress(ExportRequest.objects.get(pk=export_request.pk))
    assert (progress.status, progress.is_done) == (ExportRequest.Status.FAILED, True)
    assert not ExportRequest.objects.exclude(pending_selection_sql="").exists()


def test_a_lost_message_is_sent_again_by_the_periodic_task_after_ten_minutes(large):
    people(12, "Zorglub")
    export_request = accept("Zorglub", rgpd_user())

    soon = export_requests_resume_stalled(now=timezone.now() + timedelta(minutes=5))
    later = export_requests_resume_stalled(now=timezone.now() + timedelta(minutes=11))

    assert (soon["selections"], later["selections"]) == (0, 1)
    export_request_prepare(request_id=export_request.pk)
    assert export_requests_resume_stalled(now=timezone.now() + timedelta(minutes=11))["selections"] == 0


def test_a_selection_that_can_no_longer_run_ends_visibly_failed(large):
    # Given a large selection whose stored SQL no longer matches the schema (a column dropped since)
    people(12, "Zorglub")
    export_request = accept("Zorglub", rgpd_user())
    ExportRequest.objects.filter(pk=export_request.pk).update(
        pending_selection_sql="SELECT dropped_column AS selected_id FROM contacts_contact",
        pending_selection_params=[],
    )

    # When the worker records it, then the periodic task looks for lost messages
    export_request_prepare(request_id=export_request.pk)

    # Then the request has failed, visibly and once: nothing is left to run again
    part = ExportPart.objects.get(request=export_request)
    assert (part.status, part.error) == (
        ExportPart.Status.FAILED,
        gettext("The selection could not be read again (%(error)s).") % {"error": "ProgrammingError"},
    )
    assert export_request_progress(ExportRequest.objects.get(pk=export_request.pk)).status == "failed"
    assert export_requests_resume_stalled(now=timezone.now() + timedelta(hours=2))["selections"] == 0


def test_no_contact_is_anonymised_while_a_large_selection_waits_for_its_worker(large):
    # Given a contact with a ready archive, and a large selection of others accepted but not yet recorded
    ready = people(1, "Prêt")
    exported(ready)
    people(12, "Zorglub")
    export_request = accept("Zorglub", rgpd_user())

    # When the contact is anonymised before the worker recorded the selection, then after
    before = anonymisation_request_create(
        population="contacts", subject_ids=[ready[0].pk], actor=rgpd_user(), confirmed=True
    )
    export_request_prepare(request_id=export_request.pk)
    after = anonymisation_request_create(
        population="contacts", subject_ids=[ready[0].pk], actor=rgpd_user(), confirmed=True
    )

    # Then it is refused while the selection names no one yet, and done once the selection is recorded
    assert before.subjects.get().reason == Reason.EXPORT_IN_PROGRESS
    assert after.subjects.get().result == AnonymisationSubject.Result.ANONYMISED
