"""Numbers and rates read from the environment once, by settings.py.

A bad value (not a whole number, out of range, a malformed rate) does not stop the import with a bare
``ValueError`` naming nothing: the setting keeps its default and the problem is recorded in
``settings.ENVIRONMENT_PROBLEMS``, which the system check in ``gdpr_portal/checks.py`` reports naming the
variable. ``manage.py check``, runserver, migrate, gunicorn and the Celery worker and beat refuse to start
on it (see ``gdpr_portal/checks.py``). Services then read the settings as they are, without re-guarding.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# DRF reads a rate as "<number>/<period>" and only looks at the period's first letter.
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$")


@dataclass(frozen=True)
class Problem:
    variable: str
    value: str
    expected: str

    def __str__(self) -> str:
        return f"{self.variable}={self.value!r} is not valid: expected {self.expected}."


@dataclass
class EnvironmentReader:
    """Reads integers and rates from ``environ``; records a Problem instead of raising."""

    environ: Mapping[str, str]
    problems: list[Problem] = field(default_factory=list)

    def _raw(self, variable: str) -> str | None:
        raw = self.environ.get(variable)
        # An empty value (``VAR=`` in a compose file) means "not set", as for the other variables.
        return raw.strip() if raw and raw.strip() else None

    def integer(self, variable: str, default: int, *, minimum: int = 1, maximum: int | None = None) -> int:
        value = self.optional_integer(variable, minimum=minimum, maximum=maximum)
        return default if value is None else value

    def optional_integer(self, variable: str, *, minimum: int = 1, maximum: int | None = None) -> int | None:
        raw = self._raw(variable)
        if raw is None:
            return None
        if maximum is None:
            expected = f"a whole number of at least {minimum}"
        else:
            expected = f"a whole number from {minimum} to {maximum}"
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            self.problems.append(Problem(variable, raw, expected))
            return None
        return value

    def rate(self, variable: str, default: str) -> str:
        raw = self._raw(variable)
        if raw is None:
            return default
        match = _RATE.match(raw)
        if match is None or int(match.group(1)) < 1:
            self.problems.append(
                Problem(
                    variable, raw, 'a rate "<number of at least 1>/<second|minute|hour|day>", e.g. "60/hour"'
                )
            )
            return default
        # As DRF reads it: "<number>/<period>", no spaces (DRF looks at the period's first character).
        return f"{int(match.group(1))}/{match.group(2)}"

    def choice(self, variable: str, default: str, choices: tuple[str, ...]) -> str:
        raw = self._raw(variable)
        if raw is None:
            return default
        if raw not in choices:
            self.problems.append(Problem(variable, raw, "one of " + ", ".join(choices)))
            return default
        return raw
