"""The risk view is served as last computed while nothing it is made of changed, and every
kind of write to its inputs is in the very next read: holdings, ownership, companies, answers,
evidence, the rule set, the day. Each test reads the view until it is remembered before the write,
so that the write has a remembered view to make stale."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from typing import Any

import pytest
from portfolio_helpers import (
    API,
    SPARE_ISINS,
    company_id,
    create_company,
    create_portfolio,
    holdings,
    load_content,
    resolve,
    risk,
    upload,
)
from tests.conftest import recent_evidence_body
from tests.scoring.ruleset_helpers import choose, publish

from hrdd.assessments.models import Assessment
from hrdd.db import SYSTEM, TenantContext, utcnow
from hrdd.evidence.service import (
    load_bundled_evidence,
    read_evidence_dataset,
    sync_evidence_dataset,
)
from hrdd.portfolios import service
from hrdd.scoring import service as scoring

QUESTIONNAIRE_KEY = "stap-surveillance"


@pytest.fixture
def computations(monkeypatch) -> list[int]:
    """One entry per view computed (not served as remembered)."""
    runs: list[int] = []
    compute = service._risk_of

    def counted(*args: Any, **kwargs: Any) -> Any:
        runs.append(1)
        return compute(*args, **kwargs)

    monkeypatch.setattr(service, "_risk_of", counted)
    return runs


def view(client, tenant, portfolio: str) -> dict[str, Any]:
    """The view, read until it is remembered: the first computation stores the scores, which
    moves their marks, so the second read computes again; the third is served as is."""
    first = risk(client, tenant.investor, portfolio)
    for _ in range(2):
        assert risk(client, tenant.investor, portfolio) == first
    return first


def held(client, tenant, isin: str) -> tuple[str, dict[str, Any]]:
    """A portfolio holding one line, by ISIN, and its view."""
    portfolio = create_portfolio(client, tenant.investor)
    imported = upload(client, tenant.investor, portfolio, f"isin,market_value\n{isin},100\n")
    assert imported.status_code == 200, imported.text
    return portfolio, holding(client, tenant, portfolio)


def holding(client, tenant, portfolio: str) -> dict[str, Any]:
    return view(client, tenant, portfolio)["holdings"][0]


def test_a_repeated_read_is_served_as_computed(client, tenant_a, db, content, computations):
    portfolio = create_portfolio(client, tenant_a.investor)
    upload(client, tenant_a.investor, portfolio, "name,ticker\nCellebrite,NASDAQ:CLBT\n")
    first = risk(client, tenant_a.investor, portfolio)
    # The first computation stores the scores, which moves their marks: one more.
    assert risk(client, tenant_a.investor, portfolio) == first
    assert len(computations) == 2
    for _ in range(3):
        assert risk(client, tenant_a.investor, portfolio) == first
    assert len(computations) == 2
    assert first["holdings"][0]["company_id"] == company_id(db, "cellebrite")
    assert first["holdings"][0]["assessed"] is True


def test_a_holdings_import_is_in_the_next_read(client, tenant_a, content):
    portfolio, before = held(client, tenant_a, SPARE_ISINS[0])
    assert before["isin"] == SPARE_ISINS[0]
    again = upload(client, tenant_a.investor, portfolio, "name,ticker\nCellebrite,NASDAQ:CLBT\n")
    assert again.status_code == 200, again.text
    after = holding(client, tenant_a, portfolio)
    assert after["name"] == "Cellebrite"
    assert after["assessed"] is True


def test_resolving_a_holding_is_in_the_next_read(client, tenant_a, db, content):
    portfolio = create_portfolio(client, tenant_a.investor)
    upload(client, tenant_a.investor, portfolio, "name\nNSO Group\n")
    before = holding(client, tenant_a, portfolio)
    assert before["assessed"] is False and before["resolution"] == "candidates"
    line = holdings(client, tenant_a.investor, portfolio)[0]
    nso = company_id(db, "nso-group")
    assert resolve(client, tenant_a.investor, portfolio, line["id"], nso).status_code == 200
    after = holding(client, tenant_a, portfolio)
    assert after["company_id"] == nso and after["assessed"] is True

    assert resolve(client, tenant_a.investor, portfolio, line["id"], None).status_code == 200
    assert holding(client, tenant_a, portfolio)["assessed"] is False


def test_an_assessment_of_a_held_company_is_in_the_next_read_once_submitted(
    client, tenant_a, db, content
):
    company = create_company(client, tenant_a, "Example Answers Ltd", isins=[SPARE_ISINS[0]])
    portfolio, unassessed = held(client, tenant_a, SPARE_ISINS[0])
    assert unassessed["assessed"] is False
    created = client.post(
        f"{API}/assessments",
        json={"company_id": company, "questionnaire_key": QUESTIONNAIRE_KEY},
        headers=tenant_a.investor,
    )
    assert created.status_code == 201, created.text
    assessment = created.json()["id"]
    etag = created.headers["ETag"]
    written = client.put(
        f"{API}/assessments/{assessment}/answers/EU1",
        json={"type": "disclosure", "level": "no"},
        headers=tenant_a.investor | {"If-Match": etag},
    )
    assert written.status_code == 200, written.text
    # A draft is work in progress: it does not stand for the holding.
    assert holding(client, tenant_a, portfolio)["assessed"] is False
    submit(db, tenant_a, assessment)
    submitted = holding(client, tenant_a, portfolio)
    assert submitted["assessment_id"] == assessment
    assert submitted["assessment_status"] == "submitted"


def submit(db, tenant, assessment: str) -> None:
    """Marks a draft submitted (the lifecycle's own rules are tested with the assessments)."""
    with db.session(TenantContext(tenant.organisation_id), write=True) as session:
        session.get(Assessment, uuid.UUID(assessment)).status = "submitted"


def test_evidence_on_a_held_company_is_in_the_next_read(client, tenant_a, content):
    company = create_company(client, tenant_a, "Example Evidence Ltd", isins=[SPARE_ISINS[0]])
    portfolio, before = held(client, tenant_a, SPARE_ISINS[0])
    assert before["assessed"] is False
    created = client.post(
        f"{API}/evidence", json=recent_evidence_body(company), headers=tenant_a.analyst
    )
    assert created.status_code == 201, created.text
    after = holding(client, tenant_a, portfolio)
    assert after["assessed"] is True and after["assessment_id"] is None


def test_choosing_another_rule_set_is_in_the_next_read(client, tenant_a, content):
    portfolio = create_portfolio(client, tenant_a.investor)
    upload(client, tenant_a.investor, portfolio, "name,ticker\nCellebrite,NASDAQ:CLBT\n")
    first = view(client, tenant_a, portfolio)
    default_id = client.get(f"{API}/rulesets/current", headers=tenant_a.investor).json()["version"][
        "id"
    ]
    created = client.post(f"{API}/rulesets/{default_id}/drafts", headers=tenant_a.analyst)
    assert created.status_code == 201, created.text
    published = publish(client, tenant_a.analyst, created.json()["id"])
    assert published.status_code == 200, published.text
    chosen = view(client, tenant_a, portfolio)
    assert chosen["ruleset_version"] != first["ruleset_version"]
    # The content hash names the rules exactly, as GET /rulesets shows them.
    assert chosen["ruleset_hash"] == published.json()["content_hash"] != first["ruleset_hash"]
    # A bundled version and the organisation's own edit may share a key and a number.
    assert (first["ruleset_bundled"], chosen["ruleset_bundled"]) == (True, False)
    exported = client.get(f"{API}/portfolios/{portfolio}/risk.csv", headers=tenant_a.investor)
    [row] = csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig")))
    assert row["ruleset"] == f"default v{chosen['ruleset_version']} (own edit)"

    rolled_back = choose(client, tenant_a.analyst, default_id)
    assert rolled_back.status_code == 200, rolled_back.text
    again = view(client, tenant_a, portfolio)
    assert (again["ruleset_version"], again["ruleset_bundled"]) == (first["ruleset_version"], True)


def test_ownership_links_added_and_removed_are_in_the_next_read(client, tenant_a, db, content):
    nso = company_id(db, "nso-group")
    parent = create_company(client, tenant_a, "Example Owner plc", isins=[SPARE_ISINS[1]])
    portfolio, before = held(client, tenant_a, SPARE_ISINS[1])
    assert before["assessed"] is False and before["exposure_via"] == []

    added = client.post(
        f"{API}/companies/{nso}/ownership",
        json={
            "owner_name": "Example Owner",
            "owner_kind": "private_equity",
            "owner_company_id": parent,
        },
        headers=tenant_a.analyst,
    )
    assert added.status_code == 201, added.text
    owning = holding(client, tenant_a, portfolio)
    assert owning["assessed"] is True and owning["basis"] == "ownership"
    assert [e["company_id"] for e in owning["exposure_via"]] == [nso]

    removed = client.delete(
        f"{API}/companies/{nso}/ownership/{added.json()['id']}", headers=tenant_a.analyst
    )
    assert removed.status_code == 204, removed.text
    after = holding(client, tenant_a, portfolio)
    assert after["assessed"] is False and after["exposure_via"] == []


def test_a_company_renamed_is_in_the_next_read(client, tenant_a, content):
    company = create_company(client, tenant_a, "Example Old Name Ltd", isins=[SPARE_ISINS[2]])
    portfolio, before = held(client, tenant_a, SPARE_ISINS[2])
    assert before["company_name"] == "Example Old Name Ltd"
    etag = client.get(f"{API}/companies/{company}", headers=tenant_a.analyst).headers["ETag"]
    renamed = client.put(
        f"{API}/companies/{company}",
        json={"name": "Example New Name Ltd", "isins": [SPARE_ISINS[2]]},
        headers=tenant_a.analyst | {"If-Match": etag},
    )
    assert renamed.status_code == 200, renamed.text
    after = holding(client, tenant_a, portfolio)
    assert after["company_name"] == after["name"] == "Example New Name Ltd"


def test_the_first_read_of_a_later_day_computes_again(
    client, tenant_a, content, computations, monkeypatch
):
    portfolio = create_portfolio(client, tenant_a.investor)
    upload(client, tenant_a.investor, portfolio, "name,ticker\nCellebrite,NASDAQ:CLBT\n")
    today = view(client, tenant_a, portfolio)
    tomorrow = utcnow() + dt.timedelta(days=1)
    for module in (service, scoring):
        monkeypatch.setattr(module, "utcnow", lambda: tomorrow)
    runs = len(computations)
    later = risk(client, tenant_a.investor, portfolio)
    assert len(computations) == runs + 1
    assert later["as_of"] == tomorrow.date().isoformat() != today["as_of"]


def test_another_organisation_neither_reads_nor_shares_the_view(
    client, tenant_a, tenant_b, db, content
):
    company = create_company(client, tenant_a, "Example Tenant Ltd", isins=[SPARE_ISINS[3]])
    created = client.post(
        f"{API}/assessments",
        json={"company_id": company, "questionnaire_key": QUESTIONNAIRE_KEY},
        headers=tenant_a.investor,
    )
    assert created.status_code == 201, created.text
    submit(db, tenant_a, created.json()["id"])
    portfolio_a, seen_by_a = held(client, tenant_a, SPARE_ISINS[3])
    assert seen_by_a["assessment_id"] == created.json()["id"]

    refused = client.get(f"{API}/portfolios/{portfolio_a}/risk", headers=tenant_b.investor)
    assert refused.status_code == 404
    # The same holding in the other organisation: a's assessment is not its score.
    _, seen_by_b = held(client, tenant_b, SPARE_ISINS[3])
    assert seen_by_b["assessed"] is False


def _evidence_dir(directory, end: str | None) -> None:
    """An owner and the company it owns, with one incident, as the content loader reads
    them; ``end`` ends the stake."""
    source = (
        "    sources:\n      - publisher: Example Registry\n        title: A filing\n"
        "        date: 2021-02-03\n        url: https://registry.example.org/filing\n"
    )
    (directory / "example-owner.yaml").write_text(
        "company:\n  slug: example-owner\n  name: Example Owner Holdings plc\n"
        "  country: IL\n  categories: [spyware_intrusion]\n  listing_status: listed\n"
        f"  identifiers:\n    isins: [{SPARE_ISINS[1]}]\n"
    )
    (directory / "example-owned.yaml").write_text(
        "company:\n  slug: example-owned\n  name: Example Owned Ltd\n"
        "  country: IL\n  categories: [spyware_intrusion]\n  listing_status: private\n"
        "ownership:\n  - owner_name: Example Owner\n    owner_kind: private_equity\n"
        "    owner_company_slug: example-owner\n    start: 2020-01-01\n"
        + (f"    end: {end}\n" if end else "")
        + source
        + "incidents:\n  - id: example-owned-2021-forensic\n    event_date: 2021-01-01\n"
        "    event_date_precision: day\n    published_date: 2021-02-03\n"
        "    type: forensic_finding\n"
        "    title: Spyware found on a journalist's phone\n"
        "    summary: A lab found the company's spyware on the phone of a journalist.\n"
        "    affected_groups: [journalists]\n    countries: [MX]\n    severity: 4\n"
        "    severity_rationale: A journalist's communications were exposed.\n"
        "    company_role: contributed\n    role_rationale: The company sold the spyware.\n"
        "    status: ongoing\n"
        + source.replace("Example Registry", "Example Lab").replace(
            "        url:", "        source_class: forensic_lab\n        url:"
        )
    )


def test_an_ownership_link_the_content_loader_changes_is_in_the_next_read(
    client, tenant_a, db, settings, tmp_path
):
    load_content(db, settings)
    _evidence_dir(tmp_path, end=None)
    loaded = settings.model_copy(update={"evidence_dir": tmp_path})
    load_bundled_evidence(db, loaded)
    portfolio, before = held(client, tenant_a, SPARE_ISINS[1])
    assert before["basis"] == "ownership"
    assert [e["current"] for e in before["exposure_via"]] == [True]

    # The loader's write alone (it rescores next, which must not be what tells the view).
    _evidence_dir(tmp_path, end="2021-12-31")
    with db.session(SYSTEM, write=True) as session:
        sync_evidence_dataset(session, read_evidence_dataset(tmp_path))
    after = holding(client, tenant_a, portfolio)
    assert [e["current"] for e in after["exposure_via"]] == [False]
    assert after["assessed"] is False
