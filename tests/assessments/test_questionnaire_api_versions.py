"""Questionnaire versions: the bundled loader, the API to list, read and publish versions,
and the XLSX template."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from assessment_helpers import BUNDLED_KEY
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from hrdd.config import Settings
from hrdd.db import Database
from hrdd.errors import Invalid
from hrdd.questionnaires.schemas import Questionnaire
from hrdd.questionnaires.service import content_of, load_bundled_questionnaires

BASE = "/api/v1/questionnaires"


def bundled_text(settings: Settings) -> str:
    return (settings.questionnaires_dir / "stap-surveillance-v1.yaml").read_text()


def with_version(text: str, old: str, new: str) -> str:
    assert f"\nversion: {old}\n" in text
    return text.replace(f"\nversion: {old}\n", f"\nversion: {new}\n", 1)


def publish_yaml(client: TestClient, headers: dict[str, str], text: str) -> Any:
    return client.post(
        BASE,
        files={"file": ("questionnaire.yaml", text.encode(), "application/x-yaml")},
        headers=headers,
    )


def test_list_and_read_the_bundled_version(
    client: TestClient, tenant_a: Any, bundled: Questionnaire
) -> None:
    listed = client.get(BASE, headers=tenant_a.investor)
    assert listed.status_code == 200
    (item,) = [i for i in listed.json()["items"] if i["key"] == BUNDLED_KEY]
    assert (item["version"], item["title"]) == (bundled.version, bundled.title)
    assert item["question_count"] == len(bundled.questions)
    assert item["source"] == "bundled" and item["frozen"] is False
    assert item["content_hash"] == bundled.digest()

    read = client.get(f"{BASE}/{BUNDLED_KEY}/versions/{bundled.version}", headers=tenant_a.investor)
    assert read.status_code == 200
    assert [q["id"] for q in read.json()["content"]["questions"]] == bundled.question_ids
    assert Questionnaire.model_validate(read.json()["content"]).digest() == bundled.digest()
    assert read.headers["ETag"] == f'"{bundled.digest()}"'
    missing = client.get(f"{BASE}/{BUNDLED_KEY}/versions/9.0.0", headers=tenant_a.investor)
    assert missing.status_code == 404


def test_analyst_publishes_a_new_version_as_yaml_or_json_never_overwriting(
    client: TestClient,
    tenant_a: Any,
    tenant_b: Any,
    bundled: Questionnaire,
    settings: Settings,
    make_company: Callable[..., Any],
) -> None:
    text = with_version(bundled_text(settings), bundled.version, "1.1.0")
    assert publish_yaml(client, tenant_a.investor, text).status_code == 403
    published = publish_yaml(client, tenant_a.analyst, text)
    assert published.status_code == 201, published.text
    assert published.headers["Location"] == f"{BASE}/{BUNDLED_KEY}/versions/1.1.0"
    assert published.json()["source"] == "api"
    assert publish_yaml(client, tenant_a.analyst, text).status_code == 409

    # JSON body; a pre-release is published but never chosen by default.
    document = content_of(bundled) | {"version": "2.0.0-rc.1"}
    as_json = client.post(BASE, json=document, headers=tenant_a.analyst)
    assert as_json.status_code == 201, as_json.text
    assert client.post(BASE, json=document, headers=tenant_a.analyst).status_code == 409

    # The versions are the publisher's organisation's: it sees them and takes the highest
    # release by default; another organisation sees and takes only the bundled one.
    def versions(tenant: Any) -> dict[str, bool]:
        listed = client.get(BASE, params={"key": BUNDLED_KEY}, headers=tenant.investor).json()
        return {item["version"]: item["shared"] for item in listed["items"]}

    assert versions(tenant_a) == {bundled.version: True, "1.1.0": False, "2.0.0-rc.1": False}
    assert versions(tenant_b) == {bundled.version: True}
    assert (
        client.get(f"{BASE}/{BUNDLED_KEY}/versions/1.1.0", headers=tenant_b.investor).status_code
        == 404
    )

    def new_assessment(tenant: Any) -> Any:
        created = client.post(
            "/api/v1/assessments",
            json={
                "company_id": make_company(analyst=tenant.analyst)["id"],
                "questionnaire_key": BUNDLED_KEY,
            },
            headers=tenant.investor,
        )
        assert created.status_code == 201, created.text
        return created.json()["questionnaire"]["version"]

    assert new_assessment(tenant_a) == "1.1.0"
    assert new_assessment(tenant_b) == bundled.version
    # B may publish the same number for itself: A's version neither blocks nor shows.
    assert publish_yaml(client, tenant_b.analyst, text).status_code == 201
    assert versions(tenant_b) == {bundled.version: True, "1.1.0": False}


def test_a_bundled_version_of_a_number_an_organisation_published_still_loads(
    client: TestClient,
    db: Database,
    tenant_a: Any,
    tenant_b: Any,
    bundled: Questionnaire,
    settings: Settings,
    tmp_path: Path,
) -> None:
    """An organisation that published 1.1.0 could take the number of the next bundled version,
    and `hrdd load` then refused that file for everyone. Now the bundled 1.1.0 loads as the
    shared version; the organisation keeps its own under that number, and others get the
    bundled one."""
    mine = with_version(bundled_text(settings), bundled.version, "1.1.0").replace(
        f"title: {bundled.title}", "title: Our own edition", 1
    )
    assert publish_yaml(client, tenant_a.analyst, mine).status_code == 201
    shipped = tmp_path / "questionnaires"
    shipped.mkdir()
    (shipped / "stap-surveillance-v1.1.yaml").write_text(
        with_version(bundled_text(settings), bundled.version, "1.1.0")
    )
    report = load_bundled_questionnaires(
        db, settings.model_copy(update={"questionnaires_dir": shipped})
    )
    assert report == [
        f"questionnaire {BUNDLED_KEY} 1.1.0: added ({len(bundled.questions)} questions)"
    ]

    def title_of_1_1_0(tenant: Any) -> str:
        read = client.get(f"{BASE}/{BUNDLED_KEY}/versions/1.1.0", headers=tenant.investor)
        assert read.status_code == 200, read.text
        return read.json()["title"]

    assert title_of_1_1_0(tenant_a) == "Our own edition"
    assert title_of_1_1_0(tenant_b) == bundled.title


def test_invalid_uploads_are_422_naming_question_and_field(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, settings: Settings
) -> None:
    document = content_of(bundled) | {"version": "3.0.0"}
    questions = [dict(q) for q in document["questions"]]
    first, policy = questions[0], questions[bundled.position("P1")]
    first["answer_type"] = dict(first["answer_type"]) | {"options": [{"id": "only", "label": "x"}]}
    policy["theme"] = "no_such_theme"
    document["questions"] = questions
    response = client.post(BASE, json=document, headers=tenant_a.analyst)
    assert response.status_code == 422
    paths = {e["path"] for e in response.json()["errors"]}
    assert "questions.P1.theme" in paths
    assert any(p.startswith(f"questions.{first['id']}.answer_type.options") for p in paths)

    broken_yaml = with_version(bundled_text(settings), bundled.version, "3.0.0") + "\n  : - ["
    yaml_response = publish_yaml(client, tenant_a.analyst, broken_yaml)
    assert yaml_response.status_code == 422
    assert "line" in yaml_response.json()["errors"][0]["message"]

    for body, content_type, status in (
        (b"{not json", "application/json", 422),
        (b"[1, 2]", "application/json", 422),
        (b"key: x", "text/plain", 415),
    ):
        bad = client.post(
            BASE, content=body, headers=tenant_a.analyst | {"Content-Type": content_type}
        )
        assert bad.status_code == status, bad.text
    listed = client.get(BASE, headers=tenant_a.analyst).json()["items"]
    assert [i["version"] for i in listed] == [bundled.version]


def test_loading_bundled_files_is_idempotent_and_updates_only_unfrozen_versions(
    db: Database, settings: Settings, bundled: Questionnaire, tmp_path: Path
) -> None:
    assert load_bundled_questionnaires(db, settings) == [
        f"questionnaire {BUNDLED_KEY} {bundled.version}: unchanged"
    ]
    edited = tmp_path / "questionnaires"
    edited.mkdir()
    (edited / "stap-surveillance-v1.yaml").write_text(
        bundled_text(settings).replace(f"title: {bundled.title}", "title: Edited title", 1)
    )
    changed = settings.model_copy(update={"questionnaires_dir": edited})
    report = load_bundled_questionnaires(db, changed)
    assert report == [
        f"questionnaire {BUNDLED_KEY} {bundled.version}: updated (not yet used by any assessment)"
    ]
    assert load_bundled_questionnaires(db, changed)[0].endswith("unchanged")


def test_a_bad_bundled_file_is_refused_with_file_question_and_field(
    db: Database, settings: Settings, bundled: Questionnaire, tmp_path: Path
) -> None:
    broken = tmp_path / "questionnaires"
    broken.mkdir()
    (broken / "stap-surveillance-v1.yaml").write_text(
        bundled_text(settings).replace("theme: policy", "theme: politics", 1)
    )
    with pytest.raises(Invalid) as refused:
        load_bundled_questionnaires(db, settings.model_copy(update={"questionnaires_dir": broken}))
    (problem,) = [e for e in refused.value.errors if e.path.endswith(".theme")]
    assert problem.path.startswith("questions.P")
    assert "stap-surveillance-v1.yaml" in problem.message


def test_template_has_a_row_per_question_and_drop_down_lists(
    client: TestClient, tenant_a: Any, bundled: Questionnaire
) -> None:
    response = client.get(
        f"{BASE}/{BUNDLED_KEY}/versions/{bundled.version}/template.xlsx", headers=tenant_a.investor
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    disposition = response.headers["content-disposition"]
    assert f"{BUNDLED_KEY}-{bundled.version}-template-" in disposition
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook["Answers"]
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["Question id", "Section", "Question"]
    ids = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert ids == bundled.question_ids
    answer_column = header.index("Answer") + 1
    lists = workbook["Lists"]
    assert lists.sheet_state == "hidden"
    by_cell = {
        str(cell_range): validation
        for validation in sheet.data_validations.dataValidation
        for cell_range in validation.sqref.ranges
    }
    for row, question in enumerate(bundled.questions, start=2):
        cell = f"{sheet.cell(row=row, column=answer_column).coordinate}"
        if question.answer_type.type in ("disclosure", "single_choice"):
            validation = by_cell[cell]
            reference = validation.formula1.split("!")[1].replace("$", "")
            values = [c.value for (c,) in lists[reference]]
            expected = (
                [level.value for level in question.answer_type.allowed_levels]
                if question.answer_type.type == "disclosure"
                else question.option_ids
            )
            assert values == expected, question.id
    about = {row[0]: row[1] for row in workbook["About"].iter_rows(values_only=True)}
    assert (about["questionnaire_key"], about["questionnaire_version"]) == (
        BUNDLED_KEY,
        bundled.version,
    )


def test_the_questionnaire_may_be_left_out_while_there_is_only_one(
    client: TestClient,
    tenant_a: Any,
    tenant_b: Any,
    bundled: Questionnaire,
    settings: Settings,
    make_company: Callable[..., Any],
) -> None:
    def start(tenant: Any) -> Any:
        return client.post(
            "/api/v1/assessments",
            json={"company_id": make_company(analyst=tenant.analyst)["id"]},
            headers=tenant.investor,
        )

    alone = start(tenant_a)
    assert alone.status_code == 201, alone.text
    assert (alone.json()["questionnaire"]["key"], alone.json()["questionnaire"]["version"]) == (
        BUNDLED_KEY,
        bundled.version,
    )
    other = bundled_text(settings).replace(f"\nkey: {BUNDLED_KEY}\n", "\nkey: own-screening\n", 1)
    assert publish_yaml(client, tenant_a.analyst, other).status_code == 201
    # Two to choose from: the caller must say which, and nothing is created.
    before = client.get("/api/v1/assessments", headers=tenant_a.investor).json()["items"]
    ambiguous = start(tenant_a)
    assert ambiguous.status_code == 422, ambiguous.text
    (error,) = ambiguous.json()["errors"]
    assert error["path"] == "questionnaire_key"
    assert BUNDLED_KEY in error["message"] and "own-screening" in error["message"]
    assert client.get("/api/v1/assessments", headers=tenant_a.investor).json()["items"] == before
    # Another organisation does not see A's questionnaire, so it still has only one.
    assert start(tenant_b).status_code == 201
