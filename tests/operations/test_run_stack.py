"""``make run-stack``: the production stack starts on free ports, exports and anonymises through the REST API,
prints JSON lines without personal data (``LOG_FORMAT=json``), and stops cleanly on SIGTERM (Ctrl-C)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.servers import answers, free_port
from tests.support.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
# This run's services are not the stack's: it starts its own.
NOT_INHERITED = ("AWS_", "DATABASE_", "CELERY_", "CACHE_", "EMAIL_", "GDPR_PORTAL_", "SEAWEEDFS_", "SITE_URL")
STARTUP_TIMEOUT = 120


@dataclass
class Stack:
    process: subprocess.Popen
    port: int
    token: str
    log_path: Path
    personal_values: set[str] = field(default_factory=set)

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
        )
        # Not sent on to the presigned S3 address a download redirects to.
        request.add_unredirected_header("Authorization", f"Token {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback stack
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Stack:
    folder = tmp_path_factory.mktemp("run-stack")
    port, state_file, log_path = free_port(), folder / "state.json", folder / "stack.log"
    env = {name: value for name, value in os.environ.items() if not name.startswith(NOT_INHERITED)}
    command = [sys.executable, "scripts/run_stack.py", "--port", str(port), "--demo-contacts", "2"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*command, "--state-file", str(state_file)],
            cwd=ROOT,
            env={**env, "LOG_FORMAT": "json"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not state_file.exists():
            assert process.poll() is None, f"run_stack exited: {log_path.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the stack did not start: {log_path.read_text()[-3000:]}"
            time.sleep(0.5)
        state = json.loads(state_file.read_text())
        yield Stack(process=process, port=port, token=state["token"], log_path=log_path)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def archive_of(stack: Stack, export_id: int) -> dict:
    """Wait for the export to be ready, download its archive, return the person's personal_data.json."""

    def ready() -> dict | None:
        status, body = stack.api("GET", f"/api/rgpd/exports/{export_id}/")
        assert status == 200, body
        data = json.loads(body)
        return data if data["status"] == "ready" else None

    export = wait_until(ready, timeout=60, interval=0.5, message="the archive to be ready")
    status, archive = stack.api("GET", export["parts"][0]["download_url"].split(str(stack.port), 1)[1])
    assert status == 200
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        name = next(name for name in zipped.namelist() if name.endswith("personal_data.json"))
        return json.loads(zipped.read(name))


def test_an_export_and_an_anonymisation_through_the_api_of_the_running_stack(stack):
    status, body = stack.api("GET", "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    # Production static files: collected, and served by WhiteNoise.
    login = urllib.request.urlopen(f"http://127.0.0.1:{stack.port}/admin/login/", timeout=10)  # noqa: S310
    assert login.status == 200 and b"gdpr_portal" in login.read()

    status, body = stack.api("POST", "/api/rgpd/exports/", {"contacts": [1]})
    assert status == 202, body
    fields = archive_of(stack, json.loads(body)["id"])["subject"]["fields"]
    assert fields["last_name"] and fields["email"]
    stack.personal_values = {fields["last_name"], fields["email"], fields["phone"]} - {"", None}

    status, body = stack.api("POST", "/api/rgpd/anonymisations/", {"contacts": [1], "confirm": True})
    assert status in (201, 202), body
    anonymisation_path = f"/api/rgpd/anonymisations/{json.loads(body)['id']}/"

    def anonymised_with_files_deleted() -> bool:
        result = json.loads(stack.api("GET", anonymisation_path)[1])
        return result["status"] == "done" and result["results"][0].get("files_deleted") is True

    wait_until(anonymised_with_files_deleted, timeout=60, interval=0.5, message="the anonymisation")
    result = json.loads(stack.api("GET", anonymisation_path)[1])
    assert result["results"][0]["result"] == "anonymised"

    # A new export of the person shows what the stack now holds: nothing identifying.
    status, body = stack.api("POST", "/api/rgpd/exports/", {"contacts": [1]})
    assert status == 202, body
    after = archive_of(stack, json.loads(body)["id"])
    assert fields["last_name"] not in json.dumps(after) and fields["email"] not in json.dumps(after)
    assert after["subject"]["fields"]["last_name"] == "xxx"


def test_it_prints_json_lines_without_personal_data_and_stops_cleanly_on_sigterm(stack):
    stack.process.send_signal(signal.SIGTERM)
    assert stack.process.wait(timeout=60) == 0
    assert not answers(stack.port), "gunicorn still answers after the stop"

    lines = [line for line in stack.lines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(record) for record in records)
    loggers = {record["logger"] for record in records}
    # The processes' own records, not lines wrapped by run_stack: web, workers (both queues) and beat.
    assert {"gunicorn.access", "celery.apps.worker", "celery.beat"} <= loggers
    ready = [record["message"] for record in records if record["message"].endswith(" ready.")]
    assert any(m.startswith("worker@") for m in ready) and any(m.startswith("exports@") for m in ready)
    stopping = next(
        i for i, record in enumerate(records) if record["message"] == "stopping web, workers and beat"
    )
    wrapped_before_stop = [r for r in records[:stopping] if r["logger"].startswith("run_stack.")]
    assert not wrapped_before_stop, "a process printed a line that is not JSON"
    assert records[-1]["message"] == "stopped"
    assert any(r["message"].startswith("email sent (local mail catcher): ") for r in records)

    text = "\n".join(lines)
    assert stack.personal_values, "the export test did not run"
    for value in stack.personal_values:
        assert value not in text
    assert "/api/rgpd/exports/" in text  # the requests were logged, by path only
