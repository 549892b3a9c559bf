"""``/healthz``: can this process reach its database, its task queue and its file storage?

For load balancers and container health checks: no login, no personal data (names of the checks, their
outcome, latency and, on failure, the error's class only, since a message can hold a host or a key).
Answers 200 when all are reachable, 503 naming those that are not.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

BROKER_TIMEOUT_SECONDS = 2
# An object name nobody writes: asking whether it exists reaches the storage without reading any file.
PROBE_NAME = "healthz/probe"


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker() -> None:
    from gdpr_portal.celery import app

    with app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)


def _storage() -> None:
    default_storage.exists(PROBE_NAME)


CHECKS: dict[str, Callable[[], None]] = {"database": _database, "broker": _broker, "storage": _storage}


def _run(check: Callable[[], None]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        check()
    except Exception as error:  # any failure is an answer here, not an error page
        outcome: dict[str, object] = {"ok": False, "error": type(error).__name__}
    else:
        outcome = {"ok": True}
    outcome["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return outcome


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {name: _run(check) for name, check in CHECKS.items()}
    failing = [name for name, outcome in checks.items() if not outcome["ok"]]
    body = {"status": "unavailable" if failing else "ok", "failing": failing, "checks": checks}
    return JsonResponse(body, status=503 if failing else 200)
