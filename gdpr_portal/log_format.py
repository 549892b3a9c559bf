"""``LOG_FORMAT=json``: one JSON object per line, for log collectors (web, workers, beat, ``make run-stack``).

Each line holds the time (UTC, ISO 8601), level, logger, process id and the message after the handler's
filters (query strings removed: ``log_filters``). An exception adds its class and its frames (file, line,
function) but not its text, which can quote personal data (a database error repeats the values it refused).
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime

LOG_FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            frames = traceback.extract_tb(record.exc_info[2])
            entry["stack"] = [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in frames]
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(log_format: str, level: str) -> dict:
    """The ``LOGGING`` dictionary of the settings (Django's web process, Celery's workers and beat)."""
    console_formatter = "json" if log_format == "json" else "plain"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # A URL's query string may hold personal data (the RGPD page's search for a name): never logged.
        "filters": {"no_query_string": {"()": "gdpr_portal.log_filters.StripQueryStrings"}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "gdpr_portal.log_format.JsonFormatter"},
            "django.server": {
                "()": "django.utils.log.ServerFormatter",
                "format": "[{server_time}] {message}",
                "style": "{",
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": console_formatter,
                "filters": ["no_query_string"],
            },
            # runserver's access log (``make run``), as Django's default but without query strings.
            "django.server": {
                "class": "logging.StreamHandler",
                "formatter": "json" if log_format == "json" else "django.server",
                "filters": ["no_query_string"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        },
    }


def gunicorn_logging_config(level: str) -> dict:
    """gunicorn's ``logconfig_dict`` with ``LOG_FORMAT=json``: its error and access logs as JSON lines too."""
    config = logging_config("json", level)
    gunicorn_logger = {"handlers": ["console"], "level": "INFO", "propagate": False}
    config["loggers"].update({"gunicorn.error": gunicorn_logger, "gunicorn.access": gunicorn_logger})
    return config
