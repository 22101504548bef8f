"""Test data for the access matrix and the API fuzzing: the bundled reference content, and one
organisation's private objects of every kind, all made through the API.

Everything an organisation makes here carries its `marker` (a string no other data contains) in
its names and free text, so a test can prove that none of it shows up in another organisation's
responses: `World.secrets()` lists the marker, the organisation's name and the ids of every
private object it owns (read back through its own list routes, so objects the service makes by
itself, such as screening evidence, count too).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from pypdf import PdfReader
from sqlalchemy import select
from tests.conftest import Tenant

from hrdd.companies.models import Company
from hrdd.config import Settings
from hrdd.content import load_bundled_content
from hrdd.db import SYSTEM, Database

API = "/api/v1"
SCREENING_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "screening" / "csl_sample.csv"
# Bundled companies (slugs of evidence/*.yaml). The worlds assess, hold and write evidence about
# the first; the screening sample lists the second (and not the first: see `_make_screening`).
ASSESSED_COMPANY = "cellebrite"
SCREENED_COMPANY = "sandvine"
TEXT_QUESTION = "P3"
DISCLOSURE_QUESTION = "P1"
EXPORT_FORMATS = ("csv", "xlsx", "json")


@dataclass(frozen=True)
class SharedObjects:
    """Reference data every organisation sees: bundled companies, questionnaire and rules."""

    company_id: str
    screened_company_id: str
    questionnaire_key: str
    questionnaire_version: str
    ruleset_id: str


@dataclass
class World:
    """One organisation's private objects (ids as strings), made through the API."""

    tenant: Tenant
    marker: str
    shared: SharedObjects
    # A company the organisation made and an ownership link it added to the shared company,
    # both private to it.
    company_id: str = ""
    link_id: str = ""
    assessment_id: str = ""
    file_id: str = ""
    evidence_id: str = ""
    commitment_id: str = ""
    import_id: str = ""
    match_id: str = ""
    draft_id: str = ""
    published_ruleset_id: str = ""
    portfolio_id: str = ""
    holding_id: str = ""
    job_id: str = ""
    spare_key_id: str = ""
    spare_key_secret: str = ""
    private_ids: set[str] = field(default_factory=set)

    def path_values(self) -> dict[str, str]:
        """A value for every path parameter of the API: this world's object where the
        parameter names a private one, shared reference data otherwise."""
        return {name: value_of(self) for name, value_of in PATH_PARAMETERS.items()}

    def secrets(self) -> list[str]:
        """Strings that must never reach another organisation."""
        named = {self.marker, self.tenant.name, str(self.tenant.organisation_id)}
        return sorted(named | self.private_ids)


# Every path parameter name the API uses, and which of a world's objects (or shared reference
# data) it takes. A route with a parameter not named here fails the classification test.
PATH_PARAMETERS: dict[str, Callable[[World], str]] = {
    "key_id": lambda world: world.spare_key_id,
    "company_id": lambda world: world.shared.company_id,
    "link_id": lambda world: world.link_id,
    "key": lambda world: world.shared.questionnaire_key,
    "version": lambda world: world.shared.questionnaire_version,
    "question_id": lambda world: TEXT_QUESTION,
    "assessment_id": lambda world: world.assessment_id,
    "file_id": lambda world: world.file_id,
    "evidence_id": lambda world: world.evidence_id,
    "commitment_id": lambda world: world.commitment_id,
    "import_id": lambda world: world.import_id,
    "match_id": lambda world: world.match_id,
    "version_id": lambda world: world.draft_id,
    "draft_id": lambda world: world.draft_id,
    "portfolio_id": lambda world: world.portfolio_id,
    "holding_id": lambda world: world.holding_id,
    "job_id": lambda world: world.job_id,
    "export_format": lambda world: "json",
}


def load_shared_content(
    client: TestClient, db: Database, settings: Settings, reader: Tenant
) -> SharedObjects:
    """Load the bundled content (inside the test's transaction when `db` is pinned), as
    `hrdd load` does, and name the reference objects the worlds use."""
    load_bundled_content(db, settings)
    with db.session(SYSTEM) as session:
        ids = dict(
            session.execute(
                select(Company.slug, Company.id).where(
                    Company.slug.in_([ASSESSED_COMPANY, SCREENED_COMPANY])
                )
            ).all()
        )
    company_id = str(ids[ASSESSED_COMPANY])
    questionnaire = _ok(client.get(f"{API}/questionnaires", headers=reader.investor))["items"][0]
    ruleset = _ok(client.get(f"{API}/rulesets/current", headers=reader.investor))["version"]
    return SharedObjects(
        company_id=company_id,
        screened_company_id=str(ids[SCREENED_COMPANY]),
        questionnaire_key=questionnaire["key"],
        questionnaire_version=questionnaire["version"],
        ruleset_id=ruleset["id"],
    )


def build_world(client: TestClient, tenant: Tenant, shared: SharedObjects, marker: str) -> World:
    """Make one object of every private kind for `tenant`, each carrying `marker`."""
    world = World(tenant=tenant, marker=marker, shared=shared)
    _make_company(client, world)
    _make_assessment(client, world)
    _make_evidence(client, world)
    _make_screening(client, world)
    _make_rulesets(client, world)
    _make_portfolio(client, world)
    key = _ok(
        client.post(
            f"{API}/api-keys",
            json={"name": f"{marker} spare key", "role": "investor"},
            headers=tenant.admin,
        ),
        201,
    )
    world.spare_key_id, world.spare_key_secret = key["id"], key["key"]
    world.private_ids = _private_ids(client, world)
    return world


def answer_payloads(world: World, *, with_file: bool = True) -> dict[str, dict[str, Any]]:
    """Answers that carry the world's marker (and cite its uploaded file)."""
    evidence: dict[str, Any] = {"url": "https://example.org/policy", "title": f"{world.marker}"}
    if with_file and world.file_id:
        evidence["file_id"] = world.file_id
    return {
        TEXT_QUESTION: {"type": "text", "value": f"Engagement note {world.marker}"},
        DISCLOSURE_QUESTION: {
            "type": "disclosure",
            "level": "partial",
            "comment": f"Reviewed by {world.marker}",
            "evidence": [evidence],
        },
    }


def evidence_body(world: World) -> dict[str, Any]:
    return {
        "company_id": world.shared.company_id,
        "event_date": "2021-07-18",
        "type": "forensic_finding",
        "title": f"Private finding {world.marker}",
        "summary": f"An analyst's own note on a device examination, {world.marker}.",
        "severity": 4,
        "company_role": "contributed",
        "sources": [
            {
                "publisher": "Example Research Lab",
                "title": f"Notes {world.marker}",
                "date": "2021-07-18",
                "url": "https://example.org/notes",
                "source_class": "forensic_lab",
            }
        ],
    }


def commitment_body(world: World) -> dict[str, Any]:
    return {
        "company_id": world.shared.company_id,
        "date": "2021-06-30",
        "title": f"Promise on record {world.marker}",
        "claim": f"The company told us it would suspend misusing clients, {world.marker}.",
        "source": {
            "publisher": "Example Engagement Log",
            "title": f"Call notes {world.marker}",
            "date": "2021-06-30",
            "url": "https://example.org/call",
        },
        "question_ids": [DISCLOSURE_QUESTION],
        "fulfilment": "self_reported",
        "fulfilment_rationale": f"Only the company's word, {world.marker}.",
    }


def holdings_csv(world: World) -> bytes:
    return (f"name,market_value\nCellebrite,1000\n{world.marker} Widgets plc,250\n").encode()


def screening_upload(world: World) -> dict[str, Any]:
    return {
        "files": {"file": (f"{world.marker}.csv", SCREENING_SAMPLE.read_bytes(), "text/csv")},
        "data": {"snapshot_date": "2024-10-01"},
    }


def searchable_text(response: Response) -> str:
    """Everything a response tells its reader: headers and body, with PDFs, spreadsheets and
    other zip containers opened up so text inside compressed streams is seen too."""
    parts = [f"{name}: {value}" for name, value in response.headers.items()]
    body = response.content
    parts.append(body.decode("utf-8", errors="replace"))
    if body.startswith(b"%PDF"):
        reader = PdfReader(io.BytesIO(body))
        parts.extend(page.extract_text() or "" for page in reader.pages)
        parts.append(json.dumps(reader.metadata or {}, default=str))
    elif body.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            parts.extend(
                archive.read(name).decode("utf-8", errors="replace") for name in archive.namelist()
            )
    return "\n".join(parts)


# --- builders ------------------------------------------------------------------------------------


def _ok(response: Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


def _make_assessment(client: TestClient, world: World) -> None:
    tenant = world.tenant
    created = client.post(
        f"{API}/assessments",
        json={
            "company_id": world.shared.company_id,
            "questionnaire_key": world.shared.questionnaire_key,
        },
        headers=tenant.investor,
    )
    world.assessment_id = _ok(created, 201)["id"]
    url = f"{API}/assessments/{world.assessment_id}"
    uploaded = client.post(
        f"{url}/files",
        files={"file": (f"{world.marker}.txt", f"Minutes {world.marker}".encode(), "text/plain")},
        headers=tenant.investor,
    )
    world.file_id = _ok(uploaded, 201)["id"]
    answered = client.patch(
        f"{url}/answers",
        json={"answers": answer_payloads(world)},
        headers={**tenant.investor, "If-Match": created.headers["ETag"]},
    )
    _ok(answered)


def _make_company(client: TestClient, world: World) -> None:
    headers = world.tenant.analyst
    # Private to its maker, like its name: no other organisation may find it.
    made = client.post(
        f"{API}/companies", json={"name": f"Example Optics {world.marker}"}, headers=headers
    )
    world.company_id = _ok(made, 201)["id"]
    link = client.post(
        f"{API}/companies/{world.shared.company_id}/ownership",
        json={"owner_name": f"Stake of {world.marker}", "owner_kind": "fund", "percentage": "5"},
        headers=headers,
    )
    world.link_id = _ok(link, 201)["id"]


def _make_evidence(client: TestClient, world: World) -> None:
    headers = world.tenant.analyst
    item = client.post(f"{API}/evidence", json=evidence_body(world), headers=headers)
    world.evidence_id = _ok(item, 201)["id"]
    commitment = client.post(f"{API}/commitments", json=commitment_body(world), headers=headers)
    world.commitment_id = _ok(commitment, 201)["id"]


def _make_screening(client: TestClient, world: World) -> None:
    # The sample lists none of the companies the world assesses or holds: listing evidence made
    # by an import has no severity, and scoring refuses such an item (a 409 on every score of
    # that company), which is reported and not what these tests are about.
    headers = world.tenant.analyst
    run = client.post(f"{API}/screening/imports", headers=headers, **screening_upload(world))
    world.import_id = _ok(run, 201)["id"]
    matches = _ok(client.get(f"{API}/screening/matches", headers=headers))["items"]
    assert matches, "the screening sample should leave a grey-zone match to review"
    world.match_id = matches[0]["id"]


def _make_rulesets(client: TestClient, world: World) -> None:
    headers = world.tenant.analyst
    source = world.shared.ruleset_id
    published = _ok(client.post(f"{API}/rulesets/{source}/drafts", headers=headers), 201)
    document = {**published["content"], "title": f"House rules {world.marker}"}
    etag = world_etag(client, world, f"/rulesets/{published['id']}")
    edited = client.put(
        f"{API}/rulesets/drafts/{published['id']}",
        json=document,
        headers={**headers, "If-Match": etag},
    )
    _ok(edited)
    # Publishing needs the publisher's own preview of the draft as it stands.
    previewed = _ok(
        client.post(f"{API}/rulesets/drafts/{published['id']}/preview", headers=headers)
    )
    publish = client.post(
        f"{API}/rulesets/drafts/{published['id']}/publish",
        json={"make_current": False, "comment": f"Published {world.marker}"},
        headers={**headers, "If-Match": previewed["draft_etag"]},
    )
    world.published_ruleset_id = _ok(publish)["id"]
    draft = _ok(client.post(f"{API}/rulesets/{source}/drafts", headers=headers), 201)
    world.draft_id = draft["id"]


def _make_portfolio(client: TestClient, world: World) -> None:
    headers = world.tenant.investor
    created = client.post(
        f"{API}/portfolios",
        json={
            "name": f"Fund {world.marker}",
            "base_currency": "EUR",
            "description": f"Positions of {world.marker}",
        },
        headers=headers,
    )
    world.portfolio_id = _ok(created, 201)["id"]
    url = f"{API}/portfolios/{world.portfolio_id}"
    imported = client.post(
        f"{url}/holdings/import",
        files={"file": ("holdings.csv", holdings_csv(world), "text/csv")},
        headers=headers,
    )
    _ok(imported)
    holdings = _ok(client.get(f"{url}/holdings", headers=headers))["items"]
    world.holding_id = holdings[-1]["id"]
    job = client.post(f"{url}/reports", json={"page_size": "A4"}, headers=headers)
    world.job_id = _ok(job, 202)["id"]


def world_etag(client: TestClient, world: World, path: str) -> str:
    response = client.get(f"{API}{path}", headers=world.tenant.analyst)
    assert response.status_code == 200, response.text
    return response.headers["ETag"]


def _private_ids(client: TestClient, world: World) -> set[str]:
    """Ids of everything the organisation owns, read through its own list routes."""
    headers = world.tenant.admin
    shared = world.shared
    lists = [
        "/assessments",
        "/portfolios",
        f"/portfolios/{world.portfolio_id}/holdings",
        "/screening/imports",
        "/screening/matches",
        "/rulesets",
        "/api-keys",
    ]
    for company in (shared.company_id, shared.screened_company_id):
        lists += [f"/companies/{company}/evidence", f"/companies/{company}/commitments"]
    ids = {
        world.company_id,
        world.file_id,
        world.job_id,
        world.link_id,
        *(str(key_id) for key_id in world.tenant.key_ids.values()),
    }
    for path in lists:
        for item in _ok(client.get(f"{API}{path}", params={"limit": 500}, headers=headers))[
            "items"
        ]:
            if item.get("shared") is True:
                continue
            ids.add(item["id"])
            ids.update(str(item[name]) for name in ("evidence_id",) if item.get(name))
    return ids
