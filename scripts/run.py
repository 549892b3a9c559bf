"""``make run``: the whole application on embedded defaults, in one terminal.

Migrates the database, seeds demo data the first time (a marker file in ``var/`` remembers it),
prints the address and the demo logins, then runs together:

- the web server (Django ``runserver`` on 127.0.0.1:8000 by default),
- a Celery worker (kombu ``filesystem://`` queue in ``var/`` unless ``CELERY_BROKER_URL`` says otherwise),
- celery beat (the periodic purge of expired archives).

Ctrl-C stops all of them. No external server is needed.

Options: ``--port`` (or ``PORT``), ``--contacts`` / ``--documents-per-contact`` for the first seed,
``--noreload``. ``GDPR_PORTAL_VAR_DIR`` moves ``var/`` elsewhere. Links in emails point to the port served
(``SITE_URL`` is set to ``http://127.0.0.1:<port>`` unless given).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SEED_MARKER = ".demo-seeded"


def var_dir() -> Path:
    return Path(os.environ.get("GDPR_PORTAL_VAR_DIR", ROOT / "var"))


def manage(*args: str) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], cwd=ROOT, check=True)


def seed_once(contacts: int, documents: int) -> bool:
    """Seed demo data unless it was done before for this ``var/``; return whether it seeded now."""
    marker = var_dir() / SEED_MARKER
    if marker.exists():
        return False
    print(f"run: first start, seeding {contacts} demo contacts with {documents} documents each…", flush=True)
    manage("seed_demo", "--contacts", str(contacts), "--documents-per-contact", str(documents))
    marker.write_text(time.strftime("%Y-%m-%d %H:%M:%S\n"))
    return True


def answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Child:
    """A child process in its own process group, its output prefixed with its name."""

    def __init__(self, name: str, command: list[str]):
        self.name = name
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # so stopping it also stops its own children (reloader, pool)
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._pump = threading.Thread(target=self._forward_output, daemon=True)
        self._pump.start()

    def _forward_output(self) -> None:
        assert self.process.stdout is not None
        for line in iter(self.process.stdout.readline, b""):
            sys.stdout.write(f"[{self.name:6}] {line.decode(errors='replace')}")
            sys.stdout.flush()

    def running(self) -> bool:
        return self.process.poll() is None

    def terminate(self) -> None:
        """Ask the child to stop (Celery's warm shutdown lets it finish its pool itself)."""
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)

    def kill_group(self) -> None:
        """Kill whatever is left in the child's process group (e.g. the autoreloader's server)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


def stop_all(children: list[Child], grace: float = 10.0) -> None:
    for child in children:
        child.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
    for child in children:
        child.kill_group()
        child.process.wait()


def site_url_default(port: int) -> None:
    """Links in emails (built by workers from ``SITE_URL``) lead to the port this run serves."""
    os.environ.setdefault("SITE_URL", f"http://127.0.0.1:{port}")


def mail_line() -> str:
    """Where emails go, read from the settings (``GDPR_PORTAL_VAR_DIR`` or ``EMAIL_HOST`` move them)."""
    from django.conf import settings  # noqa: PLC0415 - needs Django settings configured

    if settings.EMAIL_HOST:
        return f"  Emails are sent through {settings.EMAIL_HOST}:{settings.EMAIL_PORT}."
    return f"  Emails are printed here and kept in {settings.EMAIL_FILE_PATH}/."


def banner(port: int, seeded_now: bool) -> str:
    from contacts.demo import DEMO_ACCOUNTS  # noqa: PLC0415 - needs Django settings configured

    lines = [
        "",
        "=" * 72,
        f"  gdpr_portal is running: http://127.0.0.1:{port}/admin/",
        "  Demo accounts (login / password):",
        *(f"    {a.username:<11} / {a.password:<11} {a.role}" for a in DEMO_ACCOUNTS),
        "  Demo data: "
        + ("just seeded." if seeded_now else f"seeded before (delete {var_dir()} to start over)."),
        mail_line(),
        "  Press Ctrl-C to stop everything.",
        "=" * 72,
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--contacts", type=int, default=int(os.environ.get("DEMO_CONTACTS", "200")))
    parser.add_argument("--documents-per-contact", type=int, default=3)
    parser.add_argument(
        "--noreload", action="store_true", help="do not restart the web server on code changes"
    )
    options = parser.parse_args(argv)

    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gdpr_portal.settings")
    site_url_default(options.port)
    var_dir().mkdir(parents=True, exist_ok=True)
    if answers(options.port):
        print(
            f"run: port {options.port} is already in use (another `make run`?). Use --port.", file=sys.stderr
        )
        return 1

    try:
        # migrate runs the system checks first: a bad setting stops here, named, before anything starts.
        manage("migrate", "--noinput")
        if os.environ.get("AWS_STORAGE_BUCKET_NAME"):
            # On S3: the bucket and the archives' lifecycle rule (the 10-day safety net).
            manage("rgpd_setup_storage")
        seeded_now = seed_once(options.contacts, options.documents_per_contact)
    except subprocess.CalledProcessError as exc:
        print(f"run: `manage.py {exc.cmd[2]}` failed (see above); nothing was started.", file=sys.stderr)
        return 1

    import django

    django.setup()

    # Django's runserver, with room for more simultaneous connections (contacts/management/commands).
    web = [PYTHON, "manage.py", "runserver_embedded", f"127.0.0.1:{options.port}"]
    if options.noreload:
        web.append("--noreload")
    celery = [PYTHON, "-m", "celery", "-A", "gdpr_portal"]
    children: list[Child] = []
    stopping = threading.Event()

    def request_stop(signum, frame):
        stopping.set()

    # Ctrl-C, a kill, or the terminal closing: the children live in their own sessions, stop them here.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, request_stop)
    try:
        children.append(Child("web", web))
        children.append(Child("worker", [*celery, "worker", "--loglevel=INFO", "--concurrency=2"]))
        children.append(Child("beat", [*celery, "beat", "--loglevel=INFO"]))
        deadline = time.monotonic() + 60
        while not answers(options.port) and not stopping.is_set():
            if not children[0].running() or time.monotonic() > deadline:
                print("run: the web server did not start.", file=sys.stderr)
                return 1
            time.sleep(0.2)
        if not stopping.is_set():
            print(banner(options.port, seeded_now), flush=True)
        while not stopping.is_set():
            dead = [child for child in children if not child.running()]
            if dead:
                print(f"run: {dead[0].name} stopped unexpectedly; stopping the others.", file=sys.stderr)
                return 1
            stopping.wait(0.5)
        print("\nrun: stopping web, worker and beat…", flush=True)
        return 0
    finally:
        stop_all(children)
        print("run: stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
