"""Assessment scores over the API and the service contract: storing, history, as-of dates,
rescoring, current scores per company and the report detail."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from test_score_api_support import (
    NEWEST_DEFAULT,
    add_commitment,
    add_incident,
    answer_payloads,
    make_assessment,
    make_company,
    set_answer,
    stored_score_count,
)
from tests.scoring.ruleset_helpers import choose, publish

from hrdd.db import TenantContext, utcnow
from hrdd.scoring import service
from hrdd.vocab import AssessmentStatus, DisclosureLevel

RULESETS = "/api/v1/rulesets"


def score_url(assessment_id):
    return f"/api/v1/assessments/{assessment_id}/score"


def history(client, tenant, assessment_id):
    response = client.get(f"/api/v1/assessments/{assessment_id}/scores", headers=tenant.investor)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_score_is_stored_once_until_something_changes(client, db, tenant_a, questionnaire):
    company = make_company(db, "Example Interception Ltd")
    assessment = make_assessment(
        db, tenant_a.organisation_id, company, answer_payloads(questionnaire, DisclosureLevel.full)
    )
    first = client.get(score_url(assessment), headers=tenant_a.investor)
    assert first.status_code == 200, first.text
    body = first.json()
    contributions = sum(Decimal(str(c["points"])) for c in body["result"]["contributions"])
    assert contributions == Decimal(str(body["summary"]["overall"]))
    assert body["summary"]["trend"] is None
    assert body["summary"]["as_of"] == utcnow().date().isoformat()
    again = client.get(score_url(assessment), headers=tenant_a.investor).json()
    assert again["score_id"] == body["score_id"]
    assert len(history(client, tenant_a, assessment)) == 1

    set_answer(
        db, tenant_a.organisation_id, assessment, "EU1", {"type": "disclosure", "level": "no"}
    )
    changed = client.get(score_url(assessment), headers=tenant_a.investor).json()
    assert changed["score_id"] != body["score_id"]
    assert changed["summary"]["overall"] > body["summary"]["overall"]
    assert changed["summary"]["trend"] in ("up", "flat")
    items = history(client, tenant_a, assessment)
    assert [item["score_id"] for item in items] == [body["score_id"], changed["score_id"]]
    assert items[0]["diff"] is None
    diff_refs = {(entry["kind"], entry["ref"]) for entry in items[1]["diff"]["entries"]}
    assert ("answer", "EU1") in diff_refs
    assert ("inputs", "inputs") in diff_refs
    url = f"/api/v1/assessments/{assessment}/scores"
    page = client.get(url, params={"limit": 1}, headers=tenant_a.investor).json()
    rest = client.get(
        url, params={"limit": 1, "cursor": page["next_cursor"]}, headers=tenant_a.investor
    ).json()
    assert [i["score_id"] for i in page["items"] + rest["items"]] == [
        body["score_id"],
        changed["score_id"],
    ]
    assert rest["next_cursor"] is None


def test_as_of_a_past_date_ignores_later_evidence_and_is_not_stored(
    client, db, tenant_a, questionnaire
):
    company = make_company(db, "Example Spyware Ltd")
    assessment = make_assessment(
        db, tenant_a.organisation_id, company, answer_payloads(questionnaire, DisclosureLevel.full)
    )
    add_incident(db, company, event_date=dt.date(2021, 7, 18), severity=5)
    now = client.get(score_url(assessment), headers=tenant_a.investor).json()
    before = client.get(
        score_url(assessment), params={"as_of": "2021-01-01"}, headers=tenant_a.investor
    )
    assert before.status_code == 200, before.text
    past = before.json()
    assert past["score_id"] is None
    assert past["summary"]["as_of"] == "2021-01-01"
    assert past["summary"]["evidence_risk_current"] == 0
    assert past["summary"]["overrides"] == []
    assert now["summary"]["evidence_risk_current"] > 0
    assert [o["rule_id"] for o in now["summary"]["overrides"]] == ["RF-HRD-TARGETING"]
    just_after = client.get(
        score_url(assessment), params={"as_of": "2021-08-01"}, headers=tenant_a.investor
    ).json()
    # recency decay is computed at the as-of date: the same item weighs more when it is fresh
    assert just_after["summary"]["evidence_risk_current"] > now["summary"]["evidence_risk_current"]
    assert len(history(client, tenant_a, assessment)) == 1


def test_future_as_of_is_422(client, db, tenant_a, questionnaire):
    company = make_company(db, "Example Forensics Ltd")
    assessment = make_assessment(db, tenant_a.organisation_id, company, {})
    tomorrow = (utcnow().date() + dt.timedelta(days=1)).isoformat()
    response = client.get(
        score_url(assessment), params={"as_of": tomorrow}, headers=tenant_a.investor
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "query.as_of"
    bad = client.get(
        score_url(assessment), params={"as_of": "2024-13-01"}, headers=tenant_a.investor
    )
    assert bad.status_code == 422


@pytest.mark.parametrize("far", ["0001-01-01", "1899-12-31", "9999-12-31"])
def test_as_of_outside_the_accepted_dates_is_422_naming_it(
    client, db, tenant_a, questionnaire, far
):
    company = make_company(db, "Example Spyware Ltd")
    assessment = make_assessment(db, tenant_a.organisation_id, company, {})
    response = client.get(score_url(assessment), params={"as_of": far}, headers=tenant_a.investor)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["path"] == "query.as_of" and "1900-01-01 to 2100-12-31" in error["message"]
    assert stored_score_count(db, tenant_a.organisation_id) == 0
    earliest = client.get(
        score_url(assessment), params={"as_of": "1900-01-01"}, headers=tenant_a.investor
    )
    assert earliest.status_code == 200, earliest.text
    assert earliest.json()["summary"]["as_of"] == "1900-01-01"


def test_other_tenant_gets_404_for_scores(client, db, tenant_a, tenant_b, questionnaire):
    company = make_company(db, "Example DPI Ltd")
    assessment = make_assessment(db, tenant_a.organisation_id, company, {})
    assert client.get(score_url(assessment), headers=tenant_a.investor).status_code == 200
    assert client.get(score_url(assessment), headers=tenant_b.investor).status_code == 404
    scores = client.get(f"/api/v1/assessments/{assessment}/scores", headers=tenant_b.investor)
    assert scores.status_code == 404
    assert stored_score_count(db, tenant_b.organisation_id) == 0
    assert stored_score_count(db, tenant_a.organisation_id) == 1


def test_publishing_and_rolling_back_rescore_and_keep_history(client, db, tenant_a, questionnaire):
    company = make_company(db, "Example Vendor Ltd")
    answers = answer_payloads(questionnaire, DisclosureLevel.full)
    for question_id in ("GR1", "GR3", "GR4"):
        answers[question_id] = {"type": "disclosure", "level": "no_information"}
    assessment = make_assessment(db, tenant_a.organisation_id, company, answers)
    first = client.get(score_url(assessment), headers=tenant_a.investor).json()

    default_id = client.get(f"{RULESETS}/current", headers=tenant_a.investor).json()["version"][
        "id"
    ]
    created = client.post(f"{RULESETS}/{default_id}/drafts", headers=tenant_a.analyst)
    content = created.json()["content"]
    content["themes"]["grievance_remedy"]["weight"] = 80
    draft_id = created.json()["id"]
    saved = client.put(
        f"{RULESETS}/drafts/{draft_id}",
        json=content,
        headers={**tenant_a.analyst, "If-Match": created.headers["ETag"]},
    )
    assert saved.status_code == 200, saved.text
    published = publish(client, tenant_a.analyst, draft_id)
    assert published.status_code == 200, published.text

    items = history(client, tenant_a, assessment)
    assert len(items) == 2
    assert items[1]["ruleset_version_id"] == draft_id
    assert items[1]["summary"]["ruleset_version"] == NEWEST_DEFAULT + 1
    assert items[1]["summary"]["overall"] > first["summary"]["overall"]
    assert items[1]["reason"] == (
        f"rule set changed from default v{NEWEST_DEFAULT} (bundled) "
        f"to default v{NEWEST_DEFAULT + 1} (your organisation's)"
    )
    assert ("ruleset", "default") in {(e["kind"], e["ref"]) for e in items[1]["diff"]["entries"]}

    moved_to = items[1]["summary"]
    rolled_back = choose(client, tenant_a.analyst, default_id)
    assert rolled_back.status_code == 200
    # The rollback says what it did to the score the company stands on.
    assert rolled_back.json()["rescored"] == {
        "companies": 1,
        "band_changes": int(moved_to["band"] != first["summary"]["band"]),
        "action_changes": int(moved_to["action"] != first["summary"]["action"]),
        "risk_up": 0,
        "risk_down": 1,
        "moved": [
            {
                "company_id": str(company),
                "company_name": "Example Vendor Ltd",
                "old_overall": moved_to["overall"],
                "new_overall": first["summary"]["overall"],
                "old_band": moved_to["band"],
                "new_band": first["summary"]["band"],
                "old_action": moved_to["action"],
                "new_action": first["summary"]["action"],
            }
        ],
        "moved_count": 1,
    }
    # Reading the rules in use tells no rescore; choosing what is in use rescores nothing.
    assert client.get(f"{RULESETS}/current", headers=tenant_a.investor).json()["rescored"] is None
    again = choose(client, tenant_a.analyst, default_id)
    assert again.status_code == 200, again.text
    assert again.json()["rescored"] is None
    items = history(client, tenant_a, assessment)
    assert [i["ruleset_version_id"] for i in items] == [default_id, draft_id, default_id]
    assert items[2]["summary"]["overall"] == first["summary"]["overall"]
    assert items[2]["reason"] == (
        f"rule set rolled back from default v{NEWEST_DEFAULT + 1} (your organisation's) "
        f"to default v{NEWEST_DEFAULT} (bundled)"
    )


def test_current_scores_per_company(db, tenant_a, questionnaire):
    org = tenant_a.organisation_id
    assessed = make_company(db, "Assessed Ltd")
    evidence_only = make_company(db, "Listed Only Ltd")
    nothing = make_company(db, "Unknown Ltd")
    good = answer_payloads(questionnaire, DisclosureLevel.full)
    bad = answer_payloads(questionnaire, DisclosureLevel.no)
    earlier = utcnow() - dt.timedelta(days=30)
    final = make_assessment(db, org, assessed, good, AssessmentStatus.final, created_at=earlier)
    make_assessment(db, org, assessed, bad, AssessmentStatus.draft)
    add_incident(
        db,
        evidence_only,
        event_date=dt.date(2021, 11, 3),
        type="trade_restriction_listing",
        source_class="court_or_government_record",
        affected_groups=(),
        related_listing={"list_name": "Entity List"},
    )
    with db.session(TenantContext(org), write=True) as session:
        scores = service.current_scores(session, [assessed, evidence_only, nothing])
    assert set(scores) == {assessed, evidence_only}
    assert scores[assessed].assessment_id == final
    assert scores[assessed].commitment_score == 100
    listed = scores[evidence_only]
    assert listed.assessment_id is None
    assert (listed.commitment_score, listed.say_do_gap, listed.theme_scores) == (None, None, {})
    assert [o.rule_id for o in listed.overrides] == ["RF-LISTING"]
    assert listed.overall >= 75
    assert listed.band == "severe"
    count = stored_score_count(db, org)
    with db.session(TenantContext(org), write=True) as session:
        again = service.current_scores(session, [assessed, evidence_only])
    assert stored_score_count(db, org) == count
    assert again[assessed].computed_at == scores[assessed].computed_at


def test_rescore_companies_records_new_evidence(db, tenant_a, questionnaire):
    org = tenant_a.organisation_id
    company = make_company(db, "Example Rescored Ltd")
    assessment = make_assessment(
        db, org, company, answer_payloads(questionnaire, DisclosureLevel.full)
    )
    with db.session(TenantContext(org), write=True) as session:
        service.rescore_companies(session, [company])
    add_incident(db, company, event_date=dt.date(2024, 3, 1), severity=3, organisation_id=org)
    with db.session(TenantContext(org), write=True) as session:
        service.rescore_companies(session, [company])
        page = service.assessment_history(session, assessment, service_page())
    assert [item.reason for item in page.items] == ["evidence changed", "evidence changed"]
    first, second = page.items
    assert second.summary.evidence_risk_current > first.summary.evidence_risk_current
    # An item dated 2024 recorded now is the record catching up, not news since the last
    # score: no trend (see test_engine_cases for news after it).
    assert second.summary.trend == "flat"
    assert "evidence about that time was added or corrected" in second.summary.action_reason
    assert second.diff is not None


def service_page():
    from hrdd.http import PageParams

    return PageParams(limit=50, cursor=None)


def test_score_detail_for_the_report(db, tenant_a, questionnaire):
    org = tenant_a.organisation_id
    company = make_company(db, "Example Detail Ltd")
    assessment = make_assessment(
        db, org, company, answer_payloads(questionnaire, DisclosureLevel.full)
    )
    # a minor item, so the contradicted commitment (policy gap) drives the score
    incident = add_incident(
        db,
        company,
        event_date=dt.date(2022, 2, 10),
        severity=1,
        source_class="media_report",
        affected_groups=(),
    )
    add_commitment(
        db,
        company,
        on=dt.date(2020, 5, 1),
        question_ids=["EU1", "EU2"],
        fulfilment="contradicted",
        contradicted_by=[incident],
        precision="month",
    )
    with db.session(TenantContext(org), write=True) as session:
        detail = service.score_detail(session, assessment)
        before = service.score_detail(session, assessment, dt.date(2021, 6, 1))
    assert detail.score_id is not None and before.score_id is None
    assert sum(c.points for c in detail.result.contributions) == detail.result.overall
    dates = [day for day, _ in detail.evidence_series]
    assert dates == sorted(dates)
    assert dates[0] == dt.date(2022, 2, 10) and dates[-1] == detail.summary.as_of
    assert detail.evidence_series[-1][1] == detail.summary.evidence_risk_current
    assert max(value for _, value in detail.evidence_series) >= detail.evidence_series[-1][1]
    [row] = detail.say_do
    assert (row.fulfilment, row.fulfilment_as_of) == ("contradicted", "contradicted")
    assert row.contradicted_by == [str(incident)]
    assert row.themes == ["end_user_controls"]
    assert row.risk_points > 0
    # known to the month: reports print 2020-05, not 2020-05-01
    assert (row.date, row.date_precision) == (dt.date(2020, 5, 1), "month")
    [early] = before.say_do
    assert early.fulfilment_as_of == "self_reported"
    assert [e.in_effect for e in before.evidence] == [False]
    titles = [section.title for section in detail.methodology.sections]
    assert "Themes and weights" in titles and "Red flags" in titles
    themes = detail.methodology.sections[titles.index("Themes and weights")]
    # named as the questionnaire names them, as the report's theme table does
    assert {e.label for e in themes.entries} == {t.title for t in questionnaire.themes if t.scored}
    assert detail.summary.say_do_gap > 0


def test_history_records_changes_not_the_passing_of_time(
    client, db, tenant_a, questionnaire, monkeypatch
):
    company = make_company(db, "Example Steady Ltd")
    assessment = make_assessment(
        db, tenant_a.organisation_id, company, answer_payloads(questionnaire, DisclosureLevel.full)
    )
    first = client.get(score_url(assessment), headers=tenant_a.investor).json()
    later = utcnow() + dt.timedelta(days=40)
    monkeypatch.setattr(service, "utcnow", lambda: later)
    steady = client.get(score_url(assessment), headers=tenant_a.investor).json()
    assert steady["score_id"] == first["score_id"]
    assert steady["summary"]["as_of"] == first["summary"]["as_of"]

    # with a recent evidence item, time alone moves the score (recency decay): recorded too
    add_incident(
        db,
        company,
        event_date=later.date() - dt.timedelta(days=10),
        severity=2,
        source_class="media_report",
        affected_groups=(),
    )
    with_item = client.get(score_url(assessment), headers=tenant_a.investor).json()
    assert with_item["score_id"] != first["score_id"]
    months_later = later + dt.timedelta(days=120)
    monkeypatch.setattr(service, "utcnow", lambda: months_later)
    decayed = client.get(score_url(assessment), headers=tenant_a.investor).json()
    assert decayed["score_id"] != with_item["score_id"]
    assert decayed["summary"]["overall"] < with_item["summary"]["overall"]
    assert decayed["summary"]["as_of"] == months_later.date().isoformat()
    assert len(history(client, tenant_a, assessment)) == 3


def test_shared_evidence_change_rescores_every_holder(db, tenant_a, tenant_b, questionnaire):
    company = make_company(db, "Example Shared Ltd")
    bystander = make_company(db, "Example Bystander Ltd")
    for subject in (company, bystander):
        add_incident(db, subject, event_date=dt.date(2020, 3, 1), severity=3, affected_groups=())
    make_assessment(
        db,
        tenant_a.organisation_id,
        company,
        answer_payloads(questionnaire, DisclosureLevel.partial),
    )
    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        service.current_scores(session, [company])
    with db.session(TenantContext(tenant_b.organisation_id), write=True) as session:
        held = service.current_scores(session, [company])[company]
    assert held.assessment_id is None
    counts = [stored_score_count(db, t.organisation_id) for t in (tenant_a, tenant_b)]
    assert counts == [1, 1]

    # forensically confirmed targeting of journalists: the red flag lifts the score
    add_incident(db, company, event_date=dt.date(2024, 9, 1), severity=5)
    assert service.rescore_everywhere(db, [company, bystander]) == 2
    assert [stored_score_count(db, t.organisation_id) for t in (tenant_a, tenant_b)] == [2, 2]
    with db.session(TenantContext(tenant_b.organisation_id), write=True) as session:
        after = service.current_scores(session, [company])[company]
        # the bystander was never looked at by tenant_b: no score was made for it
        service.rescore_companies(session, [bystander])
    assert after.evidence_risk_current > held.evidence_risk_current
    assert after.overall > held.overall
    assert after.trend == "flat"  # dated 2024: the record caught up, nothing new since
    assert stored_score_count(db, tenant_b.organisation_id) == 2


def test_private_evidence_and_commitments_count_for_their_organisation_only(
    db, tenant_a, tenant_b, questionnaire
):
    """Scoring sees what the caller's organisation sees of a company: the shared items and its
    own private ones, never another organisation's, in an assessment's score and in the
    evidence-only score of a company it has not assessed."""
    assessed = make_company(db, "Example Private Findings Ltd")
    unassessed = make_company(db, "Example Unassessed Ltd")
    good = answer_payloads(questionnaire, DisclosureLevel.full)
    assessments = {
        tenant.organisation_id: make_assessment(db, tenant.organisation_id, assessed, good)
        for tenant in (tenant_a, tenant_b)
    }
    org_b = tenant_b.organisation_id
    incident = add_incident(db, assessed, event_date=dt.date(2022, 2, 10), organisation_id=org_b)
    add_incident(db, unassessed, event_date=dt.date(2022, 2, 10), organisation_id=org_b)
    commitment = add_commitment(
        db,
        assessed,
        on=dt.date(2020, 5, 1),
        question_ids=["EU1", "EU2"],
        fulfilment="contradicted",
        contradicted_by=[incident],
        organisation_id=org_b,
    )

    def scored(tenant):
        with db.session(TenantContext(tenant.organisation_id), write=True) as session:
            detail = service.score_detail(session, assessments[tenant.organisation_id])
            current = service.current_scores(session, [assessed, unassessed])
        return detail, current

    own, own_current = scored(tenant_b)
    assert [item.id for item in own.evidence] == [incident]
    assert [row.id for row in own.say_do] == [commitment]
    assert own.summary.evidence_risk_current > 0 and own.summary.say_do_gap > 0
    assert set(own_current) == {assessed, unassessed}

    other, other_current = scored(tenant_a)
    assert (other.evidence, other.say_do) == ([], [])
    assert other.summary.evidence_risk_current == 0
    assert not other.summary.say_do_gap
    assert other.summary.overall < own.summary.overall
    assert set(other_current) == {assessed}


def test_a_rollback_within_one_series_is_read_from_the_numbers():
    """The reviewer: bundled files loaded at once are stamped in file-name order (default-v10
    before default-v2), so publication times said v10 to v9 was a change and v9 to v10 a
    rollback. Within one series (key and owner) the numbers decide."""
    from hrdd.scoring.models import RuleSetVersion

    loaded = utcnow()

    def bundled(version: int, seconds: int) -> RuleSetVersion:
        return RuleSetVersion(
            key="default",
            version=version,
            title="Default",
            status="published",
            content={},
            content_hash="x",
            created_by_name="bundled",
            published_at=loaded + dt.timedelta(seconds=seconds),
        )

    v9, v10 = bundled(9, seconds=1), bundled(10, seconds=0)
    assert service._choice_reason(v10, v9) == (
        "rule set rolled back from default v10 (bundled) to default v9 (bundled)"
    )
    assert service._choice_reason(v9, v10).startswith("rule set changed from default v9")
