"""The project's Celery worker, counting its S3 calls for the benchmark.

    python -m bench.worker -A gdpr_portal worker …   (the arguments of ``celery``)

With ``BENCH_S3_CALLS_DIR`` set, every botocore call is counted by operation name and the counts are
written to ``$BENCH_S3_CALLS_DIR/<pid>.json`` after each task (``bench/s3calls.py``). Nothing else
differs from ``celery -A gdpr_portal worker``.
"""

from __future__ import annotations

import os
import sys

from bench import s3calls


def main() -> None:
    directory = os.environ.get("BENCH_S3_CALLS_DIR")
    if directory:
        from celery.signals import task_postrun

        s3calls.install()

        @task_postrun.connect(weak=False)
        def _dump_counts(**_kwargs) -> None:
            s3calls.dump(directory)

    from celery.__main__ import main as celery_main

    sys.argv = ["celery", *sys.argv[1:]]
    celery_main()


if __name__ == "__main__":
    main()
