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
    findings = [i for i in items if i.type == "forensic_finding"]
    assert answers["R1"]["value"] == str(len(findings))
    assert {e["url"] for e in answers["R1"]["evidence"]} == {f.sources[0]["url"] for f in findings}
    listing = next(i for i in items if i.type == "trade_restriction_listing")
    assert answers["EU4"]["level"] == "full"
    assert listing.sources[0]["url"] in {e["url"] for e in answers["EU4"]["evidence"]}
    assert answers["P1"]["level"] == "partial"
    assert answers["EX1"]["values"] == nso.categories
    # Nothing about the investor itself is made up.
    assert not any(question_id.startswith("IN") for question_id in answers)
    levels = {answer.get("level") for answer in answers.values()}
    assert levels <= {"no_information", "partial", "full", None}

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
