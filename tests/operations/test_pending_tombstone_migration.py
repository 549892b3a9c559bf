"""The upgrade that moved owed tombstones from the audit rows to their own table loses none."""

import importlib
from datetime import datetime

import pytest
from django.apps import apps

from rgpd.models import AuditEvent, PendingTombstone

migration = importlib.import_module("rgpd.migrations.0017_pending_tombstone")


@pytest.mark.django_db
def test_tombstones_owed_on_audit_rows_become_one_pending_tombstone_per_set():
    # Given two sets anonymised before the upgrade, one with its tombstone still owed (2 people), one written
    at = "2026-11-30T10:00:00+00:00"
    for subject_id in (7, 3):
        AuditEvent.objects.create(
            action=AuditEvent.Action.ANONYMISED,
            subject_ids=[subject_id],
            details={"tombstone": "pending", "population": "contacts", "anonymised_at": at},
        )
    AuditEvent.objects.create(
        action=AuditEvent.Action.ANONYMISED,
        subject_ids=[9],
        details={"tombstone": "written", "population": "contacts", "anonymised_at": at},
    )

    # When the migration's data step runs
    migration.owed_from_audit_rows(apps, None)

    # Then the owed set is one pending tombstone with both people and its date; the written one is not
    owed = list(PendingTombstone.objects.values_list("population", "anonymised_at", "subject_ids"))
    assert owed == [("contacts", datetime.fromisoformat(at), [3, 7])]
