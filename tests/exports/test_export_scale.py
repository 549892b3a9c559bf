"""A very large selection (100,000 people) is recorded with a bounded number of queries, in parts;
the number of queries does not grow with the selection, which may change while it is recorded."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ValidationError

from contacts.models import Contact, Document
from rgpd.models import AuditEvent, ExportPart, ExportRequest, ExportSubject
from rgpd.services.exports import export_request_create
from tests.factories import rgpd_user

PEOPLE = 100_000


def test_an_export_of_100000_contacts_is_recorded_in_parts_without_loading_them(
    db, settings, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    # Given 100,000 contacts (made in bulk), the default part size, and a web side that records them itself
    settings.RGPD_EXPORT_PART_SIZE = 200
    settings.RGPD_EXPORT_INLINE_MAX = PEOPLE
    Contact.objects.bulk_create(
        (Contact(first_name="P", last_name=f"N{n:06d}") for n in range(PEOPLE)), batch_size=5000
    )
    user = rgpd_user()

    # When all of them are exported (as "select all matching" gives: a queryset)
    started = time.monotonic()
    with (
        django_assert_max_num_queries(15),
        django_capture_on_commit_callbacks() as callbacks,
    ):
        export_request = export_request_create(queryset=Contact.objects.all(), actor=user, language="fr")
    elapsed = time.monotonic() - started

    # Then 500 parts of 200 people, every person once, one audit row, one enqueue after commit
    assert (export_request.subject_count, export_request.part_count) == (PEOPLE, 500)
    assert ExportPart.objects.filter(request=export_request, subject_count=200).count() == 500
    assert (
        ExportSubject.objects.filter(part__request=export_request).values("subject_id").distinct().count()
        == PEOPLE
    )
    assert AuditEvent.objects.get(export_request=export_request).counts == {"subjects": PEOPLE, "parts": 500}
    assert len(callbacks) == 1
    assert elapsed < 60, f"{elapsed:.1f}s"


def _selection_export(queryset, user):
    """Record the export of ``queryset``; return it with the queries it ran and its callbacks."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        export_request = export_request_create(queryset=queryset, actor=user, language="fr")
    return export_request, len(queries)


def _parts_of(export_request) -> list[tuple[int, int, list[int]]]:
    return [
        (
            part.number,
            part.subject_count,
            list(part.subjects.order_by("subject_id").values_list("subject_id", flat=True)),
        )
        for part in export_request.parts.order_by("number")
    ]


def test_select_all_matching_runs_as_many_queries_for_5000_people_as_for_500(db, settings):
    # Given 500 contacts matching one search and 5,000 matching another, interleaved by id
    settings.RGPD_EXPORT_PART_SIZE = 200
    Contact.objects.bulk_create(
        (
            Contact(first_name="P", last_name=("Petit" if n % 11 == 0 else "Grand") + f"{n:05d}")
            for n in range(5500)
        ),
        batch_size=5000,
    )
    small = Contact.objects.filter(last_name__startswith="Petit")
    large = Contact.objects.filter(last_name__startswith="Grand")
    small_ids = sorted(small.values_list("pk", flat=True))
    large_ids = sorted(large.values_list("pk", flat=True))
    assert (len(small_ids), len(large_ids)) == (500, 5000)
    user = rgpd_user()

    # When each selection is exported (a queryset, as "select all N matching" gives, ordered by name)
    small_request, small_queries = _selection_export(small.order_by("-last_name"), user)
    large_request, large_queries = _selection_export(large.order_by("-last_name"), user)

    # Then the same few queries whatever the size
    assert small_queries == large_queries <= 15

    # And the people in id order, part by part, each once, with the parts' counts right
    for export_request, ids, counts in (
        (small_request, small_ids, [200, 200, 100]),
        (large_request, large_ids, [200] * 25),
    ):
        parts = _parts_of(export_request)
        assert [(number, count) for number, count, _ids in parts] == list(enumerate(counts, start=1))
        assert [len(part_ids) for _n, _c, part_ids in parts] == counts
        assert [pk for _n, _c, part_ids in parts for pk in part_ids] == ids
        assert (export_request.subject_count, export_request.part_count) == (len(ids), len(counts))
        export_request.refresh_from_db()
        assert (export_request.subject_count, export_request.part_count) == (len(ids), len(counts))

    # And the audit row lists the 500 people, but only counts the 5,000 (their parts list them)
    small_audit = AuditEvent.objects.get(export_request=small_request)
    assert small_audit.subject_ids == small_ids and small_audit.counts == {"subjects": 500, "parts": 3}
    large_audit = AuditEvent.objects.get(export_request=large_request)
    assert large_audit.subject_ids == [] and large_audit.details == {"subject_ids_omitted": True}
    assert large_audit.counts == {"subjects": 5000, "parts": 25}


def test_a_selection_across_a_relation_exports_each_person_once(db, settings):
    # Given contacts with two payslips each (a filter on documents repeats them), and one without
    settings.RGPD_EXPORT_PART_SIZE = 2
    with_payslips = Contact.objects.bulk_create(Contact(first_name="P", last_name=f"N{n}") for n in range(3))
    Contact.objects.create(first_name="P", last_name="Sans")
    Document.objects.bulk_create(
        Document(
            contact=contact, kind=Document.Kind.PAYSLIP, file=f"contacts/x/documents/{contact.pk}-{n}.pdf"
        )
        for contact in with_payslips
        for n in range(2)
    )

    # When the contacts having a payslip are exported
    export_request = export_request_create(
        queryset=Contact.objects.filter(documents__kind=Document.Kind.PAYSLIP), actor=rgpd_user()
    )

    # Then each of them once, in parts of two
    ids = sorted(c.pk for c in with_payslips)
    assert _parts_of(export_request) == [(1, 2, ids[:2]), (2, 1, ids[2:])]
    assert export_request.subject_count == 3


@pytest.fixture
def selection_changes(monkeypatch):
    """Run ``change`` between the selection's count and the insert of its people (a concurrent edit)."""
    from rgpd.services.exports import requests

    def install(change):
        create = requests._parts_create

        def create_then_change(*args, **kwargs):
            parts = create(*args, **kwargs)
            change()
            return parts

        monkeypatch.setattr(requests, "_parts_create", create_then_change)

    return install


def test_people_removed_after_the_count_leave_no_empty_or_miscounted_part(db, settings, selection_changes):
    # Given 450 contacts (three parts of 200, 200, 50), 300 of which are deleted once they are counted
    settings.RGPD_EXPORT_PART_SIZE = 200
    contacts = Contact.objects.bulk_create(Contact(first_name="P", last_name=f"N{n}") for n in range(450))
    ids = sorted(c.pk for c in contacts)
    selection_changes(lambda: Contact.objects.filter(pk__in=ids[100:400]).delete())

    # When all of them are exported
    export_request = export_request_create(queryset=Contact.objects.all(), actor=rgpd_user())

    # Then one part of the 150 left, and the request and its audit row say 150
    remaining = ids[:100] + ids[400:]
    assert _parts_of(export_request) == [(1, 150, remaining)]
    export_request.refresh_from_db()
    assert (export_request.subject_count, export_request.part_count) == (150, 1)
    assert AuditEvent.objects.get(export_request=export_request).subject_ids == remaining


def test_people_added_after_the_count_fill_the_last_part_up_to_its_size_only(db, settings, selection_changes):
    # Given 450 contacts (parts of 200, 200, 50); 100 more arrive once they are counted
    settings.RGPD_EXPORT_PART_SIZE = 200
    Contact.objects.bulk_create(Contact(first_name="P", last_name=f"N{n}") for n in range(450))
    selection_changes(
        lambda: Contact.objects.bulk_create(Contact(first_name="P", last_name=f"New{n}") for n in range(100))
    )

    # When all of them are exported
    export_request = export_request_create(queryset=Contact.objects.all(), actor=rgpd_user())

    # Then the three parts hold 200, 200 and 150, and each says so
    assert [(n, count, len(ids)) for n, count, ids in _parts_of(export_request)] == [
        (1, 200, 200),
        (2, 200, 200),
        (3, 150, 150),
    ]
    export_request.refresh_from_db()
    assert (export_request.subject_count, export_request.part_count) == (550, 3)


def test_a_selection_emptied_after_the_count_records_nothing(db, selection_changes):
    # Given contacts that are all deleted once counted
    Contact.objects.bulk_create(Contact(first_name="P", last_name=f"N{n}") for n in range(3))
    selection_changes(lambda: Contact.objects.all().delete())

    # When they are exported, Then the selection is refused as empty and nothing is recorded
    with pytest.raises(ValidationError) as refused:
        export_request_create(queryset=Contact.objects.all(), actor=rgpd_user())
    assert refused.value.code == "empty"
    assert not ExportRequest.objects.exists() and not ExportPart.objects.exists()
    assert not AuditEvent.objects.exists()


def test_many_parts_are_enqueued_by_one_fan_out_task_and_a_few_directly(
    db, settings, monkeypatch, django_capture_on_commit_callbacks
):
    # Given parts of one person, and the task sends recorded instead of sent
    from rgpd.services import dispatch
    from rgpd.tasks.exports import build_export_part, enqueue_export_parts

    settings.RGPD_EXPORT_PART_SIZE = 1
    sent: list[tuple[str, tuple]] = []
    monkeypatch.setattr(build_export_part, "apply_async", lambda args, **kw: sent.append(("build", args)))
    monkeypatch.setattr(
        enqueue_export_parts, "apply_async", lambda args, **kw: sent.append(("fan-out", args))
    )
    many = Contact.objects.bulk_create(
        Contact(first_name="P", last_name=f"N{n}") for n in range(dispatch.ENQUEUE_DIRECT_MAX_PARTS + 1)
    )
    few = many[: dispatch.ENQUEUE_DIRECT_MAX_PARTS]

    # When a request of many parts commits, Then one fan-out message, with the request's id only
    with django_capture_on_commit_callbacks(execute=True):
        large = export_request_create(queryset=Contact.objects.all(), actor=rgpd_user())
    assert sent == [("fan-out", (large.pk,))]

    # And the fan-out task (run here) sends the build of every pending part, in order
    sent.clear()
    assert enqueue_export_parts.apply(args=[large.pk]).get() == len(many)
    assert sent == [("build", (pk,)) for pk in large.parts.order_by("number").values_list("pk", flat=True)]

    # When a request of a few parts commits, Then their builds are sent directly
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        small = export_request_create(
            population="contacts", subject_ids=[c.pk for c in few], actor=rgpd_user()
        )
    assert sent == [("build", (pk,)) for pk in small.parts.order_by("number").values_list("pk", flat=True)]
