"""The headings a holdings file gives its columns, as custodians, fund administrators and data
vendors write them: "Market Value (EUR)", "MV", "Weight (%)", "% of Portfolio", "Ccy",
"ISIN Code". Compared case-insensitively, with spaces, hyphens and dots read as underscores.

A heading may carry a unit: a currency code for the market value ("Market Value (EUR)",
"Market value in EUR", "MV EUR"), or a percent sign for the weight ("Weight (%)", "% of
Portfolio", "% Weight"), which makes its plain numbers percentages (5.2 is 5.2%). Each heading
has a rank: where two headings give one column, the lower rank is read (the column's own name
first) and the other is reported as not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hrdd.vocab import CURRENCY_CODES

COLUMNS = ("name", "isin", "lei", "ticker", "market_value", "currency", "weight")
IDENTIFYING_COLUMNS = ("name", "isin", "lei", "ticker")
# Headers that custodian statements, index and ESG data files and fund holdings disclosures
# give the name column. When several are present the first in this order is read (after
# "name" itself): an issuer's name matches the registry better than a security description
# such as "NESTLE SA-REG"; the others are reported as ignored.
NAME_ALIASES = (
    "company_name",
    "issuer_name",
    "security_name",
    "holding_name",
    "instrument_name",
    "security_description",
)
# Other headings of the other columns, in the order they are preferred.
_ALIASES = {
    "isin": ("isin_code", "security_isin", "isin_number"),
    "lei": ("lei_code",),
    "ticker": ("ticker_symbol", "symbol"),
    "market_value": (
        *("marketvalue", "mv", "mkt_value", "mkt_val", "market_val", "position_value"),
        "holding_value",
    ),
    "currency": ("ccy", "curr", "currency_code"),
    "weight": ("portfolio_weight", "weight_in_portfolio"),
}
# Headings of the weight only with a percent sign: "% of Portfolio", "% of NAV".
_PERCENT_ONLY = {
    heading: ("weight", rank)
    for rank, heading in enumerate(("of_portfolio", "of_fund", "of_nav", "of_total"), start=3)
}
_KEYS: dict[str, tuple[str, int]] = (
    {column: (column, 0) for column in COLUMNS}
    | {alias: ("name", rank) for rank, alias in enumerate(NAME_ALIASES, start=1)}
    | {
        alias: (column, rank)
        for column, aliases in _ALIASES.items()
        for rank, alias in enumerate(aliases, start=1)
    }
)
ACCEPTED_NAMES = (
    "name (or "
    + ", ".join(alias.replace("_", " ").title() for alias in NAME_ALIASES)
    + "), isin, lei, ticker"
)
PERCENT = "%"
# A currency after the heading: "(EUR)", "[EUR]", "in EUR", "EUR".
_CURRENCY_UNIT = re.compile(r"^(?P<head>.*?)_(?:in_)?\(?\[?(?P<code>[a-z]{3})\]?\)?$")
# A percent sign before or after it: "% of Portfolio", "% Weight", "Weight (%)", "Weight in %".
_PERCENT_UNIT = re.compile(r"^(?:%_?(?P<before>.+)|(?P<after>.+?)_?(?:in_)?\(?%\)?)$")


@dataclass(frozen=True)
class Heading:
    column: str
    rank: int
    # The market value's currency code, or PERCENT for a weight in percent; None without one.
    unit: str | None = None


def column_key(header_cell: str) -> str:
    return re.sub(r"[\s\-.]+", "_", header_cell.strip().casefold()).strip("_")


def read_heading(header_cell: str) -> Heading | None:
    """The column a header cell names, with its unit; None for a column not read."""
    key = column_key(header_cell)
    if key in _KEYS:
        return Heading(*_KEYS[key])
    currency = _CURRENCY_UNIT.match(key)
    if currency is not None and currency["code"].upper() in CURRENCY_CODES:
        found = _KEYS.get(currency["head"])
        if found is not None and found[0] == "market_value":
            return Heading(found[0], found[1], currency["code"].upper())
    percent = _PERCENT_UNIT.match(key)
    if percent is not None:
        head = (percent["before"] or percent["after"]).strip("_")
        found = _KEYS.get(head) or _PERCENT_ONLY.get(head)
        if found is not None and found[0] == "weight":
            return Heading(found[0], found[1], PERCENT)
    return None


def heading_column(header_cell: str) -> str | None:
    heading = read_heading(header_cell)
    return heading.column if heading is not None else None
