"""``make run-stack``: the production stack without Docker, in one terminal, on throwaway services.

Starts PostgreSQL, Redis and a SeaweedFS S3 gateway on free loopback ports with the helpers ``make test``
uses (their data lives in a temporary folder and is deleted at the end), then, with production settings
(``PRODUCTION=true``, a ``SECRET_KEY`` generated for this run, ``DEBUG`` off):

- migrates, creates the bucket and its lifecycle rule, collects the static files,
- catches the e-mails on a local SMTP server (as the compose file's Mailpit) and logs their subjects,
- creates an administrator with a generated password and its API token, and a few fake contacts,
- runs the processes of ``docker-compose.yml`` (``PROCESSES``, kept in step by
  ``tests/operations/test_stack_sync.py``):
  gunicorn, a Celery worker on the default queue, one on the export queue, and celery beat,
- prints the address and the administrator's login once ``/healthz`` answers 200.

Ctrl-C (or SIGTERM) stops the processes, then the services. ``LOG_FORMAT=json`` makes every line it
prints a JSON object. Options: ``--port`` (8000), ``--demo-contacts`` (20), ``--state-file`` (writes the
address, login, password and API token as JSON once ready: for scripts and the smoke test).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gdpr_portal.log_format import JsonFormatter  # noqa: E402
from harness.seaweed import SeaweedFS  # noqa: E402
from harness.servers import PostgresCluster, RedisServer  # noqa: E402
from harness.smtp import SmtpSink  # noqa: E402
from scripts.run import Child, answers, stop_all  # noqa: E402

PYTHON = sys.executable
QUEUE = "gdpr_portal"
EXPORT_QUEUE = "gdpr_portal.exports"
ADMIN_USERNAME = "admin"
# What run() starts before the processes, under docker-compose.yml's service names.
BACKING_SERVICES = ("postgres", "redis", "s3", "mailpit")

logger = logging.getLogger("run_stack")


def app_environment(
    *,
    port: int,
    database_url: str,
    redis_port: int,
    s3: dict[str, str],
    smtp_port: int,
    var_dir: Path,
    log_format: str,
) -> dict[str, str]:
    """The variables every process of the stack gets (the same names as docker-compose.yml's ``x-app``)."""
    return {
        "PRODUCTION": "true",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "localhost,127.0.0.1",
        "CSRF_TRUSTED_ORIGINS": f"http://localhost:{port},http://127.0.0.1:{port}",
        "SITE_URL": f"http://localhost:{port}",
        "TIME_ZONE": "Europe/Paris",
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": log_format,
        "GDPR_PORTAL_VAR_DIR": str(var_dir),
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
        "RGPD_EXPORT_QUEUE": EXPORT_QUEUE,
        "CACHE_URL": f"redis://127.0.0.1:{redis_port}/1",
        # Plain http on the loopback: no HTTPS redirect, no HSTS (as the compose file).
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        **{name: value for name, value in s3.items() if name.startswith("AWS_")},
        # A local mail catcher, as the compose file's Mailpit: run_stack logs each message's subject.
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "DEFAULT_FROM_EMAIL": "gdpr_portal <no-reply@gdpr-portal.local>",
        "RGPD_ARCHIVE_RETENTION_DAYS": "10",
        "RGPD_EXPORT_PART_SIZE": "200",
    }


def processes(*, port: int, var_dir: Path) -> dict[str, list[str]]:
    """The long-running processes, named as docker-compose.yml's services."""
    # --quiet: no startup banner, so that with LOG_FORMAT=json every line is a log record.
    celery = [PYTHON, "-m", "celery", "-A", "gdpr_portal", "--quiet"]
    return {
        "web": [
            *(PYTHON, "-m", "gunicorn", "gdpr_portal.wsgi:application", "--config", "gunicorn.conf.py"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "60"),
            # gunicorn's control socket defaults to one per user: this run's stays in its own folder.
            *("--control-socket", str(var_dir / "gunicorn.ctl")),
        ],
        "worker": [*celery, "worker", "--loglevel=INFO", "--concurrency=2", "-Q", QUEUE, "-n", "worker@%h"],
        "export-worker": [
            *(*celery, "worker", "--loglevel=INFO", "--concurrency=2"),
            *("-Q", EXPORT_QUEUE, "-n", "exports@%h"),
        ],
        "beat": [*celery, "beat", "--loglevel=INFO"],
    }


class StackChild(Child):
    """A process of the stack; with ``LOG_FORMAT=json`` its lines pass as they are, and a line that is not
    a JSON object (Celery's shutdown notice) is wrapped in one."""

    json_lines = False

    def _forward_output(self) -> None:
        assert self.process.stdout is not None
        for raw in iter(self.process.stdout.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            if not self.json_lines:
                sys.stdout.write(f"[{self.name:13}] {line}\n")
            elif line.startswith("{"):
                sys.stdout.write(line + "\n")
            elif line.strip():
                logging.getLogger(f"run_stack.{self.name}").info(line)
            sys.stdout.flush()


def configure_logging(log_format: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("run-stack: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # run_stack.<process> loggers propagate to this one's handler only


def manage(env: dict[str, str], *args: str) -> str:
    """Run a management command; its output is shown only if it fails (it is not a log line)."""
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def prepare(env: dict[str, str], demo_contacts: int) -> dict[str, str]:
    """Database, bucket, static files, the administrator and demo contacts; return its login and token."""
    output = manage(env, "prepare_stack", "--username", ADMIN_USERNAME, "--contacts", str(demo_contacts))
    return json.loads(output.strip().splitlines()[-1])


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def run(options: argparse.Namespace, stopping: threading.Event) -> int:
    log_format = os.environ.get("LOG_FORMAT", "text")
    workdir = Path(tempfile.mkdtemp(prefix="gdpr-stack-"))
    postgres, redis, mail = PostgresCluster(), RedisServer(), SmtpSink()
    seaweed = SeaweedFS.create(workdir / "seaweedfs")
    children: list[Child] = []
    try:
        mail.start()
        logger.info("starting PostgreSQL, Redis and SeaweedFS S3 (throwaway, in %s)", workdir)
        s3_starting = threading.Thread(target=seaweed.start, daemon=True)
        s3_starting.start()
        # Ctrl-C reaches the whole foreground process group: Redis must not stop before the workers do, so
        # it starts with SIGINT blocked (inherited); it stops on the SIGTERM of redis.stop(), at the end.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            postgres.start()
            redis.start()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        s3_starting.join()
        if not seaweed.pid:
            raise RuntimeError("SeaweedFS did not start")
        bucket = "gdpr-portal-" + uuid.uuid4().hex[:8]
        seaweed.client().create_bucket(Bucket=bucket)
        settings_env = app_environment(
            port=options.port,
            database_url=postgres.url,
            redis_port=redis.port,
            s3=seaweed.env(bucket),
            smtp_port=mail.port,
            var_dir=workdir / "var",
            log_format=log_format,
        )
        env = {**os.environ, **settings_env, "PYTHONUNBUFFERED": "1"}
        logger.info("migrating, creating the bucket, collecting static files, creating the administrator")
        admin = prepare(env, options.demo_contacts)
        os.environ.update(settings_env)  # the children inherit it (Child takes os.environ)
        StackChild.json_lines = log_format == "json"
        for name, command in processes(port=options.port, var_dir=workdir / "var").items():
            children.append(StackChild(name, command))
        deadline = time.monotonic() + 60
        while not healthy(options.port):
            if stopping.is_set():
                return 0
            if not children[0].running() or time.monotonic() > deadline:
                logger.error("the web server did not become healthy")
                return 1
            time.sleep(0.3)
        url = f"http://localhost:{options.port}/admin/"
        if options.state_file:
            state = {"url": url, **admin}
            Path(options.state_file).write_text(json.dumps(state))
        logger.info(
            "gdpr_portal is running: %s (log in as %s / %s; API token %s). Press Ctrl-C to stop everything.",
            url,
            admin["username"],
            admin["password"],
            admin["token"],
        )
        mails_seen = 0
        while not stopping.is_set():
            dead = [child for child in children if not child.running()]
            if dead:
                logger.error("%s stopped unexpectedly; stopping the others", dead[0].name)
                return 1
            for message in mail.messages[mails_seen:]:
                # The subject only: the recipient's address is personal data.
                logger.info("email sent (local mail catcher): %s", message["Subject"])
            mails_seen = len(mail.messages)
            stopping.wait(0.5)
        logger.info("stopping web, workers and beat")
        return 0
    except (RuntimeError, subprocess.SubprocessError) as error:
        logger.error("%s", error)
        return 1
    finally:
        stop_all(children, grace=20)
        seaweed.stop()
        mail.stop()
        redis.stop()
        postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        logger.info("stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--demo-contacts", type=int, default=20)
    parser.add_argument("--state-file", help="write the address, login and API token here once ready")
    options = parser.parse_args(argv)
    configure_logging(os.environ.get("LOG_FORMAT", "text"))
    if answers(options.port):
        logger.error("port %s is already in use: choose another with --port", options.port)
        return 1
    stopping = threading.Event()
    # Ctrl-C, a kill, or the terminal closing: the children live in their own sessions, stop them here.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: stopping.set())
    return run(options, stopping)


if __name__ == "__main__":
    sys.exit(main())
