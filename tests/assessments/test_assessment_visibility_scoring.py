"""Answers hidden by a later change are kept but excluded everywhere, and what the scoring
side reads through the service interface."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from assessment_helpers import (
    disclosure,
    evidence,
    patch_answers,
    placeholder_answers,
    post_action,
    put_answer,
    read,
    upload,
    url,
)
from fastapi.testclient import TestClient

from hrdd.assessments import service
from hrdd.config import Settings
from hrdd.db import Database, TenantContext
from hrdd.errors import NotFound
from hrdd.questionnaires.answers import DisclosureAnswer
from hrdd.questionnaires.schemas import Questionnaire
from hrdd.scoring.service import current_scores, load_bundled_rulesets
from hrdd.vocab import AssessmentStatus, DisclosureLevel

Start = Callable[..., tuple[dict[str, Any], str]]
EXPORTS = {"type": "single_choice", "value": "yes"}
NO_EXPORTS = {"type": "single_choice", "value": "no"}
EU6_ANSWER = disclosure("partial", evidence("Test", "Test", link="https://vendor.example/a"))


def test_answers_hidden_by_a_later_change_are_kept_but_excluded(
    client: TestClient, tenant_a: Any, db: Database, start_assessment: Start
) -> None:
    draft, etag = start_assessment()
    both = patch_answers(
        client, tenant_a.investor, draft["id"], {"EX5": EXPORTS, "EU6": EU6_ANSWER}, etag
    )
    assert both.status_code == 200, both.text
    shown = both.json()
    assert shown["answers"]["EU6"]["excluded"] is False

    hidden = put_answer(
        client, tenant_a.investor, draft["id"], "EX5", NO_EXPORTS, both.headers["ETag"]
    )
    assert hidden.status_code == 200
    view = hidden.json()
    assert view["answers"]["EU6"]["excluded"] is True
    assert view["answers"]["EU6"]["payload"] == shown["answers"]["EU6"]["payload"]
    assert view["excluded_question_ids"] == ["EU6"]
    assert "EU6" not in view["visible_question_ids"]
    assert view["progress"]["answered"] == shown["progress"]["answered"] - 1
    assert view["progress"]["visible"] < shown["progress"]["visible"]
    assert not any(p["question_id"] == "EU6" for p in view["validation"]["problems"])
    exported = client.get(url(draft["id"], "/export"), headers=tenant_a.investor).json()
    assert "EU6" not in exported["answers"]

    tenant = TenantContext(organisation_id=tenant_a.organisation_id)
    with db.session(tenant) as session:
        scoring = service.get_assessment_for_scoring(session, uuid.UUID(draft["id"]))
    assert set(scoring.excluded_answers) == {"EU6"}
    assert "EU6" not in scoring.answers and "EX5" in scoring.answers

    # Changing the gate back brings the kept answer back into play.
    again = put_answer(
        client, tenant_a.investor, draft["id"], "EX5", EXPORTS, hidden.headers["ETag"]
    )
    assert again.json()["answers"]["EU6"]["excluded"] is False
    assert again.json()["excluded_question_ids"] == []


def test_scoring_reads_parsed_answers_of_the_organisations_assessments_only(
    client: TestClient,
    tenant_a: Any,
    tenant_b: Any,
    db: Database,
    bundled: Questionnaire,
    start_assessment: Start,
) -> None:
    draft, etag = start_assessment()
    saved = put_answer(
        client, tenant_a.investor, draft["id"], "P1", disclosure("no_information"), etag
    )
    assert saved.status_code == 200
    assessment_id = uuid.UUID(draft["id"])
    with db.session(TenantContext(organisation_id=tenant_a.organisation_id)) as session:
        scoring = service.get_assessment_for_scoring(session, assessment_id)
    assert scoring.status == AssessmentStatus.draft
    assert scoring.questionnaire.digest() == bundled.digest()
    assert scoring.answers["P1"] == DisclosureAnswer(
        type="disclosure", level=DisclosureLevel.no_information
    )
    assert scoring.version == saved.json()["version"]
    with (
        pytest.raises(NotFound),
        db.session(TenantContext(organisation_id=tenant_b.organisation_id)) as session,
    ):
        service.get_assessment_for_scoring(session, assessment_id)


def test_a_reopened_company_is_scored_on_its_final_until_the_successor_is_approved(
    client: TestClient,
    tenant_a: Any,
    tenant_b: Any,
    db: Database,
    settings: Settings,
    bundled: Questionnaire,
    start_assessment: Start,
    make_company: Callable[..., Any],
) -> None:
    """The assessment that stands for a company in portfolios and reports
    (``scoring.current_scores``): its final one while a reopened draft is being worked on,
    the successor once that is approved, and never a draft (a company with a draft only and
    no evidence has no score)."""
    load_bundled_rulesets(db, settings)
    company = make_company("Vendor With History")["id"]
    never_final = make_company("Vendor In Draft")["id"]
    start_assessment(company_id=never_final)

    def approve(assessment_id: str, etag: str) -> None:
        note = upload(client, tenant_a.investor, assessment_id, b"note\n").json()["id"]
        answers = placeholder_answers(bundled, note)
        saved = patch_answers(client, tenant_a.investor, assessment_id, answers, etag)
        assert saved.status_code == 200, saved.text
        submitted = post_action(
            client, tenant_a.investor, assessment_id, "submit", saved.headers["ETag"]
        )
        assert submitted.status_code == 200, submitted.text
        decision = {"decision": "approve"}
        assert (
            post_action(
                client, tenant_a.analyst, assessment_id, "review", body=decision
            ).status_code
            == 200
        )

    first, etag = start_assessment(company_id=company)
    approve(first["id"], etag)
    reopened = post_action(client, tenant_a.investor, first["id"], "reopen")
    second = reopened.json()["id"]
    ids = [uuid.UUID(company), uuid.UUID(never_final)]

    def standing(tenant: Any) -> dict[str, str]:
        with db.session(TenantContext(tenant.organisation_id), write=True) as session:
            scores = current_scores(session, ids)
        return {str(company_id): str(s.assessment_id) for company_id, s in scores.items()}

    assert standing(tenant_a) == {company: first["id"]}
    approve(second, read(client, tenant_a.investor, second)[1])
    assert standing(tenant_a) == {company: second}
    assert standing(tenant_b) == {}
