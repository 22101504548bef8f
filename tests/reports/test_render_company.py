"""The company report PDF, read back with pypdf.

What pypdf (7.x) returns for right-to-left text: the renderer draws Hebrew and Arabic in visual
order (left to right on the page), and pypdf's text extraction reorders such runs back into
logical order, so a Hebrew name comes back exactly as stored. Arabic comes back as the joined
presentation forms that were drawn (U+FB50-U+FEFF); compatibility normalisation (NFKC) maps
them back to the stored letters. Extraction may add or drop spaces around a right-to-left run
inside left-to-right text, so those checks compare text with whitespace removed.
"""

import io
import re
import unicodedata
from datetime import date

import pytest
from pydantic import ValidationError
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4, LETTER
from tests.reports.text_layout import crowded_runs

from hrdd.reports.company_pdf import render_company_report
from hrdd.reports.schemas import (
    AnswerRow,
    Citation,
    CompanyReport,
    CompanyResponse,
    EvidenceLink,
    Identifier,
    MethodologySection,
    OverrideFired,
    PageSize,
    RiskPoint,
    RuleSetRef,
    SayDoGapRow,
    ScoreSummary,
    ThemeScore,
    TimelineEntry,
)
from hrdd.scoring import engine
from hrdd.vocab import (
    AssessmentStatus,
    CompanyRole,
    Confidence,
    DatePrecision,
    EvidenceStatus,
    EvidenceType,
    FulfilmentStatus,
    InvestorAction,
    ResponseKind,
    RiskBand,
    SourceClass,
)

IMG_INJECTION = '<img src="/etc/passwd"/>'
LINK_INJECTION = '<a href="javascript:alert(1)">x</a>'
ENTITY_TEXT = "Smith &amp; Partners &lt;b&gt;"
GREEK_NAME = "Παράδειγμα Συμμετοχές"
CYRILLIC_NAME = "Пример Холдинг"
HEBREW_NAME = "דוגמה מערכות"
ARABIC_NAME = "شركة مثال"
SECTION_TITLES = [
    "Cover",
    "Summary",
    "Ownership on record",
    "Theme scores",
    "Evidence risk over time",
    "Say-do gap",
    "Evidence timeline",
    "Overrides fired",
    "Appendix A: answers",
    "Appendix B: methodology",
]
PRINTED_SECTION_TITLES = SECTION_TITLES[1:]  # the cover has a bookmark, not a heading


def citation(number: int, url: str | None) -> Citation:
    return Citation(
        publisher=f"Example Publisher {number}",
        title=f"Example article number {number}",
        published_on=date(2021, 1, number),
        url=url,
        source_class=SourceClass.ngo_report,
    )


def company_report(**changes: object) -> CompanyReport:
    """A fictional company with every section filled and hostile text in the usual places."""
    report = CompanyReport(
        company_name=f"Example Surveillance {IMG_INJECTION} Ltd",
        aliases=[GREEK_NAME, CYRILLIC_NAME, HEBREW_NAME, ARABIC_NAME],
        identifiers=[Identifier(scheme="LEI", value="EXAMPLE0000000000000")],
        report_date=date(2025, 1, 31),
        prepared_for="Example Investor Organisation",
        rule_set=RuleSetRef(id="default", version="7"),
        inputs_hash="0f" * 32,
        assessment_status=AssessmentStatus.draft,
        summary=ScoreSummary(
            overall=81.5,
            band=RiskBand.severe,
            confidence=Confidence.medium,
            range_low=74.0,
            range_high=86.5,
            recommended_action=InvestorAction.escalate_collectively,
            action_reason=f"Reason text with {LINK_INJECTION} inside.",
        ),
        theme_scores=[
            ThemeScore(
                theme_id=f"theme-{index}",
                title=f"Theme {index}",
                claimed=index * 20.0,
                verified=index * 10.0,
            )
            for index in range(1, 5)
        ],
        evidence_risk_series=[
            RiskPoint(on=date(2020, month, 1), value=10.0 * month) for month in range(1, 10)
        ],
        say_do_gaps=[
            SayDoGapRow(
                commitment=f"Commitment text {ENTITY_TEXT}",
                committed_on=date(2019, 6, 1),
                status=FulfilmentStatus.contradicted,
                contradicting_evidence=[
                    EvidenceLink(title="Contradicting item", url="https://example.org/contra"),
                    EvidenceLink(title="Script link item", url="javascript:alert(2)"),
                ],
            )
        ],
        timeline=[
            TimelineEntry(
                occurred_on=date(2021, 1, 1),
                summary="First example incident",
                evidence_type=EvidenceType.forensic_finding,
                citations=[citation(1, "https://example.org/one?a=1&b=2")],
            ),
            TimelineEntry(
                occurred_on=date(2021, 1, 2),
                summary=f"Second example incident {LINK_INJECTION}",
                citations=[citation(2, "file:///etc/passwd"), citation(3, None)],
            ),
        ],
        overrides=[
            OverrideFired(
                rule_id="OVR-EXAMPLE-1",
                reason="Example reason for the override",
                lifts_when="Example lifting condition",
            )
        ],
        answers=[
            AnswerRow(
                question_id="Q-EXAMPLE-1",
                question="Example question?",
                answer=f"Example answer\x00 with {IMG_INJECTION}",
                evidence=[
                    EvidenceLink(
                        title="Answer evidence",
                        url="https://example.org/answer",
                        publisher="Answer Publisher",
                        published_on=date(2020, 5, 4),
                    )
                ],
            )
        ],
        methodology=[
            MethodologySection(title="How scores combine", paragraphs=["Example method text."]),
            MethodologySection(title="Overrides", paragraphs=["Example override text."]),
        ],
    )
    return report.model_copy(update=changes)


def render(report: CompanyReport) -> bytes:
    buffer = io.BytesIO()
    render_company_report(report, buffer)
    return buffer.getvalue()


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def squashed(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def full_pdf() -> bytes:
    return render(company_report())


@pytest.fixture(scope="module")
def full_text(full_pdf: bytes) -> str:
    return "\n".join(page_texts(full_pdf))


def test_every_section_is_printed_in_order(full_text: str) -> None:
    positions = [full_text.find(title) for title in PRINTED_SECTION_TITLES]
    assert all(position >= 0 for position in positions), dict(
        zip(PRINTED_SECTION_TITLES, positions, strict=True)
    )
    assert positions == sorted(positions)


def test_cover_and_summary_carry_the_score_facts(full_text: str) -> None:
    for expected in (
        "A draft assessment: work in progress",
        "2025-01-31",
        "default, version 7",
        "0f" * 32,
        "81.5 out of 100",
        "Severe",
        "74.0 to 86.5",
        "Escalate together with other investors",
        "EXAMPLE0000000000000",
    ):
        assert expected in full_text


def test_theme_scores_show_claimed_beside_verified(full_text: str) -> None:
    """The say-do gap per theme is visible: each theme's row gives both scores."""
    section = full_text[full_text.index("Theme scores") : full_text.index("Evidence risk")]
    assert "Claimed" in section and "Verified" in section
    table = section[section.index("Weight") :]
    rows = re.findall(r"Theme (\d)\s+\S+\s+([\d.]+)\s+([\d.]+)", table)
    assert {(int(n), float(c), float(v)) for n, c, v in rows} == {
        (n, n * 20.0, n * 10.0) for n in range(1, 5)
    }


def test_the_first_page_gives_the_result(full_pdf: bytes) -> None:
    first_page = page_texts(full_pdf)[0]
    for expected in ("81.5 out of 100", "Severe", "Escalate together with other investors"):
        assert expected in first_page


def test_a_private_company_is_not_asked_for_a_shareholder_vote() -> None:
    """A private company has no shareholder vote: its fourth rung names governance rights."""
    vote = InvestorAction.vote_or_file_resolution

    def action_text(listed: bool) -> str:
        report = company_report(company_listed=listed)
        # The engine's own wording of the rung, as in a real reason.
        reason = f"Band severe (overall 81.5): {engine.ACTION_WORDS[vote]}."
        summary = report.summary.model_copy(
            update={"recommended_action": vote, "action_reason": reason}
        )
        return squashed(page_texts(render(report.model_copy(update={"summary": summary})))[0])

    assert squashed("Vote against management or file a resolution") in action_text(True)
    private = action_text(False)
    assert squashed("against management") not in private
    assert squashed("use governance rights (the fund manager") in private
    assert squashed("Use governance rights: fund manager, LP advisory committee") in private


def test_citations_are_printed_in_full(full_text: str) -> None:
    flat = squashed(full_text)
    for number in (1, 2, 3):
        assert f"Example Publisher {number}" in full_text
        assert f"Example article number {number}" in full_text
        assert f"2021-01-0{number}" in full_text
    assert "NGO report" in full_text
    assert squashed("https://example.org/one?a=1&b=2") in flat
    # A non-web URL is shown, not linked.
    assert "file:///etc/passwd" in flat


def test_answer_evidence_prints_who_published_it_when_and_where(full_text: str) -> None:
    """A printed report keeps no link: the appendix gives publisher, date and address."""
    appendix = squashed(full_text)
    assert (
        squashed("Answer evidence (Answer Publisher, 2020-05-04, https://example.org/answer)")
        in appendix
    )


def test_links_are_web_links_only(full_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(full_pdf))
    targets = set()
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object()["/A"]
            assert action["/S"] == "/URI"
            targets.add(action["/URI"])
    assert targets == {
        "https://example.org/contra",
        "https://example.org/one?a=1&b=2",
        "https://example.org/answer",
    }
    assert b"/Launch" not in full_pdf
    assert b"/JavaScript" not in full_pdf


def test_injection_strings_print_literally(full_text: str) -> None:
    flat = squashed(full_text)
    assert squashed(IMG_INJECTION) in flat
    assert squashed(LINK_INJECTION) in flat
    assert squashed(ENTITY_TEXT) in flat
    assert "\x00" not in full_text


def test_non_latin_names_are_extracted(full_text: str) -> None:
    assert GREEK_NAME in full_text
    assert CYRILLIC_NAME in full_text
    flat = squashed(full_text)
    assert squashed(HEBREW_NAME) in flat
    # Arabic was drawn shaped (joined presentation forms), which NFKC maps back to the letters.
    assert any(0xFB50 <= ord(character) <= 0xFEFF for character in full_text)
    assert squashed(ARABIC_NAME) in squashed(unicodedata.normalize("NFKC", full_text))


def test_every_page_says_page_x_of_y(full_pdf: bytes) -> None:
    texts = page_texts(full_pdf)
    assert len(texts) > 1
    for number, text in enumerate(texts, start=1):
        assert re.search(rf"Page {number} of\s*{len(texts)}\b", text), text[-200:]


def test_metadata_names_the_company_and_the_organisation(full_pdf: bytes) -> None:
    metadata = PdfReader(io.BytesIO(full_pdf)).metadata
    assert metadata is not None
    assert "Example Surveillance" in (metadata.title or "")
    assert metadata.author == "hrdd for Example Investor Organisation"
    assert "rule set default version 7" in (metadata.subject or "")
    assert metadata.creation_date is not None
    assert metadata.creation_date.date() == date(2025, 1, 31)


def test_bookmarks_point_at_the_pages_of_their_sections(full_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(full_pdf))
    texts = page_texts(full_pdf)
    top_level = [item for item in reader.outline if not isinstance(item, list)]
    assert [item.title for item in top_level] == SECTION_TITLES
    for item in top_level[1:]:
        assert item.title in texts[reader.get_destination_page_number(item)]
    nested = [item for item in reader.outline if isinstance(item, list)]
    assert [child.title for child in nested[-1]] == ["How scores combine", "Overrides"]


@pytest.mark.parametrize(
    ("page_size", "dimensions"), [(PageSize.a4, A4), (PageSize.letter, LETTER)]
)
def test_page_size_follows_the_model(page_size: PageSize, dimensions: tuple[float, float]) -> None:
    pdf = render(company_report(page_size=page_size))
    for page in PdfReader(io.BytesIO(pdf)).pages:
        assert float(page.mediabox.width) == pytest.approx(dimensions[0])
        assert float(page.mediabox.height) == pytest.approx(dimensions[1])


def test_a_cell_taller_than_a_page_is_split_across_pages() -> None:
    word = "W" * 3_000
    gap = SayDoGapRow(commitment=word, status=FulfilmentStatus.self_reported)
    texts = page_texts(render(company_report(say_do_gaps=[gap])))
    # All of the word is printed (in pieces of many letters, between page headers and footers,
    # which repeat the table header's single W).
    pieces = re.findall(r"W{2,}", "".join(texts))
    assert sum(map(len, pieces)) == len(word)
    assert len([text for text in texts if text.count("W") > 100]) >= 2


def test_a_report_with_only_the_required_parts_says_what_is_missing() -> None:
    report = company_report(
        aliases=[],
        identifiers=[],
        prepared_for=None,
        theme_scores=[],
        evidence_risk_series=[],
        say_do_gaps=[],
        timeline=[],
        overrides=[],
        answers=[],
        methodology=[],
    )
    text = "\n".join(page_texts(render(report)))
    for expected in (
        "No theme scores were recorded.",
        "No evidence-risk history was recorded.",
        "No commitments were recorded, and no answer rests on the company's word alone.",
        "No evidence items were recorded.",
        "No red-flag override applies to this company.",
        "No answers were recorded.",
        "No methodology text was supplied.",
    ):
        assert expected in text


def test_the_same_model_gives_the_same_bytes() -> None:
    report = company_report()
    assert render(report) == render(report)


def test_single_point_series_renders() -> None:
    report = company_report(evidence_risk_series=[RiskPoint(on=date(2024, 5, 1), value=42.0)])
    assert "highest point of the chart 42.0 on 2024-05-01" in "\n".join(page_texts(render(report)))


def test_series_out_of_date_order_is_refused_with_its_position() -> None:
    points = [
        {"on": date(2021, 1, 1), "value": 1.0},
        {"on": date(2020, 1, 1), "value": 2.0},
    ]
    data = company_report().model_dump()
    data["evidence_risk_series"] = points
    with pytest.raises(ValidationError, match=r"evidence_risk_series\[1\]\.on"):
        CompanyReport.model_validate(data)


def test_sensitivity_range_upside_down_is_refused() -> None:
    data = company_report().model_dump()
    data["summary"]["range_low"] = 90.0
    with pytest.raises(ValidationError, match=r"range_low 90\.0 is above range_high 86\.5"):
        CompanyReport.model_validate(data)


def test_no_cell_text_runs_into_the_next_cell(full_pdf: bytes) -> None:
    assert crowded_runs(full_pdf) == []


def test_the_timeline_says_what_each_item_weighs_by() -> None:
    report = company_report()
    rated = report.timeline[0].model_copy(
        update={
            "severity": 4,
            "company_role": CompanyRole.directly_linked,
            "status": EvidenceStatus.ongoing,
            "status_note": "No remedy announced",
            "responses": [
                CompanyResponse(
                    kind=ResponseKind.public_response,
                    on=date(2021, 3, 1),
                    precision=DatePrecision.month,
                    summary="The company denied the findings",
                )
            ],
        }
    )
    remediated = report.timeline[1].model_copy(
        update={
            "severity": 2,
            "company_role": CompanyRole.caused,
            "status": EvidenceStatus.remediated,
            "remediated_on": date(2022, 5, 6),
        }
    )
    text = squashed(
        "".join(page_texts(render(report.model_copy(update={"timeline": [rated, remediated]}))))
    )
    timeline = text.split("Evidencetimeline")[1]
    for expected in (
        "Severity 4 of 5; company's role: directly linked; ongoing.",
        "Status: No remedy announced",
        "Company response (public response, 2021-03): The company denied the findings",
        "Severity 2 of 5; company's role: caused; remediated on 2022-05-06.",
    ):
        assert squashed(expected) in timeline, expected


def test_the_say_do_table_says_why_a_commitment_was_rated_so() -> None:
    report = company_report()
    gap = report.say_do_gaps[0].model_copy(
        update={"rationale": "Abuse continued after the pledge, as the labs documented."}
    )
    text = squashed("".join(page_texts(render(report.model_copy(update={"say_do_gaps": [gap]})))))
    say_do = text.split("Say-dogap")[1].split("Evidencetimeline")[0]
    assert squashed("Abuse continued after the pledge, as the labs documented.") in say_do
    assert squashed("Contradicting evidence: Contradicting item") in say_do


def test_the_cover_names_the_products_under_the_aliases() -> None:
    """Products are the names a company is known by in the record (Pegasus for NSO Group):
    printed on the cover under the aliases, as untrusted text; none, no line."""
    report = company_report(
        company_name="NSO Group Technologies Limited",
        aliases=["NSO Group"],
        products=["Pegasus", f"Example {IMG_INJECTION}"],
    )
    first_page = squashed(page_texts(render(report))[0])
    line = squashed(f"Products known as: Pegasus; Example {IMG_INJECTION}")
    assert line in first_page
    assert first_page.index(squashed("Also known as: NSO Group")) < first_page.index(line)
    assert first_page.index(line) < first_page.index(squashed("Questions answered"))

    without = "\n".join(page_texts(render(company_report(products=[]))))
    assert "Products known as" not in without
