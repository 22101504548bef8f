"""Exports of the risk view and of assessment scores: CSV, XLSX and JSON, formula-safe."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from portfolio_helpers import (
    API,
    company_id,
    confirm_first_candidates,
    create_portfolio,
    risk,
    upload,
)

from hrdd.assessments.models import Assessment
from hrdd.db import TenantContext
from hrdd.portfolios.exports import RISK_COLUMNS, neutralise

DANGEROUS = {
    '=HYPERLINK("http://evil.example","x")': '\'=HYPERLINK("http://evil.example","x")',
    "+SUM(1,2)": "'+SUM(1,2)",
    "-2+3 Holdings": "'-2+3 Holdings",
    "@cmd Ltd": "'@cmd Ltd",
    # Quoted in the CSV, so Excel in a locale whose separator is ';' keeps it one cell.
    "Acme;=cmd|' /C calc'!A0;": "Acme;=cmd|' /C calc'!A0;",
    # A right-to-left override or isolate shows "Acme exe.xlsx"; the cell shows the text as
    # stored.
    "Acme \u202exslx.exe": "Acme xslx.exe",
    "Acme \u2067xslx.exe Ltd": "Acme xslx.exe Ltd",
}


@pytest.fixture
def portfolio(client, tenant_a, content):
    portfolio = create_portfolio(client, tenant_a.investor, name="=Formula Fund")
    rows = "".join(f'"{name.replace(chr(34), chr(34) * 2)}",,10\n' for name in DANGEROUS)
    csv_text = f"name,ticker,market_value\nNSO Group,,1000.25\nCellebrite,CLBT,500\n{rows}"
    assert upload(client, tenant_a.investor, portfolio, csv_text).status_code == 200
    confirm_first_candidates(client, tenant_a.investor, portfolio)
    return portfolio


def download(client, tenant, portfolio: str, extension: str):
    response = client.get(f"{API}/portfolios/{portfolio}/risk.{extension}", headers=tenant.investor)
    assert response.status_code == 200, response.text
    return response


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def test_neutralise_covers_every_trigger():
    for trigger in ("=", "+", "-", "@", "\t", "\r"):
        assert neutralise(f"{trigger}1") == f"'{trigger}1"
    assert neutralise("Acme = good") == "Acme = good"


def test_csv_neutralises_formulas_and_keeps_numbers(client, tenant_a, portfolio):
    response = download(client, tenant_a, portfolio, "csv")
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert f'filename="formula-fund-risk-{today()}.csv"' in disposition
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [column.title for column in RISK_COLUMNS] + ["ruleset", "ruleset_hash"]
    # Every cell is quoted: a ';' inside one stays inside it where Excel splits at ';'.
    quoted = re.compile(r'"(?:[^"]|"")*"(?:,"(?:[^"]|"")*")*')
    assert all(quoted.fullmatch(line) for line in text.split("\r\n")[:-1])
    assert "Acme;=cmd|' /C calc'!A0;\"," in text
    by_line = {int(row["line"]): row for row in rows}
    holdings = {row["holding"] for row in rows}
    assert set(DANGEROUS.values()) <= holdings
    assert not any(name in holdings for name, shown in DANGEROUS.items() if shown != name)
    assert by_line[2]["market_value"] == "1000.2500"
    assert by_line[2]["assessed"] == "yes"
    view = risk(client, tenant_a.investor, portfolio)
    for item in view["holdings"]:
        row = by_line[item["line"]]
        assert row["band"] == (item["band"] or "")
        assert row["action"] == (item["action"] or "")
        # Empty on a score resting on evidence alone (the band says nothing about practice).
        assert row["assessment_status"] == (item["assessment_status"] or "")
        # A file read on its own names the rules it was scored with.
        assert (row["ruleset"], row["ruleset_hash"]) == (
            f"{view['ruleset_id']} v{view['ruleset_version']} (bundled)",
            view["ruleset_hash"],
        )


def test_xlsx_has_header_frozen_panes_number_formats_and_no_formulas(client, tenant_a, portfolio):
    response = download(client, tenant_a, portfolio, "xlsx")
    assert "spreadsheetml" in response.headers["content-type"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    assert header == [column.title for column in RISK_COLUMNS] + ["ruleset", "ruleset_hash"]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    column = {title: index for index, title in enumerate(header)}
    rows = list(sheet.iter_rows(min_row=2))
    names = {row[column["holding"]].value for row in rows}
    assert set(DANGEROUS.values()) <= names
    for row in rows:
        for cell in row:
            assert cell.data_type != "f", f"{cell.coordinate} is a formula"
    nso = next(row for row in rows if row[column["line"]].value == 2)
    money = nso[column["market_value"]]
    assert float(money.value) == pytest.approx(1000.25)
    assert money.number_format == "#,##0.00"
    weight = nso[column["share_of_value"]]
    assert 0 < float(weight.value) < 1
    assert weight.number_format == "0.00%"
    assert nso[column["overall"]].number_format == "0.0"


def test_json_export_is_the_risk_view(client, tenant_a, portfolio):
    response = download(client, tenant_a, portfolio, "json")
    assert f"formula-fund-risk-{today()}.json" in response.headers["content-disposition"]
    exported = response.json()
    view = risk(client, tenant_a.investor, portfolio)
    assert exported["totals"] == view["totals"]
    assert [h["holding_id"] for h in exported["holdings"]] == [
        h["holding_id"] for h in view["holdings"]
    ]
    # JSON is not a spreadsheet: names stay exactly as imported.
    assert set(DANGEROUS) <= {h["name"] for h in exported["holdings"]}


def test_unknown_export_format_is_refused(client, tenant_a, portfolio):
    response = client.get(f"{API}/portfolios/{portfolio}/risk.pdf", headers=tenant_a.investor)
    assert response.status_code == 422


def start_assessment(client, tenant, company: str) -> str:
    response = client.post(
        f"{API}/assessments",
        json={"company_id": company, "questionnaire_key": "stap-surveillance"},
        headers=tenant.analyst,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_assessment_scores_export_in_three_formats(client, tenant_a, tenant_b, db, content):
    assessment = start_assessment(client, tenant_a, company_id(db, "nso-group"))
    draft_only = client.get(f"{API}/assessment-scores.json", headers=tenant_a.investor).json()
    # A draft does not stand for the company: its row is the evidence-only score.
    assert [item["assessment_id"] for item in draft_only["items"]] == [None]
    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        session.get(Assessment, uuid.UUID(assessment)).status = "submitted"
    score = client.get(f"{API}/assessments/{assessment}/score", headers=tenant_a.investor)
    assert score.status_code == 200, score.text
    summary = score.json()["summary"]

    as_csv = client.get(f"{API}/assessment-scores.csv", headers=tenant_a.investor)
    assert as_csv.status_code == 200, as_csv.text
    assert "aurora-pension-fund-assessment-scores" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert [row["assessment_id"] for row in rows] == [assessment]
    assert rows[0]["company"] == "NSO Group Technologies Limited"
    assert float(rows[0]["overall"]) == summary["overall"]
    assert rows[0]["band"] == summary["band"]
    assert rows[0]["assessment_status"] == "submitted"
    # The rules' content hash, as GET /rulesets shows it, names the rules the score used.
    current = client.get(f"{API}/rulesets/current", headers=tenant_a.investor).json()
    assert rows[0]["ruleset_hash"] == summary["ruleset_hash"] == current["version"]["content_hash"]
    assert rows[0]["ruleset"] == f"default v{current['version']['version']} (bundled)"

    as_xlsx = client.get(f"{API}/assessment-scores.xlsx", headers=tenant_a.investor)
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet.freeze_panes == "A2"
    header = [cell.value for cell in sheet[1]]
    assert header[0] == "company"
    assert all(f"theme_{theme}" in header for theme in summary["theme_scores"])

    as_json = client.get(f"{API}/assessment-scores.json", headers=tenant_a.investor).json()
    assert [item["assessment_id"] for item in as_json["items"]] == [assessment]
    assert as_json["items"][0]["overall"] == summary["overall"]

    other = client.get(f"{API}/assessment-scores.json", headers=tenant_b.investor).json()
    assert other["items"] == []
