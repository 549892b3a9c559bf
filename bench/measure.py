"""Timed operations: exports built by the workers, bulk actions through the web, the RGPD page.

Imported after ``django.setup()``.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from urllib.parse import urlencode

from django.db import connection
from django.db.models import F, Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse

from bench import s3calls
from contacts.models import Contact
from harness.admin_actions import bulk_action_payload
from rgpd.models import AnonymisationRequest, ExportPart, ExportRequest, PendingStorageDeletion

CHANGELIST = "admin:rgpd_rgpdcontact_changelist"
POLL = 0.05


class BenchError(RuntimeError):
    pass


@contextlib.contextmanager
def capture_queries():
    """``CaptureQueriesContext`` on an emptied query log.

    Django keeps at most 9,000 queries in the log and does not empty it between captures: a capture that
    starts on a full log counts nothing. Every capture here starts from an empty log, and one that
    overflows it is refused rather than undercounted.
    """
    connection.queries_log.clear()
    with _FrozenCapture(connection) as queries:
        yield queries
    if len(connection.queries_log) >= connection.queries_limit:
        raise BenchError(f"more than {connection.queries_limit} queries in one capture: not counted")


class _FrozenCapture(CaptureQueriesContext):
    """Its queries are copied when the block ends (the next capture empties the log)."""

    frozen: list[dict] | None = None

    def __exit__(self, exc_type, exc_value, traceback):
        super().__exit__(exc_type, exc_value, traceback)
        if exc_type is None:
            self.frozen = self.connection.queries[self.initial_queries : self.final_queries]

    @property
    def captured_queries(self):
        return self.frozen if self.frozen is not None else super().captured_queries


def wait_until(predicate, *, timeout: float, what: str, poll: float = POLL) -> float:
    """Poll ``predicate`` until true; return when it became true (perf_counter)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(poll)
    return time.perf_counter()


# --- Exports -----------------------------------------------------------------------------------------
DONE_PART = [ExportPart.Status.READY, ExportPart.Status.FAILED]


def parts_done(request_id: int, numbers: list[int] | None = None) -> bool:
    if ExportRequest.objects.filter(pk=request_id).exclude(pending_selection_sql="").exists():
        return False  # a large selection not yet split into parts by a worker
    pending = ExportPart.objects.filter(request_id=request_id).exclude(status__in=DONE_PART)
    if numbers is not None:
        pending = pending.filter(number__in=numbers)
    return not pending.exists()


def export_outcome(request_id: int, numbers: list[int] | None = None) -> dict:
    parts = ExportPart.objects.filter(request_id=request_id)
    if numbers is not None:
        parts = parts.filter(number__in=numbers)
    failed = parts.filter(status=ExportPart.Status.FAILED).count()
    if failed:
        raise BenchError(f"export request {request_id}: {failed} part(s) failed")
    rows = list(parts.values_list("started_at", "ready_at", "subject_count", "size"))
    return {
        "parts": len(rows),
        "people": sum(r[2] for r in rows),
        "archive_bytes": sum(r[3] or 0 for r in rows),
        # Time the workers spent building, summed over parts: the cost per person whatever the parallelism.
        "worker_seconds": sum((r[1] - r[0]).total_seconds() for r in rows),
    }


def export_and_wait(contact_ids: list[int], *, actor, timeout: float, on_ready=None) -> dict:
    """Ask for one export of ``contact_ids`` (the service, as the web request would) and wait for the
    workers to build every part; wall-clock seconds from the call to the last part ready."""
    from rgpd.services.exports import export_request_create

    started = time.perf_counter()
    request = export_request_create(actor=actor, population="contacts", subject_ids=contact_ids)
    finished = wait_until(lambda: parts_done(request.pk), timeout=timeout, what=f"export {request.pk}")
    result = {"request_id": request.pk, "seconds": finished - started, **export_outcome(request.pk)}
    return result


# --- The web ------------------------------------------------------------------------------------------
def web_client(user) -> Client:
    """A logged-in client in a warm process, as a running web server is: the URL conf and the admin loaded
    and the Celery producer connected, so that no timed request pays for a first import or connection."""
    from rgpd.tasks.anonymisation import finish_pending_deletions

    client = Client()
    client.force_login(user)
    if client.get(changelist_url()).status_code != 200:
        raise BenchError("the RGPD page does not answer")
    finish_pending_deletions.delay(population="contacts", subject_ids=[])  # a message that deletes nothing
    return client


def timed_request(client: Client, method: str, url: str, data=None, *, expect: int = 200) -> dict:
    with capture_queries() as queries:
        started = time.perf_counter()
        response = getattr(client, method)(url, data) if data is not None else getattr(client, method)(url)
        seconds = time.perf_counter() - started
    if response.status_code != expect:
        raise BenchError(f"{method.upper()} {url} answered {response.status_code}, expected {expect}")
    slowest = sorted(queries.captured_queries, key=lambda q: float(q["time"]), reverse=True)[:3]
    return {
        "started_at": started,
        "seconds": seconds,
        "queries": len(queries.captured_queries),
        "response": response,
        "slowest": [{"ms": round(float(q["time"]) * 1000, 1), "sql": q["sql"][:300]} for q in slowest],
    }


def changelist_url(**params) -> str:
    url = reverse(CHANGELIST)
    return f"{url}?{urlencode(params)}" if params else url


def select_all_action(client: Client, action: str, *, params: dict, extra: dict | None = None) -> dict:
    """Confirm a bulk action on "all N matching" the changelist's ``params`` (the confirmation page's
    POST); return the request's time, its query count and the id in the redirect."""
    first = Contact.objects.order_by("pk").values_list("pk", flat=True).first()
    data = bulk_action_payload(action, [first], select_across=True, confirm=True, **(extra or {}))
    result = timed_request(client, "post", changelist_url(**params), data, expect=302)
    match = resolve(result["response"]["Location"].split("?")[0])
    result["object_id"] = int(match.kwargs["object_id"])
    return result


def web_export_all(client: Client, *, params: dict) -> dict:
    return select_all_action(client, "export_selected", params=params)


def web_anonymise_all(client: Client, *, params: dict, expected: int) -> dict:
    return select_all_action(
        client,
        "anonymise_selected",
        params=params,
        extra={"expected_count": str(expected), "acknowledge": "on"},
    )


def anonymisation_finished(request_id: int) -> bool:
    status = AnonymisationRequest.objects.filter(pk=request_id).values_list("status", flat=True).first()
    return status == AnonymisationRequest.Status.DONE and not PendingStorageDeletion.objects.exists()


def anonymisation_counts(request_id: int) -> dict:
    request = AnonymisationRequest.objects.get(pk=request_id)
    return {
        "subjects": request.subject_count,
        "processed": request.processed_count,
        "anonymised": request.anonymised_count,
        "skipped": request.skipped_count,
    }


# --- In-process samples: queries and S3 calls per person ------------------------------------------------
def query_kinds(captured: list[dict]) -> dict[str, int]:
    kinds = Counter()
    for query in captured:
        verb = query["sql"].lstrip().split(" ", 1)[0].upper()
        kinds[verb] += 1
    return dict(kinds)


@contextlib.contextmanager
def profiled(path):
    """Profile the block with pyinstrument into ``path`` (text), when a path is given."""
    if path is None:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        path.write_text(profiler.output_text(unicode=True, color=False, show_all=False))


def anonymisation_sample(contact_ids: list[int], *, actor, profile_path=None) -> dict:
    """Anonymise ``contact_ids`` in this process (a chunk, as the task does), counting SQL queries and S3
    calls. The workers must not be consuming: the request's task stays queued (purged afterwards)."""
    from rgpd.models import AnonymisationRequest as Request
    from rgpd.services.anonymisation import (
        anonymisation_request_create,
        anonymisation_request_process,
        pending_deletions_process,
    )

    request = anonymisation_request_create(
        population="contacts", subject_ids=contact_ids, actor=actor, confirmed=True, source=Request.Source.API
    )
    before = Counter(s3calls.COUNTS)
    with profiled(profile_path), capture_queries() as rows_queries:
        started = time.perf_counter()
        anonymised = anonymisation_request_process(request_id=request.pk)
        rows_seconds = time.perf_counter() - started
    with capture_queries() as files_queries:
        started = time.perf_counter()
        pending_deletions_process(people=("contacts", anonymised))
        files_seconds = time.perf_counter() - started
    calls = Counter(s3calls.COUNTS)
    calls.subtract(before)
    people = len(anonymised)
    if people != len(contact_ids):
        raise BenchError(f"sample: {people} of {len(contact_ids)} contacts anonymised")
    return {
        "people": people,
        "queries": len(rows_queries.captured_queries) + len(files_queries.captured_queries),
        "queries_rows": len(rows_queries.captured_queries),
        "queries_files": len(files_queries.captured_queries),
        "query_kinds": query_kinds(rows_queries.captured_queries + files_queries.captured_queries),
        "seconds_rows": rows_seconds,
        "seconds_files": files_seconds,
        "s3_calls": {k: v for k, v in calls.items() if v},
    }


def export_sample(contact_ids: list[int], *, actor, profile_path=None) -> dict:
    """Build one part of ``contact_ids`` in this process, counting SQL queries and S3 calls."""
    from rgpd.services.exports import export_part_build, export_request_create

    request = export_request_create(actor=actor, population="contacts", subject_ids=contact_ids)
    part = ExportPart.objects.get(request=request)
    before = Counter(s3calls.COUNTS)
    with profiled(profile_path), capture_queries() as queries:
        started = time.perf_counter()
        outcome = export_part_build(part_id=part.pk)
        seconds = time.perf_counter() - started
    if outcome != "ready":
        raise BenchError(f"sample export part: {outcome}")
    calls = Counter(s3calls.COUNTS)
    calls.subtract(before)
    return {
        "request_id": request.pk,
        "people": len(contact_ids),
        "queries": len(queries.captured_queries),
        "query_kinds": query_kinds(queries.captured_queries),
        "seconds": seconds,
        "s3_calls": {k: v for k, v in calls.items() if v},
    }


def export_requests_bytes(request_ids: list[int]) -> int:
    return ExportPart.objects.filter(request_id__in=request_ids).aggregate(total=Sum(F("size")))["total"] or 0


def latest_export_request() -> ExportRequest:
    return ExportRequest.objects.order_by("-pk").first()
