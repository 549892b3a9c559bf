"""Contacts are anonymised as sets: bounded queries, one contact at fault never spoils the others, and the
objects of a large request are deleted in whole DeleteObjects calls (PostgreSQL and SeaweedFS)."""

import math

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact, Document
from rgpd.models import AnonymisationSubject, PendingStorageDeletion
from rgpd.services import anonymisation as service
from rgpd.services.anonymisation import Reason, anonymisation_request_create, deletions
from tests.factories import (
    ContactFactory,
    DocumentFactory,
    contact_history_entry,
    exported,
    png_image,
    rgpd_user,
)
from tests.support.triggers import column_kept, history_rewritten_with, update_fails

pytestmark = pytest.mark.django_db


def contacts_with_files(count: int) -> list[Contact]:
    contacts = ContactFactory.create_batch(count, photo=png_image())
    for contact in contacts:
        DocumentFactory(contact=contact, kind=Document.Kind.PAYSLIP)
        DocumentFactory(contact=contact, kind=Document.Kind.EMPLOYMENT_CONTRACT)
    exported(contacts)
    return contacts


def anonymise(contacts, actor=None):
    return anonymisation_request_create(
        population="contacts",
        subject_ids=[c.pk for c in contacts],
        actor=actor or rgpd_user(),
        confirmed=True,
    )


def results(request) -> dict[int, str]:
    return dict(request.subjects.values_list("requested_id", "reason"))


def test_anonymising_50_contacts_costs_the_same_queries_as_5(settings):
    # Given requests processed at once, one chunk each
    settings.RGPD_ANONYMISATION_INLINE_MAX = settings.RGPD_ANONYMISATION_CHUNK_SIZE = 100
    few, many = contacts_with_files(5), contacts_with_files(50)
    officer = rgpd_user()

    # When each is anonymised (with the content types' cache emptied, as in a fresh worker)
    ContentType.objects.clear_cache()
    with CaptureQueriesContext(connection) as few_queries:
        anonymise(few, officer)
    ContentType.objects.clear_cache()
    with CaptureQueriesContext(connection) as many_queries:
        anonymise(many, officer)

    # Then both cost the same number of queries: nothing is done one contact at a time
    assert Contact.objects.filter(first_name="xxx").count() == 55
    assert PendingStorageDeletion.objects.count() == 55 * 3
    assert len(many_queries) == len(few_queries), [q["sql"][:80] for q in many_queries.captured_queries]


def former_city_in_history(culprit: Contact):
    """A bug elsewhere that copies the former city back into the admin history when it is rewritten."""
    contact_history_entry(author=rgpd_user(), contact_id=culprit.pk, message=culprit.city)
    return history_rewritten_with(contact_id=culprit.pk, message=culprit.city)


def former_city_in_row(culprit: Contact):
    """A bug elsewhere that keeps the city when the row is anonymised (compared in SQL, person by person)."""
    return column_kept(table=Contact._meta.db_table, row_id=culprit.pk, column="city")


@pytest.mark.parametrize("bug", [former_city_in_history, former_city_in_row], ids=["history", "row"])
def test_a_contact_failing_its_check_is_set_aside_and_the_others_are_anonymised(bug):
    # Given three exported contacts, and a bug elsewhere that keeps the second one's former city in its
    # admin history or in its row
    contacts = contacts_with_files(3)
    culprit = contacts[1]
    former_city = culprit.city

    with bug(culprit):
        request = anonymise(contacts)

    # Then only that one is skipped, unchanged with its documents; the others are anonymised
    assert results(request) == {
        contacts[0].pk: "",
        culprit.pk: Reason.VERIFICATION_FAILED,
        contacts[2].pk: "",
    }
    kept = Contact.objects.get(pk=culprit.pk)
    assert (kept.city, kept.anonymised_at, kept.documents.count()) == (former_city, None, 2)
    others = Contact.objects.filter(pk__in=[contacts[0].pk, contacts[2].pk], first_name="xxx", city="xxx")
    assert others.count() == 2


def test_an_error_on_one_contact_is_reported_and_the_others_are_anonymised():
    contacts = contacts_with_files(3)
    culprit = contacts[0]

    # A failure in the middle of that contact's anonymisation (its row cannot be updated)
    with update_fails(table=Contact._meta.db_table, row_id=culprit.pk):
        request = anonymise(contacts)

    assert results(request)[culprit.pk] == Reason.ERROR
    assert Contact.objects.get(pk=culprit.pk).anonymised_at is None
    assert Contact.objects.filter(pk__in=[c.pk for c in contacts[1:]], first_name="xxx").count() == 2


def test_the_chunks_of_a_large_request_pool_their_objects_into_whole_delete_calls(settings, monkeypatch):
    # Given 12 exported contacts with 3 stored objects each, chunks of 3 contacts and DeleteObjects
    # batches of 10 keys (1,000 in production), and a count of the DeleteObjects calls made to the bucket
    settings.RGPD_ANONYMISATION_CHUNK_SIZE = 3
    monkeypatch.setattr(deletions, "S3_DELETE_BATCH", 10)
    contacts = contacts_with_files(12)
    keys = [c.photo.name for c in contacts] + list(Document.objects.values_list("file", flat=True))
    calls = []
    client = default_storage.connection.meta.client
    client.meta.events.register("before-call.s3.DeleteObjects", lambda **kwargs: calls.append(1))
    request = anonymise(contacts)
    chunks = list(
        AnonymisationSubject.objects.filter(request=request).order_by("pk").values_list("pk", flat=True)
    )

    # When the four chunks run one after the other, as workers would
    after_each_chunk = []
    for start in range(0, len(chunks), 3):
        service.anonymisation_chunk_run(
            request_id=request.pk, first_subject_id=chunks[start], last_subject_id=chunks[start + 2]
        )
        after_each_chunk.append(len(calls))

    # Then each call but the last carried 10 keys: 36 objects in 4 calls, and none is left
    assert len(keys) == 36
    assert after_each_chunk == [0, 1, 2, 4]
    assert len(calls) == math.ceil(36 / 10)
    assert not PendingStorageDeletion.objects.exists()
    assert not [key for key in keys if default_storage.exists(key)]


def test_the_one_parameter_id_list_matches_exactly_the_rows_named_on_integers_texts_and_relations():
    # Given three contacts, documents of two of them, and admin history naming two of them by text id
    first, second, third = ContactFactory.create_batch(3)
    DocumentFactory(contact=first)
    DocumentFactory(contact=third)
    author = rgpd_user()
    for contact in (first, second):
        contact_history_entry(author=author, contact_id=contact.pk, message="[]")
    type_id = ContentType.objects.get_for_model(Contact).pk

    # When rows are filtered with ``__any_of`` (one array parameter on PostgreSQL)
    with CaptureQueriesContext(connection) as queries:
        contacts = set(Contact.objects.filter(pk__any_of=[first.pk, third.pk, 10**9]))
    documents = set(
        Document.objects.filter(contact_id__any_of={third.pk}).values_list("contact_id", flat=True)
    )
    history = set(
        LogEntry.objects.filter(content_type_id=type_id, object_id__any_of=[str(second.pk)]).values_list(
            "object_id", flat=True
        )
    )

    # Then exactly the rows named are found, and nothing for an empty list
    assert contacts == {first, third}
    assert documents == {third.pk}
    assert history == {str(second.pk)}  # the first's entry is not named
    assert not Contact.objects.filter(pk__any_of=[]).exists()
    # and the ids travel as one array, not one placeholder each
    assert "= ANY(" in queries[0]["sql"] and " IN (" not in queries[0]["sql"]
