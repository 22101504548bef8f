"""Reads serve a stored score as it is while nothing it is made of changed (hrdd.scoring.
freshness), and never a stale one: every kind of write that changes a score's inputs is seen
by the next read, and so is the passing of a day. ``engine_runs`` counts the computations, so
a test can tell a score served as stored from one computed again."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from test_score_api_support import (
    add_incident,
    answer_payloads,
    make_assessment,
    make_company,
)
from tests.conftest import recent_evidence_body
from tests.scoring.ruleset_helpers import choose, publish

from hrdd.assessments.models import Assessment
from hrdd.db import TenantContext, utcnow
from hrdd.scoring import freshness, service
from hrdd.vocab import AssessmentStatus, DisclosureLevel

API = "/api/v1"
ISIN = "US0378331005"  # a real, valid ISIN of a company the tests never load


class Runs:
    count = 0


@pytest.fixture
def engine_runs(monkeypatch) -> Runs:
    runs = Runs()
    compute = service._run

    def counted(*args: Any, **kwargs: Any) -> Any:
        runs.count += 1
        return compute(*args, **kwargs)

    monkeypatch.setattr(service, "_run", counted)
    return runs


@pytest.fixture
def company(db, questionnaire):
    return make_company(db, "Example Freshness Ltd")


@pytest.fixture
def draft(db, tenant_a, company, questionnaire):
    answers = answer_payloads(questionnaire, DisclosureLevel.full)
    return make_assessment(db, tenant_a.organisation_id, company, answers, AssessmentStatus.draft)


def read(client, tenant, assessment_id, **params: Any) -> dict[str, Any]:
    response = client.get(
        f"{API}/assessments/{assessment_id}/score", params=params, headers=tenant.investor
    )
    assert response.status_code == 200, response.text
    return response.json()


def latest_diff_refs(client, tenant, assessment_id) -> set[tuple[str, str]]:
    items = client.get(f"{API}/assessments/{assessment_id}/scores", headers=tenant.investor).json()[
        "items"
    ]
    return {(entry["kind"], entry["ref"]) for entry in items[-1]["diff"]["entries"]}


def commitment_body(company_id, **overrides: Any) -> dict[str, Any]:
    body = {
        "company_id": str(company_id),
        "date": "2019-09-10",
        "title": "Customer vetting",
        "claim": "The company said it vets every customer.",
        "source": {
            "publisher": "Example Freshness Ltd",
            "title": "Our policy",
            "date": "2019-09-10",
            "url": "https://example.org/policy",
        },
        "question_ids": ["EU1", "EU2"],
        "fulfilment": "self_reported",
        "fulfilment_rationale": "Only the company's own word supports it.",
    }
    return body | overrides


def test_a_repeated_read_is_served_as_stored(client, tenant_a, draft, engine_runs):
    first = read(client, tenant_a, draft)
    assert engine_runs.count == 1
    again = read(client, tenant_a, draft)
    assert engine_runs.count == 1
    assert again == first


def test_an_answer_written_through_the_api_is_in_the_next_read(
    client, tenant_a, draft, engine_runs
):
    first = read(client, tenant_a, draft)
    etag = client.get(f"{API}/assessments/{draft}", headers=tenant_a.investor).headers["ETag"]
    written = client.put(
        f"{API}/assessments/{draft}/answers/EU1",
        json={"type": "disclosure", "level": "no"},
        headers=tenant_a.investor | {"If-Match": etag},
    )
    assert written.status_code == 200, written.text
    after = read(client, tenant_a, draft)
    assert after["score_id"] != first["score_id"]
    assert after["summary"]["overall"] > first["summary"]["overall"]
    assert ("answer", "EU1") in latest_diff_refs(client, tenant_a, draft)
    runs = engine_runs.count
    assert read(client, tenant_a, draft) == after
    assert engine_runs.count == runs


def test_a_submitted_assessment_reads_no_trend_from_its_draft_scores(
    client, db, tenant_a, company, questionnaire
):
    """A draft's scores are work in progress: its first score once submitted is read against
    what stood for the company before (nothing here), not against the last draft score."""
    org = tenant_a.organisation_id
    answers = answer_payloads(questionnaire, DisclosureLevel.full)
    assessment = make_assessment(db, org, company, answers, AssessmentStatus.draft)
    draft = read(client, tenant_a, assessment)
    assert draft["result"]["trend"] == "in_progress"
    assert "This is a draft" in draft["summary"]["action_reason"]
    with db.session(TenantContext(org), write=True) as session:
        row = session.get(Assessment, assessment)
        row.status = AssessmentStatus.submitted.value
        row.version += 1  # as the submit route's write does
    submitted = read(client, tenant_a, assessment)
    assert submitted["score_id"] != draft["score_id"]
    assert submitted["result"]["trend"] == "first"
    assert submitted["summary"]["trend"] is None


def test_a_first_submitted_assessment_is_no_rise_over_the_evidence_alone(
    client, db, tenant_a, company, questionnaire
):
    """Scored on its evidence alone a company has no practice gaps; its first submitted
    assessment adds them. The rise is what the assessment found, not a change in the company:
    no trend, no step up the ladder (the reviewer saw "Risk rose 47.7 points ... one rung up"
    on every first approved assessment)."""
    org = tenant_a.organisation_id
    add_incident(
        db,
        company,
        event_date=utcnow().date() - dt.timedelta(days=60),
        severity=2,
        affected_groups=("general_public",),
    )
    with db.session(TenantContext(org), write=True) as session:
        evidence_only = service.current_scores(session, [company])[company]
    assert evidence_only.assessment_id is None
    answers = answer_payloads(questionnaire, DisclosureLevel.no)
    assessment = make_assessment(db, org, company, answers, AssessmentStatus.submitted)

    first = read(client, tenant_a, assessment)
    assert first["result"]["overall"] > evidence_only.overall
    assert first["result"]["trend"] == "basis_changed"
    assert first["summary"]["trend"] is None
    assert "rose" not in first["summary"]["action_reason"]
    assert "counted the evidence alone" in first["summary"]["action_reason"]


def test_approving_an_assessment_moves_the_company_score_to_it(
    client, db, tenant_a, company, questionnaire
):
    org = tenant_a.organisation_id
    earlier = utcnow() - dt.timedelta(days=30)
    good = answer_payloads(questionnaire, DisclosureLevel.full)
    bad = answer_payloads(questionnaire, DisclosureLevel.no)
    final = make_assessment(db, org, company, good, AssessmentStatus.final, created_at=earlier)
    submitted = make_assessment(db, org, company, bad, AssessmentStatus.submitted)
    with db.session(TenantContext(org), write=True) as session:
        before = service.current_scores(session, [company])[company]
    assert before.assessment_id == final

    approved = client.post(
        f"{API}/assessments/{submitted}/review",
        json={"decision": "approve"},
        headers=tenant_a.analyst,
    )
    assert approved.status_code == 200, approved.text
    with db.session(TenantContext(org), write=True) as session:
        after = service.current_scores(session, [company])[company]
    assert after.assessment_id == submitted
    assert after.overall > before.overall


def test_evidence_created_replaced_and_deleted_is_in_each_next_read(
    client, tenant_a, company, draft
):
    clean = read(client, tenant_a, draft)
    created = client.post(
        f"{API}/evidence", json=recent_evidence_body(company), headers=tenant_a.analyst
    )
    assert created.status_code == 201, created.text
    harmed = read(client, tenant_a, draft)
    assert harmed["summary"]["evidence_risk_current"] > clean["summary"]["evidence_risk_current"]

    body = recent_evidence_body(company, severity=2, affected_groups=[], company_role="contributed")
    replaced = client.put(
        f"{API}/evidence/{created.json()['id']}",
        json={k: v for k, v in body.items() if k != "company_id"},
        headers=tenant_a.analyst | {"If-Match": created.headers["ETag"]},
    )
    assert replaced.status_code == 200, replaced.text
    milder = read(client, tenant_a, draft)
    assert milder["summary"]["evidence_risk_current"] < harmed["summary"]["evidence_risk_current"]

    deleted = client.delete(
        f"{API}/evidence/{created.json()['id']}",
        headers=tenant_a.analyst | {"If-Match": replaced.headers["ETag"]},
    )
    assert deleted.status_code == 204
    gone = read(client, tenant_a, draft)
    assert gone["summary"]["evidence_risk_current"] == clean["summary"]["evidence_risk_current"]
    assert gone["summary"]["overall"] == clean["summary"]["overall"]


def test_commitments_created_and_deleted_are_in_each_next_read(client, tenant_a, company, draft):
    plain = read(client, tenant_a, draft)
    harm = client.post(
        f"{API}/evidence",
        json=recent_evidence_body(company, severity=1, affected_groups=[]),
        headers=tenant_a.analyst,
    ).json()["id"]
    contradicted = client.post(
        f"{API}/commitments",
        json=commitment_body(company, fulfilment="contradicted", contradicted_by=[harm]),
        headers=tenant_a.analyst,
    )
    assert contradicted.status_code == 201, contradicted.text
    caught = read(client, tenant_a, draft)
    assert caught["summary"]["say_do_gap"] > plain["summary"]["say_do_gap"]
    assert (
        caught["summary"]["verified_commitment_score"]
        < plain["summary"]["verified_commitment_score"]
    )

    withdrawn = client.delete(
        f"{API}/commitments/{contradicted.json()['id']}",
        headers=tenant_a.analyst | {"If-Match": contradicted.headers["ETag"]},
    )
    assert withdrawn.status_code == 204
    after = read(client, tenant_a, draft)
    assert after["summary"]["say_do_gap"] == plain["summary"]["say_do_gap"]


def test_choosing_another_rule_set_is_in_the_next_read(client, tenant_a, draft):
    first = read(client, tenant_a, draft)
    default_id = first["ruleset_version_id"]
    created = client.post(f"{API}/rulesets/{default_id}/drafts", headers=tenant_a.analyst)
    content = created.json()["content"]
    content["themes"]["grievance_remedy"]["weight"] = 80
    saved = client.put(
        f"{API}/rulesets/drafts/{created.json()['id']}",
        json=content,
        headers=tenant_a.analyst | {"If-Match": created.headers["ETag"]},
    )
    assert saved.status_code == 200, saved.text
    published = publish(client, tenant_a.analyst, created.json()["id"])
    assert published.status_code == 200, published.text
    assert read(client, tenant_a, draft)["ruleset_version_id"] == created.json()["id"]

    rolled_back = choose(client, tenant_a.analyst, default_id)
    assert rolled_back.status_code == 200, rolled_back.text
    again = read(client, tenant_a, draft)
    assert again["ruleset_version_id"] == default_id
    assert again["summary"]["overall"] == first["summary"]["overall"]


def test_shared_evidence_loaded_outside_any_request_is_in_the_next_read(
    client, tenant_a, company, draft
):
    """Written straight to the table, as a loader would before it rescores: the company's
    evidence marks move, so the stored score is not served."""
    first = read(client, tenant_a, draft)
    add_incident(db=client.app.state.db, company_id=company, event_date=dt.date(2024, 3, 1))
    after = read(client, tenant_a, draft)
    assert after["score_id"] != first["score_id"]
    assert after["summary"]["evidence_risk_current"] > first["summary"]["evidence_risk_current"]


def test_the_first_read_of_a_later_day_computes_again(
    client, tenant_a, company, draft, engine_runs, monkeypatch
):
    recent = utcnow().date() - dt.timedelta(days=10)
    add_incident(
        client.app.state.db,
        company,
        event_date=recent,
        severity=2,
        source_class="media_report",
        affected_groups=(),
    )
    today = read(client, tenant_a, draft)
    runs = engine_runs.count
    read(client, tenant_a, draft)
    assert engine_runs.count == runs

    tomorrow = utcnow() + dt.timedelta(days=1)
    monkeypatch.setattr(service, "utcnow", lambda: tomorrow)
    next_day = read(client, tenant_a, draft)
    assert engine_runs.count == runs + 1
    read(client, tenant_a, draft)
    assert engine_runs.count == runs + 1

    # Recency decay moves the evidence risk as days pass: months later it is recorded anew.
    later = tomorrow + dt.timedelta(days=120)
    monkeypatch.setattr(service, "utcnow", lambda: later)
    decayed = read(client, tenant_a, draft)
    assert decayed["score_id"] not in (today["score_id"], next_day["score_id"])
    assert decayed["summary"]["as_of"] == later.date().isoformat()
    assert decayed["summary"]["evidence_risk_current"] < today["summary"]["evidence_risk_current"]


def test_a_score_as_of_a_past_date_is_computed_every_time(client, tenant_a, draft, engine_runs):
    read(client, tenant_a, draft)
    runs = engine_runs.count
    for _ in range(2):
        past = read(client, tenant_a, draft, as_of="2022-01-01")
        assert past["score_id"] is None and past["summary"]["as_of"] == "2022-01-01"
    assert engine_runs.count == runs + 2


def test_another_process_verifies_the_stored_score_once_and_stores_nothing_new(
    client, tenant_a, draft, engine_runs, monkeypatch
):
    """A process that never verified the score (a restart, another worker) computes it once:
    equal to the stored one, which it then serves."""
    first = read(client, tenant_a, draft)
    monkeypatch.setattr(freshness, "_verified", type(freshness._verified)(16))
    monkeypatch.setattr(freshness, "_results", type(freshness._results)(16))
    runs = engine_runs.count
    assert read(client, tenant_a, draft) == first
    assert read(client, tenant_a, draft) == first
    assert engine_runs.count == runs + 1


def test_the_portfolio_risk_of_an_unassessed_holding_follows_its_evidence(
    client, tenant_a, questionnaire, engine_runs
):
    company = client.post(
        f"{API}/companies",
        json={"name": "Example Listed Ltd", "isins": [ISIN]},
        headers=tenant_a.analyst,
    ).json()["id"]
    # A minor item: the company is scored on evidence alone, and well below a red flag.
    minor = client.post(
        f"{API}/evidence",
        json=recent_evidence_body(
            company, severity=1, affected_groups=[], company_role="directly_linked"
        ),
        headers=tenant_a.analyst,
    )
    assert minor.status_code == 201, minor.text
    portfolio = client.post(
        f"{API}/portfolios",
        json={"name": "Fresh", "base_currency": "EUR"},
        headers=tenant_a.investor,
    ).json()["id"]
    imported = client.post(
        f"{API}/portfolios/{portfolio}/holdings/import",
        files={"file": ("h.csv", f"isin,market_value\n{ISIN},1000\n".encode(), "text/csv")},
        headers=tenant_a.investor,
    )
    assert imported.status_code == 200, imported.text

    def risk() -> dict[str, Any]:
        response = client.get(f"{API}/portfolios/{portfolio}/risk", headers=tenant_a.investor)
        assert response.status_code == 200, response.text
        return response.json()["holdings"][0]

    before = risk()
    assert before["assessed"] and before["assessment_id"] is None
    runs = engine_runs.count
    assert risk() == before
    assert engine_runs.count == runs

    worse = client.post(
        f"{API}/evidence", json=recent_evidence_body(company), headers=tenant_a.analyst
    )
    assert worse.status_code == 201, worse.text
    after = risk()
    assert Decimal(str(after["overall"])) > Decimal(str(before["overall"]))
    assert [o["rule_id"] for o in after["overrides"]] == ["RF-HRD-TARGETING"]
