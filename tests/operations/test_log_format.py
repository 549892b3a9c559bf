"""``LOG_FORMAT=json``: one JSON object per line; an exception is logged without its text."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from gdpr_portal.log_format import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]


def test_an_exception_is_logged_as_its_class_and_frames_without_its_text():
    logger = logging.getLogger("tests.log_format")
    try:
        raise ValueError('Key (email)=(jeanne.dupont@example.fr) already exists: "Dupont"')
    except ValueError:
        record = logger.makeRecord(
            logger.name, logging.ERROR, __file__, 1, "export %s failed", (3,), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["message"]) == (
        "ERROR",
        "tests.log_format",
        "export 3 failed",
    )
    assert entry["exc_type"] == "ValueError"
    assert any("test_an_exception_is_logged" in frame for frame in entry["stack"])
    assert "dupont" not in line.lower()


def test_the_settings_refuse_an_unknown_log_format(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**os.environ, "LOG_FORMAT": "xml", "GDPR_PORTAL_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    expected = "LOG_FORMAT='xml' is not valid: expected one of text, json"
    assert result.returncode != 0 and expected in result.stderr


def test_a_management_command_logs_json_lines_with_query_strings_stripped(tmp_path):
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('django.request').warning('Not Found: /admin/rgpd/rgpdcontact/?q=Dupont')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "LOG_FORMAT": "json", "GDPR_PORTAL_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    entries = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert [entry["message"] for entry in entries] == ["Not Found: /admin/rgpd/rgpdcontact/"]
