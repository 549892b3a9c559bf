"""Two officers anonymising the last two superusers at the same moment: one of them always remains."""

import threading

from django.contrib.auth.models import User
from django.db import connection

from rgpd.services.anonymisation import subjects_anonymise
from staff.models import EmployeeProfile
from tests.factories import UserFactory, exported
from tests.users.support import users_officer


def test_the_last_two_superusers_anonymised_at_once_leave_one(transactional_db):
    # Given two active superusers, both exported, and two officers
    first, second = UserFactory(is_superuser=True), UserFactory(is_superuser=True)
    exported(EmployeeProfile.objects.filter(pk__in=[first.pk, second.pk]), population="users")
    officers = [users_officer(), users_officer()]
    start = threading.Barrier(2)
    outcomes = {}

    def anonymise(officer, person) -> None:
        try:
            start.wait()
            outcomes[person.pk] = subjects_anonymise(
                population="users", subject_ids=[person.pk], actor=officer
            )
        finally:
            connection.close()

    # When each officer anonymises one of them, at the same moment
    threads = [
        threading.Thread(target=anonymise, args=(officer, person))
        for officer, person in zip(officers, (first, second), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then exactly one is anonymised; the other is refused as the last active superuser
    anonymised = [pk for pk, outcome in outcomes.items() if pk in outcome.anonymised]
    refused = {pk: outcome.refused.get(pk) for pk, outcome in outcomes.items() if pk in outcome.refused}
    assert len(anonymised) == 1 and list(refused.values()) == ["last_superuser"], (anonymised, refused)
    assert User.objects.filter(is_superuser=True, is_active=True).count() == 1
