"""Factories for the evidence tests: request bodies and small curated datasets.

The curated companies here are fictional (example.org sources); the shipped `evidence/` folder
is exercised separately.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import shared_company

# Apple Inc.'s real ISIN: any valid ISIN serves a fictional control company.
CONTROL_ISIN = "US0378331005"

Body = dict[str, Any]


def _source(**extra: Any) -> Body:
    return {
        "publisher": "Example Research Lab",
        "title": "Findings on the example implant",
        "date": "2020-06-15",
        "url": "https://example.org/report",
        **extra,
    }


@pytest.fixture
def company_id(db) -> str:
    """Shared, so the tests see what one organisation's evidence shows another of it."""
    return shared_company(db, "Example Intrusion Ltd")


@pytest.fixture
def other_company_id(db) -> str:
    return shared_company(db, "Unrelated Sensors AG")


@pytest.fixture
def evidence_body() -> Callable[..., Body]:
    def make(company_id: str, **overrides: Any) -> Body:
        body = {
            "company_id": company_id,
            "event_date": "2020-06-01",
            "published_date": "2020-06-15",
            "type": "forensic_finding",
            "title": "Implant found on a journalist's phone",
            "summary": "A lab found the company's implant on the phone of a reporter.",
            "affected_groups": ["journalists"],
            "countries": ["MA"],
            "severity": 4,
            "company_role": "contributed",
            "sources": [_source(source_class="forensic_lab")],
        }
        body.update(overrides)
        if "sources" not in overrides:
            # A source reports the event, so it is dated on or after it.
            body["sources"][0]["date"] = body.get("published_date") or body["event_date"]
        return body

    return make


@pytest.fixture
def commitment_body() -> Callable[..., Body]:
    def make(company_id: str, **overrides: Any) -> Body:
        body = {
            "company_id": company_id,
            "date": "2019-09-10",
            "title": "Human rights policy",
            "claim": "The company said it investigates every credible allegation of misuse.",
            "source": _source(publisher="Example Intrusion Ltd", title="Our policy"),
            "question_ids": ["P1"],
            "fulfilment": "self_reported",
            "fulfilment_rationale": "Only the company's own word supports it.",
        }
        body.update(overrides)
        if body["fulfilment"] == "verified" and "fulfilment_sources" not in overrides:
            body["fulfilment_sources"] = [_source(publisher="Example Auditor", title="Audit")]
        return body

    return make


def _incident(incident_id: str, **overrides: Any) -> Body:
    incident = {
        "id": incident_id,
        "event_date": "2020-06-01",
        "event_date_precision": "day",
        "published_date": "2020-06-15",
        "type": "forensic_finding",
        "title": "Implant found on a reporter's phone",
        "summary": "A research lab found the example implant on the phone of a reporter.",
        "affected_groups": ["journalists"],
        "countries": ["MA"],
        "severity": 4,
        "severity_rationale": "Covert access to a reporter's sources cannot be undone.",
        "company_role": "contributed",
        "role_rationale": "The company sold and supported the implant.",
        "status": "ongoing",
        "sources": [_source(source_class="forensic_lab")],
    }
    incident.update(overrides)
    if "sources" not in overrides:
        # A source reports the event, so it is dated on or after it.
        incident["sources"][0]["date"] = incident["published_date"]
    return incident


def _example_dataset() -> dict[str, Body]:
    spyware = {
        "company": {
            "slug": "example-spyware",
            "name": "Example Spyware Ltd",
            "aliases": ["Example Cyber"],
            "country": "IL",
            "categories": ["spyware_intrusion"],
            "listing_status": "private",
        },
        "ownership": [
            {
                "owner_name": "Example Utility plc",
                "owner_kind": "company",
                "owner_company_slug": "example-utility",
                "percentage": 70,
                "percentage_is_approximate": True,
                "start": "2019-02-01",
                "start_precision": "month",
                "sources": [_source(title="Example buys a stake"), _source(title="Second report")],
            }
        ],
        "incidents": [
            _incident("example-2020-forensic"),
            _incident(
                "example-2021-entity-list",
                event_date="2021-11-03",
                published_date="2021-11-03",
                type="trade_restriction_listing",
                title="Added to a trade-restriction list",
                summary="A government added the company to its export-restriction list.",
                severity=3,
                sources=[_source(source_class="court_or_government_record", date="2021-11-03")],
                related_listing={
                    "list_name": "Entity List (EL) - Bureau of Industry and Security",
                    "start_date": "2021-11-03",
                },
            ),
        ],
        "commitments": [
            {
                "id": "example-2019-policy",
                "date": "2019-09-10",
                "title": "Human rights policy",
                "claim": "The company said it would investigate every credible allegation.",
                "source": _source(publisher="Example Spyware Ltd", title="Policy"),
                "question_ids": ["P1"],
                "fulfilment": "contradicted",
                "fulfilment_rationale": "A reporter was targeted after the policy came out.",
                "contradicted_by": ["example-2020-forensic"],
            }
        ],
    }
    utility = {
        "company": {
            "slug": "example-utility",
            "name": "Example Utility plc",
            "country": "GB",
            "listing_status": "listed",
            "control": True,
            "identifiers": {"isins": [CONTROL_ISIN]},
        }
    }
    return {"example-spyware": spyware, "example-utility": utility}


@pytest.fixture
def example_dataset() -> dict[str, Body]:
    """Two fictional company files as data; edit a copy, then write it with `write_dataset`."""
    return copy.deepcopy(_example_dataset())


@pytest.fixture
def write_dataset(tmp_path: Path) -> Callable[[dict[str, Body]], Path]:
    folder = tmp_path / "evidence"

    def write(documents: dict[str, Body]) -> Path:
        folder.mkdir(exist_ok=True)
        for old in folder.glob("*.yaml"):
            old.unlink()
        for slug, document in documents.items():
            (folder / f"{slug}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        return folder

    return write
