"""Each periodic task's run is recorded when it ends, for the workers' state shown to administrators."""

from __future__ import annotations

import logging

from celery import states
from celery.signals import task_postrun

from ..services.workers_state import periodic_run_record, periodic_task_names

logger = logging.getLogger(__name__)


@task_postrun.connect
def record_periodic_run(sender=None, args=None, kwargs=None, state=None, **extra) -> None:
    """Beat sends its tasks without arguments: a run with arguments (e.g. deletions after one
    anonymisation) is not the sweep, and a retry is recorded when it ends."""
    if sender is None or sender.name not in periodic_task_names() or args or kwargs:
        return
    if state == states.RETRY:
        return
    try:
        periodic_run_record(task=sender.name, succeeded=state == states.SUCCESS)
    except Exception:  # the record is informative: never turn a finished run into an error
        logger.warning("rgpd: could not record the run of %s", sender.name, exc_info=True)
