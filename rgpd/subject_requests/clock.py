"""The legal clock of a data subject's request (Art. 12(3) GDPR), counted as EU law counts periods.

Regulation 1182/71 (applied by the EDPB to Art. 12(3)): a period of months ends on the same day number
in the last month, or on that month's last day when it has no such day (Art. 3(2)(c)); when that day is
a Saturday, a Sunday or a public holiday, the period ends on the next working day (Art. 3(4)).

Pure functions of dates: no database, no "today" unless given.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache

ANSWER_MONTHS = 1  # Art. 12(3): one month from receipt
MAX_EXTENSION_MONTHS = 2  # "extended by two further months where necessary"
HOLIDAY_COUNTRY = "FR"  # metropolitan France's public holidays


def add_months(start: date, months: int) -> date:
    """The same day number ``months`` later, or that month's last day when it has no such day."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[date]:
    # Imported here: the package loads every country's calendar (~11 MB), which workers never need.
    import holidays  # noqa: PLC0415

    return frozenset(holidays.country_holidays(HOLIDAY_COUNTRY, years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _public_holidays(day.year)


def next_working_day(day: date) -> date:
    """``day`` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def due_date(received_on: date, *, extension_months: int = 0, paused_days: int = 0) -> date:
    """The last day to answer a request received on ``received_on``.

    The extension counts from the date received (one plus the extra months, by the same rule); the days
    the clock was paused (waiting for proof of identity) push the period's end before the working-day
    rule applies, since that rule moves the period's last day.
    """
    if not 0 <= extension_months <= MAX_EXTENSION_MONTHS:
        raise ValueError(f"extension_months must be between 0 and {MAX_EXTENSION_MONTHS}")
    if paused_days < 0:
        raise ValueError("paused_days cannot be negative")
    end = add_months(received_on, ANSWER_MONTHS + extension_months) + timedelta(days=paused_days)
    return next_working_day(end)


def days_left(due_on: date, today: date) -> int:
    """Days until the due date: 0 on the day itself, negative once overdue."""
    return (due_on - today).days
