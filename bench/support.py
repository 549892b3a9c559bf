"""The benchmark's environment: its own PostgreSQL database, real worker processes, machine facts.

Imported before Django is set up: nothing here imports models at module level.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.worker import CeleryWorkerProcess  # noqa: E402

BENCH_DB = os.environ.get("BENCH_DATABASE_NAME", "gdpr_bench")
MB = 1_000_000


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- Database -------------------------------------------------------------------------------------
def bench_database_url(base_url: str) -> tuple[str, str]:
    """(URL of the benchmark database, URL of the server's maintenance database) on ``base_url``'s server."""
    parts = urllib.parse.urlsplit(base_url)
    return parts._replace(path=f"/{BENCH_DB}").geturl(), parts._replace(path="/postgres").geturl()


def recreate_database(base_url: str) -> str:
    """Drop and create the benchmark's database; return its URL."""
    import psycopg

    url, maintenance = bench_database_url(base_url)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    return url


def drop_database(base_url: str) -> None:
    import psycopg

    _url, maintenance = bench_database_url(base_url)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


# --- Processes --------------------------------------------------------------------------------------
def vm_kib(field_name: str, pid: int | str = "self") -> int:
    """A ``/proc/<pid>/status`` figure in KiB (``VmRSS``, ``VmHWM``: the peak resident set)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise LookupError(field_name)


class BenchWorker(CeleryWorkerProcess):
    """A real worker on the run's queue, ``-P solo``: the task runs in the process we watch.

    Started through ``bench/worker.py`` (the plain Celery worker plus a count of its S3 calls).
    """

    program = "bench.worker"
    log_level = "WARNING"
    ready_timeout = 90.0

    def __init__(self, env: dict[str, str], *, name: str, pool: str = "solo", concurrency: int = 1):
        super().__init__(env, name=name, concurrency=concurrency, pool=pool)

    def reset_peak_rss(self) -> None:
        """Reset the kernel's peak-RSS mark (VmHWM) of the worker: the next reading is this task's peak."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")

    def peak_rss_kib(self) -> int:
        return vm_kib("VmHWM", self.pid)

    def rss_kib(self) -> int:
        return vm_kib("VmRSS", self.pid)


class Workers:
    """The worker processes of the run; consumption is switched on and off without restarting them."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.started: list[BenchWorker] = []
        self.consuming: set[str] = set()

    @property
    def queue(self) -> str:
        return self.env["CELERY_TASK_DEFAULT_QUEUE"]

    def ensure(self, count: int) -> list[BenchWorker]:
        """At least ``count`` workers running; exactly the first ``count`` of them consuming."""
        while len(self.started) < count:
            worker = BenchWorker(self.env, name=f"bench{len(self.started) + 1}-{os.getpid()}")
            worker.start()
            self.started.append(worker)
            self.consuming.add(worker.hostname)
        self.set_consuming(self.started[:count])
        return self.started[:count]

    def fresh(self) -> BenchWorker:
        """Replace the first worker by a new process (nothing left from earlier tasks); only it consumes."""
        if self.started:
            old = self.started.pop(0)
            old.stop()
            self.consuming.discard(old.hostname)
            self.restarts = getattr(self, "restarts", 0) + 1
            worker = BenchWorker(self.env, name=f"bench1-{os.getpid()}-r{self.restarts}")
            worker.start()
            self.started.insert(0, worker)
            self.consuming.add(worker.hostname)
        return self.ensure(1)[0]

    def set_consuming(self, workers: list[BenchWorker]) -> None:
        from gdpr_portal.celery import app

        wanted = {w.hostname for w in workers}
        stopping = [name for name in self.consuming if name not in wanted]
        if stopping:  # told together: each stops after its current task, not after the others' replies
            app.control.cancel_consumer(self.queue, destination=stopping)
        for worker in self.started:
            name = worker.hostname
            if name in wanted and name not in self.consuming:
                self._until(lambda n=name: app.control.add_consumer(self.queue, destination=[n], reply=True))
                self.consuming.add(name)
            elif name not in wanted and name in self.consuming:
                self._until(
                    lambda n=name: app.control.cancel_consumer(self.queue, destination=[n], reply=True)
                )
                self.consuming.discard(name)

    def pause(self) -> None:
        self.set_consuming([])

    @staticmethod
    def _until(command, timeout: float = 600) -> None:
        # A solo worker answers control commands between tasks only: wait for its reply.
        deadline = time.monotonic() + timeout
        while not command():
            if time.monotonic() > deadline:
                raise RuntimeError("a worker did not answer a control command")

    def stop(self) -> None:
        for worker in self.started:
            worker.stop()
        self.started.clear()
        self.consuming.clear()


def purge_queue(queue: str) -> int:
    """Drop the messages waiting on the run's queue (tasks of a request we only sampled)."""
    from gdpr_portal.celery import app

    with app.connection_for_write() as conn:
        return conn.default_channel.queue_purge(queue) or 0


# --- Statistics ---------------------------------------------------------------------------------------
@dataclass
class Sample:
    """Repeated measurements of one quantity."""

    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(float(value))

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def min(self) -> float:
        return min(self.values) if self.values else float("nan")

    @property
    def max(self) -> float:
        return max(self.values) if self.values else float("nan")

    def as_dict(self) -> dict:
        return {"median": self.median, "min": self.min, "max": self.max, "values": self.values}


# --- Machine ------------------------------------------------------------------------------------------
def _version(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


def machine_facts() -> dict[str, str]:
    """Cores, memory and versions of everything the figures depend on."""
    from importlib.metadata import version

    import psutil
    from django.db import connection

    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    try:
        import redis

        redis_version = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).info("server")["redis_version"]
    except Exception:  # noqa: BLE001 - a fact for the report only
        redis_version = "?"
    weed = next((str(p) for p in (Path(sys.executable).parent / "weed",) if p.exists()), "weed")
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores",
        "Memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Django": version("django"),
        "Celery": version("celery"),
        "boto3": version("boto3"),
        "django-storages": version("django-storages"),
        "PostgreSQL": postgres,
        "Redis": redis_version,
        "SeaweedFS": _version([weed, "version"]).replace("version ", ""),
    }
