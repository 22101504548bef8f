"""Loading the curated evidence files: counts, idempotence, updates, bad files."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from tests.conftest import shared_company

from hrdd.audit.models import AuditEvent
from hrdd.companies import service as companies
from hrdd.companies.models import Company, CompanyIdentifier, OwnershipLink
from hrdd.db import SYSTEM
from hrdd.errors import Invalid
from hrdd.evidence import content
from hrdd.evidence.models import Commitment, EvidenceItem
from hrdd.evidence.service import load_bundled_evidence
from hrdd.http import PageParams


def _row_counts(db) -> dict[str, int]:
    with db.session(SYSTEM) as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (
                Company,
                CompanyIdentifier,
                OwnershipLink,
                EvidenceItem,
                Commitment,
                AuditEvent,
            )
        }


def _tallies(lines: list[str]) -> dict[str, tuple[int, int, int]]:
    """'incidents: 13 (13 created, 0 updated, 0 unchanged)' -> {'incidents': (13, 0, 0)}."""
    found = re.findall(r"([a-z ]+): \d+ \((\d+) created, (\d+) updated, (\d+) unchanged", lines[0])
    return {label.strip(): tuple(int(n) for n in numbers) for label, *numbers in found}


def test_shipped_dataset_loads_and_a_second_load_changes_nothing(db, settings):
    dataset = content.load_evidence_dir(settings.evidence_dir)
    incidents = sum(len(d.incidents) for d in dataset.documents)
    commitments = sum(len(d.commitments) for d in dataset.documents)

    first = _tallies(load_bundled_evidence(db, settings))
    assert first["companies"] == (len(dataset.documents), 0, 0)
    assert first["incidents"] == (incidents, 0, 0)
    assert first["commitments"] == (commitments, 0, 0)
    counts = _row_counts(db)
    assert counts["evidence_items"] == incidents
    assert counts["commitments"] == commitments

    second = _tallies(load_bundled_evidence(db, settings))
    assert all(created == 0 and updated == 0 for created, updated, _ in second.values())
    assert second["incidents"][2] == incidents
    assert _row_counts(db) == counts


def test_example_dataset_maps_every_part(db, settings, example_dataset, write_dataset):
    settings.evidence_dir = write_dataset(example_dataset)
    load_bundled_evidence(db, settings)
    with db.session(SYSTEM) as session:
        companies = {c.slug: c for c in session.scalars(select(Company))}
        spyware, utility = companies["example-spyware"], companies["example-utility"]
        assert spyware.aliases == ["Example Cyber"]
        isins = session.scalars(
            select(CompanyIdentifier.value).where(CompanyIdentifier.company_id == utility.id)
        ).all()
        assert isins == ["US0378331005"]
        link = session.scalars(select(OwnershipLink)).one()
        assert (link.company_id, link.owner_company_id) == (spyware.id, utility.id)
        assert link.date_precision == "month"
        # The registry keeps one source per link; the second one and the approximation are
        # kept in the note rather than lost.
        assert "approximate" in link.note and "Second report" in link.note
        items = {i.slug: i for i in session.scalars(select(EvidenceItem))}
        listing = items["example-2021-entity-list"]
        assert listing.organisation_id is None and listing.origin == "bundled"
        assert listing.related_listing["list_name"].startswith("Entity List")
        assert listing.sources[0]["source_class"] == "court_or_government_record"
        commitment = session.scalars(select(Commitment)).one()
        assert commitment.contradicted_by == [str(items["example-2020-forensic"].id)]


def test_products_are_loaded_searchable_and_updated_in_place(
    db, settings, example_dataset, write_dataset
):
    """`company.products` becomes the registry's products and is searchable; a changed list
    updates the same row, as aliases do, and loading it again changes nothing."""
    example_dataset["example-spyware"]["company"]["products"] = ["Example Implant"]
    settings.evidence_dir = write_dataset(example_dataset)
    load_bundled_evidence(db, settings)
    with db.session(SYSTEM) as session:
        [company] = companies.search_companies(
            session, "implant", None, PageParams(limit=10, cursor=None)
        )[0]
        first_id = company.id
        assert (company.slug, company.products) == ("example-spyware", ["Example Implant"])

    example_dataset["example-spyware"]["company"]["products"] = ["Example Tap", "Example Relay"]
    settings.evidence_dir = write_dataset(example_dataset)
    assert _tallies(load_bundled_evidence(db, settings))["companies"] == (0, 1, 1)
    with db.session(SYSTEM) as session:
        assert (
            companies.search_companies(session, "implant", None, PageParams(limit=10, cursor=None))[
                0
            ]
            == []
        )
        [company] = companies.search_companies(
            session, "relay", None, PageParams(limit=10, cursor=None)
        )[0]
        assert (company.id, company.products) == (first_id, ["Example Tap", "Example Relay"])
        assert company.search_text.endswith("example tap | example relay")
    assert _tallies(load_bundled_evidence(db, settings))["companies"] == (0, 0, 2)


def test_a_product_listed_twice_is_named_at_its_line(example_dataset, write_dataset):
    example_dataset["example-spyware"]["company"]["products"] = ["Example Tap", "Example Tap"]
    with pytest.raises(content.EvidenceFileError) as raised:
        content.load_evidence_dir(write_dataset(example_dataset))
    assert "company.products[1]" in str(raised.value)


def test_changed_and_removed_items_are_updated_and_withdrawn(
    db, settings, example_dataset, write_dataset
):
    settings.evidence_dir = write_dataset(example_dataset)
    load_bundled_evidence(db, settings)
    incidents = example_dataset["example-spyware"]["incidents"]
    incidents[0]["severity"] = 5
    del incidents[1]
    settings.evidence_dir = write_dataset(example_dataset)

    tallies = _tallies(load_bundled_evidence(db, settings))
    assert tallies["incidents"] == (0, 1, 0)
    with db.session(SYSTEM) as session:
        items = {i.slug: i for i in session.scalars(select(EvidenceItem))}
        changed, withdrawn = items["example-2020-forensic"], items["example-2021-entity-list"]
        assert (changed.severity, changed.version) == (5, 2)
        assert withdrawn.deleted_at is not None
        actions = {
            (e.entity_id, e.action, e.field)
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.entity_type == "evidence_item")
            )
        }
        assert (changed.id, "updated", "severity") in actions
        assert (withdrawn.id, "withdrawn", None) in actions


def test_malformed_file_names_file_item_and_field_and_writes_nothing(
    db, settings, example_dataset, write_dataset
):
    example_dataset["example-spyware"]["incidents"][1]["severity"] = 7
    settings.evidence_dir = write_dataset(example_dataset)
    before = _row_counts(db)
    with pytest.raises(Invalid) as caught:
        load_bundled_evidence(db, settings)
    paths = [error.path for error in caught.value.errors]
    assert "example-spyware.yaml [example-2021-entity-list] incidents[1].severity" in paths
    assert _row_counts(db) == before


def test_identifier_taken_by_a_shared_company_rejects_the_whole_load(
    db, settings, example_dataset, write_dataset
):
    shared_company(db, "Someone Else Inc", isins=["US0378331005"])
    settings.evidence_dir = write_dataset(example_dataset)
    before = _row_counts(db)
    with pytest.raises(Invalid) as caught:
        load_bundled_evidence(db, settings)
    assert caught.value.errors[0].path == (
        "example-utility.yaml [example-utility] company.identifiers.isins.0"
    )
    assert _row_counts(db) == before


def test_an_organisations_private_company_never_blocks_the_load(
    db, settings, client, tenant_a, tenant_b, example_dataset, write_dataset
):
    """Identifiers are unique among the shared companies and within one organisation: a
    private company holding a bundled company's ISIN neither blocks the load nor shows."""
    taken = client.post(
        "/api/v1/companies",
        json={"name": "Someone Else Inc", "isins": ["US0378331005"]},
        headers=tenant_a.analyst,
    )
    assert taken.status_code == 201, taken.text
    settings.evidence_dir = write_dataset(example_dataset)
    load_bundled_evidence(db, settings)
    for tenant, expected in ((tenant_a, 2), (tenant_b, 1)):
        found = client.get(
            "/api/v1/companies", params={"q": "US0378331005"}, headers=tenant.investor
        ).json()["items"]
        assert len(found) == expected
        assert sum(company["slug"] == "example-utility" for company in found) == 1


def test_bundled_evidence_is_shared_and_read_only(
    db, settings, client, tenant_a, tenant_b, example_dataset, write_dataset, evidence_body
):
    settings.evidence_dir = write_dataset(example_dataset)
    load_bundled_evidence(db, settings)
    with db.session(SYSTEM) as session:
        company_id = session.scalar(select(Company.id).where(Company.slug == "example-spyware"))
    url = f"/api/v1/companies/{company_id}/evidence"
    for tenant in (tenant_a, tenant_b):
        items = client.get(url, headers=tenant.investor).json()["items"]
        assert {i["slug"] for i in items} == {"example-2020-forensic", "example-2021-entity-list"}
        assert all(i["shared"] for i in items)
    item = client.get(url, headers=tenant_a.analyst).json()["items"][0]
    item_url = f"/api/v1/evidence/{item['id']}"
    etag = client.get(item_url, headers=tenant_a.analyst).headers["etag"]
    body = evidence_body(str(company_id))
    del body["company_id"]
    assert client.put(item_url, json=body, headers=tenant_a.analyst).status_code == 403
    put = client.put(item_url, json=body, headers=tenant_a.analyst | {"If-Match": etag})
    assert put.status_code == 403
    assert client.delete(item_url, headers=tenant_a.analyst).status_code == 403
    assert client.get(item_url, headers=tenant_b.investor).json()["deleted_at"] is None
