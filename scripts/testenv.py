"""Run a command with the real services the tests and benchmarks use.

    python scripts/testenv.py pytest tests/

Makes sure PostgreSQL and Redis answer (starting them when installed but stopped), starts a private
SeaweedFS S3 gateway on free loopback ports with a fresh bucket, exports the settings' environment
variables for them, runs the command, and stops SeaweedFS afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.seaweed import SeaweedFS  # noqa: E402

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(port: int, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not answers(port):
        if time.monotonic() > deadline:
            sys.exit(f"testenv: {name} does not answer on 127.0.0.1:{port}")
        time.sleep(0.5)


def ensure_postgres() -> None:
    if answers(5432):
        return
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions:
        sys.exit("testenv: PostgreSQL is not running and not installed (apt-get install postgresql).")
    print(f"testenv: starting PostgreSQL {versions[-1]}", flush=True)
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"], check=False)
    wait_for(5432, "PostgreSQL")


def ensure_redis() -> None:
    if answers(6379):
        return
    if not shutil.which("redis-server"):
        sys.exit("testenv: Redis is not running and not installed (apt-get install redis-server).")
    print("testenv: starting Redis", flush=True)
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
    )
    wait_for(6379, "Redis")


def main(argv: list[str]) -> int:
    if not argv:
        sys.exit(__doc__)
    ensure_postgres()
    ensure_redis()
    workdir = Path(tempfile.mkdtemp(prefix="gdpr-testenv-"))
    seaweed = SeaweedFS.create(workdir / "seaweedfs")
    print(f"testenv: starting SeaweedFS S3 on {seaweed.endpoint_url}", flush=True)
    seaweed.start()
    run_id = uuid.uuid4().hex[:8]
    bucket = "gdpr-portal-" + run_id
    seaweed.client().create_bucket(Bucket=bucket)
    env = {
        **os.environ,
        **seaweed.env(bucket),
        "DATABASE_URL": POSTGRES_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        # One queue per run: two runs on one machine never take each other's tasks.
        "CELERY_TASK_DEFAULT_QUEUE": "gdpr-test-" + run_id,
        "CELERY_REDIS_KEY_PREFIX": f"gdpr-test-{run_id}:",
        # Throttling counters in Redis, as in production with several processes; apart per run.
        "CACHE_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": f"gdpr-test-{run_id}",
        "GDPR_PORTAL_VAR_DIR": str(workdir / "var"),
    }
    try:
        # The bucket gets the archives' lifecycle rule, as in production (rgpd_setup_storage).
        setup = [sys.executable, str(ROOT / "manage.py"), "rgpd_setup_storage"]
        subprocess.run(setup, env=env, cwd=ROOT, check=True)
        return subprocess.call(argv, env=env)
    finally:
        SeaweedFS.from_state(env["SEAWEEDFS_STATE_FILE"]).stop()
        shutil.rmtree(workdir, ignore_errors=True)
        for stale in glob.glob("/tmp/gdpr-testenv-*"):
            if time.time() - os.path.getmtime(stale) > 86400:
                shutil.rmtree(stale, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
