"""Lifecycle rules: who may do what, in which state, in which organisation."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from assessment_helpers import (
    BUNDLED_KEY,
    patch_answers,
    placeholder_answers,
    post_action,
    put_answer,
    read,
    upload,
    url,
)
from fastapi.testclient import TestClient
from sqlalchemy import update

from hrdd.assessments import service
from hrdd.assessments.models import Assessment
from hrdd.auth.service import Principal
from hrdd.db import Database, TenantContext
from hrdd.errors import PreconditionFailed
from hrdd.http import etag_for
from hrdd.questionnaires.schemas import Questionnaire
from hrdd.vocab import Role

Start = Callable[..., tuple[dict[str, Any], str]]


def submitted_assessment(
    client: TestClient,
    tenant: Any,
    questionnaire: Questionnaire,
    start: Start,
    headers: dict[str, str] | None = None,
) -> tuple[str, str]:
    """A complete assessment, submitted by ``headers`` (the investor by default)."""
    headers = headers or tenant.investor
    body, etag = start(headers=headers)
    note = upload(client, headers, body["id"], b"test evidence note\n")
    answers = placeholder_answers(questionnaire, note.json()["id"])
    saved = patch_answers(client, headers, body["id"], answers, etag)
    assert saved.status_code == 200, saved.text
    submitted = post_action(client, headers, body["id"], "submit", saved.headers["ETag"])
    assert submitted.status_code == 200, submitted.text
    return body["id"], submitted.headers["ETag"]


def approved_assessment(
    client: TestClient, tenant: Any, questionnaire: Questionnaire, start: Start
) -> str:
    assessment_id, _ = submitted_assessment(client, tenant, questionnaire, start)
    approved = post_action(
        client, tenant.analyst, assessment_id, "review", body={"decision": "approve"}
    )
    assert approved.status_code == 200, approved.text
    return assessment_id


def test_another_organisation_sees_nothing_of_an_assessment(
    client: TestClient, tenant_a: Any, tenant_b: Any, start_assessment: Start
) -> None:
    body, etag = start_assessment()
    assessment_id = body["id"]
    payload = {"type": "disclosure", "level": "no_information"}
    requests = [
        client.get(url(assessment_id), headers=tenant_b.investor),
        client.get(url(assessment_id, "/history"), headers=tenant_b.investor),
        client.get(url(assessment_id, "/export"), headers=tenant_b.investor),
        put_answer(client, tenant_b.investor, assessment_id, "P1", payload, etag),
        patch_answers(client, tenant_b.investor, assessment_id, {"P1": payload}, etag),
        post_action(client, tenant_b.investor, assessment_id, "submit", etag),
        post_action(
            client, tenant_b.analyst, assessment_id, "review", body={"decision": "approve"}
        ),
        post_action(client, tenant_b.investor, assessment_id, "reopen"),
        upload(client, tenant_b.investor, assessment_id, b"note\n"),
    ]
    assert [r.status_code for r in requests] == [404] * len(requests)
    assert client.get("/api/v1/assessments", headers=tenant_b.investor).json()["items"] == []
    listed = client.get("/api/v1/assessments", headers=tenant_a.investor).json()["items"]
    assert [item["id"] for item in listed] == [assessment_id]
    unchanged, same_etag = read(client, tenant_a.investor, assessment_id)
    assert same_etag == etag and unchanged["answers"] == {}


def test_only_analysts_review_and_never_their_own_submission(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    assessment_id, _ = submitted_assessment(
        client, tenant_a, bundled, start_assessment, headers=tenant_a.analyst
    )
    decision = {"decision": "approve"}
    assert (
        post_action(client, tenant_a.investor, assessment_id, "review", body=decision).status_code
        == 403
    )
    own = post_action(client, tenant_a.analyst, assessment_id, "review", body=decision)
    assert own.status_code == 403
    assert "submitted" in own.json()["detail"]
    other = post_action(client, tenant_a.admin, assessment_id, "review", body=decision)
    assert other.status_code == 200
    assert other.json()["status"] == "final"
    assert other.json()["reviewed_by"] == f"{tenant_a.name} admin"


def test_review_needs_a_submitted_assessment_and_a_reason_to_return(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    draft, _ = start_assessment()
    on_draft = post_action(
        client, tenant_a.analyst, draft["id"], "review", body={"decision": "approve"}
    )
    assert on_draft.status_code == 409
    assessment_id, _ = submitted_assessment(client, tenant_a, bundled, start_assessment)
    no_reason = post_action(
        client, tenant_a.analyst, assessment_id, "review", body={"decision": "return"}
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["path"] == "comment"
    unknown = post_action(
        client, tenant_a.analyst, assessment_id, "review", body={"decision": "maybe"}
    )
    assert unknown.status_code == 422
    stale = post_action(
        client,
        tenant_a.analyst,
        assessment_id,
        "review",
        etag='"stale"',
        body={"decision": "approve"},
    )
    assert stale.status_code == 412
    assert read(client, tenant_a.investor, assessment_id)[0]["status"] == "submitted"


def test_every_write_bumps_the_version_and_the_etag(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    body, etag = start_assessment()
    investor = tenant_a.investor
    versions = [body["version"]]
    etags = [etag]
    payload = {"type": "disclosure", "level": "no_information"}
    for response in (
        lambda e: put_answer(client, investor, body["id"], "P1", payload, e),
        lambda e: patch_answers(client, investor, body["id"], {"P2": payload}, e),
        lambda e: client.delete(url(body["id"], "/answers/P2"), headers=investor | {"If-Match": e}),
    ):
        result = response(etags[-1])
        assert result.status_code == 200, result.text
        versions.append(result.json()["version"])
        etags.append(result.headers["ETag"])
    assert versions == list(range(versions[0], versions[0] + 4))
    assert len(set(etags)) == 4
    assert read(client, investor, body["id"])[1] == etags[-1]


def test_deleting_an_answer_that_does_not_exist_is_404(
    client: TestClient, tenant_a: Any, start_assessment: Start
) -> None:
    body, etag = start_assessment()
    response = client.delete(
        url(body["id"], "/answers/P1"), headers=tenant_a.investor | {"If-Match": etag}
    )
    assert response.status_code == 404
    assert read(client, tenant_a.investor, body["id"])[1] == etag


def test_reopen_only_a_final_assessment_once_and_approval_supersedes_it(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    draft, _ = start_assessment()
    assert post_action(client, tenant_a.investor, draft["id"], "reopen").status_code == 409
    first = approved_assessment(client, tenant_a, bundled, start_assessment)
    first_before, first_etag = read(client, tenant_a.investor, first)

    reopened = post_action(client, tenant_a.investor, first, "reopen")
    assert reopened.status_code == 201
    second = reopened.json()
    assert post_action(client, tenant_a.investor, first, "reopen").status_code == 409

    # Editing the new version leaves the final one as it was.
    changed = put_answer(
        client,
        tenant_a.investor,
        second["id"],
        "P1",
        {"type": "disclosure", "level": "no"},
        reopened.headers["ETag"],
    )
    assert changed.status_code == 200
    assert read(client, tenant_a.investor, first) == (
        first_before | {"next_assessment_id": second["id"]},
        first_etag,
    )

    submitted = post_action(
        client, tenant_a.investor, second["id"], "submit", changed.headers["ETag"]
    )
    assert submitted.status_code == 200, submitted.text
    approved = post_action(
        client, tenant_a.analyst, second["id"], "review", body={"decision": "approve"}
    )
    assert approved.status_code == 200
    previous, _ = read(client, tenant_a.investor, first)
    assert previous["status"] == "superseded"
    assert previous["answers"] == first_before["answers"]
    assert post_action(client, tenant_a.investor, first, "reopen").status_code == 409

    finals = client.get(
        "/api/v1/assessments", params={"status": "final"}, headers=tenant_a.investor
    ).json()["items"]
    assert [item["id"] for item in finals] == [second["id"]]


def test_create_refuses_unknown_company_and_questionnaire(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, make_company: Callable[..., Any]
) -> None:
    company_id = make_company()["id"]
    cases = [
        ({"company_id": str(uuid.uuid4()), "questionnaire_key": BUNDLED_KEY}, 404),
        ({"company_id": company_id, "questionnaire_key": "no-such-questionnaire"}, 404),
        ({"company_id": company_id, "questionnaire_key": BUNDLED_KEY, "version": "9.9.9"}, 404),
        ({"company_id": company_id, "questionnaire_key": BUNDLED_KEY, "version": "one"}, 422),
        ({"company_id": company_id, "questionnaire_key": BUNDLED_KEY, "extra": 1}, 422),
    ]
    for body, expected in cases:
        response = client.post("/api/v1/assessments", json=body, headers=tenant_a.investor)
        assert response.status_code == expected, (body, response.text)
    assert client.get("/api/v1/assessments", headers=tenant_a.investor).json()["items"] == []
    explicit = client.post(
        "/api/v1/assessments",
        json={
            "company_id": company_id,
            "questionnaire_key": BUNDLED_KEY,
            "version": bundled.version,
        },
        headers=tenant_a.investor,
    )
    assert explicit.status_code == 201


def test_a_company_has_one_assessment_in_progress_at_a_time(
    client: TestClient, tenant_a: Any, bundled: Questionnaire, start_assessment: Start
) -> None:
    """A second draft would split the work, and which one stands for the company would depend
    on which was started last: 409 naming the open one, and what to do instead."""
    first, _ = start_assessment()
    company_id = first["company_id"]
    body = {"company_id": company_id, "questionnaire_key": BUNDLED_KEY}

    def start_again() -> dict[str, Any]:
        response = client.post("/api/v1/assessments", json=body, headers=tenant_a.investor)
        assert response.status_code == 409, response.text
        return response.json()

    assert first["id"] in start_again()["detail"] and "continue it" in start_again()["detail"]
    submitted_id, _ = submitted_assessment(
        client,
        tenant_a,
        bundled,
        lambda **_: (first, read(client, tenant_a.investor, first["id"])[1]),
    )
    assert "review it" in start_again()["detail"]
    approved = post_action(
        client, tenant_a.analyst, submitted_id, "review", body={"decision": "approve"}
    )
    assert approved.status_code == 200, approved.text
    refused = start_again()["detail"]
    assert f"/assessments/{submitted_id}/reopen" in refused
    listed = client.get(
        "/api/v1/assessments", params={"company_id": company_id}, headers=tenant_a.investor
    ).json()["items"]
    assert [item["id"] for item in listed] == [submitted_id]


def test_list_filters_by_company_and_status(
    client: TestClient,
    tenant_a: Any,
    bundled: Questionnaire,
    start_assessment: Start,
    make_company: Callable[..., Any],
) -> None:
    nso = make_company("NSO Group")["id"]
    other = make_company("Another Vendor")["id"]
    first, _ = start_assessment(company_id=nso)
    start_assessment(company_id=other)
    submitted_id, _ = submitted_assessment(client, tenant_a, bundled, start_assessment)

    def ids(**params: str) -> list[str]:
        response = client.get("/api/v1/assessments", params=params, headers=tenant_a.investor)
        assert response.status_code == 200
        return [item["id"] for item in response.json()["items"]]

    assert ids(company_id=nso) == [first["id"]]
    assert ids(status="submitted") == [submitted_id]
    assert ids(company_id=nso, status="submitted") == []
    assert len(ids()) == 3
    assert (
        client.get(
            "/api/v1/assessments", params={"status": "open"}, headers=tenant_a.investor
        ).status_code
        == 422
    )


def test_a_writer_that_loses_a_race_gets_412_and_its_changes_roll_back(
    client: TestClient, tenant_a: Any, db: Database, start_assessment: Start
) -> None:
    """Two requests read the same version; the second to write must not overwrite the first,
    even though its If-Match matched what it had read."""
    body, etag = start_assessment()
    investor = Principal(
        key_id=tenant_a.key_ids[Role.investor],
        key_name="racer",
        role=Role.investor,
        organisation_id=tenant_a.organisation_id,
        organisation_name=tenant_a.name,
    )
    tenant = TenantContext(organisation_id=tenant_a.organisation_id)
    with pytest.raises(PreconditionFailed), db.session(tenant, write=True) as session:
        assessment = service.get_assessment(session, uuid.UUID(body["id"]))
        assert etag == etag_for(assessment.id, assessment.version)
        # The other writer commits first: the version moves on behind this session's back.
        session.execute(
            update(Assessment)
            .where(Assessment.id == assessment.id)
            .values(version=assessment.version + 1)
            .execution_options(synchronize_session=False)
        )
        service.write_answers(
            session,
            investor,
            assessment,
            {"P1": {"type": "disclosure", "level": "no_information"}},
            etag,
        )
    after, _ = read(client, tenant_a.investor, body["id"])
    assert after["answers"] == {}
    assert after["version"] == body["version"]


def test_a_stale_etag_says_who_changed_the_assessment_and_what(
    client: TestClient, tenant_a: Any, start_assessment: Start
) -> None:
    """The investor review: two colleagues answering one questionnaire got a 412 naming only
    the current ETag, so neither could tell what the other had changed."""
    body, etag = start_assessment()
    level = {"type": "disclosure", "level": "partial"}
    first = put_answer(client, tenant_a.analyst, body["id"], "P1", level, etag)
    assert first.status_code == 200, first.text
    # A file uploaded since changes no version: it is not what made the copy stale.
    uploaded = upload(client, tenant_a.investor, body["id"], b"notes")
    assert uploaded.status_code == 201, uploaded.text

    late = put_answer(client, tenant_a.investor, body["id"], "G1", level, etag)
    assert late.status_code == 412
    detail = late.json()["detail"]
    version = int(etag.strip('"').rsplit("-", 1)[1])
    assert f"since the version you read (version {version}; it is now at version" in detail
    assert f"the last change recorded: answer set (P1), by {tenant_a.name} analyst on " in detail
    assert detail.endswith("reapply your change with its ETag")
    assert late.headers["ETag"] == first.headers["ETag"]

    # Of several tags, the latest this assessment had is the one read.
    both = f"{first.headers['ETag']}, {etag}".replace(first.headers["ETag"], '"x-1"')
    several = put_answer(client, tenant_a.investor, body["id"], "G1", level, both)
    assert f"(version {version};" in several.json()["detail"]
    weak = put_answer(
        client, tenant_a.investor, body["id"], "G1", level, f"W/{first.headers['ETag']}"
    )
    assert weak.status_code == 412
    assert "a weak ETag (W/...) never matches" in weak.json()["detail"]
    foreign = put_answer(client, tenant_a.investor, body["id"], "G1", level, '"other-1"')
    assert foreign.status_code == 412
    assert "is not one of assessment" in foreign.json()["detail"]
