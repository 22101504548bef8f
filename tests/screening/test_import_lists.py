"""Screening-list imports on the shipped sample files: matches, evidence, idempotence,
delisting, tenancy."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "screening"
ENTITY_LIST = "Entity List (EL) - Bureau of Industry and Security"
# The sample's fixture row carries this ISIN; a company holding it matches on the identifier
# alone, whatever its name.
FIXTURE_ISIN = "XS9999999998"
OS_FIXTURE_ISIN = "XS9999999980"


@pytest.fixture
def companies(client, tenant_a) -> dict[str, str]:
    wanted = {
        # As the registry names it: the list's "NSO Group Technologies Ltd." but for legal form.
        "NSO Group": {"name": "NSO Group Technologies Limited", "aliases": ["NSO Group"]},
        "Candiru": {},
        "Intellexa": {},
        "Cytrox": {},
        "Sandvine": {},
        "Harbour Ledger Services": {"isins": [FIXTURE_ISIN, OS_FIXTURE_ISIN]},
        "Unrelated Utilities plc": {},
    }
    ids = {}
    for name, extra in wanted.items():
        response = client.post(
            "/api/v1/companies", json={"name": name, **extra}, headers=tenant_a.analyst
        )
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    return ids


def upload(client, headers, file_name, snapshot_date=None, **form):
    data = dict(form)
    if snapshot_date:
        data["snapshot_date"] = snapshot_date
    with (DATA / file_name).open("rb") as stream:
        return client.post(
            "/api/v1/screening/imports",
            files={"file": (file_name, stream, "text/csv")},
            data=data,
            headers=headers,
        )


def timeline(client, headers, company_id):
    response = client.get(
        f"/api/v1/companies/{company_id}/evidence", params={"order": "oldest"}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_csl_sample_creates_private_listings_for_matched_companies(
    client, tenant_a, tenant_b, companies
):
    response = upload(client, tenant_a.analyst, "csl_sample.csv", "2024-10-01")
    assert response.status_code == 201, response.text
    run = response.json()
    assert response.headers["location"] == f"/api/v1/screening/imports/{run['id']}"
    assert (run["format"], run["list_key"], run["snapshot_date"]) == ("csl", "csl", "2024-10-01")
    assert run["rows_total"] == 16
    assert run["identifier_matches"] == 1
    assert run["evidence_created"] == run["identifier_matches"] + run["name_matches"]

    nso = timeline(client, tenant_a.investor, companies["NSO Group"])
    assert len(nso) == 1
    listing = nso[0]
    assert (listing["type"], listing["origin"], listing["shared"]) == (
        "trade_restriction_listing",
        "screening",
        False,
    )
    assert listing["event_date"] == "2021-11-03"
    assert listing["related_listing"]["list_name"] == ENTITY_LIST
    assert listing["related_listing"]["start_date"] == "2021-11-03"
    assert listing["sources"][0]["source_class"] == "court_or_government_record"
    assert listing["sources"][0]["publisher"] == "Bureau of Industry and Security"
    assert listing["screening_import_id"] == run["id"]

    # Intellexa: two Entity List entries (S.A. and Limited) and the OFAC sanction.
    kinds = sorted(
        item["type"] for item in timeline(client, tenant_a.investor, companies["Intellexa"])
    )
    assert kinds == ["sanction", "trade_restriction_listing", "trade_restriction_listing"]
    # "Cytrox AD" is Cytrox; "Cytrox Holdings Zrt." may be another entity: it waits for review.
    assert len(timeline(client, tenant_a.investor, companies["Cytrox"])) == 1
    queue = client.get(
        "/api/v1/screening/matches", params={"status": "pending"}, headers=tenant_a.analyst
    ).json()["items"]
    assert ("Cytrox Holdings Zrt.", companies["Cytrox"]) in {
        (match["record_name"], match["company_id"]) for match in queue
    }
    # Matched by ISIN although no name resembles it.
    by_code = timeline(client, tenant_a.investor, companies["Harbour Ledger Services"])
    assert [item["type"] for item in by_code] == ["sanction"]
    assert FIXTURE_ISIN in by_code[0]["summary"]
    assert timeline(client, tenant_a.investor, companies["Unrelated Utilities plc"]) == []

    # Another organisation sees neither the import nor its evidence, nor A's companies.
    nso_evidence = f"/api/v1/companies/{companies['NSO Group']}/evidence"
    assert client.get(nso_evidence, headers=tenant_b.investor).status_code == 404
    assert (
        client.get(f"/api/v1/screening/imports/{run['id']}", headers=tenant_b.analyst).status_code
        == 404
    )
    assert client.get("/api/v1/screening/imports", headers=tenant_b.analyst).json()["items"] == []
    # Investors read evidence but do not run imports.
    assert upload(client, tenant_a.investor, "csl_sample.csv").status_code == 403


def test_importing_the_same_file_twice_creates_nothing_new(client, tenant_a, companies):
    first = upload(client, tenant_a.analyst, "csl_sample.csv", "2024-10-01").json()
    assert (first["rows_added"], first["rows_removed"]) == (first["rows_total"], 0)
    assert first["rows_total"] > 0
    counts = {name: len(timeline(client, tenant_a.analyst, cid)) for name, cid in companies.items()}
    second = upload(client, tenant_a.analyst, "csl_sample.csv", "2024-10-01")
    assert second.status_code == 201
    run = second.json()
    assert run["sha256"] == first["sha256"]
    assert run["previous_import_id"] == first["id"]
    assert (run["evidence_created"], run["review_queued"], run["delistings_created"]) == (0, 0, 0)
    assert (run["rows_added"], run["rows_removed"]) == (0, 0)
    after = {name: len(timeline(client, tenant_a.analyst, cid)) for name, cid in companies.items()}
    assert after == counts
    imports = client.get("/api/v1/screening/imports", headers=tenant_a.analyst).json()["items"]
    assert [i["id"] for i in imports] == [first["id"], run["id"]]


def test_later_snapshot_without_a_listed_record_records_a_delisting(client, tenant_a, companies):
    upload(client, tenant_a.analyst, "csl_sample.csv", "2024-10-01")
    later = upload(client, tenant_a.analyst, "csl_sample_later.csv", "2024-10-21")
    assert later.status_code == 201, later.text
    run = later.json()
    assert (run["rows_removed"], run["delistings_created"], run["evidence_created"]) == (1, 1, 0)

    sandvine = timeline(client, tenant_a.investor, companies["Sandvine"])
    assert [(i["type"], i["event_date"]) for i in sandvine] == [
        ("trade_restriction_listing", "2024-02-26"),
        ("delisting", "2024-10-21"),
    ]
    delisting = sandvine[1]
    assert delisting["related_listing"]["list_name"] == ENTITY_LIST
    assert delisting["screening_import_id"] == run["id"]
    # Companies still on the list get no delisting.
    assert all(
        i["type"] != "delisting"
        for i in timeline(client, tenant_a.investor, companies["NSO Group"])
    )

    again = upload(client, tenant_a.analyst, "csl_sample_later.csv", "2024-10-22").json()
    assert again["delistings_created"] == 0
    # The record coming back is a new listing, dated by the snapshot that shows it.
    back = upload(client, tenant_a.analyst, "csl_sample.csv", "2024-11-01").json()
    assert back["evidence_created"] == 1
    assert [i["type"] for i in timeline(client, tenant_a.investor, companies["Sandvine"])][-1] == (
        "trade_restriction_listing"
    )


def test_snapshots_of_a_list_must_come_in_date_order(client, tenant_a, companies):
    upload(client, tenant_a.analyst, "csl_sample_later.csv", "2024-10-21")
    older = upload(client, tenant_a.analyst, "csl_sample.csv", "2024-10-01")
    assert older.status_code == 409
    # A different list key is a different list, with its own order.
    other = upload(client, tenant_a.analyst, "csl_sample.csv", "2024-10-01", list_key="csl_archive")
    assert other.status_code == 201, other.text


def test_delisting_compares_snapshots_of_the_same_list_only(client, tenant_a, companies):
    upload(client, tenant_a.analyst, "csl_sample.csv", "2024-10-01")
    separate = upload(
        client, tenant_a.analyst, "csl_sample_later.csv", "2024-10-21", list_key="another_list"
    ).json()
    assert separate["delistings_created"] == 0
    assert separate["previous_import_id"] is None


def test_opensanctions_sample_matches_by_name_and_identifier(client, tenant_a, companies):
    response = upload(client, tenant_a.analyst, "opensanctions_sample.csv", "2025-01-15")
    assert response.status_code == 201, response.text
    run = response.json()
    assert (run["format"], run["list_key"]) == ("opensanctions", "opensanctions")
    intellexa = timeline(client, tenant_a.investor, companies["Intellexa"])
    assert [i["type"] for i in intellexa] == ["sanction"]
    # OpenSanctions' exporter writes each dataset's title (not its key) in `dataset`: the item
    # is titled with it, and the list name compared for delistings is the same text.
    title = "US OFAC Specially Designated Nationals (SDN) List"
    assert intellexa[0]["title"] == f"{title}: Intellexa S.A."
    assert intellexa[0]["related_listing"]["list_name"] == title
    assert intellexa[0]["sources"][0]["publisher"] == "OpenSanctions"
    # The file gives no address: the source is the entity's page there.
    assert (
        intellexa[0]["sources"][0]["url"]
        == "https://www.opensanctions.org/entities/NK-hrdd-fixture-intellexa-sa/"
    )
    # OpenSanctions gives no start date: the entry is dated by its first sighting there.
    candiru = timeline(client, tenant_a.investor, companies["Candiru"])
    assert [(i["type"], i["event_date"]) for i in candiru] == [
        ("trade_restriction_listing", "2021-11-05")
    ]
    by_code = timeline(client, tenant_a.investor, companies["Harbour Ledger Services"])
    assert [i["type"] for i in by_code] == ["sanction"]
    assert OS_FIXTURE_ISIN in by_code[0]["summary"]


def test_imported_file_is_kept_under_the_data_folder(client, tenant_a, companies, settings):
    run = upload(client, tenant_a.analyst, "csl_sample.csv").json()
    stored = settings.data_dir / "screening" / f"{run['sha256']}.csv"
    assert stored.read_bytes() == (DATA / "csl_sample.csv").read_bytes()
