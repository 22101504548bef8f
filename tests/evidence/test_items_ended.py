"""Which evidence items are no longer in force, and what ended each: one rule for the
questionnaire's pre-fill and the portfolio report's key evidence, as the default rules'
score decides it."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace
from typing import Any

from hrdd.evidence.content import items_ended

INDEPENDENT = [{"publisher": "Example Lab", "source_class": "forensic_lab"}]
COMPANY = [{"publisher": "Example Vendor", "source_class": "company_statement"}]
OFFICIAL = [
    {"publisher": "US Department of Commerce", "source_class": "court_or_government_record"}
]
ENTITY_LIST = {"list_name": "Entity List"}


def item(kind: str, day: dt.date, **fields: Any) -> Any:
    values = {
        "id": uuid.uuid4(),
        "type": kind,
        "event_date": day,
        "published_date": None,
        "status": "ongoing",
        "closes": [],
        "related_listing": None,
        "sources": INDEPENDENT,
    } | fields
    return SimpleNamespace(**values)


def test_a_remediation_ends_the_harm_it_names_and_nothing_else() -> None:
    harm = item("forensic_finding", dt.date(2020, 6, 1))
    listing = item("trade_restriction_listing", dt.date(2020, 7, 1), related_listing=ENTITY_LIST)
    later = item("forensic_finding", dt.date(2022, 1, 1))
    fix = item(
        "remediation",
        dt.date(2021, 3, 1),
        closes=[str(harm.id), str(listing.id), str(later.id)],
    )
    ended = items_ended([harm, listing, later, fix])
    # A remedy ends harm, not a listing, and nothing that came after it.
    assert ended == {harm.id: fix}


def test_a_closing_on_the_companys_word_alone_ends_nothing() -> None:
    harm = item("forensic_finding", dt.date(2020, 6, 1))
    listing = item("trade_restriction_listing", dt.date(2020, 7, 1), related_listing=ENTITY_LIST)
    fix = item("remediation", dt.date(2021, 3, 1), closes=[str(harm.id)], sources=COMPANY)
    removal = item("delisting", dt.date(2021, 4, 1), related_listing=ENTITY_LIST, sources=COMPANY)
    assert items_ended([harm, listing, fix, removal]) == {}


def test_a_removal_ends_earlier_entries_of_its_list_and_the_first_removal_is_named() -> None:
    listed = item("trade_restriction_listing", dt.date(2020, 7, 1), related_listing=ENTITY_LIST)
    relisted = item("trade_restriction_listing", dt.date(2023, 1, 1), related_listing=ENTITY_LIST)
    first = item("delisting", dt.date(2021, 4, 1), related_listing=ENTITY_LIST, sources=OFFICIAL)
    second = item("delisting", dt.date(2022, 4, 1), related_listing=ENTITY_LIST, sources=OFFICIAL)
    ended = items_ended([listed, relisted, second, first])
    assert ended == {listed.id: first}


def test_an_item_marked_remediated_is_ended_and_names_what_ended_it_when_something_did() -> None:
    marked = item("forensic_finding", dt.date(2020, 6, 1), status="remediated")
    also_closed = item("forensic_finding", dt.date(2020, 6, 2), status="remediated")
    fix = item("remediation", dt.date(2021, 3, 1), closes=[str(also_closed.id)])
    assert items_ended([marked, also_closed, fix]) == {marked.id: None, also_closed.id: fix}


def test_a_removal_naming_listings_ends_those_alone_as_the_score_does() -> None:
    """A screening delisting names its list and the listing of its record: the curated entry
    of the same list stays in force."""
    curated = item("trade_restriction_listing", dt.date(2020, 7, 1), related_listing=ENTITY_LIST)
    screened = item("trade_restriction_listing", dt.date(2021, 1, 1), related_listing=ENTITY_LIST)
    removal = item(
        "delisting",
        dt.date(2022, 1, 1),
        related_listing=ENTITY_LIST,
        closes=[str(screened.id)],
        sources=OFFICIAL,
    )
    assert items_ended([curated, screened, removal]) == {screened.id: removal}
