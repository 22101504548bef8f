"""No organisation's edit may change what another sees or scores: bundled companies and links
are shared and read-only, while a company made through the API and an ownership link an analyst
adds are private to their organisation (tests/portfolios/test_private_companies.py)."""

from __future__ import annotations

from pathlib import Path

from portfolio_helpers import (
    API,
    by_name,
    company_id,
    confirm_first_candidates,
    create_company,
    create_portfolio,
    load_content,
    risk,
    upload,
)
from tests.conftest import shared_company

from hrdd.companies.models import Company
from hrdd.db import TenantContext

DATA = Path(__file__).resolve().parents[1] / "data" / "screening"


def company(client, headers, company: str) -> dict:
    response = client.get(f"{API}/companies/{company}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def rename(client, headers, company: str, name: str, etag: str):
    return client.put(
        f"{API}/companies/{company}", json={"name": name}, headers={**headers, "If-Match": etag}
    )


def is_forbidden(response) -> bool:
    return response.status_code == 403 and response.headers["content-type"].startswith(
        "application/problem+json"
    )


def test_another_organisations_ownership_link_changes_nothing_of_ours(
    client, tenant_a, tenant_b, db, content
):
    """B records that Unilever owns NSO Group; A's Unilever holding must not inherit NSO's
    risk, and A must not see or be able to remove B's link."""
    nso, unilever = company_id(db, "nso-group"), company_id(db, "unilever")
    portfolio = create_portfolio(client, tenant_a.investor)
    assert upload(client, tenant_a.investor, portfolio, "name\nUnilever PLC\n").status_code == 200
    confirm_first_candidates(client, tenant_a.investor, portfolio)
    before = by_name(risk(client, tenant_a.investor, portfolio)["holdings"], "Unilever PLC")
    assert before["exposure_via"] == []

    updated = {c: company(client, tenant_a.investor, c)["updated_at"] for c in (nso, unilever)}
    added = client.post(
        f"{API}/companies/{nso}/ownership",
        json={
            "owner_name": "Unilever PLC",
            "owner_kind": "company",
            "owner_company_id": unilever,
            "percentage": "5",
        },
        headers=tenant_b.analyst,
    )
    assert added.status_code == 201, added.text
    link = added.json()
    assert link["shared"] is False

    after = by_name(risk(client, tenant_a.investor, portfolio)["holdings"], "Unilever PLC")
    assert after["exposure_via"] == []
    assert (after["overall"], after["band"], after["action"]) == (
        before["overall"],
        before["band"],
        before["action"],
    )
    assert link["id"] not in {o["id"] for o in company(client, tenant_a.investor, nso)["owners"]}
    assert link["id"] in {o["id"] for o in company(client, tenant_b.investor, nso)["owners"]}
    held = company(client, tenant_a.investor, unilever)["holdings"]
    assert link["id"] not in {h["id"] for h in held}
    # Nor does A learn when B changed its private links: the shared companies' times stay.
    for changed in (nso, unilever):
        assert company(client, tenant_a.investor, changed)["updated_at"] == updated[changed]

    link_url = f"{API}/companies/{nso}/ownership/{link['id']}"
    assert client.delete(link_url, headers=tenant_a.analyst).status_code == 404
    assert link["id"] in {o["id"] for o in company(client, tenant_b.investor, nso)["owners"]}
    mine = client.delete(link_url, headers=tenant_b.analyst)
    assert mine.status_code == 204


def test_bundled_companies_and_links_are_read_only(client, tenant_a, db, content):
    unilever, sandvine = company_id(db, "unilever"), company_id(db, "sandvine")
    current = client.get(f"{API}/companies/{unilever}", headers=tenant_a.analyst)
    assert current.json()["editable"] is False
    renamed = rename(
        client, tenant_a.analyst, unilever, "Unilever PLC (renamed)", current.headers["ETag"]
    )
    assert is_forbidden(renamed), renamed.text
    assert "bundled" in renamed.json()["detail"]
    assert company(client, tenant_a.investor, unilever)["name"] == current.json()["name"]

    owners = company(client, tenant_a.investor, sandvine)["owners"]
    bundled = [owner for owner in owners if owner["shared"]]
    assert bundled, "the curated file records Sandvine's owners"
    removed = client.delete(
        f"{API}/companies/{sandvine}/ownership/{bundled[0]['id']}", headers=tenant_a.analyst
    )
    assert is_forbidden(removed), removed.text
    assert company(client, tenant_a.investor, sandvine)["owners"] == owners


def test_only_the_maker_sees_and_edits_a_company_it_made(client, tenant_a, tenant_b, content):
    made = create_company(client, tenant_a, "Example Optics Ltd")
    ours = client.get(f"{API}/companies/{made}", headers=tenant_a.analyst)
    assert ours.json()["editable"] is True
    assert client.get(f"{API}/companies/{made}", headers=tenant_b.analyst).status_code == 404
    refused = rename(
        client, tenant_b.analyst, made, "Example Optics Ltd (sanctioned)", ours.headers["ETag"]
    )
    assert refused.status_code == 404, refused.text
    assert company(client, tenant_a.investor, made)["name"] == "Example Optics Ltd"

    renamed = rename(
        client, tenant_a.analyst, made, "Example Optics Holdings Ltd", ours.headers["ETag"]
    )
    assert renamed.status_code == 200, renamed.text
    assert company(client, tenant_a.investor, made)["name"] == "Example Optics Holdings Ltd"


def test_a_shared_company_made_before_makers_were_recorded_is_read_only(
    client, tenant_a, tenant_b, db
):
    """Made before migration 0006 (no slug, no maker): every organisation sees it, none edits."""
    legacy = shared_company(db, "Example Legacy Optics Ltd")
    for tenant in (tenant_a, tenant_b):
        current = client.get(f"{API}/companies/{legacy}", headers=tenant.analyst)
        assert current.json()["editable"] is False
        refused = rename(client, tenant.analyst, legacy, "Renamed", current.headers["ETag"])
        assert is_forbidden(refused), refused.text
        assert "shared reference data" in refused.json()["detail"]
    assert company(client, tenant_b.investor, legacy)["name"] == "Example Legacy Optics Ltd"


def test_loading_the_bundled_content_again_leaves_organisations_links_alone(
    client, tenant_a, db, settings, content
):
    """The loader matches bundled links by owner name and start date; a link an analyst added
    with the same owner and start must not be taken for one and overwritten."""
    sandvine = company_id(db, "sandvine")
    owners = company(client, tenant_a.investor, sandvine)["owners"]
    [bundled, *_] = [owner for owner in owners if owner["shared"]]
    added = client.post(
        f"{API}/companies/{sandvine}/ownership",
        json={
            "owner_name": bundled["owner_name"],
            "owner_kind": bundled["owner_kind"],
            "start_date": bundled["start_date"],
            "percentage": "12.5",
            "note": "Our own reading of the filing",
        },
        headers=tenant_a.analyst,
    )
    assert added.status_code == 201, added.text
    load_content(db, settings)
    owners = {o["id"]: o for o in company(client, tenant_a.investor, sandvine)["owners"]}
    assert owners[added.json()["id"]]["note"] == "Our own reading of the filing"
    assert owners[added.json()["id"]]["percentage"] == "12.5000"
    assert owners[bundled["id"]] == bundled


def test_another_organisations_company_never_steers_our_imports(
    client, tenant_a, tenant_b, db, content
):
    """A claims Apple's ISIN for a company of its own and B duplicates NSO Group's name: B's
    holding of Apple must not resolve to A's company, and A's screening must still match the
    real NSO Group on its own."""
    apple_isin = "US0378331005"
    squatted = create_company(client, tenant_a, "Acme Surveillance plc", isins=[apple_isin])
    portfolio = create_portfolio(client, tenant_b.investor)
    uploaded = upload(client, tenant_b.investor, portfolio, f"name,isin\nApple Inc.,{apple_isin}\n")
    assert uploaded.status_code == 200, uploaded.text
    [holding] = risk(client, tenant_b.investor, portfolio)["holdings"]
    assert holding["company_id"] != squatted
    assert squatted not in {c["company_id"] for c in holding.get("candidates", [])}
    ours = create_portfolio(client, tenant_a.investor, name="Ours")
    upload(client, tenant_a.investor, ours, f"name,isin\nAcme,{apple_isin}\n")
    assert risk(client, tenant_a.investor, ours)["holdings"][0]["company_id"] == squatted

    nso = company_id(db, "nso-group")
    # The API now refuses a private copy of a shared company's name (409); one made before it
    # did stays, and must still steer nothing.
    copy = client.post(
        f"{API}/companies",
        json={"name": "nso group technologies limited"},
        headers=tenant_b.analyst,
    )
    assert copy.status_code == 409, copy.text
    assert nso in copy.json()["detail"]
    with db.session(TenantContext(tenant_b.organisation_id), write=True) as session:
        legacy = Company(
            organisation_id=tenant_b.organisation_id,
            name="NSO Group Technologies Limited",
            search_text="nso group technologies limited",
        )
        session.add(legacy)
        session.flush()
        duplicate = str(legacy.id)
    with (DATA / "csl_sample.csv").open("rb") as stream:
        screened = client.post(
            f"{API}/screening/imports",
            files={"file": ("csl_sample.csv", stream, "text/csv")},
            data={"snapshot_date": "2024-10-01"},
            headers=tenant_a.analyst,
        )
    assert screened.status_code == 201, screened.text
    listings = client.get(f"{API}/companies/{nso}/evidence", headers=tenant_a.investor).json()
    assert any(item["origin"] == "screening" for item in listings["items"])
    matches = client.get(f"{API}/screening/matches", headers=tenant_a.analyst).json()["items"]
    assert duplicate not in {match["company_id"] for match in matches}
    # The exact match was accepted at once (listed as such), not sent to the review queue.
    nso_matches = [match for match in matches if "NSO" in match["record_name"]]
    assert [(m["company_id"], m["status"]) for m in nso_matches] == [(nso, "auto_confirmed")]


def test_look_alikes_of_a_shared_companys_name_are_refused(client, tenant_b, db, content):
    """The security test made decoys of NSO Group that a holdings import then listed beside the
    real one: the name as an alias of another, and names that look the same on screen (a
    Cyrillic o, a zero-width space, full-width letters; the reviewer: full-width letters with a
    Cyrillic O, a Greek N with Cyrillic S and O). Each is refused, and no company is made."""
    nso = company_id(db, "nso-group")
    cyrillic_o, zero_width = "\u043e", "\u200b"
    full_width_ns, greek_cyrillic_nso = "\uff2e\uff33", "\u039d\u0405\u041e"
    cases = {
        "as an alias": ({"name": "Totally Different Co", "aliases": ["NSO Group"]}, 409, nso),
        "full-width letters": ({"name": f"{full_width_ns}O Group"}, 409, nso),
        "a Cyrillic letter": ({"name": f"NSO Gr{cyrillic_o}up"}, 409, nso),
        "full-width and Cyrillic": ({"name": f"{full_width_ns}\u041e Group"}, 409, nso),
        "no Latin letter": ({"name": f"{greek_cyrillic_nso} Gr{cyrillic_o}up"}, 409, nso),
        "a Cyrillic letter in an alias": (
            {"name": "Other Co", "aliases": [f"NSO Gr{cyrillic_o}up"]},
            409,
            nso,
        ),
        "a zero-width space": (
            {"name": f"NSO{zero_width} Group"},
            422,
            "characters that hide or reorder what it shows (U+200B)",
        ),
        "a right-to-left override": (
            {"name": "NSO \u202epuorG"},
            422,
            "(U+202E)",
        ),
    }
    before = client.get(f"{API}/companies", headers=tenant_b.analyst).json()
    for label, (body, status, words) in cases.items():
        response = client.post(f"{API}/companies", json=body, headers=tenant_b.analyst)
        assert response.status_code == status, (label, response.text)
        assert words in response.text, (label, response.text)
    assert client.get(f"{API}/companies", headers=tenant_b.analyst).json() == before

    # Real names are taken as before: Greek, Cyrillic, Greek mu beside Latin letters, Sinhala
    # with the joiner its "Sri" needs, Persian with a non-joiner, Arabic with a direction mark.
    for name in (
        "Acme Surveillance Ltd",
        "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ae AE",
        "\u0420\u043e\u0441\u0442\u0435\u043b\u0435\u043a\u043e\u043c",
        "\u00b5Torrent Ltd",
        "\u0dc1\u0dca\u200d\u0dbb\u0dd3 Lanka Telecom",
        "\u0645\u0647\u200c\u0633\u0627\u0632\u0627\u0646",
        "\u0645\u062c\u0645\u0648\u0639\u0629 \u200fSTC",
    ):
        made = client.post(f"{API}/companies", json={"name": name}, headers=tenant_b.analyst)
        assert made.status_code == 201, (name, made.text)
    # Adding the shared name as an alias later is refused too; the company keeps its names.
    mine = create_company(client, tenant_b, "Decoy Holdings Ltd")
    read = client.get(f"{API}/companies/{mine}", headers=tenant_b.analyst)
    body = {"name": "Decoy Holdings Ltd", "aliases": ["nso group"]}
    renamed = client.put(
        f"{API}/companies/{mine}",
        json=body,
        headers={**tenant_b.analyst, "If-Match": read.headers["ETag"]},
    )
    assert renamed.status_code == 409, renamed.text
    assert client.get(f"{API}/companies/{mine}", headers=tenant_b.analyst).json()["aliases"] == []
