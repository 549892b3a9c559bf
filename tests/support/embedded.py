"""The application on its embedded defaults (``make run``: SQLite, filesystem queue, local files), in
subprocesses, and a small HTTP client to talk to it as a browser or an API caller would."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# make run uses no external server: none of the services the test wrapper configures.
SERVICE_VARIABLES = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_TASK_DEFAULT_QUEUE",
    "AWS_STORAGE_BUCKET_NAME",
    "AWS_S3_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "EMAIL_HOST",
    "DEBUG",  # make run as a user starts it: debug mode off
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """This environment without the test services, with its own ``var/`` (database, queue, files)."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    return {**env, "GDPR_PORTAL_VAR_DIR": str(var_dir), **extra}


class EmbeddedApp:
    """``scripts/run.py`` (what ``make run`` starts: web server, worker ``--concurrency=2``, beat)."""

    def __init__(self, tmp_path: Path, *, contacts: int, documents_per_contact: int = 1, **env: str):
        self.var_dir = tmp_path / "var"
        self.env = embedded_env(self.var_dir, **env)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "run.log"
        self.arguments = ["--contacts", str(contacts), "--documents-per-contact", str(documents_per_contact)]
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> None:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "scripts/run.py", "--port", str(self.port), "--noreload", *self.arguments],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        banner = f"gdpr_portal is running: {self.url}/admin/"
        deadline = time.monotonic() + timeout
        while banner not in self.log():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"make run did not start:\n{self.log()[-5000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Ctrl-C, as a user stops ``make run``."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Read the app's SQLite file directly (what a user would see on the pages, without the pages)."""
        with contextlib.closing(sqlite3.connect(self.var_dir / "db.sqlite3", timeout=30)) as db:
            return db.execute(sql, params).fetchall()

    def api_token(self, username: str) -> str:
        """Give ``username`` an API token (``Authorization: Token …``), as ``drf_create_token`` would.

        Written straight into the file: a ``manage.py`` process would take seconds to start.
        """
        key = secrets.token_hex(20)
        with contextlib.closing(sqlite3.connect(self.var_dir / "db.sqlite3", timeout=30)) as db, db:
            db.execute(
                "INSERT INTO authtoken_token (key, user_id, created) "
                "SELECT ?, id, datetime('now') FROM auth_user WHERE username = ?",
                (key, username),
            )
        return key


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 is an answer to look at, not to follow


class HttpClient:
    """A browser session (cookies, CSRF) or an API caller (token) against a live server."""

    def __init__(self, base_url: str, *, token: str = ""):
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect
        )
        self.headers = {"Authorization": f"Token {token}"} if token else {}

    def request(self, method: str, path: str, *, form: dict | None = None, json_body=None):
        """(status, body text, headers); never raises for an HTTP status."""
        headers = {**self.headers, "Referer": self.base_url + path}
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace"), dict(error.headers)

    def json(self, method: str, path: str, body=None) -> tuple[int, dict]:
        status, text, _headers = self.request(method, path, json_body=body)
        try:
            return status, json.loads(text)
        except ValueError:
            return status, {"raw": text[:2000]}

    def form_fields(self, path: str) -> dict[str, str]:
        """The hidden fields of the page's form (CSRF token, confirmation token, …)."""
        status, page, _headers = self.request("GET", path)
        assert status == 200, (status, page[:2000])
        return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))

    def login(self, username: str, password: str) -> None:
        fields = self.form_fields("/admin/login/")
        status, page, headers = self.request(
            "POST",
            "/admin/login/",
            form={**fields, "username": username, "password": password, "next": "/admin/"},
        )
        assert status == 302, (status, page[:2000])
