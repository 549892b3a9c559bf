"""A real Celery worker in a subprocess, on this run's queue."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class CeleryWorkerProcess:
    """``celery -A gdpr_portal worker`` on the run's queue, in a process group of its own.

    The tests' worker: a prefork pool of ``concurrency`` processes. A subclass or the keywords choose
    another pool (``-P solo``), log level or program run by ``python -m`` (the benchmark's worker).
    """

    program = "celery"  # the module ``python -m`` runs, with Celery's command line
    log_level = "INFO"
    ready_timeout = 60.0

    def __init__(self, env: dict[str, str], *, name: str, concurrency: int = 2, pool: str = "prefork"):
        self.env = env
        self.hostname = f"{name}@localhost"
        self.concurrency = concurrency
        self.pool = pool
        self.process: subprocess.Popen | None = None
        self.log_path = Path(env.get("GDPR_PORTAL_VAR_DIR", "/tmp")) / f"worker-{name}.log"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            self.program,
            "-A",
            "gdpr_portal",
            "worker",
            "-n",
            self.hostname,
            "-c",
            str(self.concurrency),
            "-P",
            self.pool,
            "-Q",
            self.env["CELERY_TASK_DEFAULT_QUEUE"],
            "-l",
            self.log_level,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]

    def start(self, timeout: float | None = None) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready(self.ready_timeout if timeout is None else timeout)

    @property
    def pid(self) -> int:
        assert self.process is not None, "the worker was not started"
        return self.process.pid

    def wait_ready(self, timeout: float) -> None:
        from gdpr_portal.celery import app

        assert self.process is not None, "the worker was not started"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log_path.read_text()[-3000:]}")
            if app.control.ping(destination=[self.hostname], timeout=0.5):
                return
        raise RuntimeError(f"worker not ready after {timeout}s: {self.log_path.read_text()[-3000:]}")

    def wait_idle(self, *, timeout: float = 60) -> None:
        """Wait until nothing is queued, reserved or running (for half a second in a row).

        A test must not end while a task still holds row locks: the database flush would deadlock.
        """
        from amqp.exceptions import ChannelError
        from django.conf import settings

        from gdpr_portal.celery import app

        inspector = app.control.inspect(destination=[self.hostname], timeout=1)
        deadline, quiet_since = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            with app.connection_for_read() as conn:
                try:
                    # kombu's channels all have queue_declare; its stubs type the abstract StdChannel.
                    declared = conn.default_channel.queue_declare(  # type: ignore[attr-defined]
                        queue=settings.CELERY_TASK_DEFAULT_QUEUE, passive=True
                    )
                    waiting = declared.message_count
                except ChannelError:  # Redis drops an empty queue's key: nothing is waiting
                    waiting = 0
            active, reserved = inspector.active(), inspector.reserved()
            busy = (
                waiting
                or active is None
                or reserved is None
                or any(active.values())
                or any(reserved.values())
            )
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 0.5:
                return
            time.sleep(0.2)
        raise AssertionError(f"the worker {self.hostname} did not become idle")

    @contextlib.contextmanager
    def paused(self):
        """The worker stops taking tasks from the queue until the block ends: they wait there, queued.

        For a test that must see a job before it runs (a page rendered while the export is still waiting).
        """
        from django.conf import settings

        from gdpr_portal.celery import app

        queue, destination = settings.CELERY_TASK_DEFAULT_QUEUE, [self.hostname]
        app.control.cancel_consumer(queue, destination=destination, reply=True)
        try:
            yield
        finally:
            app.control.add_consumer(queue, destination=destination, reply=True)

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes, as a crash or an OOM kill would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def started_workers(env: dict[str, str], *, prefix: str):
    """``start(extra_env=None, **options)`` starts a worker process on ``env``; all are stopped at the end."""
    started: list[CeleryWorkerProcess] = []

    def start(extra_env: dict[str, str] | None = None, **options) -> CeleryWorkerProcess:
        worker = CeleryWorkerProcess({**env, **(extra_env or {})}, name=f"{prefix}-{len(started)}", **options)
        worker.start()
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()
