"""The portfolio report PDF, read back with pypdf.

Right-to-left names come back from pypdf 7 in logical order (it reorders the visual runs the
renderer drew); see test_render_company.py for the details.
"""

import io
import math
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4, LETTER
from tests.reports.text_layout import crowded_runs

from hrdd.portfolios.schemas import ShareBasis
from hrdd.reports.layout import BOTTOM_MARGIN, PLAIN_ROW_HEIGHT, TOP_MARGIN
from hrdd.reports.portfolio_pdf import render_portfolio_report
from hrdd.reports.schemas import (
    BandExposure,
    FlaggedHolding,
    HoldingRow,
    Identifier,
    KeyEvidence,
    KeyFigures,
    MethodologySection,
    OverrideFired,
    OwnedCompany,
    PageSize,
    PortfolioReport,
    RuleSetRef,
    UnassessedHolding,
)
from hrdd.vocab import (
    AssessmentStatus,
    Confidence,
    DatePrecision,
    InvestorAction,
    ListingStatus,
    RiskBand,
    SourceClass,
)

IMG_INJECTION = '<img src="/etc/passwd"/>'
LINK_INJECTION = '<a href="javascript:alert(1)">x</a>'
GREEK_NAME = "Παράδειγμα Συμμετοχές"
CYRILLIC_NAME = "Пример Холдинг"
HEBREW_NAME = "דוגמה מערכות"
SECTION_TITLES = [
    "Cover",
    "Key figures",
    "Risk distribution and exposure",
    "Flagged holdings",
    "Medium-risk holdings",
    "All holdings",
    "Unassessed exposure",
    "Methodology",
]
BANDS = list(RiskBand)


def holding_name(index: int) -> str:
    return f"Holding {index:05d} Example"


def portfolio_report(holding_count: int = 40, **changes: object) -> PortfolioReport:
    """A fictional portfolio: every fifth holding unassessed, two flagged holdings."""
    holdings: list[HoldingRow] = []
    unassessed: list[UnassessedHolding] = []
    for index in range(holding_count):
        identifiers = [Identifier(scheme="ID", value=f"TEST{index:06d}")]
        value = Decimal(1_000 + index)
        if index % 5 == 0:
            holdings.append(
                HoldingRow(name=holding_name(index), identifiers=identifiers, value=value)
            )
            unassessed.append(
                UnassessedHolding(
                    name=holding_name(index),
                    identifiers=identifiers,
                    value=value,
                    reason="No company matched",
                )
            )
        else:
            holdings.append(
                HoldingRow(
                    name=holding_name(index),
                    identifiers=identifiers,
                    value=value,
                    weight=Decimal("0.0123"),
                    band=BANDS[index % 4],
                    score=float(index % 100),
                    assessment_status=AssessmentStatus.final,
                    confidence=Confidence.high,
                    action=InvestorAction.engage,
                )
            )
    flagged = [
        FlaggedHolding(
            name=f"Flagged {LINK_INJECTION} Example",
            identifiers=[Identifier(scheme="ISIN", value="XS0000000009")],
            value=Decimal("2500000.50"),
            weight=Decimal("0.031"),
            band=RiskBand.severe,
            score=91.0,
            assessment_status=AssessmentStatus.final,
            confidence=Confidence.medium,
            action=InvestorAction.divest_or_exclude,
            action_reason=f"Example reason {IMG_INJECTION}",
            overrides=[
                OverrideFired(
                    rule_id="OVR-EXAMPLE-2",
                    reason="Example listing",
                    lifts_when="Example delisting",
                )
            ],
            exposure_via=[
                OwnedCompany(
                    company_name="Example Owned Subsidiary",
                    stake_percent=Decimal("70"),
                    owned_from=date(2019, 2, 1),
                    owned_until=date(2023, 3, 1),
                )
            ],
            key_evidence=[
                KeyEvidence(
                    publisher="Example Lab",
                    title="Example finding",
                    published_on=date(2022, 4, 5),
                    url="https://example.org/finding",
                    source_class=SourceClass.forensic_lab,
                )
            ],
        ),
        FlaggedHolding(
            name=HEBREW_NAME,
            band=RiskBand.high,
            score=70.0,
            assessment_status=AssessmentStatus.draft,
            scored_through="Example Owned Vendor",
            confidence=Confidence.low,
            action=InvestorAction.engage,
            action_reason="Example engagement reason",
            exposure_via=[
                OwnedCompany(company_name="Example Owned Vendor", stake_percent=Decimal("40.0000"))
            ],
        ),
    ]
    report = PortfolioReport(
        portfolio_name=f"Example portfolio {GREEK_NAME}",
        owner_organisation=f"Example Investor {CYRILLIC_NAME}",
        report_date=date(2025, 2, 28),
        rule_set=RuleSetRef(id="default", version="3"),
        key_figures=KeyFigures(
            total_value=Decimal("1000000.00"),
            currency="EUR",
            holdings_count=holding_count,
            share_basis=ShareBasis.market_values,
            holdings_without_value=0,
            holdings_without_share=0,
            by_band=[
                BandExposure(
                    band=band,
                    holdings=holding_count // 5,
                    value=Decimal("200000.00"),
                    share_of_value=Decimal("0.2"),
                )
                for band in BANDS
            ],
            value_with_active_override=Decimal("123456.78"),
            share_with_active_override=Decimal("0.1234"),
            holdings_with_active_override=3,
            value_unassessed=Decimal("200000.00"),
            share_unassessed=Decimal("0.2"),
            unassessed_count=len(unassessed),
            needing_escalation=7,
        ),
        flagged=flagged,
        medium=[
            FlaggedHolding(
                name="Medium Example Vendor",
                band=RiskBand.medium,
                score=41.5,
                assessment_status=AssessmentStatus.final,
                confidence=Confidence.high,
                action=InvestorAction.engage,
                action_reason="Example medium reason",
                key_evidence=[
                    KeyEvidence(
                        publisher="Example Newspaper",
                        title="Example medium finding",
                        published_on=date(2023, 6, 7),
                        url="https://example.org/medium",
                        source_class=SourceClass.media_report,
                    )
                ],
            )
        ],
        holdings=holdings,
        unassessed=unassessed,
        methodology=[MethodologySection(title="Example method", paragraphs=["Method text."])],
    )
    return report.model_copy(update=changes)


def render(report: PortfolioReport, progress: list[float] | None = None) -> bytes:
    buffer = io.BytesIO()
    render_portfolio_report(report, buffer, progress.append if progress is not None else None)
    return buffer.getvalue()


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def squashed(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def small_pdf() -> bytes:
    return render(portfolio_report())


@pytest.fixture(scope="module")
def small_text(small_pdf: bytes) -> str:
    return "\n".join(page_texts(small_pdf))


def test_sections_are_printed_in_order_and_bookmarked(small_pdf: bytes, small_text: str) -> None:
    positions = [small_text.find(title) for title in SECTION_TITLES[1:]]
    assert all(position >= 0 for position in positions)
    assert positions == sorted(positions)
    reader = PdfReader(io.BytesIO(small_pdf))
    texts = page_texts(small_pdf)
    top_level = [item for item in reader.outline if not isinstance(item, list)]
    assert [item.title for item in top_level] == SECTION_TITLES
    for item in top_level[1:]:
        assert item.title in texts[reader.get_destination_page_number(item)]
    flagged_children = reader.outline[SECTION_TITLES.index("Flagged holdings") + 1]
    assert [child.title for child in flagged_children] == [
        f"Flagged {LINK_INJECTION} Example",
        HEBREW_NAME,
    ]
    # After the flagged holdings' own list of children.
    medium_children = reader.outline[SECTION_TITLES.index("Medium-risk holdings") + 2]
    assert [child.title for child in medium_children] == ["Medium Example Vendor"]


def test_medium_holdings_are_detailed_and_the_section_left_out_without_them(
    small_text: str,
) -> None:
    medium = squashed(small_text.split("Medium-risk holdings")[1].split("All holdings")[0])
    for expected in ("Medium Example Vendor", "Example medium reason", "Example medium finding"):
        assert squashed(expected) in medium
    without = "\n".join(page_texts(render(portfolio_report(medium=[]))))
    assert "Medium-risk holdings" not in without


def test_key_figures_show_money_counts_and_shares(small_text: str) -> None:
    for expected in (
        "1,000,000.00 EUR",
        "123,456.78 EUR (12.3% of value; 3 holdings)",
        "200,000.00 EUR (20.0% of value; 8 holdings)",
        "Risk distribution: holdings per band, and unassessed",
        "Exposure: value per band and unassessed (EUR)",
    ):
        assert expected in small_text
    # The escalation count says what it counts where it is read, not only in the methodology.
    assert (
        "Holdings needing escalation (action: escalate with other investors, vote, use "
        "governance rights, or divest)"
    ) in " ".join(small_text.split())
    # Both charts have a bar for the unassessed holdings (8 of them, 200k): a third of a
    # portfolio was missing from them.
    charts = small_text.split("Risk distribution: holdings per band")[1]
    assert charts.count("Un-\nassessed") == 2
    assert "200.0k" in charts


def test_with_weights_only_no_money_is_shown_and_shares_come_from_weights() -> None:
    figures = portfolio_report().key_figures.model_copy(
        update={"share_basis": ShareBasis.weights, "total_value": Decimal(0)}
    )
    text = "\n".join(page_texts(render(portfolio_report(key_figures=figures))))
    assert "Not given: shares of value come from the weight column" in text
    assert "12.3% of value; 3 holdings" in text
    assert "Exposure: share of value per band and unassessed (from weights)" in " ".join(
        text.split()
    )
    assert "EUR" not in text.split("Flagged holdings")[0]


def test_with_weights_and_some_market_values_the_values_given_are_shown() -> None:
    """A file with weights may carry market values for some rows: the report said 'Total
    value: Not given' and showed no value by band while the risk view had both."""
    figures = portfolio_report().key_figures.model_copy(update={"share_basis": ShareBasis.weights})
    text = squashed("\n".join(page_texts(render(portfolio_report(key_figures=figures)))))
    assert (
        squashed(
            "1,000,000.00 EUR in the market values given for some holdings (values by band below "
            "are of those): shares of value come from the weight column"
        )
        in text
    )
    assert squashed("123,456.78 EUR (12.3% of value; 3 holdings)") in text
    assert "Notgiven" not in text


def test_weights_covering_part_of_the_portfolio_say_what_the_shares_are_of() -> None:
    """A file listing 30% of the portfolio: its band shares add up to 100% of that 30%, while
    each holding's weight is printed as given; the key figures must say so."""
    figures = portfolio_report().key_figures.model_copy(
        update={
            "share_basis": ShareBasis.weights,
            "total_value": Decimal(0),
            "weights_total": Decimal("0.3"),
        }
    )
    text = squashed("\n".join(page_texts(render(portfolio_report(key_figures=figures)))))
    assert squashed("which add up to 30.0% of the portfolio") in text
    assert squashed("the shares below are shares of that 30.0% and add up to 100%") in text


def test_an_empty_portfolio_says_nothing_was_imported() -> None:
    report = portfolio_report(holding_count=0)
    figures = report.key_figures.model_copy(
        update={
            "share_basis": ShareBasis.none,
            "total_value": Decimal(0),
            "holdings_count": 0,
            "unassessed_count": 0,
            "by_band": [],
        }
    )
    empty = report.model_copy(
        update={"key_figures": figures, "flagged": [], "holdings": [], "unassessed": []}
    )
    text = "\n".join(page_texts(render(empty)))
    assert "no holdings have been imported" in text
    assert "(from weights)" not in text
    assert squashed("no holdings imported") in squashed(text)


def test_the_cover_says_when_the_holdings_were_imported_in_utc() -> None:
    eastern = timezone(timedelta(hours=-5))
    report = portfolio_report(holdings_imported_at=datetime(2025, 2, 27, 21, 30, tzinfo=eastern))
    cover = squashed(page_texts(render(report))[0])
    assert squashed("holdings imported 2025-02-28 02:30 UTC") in cover


def test_flagged_holdings_show_their_detail(small_text: str) -> None:
    for expected in (
        "A final assessment, reviewed and approved",
        "The score of Example Owned Vendor, which it owns: a draft assessment",
        "Example Owned Vendor, 40% stake (dates not recorded)",
        "2,500,000.50 EUR",
        "3.10%",
        "Severe, 91.0 out of 100",
        "Divest or exclude (last resort)",
        "OVR-EXAMPLE-2",
        "Example Owned Subsidiary, 70% stake (2019-02-01 to 2023-03-01)",
        "Example Lab",
        "https://example.org/finding",
    ):
        assert expected in small_text


def test_injection_strings_print_literally_and_links_stay_web_links(
    small_pdf: bytes, small_text: str
) -> None:
    flat = squashed(small_text)
    assert squashed(LINK_INJECTION) in flat
    assert squashed(IMG_INJECTION) in flat
    reader = PdfReader(io.BytesIO(small_pdf))
    uris = {
        annotation.get_object()["/A"]["/URI"]
        for page in reader.pages
        for annotation in page.get("/Annots") or []
    }
    assert uris == {"https://example.org/finding", "https://example.org/medium"}
    assert b"/Launch" not in small_pdf
    assert b"/JavaScript" not in small_pdf


def test_non_latin_names_are_extracted(small_text: str) -> None:
    assert GREEK_NAME in small_text
    assert CYRILLIC_NAME in small_text
    assert squashed(HEBREW_NAME) in squashed(small_text)


def test_every_holding_and_unassessed_holding_is_listed(small_text: str) -> None:
    for index in range(40):
        assert holding_name(index) in small_text
        assert f"TEST{index:06d}" in small_text
    assert "No company matched" in small_text
    assert "Unassessed" in small_text


def test_metadata_and_page_numbers(small_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(small_pdf))
    metadata = reader.metadata
    assert metadata is not None
    assert GREEK_NAME in (metadata.title or "")
    assert CYRILLIC_NAME in (metadata.author or "")
    assert "40 holdings" in (metadata.subject or "")
    texts = page_texts(small_pdf)
    for number, text in enumerate(texts, start=1):
        assert re.search(rf"Page {number} of\s*{len(texts)}\b", text)


def test_one_holding_is_counted_in_the_singular() -> None:
    pdf = render(portfolio_report(holding_count=1))
    text = squashed("\n".join(page_texts(pdf)))
    assert "1holding.Valuesin" in text
    assert "1holdings" not in text
    metadata = PdfReader(io.BytesIO(pdf)).metadata
    assert metadata is not None
    assert "of 1 holding as of" in (metadata.subject or "")


def test_a_delisted_company_is_marked_in_the_unassessed_table_too() -> None:
    report = portfolio_report(holding_count=1)
    unassessed = report.unassessed[0].model_copy(update={"listing_status": ListingStatus.delisted})
    holding = report.holdings[0].model_copy(update={"listing_status": ListingStatus.delisted})
    text = squashed(
        "\n".join(
            page_texts(
                render(
                    report.model_copy(update={"unassessed": [unassessed], "holdings": [holding]})
                )
            )
        )
    )
    marked = squashed(f"{holding_name(0)} (company delisted)")
    table, unassessed_table = text.split("Unassessedexposure")[-2:]
    assert marked in table.split("Allholdings")[-1]
    assert marked in unassessed_table


# A stake held from 2014 to 2019, known to the year.
ENDED_STAKE = OwnedCompany(
    company_name="Example Former Vendor",
    owned_from=date(2014, 1, 1),
    owned_until=date(2019, 1, 1),
    dates_precision=DatePrecision.year,
    current=False,
    ended=True,
)


def test_stakes_not_current_are_marked_in_the_details_with_their_dates() -> None:
    report = portfolio_report()
    not_started = OwnedCompany(
        company_name="Example Future Vendor", owned_from=date(2026, 3, 1), current=False
    )
    flagged = report.flagged[0]
    flagged = flagged.model_copy(
        update={"exposure_via": [*flagged.exposure_via, ENDED_STAKE, not_started]}
    )
    text = squashed("\n".join(page_texts(render(report.model_copy(update={"flagged": [flagged]})))))
    assert squashed("Example Former Vendor (2014 to 2019): ended, no longer counts") in text
    assert squashed("Example Future Vendor (since 2026-03-01): not current, does not count") in text
    # A current stake is printed as before, with nothing after its dates.
    current = squashed("Example Owned Subsidiary, 70% stake (2019-02-01 to 2023-03-01)")
    assert current in text and f"{current}:" not in text


@pytest.mark.parametrize(
    ("page_size", "dimensions"), [(PageSize.a4, A4), (PageSize.letter, LETTER)]
)
def test_page_size_follows_the_model(page_size: PageSize, dimensions: tuple[float, float]) -> None:
    reader = PdfReader(io.BytesIO(render(portfolio_report(page_size=page_size))))
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(dimensions)


def test_a_3000_character_name_is_shortened_in_the_table_and_wrapped_in_the_detail() -> None:
    word = "W" * 3_000
    report = portfolio_report()
    holdings = [report.holdings[0].model_copy(update={"name": word}), *report.holdings[1:]]
    flagged = [report.flagged[0].model_copy(update={"name": word}), *report.flagged[1:]]
    texts = page_texts(render(report.model_copy(update={"holdings": holdings, "flagged": flagged})))
    holdings_page = next(text for text in texts if "All holdings" in text)
    assert re.search(r"W{10,}…", holdings_page)
    # The flagged-holding heading prints the whole word, wrapped over many lines; the table
    # cell adds its shortened copy.
    assert "".join(texts).count("W") > len(word)


def test_1500_holdings_render_on_a_sensible_number_of_pages() -> None:
    holding_count = 1_500
    progress: list[float] = []
    pdf = render(portfolio_report(holding_count), progress)
    texts = page_texts(pdf)
    everything = "\n".join(texts)
    assert all(holding_name(index) in everything for index in range(holding_count))

    # Fixed-height rows: the holdings table needs this many pages, the unassessed table (a
    # fifth of the rows) a fifth of that; the other sections add only a few.
    frame_height = A4[1] - TOP_MARGIN - BOTTOM_MARGIN
    rows_per_page = int(frame_height // PLAIN_ROW_HEIGHT) - 1
    table_pages = math.ceil(holding_count / rows_per_page)
    unassessed_pages = math.ceil(holding_count / 5 / rows_per_page)
    assert table_pages + unassessed_pages <= len(texts) <= table_pages + unassessed_pages + 6
    pages_with_table_header = [text for text in texts if "Value (EUR)" in text]
    assert len(pages_with_table_header) >= table_pages

    assert progress == sorted(progress)
    assert progress[-1] == 1.0
    assert all(0.0 < fraction <= 1.0 for fraction in progress)
    assert len(progress) >= 10


def test_no_cell_text_runs_into_the_next_cell(small_pdf: bytes) -> None:
    # Headers are drawn in bold, and the longest key-figure label is wider than its column.
    assert crowded_runs(small_pdf) == []


def test_long_table_cells_wrap_instead_of_being_cut() -> None:
    reason = (
        "Example Foods S.A. has no submitted or final assessment and no evidence in effect "
        "(none on record, or none dated on or before today)"
    )
    identifiers = [
        Identifier(scheme="ISIN", value="CH0000000001"),
        Identifier(scheme="Ticker", value="SIX:EXMPL"),
    ]
    report = portfolio_report(5)
    holdings = [
        report.holdings[1].model_copy(
            update={
                "identifiers": identifiers,
                "band": RiskBand.severe,
                "action": InvestorAction.vote_or_file_resolution,
                "company_listed": False,
            }
        ),
        *report.holdings[2:],
    ]
    unassessed = [
        report.unassessed[0].model_copy(update={"identifiers": identifiers, "reason": reason})
    ]
    changed = report.model_copy(update={"holdings": holdings, "unassessed": unassessed})
    text = squashed("".join(page_texts(render(changed))))
    holdings_table = text.split("Allholdings")[1].split("Unassessedexposure")[0]
    assert squashed("ISIN CH0000000001; Ticker SIX:EXMPL") in holdings_table
    assert squashed("Governance rights") in holdings_table
    unassessed_table = text.split("Unassessedexposure")[1]
    assert squashed(reason) in unassessed_table
    assert "…" not in holdings_table + unassessed_table


def test_a_section_heading_is_kept_with_its_first_holding(small_pdf: bytes) -> None:
    """Key figures and charts leave little room on the first page: the flagged section starts
    where its first holding's detail fits, not as a lone heading at the foot of a page."""
    heading_page = next(text for text in page_texts(small_pdf) if "Flagged holdings" in text)
    after_heading = heading_page.split("Flagged holdings")[1]
    assert "Band and score" in after_heading, after_heading


def test_a_holding_scored_through_what_it_owns_names_that_stake_in_the_holdings_table() -> None:
    """An owner that sold one vendor and still holds another: the table showed only the stake
    that ended beside the score, as if the score came from it."""
    report = portfolio_report(holding_count=1)
    holding = report.holdings[0].model_copy(
        update={"scored_through": "Example Current Vendor", "stakes_not_counted": [ENDED_STAKE]}
    )
    text = squashed(
        "\n".join(page_texts(render(report.model_copy(update={"holdings": [holding]}))))
    )
    table = text.split("Allholdings")[-1]
    assert (
        squashed(
            f"{holding_name(0)}; scored as its stake in Example Current Vendor; stake in Example "
            "Former Vendor (2014 to 2019): ended, no longer counts"
        )
        in table
    )


def test_the_share_used_in_the_totals_is_not_called_the_files_weight(small_text: str) -> None:
    """The holdings tables print each holding's share of the portfolio as the totals count it
    (of the market value when values are given), which is not the file's weight column: a
    reader saw 16.69% under "Weight" where the file said 4.95%."""
    assert "Share of portfolio" in small_text
    assert "Weight" not in small_text


def test_a_detailed_holding_names_its_companys_products_and_the_table_does_not() -> None:
    report = portfolio_report()
    flagged = [report.flagged[0].model_copy(update={"products": ["Pegasus"]}), *report.flagged[1:]]
    text = squashed("\n".join(page_texts(render(report.model_copy(update={"flagged": flagged})))))
    detail = text.split(squashed("Flagged holdings"))[1].split(squashed("All holdings"))[0]
    assert detail.count(squashed("Products known as")) == 1
    assert squashed("Products known asPegasus") in detail
    assert "Pegasus" not in text.split(squashed("All holdings"))[1]
    # Holdings whose company has no products get no such row.
    assert squashed("Products known as") not in squashed("\n".join(page_texts(render(report))))
