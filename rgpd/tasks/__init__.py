"""Celery tasks of the RGPD engine (thin: ids in, one service call). Autodiscovered as ``rgpd.tasks``."""

from . import anonymisation, exports, periodic, reminders  # noqa: F401
