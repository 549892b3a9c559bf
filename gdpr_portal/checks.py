"""Start-up checks of the configuration read from the environment (see gdpr_portal/environment.py).

``manage.py check``, runserver and migrate run Django's system checks and stop on an error; gunicorn's
workers (wsgi.py) and the Celery worker and beat (celery.py) call ``refuse_to_start_on_errors`` so that
no process runs on a silently replaced value.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.compatibility)
def environment_values(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.Error]:
    """One error per environment variable whose value settings.py could not use."""
    return [
        checks.Error(
            str(problem),
            hint=f"Fix or unset {problem.variable} (see the configuration table in README.md).",
            id="gdpr_portal.E001",
        )
        for problem in settings.ENVIRONMENT_PROBLEMS
    ]


def refuse_to_start_on_errors(process: str, exit_code: int = 1) -> None:
    """Exit with the errors on stderr when a value read from the environment is unusable.

    Only this check, not all of Django's: those import every URL, view and admin module, which a Celery
    worker never needs (+15 MB resident in each worker, measured by ``make bench``).
    """
    errors = environment_values()
    if errors:
        lines = "\n".join(f"  {message}" for message in errors)
        # The real stderr: Celery beat has redirected sys.stderr to a logger it never flushes on exit.
        print(
            f"{process} refuses to start, the configuration has errors:\n{lines}",
            file=sys.__stderr__,
            flush=True,
        )
        # SystemExit, not an exception: Celery's signal dispatch would log an exception and carry on.
        raise SystemExit(exit_code)
