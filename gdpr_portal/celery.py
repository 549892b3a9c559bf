import logging
import logging.config
import os
from typing import Any

from celery import Celery, signals

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
signals.celeryd_init.connect(use_the_settings_logging, weak=False)
signals.setup_logging.connect(use_the_settings_logging, weak=False)


@signals.worker_init.connect
@signals.beat_init.connect
def check_configuration(sender: Any = None, **kwargs: Any) -> None:
    """Celery runs Django's system checks but ignores their result: refuse to start on an error."""
    import django  # noqa: PLC0415

    django.setup()
    from gdpr_portal.checks import refuse_to_start_on_errors  # noqa: PLC0415 - needs the apps loaded

    refuse_to_start_on_errors("celery")
