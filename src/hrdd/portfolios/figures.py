"""The figures a portfolio is counted in (holdings by number and by value, by band), and a
rule-set draft's preview in those figures.

Apart from the other portfolio schemas because the scoring API's preview shows them too, and
the scoring modules are what the other portfolio modules are built on: importing these pulls
in no scoring module.

Money is ``Decimal`` and travels as a string in JSON, always next to its ISO 4217 currency.
Shares are fractions between 0 and 1.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, PlainSerializer

from hrdd.vocab import InvestorAction, RiskBand


def fixed_point(value: Decimal) -> str:
    """A Decimal as plain fixed-point text: ``str`` writes a zero weight stored to 10 places
    as "0E-10" and 1E+3 as "1E+3", which an investor's spreadsheet or script misreads."""
    return format(value, "f")


# Decimals (money, weights, shares) as JSON strings in fixed point: an amount must never pass
# through a float, nor read in exponent form.
DecimalText = Annotated[Decimal, PlainSerializer(fixed_point, return_type=str, when_used="json")]


class ShareBasis(StrEnum):
    """Where the holdings' shares of value come from."""

    market_values = "market_values"  # every holding has a market value
    # Some holdings have a market value and none a weight: shares of the value that is known;
    # the holdings without one count by number only.
    known_market_values = "known_market_values"
    weights = "weights"  # the file's weight column (holdings without one count by number only)
    none = "none"  # neither: every figure is by number of holdings


class Slice(BaseModel):
    """A group of holdings counted both ways: by number and by value."""

    holdings: int = Field(description="How many holdings")
    share_of_holdings: DecimalText = Field(description="Of the portfolio's holdings, 0 to 1")
    value: DecimalText = Field(
        description="Their market values known, added up, in the portfolio's currency: a "
        "holding without one adds nothing"
    )
    share_of_value: DecimalText = Field(
        description="Their share of the portfolio's value, 0 to 1, on the portfolio's "
        "`share_basis`: a holding without a share of value adds nothing"
    )


class BandSlice(Slice):
    band: RiskBand


# --- a rule-set draft's preview, portfolio by portfolio ----------------------------------------


class PortfolioFigures(BaseModel):
    """A portfolio's headline figures as its risk view (`GET /portfolios/{id}/risk`, `totals`)
    counts them, under one set of rules."""

    by_band: list[BandSlice] = Field(
        description="Holdings by the band of the score that stands for them, every band, each "
        "by number and by value"
    )
    unassessed: Slice = Field(
        description="Holdings with no score, as the risk view counts them: matched to no "
        "company (unresolved, or candidates waiting for someone to confirm one), or their "
        "company (and every company it owns now) has no submitted or final assessment and no "
        "evidence in effect, or its score could not be made under these rules "
        "(`scores_failed`). With `by_band` they add up to the portfolio's `holdings`"
    )
    scores_failed: int = Field(
        description="Holdings counted unassessed because the score that would stand for them "
        "could not be made under these rules: the preview's item for their company says why "
        "(`error`)"
    )
    needing_escalation: Slice = Field(
        description="Holdings whose recommended action is escalate_collectively or more "
        "severe (the step up a rising trend can add in the risk view is not previewed)"
    )
    mean_score: float | None = Field(
        description="Mean overall risk of the assessed holdings; null when none is assessed"
    )
    value_weighted_score: float | None = Field(
        description="Overall risk of the assessed holdings weighted by their share of value; "
        "null when none of them has a share of value"
    )


class BandMove(Slice):
    """Holdings that would move from one band to another, counted by number and by value."""

    old_band: RiskBand | None = Field(description="Under the rules in use; null: unassessed")
    new_band: RiskBand | None = Field(description="Under the draft; null: unassessed")


class HoldingMove(BaseModel):
    """A holding whose band or recommended action would change under the draft."""

    holding_id: uuid.UUID = Field(
        description="The holding, as `GET /portfolios/{id}/holdings` and the risk view list it"
    )
    line: int = Field(description="Line of the imported file")
    name: str = Field(description="The holding as the risk view names it")
    company_name: str | None = Field(description="The company the holding was matched to")
    scored_company_name: str | None = Field(
        description="The company whose score the holding carries under the draft (under the "
        "rules in use when it has none under the draft): its own company, or a company it "
        "owns now that scores worse, as the risk view chooses"
    )
    market_value: DecimalText | None = Field(description="In the portfolio's currency")
    old_overall: float | None = Field(
        description="Overall risk (0-100, higher is worse) under the rules in use; null: unassessed"
    )
    new_overall: float | None = Field(description="The same under the draft")
    old_band: RiskBand | None = Field(description="Under the rules in use; null: unassessed")
    new_band: RiskBand | None = Field(description="Under the draft; null: unassessed")
    old_action: InvestorAction | None = Field(
        description="The action the rules in use recommend for it (a step up for a rising "
        "trend is not previewed, as in the preview's items)"
    )
    new_action: InvestorAction | None = Field(
        description="What investors would be told to do under the draft"
    )


class PortfolioPreview(BaseModel):
    """What publishing the draft would do to one portfolio's risk view."""

    portfolio_id: uuid.UUID = Field(
        description="`GET /portfolios/{id}/risk` shows its risk view under the rules in use"
    )
    portfolio_name: str = Field(description="The portfolio's name")
    currency: str = Field(description="The portfolio's base currency: every value below is in it")
    holdings: int = Field(description="Every holding of the portfolio, assessed or not")
    total_value: DecimalText = Field(
        description="The market values known, added up; an import refuses values in another "
        "currency, so none is converted"
    )
    holdings_without_value: int = Field(
        description="Holdings with no market value: they add nothing to `total_value` or to "
        "any value (with `share_basis` weights they may still have a share of value)"
    )
    holdings_without_share: int = Field(
        description="Holdings with no share of value on `share_basis`: they count by number "
        "only, as in the portfolio's risk view"
    )
    share_basis: ShareBasis = Field(
        description="Where the shares of value come from, as in the portfolio's risk view"
    )
    before: PortfolioFigures = Field(description="Under the rules in use")
    after: PortfolioFigures = Field(description="Under the draft")
    band_moves: list[BandMove] = Field(
        description="Holdings whose band would change, grouped by old and new band, most "
        "holdings first: e.g. how many holdings, and how much of the portfolio's value, would "
        "move from high to severe"
    )
    changed_holdings: list[HoldingMove] = Field(
        description="Holdings whose band or recommended action would change (at most 20): "
        "those whose action moves furthest first, then their band, then the largest market "
        "value"
    )
    changed_holdings_count: int = Field(
        description="How many holdings' band or recommended action would change, listed or not"
    )
