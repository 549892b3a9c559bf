"""Administrators see the workers' state on the admin home and the "Gestion RGPD" index; nobody else does."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rgpd.models import AnonymisationRequest, ExportPart, PeriodicTaskRun
from rgpd.tasks.anonymisation import finish_pending_deletions
from rgpd.tasks.exports import resume_stalled_exports
from tests.factories import ContactFactory, UserFactory, exported, rgpd_user
from tests.support.helpers import wait_until

SWEEP = "rgpd.resume_stalled_exports"


@pytest.fixture
def superuser():
    return UserFactory(username="root-admin", is_superuser=True)


def panel(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    if 'id="rgpd-workers-state"' not in html:
        return ""
    return html.split('id="rgpd-workers-state"', 1)[1].split("</table>", 1)[0]


def test_the_sweep_run_by_a_worker_and_the_backlog_are_shown_to_a_superuser(client, superuser, celery_worker):
    resume_stalled_exports.delay()
    wait_until(lambda: PeriodicTaskRun.objects.filter(task=SWEEP).exists(), message="the sweep's run")
    run = PeriodicTaskRun.objects.get(task=SWEEP)
    assert run.succeeded and timezone.now() - run.last_run_at < timedelta(minutes=1)

    # After the sweep, so that it does not resume them: a part waiting for 3 hours, two failed parts.
    waiting = exported([ContactFactory()], status=ExportPart.Status.PENDING)
    ExportPart.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(hours=3))
    exported([ContactFactory()], status=ExportPart.Status.FAILED)
    exported([ContactFactory()], status=ExportPart.Status.FAILED)
    AnonymisationRequest.objects.create(subject_count=1)

    client.force_login(superuser)
    for url in ("/admin/", "/admin/rgpd/"):
        html = panel(client, url)
        sweep_row = html.split(f'data-task="{SWEEP}"', 1)[1].split("</tr>", 1)[0]
        assert "<time" in sweep_row and "late" not in sweep_row
        oldest = html.split('id="rgpd-oldest-pending-part"', 1)[1].split("</tr>", 1)[0]
        assert "3" in oldest and ("heure" in oldest or "hour" in oldest)
        assert ">2</td>" in html.split('id="rgpd-failed-parts"', 1)[1]
        assert ">1</td>" in html.split('id="rgpd-unfinished-anonymisations"', 1)[1]


def test_a_sweep_that_stopped_running_is_shown_late_and_one_that_never_ran_as_such(db, client, superuser):
    PeriodicTaskRun.objects.create(task=SWEEP, last_run_at=timezone.now() - timedelta(hours=1))
    client.force_login(superuser)
    html = panel(client, "/admin/")
    sweep_row = html.split(f'data-task="{SWEEP}"', 1)[1].split("</tr>", 1)[0]
    assert "rgpd-workers-state__late" in sweep_row
    purge_row = html.split('data-task="rgpd.purge_expired_archives"', 1)[1].split("</tr>", 1)[0]
    assert "jamais exécutée" in purge_row and "<time" not in purge_row


def test_a_run_with_arguments_is_not_the_sweep(db):
    finish_pending_deletions.apply(kwargs={"contact_ids": []})
    assert not PeriodicTaskRun.objects.exists()
    finish_pending_deletions.apply()
    assert PeriodicTaskRun.objects.get().task == "rgpd.finish_pending_deletions"


@pytest.mark.django_db
def test_users_who_are_not_superusers_do_not_see_it(client):
    exported([ContactFactory()], status=ExportPart.Status.FAILED)
    client.force_login(rgpd_user())
    for url in ("/admin/", "/admin/rgpd/"):
        response = client.get(url)
        assert response.status_code == 200
        assert "rgpd-workers-state" not in response.content.decode()
