import logging
import logging.config
import os

from celery import Celery
from celery.signals import celeryd_init, setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gdpr_portal.settings")

app = Celery("gdpr_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def use_the_settings_logging(**kwargs) -> None:
    """Workers and beat log as the web does (``LOGGING``: ``LOG_FORMAT``, query strings stripped) instead of
    Celery's own handlers, which would bypass the settings' filters and formatter."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    # Warnings (e.g. Celery's about running as root) go through the same handlers, one record each.
    logging.captureWarnings(True)


# celeryd_init comes before the worker's first warning, setup_logging replaces Celery's own setup.
celeryd_init.connect(use_the_settings_logging, weak=False)
setup_logging.connect(use_the_settings_logging, weak=False)
