"""Logs hold no personal data: a journey on ``make run`` (runserver, worker, beat) that searches a contact by
name, exports and downloads leaves neither the contact's name, email nor phone in any log line, and no
access log line carries a query string; gunicorn, as the image and docker-compose run it, neither."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import yaml

from tests.support.embedded import EmbeddedApp, HttpClient, free_port
from tests.support.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
# A contact nobody else is called, so that finding any of these in a log can only be a leak.
PERSON = {
    "first_name": "Zéphirine",
    "last_name": "Quatremarre",
    "email": "zephirine.quatremarre@example.org",
    "phone": "+33 6 71 82 93 04",
}
ACCESS_LINE = re.compile(r'"(GET|POST|HEAD|PUT|PATCH|DELETE|OPTIONS) (\S+) HTTP/[\d.]+"')


def leaks(text: str) -> list[str]:
    """Which of the contact's values ``text`` holds: as typed, URL-encoded, JSON-escaped, digits only."""
    digits = re.sub(r"\D", "", PERSON["phone"])
    values = {digits, "0" + digits.removeprefix("33")}
    for value in PERSON.values():
        values |= {value, urllib.parse.quote_plus(value), urllib.parse.quote(value), json.dumps(value)[1:-1]}
    return sorted(value for value in values if value.lower() in text.lower())


def test_search_export_and_download_on_make_run_leave_no_personal_data_in_the_logs(tmp_path):
    # Given `make run` (runserver, worker and beat on the embedded defaults), its output in one log
    app = EmbeddedApp(tmp_path, contacts=3)
    try:
        app.start(timeout=180)
        # ... and a client contact of the demo data, given a name, email and phone of its own
        with contextlib.closing(sqlite3.connect(app.var_dir / "db.sqlite3", timeout=30)) as db, db:
            contact_id = db.execute("SELECT id FROM contacts_contact ORDER BY id LIMIT 1").fetchone()[0]
            db.execute(
                "UPDATE contacts_contact SET first_name=?, last_name=?, email=?, phone=? WHERE id=?",
                (*PERSON.values(), contact_id),
            )

        # When the RGPD officer logs in and searches the contact by name on the RGPD page
        browser = HttpClient(app.url)
        browser.login("rgpd", "rgpd")
        query = urllib.parse.urlencode({"q": PERSON["last_name"]})
        status, page, _ = browser.request("GET", f"/admin/rgpd/rgpdcontact/?{query}")
        assert status == 200 and PERSON["email"] in page

        # ... exports it with the row's box icon and confirms
        export_path = f"/admin/rgpd/exportrequest/contact/{contact_id}/export/"
        status, _, headers = browser.request("POST", export_path, form=browser.form_fields(export_path))
        request_path = urllib.parse.urlsplit(headers["Location"]).path
        assert re.fullmatch(r"/admin/rgpd/exportrequest/\d+/change/", request_path), headers

        # ... waits for the archive and downloads it
        def download_link():
            body = browser.request("GET", request_path)[1]
            found = re.search(r'href="(/admin/rgpd/exportrequest/\d+/parts/1/download/)"', body)
            return found and found.group(1)

        download_path = wait_until(download_link, timeout=120, interval=1, message="the archive to be ready")
        with browser.opener.open(app.url + download_path, timeout=60) as response:
            archive = response.read()
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            record = json.loads(zipped.read(f"contact-{contact_id}/personal_data.json"))
        assert record["subject"]["fields"]["email"] == PERSON["email"]  # the journey really exported them
        wait_until(lambda: list((app.var_dir / "mail").glob("*.log")), timeout=60, message="the email")
    finally:
        app.stop()

    # Then no log line of the web server, the worker or beat holds the contact's name, email or phone
    output = app.log()
    assert "[web   ]" in output and "[worker]" in output and "[beat  ]" in output
    assert leaks(output) == [], [line for line in output.splitlines() if leaks(line)]
    # ... and the access log lines carry no query string, though the search had one
    requests = [match.group(2) for match in ACCESS_LINE.finditer(output)]
    assert "/admin/rgpd/rgpdcontact/" in requests and download_path in requests, requests
    assert [path for path in requests if "?" in path] == []


def dockerfile_command() -> list[str]:
    line = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    return json.loads(line.removeprefix("CMD "))


def test_gunicorn_as_the_image_runs_it_logs_neither_query_strings_nor_referers(tmp_path, worker_env):
    # Given the web command of the image and of docker-compose.yml (same settings file)
    command = dockerfile_command()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "--config gunicorn.conf.py" in " ".join(shlex.split(compose["services"]["web"]["command"]))
    assert command[:4] == ["gunicorn", "gdpr_portal.wsgi:application", "--config", "gunicorn.conf.py"]
    port = free_port()
    bind = command.index("--bind")
    command[bind + 1] = f"127.0.0.1:{port}"
    command[command.index("--workers") + 1] = "1"
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", *command], cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}"

            def answers():
                try:
                    with urllib.request.urlopen(f"{base}/admin/login/", timeout=2):
                        return True
                except OSError:
                    return False

            wait_until(answers, timeout=60, message="gunicorn to answer")
            # When a page is asked for with a name in its query string, coming from a search page
            query = urllib.parse.urlencode({"q": PERSON["last_name"], "email": PERSON["email"]})
            referer = f"{base}/admin/rgpd/rgpdcontact/?{query}"
            request = urllib.request.Request(f"{base}/admin/login/?{query}", headers={"Referer": referer})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
            try:
                urllib.request.urlopen(f"{base}/no-such-page/?{query}", timeout=10)  # noqa: S310
            except urllib.error.HTTPError as error:
                assert error.code == 404
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)

    # Then the access log has the method, path and status, and neither the query nor the referer
    output = log_path.read_text(errors="replace")
    requests = [match.group(2) for match in ACCESS_LINE.finditer(output)]
    assert "/admin/login/" in requests and "/no-such-page/" in requests, output
    assert [path for path in requests if "?" in path] == []
    assert leaks(output) == [], output
    assert "rgpdcontact" not in output
