"""Commitments through the API: contradicted_by validation, soft delete, tenancy, bundled."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hrdd.companies.models import Company
from hrdd.db import SYSTEM
from hrdd.evidence.service import load_bundled_evidence
from hrdd.questionnaires import service as questionnaires
from hrdd.scoring import service as scoring

# If-Match: * deletes whatever version is current.
ANY_VERSION = {"If-Match": "*"}


def _evidence(client, headers, body) -> str:
    response = client.post("/api/v1/evidence", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _create(client, headers, body):
    return client.post("/api/v1/commitments", json=body, headers=headers)


def _errors(response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {error["path"]: error["message"] for error in response.json()["errors"]}


def test_contradicted_commitment_links_evidence_of_the_same_company(
    client, tenant_a, company_id, evidence_body, commitment_body
):
    evidence_id = _evidence(client, tenant_a.analyst, evidence_body(company_id))
    body = commitment_body(company_id, fulfilment="contradicted", contradicted_by=[evidence_id])
    assert _create(client, tenant_a.investor, body).status_code == 403
    created = _create(client, tenant_a.analyst, body)
    assert created.status_code == 201, created.text
    commitment = created.json()
    assert commitment["contradicted_by"] == [evidence_id]
    assert (commitment["origin"], commitment["shared"]) == ("analyst", False)
    listed = client.get(f"/api/v1/companies/{company_id}/commitments", headers=tenant_a.investor)
    assert [c["id"] for c in listed.json()["items"]] == [commitment["id"]]


def test_contradicted_by_must_name_visible_live_items_of_the_same_company(
    client, tenant_a, tenant_b, company_id, other_company_id, evidence_body, commitment_body
):
    elsewhere = _evidence(client, tenant_a.analyst, evidence_body(other_company_id))
    foreign = _evidence(client, tenant_b.analyst, evidence_body(company_id))
    deleted = _evidence(client, tenant_a.analyst, evidence_body(company_id))
    removed = client.delete(f"/api/v1/evidence/{deleted}", headers=tenant_a.analyst | ANY_VERSION)
    assert removed.status_code == 204
    missing = "8d3c4c55-43c7-4d2f-9d69-0a6f9b8f1a77"
    body = commitment_body(
        company_id,
        fulfilment="contradicted",
        contradicted_by=[elsewhere, foreign, deleted, missing],
    )
    errors = _errors(_create(client, tenant_a.analyst, body))
    assert "another company" in errors["contradicted_by.0"]
    # tenant_b's private item does not exist as far as tenant_a can tell.
    assert errors["contradicted_by.1"] == f"no evidence item {foreign}"
    assert "deleted" in errors["contradicted_by.2"]
    assert errors["contradicted_by.3"] == f"no evidence item {missing}"


def test_fulfilment_and_contradicted_by_must_agree(
    client, tenant_a, company_id, evidence_body, commitment_body
):
    evidence_id = _evidence(client, tenant_a.analyst, evidence_body(company_id))
    unlinked = commitment_body(company_id, fulfilment="contradicted")
    assert "contradicted_by" in _errors(_create(client, tenant_a.analyst, unlinked))
    linked = commitment_body(company_id, fulfilment="verified", contradicted_by=[evidence_id])
    assert "fulfilment" in _errors(_create(client, tenant_a.analyst, linked))
    unknown_question = commitment_body(company_id, question_ids=["ZZ9"])
    assert "question_ids.0" in _errors(_create(client, tenant_a.analyst, unknown_question))
    # Verified on nothing but the claim itself: it would restore the answers' points.
    unverified = commitment_body(company_id, fulfilment="verified", fulfilment_sources=[])
    errors = _errors(_create(client, tenant_a.analyst, unverified))
    assert errors["fulfilment_sources"] == (
        "name the sources that verify it when fulfilment is 'verified'"
    )


@pytest.fixture
def bundled_rules(db, settings) -> None:
    questionnaires.load_bundled_questionnaires(db, settings)
    scoring.load_bundled_rulesets(db, settings)


def test_a_question_named_twice_is_refused_at_the_repeat(
    client, tenant_a, company_id, commitment_body
):
    body = commitment_body(company_id, question_ids=["DD3", "P1", "DD3"])
    errors = _errors(_create(client, tenant_a.analyst, body))
    assert errors == {"question_ids.2": "repeats DD3 (question_ids.0)"}
    listing = f"/api/v1/companies/{company_id}/commitments"
    assert client.get(listing, headers=tenant_a.analyst).json()["items"] == []


@pytest.mark.parametrize(
    ("question_ids", "path", "reason"),
    [
        (["IN1"], "question_ids.0", "its theme 'Investor position' carries no score"),
        (["DD3", "EX1"], "question_ids.1", "its theme 'Exposure' carries no score"),
        (["P3"], "question_ids.0", "text questions carry no score"),
        (["GR2"], "question_ids.0", "has no number rule for it"),
    ],
)
def test_questions_the_rule_set_does_not_score_are_refused(
    client, tenant_a, company_id, commitment_body, bundled_rules, question_ids, path, reason
):
    body = commitment_body(company_id, question_ids=question_ids)
    errors = _errors(_create(client, tenant_a.analyst, body))
    assert list(errors) == [path]
    assert reason in errors[path], errors
    listing = f"/api/v1/companies/{company_id}/commitments"
    assert client.get(listing, headers=tenant_a.analyst).json()["items"] == []


def test_a_replace_is_checked_like_a_create(
    client, tenant_a, company_id, commitment_body, bundled_rules
):
    # A number question counts where the rule set has a number rule for it (DD6 has one).
    created = _create(client, tenant_a.analyst, commitment_body(company_id, question_ids=["DD6"]))
    assert created.status_code == 201, created.text
    url = f"/api/v1/commitments/{created.json()['id']}"
    headers = tenant_a.analyst | {"If-Match": created.headers["etag"]}
    for question_ids, path in ((["IN1"], "question_ids.0"), (["DD6", "DD6"], "question_ids.1")):
        body = commitment_body(company_id, question_ids=question_ids)
        del body["company_id"]
        assert path in _errors(client.put(url, json=body, headers=headers))
    kept = client.get(url, headers=tenant_a.analyst).json()
    assert (kept["question_ids"], kept["version"]) == (["DD6"], 1)


def test_cited_evidence_cannot_be_deleted_until_the_commitment_changes(
    client, tenant_a, company_id, evidence_body, commitment_body
):
    evidence_id = _evidence(client, tenant_a.analyst, evidence_body(company_id))
    body = commitment_body(company_id, fulfilment="contradicted", contradicted_by=[evidence_id])
    created = _create(client, tenant_a.analyst, body)
    evidence_url = f"/api/v1/evidence/{evidence_id}"
    cited = client.delete(evidence_url, headers=tenant_a.analyst | ANY_VERSION)
    assert cited.status_code == 409

    url = f"/api/v1/commitments/{created.json()['id']}"
    replacement = commitment_body(company_id, fulfilment="not_implemented")
    del replacement["company_id"]
    assert client.put(url, json=replacement, headers=tenant_a.analyst).status_code == 428
    replaced = client.put(
        url, json=replacement, headers=tenant_a.analyst | {"If-Match": created.headers["etag"]}
    )
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["contradicted_by"], replaced.json()["version"]) == ([], 2)
    assert client.delete(evidence_url, headers=tenant_a.analyst | ANY_VERSION).status_code == 204

    history = client.get(f"{url}/history", headers=tenant_a.analyst).json()["items"]
    assert {e["field"] for e in history if e["action"] == "updated"} == {
        "fulfilment",
        "contradicted_by",
    }


def test_delete_needs_the_current_etag(client, tenant_a, company_id, commitment_body):
    created = _create(client, tenant_a.analyst, commitment_body(company_id))
    url = f"/api/v1/commitments/{created.json()['id']}"
    missing = client.delete(url, headers=tenant_a.analyst)
    assert missing.status_code == 428
    assert missing.json()["type"] == "/problems/precondition-required"
    body = commitment_body(company_id, fulfilment="verified")
    del body["company_id"]
    etag = created.headers["etag"]
    replaced = client.put(url, json=body, headers=tenant_a.analyst | {"If-Match": etag})
    assert replaced.status_code == 200, replaced.text
    assert client.delete(url, headers=tenant_a.analyst | {"If-Match": etag}).status_code == 412
    # Neither refusal deleted anything.
    kept = client.get(url, headers=tenant_a.investor)
    assert (kept.status_code, kept.json()["version"]) == (200, 2)
    current = tenant_a.analyst | {"If-Match": replaced.headers["etag"]}
    assert client.delete(url, headers=current).status_code == 204


def test_soft_delete_and_tenant_visibility(client, tenant_a, tenant_b, company_id, commitment_body):
    response = _create(client, tenant_a.analyst, commitment_body(company_id))
    created = response.json()
    url = f"/api/v1/commitments/{created['id']}"
    listing = f"/api/v1/companies/{company_id}/commitments"
    assert client.get(listing, headers=tenant_b.investor).json()["items"] == []
    assert client.get(url, headers=tenant_b.investor).status_code == 404
    assert client.delete(url, headers=tenant_b.analyst | ANY_VERSION).status_code == 404

    current = {"If-Match": response.headers["etag"]}
    assert client.delete(url, headers=tenant_a.analyst | current).status_code == 204
    assert client.get(listing, headers=tenant_a.investor).json()["items"] == []
    assert client.get(url, headers=tenant_a.investor).status_code == 404
    with_deleted = client.get(listing, params={"include_deleted": True}, headers=tenant_a.analyst)
    assert [c["id"] for c in with_deleted.json()["items"]] == [created["id"]]
    actions = [
        e["action"] for e in client.get(f"{url}/history", headers=tenant_a.analyst).json()["items"]
    ]
    assert actions == ["created", "deleted"]


def test_bundled_commitments_are_shared_and_read_only(
    db, settings, client, tenant_a, tenant_b, example_dataset, write_dataset, commitment_body
):
    settings.evidence_dir = write_dataset(example_dataset)
    load_bundled_evidence(db, settings)
    with db.session(SYSTEM) as session:
        company_id = str(
            session.scalar(select(Company.id).where(Company.slug == "example-spyware"))
        )
    listing = f"/api/v1/companies/{company_id}/commitments"
    for tenant in (tenant_a, tenant_b):
        items = client.get(listing, headers=tenant.investor).json()["items"]
        assert [(c["slug"], c["shared"], c["fulfilment"]) for c in items] == [
            ("example-2019-policy", True, "contradicted")
        ]
    bundled = client.get(listing, headers=tenant_a.analyst).json()["items"][0]
    url = f"/api/v1/commitments/{bundled['id']}"
    body = commitment_body(company_id)
    del body["company_id"]
    assert (
        client.put(url, json=body, headers=tenant_a.analyst | {"If-Match": "*"}).status_code == 403
    )
    assert client.delete(url, headers=tenant_a.analyst).status_code == 403

    # An organisation's own commitment may cite bundled evidence; the other one never sees it.
    timeline = client.get(f"/api/v1/companies/{company_id}/evidence", headers=tenant_a.analyst)
    bundled_evidence = timeline.json()["items"][0]["id"]
    private = commitment_body(
        company_id, fulfilment="contradicted", contradicted_by=[bundled_evidence]
    )
    assert _create(client, tenant_a.analyst, private).status_code == 201
    assert len(client.get(listing, headers=tenant_a.investor).json()["items"]) == 2
    assert len(client.get(listing, headers=tenant_b.investor).json()["items"]) == 1
