"""Delistings: a record gone from a later snapshot ends a company's listing only when that
snapshot covers the record's list and no record of the list in it still matches the company."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from screening_helpers import (
    ENTITY_LIST,
    assessed_company,
    csl_file,
    new_company,
    opensanctions_file,
    upload_file,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "screening"
SDN = "Specially Designated Nationals (SDN) - Treasury Department"
NSO_KEY = "c6f677fecaeaed1da68d64a57712d97897b5dc3daa43c98459e88f18"
ACME_LTD = ("m1acmeltd", "Acme Intercept Ltd")
ACME_LAWFUL = ("m2acmelawful", "Acme Lawful Intercept")
INTELLEXA = ("NK-hrdd-test-intellexa-sa", "Intellexa S.A.")
CYTROX = ("NK-hrdd-test-cytrox-ad", "Cytrox AD")


def csl(*rows: tuple[str, str] | tuple[str, str, str]) -> bytes:
    """A CSL file of Entity List rows (key, name) or rows of another list (key, name, list)."""
    return csl_file(
        ((key, name, source[0] if source else ENTITY_LIST) for key, name, *source in rows),
        "2026-10-02",
    )


def upload(client, headers, content: bytes, snapshot_date: str, list_key: str = "csl_multi"):
    return upload_file(client, headers, content, snapshot_date, list_key=list_key)


def company(client, tenant, name: str, aliases: list[str]) -> str:
    return new_company(client, tenant, name, aliases=aliases)


def red_flags(client, tenant, assessment_id: str) -> list[str]:
    response = client.get(f"/api/v1/assessments/{assessment_id}/score", headers=tenant.investor)
    assert response.status_code == 200, response.text
    return [override["rule_id"] for override in response.json()["result"]["overrides"]]


def timeline(client, tenant, company_id: str) -> list[dict]:
    response = client.get(
        f"/api/v1/companies/{company_id}/evidence",
        params={"order": "oldest"},
        headers=tenant.investor,
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_a_company_with_two_records_stays_listed_until_both_are_gone(
    client, tenant_a, rules_loaded
):
    acme, assessment = assessed_company(client, tenant_a, ACME_LTD[1], aliases=[ACME_LAWFUL[1]])
    first = upload(client, tenant_a.analyst, csl(ACME_LTD, ACME_LAWFUL), "2026-11-03")
    assert first["evidence_created"] == 2
    assert red_flags(client, tenant_a, assessment) == ["RF-LISTING"]

    one_gone = upload(client, tenant_a.analyst, csl(ACME_LTD), "2026-11-05")
    assert (one_gone["rows_removed"], one_gone["delistings_created"]) == (1, 0)
    assert red_flags(client, tenant_a, assessment) == ["RF-LISTING"]
    assert [item["type"] for item in timeline(client, tenant_a, acme)] == [
        "trade_restriction_listing",
        "trade_restriction_listing",
    ]
    # Nothing changes while the last record stays.
    again = upload(client, tenant_a.analyst, csl(ACME_LTD), "2026-11-06")
    assert again["delistings_created"] == 0

    both_gone = upload(client, tenant_a.analyst, csl(("other", "Unrelated Name")), "2026-11-08")
    assert both_gone["delistings_created"] == 2
    assert red_flags(client, tenant_a, assessment) == []
    delistings = {
        item["screening_record_key"]: item
        for item in timeline(client, tenant_a, acme)
        if item["type"] == "delisting"
    }
    # Each delisting names the record that went, not the company.
    assert {key: item["title"] for key, item in delistings.items()} == {
        ACME_LTD[0]: f"No longer on the {ENTITY_LIST}: {ACME_LTD[1]}",
        ACME_LAWFUL[0]: f"No longer on the {ENTITY_LIST}: {ACME_LAWFUL[1]}",
    }
    assert ACME_LAWFUL[1] in delistings[ACME_LAWFUL[0]]["summary"]
    assert {item["event_date"] for item in delistings.values()} == {"2026-11-08"}


def test_a_delisting_names_the_record_even_when_it_differs_from_the_company(client, tenant_a):
    acme = company(client, tenant_a, ACME_LTD[1], [ACME_LAWFUL[1]])
    upload(client, tenant_a.analyst, csl(ACME_LAWFUL), "2026-11-03")
    assert upload(client, tenant_a.analyst, csl(ACME_LTD), "2026-11-05")["delistings_created"] == 0
    gone = upload(client, tenant_a.analyst, csl(("other", "Unrelated Name")), "2026-11-08")
    assert gone["delistings_created"] == 2
    items = timeline(client, tenant_a, acme)
    titles = sorted(item["title"] for item in items if item["type"] == "delisting")
    assert titles == [
        f"No longer on the {ENTITY_LIST}: {ACME_LTD[1]}",
        f"No longer on the {ENTITY_LIST}: {ACME_LAWFUL[1]}",
    ]


def test_a_re_keyed_record_is_no_delisting(client, tenant_a, rules_loaded):
    nso, assessment = assessed_company(client, tenant_a, "NSO Group Technologies Limited")
    sample = (DATA / "csl_sample.csv").read_bytes()
    upload(client, tenant_a.analyst, sample, "2024-10-01", list_key="csl")
    assert red_flags(client, tenant_a, assessment) == ["RF-LISTING"]

    re_keyed = sample.replace(NSO_KEY.encode(), b"nso-new-release-key")
    run = upload(client, tenant_a.analyst, re_keyed, "2024-10-21", list_key="csl")
    assert (run["rows_added"], run["rows_removed"], run["delistings_created"]) == (1, 1, 0)
    assert red_flags(client, tenant_a, assessment) == ["RF-LISTING"]
    assert all(item["type"] != "delisting" for item in timeline(client, tenant_a, nso))


def test_a_record_awaiting_review_as_a_near_match_keeps_the_company_listed(client, tenant_a):
    """The second user test: an SDN record re-keyed and renamed ("... Holdings") went to the
    review queue, and the same import lifted the company's sanction, which the record
    waiting for review still showed."""
    acme = company(client, tenant_a, ACME_LTD[1], [ACME_LAWFUL[1]])
    upload(client, tenant_a.analyst, csl(("d2", ACME_LAWFUL[1], SDN)), "2026-11-03")
    renamed = ("d9", f"{ACME_LAWFUL[1]} Holdings Ltd", SDN)
    run = upload(client, tenant_a.analyst, csl(renamed), "2026-11-05")
    assert (run["review_queued"], run["delistings_created"]) == (1, 0)
    assert [item["type"] for item in timeline(client, tenant_a, acme)] == ["sanction"]


def test_a_record_on_another_list_does_not_keep_the_company_on_this_one(client, tenant_a):
    acme = company(client, tenant_a, ACME_LTD[1], [ACME_LAWFUL[1]])
    sanctioned = ("s1acme", ACME_LAWFUL[1], SDN)
    upload(client, tenant_a.analyst, csl(ACME_LTD, sanctioned), "2026-11-03")
    # Another Entity List row makes the snapshot cover the list ACME_LTD was on.
    run = upload(
        client, tenant_a.analyst, csl(sanctioned, ("other", "Unrelated Name")), "2026-11-05"
    )
    assert run["delistings_created"] == 1
    [delisting] = [i for i in timeline(client, tenant_a, acme) if i["type"] == "delisting"]
    assert delisting["related_listing"]["list_name"] == ENTITY_LIST


def test_an_opensanctions_file_of_another_dataset_lifts_no_sanction(client, tenant_a, rules_loaded):
    consortium, assessment = assessed_company(
        client, tenant_a, "Intellexa Consortium", aliases=[INTELLEXA[1], CYTROX[1]]
    )
    sdn = opensanctions_file([(*INTELLEXA, "us_ofac_sdn"), (*CYTROX, "us_ofac_sdn")])
    first = upload_file(client, tenant_a.analyst, sdn, "2026-11-03")
    assert (first["list_key"], first["evidence_created"]) == ("opensanctions", 2)
    assert red_flags(client, tenant_a, assessment) == ["RF-LISTING"]

    # The same default list_key, so it follows the first; but it says nothing of us_ofac_sdn.
    eu = opensanctions_file([("NK-hrdd-test-eu", "Unrelated Name", "eu_fsf")])
    run = upload_file(client, tenant_a.analyst, eu, "2026-11-05")
    assert run["previous_import_id"] == first["id"]
    assert (run["rows_removed"], run["delistings_created"]) == (2, 0)
    assert run["lists_not_covered"] == ["us_ofac_sdn"]
    assert red_flags(client, tenant_a, assessment) == ["RF-LISTING"]
    assert [item["type"] for item in timeline(client, tenant_a, consortium)] == [
        "sanction",
        "sanction",
    ]
    stored = client.get(f"/api/v1/screening/imports/{run['id']}", headers=tenant_a.analyst)
    assert stored.json()["lists_not_covered"] == ["us_ofac_sdn"]

    # A snapshot of us_ofac_sdn without them lifts both.
    later = opensanctions_file([("NK-hrdd-test-sdn", "Unrelated Name", "us_ofac_sdn")])
    lifted = upload_file(client, tenant_a.analyst, later, "2026-11-08")
    assert (lifted["delistings_created"], lifted["lists_not_covered"]) == (2, ["eu_fsf"])
    assert red_flags(client, tenant_a, assessment) == []
    titles = sorted(
        item["title"]
        for item in timeline(client, tenant_a, consortium)
        if item["type"] == "sanction_lifted"
    )
    assert titles == [
        f"No longer on the us_ofac_sdn: {name}" for name in ("Cytrox AD", "Intellexa S.A.")
    ]


def test_a_record_on_several_datasets_is_judged_only_by_a_file_of_all_of_them(client, tenant_a):
    """The reviewer: absent from a file of eu_fsf rows alone, a record also on us_ofac_sdn got
    its sanction lifted, while the same import said us_ofac_sdn was not covered."""
    consortium = company(client, tenant_a, "Intellexa Consortium", [INTELLEXA[1]])
    both = opensanctions_file([(*INTELLEXA, "us_ofac_sdn;eu_fsf")])
    upload_file(client, tenant_a.analyst, both, "2026-11-03")
    eu = opensanctions_file([("NK-hrdd-test-eu", "Unrelated Name", "eu_fsf")])
    run = upload_file(client, tenant_a.analyst, eu, "2026-11-05")
    assert (run["delistings_created"], run["lists_not_covered"]) == (0, ["us_ofac_sdn"])
    assert [i["type"] for i in timeline(client, tenant_a, consortium)] == ["sanction"]

    # A file of both datasets without the record lifts it.
    covering = opensanctions_file(
        [
            ("NK-hrdd-test-eu", "Unrelated Name", "eu_fsf"),
            ("NK-hrdd-test-sdn", "Another Name", "us_ofac_sdn"),
        ]
    )
    run = upload_file(client, tenant_a.analyst, covering, "2026-11-07")
    assert (run["delistings_created"], run["lists_not_covered"]) == (1, [])
    [lifted] = [i for i in timeline(client, tenant_a, consortium) if i["type"] == "sanction_lifted"]
    assert lifted["related_listing"]["list_name"] == "us_ofac_sdn; eu_fsf"


def test_a_company_still_on_one_of_a_gone_records_datasets_is_not_delisted(client, tenant_a):
    """The reviewer: a record on us_ofac_sdn gone while another record of the company is on
    eu_fsf and us_ofac_sdn; the company is still on us_ofac_sdn."""
    consortium = company(client, tenant_a, "Intellexa Consortium", [INTELLEXA[1], "Cytrox AD"])
    first = opensanctions_file(
        [(*INTELLEXA, "us_ofac_sdn"), ("NK-hrdd-test-cytrox", "Cytrox AD", "eu_fsf;us_ofac_sdn")]
    )
    upload_file(client, tenant_a.analyst, first, "2026-11-03")
    assert [i["type"] for i in timeline(client, tenant_a, consortium)] == ["sanction", "sanction"]
    later = opensanctions_file([("NK-hrdd-test-cytrox", "Cytrox AD", "eu_fsf;us_ofac_sdn")])
    run = upload_file(client, tenant_a.analyst, later, "2026-11-05")
    assert run["delistings_created"] == 0
    assert "sanction_lifted" not in {i["type"] for i in timeline(client, tenant_a, consortium)}


def test_a_record_left_listed_for_an_uncovered_dataset_stays_in_force_beside_a_delisting(
    client, tenant_a, rules_loaded
):
    """The second user test: Cytrox AD (eu_fsf and us_ofac_sdn), absent from a file of
    us_ofac_sdn rows alone, stays listed (eu_fsf is not covered). It used to keep Intellexa
    S.A.'s record from being delisted, since a delisting ended every listing of its list; now
    the delisting ends Intellexa S.A.'s listing alone, Cytrox AD's stays in force (and keeps
    the red flag), and the delisting names it."""
    consortium, assessment = assessed_company(
        client, tenant_a, "Intellexa Consortium", aliases=[INTELLEXA[1], CYTROX[1]]
    )
    first = opensanctions_file([(*INTELLEXA, "us_ofac_sdn"), (*CYTROX, "eu_fsf;us_ofac_sdn")])
    upload_file(client, tenant_a.analyst, first, "2026-11-03")
    sdn_only = opensanctions_file([("NK-hrdd-test-sdn", "Unrelated Name", "us_ofac_sdn")])
    run = upload_file(client, tenant_a.analyst, sdn_only, "2026-11-05")
    assert (run["delistings_created"], run["lists_not_covered"]) == (1, ["eu_fsf"])
    items = {item["title"]: item for item in timeline(client, tenant_a, consortium)}
    lifted = items[f"No longer on the us_ofac_sdn: {INTELLEXA[1]}"]
    assert lifted["closes"] == [items[f"us_ofac_sdn: {INTELLEXA[1]}"]["id"]]
    cytrox = items[f"eu_fsf; us_ofac_sdn: {CYTROX[1]}"]
    assert cytrox["status"] == "ongoing"
    assert (
        f"stay in force until their own end is recorded: '{cytrox['title']}' "
        f"({cytrox['event_date']}, screening record {CYTROX[0]})."
    ) in lifted["summary"]
    assert red_flags(client, tenant_a, assessment) == ["RF-LISTING"]


def test_a_csl_file_of_sdn_rows_alone_delists_no_entity_list_record(client, tenant_a, rules_loaded):
    nso, assessment = assessed_company(client, tenant_a, "NSO Group Technologies Limited")
    sample = (DATA / "csl_sample.csv").read_bytes()
    upload_file(client, tenant_a.analyst, sample, "2024-10-01")
    assert red_flags(client, tenant_a, assessment) == ["RF-LISTING"]

    header, *rows = csv.reader(io.StringIO(sample.decode()))
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerows([header, *(row for row in rows if row[1] == SDN)])
    run = upload_file(client, tenant_a.analyst, out.getvalue().encode(), "2024-10-21")
    assert run["rows_removed"] > 0
    assert run["delistings_created"] == 0
    assert run["lists_not_covered"] == sorted({row[1] for row in rows} - {SDN})
    assert ENTITY_LIST in run["lists_not_covered"]
    assert red_flags(client, tenant_a, assessment) == ["RF-LISTING"]
    assert [item["type"] for item in timeline(client, tenant_a, nso)] == [
        "trade_restriction_listing"
    ]


def test_a_snapshot_judges_the_lists_it_covers_and_leaves_the_others(client, tenant_a):
    acme = company(client, tenant_a, ACME_LTD[1], [ACME_LAWFUL[1]])
    sanctioned = ("s1acme", ACME_LAWFUL[1], SDN)
    other_sdn = ("s2other", "Unrelated Name", SDN)
    upload(client, tenant_a.analyst, csl(ACME_LTD, sanctioned, other_sdn), "2026-11-03")
    run = upload(client, tenant_a.analyst, csl(other_sdn), "2026-11-05")
    assert (run["delistings_created"], run["lists_not_covered"]) == (1, [ENTITY_LIST])
    assert sorted(item["type"] for item in timeline(client, tenant_a, acme)) == [
        "sanction",
        "sanction_lifted",
        "trade_restriction_listing",
    ]
