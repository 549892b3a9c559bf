"""``make run`` (scripts/run.py) on embedded defaults: it serves the back office (login page, CSS, error
pages, a long search on SQLite) without the debug page, and Ctrl-C stops everything.

One ``make run`` serves the whole module (starting it takes a while); its last test stops it.
"""

import http.cookiejar
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.support.embedded import embedded_env, free_port

ROOT = Path(__file__).resolve().parents[2]


def descendants_using(var_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["pid"]):
        try:
            if process.environ().get("GDPR_PORTAL_VAR_DIR") == str(var_dir):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


@dataclass
class RunningApp:
    port: int
    var_dir: Path
    log_path: Path
    process: subprocess.Popen

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str, opener=None) -> tuple[int, str, dict]:
        """A GET as a browser does it: status, body and headers, errors (4xx, 5xx) included."""
        try:
            with (opener or urllib.request.build_opener()).open(self.url(path), timeout=10) as response:
                return response.status, response.read().decode(errors="replace"), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace"), dict(error.headers)

    def stop(self) -> None:
        """Ctrl-C, as in the terminal."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("make-run")
    port = free_port()
    var_dir = tmp_path / "var"
    env = embedded_env(var_dir)
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "scripts/run.py", "--port", str(port), "--contacts", "4", "--noreload"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    app = RunningApp(port, var_dir, log_path, process)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(app.url("/admin/login/"), timeout=5):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"make run did not serve the login page:\n{app.output()}")
        yield app
    finally:
        if process.poll() is None:
            app.stop()


def log_in(app: RunningApp, username: str, password: str):
    """A browser session (cookies) logged in through the login form."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    _status, page, _headers = app.get("/admin/login/", opener)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = {"csrfmiddlewaretoken": token, "username": username, "password": password, "next": "/admin/"}
    with opener.open(app.url("/admin/login/"), data=urllib.parse.urlencode(form).encode(), timeout=10) as r:
        assert r.url.endswith("/admin/"), "the login failed"
    return opener


def test_make_run_serves_the_login_page_with_worker_and_beat_beside_it(make_run):
    status, html, _headers = make_run.get("/admin/login/")
    assert status == 200
    assert "gdpr_portal" in html and 'name="password"' in html
    assert "Connexion" in html  # French by default

    # The worker and beat run beside the web server, and the demo data was seeded once
    var_dir = make_run.var_dir
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(descendants_using(var_dir)) < 4:
        time.sleep(0.5)
    commands = [" ".join(p.cmdline()) for p in descendants_using(var_dir)]
    assert any("runserver" in c for c in commands), commands
    assert any("celery" in c and " worker" in c for c in commands), commands
    assert any("celery" in c and " beat" in c for c in commands), commands
    assert (var_dir / ".demo-seeded").exists()
    banner = f"gdpr_portal is running: http://127.0.0.1:{make_run.port}/admin/"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and banner not in make_run.output():
        time.sleep(0.2)
    output = make_run.output()
    assert banner in output
    assert "rgpd" in output and "backoffice" in output


def test_make_run_shows_the_back_office_404_not_the_debug_page_and_still_serves_css(make_run):
    # An unknown address, and an id no table can hold: the back office's own 404 page, in French
    for path in ("/no-such-page/", "/contacts/99999999999999999999999/"):
        status, html, _headers = make_run.get(path)
        assert status == 404, path
        assert "Page introuvable (404)" in html and 'id="site-name"' in html, html[:500]
        # Not Django's debug 404 (its URL list) nor a traceback
        assert "URLconf" not in html and "Traceback" not in html
    # Under /api/, the API's own error body, in French
    status, body, _headers = make_run.get("/api/rgpd/exports/0/")
    assert status == 404 and json.loads(body) == {"detail": "Introuvable.", "code": "not_found"}

    # The admin's CSS and the back office's own are served with debug off, straight from the sources
    for path in ("/static/admin/css/base.css", "/static/gdpr_portal/css/back-office.css"):
        status, css, headers = make_run.get(path)
        assert status == 200, path
        assert headers["Content-Type"].startswith("text/css") and "{" in css
    assert not (make_run.var_dir / "static").exists()  # no collectstatic needed


def test_make_run_on_sqlite_shortens_a_thousand_word_search_instead_of_failing(make_run):
    # SQLite refuses a query of a thousand words (its expression tree is too deep): only ten are searched
    admin = log_in(make_run, "admin", "admin")
    words = urllib.parse.quote_plus(" ".join(f"mot{n}" for n in range(1000)))
    for changelist in ("/admin/contacts/contact/", "/admin/rgpd/rgpdcontact/"):
        status, html, _headers = make_run.get(f"{changelist}?q={words}", admin)
        assert status == 200, html[-3000:]
        assert "La recherche était trop longue" in html
        assert 'value="mot0 mot1 mot2 mot3 mot4 mot5 mot6 mot7 mot8 mot9"' in html
        assert "Traceback" not in html


def test_ctrl_c_stops_web_worker_and_beat(make_run):
    make_run.stop()

    assert make_run.process.returncode == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and descendants_using(make_run.var_dir):
        time.sleep(0.2)
    assert descendants_using(make_run.var_dir) == []
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", make_run.port)) != 0
