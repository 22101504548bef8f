"""A screening delisting ends the listing of its own record alone: a curated sanction of the
same list stays in force (and in the score), and the delisting names it for an analyst."""

from __future__ import annotations

import uuid

import pytest
from screening_helpers import csl_file, upload_file
from sqlalchemy import select

from hrdd.companies.models import Company
from hrdd.content import load_bundled_content
from hrdd.db import SYSTEM, TenantContext
from hrdd.scoring import service as scoring

SDN = "Specially Designated Nationals (SDN) - Treasury Department"
CURATED_SDN = ["intellexa-2024-03-ofac-sanctions", "intellexa-2024-09-ofac-sanctions"]


@pytest.fixture
def intellexa(db, settings, rules_loaded) -> str:
    """The bundled Intellexa Consortium, whose aliases include Intellexa S.A."""
    load_bundled_content(db, settings)
    with db.session(SYSTEM) as session:
        return str(session.scalars(select(Company.id).where(Company.slug == "intellexa")).one())


def sdn_file(*rows: tuple[str, str]) -> bytes:
    return csl_file(((key, name, SDN) for key, name in rows), "2026-10-02")


def evidence(client, tenant, company_id: str) -> list[dict]:
    response = client.get(
        f"/api/v1/companies/{company_id}/evidence",
        params={"order": "oldest", "limit": 100},
        headers=tenant.investor,
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def listing_flag(db, tenant, company_id: str) -> tuple[str, ...]:
    """The items the company's evidence-only score names for RF-LISTING (none: not fired)."""
    with db.session(TenantContext(tenant.organisation_id), write=True) as session:
        key = uuid.UUID(company_id)
        summary = scoring.current_scores(session, [key])[key]
    summary = summary if isinstance(summary, dict) else summary.model_dump(mode="json")
    fired = {o["rule_id"]: tuple(o["evidence_refs"]) for o in summary["overrides"]}
    return fired.get("RF-LISTING", ())


def test_a_screening_delisting_of_an_sdn_record_leaves_the_curated_sanction_in_force(
    client, db, tenant_a, intellexa
):
    other = ("sdn-other", "Unrelated Trading Name")
    first = upload_file(
        client, tenant_a.analyst, sdn_file(("sdn-intellexa", "Intellexa S.A."), other), "2026-11-03"
    )
    assert first["evidence_created"] == 1
    [screened] = [i for i in evidence(client, tenant_a, intellexa) if i["origin"] == "screening"]
    assert set(CURATED_SDN) | {screened["id"]} <= set(listing_flag(db, tenant_a, intellexa))

    gone = upload_file(client, tenant_a.analyst, sdn_file(other), "2026-11-05")
    assert gone["delistings_created"] == 1
    items = evidence(client, tenant_a, intellexa)
    [lifted] = [i for i in items if i["type"] == "sanction_lifted"]
    # It ends the screening listing it is about, and only that one.
    assert lifted["closes"] == [screened["id"]]
    flagged = listing_flag(db, tenant_a, intellexa)
    assert set(CURATED_SDN) <= set(flagged)
    assert screened["id"] not in flagged
    curated = {i["slug"]: i for i in items if i["slug"] in CURATED_SDN}
    assert {i["status"] for i in curated.values()} == {"ongoing"}
    # The curated entries of the same list stay in force, and the delisting says so.
    assert "This ends the listing of that record only." in lifted["summary"]
    assert "stay in force until their own end is recorded" in lifted["summary"]
    for item in curated.values():
        assert f"'{item['title']}' ({item['event_date']}, curated)" in lifted["summary"]


def test_a_curated_style_delisting_naming_no_item_still_ends_the_list(
    client, db, tenant_a, intellexa
):
    """An analyst's sanction_lifted that names the SDN list and no item in closes ends every
    earlier entry of that list, the screening listing and the curated sanctions alike."""
    upload_file(
        client, tenant_a.analyst, sdn_file(("sdn-intellexa", "Intellexa S.A.")), "2026-11-03"
    )
    [screened] = [i for i in evidence(client, tenant_a, intellexa) if i["origin"] == "screening"]
    before = listing_flag(db, tenant_a, intellexa)
    assert set(CURATED_SDN) <= set(before)
    assert screened["id"] in before
    response = client.post(
        "/api/v1/evidence",
        json={
            "company_id": intellexa,
            "event_date": "2026-11-10",
            "type": "sanction_lifted",
            "title": "OFAC lifts the sanctions",
            "severity": 1,
            "severity_rationale": "Records the end of a listing; no new harm.",
            "summary": "Recorded for the test: the list's own removal notice.",
            "company_role": "contributed",
            "role_rationale": "The same conduct as the listing.",
            "sources": [
                {
                    "publisher": "Treasury Department",
                    "title": "Removal notice",
                    "date": "2026-11-10",
                    "url": "https://example.org/removal-notice",
                    "source_class": "court_or_government_record",
                }
            ],
            "related_listing": {"list_name": SDN},
        },
        headers=tenant_a.analyst,
    )
    assert response.status_code == 201, response.text
    flagged = listing_flag(db, tenant_a, intellexa)
    assert not set(CURATED_SDN) & set(flagged)
    assert screened["id"] not in flagged


def test_rejecting_a_delisted_match_withdraws_its_delisting_and_its_listing(
    client, db, tenant_a, intellexa
):
    """The delisting names the listing in closes, and a closed item cannot be deleted while
    the item closing it lives: the rejection deletes the delisting first."""
    other = ("sdn-other", "Unrelated Trading Name")
    upload_file(
        client, tenant_a.analyst, sdn_file(("sdn-intellexa", "Intellexa S.A."), other), "2026-11-03"
    )
    upload_file(client, tenant_a.analyst, sdn_file(other), "2026-11-05")
    matches = client.get(
        "/api/v1/screening/matches", params={"status": "auto_confirmed"}, headers=tenant_a.analyst
    )
    [match] = [m for m in matches.json()["items"] if m["record_key"] == "sdn-intellexa"]
    rejected = client.post(
        f"/api/v1/screening/matches/{match['id']}/reject", headers=tenant_a.analyst
    )
    assert rejected.status_code == 200, rejected.text
    assert [i for i in evidence(client, tenant_a, intellexa) if i["origin"] == "screening"] == []
