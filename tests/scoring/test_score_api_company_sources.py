"""Through the API: an answer citing only the company's own pages (on its website, or marked
`source: company`) counts as a self-reported claim; one independent source restores it."""

from __future__ import annotations

from test_score_api_support import answer_payloads, make_assessment, make_company
from tests.scoring.ruleset_helpers import choose

from hrdd.companies.models import Company
from hrdd.db import SYSTEM
from hrdd.vocab import AssessmentStatus, DisclosureLevel

WEBSITE = "https://www.vendor.example"
POLICY_PAGE = {"title": "Human rights policy", "url": "https://www.vendor.example/human-rights"}
LAB_REPORT = {
    "title": "Forensic review",
    "url": "https://lab.example.org/review",
    "publisher": "Lab",
}


def vendor(db) -> str:
    company_id = make_company(db, "Vendor Ltd")
    with db.session(SYSTEM, write=True) as session:
        session.get(Company, company_id).website = WEBSITE
    return company_id


def answered_draft(db, tenant, questionnaire) -> tuple[str, str]:
    """A vendor with a website and a draft answering every scored question at best."""
    company = vendor(db)
    answers = answer_payloads(questionnaire, DisclosureLevel.full)
    draft = make_assessment(
        db, tenant.organisation_id, company, answers, status=AssessmentStatus.draft
    )
    return company, draft


def put_p1(client, tenant, assessment_id, evidence: list[dict]):
    url = f"/api/v1/assessments/{assessment_id}"
    etag = client.get(url, headers=tenant.investor).headers["ETag"]
    return client.put(
        f"{url}/answers/P1",
        json={"type": "disclosure", "level": "full", "evidence": evidence},
        headers={**tenant.investor, "If-Match": etag},
    )


def scored(client, tenant, assessment_id) -> tuple[dict, dict | None]:
    """The score (summary and result), and the contribution of P1 if it has one."""
    response = client.get(f"/api/v1/assessments/{assessment_id}/score", headers=tenant.investor)
    assert response.status_code == 200, response.text
    body = response.json()
    p1 = [c for c in body["result"]["contributions"] if c["ref"] == "P1"]
    return body, (p1[0] if p1 else None)


def test_the_companys_own_pages_count_half_and_an_independent_source_restores_it(
    client, db, tenant_a, questionnaire
):
    _, draft = answered_draft(db, tenant_a, questionnaire)

    assert put_p1(client, tenant_a, draft, [POLICY_PAGE]).status_code == 200
    score, p1 = scored(client, tenant_a, draft)
    on_its_site = score["summary"]
    assert p1 is not None and "company's own" in p1["reason"]
    assert on_its_site["say_do_gap"] > 0
    assert score["result"]["company_sourced_answers"] == ["P1"]

    assert put_p1(client, tenant_a, draft, [POLICY_PAGE, LAB_REPORT]).status_code == 200
    score, p1 = scored(client, tenant_a, draft)
    corroborated = score["summary"]
    assert p1 is None or "company's own" not in p1["reason"]
    assert corroborated["say_do_gap"] < on_its_site["say_do_gap"]
    assert corroborated["overall"] <= on_its_site["overall"]
    assert score["result"]["company_sourced_answers"] == []

    # A reply the company sent the investor is its own word, wherever it is stored.
    letter = {**LAB_REPORT, "title": "Reply to our letter", "source": "company"}
    assert put_p1(client, tenant_a, draft, [letter]).status_code == 200
    score, p1 = scored(client, tenant_a, draft)
    assert p1 is not None and "company's own" in p1["reason"]
    assert score["summary"]["say_do_gap"] == on_its_site["say_do_gap"]


def test_an_unknown_source_kind_is_refused_where_it_was_given(client, db, tenant_a, questionnaire):
    company = vendor(db)
    draft = make_assessment(
        db, tenant_a.organisation_id, company, {}, status=AssessmentStatus.draft
    )
    refused = put_p1(client, tenant_a, draft, [{**POLICY_PAGE, "source": "the company, mostly"}])
    assert refused.status_code == 422, refused.text
    # A PUT's body is the answer: the path names its field as it is.
    assert [error["path"] for error in refused.json()["errors"]] == ["evidence[0].source"]


def test_under_rules_that_do_not_weigh_sources_the_inputs_hash_is_unchanged(
    client, db, tenant_a, questionnaire
):
    """Scores stored under v1 before sources were weighed must not read as "answers changed"
    afterwards: under v1 whose sources an answer cites is no input at all."""
    _, draft = answered_draft(db, tenant_a, questionnaire)

    def inputs_hash(evidence: list[dict]) -> str:
        assert put_p1(client, tenant_a, draft, evidence).status_code == 200
        return scored(client, tenant_a, draft)[0]["summary"]["inputs_hash"]

    # Under v2 (the default) the company's own page is an input the lab report is not.
    assert inputs_hash([POLICY_PAGE]) != inputs_hash([LAB_REPORT])

    listed = client.get("/api/v1/rulesets", headers=tenant_a.investor).json()["items"]
    [v1] = [item["id"] for item in listed if item["version"] == 1 and item["shared"]]
    chosen = choose(client, tenant_a.analyst, v1)
    assert chosen.status_code == 200, chosen.text
    lab = inputs_hash([LAB_REPORT])
    assert inputs_hash([POLICY_PAGE]) == lab
    assert inputs_hash([{**LAB_REPORT, "source": "company"}]) == lab


def test_a_new_website_rescores_answers_that_cite_the_old_or_the_new_one(
    client, db, tenant_a, questionnaire
):
    company, draft = answered_draft(db, tenant_a, questionnaire)
    assert put_p1(client, tenant_a, draft, [POLICY_PAGE]).status_code == 200
    before, _ = scored(client, tenant_a, draft)
    with db.session(SYSTEM, write=True) as session:
        session.get(Company, company).website = "https://another.example"
    after, p1 = scored(client, tenant_a, draft)
    assert after["summary"]["say_do_gap"] < before["summary"]["say_do_gap"]
    assert p1 is None or "company's own" not in p1["reason"]


def test_an_archived_address_that_does_not_parse_never_breaks_a_score(
    client, db, tenant_a, questionnaire
):
    """The answer's own URL is valid (web.archive.org); the address inside it is not."""
    _, draft = answered_draft(db, tenant_a, questionnaire)
    odd = {"title": "Archived page", "url": "https://web.archive.org/web/2020/https://[::1/x"}
    assert put_p1(client, tenant_a, draft, [odd]).status_code == 200
    score, _ = scored(client, tenant_a, draft)
    assert score["result"]["company_sourced_answers"] == []
    report = client.get(f"/api/v1/assessments/{draft}/report.pdf", headers=tenant_a.investor)
    assert report.status_code == 200, report.text
