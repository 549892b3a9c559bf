"""Run a command with the real services the tests and benchmarks use, all of them started for this run.

    python scripts/testenv.py pytest tests/

Starts a throwaway PostgreSQL cluster and a Redis on free loopback ports (installing them with apt when
missing), a private SeaweedFS S3 gateway with a fresh bucket, exports the settings' environment
variables for them, runs the command, and stops them all afterwards. The machine's own services, if
any, are never used: a bare machine works, and two runs at once never meet.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.seaweed import SeaweedFS  # noqa: E402
from harness.servers import PostgresCluster, RedisServer  # noqa: E402


def main(argv: list[str]) -> int:
    if not argv:
        sys.exit(__doc__)
    workdir = Path(tempfile.mkdtemp(prefix="gdpr-testenv-"))
    postgres, redis = PostgresCluster(), RedisServer()
    seaweed = SeaweedFS.create(workdir / "seaweedfs")
    try:
        print(f"testenv: starting PostgreSQL on {postgres.port} and Redis on {redis.port}", flush=True)
        postgres.start()
        redis.start()
        print(f"testenv: starting SeaweedFS S3 on {seaweed.endpoint_url}", flush=True)
        seaweed.start()
        run_id = uuid.uuid4().hex[:8]
        bucket = "gdpr-portal-" + run_id
        seaweed.client().create_bucket(Bucket=bucket)
        env = {
            **os.environ,
            **seaweed.env(bucket),
            "DATABASE_URL": postgres.url,
            "CELERY_BROKER_URL": redis.url,
            # One queue and key prefix per run (kept although Redis is private: benchmarks may share one).
            "CELERY_TASK_DEFAULT_QUEUE": "gdpr-test-" + run_id,
            "CELERY_REDIS_KEY_PREFIX": f"gdpr-test-{run_id}:",
            # Throttling counters in Redis, as in production with several processes.
            "CACHE_URL": redis.url,
            "CACHE_KEY_PREFIX": f"gdpr-test-{run_id}",
            "GDPR_PORTAL_VAR_DIR": str(workdir / "var"),
        }
        # The bucket gets the archives' lifecycle rule, as in production (rgpd_setup_storage).
        setup = [sys.executable, str(ROOT / "manage.py"), "rgpd_setup_storage"]
        subprocess.run(setup, env=env, cwd=ROOT, check=True)
        return subprocess.call(argv, env=env)
    finally:
        seaweed.stop()
        redis.stop()
        postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        for stale in glob.glob("/tmp/gdpr-testenv-*"):
            if time.time() - os.path.getmtime(stale) > 86400:
                shutil.rmtree(stale, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
