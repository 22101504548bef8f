"""The window of calendar dates people may enter: 1900-01-01 to 2100-12-31.

Python dates run from year 1 to 9999, but no ownership link, evidence item, commitment,
screening listing or answer is dated outside this window. Dates near either end are typos
(0202 for 2020) or sentinels (9999-12-31) that would sort, decay and chart as if they were
real, so they are refused where they come in, with the field named.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator

from hrdd.vocab import DatePrecision

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)


def outside_window(value: date) -> str | None:
    """Why ``value`` is refused, or None when it is inside the window."""
    if EARLIEST_DATE <= value <= LATEST_DATE:
        return None
    return (
        f"{value.isoformat()} is outside the accepted dates, "
        f"{EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}"
    )


def within_window(value: date) -> date:
    problem = outside_window(value)
    if problem is not None:
        raise ValueError(problem)
    return value


PlausibleDate = Annotated[date, AfterValidator(within_window)]


def not_in_future(value: date) -> date:
    """Events, publications, claims and list downloads have already happened. A date after
    tomorrow (UTC, so that a place ahead of UTC can still enter its today) is a typo that
    would otherwise keep an item out of every score until that day, silently."""
    today = datetime.now(UTC).date()
    if value > today + timedelta(days=1):
        raise ValueError(
            f"{value.isoformat()} is in the future (today is {today.isoformat()}, UTC): "
            "it must be a day that has already come"
        )
    return value


PastDate = Annotated[date, AfterValidator(within_window), AfterValidator(not_in_future)]


def iso_date(day: date, precision: DatePrecision | str = DatePrecision.day) -> str:
    """ISO 8601 to the precision the sources give: 2017-05-01, 2017-05 or 2017. Content dates
    known only to the month or year are stored as its first day, which must never print as
    if the day were known."""
    precision = DatePrecision(precision)
    if precision is DatePrecision.year:
        return f"{day.year:04d}"
    if precision is DatePrecision.month:
        return f"{day.year:04d}-{day.month:02d}"
    return day.isoformat()


def last_day(day: date, precision: DatePrecision | str) -> date:
    """The last day a date known only to ``precision`` (stored as its first day) may be."""
    precision = DatePrecision(precision)
    if precision is DatePrecision.year:
        return date(day.year, 12, 31)
    if precision is DatePrecision.month:
        following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        return following - timedelta(days=1)
    return day


def precision_problem(day: date, precision: DatePrecision | str) -> str | None:
    """Why ``day`` cannot stand for a date known only to ``precision`` (such a date is stored
    as its first day), or None when it can."""
    precision = DatePrecision(precision)
    if precision is DatePrecision.month and day.day != 1:
        return "precision is 'month': give the 1st"
    if precision is DatePrecision.year and (day.month, day.day) != (1, 1):
        return "precision is 'year': give 1 January"
    return None
