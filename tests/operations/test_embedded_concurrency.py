"""Concurrent use holds: many people clicking at once, and the worker pool writing meanwhile.

On the embedded defaults (``make run``: one SQLite file shared by the web server and a worker pool of
two processes) no request answers 500 and no task fails for a lock; and on PostgreSQL as on SQLite, a
confirmation sent twice at once (a double click, or back-and-confirm) makes one request.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from rgpd.models import AnonymisationRequest, AuditEvent, ExportRequest
from tests.factories import ContactFactory, exported, rgpd_user
from tests.support.embedded import EmbeddedApp, HttpClient
from tests.support.helpers import wait_until

RACERS = 10
LOCKED = "database is locked"


def run_at_once(calls: list) -> list:
    """Run every call in its own thread, all released at the same moment; return their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        try:
            return call()
        finally:
            connection.close()  # the thread's own database connection, if it opened one

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def run_groups_at_once(groups: dict[str, list]) -> dict[str, list]:
    """``run_at_once`` on every call of every group; the results by group, in order."""
    results = iter(run_at_once([call for calls in groups.values() for call in calls]))
    return {name: [next(results) for _call in calls] for name, calls in groups.items()}


def error_title(answer: tuple) -> str:
    """The exception named by Django's error page (``DEBUG`` is on in ``make run``)."""
    body = answer[1] if isinstance(answer[1], str) else answer[1].get("raw", json.dumps(answer[1]))
    title = re.search(r"<title>(.*?)</title>", body, flags=re.S)
    return f"{answer[0]}: {' '.join((title.group(1) if title else body[:300]).split())}"


def export_confirm_path(contact_id: int) -> str:
    return f"/admin/rgpd/exportrequest/contact/{contact_id}/export/"


def anonymise_confirm_path(contact_id: int) -> str:
    return f"/admin/rgpd/anonymisationrequest/contact/{contact_id}/"


# --- The embedded defaults: SQLite, filesystem queue, local files, worker --concurrency=2 ------------


@pytest.fixture
def embedded_app(tmp_path):
    # Small anonymisation chunks: a bulk request becomes six tasks that the two pool processes share.
    app = EmbeddedApp(tmp_path, contacts=16 + RACERS, RGPD_ANONYMISATION_CHUNK_SIZE="2")
    app.start()
    yield app
    app.stop()


def anonymised_events(app: EmbeddedApp, contact_id: int) -> int:
    rows = app.query("SELECT subject_ids FROM rgpd_auditevent WHERE action = 'anonymised'")
    return sum(1 for (ids,) in rows if json.loads(ids) == [contact_id])


def unfinished(app: EmbeddedApp) -> list[tuple]:
    """Export parts and anonymisation requests not finished yet, and stored objects still to delete."""
    return [
        *app.query(
            "SELECT 'export part', id, status FROM rgpd_exportpart WHERE status IN ('pending','running')"
        ),
        *app.query(
            "SELECT 'anonymisation', id, status FROM rgpd_anonymisationrequest WHERE status != 'done'"
        ),
        *app.query("SELECT 'file deletion', id, attempts FROM rgpd_pendingstoragedeletion"),
    ]


def test_embedded_defaults_hold_simultaneous_exports_anonymisations_and_double_clicks(embedded_app):
    app = embedded_app
    contact_ids = [pk for (pk,) in app.query("SELECT id FROM contacts_contact ORDER BY id")]
    # One contact anonymised by ten at once, a bulk request for the worker (above the inline limit of 10),
    # a contact exported while it is anonymised, a contact per simultaneous export, one per double click.
    target, bulk, double_anonymise, raced = (
        contact_ids[0],
        contact_ids[1:13],
        contact_ids[13],
        contact_ids[14],
    )
    export_sets = [[pk] for pk in contact_ids[15 : 15 + RACERS]]
    double_export = contact_ids[15 + RACERS]
    api = HttpClient(app.url, token=app.api_token("rgpd"))  # the demo RGPD officer

    # The people to anonymise get their archive first, built by the worker.
    status, first_export = api.json(
        "POST", "/api/rgpd/exports/", {"contacts": [target, *bulk, double_anonymise, raced]}
    )
    assert status == 202, first_export
    wait_until(
        lambda: api.json("GET", f"/api/rgpd/exports/{first_export['id']}/")[1].get("status") == "ready",
        timeout=60,
        message="the first archive",
    )
    # An officer's browser on two confirmation pages, about to click each twice.
    browser = HttpClient(app.url)
    browser.login("rgpd", "rgpd")
    export_form = browser.form_fields(export_confirm_path(double_export))
    anonymise_form = {**browser.form_fields(anonymise_confirm_path(double_anonymise)), "acknowledge": "on"}

    def export(ids):
        return lambda: api.json("POST", "/api/rgpd/exports/", {"contacts": ids})

    def anonymise(ids):
        return lambda: api.json("POST", "/api/rgpd/anonymisations/", {"contacts": ids, "confirm": True})

    def click(path, form):
        return lambda: browser.request("POST", path, form=form)

    answers = run_groups_at_once(
        {
            "exports": [export(ids) for ids in export_sets],
            "anonymisations": [anonymise([target])] * RACERS,
            "bulk": [anonymise(bulk)],
            "raced": [export([raced]), anonymise([raced])],
            "export clicks": [click(export_confirm_path(double_export), export_form)] * 2,
            "anonymise clicks": [click(anonymise_confirm_path(double_anonymise), anonymise_form)] * 2,
        }
    )

    # No one got an error page or an error answer.
    errors = [error_title(answer) for group in answers.values() for answer in group if answer[0] >= 500]
    assert not errors, errors
    assert [status for status, _body in answers["exports"]] == [202] * RACERS, answers["exports"]
    assert [status for status, _body in answers["anonymisations"]] == [201] * RACERS
    ((bulk_status, bulk_answer),) = answers["bulk"]
    assert bulk_status == 202, bulk_answer
    # The contact was anonymised once; the nine others were told it already was.
    results = Counter(
        (body["results"][0]["result"], body["results"][0].get("reason", ""))
        for _status, body in answers["anonymisations"]
    )
    assert results == {("anonymised", ""): 1, ("skipped", "already_anonymised"): RACERS - 1}, results
    assert anonymised_events(app, target) == 1
    # An export and an anonymisation of one contact at once: one goes first, the other answers normally.
    (raced_export_status, _), (raced_status, raced_answer) = answers["raced"]
    assert (raced_export_status, raced_status) == (202, 201)
    assert raced_answer["results"][0]["result"] == "anonymised" or raced_answer["results"][0]["reason"] == (
        "export_in_progress"
    ), raced_answer
    # Each double click made one request: both clicks lead to it.
    for clicks in (answers["export clicks"], answers["anonymise clicks"]):
        assert [status for status, _page, _headers in clicks] == [302, 302], clicks
        assert clicks[0][2]["Location"] == clicks[1][2]["Location"], clicks
    assert app.query("SELECT COUNT(*) FROM rgpd_exportrequest")[0][0] == 1 + RACERS + 1 + 1
    assert app.query("SELECT COUNT(*) FROM rgpd_anonymisationrequest")[0][0] == RACERS + 1 + 1 + 1
    assert anonymised_events(app, double_anonymise) == 1

    # Every export and anonymisation finishes (none is left running), every archive is ready.
    wait_until(lambda: not unfinished(app), timeout=60, message="every request to finish")
    parts = Counter(status for (status,) in app.query("SELECT status FROM rgpd_exportpart"))
    assert parts == {"ready": 1 + RACERS + 1 + 1}, parts
    bulk_request = api.json("GET", f"/api/rgpd/anonymisations/{bulk_answer['id']}/")[1]
    assert bulk_request["status"] == "done"
    assert bulk_request["counts"]["anonymised"] == len(bulk), bulk_request["counts"]
    # No task failed, for a lock or anything else (the worker's lines are in make run's output).
    log = app.log()
    assert LOCKED not in log, log[log.find(LOCKED) - 3000 : log.find(LOCKED) + 500]
    assert "raised unexpected" not in log, log[-5000:]
    assert "Internal Server Error" not in log, log[-5000:]


# --- PostgreSQL: the same confirmation sent several times at once is one request ------------------------

ROUNDS, CLICKS = 4, 3


def clicks_at_once(logged_in: Client, path: str, form: dict) -> list:
    """``CLICKS`` browsers of the same session sending the same confirmation at the same moment."""

    def click():
        browser = Client()
        browser.cookies.update(logged_in.cookies)
        return browser.post(path, form)

    return run_at_once([click] * CLICKS)


def confirmation_form(logged_in: Client, path: str) -> dict:
    page = logged_in.get(path).content.decode()
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))


@pytest.fixture
def officer_browser(celery_worker):
    # The confirmations send real tasks: the worker takes them, and the test waits until it is idle before
    # the database is flushed (a part being built holds locks that the flush's TRUNCATE would deadlock on).
    browser = Client()
    browser.force_login(rgpd_user())
    return browser


def test_export_confirmation_clicked_several_times_at_once_starts_one_export(officer_browser):
    for _round in range(ROUNDS):
        path = reverse("admin:rgpd_export_contact", args=[ContactFactory().pk])
        form = confirmation_form(officer_browser, path)
        responses = clicks_at_once(officer_browser, path, form)

        assert [r.status_code for r in responses] == [302] * CLICKS
        assert len({r["Location"] for r in responses}) == 1
        assert ExportRequest.objects.filter(confirmation_token=form["confirmation_token"]).count() == 1
    assert ExportRequest.objects.count() == ROUNDS
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT_REQUESTED).count() == ROUNDS


def test_anonymisation_confirmation_clicked_several_times_at_once_anonymises_once(officer_browser):
    for _round in range(ROUNDS):
        contact = ContactFactory()
        exported([contact])
        path = reverse("admin:rgpd_anonymise_contact", args=[contact.pk])
        form = {**confirmation_form(officer_browser, path), "acknowledge": "on"}
        responses = clicks_at_once(officer_browser, path, form)

        assert [r.status_code for r in responses] == [302] * CLICKS
        assert len({r["Location"] for r in responses}) == 1
        anonymisation = AnonymisationRequest.objects.get(confirmation_token=form["confirmation_token"])
        assert responses[0]["Location"].endswith(f"/{anonymisation.pk}/change/")
        assert (
            AuditEvent.objects.filter(action=AuditEvent.Action.ANONYMISED, subject_ids=[contact.pk]).count()
            == 1
        )
        anonymisation.refresh_from_db()
        assert (anonymisation.status, anonymisation.anonymised_count) == (AnonymisationRequest.Status.DONE, 1)
    assert AnonymisationRequest.objects.count() == ROUNDS
