"""`closes`: a remediation (or lifted listing) names the items whose harm it ends, through the
API by id and in the curated files by slug."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import inspect, select
from tests.conftest import drop_database, fresh_database_url

from hrdd import migrations_info
from hrdd.companies.models import Company
from hrdd.db import SYSTEM, Database, make_engine
from hrdd.errors import Invalid
from hrdd.evidence.models import EvidenceItem
from hrdd.evidence.service import load_bundled_evidence

EVIDENCE = "/api/v1/evidence"


def _create(client, headers, body) -> dict:
    response = client.post(EVIDENCE, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json() | {"etag": response.headers["etag"]}


def _remediation(evidence_body, company_id: str, closes: list[str], **overrides) -> dict:
    return evidence_body(
        company_id,
        event_date="2023-03-01",
        published_date="2023-03-01",
        type="remediation",
        title="The company cut the customer off",
        summary="The company stopped the customer that targeted the reporter from using it.",
        severity=1,
        closes=closes,
        **overrides,
    )


SANCTIONS_LIST = {"list_name": "Example sanctions list"}


def _sanction(evidence_body, company_id: str) -> dict:
    return evidence_body(company_id, type="sanction", severity=3, related_listing=SANCTIONS_LIST)


def _sanction_lifted(evidence_body, company_id: str, closes: list[str]) -> dict:
    return evidence_body(
        company_id,
        type="sanction_lifted",
        event_date="2022-01-03",
        published_date="2022-01-03",
        severity=1,
        related_listing=SANCTIONS_LIST,
        closes=closes,
    )


def _without_company(body: dict) -> dict:
    return {key: value for key, value in body.items() if key != "company_id"}


def _errors(response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {error["path"]: error["message"] for error in response.json()["errors"]}


def test_a_remediation_records_the_items_it_closes(client, tenant_a, company_id, evidence_body):
    harm = _create(client, tenant_a.analyst, evidence_body(company_id))
    fix = _create(client, tenant_a.analyst, _remediation(evidence_body, company_id, [harm["id"]]))
    assert fix["closes"] == [harm["id"]]
    read = client.get(f"{EVIDENCE}/{fix['id']}", headers=tenant_a.investor).json()
    assert read["closes"] == [harm["id"]]
    assert harm["closes"] == []

    put = client.put(
        f"{EVIDENCE}/{fix['id']}",
        json=_without_company(_remediation(evidence_body, company_id, [])),
        headers=tenant_a.analyst | {"If-Match": fix["etag"]},
    )
    assert put.status_code == 200, put.text
    assert put.json()["closes"] == []
    events = client.get(f"{EVIDENCE}/{fix['id']}/history", headers=tenant_a.analyst).json()
    changes = {e["field"]: e for e in events["items"] if e["action"] == "updated"}
    assert (changes["closes"]["old_value"], changes["closes"]["new_value"]) == ([harm["id"]], [])


def test_closes_must_name_distinct_visible_live_items_of_the_same_company(
    client, tenant_a, tenant_b, company_id, other_company_id, evidence_body
):
    harm = _create(client, tenant_a.analyst, evidence_body(company_id))["id"]
    elsewhere = _create(client, tenant_a.analyst, evidence_body(other_company_id))["id"]
    foreign = _create(client, tenant_b.analyst, evidence_body(company_id))["id"]
    gone = _create(client, tenant_a.analyst, evidence_body(company_id))
    deleted = client.delete(
        f"{EVIDENCE}/{gone['id']}", headers=tenant_a.analyst | {"If-Match": gone["etag"]}
    )
    assert deleted.status_code == 204
    missing = str(uuid.uuid4())
    before = client.get(f"/api/v1/companies/{company_id}/evidence", headers=tenant_a.analyst)

    body = _remediation(
        evidence_body, company_id, [harm, elsewhere, foreign, gone["id"], missing, harm]
    )
    errors = _errors(client.post(EVIDENCE, json=body, headers=tenant_a.analyst))
    assert "closes.0" not in errors
    assert "another company" in errors["closes.1"]
    # Another organisation's item is as unknown as one that never existed.
    assert errors["closes.2"] == f"no evidence item {foreign}"
    assert "deleted" in errors["closes.3"]
    assert errors["closes.4"] == f"no evidence item {missing}"
    assert errors["closes.5"] == f"repeats {harm} (closes.0)"
    after = client.get(f"/api/v1/companies/{company_id}/evidence", headers=tenant_a.analyst)
    assert after.json()["items"] == before.json()["items"]


@pytest.mark.parametrize("kind", ["forensic_finding", "company_statement", "sanction"])
def test_only_items_that_end_harm_may_close(client, tenant_a, company_id, evidence_body, kind):
    harm = _create(client, tenant_a.analyst, evidence_body(company_id))["id"]
    body = evidence_body(company_id, type=kind, closes=[harm])
    if kind == "sanction":
        body["related_listing"] = SANCTIONS_LIST
    errors = _errors(client.post(EVIDENCE, json=body, headers=tenant_a.analyst))
    assert kind in errors["closes"]


def test_a_closing_item_closes_only_its_own_kind_and_nothing_that_came_after_it(
    client, tenant_a, company_id, evidence_body
):
    """The end of a listing cannot clear documented harm (a delisting that named four forensic
    findings lifted the targeting red flag), a remedy does not end a listing, nothing closes
    another closing item, and a remedy dated before the harm would count it remedied from the
    day it happened. Nothing is saved."""
    harm = _create(client, tenant_a.analyst, evidence_body(company_id))["id"]
    sanction = _create(client, tenant_a.analyst, _sanction(evidence_body, company_id))["id"]
    fix = _create(client, tenant_a.analyst, _remediation(evidence_body, company_id, [harm]))["id"]
    before = client.get(f"/api/v1/companies/{company_id}/evidence", headers=tenant_a.analyst)

    lifted = _sanction_lifted(evidence_body, company_id, [harm, fix])
    errors = _errors(client.post(EVIDENCE, json=lifted, headers=tenant_a.analyst))
    assert errors["closes.0"] == (
        f"{harm} is a forensic_finding; a sanction_lifted ends a sanction only (record what "
        "remedies harm as a remediation)"
    )
    assert "is a remediation itself" in errors["closes.1"]
    delisting = lifted | {"type": "delisting", "closes": [sanction]}
    errors = _errors(client.post(EVIDENCE, json=delisting, headers=tenant_a.analyst))
    assert "a delisting ends a trade_restriction_listing only" in errors["closes.0"]

    remedy_of_listing = _remediation(evidence_body, company_id, [sanction])
    errors = _errors(client.post(EVIDENCE, json=remedy_of_listing, headers=tenant_a.analyst))
    assert "a remediation closes harm, not a list entry" in errors["closes.0"]
    too_early = _remediation(evidence_body, company_id, [harm]) | {
        "event_date": "2020-05-01",
        "published_date": "2020-05-01",
        "event_date_precision": "month",
    }
    errors = _errors(client.post(EVIDENCE, json=too_early, headers=tenant_a.analyst))
    assert errors["closes.0"] == (
        f"{harm} happened on 2020-06-01, after this item's 2020-05: nothing closes what had "
        "not happened"
    )
    after = client.get(f"/api/v1/companies/{company_id}/evidence", headers=tenant_a.analyst)
    assert after.json()["items"] == before.json()["items"]


def test_delisting_and_sanction_lifted_may_close_their_listing(
    client, tenant_a, company_id, evidence_body
):
    sanction = _create(client, tenant_a.analyst, _sanction(evidence_body, company_id))["id"]
    body = _sanction_lifted(evidence_body, company_id, [sanction])
    assert _create(client, tenant_a.analyst, body)["closes"] == [sanction]


def test_an_item_cannot_close_itself(client, tenant_a, company_id, evidence_body):
    harm = _create(client, tenant_a.analyst, evidence_body(company_id))["id"]
    fix = _create(client, tenant_a.analyst, _remediation(evidence_body, company_id, [harm]))
    body = _without_company(_remediation(evidence_body, company_id, [harm, fix["id"]]))
    response = client.put(
        f"{EVIDENCE}/{fix['id']}", json=body, headers=tenant_a.analyst | {"If-Match": fix["etag"]}
    )
    assert _errors(response) == {"closes.1": "an item cannot close itself"}
    unchanged = client.get(f"{EVIDENCE}/{fix['id']}", headers=tenant_a.analyst).json()
    assert (unchanged["closes"], unchanged["version"]) == ([harm], 1)


def test_an_item_a_live_item_closes_cannot_be_deleted(client, tenant_a, company_id, evidence_body):
    harm = _create(client, tenant_a.analyst, evidence_body(company_id))
    fix = _create(client, tenant_a.analyst, _remediation(evidence_body, company_id, [harm["id"]]))
    harm_url = f"{EVIDENCE}/{harm['id']}"

    refused = client.delete(harm_url, headers=tenant_a.analyst | {"If-Match": harm["etag"]})
    assert refused.status_code == 409, refused.text
    assert fix["id"] in refused.json()["detail"] and fix["title"] in refused.json()["detail"]
    assert client.get(harm_url, headers=tenant_a.analyst).json()["deleted_at"] is None

    # Once the remediation is gone, nothing closes the item any more.
    fix_url = f"{EVIDENCE}/{fix['id']}"
    gone = client.delete(fix_url, headers=tenant_a.analyst | {"If-Match": fix["etag"]})
    assert gone.status_code == 204
    deleted = client.delete(harm_url, headers=tenant_a.analyst | {"If-Match": harm["etag"]})
    assert deleted.status_code == 204


# --- curated files ---------------------------------------------------------------------------


def _curated_remediation(closes: list[str]) -> dict:
    return {
        "id": "example-2023-customer-cut-off",
        "event_date": "2023-03-01",
        "event_date_precision": "day",
        "published_date": "2023-03-01",
        "type": "remediation",
        "title": "The company cut the customer off",
        "summary": "The company stopped the customer that targeted the reporter from using it.",
        "severity": 1,
        "severity_rationale": "A remediation step; it adds no new harm.",
        "company_role": "contributed",
        "role_rationale": "The company's own act.",
        "status": "ongoing",
        "sources": [
            {
                "publisher": "Example Research Lab",
                "title": "The customer is cut off",
                "date": "2023-03-01",
                "url": "https://example.org/cut-off",
                "source_class": "media_report",
            }
        ],
        "closes": closes,
    }


def test_the_loader_resolves_closes_from_slugs_to_ids(db, settings, example_dataset, write_dataset):
    incidents = example_dataset["example-spyware"]["incidents"]
    # Written before the item it closes: ids are known before any row is written.
    incidents.insert(0, _curated_remediation(["example-2020-forensic"]))
    settings.evidence_dir = write_dataset(example_dataset)
    load_bundled_evidence(db, settings)
    with db.session(SYSTEM) as session:
        items = {item.slug: item for item in session.scalars(select(EvidenceItem))}
    fix = items["example-2023-customer-cut-off"]
    assert fix.closes == [str(items["example-2020-forensic"].id)]
    assert items["example-2020-forensic"].closes == []


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (
            {"closes": ["example-nope"]},
            "incidents[2].closes[0]",
            "no incident with id 'example-nope' in this file",
        ),
        ({"type": "court_ruling"}, "incidents[2].closes", "not 'court_ruling'"),
        (
            {"closes": ["example-2023-customer-cut-off"]},
            "incidents[2].closes[0]",
            "names the incident itself",
        ),
        (
            {"closes": ["example-2020-forensic", "example-2020-forensic"]},
            "incidents[2].closes[1]",
            "listed twice",
        ),
        (
            {"closes": ["example-2021-entity-list"]},
            "incidents[2].closes[0]",
            "a remediation closes harm, not a list entry",
        ),
        (
            {"event_date": "2020-01-01", "event_date_precision": "month"},
            "incidents[2].closes[0]",
            "after this item's 2020-01: nothing closes what had not happened",
        ),
    ],
)
def test_bad_closes_in_a_file_name_the_file_and_item_and_write_nothing(
    db, settings, example_dataset, write_dataset, change, path, message
):
    item = _curated_remediation(["example-2020-forensic"]) | change
    example_dataset["example-spyware"]["incidents"].append(item)
    settings.evidence_dir = write_dataset(example_dataset)
    with pytest.raises(Invalid) as caught:
        load_bundled_evidence(db, settings)
    errors = {error.path: error.message for error in caught.value.errors}
    where = f"example-spyware.yaml [example-2023-customer-cut-off] {path}"
    assert where in errors, errors
    assert message in errors[where]
    with db.session(SYSTEM) as session:
        assert session.scalars(select(EvidenceItem)).first() is None


# --- migration 0008 --------------------------------------------------------------------------


def test_migration_0008_gives_stored_items_an_empty_closes_and_unwinds(tmp_path):
    url = fresh_database_url(tmp_path, "closes_0008")
    database = Database(url)
    try:
        migrations_info.upgrade(url)
        with database.session(SYSTEM, write=True) as session:
            company = Company(name="Example Intrusion Ltd", search_text="example intrusion ltd")
            session.add(company)
            session.flush()
            session.add(
                EvidenceItem(
                    company_id=company.id,
                    origin="bundled",
                    event_date=dt.date(2021, 7, 18),
                    type="forensic_finding",
                    title="A finding",
                    summary="A lab found the implant.",
                    company_role="contributed",
                )
            )
        database.dispose()

        migrations_info.downgrade(url, "0007")
        engine = make_engine(url)
        columns = {column["name"] for column in inspect(engine).get_columns("evidence_items")}
        engine.dispose()
        assert "closes" not in columns

        # The item stored before the column existed closes nothing.
        migrations_info.upgrade(url)
        with database.session(SYSTEM) as session:
            assert session.scalars(select(EvidenceItem.closes)).all() == [[]]
    finally:
        database.dispose()
        drop_database(url)
