"""Numbers and rates from the environment are validated once, at start-up, by a system check.

A bad value stops `manage.py check`, gunicorn's workers and the Celery worker with an error naming the
variable and what it expects (gdpr_portal/environment.py, gdpr_portal/checks.py), instead of a bare
ValueError at import or a service silently clamping it.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]


def run(tmp_path: Path, command: list[str], timeout: float = 120, **variables: str):
    # Embedded defaults in a throwaway folder: nothing here needs the test run's servers.
    unrelated = ("AWS_", "DATABASE_", "CELERY_", "RGPD_", "API_", "UPLOAD_", "EMAIL_")
    base = {k: v for k, v in os.environ.items() if not k.startswith(unrelated)}
    environment = {**base, "GDPR_PORTAL_VAR_DIR": str(tmp_path), **variables}
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=timeout)


def manage_check(tmp_path: Path, **variables: str):
    return run(tmp_path, [sys.executable, "manage.py", "check"], **variables)


# All bad values are reported at once: each group is one start of `manage.py check`, one value per variable.
BAD_VALUE_GROUPS = [
    [
        ("RGPD_EXPORT_PART_SIZE", "abc", "a whole number of at least 1"),
        ("RGPD_EXPORT_LEASE_SECONDS", "-5", "a whole number of at least 1"),
        ("RGPD_ANONYMISATION_CHUNK_SIZE", "2.5", "a whole number of at least 1"),
        ("RGPD_ANONYMISATION_INLINE_MAX", "-1", "a whole number of at least 0"),
        ("RGPD_EXPORT_INLINE_MAX", "ten", "a whole number of at least 0"),
        ("RGPD_ARCHIVE_RETENTION_DAYS", "0", "a whole number of at least 1"),
        ("RGPD_EMAIL_MAX_RETRIES", "1000", "a whole number from 0 to 100"),
        ("RGPD_API_MAX_IDS", "0", "a whole number of at least 1"),
        ("UPLOAD_MAX_MB", "25MB", "a whole number of at least 1"),
        ("SESSION_COOKIE_AGE", "10", "a whole number of at least 60"),
        ("AXES_FAILURE_LIMIT", "none", "a whole number of at least 1"),
        ("API_EXPORT_RATE", "60/fortnight", 'a rate "<number of at least 1>/<second|minute|hour|day>"'),
        ("API_TOKEN_FAILURE_RATE", "0/hour", "a rate"),
    ],
    [("RGPD_EXPORT_PART_SIZE", "0", "a whole number of at least 1")],
]


@pytest.mark.parametrize("bad_values", BAD_VALUE_GROUPS)
def test_a_bad_value_stops_manage_check_naming_the_variable(tmp_path, bad_values):
    result = manage_check(tmp_path, **{variable: value for variable, value, _expected in bad_values})

    assert result.returncode != 0
    for variable, value, expected in bad_values:
        assert f"{variable}={value!r} is not valid: expected {expected}" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_smtp_port_out_of_range_is_named(tmp_path):
    result = manage_check(tmp_path, EMAIL_HOST="smtp.example.com", EMAIL_PORT="70000")

    assert result.returncode != 0
    assert "EMAIL_PORT='70000' is not valid: expected a whole number from 1 to 65535" in result.stderr


def test_a_good_configuration_passes_and_is_used(tmp_path):
    good = {
        "RGPD_EXPORT_PART_SIZE": "50",
        "RGPD_EXPORT_LEASE_SECONDS": "300",
        "RGPD_ANONYMISATION_INLINE_MAX": "0",
        "RGPD_EMAIL_MAX_RETRIES": "0",
        "UPLOAD_MAX_MB": "3",
        "API_EXPORT_RATE": " 5 / minute",  # read as DRF needs it: "5/minute"
        "RGPD_API_MAX_IDS": "",  # empty = unset: the default
    }
    result = manage_check(tmp_path, **good)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout

    shown = run(
        tmp_path,
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.RGPD_EXPORT_PART_SIZE, s.RGPD_EXPORT_LEASE_SECONDS, s.RGPD_ANONYMISATION_INLINE_MAX, "
            "s.UPLOAD_MAX_BYTES, s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['rgpd_exports'], "
            "s.RGPD_API_MAX_IDS)",
        ],
        DJANGO_SETTINGS_MODULE="gdpr_portal.settings",
        **good,
    )
    assert shown.stdout.split() == ["50", "300", "0", str(3 * 1024 * 1024), "5/minute", "1000"]


def test_the_celery_worker_refuses_to_start_on_a_bad_value(tmp_path):
    worker = [sys.executable, "-m", "celery", "-A", "gdpr_portal", "worker", "--concurrency=1"]
    result = run(tmp_path, worker, timeout=90, RGPD_EXPORT_LEASE_SECONDS="soon")

    assert result.returncode != 0
    assert "celery refuses to start" in result.stderr
    assert "RGPD_EXPORT_LEASE_SECONDS='soon' is not valid" in result.stderr


def test_gunicorn_refuses_to_start_on_a_bad_value(tmp_path):
    # gunicorn runs no system check of its own: its workers do (gdpr_portal/wsgi.py), and fail to boot.
    gunicorn = [
        sys.executable,
        "-m",
        "gunicorn",
        "gdpr_portal.wsgi:application",
        "--config",
        "gunicorn.conf.py",
    ]
    gunicorn += ["--bind", f"127.0.0.1:{free_port()}", "--workers", "1"]
    result = run(tmp_path, gunicorn, timeout=60, UPLOAD_MAX_MB="big")

    assert result.returncode != 0  # the master stops too: no worker restarted again and again
    assert "gunicorn refuses to start" in result.stderr
    assert "UPLOAD_MAX_MB='big' is not valid" in result.stderr


def test_runserver_refuses_to_start_on_a_bad_value(tmp_path):
    server = [sys.executable, "manage.py", "runserver_embedded", f"127.0.0.1:{free_port()}", "--noreload"]
    result = run(tmp_path, server, timeout=60, RGPD_ARCHIVE_RETENTION_DAYS="ten")

    assert result.returncode != 0
    assert "RGPD_ARCHIVE_RETENTION_DAYS='ten' is not valid" in result.stderr


def test_make_run_stops_before_starting_anything_naming_the_variable(tmp_path):
    make_run = [sys.executable, "scripts/run.py", "--port", str(free_port()), "--contacts", "1"]
    result = run(tmp_path, make_run, timeout=120, RGPD_EXPORT_PART_SIZE="zero")

    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "RGPD_EXPORT_PART_SIZE='zero' is not valid: expected a whole number of at least 1" in output
    assert "nothing was started" in output and "Traceback" not in output
    assert "gdpr_portal is running" not in output
