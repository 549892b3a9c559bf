"""Base class of the RGPD job tasks: one place for delivery and retry behaviour."""

from __future__ import annotations

from celery import Task

from ..storage import STORAGE_ERRORS


class JobTask(Task):
    """A task that runs one claimed job row (ids in, one service call).

    - Acknowledged after it ran (``acks_late``), and given back to the broker when its worker dies
      (``reject_on_worker_lost``): a killed worker's job is redelivered, and the job's claim (a
      conditional update with a lease) makes any second delivery harmless.
    - Storage errors are retried with exponential backoff and jitter; the service decides, from
      ``is_final_attempt``, whether to give the job back for the retry or to record its failure.
    """

    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = STORAGE_ERRORS
    retry_backoff = 5
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 5

    @property
    def is_final_attempt(self) -> bool:
        return self.request.retries >= (self.max_retries or 0)
