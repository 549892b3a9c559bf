"""Shared fixtures: a unique test database per run, a real Celery worker, a real SMTP sink.

Run through ``scripts/testenv.py`` (``make test`` does), which provides PostgreSQL, Redis and a
private SeaweedFS S3 gateway through the environment.
"""

import os
import uuid

import pytest

from harness.smtp import SmtpSink
from harness.worker import CeleryWorkerProcess

# The export tests' fixtures (a queue and workers of their own), offered to every folder.
from tests.support.exports import export_queue, export_workers  # noqa: F401

RUN_ID = uuid.uuid4().hex[:8]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Each phase's report on the item (``rep_call``...), for fixtures that act on a failure; a failed
    test that used ``celery_worker`` shows what the worker logged meanwhile (CI keeps no other trace)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    worker = item.funcargs.get("celery_worker") if hasattr(item, "funcargs") else None
    if report.failed and isinstance(worker, CeleryWorkerProcess):
        with open(worker.log_path, "rb") as log:
            log.seek(getattr(item, "worker_log_start", 0))
            logged = log.read()[-6000:].decode(errors="replace")
        report.sections.append(("celery worker log", logged))
    return report


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    # Two runs on one machine (or two developers' runs) never share a test database.
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.sqlite3":
        db.setdefault("TEST", {})["NAME"] = f"test_gdpr_{RUN_ID}"


@pytest.fixture(autouse=True)
def fresh_throttling_counters(settings):
    """Login and API throttling count in the shared cache (Redis): each test starts from zero."""
    from axes.handlers.proxy import AxesProxyHandler

    namespace = f"gdpr-test-{RUN_ID}-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": namespace}}
    # django-axes' handler keeps the cache it was created with: give it this test's.
    AxesProxyHandler.get_implementation(force=True)


@pytest.fixture
def on_s3(settings):
    """For tests that read the bucket: they need the real S3 gateway that scripts/testenv.py starts."""
    assert settings.AWS_STORAGE_BUCKET_NAME, "run through scripts/testenv.py: these tests need real S3"


@pytest.fixture(scope="session")
def smtp_sink():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def site_url(live_server):
    """The site's address for this run: the live server's, in this process and in every worker.

    Links in the workers' emails (``SITE_URL``) then open pages of the live server the browser drives.
    """
    from django.conf import settings

    settings.SITE_URL = live_server.url
    return live_server.url


def database_url_of_this_run() -> str:
    """The test database's address, for another process (a worker, a second web process)."""
    from django.db import connection

    settings_dict = connection.settings_dict
    return (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
        f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    )


@pytest.fixture(scope="session")
def worker_env(django_db_setup, smtp_sink, site_url):
    """Environment of a worker process: same services, the test database, emails to the SMTP sink."""
    return {
        **os.environ,
        "DATABASE_URL": database_url_of_this_run(),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_sink.port),
        "SITE_URL": site_url,
    }


@pytest.fixture(scope="session")
def _session_worker(worker_env):
    worker = CeleryWorkerProcess(worker_env, name=f"session-{RUN_ID}")
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def celery_worker(_session_worker, transactional_db, smtp_sink, request):
    """A real Celery worker process consuming this run's queue, on the committed test database.

    When the test fails, what the worker logged during it is added to the report (CI shows no other trace).
    """
    smtp_sink.clear()
    request.node.worker_log_start = _session_worker.log_path.stat().st_size
    yield _session_worker
    _session_worker.wait_idle()
