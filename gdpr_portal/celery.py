import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gdpr_portal.settings")

app = Celery("gdpr_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
@signals.beat_init.connect
def check_configuration(sender: Any = None, **kwargs: Any) -> None:
    """Celery runs Django's system checks but ignores their result: refuse to start on an error."""
    import django  # noqa: PLC0415

    django.setup()
    from gdpr_portal.checks import refuse_to_start_on_errors  # noqa: PLC0415 - needs the apps loaded

    refuse_to_start_on_errors("celery")
