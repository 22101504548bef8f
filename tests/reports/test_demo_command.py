"""`hrdd demo` on a brand-new database, and `hrdd portfolio import`."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from tests.conftest import drop_database, fresh_database_url
from typer.testing import CliRunner

from hrdd.assessments.models import Assessment, AssessmentAnswer
from hrdd.auth.models import Organisation
from hrdd.cli import app as cli
from hrdd.companies.models import Company
from hrdd.config import get_settings
from hrdd.db import SYSTEM, Database
from hrdd.evidence.models import EvidenceItem
from hrdd.portfolios.models import Holding, Portfolio
from hrdd.reports.demo import DEMO_ORGANISATION, PRODUCT_QUESTIONS

runner = CliRunner()
CONTROLS = ["nestle", "unilever"]
SURVEILLANCE = [
    *("nso-group", "candiru", "intellexa", "sandvine"),
    *("cellebrite", "finfisher", "memento-labs", "paragon"),
]
NSO_FORENSIC_ALLEGATIONS = {
    "nso-2016-08-million-dollar-dissident",
    "nso-2019-10-morocco-hrds",
    "nso-2020-12-al-jazeera-journalists",
    "nso-2021-07-pegasus-project",
    "nso-2021-11-palestinian-hrds",
}


@pytest.fixture
def demo_database(tmp_path, monkeypatch):
    url = fresh_database_url(tmp_path, f"demo_{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("HRDD_DATABASE_URL", url)
    monkeypatch.setenv("HRDD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HRDD_LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    database = Database(url)
    yield database
    database.dispose()
    get_settings.cache_clear()
    drop_database(url)


def printed_path(output: str, label: str) -> Path:
    match = re.search(rf"^{label}: (.+)$", output, re.MULTILINE)
    assert match, output
    return Path(match.group(1))


def text_of(path: Path) -> str:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def test_demo_writes_both_reports_from_a_new_database(demo_database, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(cli, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    company_report = printed_path(result.output, "company report")
    portfolio_report = printed_path(result.output, "portfolio report")
    assert company_report.parent == out.resolve()
    assert company_report.name.startswith("nso-group-technologies-limited-company-report-")

    company_text = text_of(company_report)
    for section in ("Summary", "Evidence timeline", "Appendix A: answers", "Appendix B"):
        assert section in company_text
    assert "NSO Group Technologies Limited" in company_text
    # The evidence risk chart ended a page of this report and its caption began the next.
    pages = PdfReader(io.BytesIO(company_report.read_bytes())).pages
    [chart_page] = [
        p.extract_text() for p in pages if "Evidence risk over time" in p.extract_text()
    ]
    assert "Latest value" in chart_page
    # Beside a headline raised by a red flag, the chart says it shows harm alone.
    assert "raised to the floor of any red flag fired, so it can read higher" in " ".join(
        chart_page.split()
    )

    with demo_database.session(SYSTEM) as session:
        companies = session.scalars(select(Company).where(Company.slug.is_not(None))).all()
        organisation = session.scalar(
            select(Organisation).where(Organisation.name == DEMO_ORGANISATION)
        )
        portfolio = session.scalar(
            select(Portfolio).where(Portfolio.organisation_id == organisation.id)
        )
        holdings = session.scalars(
            select(Holding).where(Holding.portfolio_id == portfolio.id)
        ).all()
        assessed = set(session.scalars(select(Assessment.company_id)))
    portfolio_text = text_of(portfolio_report)
    assert {h.company_id for h in holdings} == {c.id for c in companies}
    assert assessed == {c.id for c in companies}
    for company in companies:
        assert company.name in portfolio_text
        assert re.search(rf"^{re.escape(company.name)}: .* risk [0-9.]+ \(", result.output, re.M)


def test_demo_answers_cite_the_curated_record_and_a_rerun_adds_nothing(demo_database, tmp_path):
    first = runner.invoke(cli, ["demo", "--out", str(tmp_path / "one")])
    assert first.exit_code == 0, first.output
    with demo_database.session(SYSTEM) as session:
        nso = session.scalar(select(Company).where(Company.slug == "nso-group"))
        assessment = session.scalar(select(Assessment).where(Assessment.company_id == nso.id))
        answers = {
            row.question_id: row.payload
            for row in session.scalars(
                select(AssessmentAnswer).where(AssessmentAnswer.assessment_id == assessment.id)
            )
        }
        items = session.scalars(select(EvidenceItem).where(EvidenceItem.company_id == nso.id)).all()
        counts = (
            session.scalar(select(func.count()).select_from(Organisation)),
            session.scalar(select(func.count()).select_from(Assessment)),
            session.scalar(select(func.count()).select_from(Portfolio)),
        )
    # R1 counts findings resting on forensic lab work, the Pegasus Project's included.
    counted = [i for i in items if i.slug in NSO_FORENSIC_ALLEGATIONS]
    assert answers["R1"]["value"] == str(len(NSO_FORENSIC_ALLEGATIONS)) == str(len(counted))
    assert len(answers["R1"]["evidence"]) == len(counted)
    assert "forensic lab" in answers["R1"]["comment"]
    listing = next(i for i in items if i.type == "trade_restriction_listing")
    assert answers["EU4"]["level"] == "full"
    assert listing.sources[0]["url"] in {e["url"] for e in answers["EU4"]["evidence"]}
    # The effective date is not recorded: the announcement is not passed off as the start.
    assert "announced 2021-11-03, date in force not recorded" in answers["EU4"]["comment"]
    assert "from 2021-11-03" not in answers["EU4"]["comment"]
    assert answers["P1"]["level"] == "partial"
    assert answers["EX1"]["values"] == nso.categories
    # Nothing about the investor itself is made up.
    assert not any(question_id.startswith("IN") for question_id in answers)
    levels = {answer.get("level") for answer in answers.values()}
    assert levels <= {"no_information", "partial", "full", "no", None}
    # The only "no": a court sanctioned NSO for not producing the Pegasus code.
    assert [q for q, a in answers.items() if a.get("level") == "no"] == ["GR4"]
    assert answers["GR4"]["evidence"]

    second = runner.invoke(cli, ["demo", "--out", str(tmp_path / "two")])
    assert second.exit_code == 0, second.output
    with demo_database.session(SYSTEM) as session:
        again = (
            session.scalar(select(func.count()).select_from(Organisation)),
            session.scalar(select(func.count()).select_from(Assessment)),
            session.scalar(select(func.count()).select_from(Portfolio)),
        )
    assert again == counts


def test_control_companies_are_answered_only_from_the_curated_record(demo_database, tmp_path):
    result = runner.invoke(cli, ["demo", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    with demo_database.session(SYSTEM) as session:
        controls = session.scalars(select(Company).where(Company.slug.in_(CONTROLS))).all()
        assert len(controls) == len(CONTROLS)
        for control in controls:
            assessment = session.scalar(
                select(Assessment).where(Assessment.company_id == control.id)
            )
            answers = {
                row.question_id: row.payload
                for row in session.scalars(
                    select(AssessmentAnswer).where(AssessmentAnswer.assessment_id == assessment.id)
                )
            }
            not_applicable = {q for q, a in answers.items() if a.get("level") == "not_applicable"}
            assert not_applicable == PRODUCT_QUESTIONS & set(answers)
            assert {"EU1", "C1", "DS1", "T1"} <= not_applicable
            for question_id in not_applicable:
                assert control.name in answers[question_id]["not_applicable_reason"]
            # Only what the record supports: nothing cited, nothing claimed either way about
            # the company's governance (no "no information found"), the rest for an analyst.
            assert not any(answer.get("evidence") for answer in answers.values())
            assert set(answers) - not_applicable == {"EX5", "EU3a", "R1"}
            assert answers["R1"]["value"] == "0"
            assert answers["EX5"]["value"] == answers["EU3a"]["value"] == "unknown"
            # The draft scores the unknown policy gap at low confidence; it stands for nothing,
            # and a control has no evidence: unassessed in the portfolio.
            line = (
                rf"^{re.escape(control.name)}: control company, draft assessment .* low "
                r"confidence\); in the portfolio: unassessed"
            )
            assert re.search(line, result.output, re.M)


def test_portfolio_import_command(demo_database, tmp_path):
    assert runner.invoke(cli, ["demo", "--out", str(tmp_path / "out")]).exit_code == 0
    with demo_database.session(SYSTEM) as session:
        portfolio = session.scalar(select(Portfolio))
    good = tmp_path / "good.csv"
    good.write_text("name,isin\nNestle,CH0038863350\nBroken,US0378331006\n", encoding="utf-8")

    refused = runner.invoke(
        cli, ["portfolio", "import", str(good), "--portfolio", str(portfolio.id)]
    )
    assert refused.exit_code == 1
    assert "file.line.3.isin" in refused.output

    kept = runner.invoke(
        cli,
        ["portfolio", "import", str(good), "--portfolio", str(portfolio.id), "--keep-good-rows"],
    )
    assert kept.exit_code == 0, kept.output
    assert "1 holdings imported" in kept.output
    assert "left out file.line.3.isin" in kept.output
    with demo_database.session(SYSTEM) as session:
        names = session.scalars(select(Holding.name).where(Holding.portfolio_id == portfolio.id))
        assert list(names) == ["Nestle"]

    # What the import result reports beyond counts is printed too.
    noted = tmp_path / "noted.csv"
    noted.write_text(
        "name,isin\nNestle,CH0038863350\nNestle S.A.,CH0038863350\nSun Corporation,\n",
        encoding="utf-8",
    )
    printed = runner.invoke(
        cli, ["portfolio", "import", str(noted), "--portfolio", str(portfolio.id)]
    )
    assert printed.exit_code == 0, printed.output
    assert "merged file.line.3" in printed.output
    assert "Sun Corporation looks like Sun Corporation, which owns Cellebrite" in printed.output

    missing = runner.invoke(
        cli, ["portfolio", "import", str(good), "--portfolio", str(uuid.uuid4())]
    )
    assert missing.exit_code == 1
    assert "no portfolio" in missing.output


def demo_answers(database: Database) -> dict[str, dict[str, dict]]:
    """Each bundled company's demo answers by slug, question id and payload."""
    with database.session(SYSTEM) as session:
        answers: dict[str, dict[str, dict]] = {}
        for company in session.scalars(select(Company).where(Company.slug.is_not(None))):
            assessment = session.scalar(
                select(Assessment).where(Assessment.company_id == company.id)
            )
            answers[company.slug] = {
                row.question_id: row.payload
                for row in session.scalars(
                    select(AssessmentAnswer).where(AssessmentAnswer.assessment_id == assessment.id)
                )
            }
    return answers


def cited(answer: dict) -> set[str]:
    return {ref["url"] for ref in answer.get("evidence", [])}


def test_demo_answers_agree_with_the_evidence_they_print(demo_database, tmp_path):
    result = runner.invoke(cli, ["demo", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    answers = demo_answers(demo_database)
    with demo_database.session(SYSTEM) as session:
        sources = {
            item.slug: {s["url"] for s in item.sources}
            | {r["source"]["url"] for r in item.company_responses}
            for item in session.scalars(select(EvidenceItem))
        }

    # Every vendor's record shows a foreign government customer or exports: EX5 is yes, cited.
    for slug in SURVEILLANCE:
        assert answers[slug]["EX5"]["value"] == "yes", slug
        assert answers[slug]["EX5"]["evidence"], slug
    assert cited(answers["nso-group"]["EX5"]) <= sources["nso-2021-11-entity-list"]
    assert (
        cited(answers["cellebrite"]["EX5"]) <= sources["cellebrite-2024-12-serbia-digital-prison"]
    )
    assert cited(answers["finfisher"]["EX5"]) <= sources["finfisher-2023-05-charges"]
    assert cited(answers["sandvine"]["EX5"]) <= sources["sandvine-2024-02-entity-list"]

    # Sandvine was listed and delisted: not "no information", and the committee is named.
    sandvine = answers["sandvine"]
    assert sandvine["EU4"]["level"] == "no"
    assert "in force from 2024-02-27" in sandvine["EU4"]["comment"]
    assert cited(sandvine["EU4"]) & sources["sandvine-2024-10-entity-list-removal"]
    assert sandvine["G3"]["value"] == "internal_committee"
    assert "Business Ethics Committee" in sandvine["G3"]["comment"]
    assert cited(sandvine["G3"]) <= sources["sandvine-2024-10-entity-list-removal"]

    # Cellebrite cut off the Serbian customers: C5 is full, citing that step.
    c5 = answers["cellebrite"]["C5"]
    assert c5["level"] == "full"
    assert cited(c5) <= sources["cellebrite-2025-02-serbia-customers-stopped"]

    # R1: only findings with forensic lab work behind them; none recorded is not "0".
    assert answers["intellexa"]["R1"]["value"] == "3"  # the Predator Files included
    assert answers["paragon"]["R1"]["value"] == "2"  # WhatsApp's media-only account left out
    # Amnesty's Egypt report; the 2012 and 2013 FinSpy findings are known from the press only.
    assert answers["finfisher"]["R1"]["value"] == "1"
    assert "R1" not in answers["memento-labs"]

    # Intellexa's SDN designation began in March 2024; the September round is an extension.
    eu4 = answers["intellexa"]["EU4"]["comment"]
    assert "Treasury Department, in force from 2024-03-05" in eu4
    assert "announced 2024-09, date in force not recorded" in eu4

    # A claim relayed by a source close to Paragon is not "the company claimed this publicly".
    assert answers["paragon"]["EU1"]["level"] == "partial"
    for slug, company in answers.items():
        for question_id, answer in company.items():
            assert "The company claimed" not in answer.get("comment", ""), (slug, question_id)
