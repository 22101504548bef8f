"""Dates people enter: how they are written, and the window of calendar dates they may fall in.

A date from a caller (a JSON body, a query parameter, a form field, a questionnaire or
evidence file) is written YYYY-MM-DD, and only so. Pydantic's lax ``date`` also takes a
number as Unix seconds (1640908800, or the text "1640908800"), a datetime at midnight and
datetime text ("2021-12-31T00:00:00"); a number typed by mistake would silently become some
day in 1970 or 2021. ``calendar_date`` refuses those, saying how to write the date. A real
``date`` that code hands on (a YAML loader's, a workbook cell's) is taken as it is.

Python dates run from year 1 to 9999, but no ownership link, evidence item, commitment,
screening listing or answer is dated outside 1900-01-01 to 2100-12-31. Dates near either end
are typos (0202 for 2020) or sentinels (9999-12-31) that would sort, decay and chart as if
they were real, so they are refused where they come in, with the field named.
"""

import contextlib
import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

from hrdd.errors import clipped, json_value_words
from hrdd.vocab import DatePrecision

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)


# pydantic's error type for a date not written YYYY-MM-DD, and for a day no calendar has.
DATE_FORMAT_ERROR = "date_format"
DATE_VALUE_ERROR = "date_value"

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4})")
_DAY_AND_TIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ].*", re.IGNORECASE)


def is_iso_date_text(text: str) -> bool:
    """True for a day of the calendar written YYYY-MM-DD (not 2021-02-30, not 20211231, not
    2021-W52-5, which ``date.fromisoformat`` also reads)."""
    if not _ISO_DAY.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def date_text_problem(given: Any, *, partial: bool = False) -> str:
    """Why a value is not a date, and how to write it: "'31.12.2021' is not a date: write it
    as YYYY-MM-DD, e.g. 2021-12-31" (that date, when the text reads as one day-first or
    without doubt, or is a date with a time); "1640908800 is not a date: ..." for a number.
    ``partial``: a source's date, which may give only the month or year."""
    example = "2021-12-31"
    if isinstance(given, datetime):
        given = given.isoformat()
    shown = f"'{clipped(given)}'" if isinstance(given, str) else json_value_words(given)
    day_first = _DAY_MONTH_YEAR.fullmatch(given.strip()) if isinstance(given, str) else None
    with_time = _DAY_AND_TIME.fullmatch(given.strip()) if isinstance(given, str) else None
    if day_first:
        first, separator, second, year = day_first.groups()
        day, month = int(first), int(second)
        if separator != "." and day <= 12 < month:
            day, month = month, day  # month first, without doubt
        elif separator != "." and day <= 12:
            day = 0  # either way round: no example of it
        with contextlib.suppress(ValueError):  # no such day: the example stays general
            example = date(int(year), month, day).isoformat()
    elif with_time and is_iso_date_text(with_time.group(1)):
        example = with_time.group(1)  # the day, without its time
    words = f"{shown} is not a date: write it as YYYY-MM-DD, e.g. {example}"
    return words + (" (or YYYY-MM, or YYYY, for a source dated only so)" if partial else "")


def calendar_date(value: Any) -> Any:
    """The one rule for a date from a caller (a ``BeforeValidator``, so JSON and Python
    validation alike): YYYY-MM-DD text, or a ``date`` that code hands on. Refused, with how
    to write it: numbers (pydantic would read them as Unix seconds), true/false, datetimes
    and datetime text (even at midnight), and text of any other shape (20211231,
    31.12.2021, "1640908800")."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        try:
            date.fromisoformat(value)
        except ValueError as error:
            raise PydanticCustomError(
                DATE_VALUE_ERROR,
                "{message}",
                {"message": f"'{value}' is not a valid date: {error}"},
            ) from None
        return value
    raise PydanticCustomError(DATE_FORMAT_ERROR, "{message}", {"message": date_text_problem(value)})


# A date written YYYY-MM-DD, of any year: where the window is not this field's business.
IsoDate = Annotated[date, BeforeValidator(calendar_date)]


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


PlausibleDate = Annotated[date, BeforeValidator(calendar_date), AfterValidator(within_window)]


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


PastDate = Annotated[PlausibleDate, AfterValidator(not_in_future)]


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
