"""Content dates print only as far as they are known."""

from datetime import date

import pytest

from hrdd.dates import iso_date
from hrdd.vocab import DatePrecision


@pytest.mark.parametrize(
    ("precision", "printed"),
    [
        (DatePrecision.day, "2017-05-01"),
        (DatePrecision.month, "2017-05"),
        (DatePrecision.year, "2017"),
        ("month", "2017-05"),  # as stored in the database
    ],
)
def test_iso_date_stops_at_the_known_precision(precision, printed):
    assert iso_date(date(2017, 5, 1), precision) == printed


def test_iso_date_refuses_an_unknown_precision():
    with pytest.raises(ValueError):
        iso_date(date(2017, 5, 1), "week")
