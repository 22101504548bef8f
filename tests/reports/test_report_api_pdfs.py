"""The PDF endpoints: company and portfolio reports read back with pypdf."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from tests.portfolios.portfolio_helpers import (
    API,
    SPARE_ISINS,
    company_id,
    confirm_first_candidates,
    create_company,
    create_portfolio,
    load_content,
    upload,
)
from tests.scoring.ruleset_helpers import new_draft, publish
from tests.scoring.test_score_api_support import (
    answer_payloads,
    bundled_questionnaire,
    make_assessment,
)

from hrdd.companies.models import Company
from hrdd.config import PROJECT_ROOT
from hrdd.db import SYSTEM, TenantContext
from hrdd.evidence.models import EvidenceItem
from hrdd.portfolios import service as portfolios_service
from hrdd.questionnaires.answers import DisclosureAnswer, NumberAnswer
from hrdd.questionnaires.loader import load_questionnaire_file
from hrdd.reports import service as reports_service
from hrdd.reports.schemas import PageSize
from hrdd.reports.service import SYNC_PORTFOLIO_REPORT_MAX_HOLDINGS, _answer_rows, _answer_text
from hrdd.vocab import DisclosureLevel, ListingStatus

IMG = '<img src="/etc/passwd"/>'
JS_LINK = '<a href="javascript:alert(1)">click me</a>'
GREEK = "Ελληνικές Επενδύσεις"
DEFUNCT_WORDS = (
    "The company is recorded as defunct, so there may be no one left to engage: direct the asks "
    "to whoever holds its assets, to its successors or to the fund that held it, and keep the "
    "record for claims to remedy."
)


@pytest.fixture
def content(db, settings):
    load_content(db, settings)


def compact(text: str) -> str:
    """Text without white space: PDF extraction breaks lines wherever the layout did."""
    return re.sub(r"\s+", "", text)


def pdf_text(reader: PdfReader) -> str:
    return compact("".join(page.extract_text() for page in reader.pages))


def link_targets(reader: PdfReader) -> set[str]:
    targets = set()
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A")
            if action is not None and "/URI" in action:
                targets.add(str(action["/URI"]))
    return targets


def outline_titles(reader: PdfReader) -> list[str]:
    titles: list[str] = []

    def walk(items) -> None:  # type: ignore[no-untyped-def]
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(item.title)

    walk(reader.outline)
    return titles


def portfolio_report(client, tenant, portfolio: str) -> PdfReader:
    response = client.get(f"{API}/portfolios/{portfolio}/report.pdf", headers=tenant.investor)
    assert response.status_code == 200, response.text
    return PdfReader(io.BytesIO(response.content))


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def nso_assessment(client, tenant, db) -> str:
    response = client.post(
        f"{API}/assessments",
        json={"company_id": company_id(db, "nso-group"), "questionnaire_key": "stap-surveillance"},
        headers=tenant.analyst,
    )
    assert response.status_code == 201, response.text
    assessment, etag = response.json()["id"], response.headers["ETag"]
    answers = {
        "P1": {
            "type": "disclosure",
            "level": "partial",
            "comment": f"Policy text quoted: {JS_LINK}",
            "evidence": [
                {"title": f"Policy page {IMG}", "publisher": "NSO", "url": "https://example.org/p"}
            ],
        },
        "G1": {"type": "disclosure", "level": "no_information"},
    }
    patched = client.patch(
        f"{API}/assessments/{assessment}/answers",
        json={"answers": answers},
        headers=tenant.analyst | {"If-Match": etag},
    )
    assert patched.status_code == 200, patched.text
    return assessment


def test_company_report_has_every_section_citations_and_literal_markup(
    client, tenant_a, db, content
):
    assessment = nso_assessment(client, tenant_a, db)
    response = client.get(f"{API}/assessments/{assessment}/report.pdf", headers=tenant_a.investor)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert (
        f'filename="nso-group-technologies-limited-company-report-{today()}.pdf"'
        in response.headers["content-disposition"]
    )
    reader = PdfReader(io.BytesIO(response.content))
    text = pdf_text(reader)
    sections = [
        "Summary",
        "Theme scores",
        "Evidence risk over time",
        "Say-do gap",
        "Evidence timeline",
        "Overrides fired",
        "Appendix A: answers",
        "Appendix B: methodology",
    ]
    for section in sections:
        assert compact(section) in text, section
    assert set(sections) <= set(outline_titles(reader))
    # themes go by the questionnaire's names everywhere, never by the rule file's identifiers
    assert text.count(compact("End-user vetting and export controls")) >= 3
    assert "end_user_controls" not in text
    assert compact(IMG) in text
    assert compact(JS_LINK) in text
    assert (
        reader.metadata.title == "Human-rights due diligence report: NSO Group Technologies Limited"
    )
    assert 3 <= len(reader.pages) <= 60

    with db.session(SYSTEM) as session:
        sources = [
            source["url"]
            for item in session.scalars(
                select(EvidenceItem).where(
                    EvidenceItem.company_id == uuid.UUID(company_id(db, "nso-group"))
                )
            )
            for source in item.sources
        ]
    targets = link_targets(reader)
    assert sources and set(sources) <= targets
    assert not any(target.lower().startswith("javascript") for target in targets)
    score = client.get(f"{API}/assessments/{assessment}/score", headers=tenant_a.investor).json()
    assert compact(score["summary"]["inputs_hash"]) in text


def test_company_report_prints_dates_only_as_far_as_the_sources_know_them(
    client, tenant_a, db, content
):
    """A date known to the month or year is stored as its first day; the report must print
    2017 or 2017-05, never 2017-01-01 as if the day were known."""
    assessment = nso_assessment(client, tenant_a, db)
    response = client.get(f"{API}/assessments/{assessment}/report.pdf", headers=tenant_a.investor)
    text = pdf_text(PdfReader(io.BytesIO(response.content)))
    with db.session(SYSTEM) as session:
        items = list(
            session.scalars(
                select(EvidenceItem).where(
                    EvidenceItem.company_id == uuid.UUID(company_id(db, "nso-group"))
                )
            )
        )
    dated = [(item.event_date, item.event_date_precision) for item in items] + [
        (date.fromisoformat(source["date"]), source.get("date_precision", "day"))
        for item in items
        for source in item.sources
        if source.get("date")
    ]
    exact_days = {day for day, precision in dated if precision == "day"}
    vague = [(day, precision) for day, precision in dated if precision != "day"]
    assert {precision for _, precision in vague} == {"month", "year"}, "content changed?"
    for day, precision in vague:
        partial = f"{day.year}" if precision == "year" else f"{day.year}-{day.month:02d}"
        assert partial in text
        if day not in exact_days:
            assert day.isoformat() not in text, (day, precision)
    # red-flag reasons in words, as the methodology is
    assert compact("unremediated forensic finding affecting human rights defenders") in text
    assert "forensic_finding" not in text and "human_rights_defenders" not in text


def test_an_answer_source_dated_to_the_month_prints_to_the_month(client, tenant_a, db, content):
    """An answer's source known only to the month is sent as its first day with its precision:
    the appendix printed no date for such sources (the demo left them out)."""
    assessment = nso_assessment(client, tenant_a, db)
    etag = client.get(f"{API}/assessments/{assessment}", headers=tenant_a.analyst).headers["ETag"]
    source = {
        "title": "Monthly review of vendor disclosures",
        "publisher": "Example Monitor",
        "url": "https://example.org/review",
        "source_date": "2019-09-01",
        "source_date_precision": "month",
    }
    saved = client.patch(
        f"{API}/assessments/{assessment}/answers",
        json={"answers": {"G1": {"type": "disclosure", "level": "no", "evidence": [source]}}},
        headers=tenant_a.analyst | {"If-Match": etag},
    )
    assert saved.status_code == 200, saved.text
    response = client.get(f"{API}/assessments/{assessment}/report.pdf", headers=tenant_a.investor)
    text = pdf_text(PdfReader(io.BytesIO(response.content)))
    assert compact("Example Monitor, 2019-09, https://example.org/review") in text
    assert "2019-09-01" not in text
    for wrong in (
        {"source_date_precision": "week"},
        {"source_date": "2019-09-15"},  # a month is sent as its first day
        {"source_date": None},  # a precision of no date
    ):
        bad = client.patch(
            f"{API}/assessments/{assessment}/answers",
            json={
                "answers": {
                    "G1": {"type": "disclosure", "level": "no", "evidence": [source | wrong]}
                }
            },
            headers=tenant_a.analyst | {"If-Match": saved.headers["ETag"]},
        )
        assert bad.status_code == 422, (wrong, bad.text)
        assert bad.json()["errors"][0]["path"].startswith("answers.G1.evidence[0]"), bad.text


def test_red_flags_name_the_evidence_that_fired_them_by_title(client, tenant_a, db, content):
    assessment = nso_assessment(client, tenant_a, db)
    score = client.get(f"{API}/assessments/{assessment}/score", headers=tenant_a.investor).json()
    fired = {o["rule_id"]: o for o in score["summary"]["overrides"]}
    assert "nso-2019-10-morocco-hrds" in fired["RF-HRD-TARGETING"]["evidence_refs"]
    assert "nso-2019-10-morocco-hrds" not in fired["RF-HRD-TARGETING"]["reason"]
    response = client.get(f"{API}/assessments/{assessment}/report.pdf", headers=tenant_a.investor)
    text = pdf_text(PdfReader(io.BytesIO(response.content)))
    assert compact("Evidence: ") in text
    assert compact("Two Moroccan human rights defenders targeted with Pegasus") in text
    assert "nso-2019-10-morocco-hrds" not in text


def test_a_yes_or_no_question_answered_full_reads_yes(client, tenant_a, db, content):
    assessment = nso_assessment(client, tenant_a, db)
    etag = client.get(f"{API}/assessments/{assessment}", headers=tenant_a.analyst).headers["ETag"]
    listed = {
        "type": "disclosure",
        "level": "full",
        "evidence": [{"title": "Entity List addition", "url": "https://example.org/el"}],
    }
    answered = client.put(
        f"{API}/assessments/{assessment}/answers/EU4",
        json=listed,
        headers=tenant_a.analyst | {"If-Match": etag},
    )
    assert answered.status_code == 200, answered.text
    response = client.get(f"{API}/assessments/{assessment}/report.pdf", headers=tenant_a.investor)
    text = pdf_text(PdfReader(io.BytesIO(response.content)))
    question = compact(
        "Is the company or an affiliate on the US Entity List or on a sanctions list?"
    )
    after = text[text.index(question) + len(question) :]
    assert after.startswith("Yes"), after[:60]


def test_a_count_of_one_reads_in_the_singular(client, tenant_a, db, content):
    assessment = nso_assessment(client, tenant_a, db)
    etag = client.get(f"{API}/assessments/{assessment}", headers=tenant_a.analyst).headers["ETag"]
    counts = {
        "R1": {"type": "number", "value": 1},  # allegations
        "C3": {"type": "number", "value": 1, "unit": "customers"},
        "C3a": {"type": "number", "value": 1},  # days
        "GR2": {"type": "number", "value": 2},  # complaints
    }
    patched = client.patch(
        f"{API}/assessments/{assessment}/answers",
        json={"answers": counts},
        headers=tenant_a.analyst | {"If-Match": etag},
    )
    assert patched.status_code == 200, patched.text
    response = client.get(f"{API}/assessments/{assessment}/report.pdf", headers=tenant_a.investor)
    text = pdf_text(PdfReader(io.BytesIO(response.content)))
    for singular in ("1allegation", "1customer", "1day", "2complaints"):
        assert singular in text, singular
    for plural in ("1allegations", "1customers", "1days"):
        assert plural not in text, plural


@pytest.mark.parametrize(
    ("value", "unit", "printed"),
    [
        ("1", "countries", "1 country"),
        ("1", "boxes", "1 box"),
        ("1", "processes", "1 process"),
        ("1", "days per year", "1 day per year"),
        ("1", "percent", "1 percent"),
        ("1.0", "deals", "1.0 deal"),
        ("0", "deals", "0 deals"),
        ("1.5", "days", "1.5 days"),
    ],
)
def test_number_answers_put_their_unit_in_the_singular_for_one_only(value, unit, printed):
    question = load_questionnaire_file(
        PROJECT_ROOT / "questionnaires" / "stap-surveillance-v1.yaml"
    ).question("R1")
    answer = NumberAnswer(type="number", value=Decimal(value), unit=unit)
    assert _answer_text(question, answer) == printed


def test_unscored_disclosure_answers_say_what_their_level_means():
    # "Full" to "Does the company sell into conflict-affected areas?" told a reader nothing.
    questionnaire = load_questionnaire_file(
        PROJECT_ROOT / "questionnaires" / "stap-surveillance-v1.yaml"
    )

    def level(value: str, comment: str | None = None) -> DisclosureAnswer:
        return DisclosureAnswer(type="disclosure", level=value, comment=comment)

    answers = {
        "EX3": level("full", "Mexico, Saudi Arabia"),
        "IN1": level("partial"),
        "P1": level("full"),
        "EU4": level("full"),
        "IN6": level("no_information"),
    }
    rows = _answer_rows(questionnaire, answers, frozenset(answers), None)
    printed = {row.question_id: row.answer for row in rows}
    assert printed == {
        # Its guidance's first sentence; the instruction to the answerer that follows is left.
        "EX3": "Full: Sales or active contracts in such areas are documented by the company "
        "or by credible reporting. Comment: Mexico, Saudi Arabia",
        "IN1": "Partial: Only direct holdings are mapped",
        "P1": "Full",  # scored: the method explains what the levels grade
        "EU4": "Yes",
        "IN6": "No information found",  # no guidance for it
    }


def test_a_holding_scored_through_what_it_owns_says_whose_score_it_is(
    client, tenant_a, db, content
):
    parent = client.post(
        f"{API}/companies", json={"name": "Example Holdings plc"}, headers=tenant_a.analyst
    ).json()["id"]
    stake = {"owner_name": "Example Holdings plc", "owner_kind": "company", "percentage": "40"}
    owned = client.post(
        f"{API}/companies/{company_id(db, 'nso-group')}/ownership",
        json=stake | {"owner_company_id": parent},
        headers=tenant_a.analyst,
    )
    assert owned.status_code == 201, owned.text
    portfolio = create_portfolio(client, tenant_a.investor, name="Parents")
    assert (
        upload(client, tenant_a.investor, portfolio, "name\nExample Holdings plc\n").status_code
        == 200
    )
    confirm_first_candidates(client, tenant_a.investor, portfolio)
    text = pdf_text(portfolio_report(client, tenant_a, portfolio))
    assert (
        compact("The score of NSO Group Technologies Limited, which it owns: evidence alone")
        in text
    )
    assert compact("40% stake (dates not recorded)") in text


def test_company_report_in_us_letter(client, tenant_a, db, content):
    assessment = nso_assessment(client, tenant_a, db)
    url = f"{API}/assessments/{assessment}/report.pdf"
    letter = client.get(url, params={"page_size": "LETTER"}, headers=tenant_a.investor)
    assert letter.status_code == 200, letter.text
    box = PdfReader(io.BytesIO(letter.content)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
    a4 = PdfReader(io.BytesIO(client.get(url, headers=tenant_a.investor).content)).pages[0]
    assert (round(float(a4.mediabox.width)), round(float(a4.mediabox.height))) == (595, 842)
    wrong = client.get(url, params={"page_size": "A3"}, headers=tenant_a.investor)
    assert wrong.status_code == 422


def test_portfolio_report_sections_and_injection_text(client, tenant_a, content):
    portfolio = create_portfolio(client, tenant_a.investor, name="Growth <b>Fund</b>")
    csv = (
        "name,market_value\n"
        "NSO Group,250000\n"
        f'"{IMG.replace(chr(34), chr(34) * 2)}",1000\n'
        f"{GREEK},5000\n"
    )
    assert upload(client, tenant_a.investor, portfolio, csv).status_code == 200
    confirm_first_candidates(client, tenant_a.investor, portfolio)
    response = client.get(f"{API}/portfolios/{portfolio}/report.pdf", headers=tenant_a.investor)
    assert response.status_code == 200, response.text
    assert (
        f'filename="growth-b-fund-b-portfolio-report-{today()}.pdf"'
        in response.headers["content-disposition"]
    )
    reader = PdfReader(io.BytesIO(response.content))
    text = pdf_text(reader)
    for section in (
        "Key figures",
        "Risk distribution and exposure",
        "Flagged holdings",
        "All holdings",
        "Unassessed exposure",
        "Methodology",
        "How the portfolio figures are counted",
    ):
        assert compact(section) in text, section
    assert compact(IMG) in text
    assert compact(GREEK) in text
    assert compact("Growth <b>Fund</b>") in text
    # The cover says how old the positions are: when the holdings were imported, as the API does.
    imported = client.get(f"{API}/portfolios/{portfolio}", headers=tenant_a.investor).json()[
        "holdings_imported_at"
    ]
    stamp = datetime.fromisoformat(imported).astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    assert compact(f"holdings imported {stamp} UTC") in text
    # NSO Group's red flags name their evidence by title, never by the content file's ids
    assert compact("Evidence: ") in text and "nso-2019-10-morocco-hrds" not in text
    assert reader.metadata.title == "Portfolio risk report: Growth <b>Fund</b>"
    assert "Key figures" in outline_titles(reader)


def test_large_portfolio_report_needs_a_job(client, tenant_a, content):
    portfolio = create_portfolio(client, tenant_a.investor)
    rows = "".join(f"Filler {n:04d}\n" for n in range(SYNC_PORTFOLIO_REPORT_MAX_HOLDINGS + 1))
    assert upload(client, tenant_a.investor, portfolio, f"name\n{rows}").status_code == 200
    response = client.get(f"{API}/portfolios/{portfolio}/report.pdf", headers=tenant_a.investor)
    assert response.status_code == 409
    assert f"POST /api/v1/portfolios/{portfolio}/reports" in response.json()["detail"]


def test_reports_of_another_organisation_are_not_found(client, tenant_a, tenant_b, db, content):
    assessment = nso_assessment(client, tenant_a, db)
    portfolio = create_portfolio(client, tenant_a.investor)
    other = tenant_b.admin
    assert (
        client.get(f"{API}/assessments/{assessment}/report.pdf", headers=other).status_code == 404
    )
    assert client.get(f"{API}/portfolios/{portfolio}/report.pdf", headers=other).status_code == 404
    assert client.post(f"{API}/portfolios/{portfolio}/reports", headers=other).status_code == 404


def test_answer_evidence_on_the_companys_website_is_marked_as_its_own(
    client, tenant_a, db, content
):
    assessment = nso_assessment(client, tenant_a, db)
    url = f"{API}/assessments/{assessment}"
    own_page = {
        "title": "Our governance page",
        "url": "https://www.nsogroup.com/governance/human-rights-policy/",
    }

    def report_with_gr1_citing(evidence: dict) -> str:
        etag = client.get(url, headers=tenant_a.investor).headers["ETag"]
        written = client.put(
            f"{url}/answers/GR1",  # no bundled NSO commitment speaks to it
            json={"type": "disclosure", "level": "full", "evidence": [evidence]},
            headers=tenant_a.analyst | {"If-Match": etag},
        )
        assert written.status_code == 200, written.text
        response = client.get(f"{url}/report.pdf", headers=tenant_a.investor)
        return pdf_text(PdfReader(io.BytesIO(response.content)))

    text = report_with_gr1_citing(own_page)
    assert compact("Our governance page") in text
    assert text.count(compact("the company's own source")) == 1
    # The claim is in the say-do table, counted as self-reported, like a recorded promise.
    assert compact("Every source it cites is the company's own.") in text
    assert compact("as self reported when every source it cites is the company's own") in text

    # Its date, in the say-do table as in the appendix, no finer than the source gives it.
    text = report_with_gr1_citing(
        {**own_page, "source_date": "2022-01-01", "source_date_precision": "year"}
    )
    say_do = text.split(compact("Say-do gap"))[1].split(compact("Evidence timeline"))[0]
    assert compact("Every source it cites is the company's own.") in say_do
    assert "2022-01-01" not in text

    # Declared independent, a page on the company's website is taken as declared, and shown so.
    text = report_with_gr1_citing({**own_page, "source": "independent"})
    assert compact("declared independent, on the company's website") in text
    assert compact("Every source it cites is the company's own.") not in text


def test_an_answer_citing_no_source_anyone_can_check_is_listed_as_a_claim(
    client, tenant_a, db, content
):
    """Default rules v7: an answer with no checkable source counts as self-reported, and the
    report says so where it lists claims taken on the company's word."""
    assessment = nso_assessment(client, tenant_a, db)
    url = f"{API}/assessments/{assessment}"
    etag = client.get(url, headers=tenant_a.investor).headers["ETag"]
    written = client.put(
        f"{url}/answers/GR1",  # no bundled NSO commitment speaks to it
        json={"type": "disclosure", "level": "full"},
        headers=tenant_a.analyst | {"If-Match": etag},
    )
    assert written.status_code == 200, written.text
    response = client.get(f"{url}/report.pdf", headers=tenant_a.investor)
    text = pdf_text(PdfReader(io.BytesIO(response.content)))
    say_do = text.split(compact("Say-do gap"))[1].split(compact("Evidence timeline"))[0]
    assert (
        compact("No source it cites names a publisher, an address or whose it is, but as the")
        in say_do
    )
    assert compact("as self reported when no source it cites names a publisher") in text


def test_zero_allegations_against_the_forensic_findings_is_a_contradicted_claim(
    client, tenant_a, db, content
):
    """The investor review: R1 answered 0 for NSO Group hid the response questions and left
    "response to allegations" at 100. Under default rules v7 the findings contradict it."""
    assessment = nso_assessment(client, tenant_a, db)
    url = f"{API}/assessments/{assessment}"
    read = client.get(url, headers=tenant_a.investor)
    prefilled = read.json()["answers"]["R1"]
    findings = int(prefilled["payload"]["value"])
    assert findings > 0  # pre-filled from the curated forensic findings
    etag = read.headers["ETag"]
    written = client.put(
        f"{url}/answers/R1",
        json={"type": "number", "value": 0, "comment": "The company says none are confirmed"},
        headers=tenant_a.analyst | {"If-Match": etag},
    )
    assert written.status_code == 200, written.text

    result = client.get(f"{url}/score", headers=tenant_a.investor).json()["result"]
    [denying] = result["answers_denying_evidence"]
    assert denying["question_id"] == "R1"
    # The pre-fill counts every forensic finding; the rule, those a lab confirmed.
    assert 0 < denying["evidence_count"] <= findings
    lab_confirmed = denying["evidence_count"]
    [response] = [t for t in result["themes"] if t["theme"] == "allegation_response"]
    assert response["capped_by"] == ["R1"]
    assert float(response["verified"]) <= 25

    pdf = client.get(f"{url}/report.pdf", headers=tenant_a.investor)
    text = pdf_text(PdfReader(io.BytesIO(pdf.content)))
    say_do = text.split(compact("Say-do gap"))[1].split(compact("Evidence timeline"))[0]
    assert compact("Answered: 0 allegations.") in say_do
    assert (
        compact(
            f"The evidence holds {lab_confirmed} forensic finding items with a forensic lab "
            "source known by"
        )
        in say_do
    )


def test_a_medium_band_holding_is_detailed_in_the_portfolio_report(client, tenant_a, db, content):
    """A vendor whose final assessment answers every question 'partial' and that has no
    evidence: half its practice is missing, medium risk, no red flag."""
    vendor = create_company(client, tenant_a, "Middling Interception Ltd", isins=["FR0000120271"])
    _, questionnaire = bundled_questionnaire(db)
    partial = answer_payloads(questionnaire, DisclosureLevel.partial)
    make_assessment(db, tenant_a.organisation_id, uuid.UUID(vendor), partial)
    portfolio = create_portfolio(client, tenant_a.investor, name="Middling")
    csv_text = "name,isin,weight\nMiddling Interception Ltd,FR0000120271,1\n"
    assert upload(client, tenant_a.investor, portfolio, csv_text).status_code == 200
    held = client.get(f"{API}/portfolios/{portfolio}/risk", headers=tenant_a.investor).json()
    assert [h["band"] for h in held["holdings"]] == ["medium"]

    reader = portfolio_report(client, tenant_a, portfolio)
    text = pdf_text(reader)
    medium = text.split(compact("Medium-risk holdings"))[1].split(compact("All holdings"))[0]
    assert compact("Middling Interception Ltd") in medium
    assert compact("Why this action") in medium
    assert "Medium-risk holdings" in outline_titles(reader)


def test_a_private_companys_score_names_governance_rights_wherever_it_is_read(
    client, tenant_a, db, content
):
    """NSO Group's shares are not listed: its own score, read through the score endpoints and
    the scores export, names the investor's governance rights, as the reports do. The stored
    score keeps the engine's words, so the same score reads as a vote once the company lists."""
    assessment = nso_assessment(client, tenant_a, db)
    headers = tenant_a.investor
    now = client.get(f"{API}/assessments/{assessment}/score", headers=headers).json()
    past = client.get(
        f"{API}/assessments/{assessment}/score", params={"as_of": "2024-01-01"}, headers=headers
    ).json()
    history = client.get(f"{API}/assessments/{assessment}/scores", headers=headers).json()
    exported = client.get(f"{API}/assessment-scores.json", headers=headers).json()
    exported_csv = client.get(f"{API}/assessment-scores.csv", headers=headers).text
    reasons = {
        "score summary": now["summary"]["action_reason"],
        "score result": now["result"]["action_reason"],
        "past score summary": past["summary"]["action_reason"],
        "past score result": past["result"]["action_reason"],
        "history": history["items"][-1]["summary"]["action_reason"],
        "export": exported["items"][0]["action_reason"],
    }
    assert now["summary"]["action"] == "vote_or_file_resolution"
    assert past["summary"]["action"] == "vote_or_file_resolution"
    for where, reason in reasons.items():
        assert "use governance rights" in reason, where
        assert "vote against management" not in reason, where
    assert "vote against management" not in exported_csv

    with db.session(SYSTEM, write=True) as session:
        nso = session.get(Company, uuid.UUID(company_id(db, "nso-group")))
        nso.listing_status = ListingStatus.listed.value
    listed = client.get(f"{API}/assessments/{assessment}/score", headers=headers).json()
    assert listed["score_id"] == now["score_id"]  # the same stored score, read for a vote
    assert "vote against management" in listed["summary"]["action_reason"]
    assert "vote against management" in listed["result"]["action_reason"]


def test_holdings_scored_on_evidence_alone_say_so_and_why(client, tenant_a, db, content):
    nso_assessment(client, tenant_a, db)  # a draft: it does not count
    portfolio = create_portfolio(client, tenant_a.investor, name="Evidence only")
    csv = "name\nNSO Group\nMemento Labs\n"
    assert upload(client, tenant_a.investor, portfolio, csv).status_code == 200
    confirm_first_candidates(client, tenant_a.investor, portfolio)
    held = client.get(f"{API}/portfolios/{portfolio}/risk", headers=tenant_a.investor).json()
    memento = next(h for h in held["holdings"] if h["name"] == "Memento Labs")
    assert (memento["band"], memento["assessment_status"]) == ("low", None)
    # NSO's shares are not listed: no vote to cast, in the API and the files as in the PDF.
    nso_row = next(h for h in held["holdings"] if h["name"] == "NSO Group")
    assert nso_row["listing_status"] == "private"
    assert nso_row["action"] == "vote_or_file_resolution"
    assert "use governance rights" in nso_row["action_reason"]
    assert "vote against management" not in nso_row["action_reason"]
    exported = client.get(f"{API}/portfolios/{portfolio}/risk.csv", headers=tenant_a.investor)
    assert "vote against management" not in exported.text
    alone_totals = held["totals"]["on_evidence_alone"]
    assert (alone_totals["holdings"], Decimal(alone_totals["share_of_holdings"])) == (2, 1)

    reader = portfolio_report(client, tenant_a, portfolio)
    text = pdf_text(reader)
    assert compact("Evidence alone: not assessed yet") not in text
    key_figures = text.split(compact("Flagged holdings"))[0]
    assert compact("Scored on evidence alone (no submitted assessment; the band says") in (
        key_figures
    )
    nso = text.split(compact("Flagged holdings"))[1].split(compact("All holdings"))[0]
    assert (
        compact(
            "Evidence alone: no submitted assessment yet; a draft assessment is in progress and "
            "does not count until it is submitted"
        )
        in nso
    )
    after_flagged = text.split(compact("Flagged holdings"))[1]
    alone = after_flagged.split(compact("Scored on evidence alone"))[1].split(
        compact("All holdings")
    )[0]
    assert compact("Memento Labs") in alone
    # The key figures count both; the section lists the low-band one and says where NSO is.
    assert (
        compact(
            "1 low-band holding is scored on evidence alone, with no submitted or final "
            'assessment, and marked "evidence only" in the holdings table; the other one scored '
            "on evidence alone appears in the sections above."
        )
        in alone
    )
    # A low band is not little harm on record: a remediated severe harm can weigh little now.
    assert compact("a low band means the evidence on record weighs little now") in alone
    assert compact("little harm is on record") not in text
    assert compact("No submitted assessment yet: engage the company") in alone
    assert compact("Evidence alone: no submitted assessment yet") in alone
    table = text.split(compact("All holdings"))[1].split(compact("Unassessed exposure"))[0]
    assert compact("Low (evidence only)") in table
    assert compact("Severe (evidence only)") in table
    assert compact("its band says nothing about practice") in text
    assert "Scored on evidence alone" in outline_titles(reader)


def test_company_report_prints_ratings_and_weights_from_the_record(client, tenant_a, db, content):
    assessment = nso_assessment(client, tenant_a, db)
    response = client.get(f"{API}/assessments/{assessment}/report.pdf", headers=tenant_a.investor)
    assert response.status_code == 200, response.text
    text = pdf_text(PdfReader(io.BytesIO(response.content)))
    say_do = text.split(compact("Say-do gap"))[1].split(compact("Evidence timeline"))[0]
    # The curated fulfilment rationale of NSO's claim to vet customers.
    assert compact("After these claims, Pegasus operators that Citizen Lab linked") in say_do
    timeline = text.split(compact("Evidence timeline"))[1].split(compact("Overrides fired"))[0]
    assert compact("Severity 4 of 5; company's role: caused; ongoing.") in timeline
    assert compact("Company response (public response,") in timeline
    # A rating below the scale's anchor for defenders says why (Mansoor's failed attempt).
    assert (
        compact(
            "Severity 3 of 5; company's role: contributed; ongoing. Why severity 3: Level 4 is "
            "for surveillance of human rights defenders, but this attempt failed"
        )
        in timeline
    )


def test_a_defunct_company_is_named_so_in_its_report(client, tenant_a, db, content):
    response = client.post(
        f"{API}/assessments",
        json={"company_id": company_id(db, "finfisher"), "questionnaire_key": "stap-surveillance"},
        headers=tenant_a.analyst,
    )
    assert response.status_code == 201, response.text
    report = client.get(
        f"{API}/assessments/{response.json()['id']}/report.pdf", headers=tenant_a.investor
    )
    assert report.status_code == 200, report.text
    pages = [compact(page.extract_text()) for page in PdfReader(io.BytesIO(report.content)).pages]
    assert compact("Company status Defunct") in pages[0]
    # Its action is worked out as for any company; the reason says whom the asks can reach.
    why = "".join(pages).split(compact("Why this action"))[1].split(compact("Theme scores"))[0]
    assert compact(DEFUNCT_WORDS) in why
    # The running header of every page says it too.
    for page in pages:
        assert compact("FinFisher GmbH (company defunct) · human-rights due diligence") in page


def test_a_holding_in_a_defunct_company_is_marked_where_it_appears(client, tenant_a, db, content):
    portfolio = create_portfolio(client, tenant_a.investor, name="Defunct")
    assert (
        upload(client, tenant_a.investor, portfolio, "name\nFinFisher\nNSO Group\n").status_code
        == 200
    )
    confirm_first_candidates(client, tenant_a.investor, portfolio)
    text = pdf_text(portfolio_report(client, tenant_a, portfolio))
    details, table = text.split(compact("All holdings"))[:2]
    finfisher = details.split(compact("FinFisher"), 1)[1]
    assert compact("Company status Defunct") in finfisher.split(compact("Value"))[0], finfisher[:90]
    assert compact(DEFUNCT_WORDS) in finfisher.split(compact("Why this action"))[1]
    assert text.count(compact(DEFUNCT_WORDS)) == 1  # NSO Group is not defunct
    assert compact("FinFisher (company defunct)") in table
    # A private company, like a listed one, is not marked: its actions already tell.
    assert compact("NSO Group (company") not in text
    assert compact("Company status Private") not in text


def test_a_stake_that_ended_is_listed_with_its_dates_where_the_holding_appears(
    client, tenant_a, db, content
):
    """Francisco Partners owned Sandvine until 2024-08: the holding is unassessed, and the
    report says what it owned and until when, to the precision the link has."""
    owner = create_company(client, tenant_a, "Francisco Partners", isins=[SPARE_ISINS[0]])
    stake = {
        "owner_name": "Francisco Partners",
        "owner_kind": "private_equity",
        # Known to the month, as the curated file gives it: sent as the month's first day.
        "start_date": "2017-01-01",
        "end_date": "2024-08-01",
        "date_precision": "month",
    }
    linked = client.post(
        f"{API}/companies/{company_id(db, 'sandvine')}/ownership",
        json=stake | {"owner_company_id": owner},
        headers=tenant_a.analyst,
    )
    assert linked.status_code == 201, linked.text
    assert linked.json()["date_precision"] == "month"
    for wrong, path in (
        ({"end_date": "2024-08-15"}, "end_date"),
        ({"start_date": None, "end_date": None}, "date_precision"),
        ({"end_date": "2016-01-01"}, "end_date"),  # before the start
    ):
        refused = client.post(
            f"{API}/companies/{company_id(db, 'sandvine')}/ownership",
            json=stake | wrong,
            headers=tenant_a.analyst,
        )
        assert refused.status_code == 422, (wrong, refused.text)
        assert [e["path"] for e in refused.json()["errors"]] == [path], refused.text
    portfolio = create_portfolio(client, tenant_a.investor, name="Former owners")
    csv = f"name,isin,market_value\nFrancisco Partners,{SPARE_ISINS[0]},100\n"
    assert upload(client, tenant_a.investor, portfolio, csv).status_code == 200
    held = client.get(f"{API}/portfolios/{portfolio}/risk", headers=tenant_a.investor).json()
    [holding] = held["holdings"]
    assert holding["assessed"] is False
    assert [(e["current"], e["date_precision"]) for e in holding["exposure_via"]] == [
        (False, "month")
    ]

    text = pdf_text(portfolio_report(client, tenant_a, portfolio))
    stake = compact("stake in Sandvine Incorporated (2017-01 to 2024-08): ended, no longer counts")
    table, unassessed = text.split(compact("All holdings"))[1].split(compact("Unassessed exposure"))
    assert compact("Francisco Partners; ") + stake in table
    assert compact("no evidence in effect") in unassessed and stake in unassessed
    assert "2024-08-01" not in text
    # Only as a registry company does the owner show its stakes: the method says so.
    assert (
        compact(
            "a holding in an owner the registry only names in an ownership record (not a "
            "company of its own) shows no stakes, ended or current, until an analyst adds it"
        )
        in text
    )
    # The risk export says it too (it read "2017-01-01 to 2024-08-01" as if the stake counted).
    exported = client.get(f"{API}/portfolios/{portfolio}/risk.csv", headers=tenant_a.investor)
    assert exported.status_code == 200, exported.text
    assert "2017-01 to 2024-08" in exported.text and "2024-08-01" not in exported.text
    assert "ended, no longer counts" in exported.text


def test_a_draft_report_says_how_many_questions_are_answered(client, tenant_a, db, content):
    """A draft counts its unanswered questions as gaps: an empty one reads high risk. The
    report says how far the draft has got, so its score is read for what it is."""
    assessment = nso_assessment(client, tenant_a, db)
    score = client.get(f"{API}/assessments/{assessment}/score", headers=tenant_a.investor)
    themes = score.json()["result"]["themes"]
    applicable = sum(theme["applicable"] for theme in themes)
    # P1 and G1, and EU4, which the registry's Entity List entry pre-filled (R1, also
    # pre-filled, is not a scored question).
    assert sum(theme["answered"] for theme in themes) == 3 < applicable
    report = client.get(f"{API}/assessments/{assessment}/report.pdf", headers=tenant_a.investor)
    assert report.status_code == 200, report.text
    first_page = compact(PdfReader(io.BytesIO(report.content)).pages[0].extract_text())
    assert compact(f"Questions answered 3 of the {applicable} scored questions that apply") in (
        first_page
    )
    # G1 is answered 'no information found': answered, but a gap in what is known.
    assert compact(
        f"3 of the {applicable} scored questions that apply; 1 of them says no information was "
        "found, which counts as a gap in practice"
    ) in compact(first_page)
    # Every page says it is a draft, and the summary says which of the two risks sets the
    # overall: an empty draft's gaps, not harm, can be what reads high.
    pages = [compact(page.extract_text()) for page in PdfReader(io.BytesIO(report.content)).pages]
    assert all(compact("DRAFT ASSESSMENT, not submitted") in page for page in pages)
    result = score.json()["result"]
    evidence_now = f"{float(result['evidence_risk_current']):.1f}"
    practice_gap = f"{float(result['policy_gap_risk']):.1f}"
    assert (
        compact(
            f"What the score rests on Documented harm (evidence risk now): {evidence_now}. Gap "
            f"in verified human rights practice: {practice_gap} ({applicable - 3} of the "
            f"{applicable} scored questions are unanswered and count as gaps). The overall is "
            "the higher of the two"
        )
        in first_page
    )


def post_evidence(client, tenant, company: str, **fields) -> str:
    body = {
        "company_id": company,
        "event_date": "2021-03-01",
        "published_date": "2021-03-02",
        "affected_groups": ["journalists"],
        "countries": ["MA"],
        "company_role": "caused",
        **fields,
    }
    response = client.post(f"{API}/evidence", json=body, headers=tenant.analyst)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_remedy_on_the_companys_word_alone_says_it_closes_nothing(client, tenant_a, db, content):
    """Under the default rules a remediation only the company reports closes nothing: the
    report says so, naming the item as the timeline does, and does not print the remedy's
    severity, role and status as if it were a harm."""
    company = create_company(client, tenant_a, "Selfreport Intrusion Ltd")
    harm = post_evidence(
        client,
        tenant_a,
        company,
        type="forensic_finding",
        title="Implant found on a reporter's phone",
        summary="A lab found the company's implant on a reporter's phone.",
        severity=5,
        sources=[
            {
                "publisher": "Example Research Lab",
                "title": "Findings on the implant",
                "date": "2021-03-02",
                "url": "https://example.org/lab",
                "source_class": "forensic_lab",
            }
        ],
    )
    remedy = post_evidence(
        client,
        tenant_a,
        company,
        type="remediation",
        event_date="2022-05-10",
        published_date="2022-05-10",
        title="The company says it cut the customer off",
        summary="The company stated that it stopped the customer from using its product.",
        severity=1,
        closes=[harm],
        sources=[
            {
                "publisher": "Selfreport Intrusion Ltd",
                "title": "Our statement",
                "date": "2022-05-10",
                "url": "https://example.org/statement",
                "source_class": "company_statement",
            }
        ],
    )
    response = client.post(
        f"{API}/assessments",
        json={"company_id": company, "questionnaire_key": "stap-surveillance"},
        headers=tenant_a.analyst,
    )
    assert response.status_code == 201, response.text
    assessment = response.json()["id"]
    score = client.get(f"{API}/assessments/{assessment}/score", headers=tenant_a.investor)
    assert any("closes nothing" in note for note in score.json()["result"]["notes"])

    report = client.get(f"{API}/assessments/{assessment}/report.pdf", headers=tenant_a.investor)
    assert report.status_code == 200, report.text
    text = pdf_text(PdfReader(io.BytesIO(report.content)))
    notes = text.split(compact("Notes on the inputs"))[1].split(compact("Appendix A"))[0]
    assert (
        compact(
            "The company says it cut the customer off (2022-05-10): This remediation rests on "
            "the company's own word (no independent source), so under these rules it closes "
            "nothing."
        )
        in notes
    )
    assert remedy not in text and "incident" not in notes
    timeline = text.split(compact("Evidence timeline"))[1].split(compact("Overrides fired"))[0]
    remedy_entry = timeline.split(compact("The company says it cut the customer off"))[1]
    assert remedy_entry.startswith(
        compact(
            ". The company stated that it stopped the customer from using its product. "
            "Remediation Closes: Implant found on a reporter's phone (2021-03-01)."
        )
    ), remedy_entry[:200]
    assert compact("Severity 1 of 5") not in timeline
    assert compact("Severity 5 of 5; company's role: caused; ongoing.") in timeline


def test_company_report_names_the_owners_on_record_and_what_is_not_known(
    client, tenant_a, db, content
):
    """'Use governance rights' means little without the owners: the report lists them with
    their stakes, periods and sources, and prints the registry's notes (NSO's reported 2025
    sale, not recorded for want of a citable source)."""
    assessment = nso_assessment(client, tenant_a, db)
    response = client.get(f"{API}/assessments/{assessment}/report.pdf", headers=tenant_a.investor)
    assert response.status_code == 200, response.text
    text = pdf_text(PdfReader(io.BytesIO(response.content)))
    section = text.split(compact("Ownership on record"))[1].split(compact("Theme scores"))[0]
    assert compact("Berkeley Research Group (other) 70% since 2021-08") in section
    assert compact("Francisco Partners (private equity); not current") in section
    assert compact("2014 to 2019") in section
    # The source without a date: the link does not keep how precisely it is known.
    assert compact("NSO, Pegasus and the fall of Novalpina (Wallbrook, https://") in section
    assert compact("Registry notes: Maker of the Pegasus spyware") in section
    assert compact("not recorded here because it was not confirmed from a citable source") in (
        section
    )


def test_key_evidence_says_when_a_listing_ended(client, tenant_a, db, content):
    """Sandvine reads low in the portfolio report beside its Entity List addition: the key
    evidence says the listing ended, and by what (the PDF review)."""
    portfolio = create_portfolio(client, tenant_a.investor, name="Ended listing")
    assert upload(client, tenant_a.investor, portfolio, "name\nSandvine\n").status_code == 200
    confirm_first_candidates(client, tenant_a.investor, portfolio)
    text = pdf_text(portfolio_report(client, tenant_a, portfolio))
    detail = text.split(compact("Scored on evidence alone"))[-1]
    assert (
        compact(
            "Ended by: Sandvine removed from the Entity List after corporate reforms (2024-10-21)"
        )
        in detail
    )


def test_key_evidence_is_in_force_as_of_the_risk_views_date(client, tenant_a, db, content):
    """The report prints the risk view's date; its key evidence must be as of the same day. A
    view dated before Sandvine's removal from the Entity List shows the listing in force."""
    portfolio = create_portfolio(client, tenant_a.investor, name="Dated view")
    assert upload(client, tenant_a.investor, portfolio, "name\nSandvine\n").status_code == 200
    confirm_first_candidates(client, tenant_a.investor, portfolio)
    tenant = TenantContext(organisation_id=tenant_a.organisation_id)
    with db.session(tenant) as session:
        row = portfolios_service.get_portfolio(session, uuid.UUID(portfolio))
        risk = portfolios_service.portfolio_risk(session, row)
        report_now = reports_service.portfolio_report_from_risk(session, row, risk, PageSize.a4)
        before = risk.model_copy(update={"as_of": date(2024, 10, 1)})
        report_before = reports_service.portfolio_report_from_risk(
            session, row, before, PageSize.a4
        )

    def ended(report) -> list[str | None]:
        return [e.no_longer_in_force for h in report.evidence_only for e in h.key_evidence]

    assert any(note and note.startswith("Ended by: Sandvine removed") for note in ended(report_now))
    assert report_before.report_date == date(2024, 10, 1)
    assert not any(note and "Sandvine removed" in note for note in ended(report_before))


def test_a_holding_matched_by_name_names_the_company_it_was_matched_to(
    client, tenant_a, db, content
):
    """The file's spelling alone does not let a reader check a match (the investor review:
    'NSO Grp Technologies' never showed as NSO Group Technologies Limited in the PDF)."""
    portfolio = create_portfolio(client, tenant_a.investor, name="Spelling")
    csv = "name\nNSO Grp Technologies\nNestle\n"
    assert upload(client, tenant_a.investor, portfolio, csv).status_code == 200
    confirm_first_candidates(client, tenant_a.investor, portfolio)
    text = pdf_text(portfolio_report(client, tenant_a, portfolio))
    table = text.split(compact("All holdings"))[-1]
    assert compact("NSO Grp Technologies; matched to NSO Group Technologies Limited, by a") in (
        table
    )
    detail = text.split(compact("Flagged holdings"))[-1]
    assert compact("Matched to NSO Group Technologies Limited, by a confirmed name") in detail


def test_a_company_held_on_two_rows_says_so_where_each_appears(client, tenant_a, db, content):
    """Two rows by ticker are not merged (only a shared ISIN or LEI is), so each counts as a
    holding; the investor review found them twice among the flagged with no word of it."""
    portfolio = create_portfolio(client, tenant_a.investor, name="Twice")
    csv = "name,ticker\nCellebrite,NASDAQ:CLBT\nCellebrite DI,NASDAQ:CLBT\nNestle,\n"
    assert upload(client, tenant_a.investor, portfolio, csv).status_code == 200
    confirm_first_candidates(client, tenant_a.investor, portfolio)
    held = client.get(f"{API}/portfolios/{portfolio}/risk", headers=tenant_a.investor).json()
    lines = {h["name"]: h["same_company_lines"] for h in held["holdings"]}
    assert lines == {"Cellebrite": [3], "Cellebrite DI": [2], "Nestle": []}
    text = pdf_text(portfolio_report(client, tenant_a, portfolio))
    table = text.split(compact("All holdings"))[-1]
    assert compact("by identifier; the same company as line 3 of the file") in table
    assert compact("the same company as line 2 of the file") in table
    assert compact("Also held The same company as line 3 of the file: each line is counted") in (
        text
    )


def test_a_report_scored_with_the_organisations_own_rules_says_so(client, tenant_a, db, content):
    """An organisation's own edit of the rules keeps the key and takes the next number
    ("default v6"), which read as a bundled release in the user test. The report names it as
    the organisation's own; a bundled version reads as before."""
    assessment = nso_assessment(client, tenant_a, db)
    url = f"{API}/assessments/{assessment}/report.pdf"
    bundled = pdf_text(PdfReader(io.BytesIO(client.get(url, headers=tenant_a.investor).content)))
    assert compact("own edit of the rules") not in bundled

    draft = new_draft(client, tenant_a.analyst)
    assert draft.status_code == 201, draft.text
    published = publish(client, tenant_a.analyst, draft.json()["id"])
    assert published.status_code == 200, published.text
    own = pdf_text(PdfReader(io.BytesIO(client.get(url, headers=tenant_a.investor).content)))
    assert compact(f"{tenant_a.name}'s own edit of the rules") in own


def test_reports_name_the_companys_products_from_the_registry(client, tenant_a, db, content):
    """NSO Group's record names Pegasus: the company report prints it under the aliases on
    its cover, and the portfolio report in NSO's detail (not in the holdings table). A
    company with no products gets no such line."""
    assessment = nso_assessment(client, tenant_a, db)
    response = client.get(f"{API}/assessments/{assessment}/report.pdf", headers=tenant_a.investor)
    assert response.status_code == 200, response.text
    reader = PdfReader(io.BytesIO(response.content))
    cover = compact(reader.pages[0].extract_text())
    assert compact("Also known as: NSO Group") + compact("Products known as: Pegasus") in cover

    plain = create_company(client, tenant_a, "Example Plain Vendor Ltd")
    started = client.post(
        f"{API}/assessments",
        json={"company_id": plain, "questionnaire_key": "stap-surveillance"},
        headers=tenant_a.analyst,
    )
    assert started.status_code == 201, started.text
    response = client.get(
        f"{API}/assessments/{started.json()['id']}/report.pdf", headers=tenant_a.investor
    )
    assert response.status_code == 200, response.text
    text = pdf_text(PdfReader(io.BytesIO(response.content)))
    assert compact("Example Plain Vendor Ltd") in text
    assert compact("Products known as") not in text

    portfolio = create_portfolio(client, tenant_a.investor, name="Products")
    assert upload(client, tenant_a.investor, portfolio, "name\nNSO Group\n").status_code == 200
    confirm_first_candidates(client, tenant_a.investor, portfolio)
    text = pdf_text(portfolio_report(client, tenant_a, portfolio))
    detail, table = text.split(compact("All holdings"), 1)
    assert compact("Products known asPegasus") in detail.split(compact("Flagged holdings"))[1]
    assert compact("Products known as") not in table
