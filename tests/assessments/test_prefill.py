"""Questions the questionnaire pre-fills from the evidence registry (EU4: a listing in force;
R1: how many forensic findings are recorded). The guidance promised it and nothing did it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from tests.portfolios.portfolio_helpers import company_id, load_content

from hrdd.assessments.service import _prefill_actor
from hrdd.auth.service import Principal
from hrdd.vocab import Role

ASSESSMENTS = "/api/v1/assessments"


@pytest.fixture
def content(db, settings) -> None:
    load_content(db, settings)


def start(client, tenant, company: str) -> dict[str, Any]:
    response = client.post(
        ASSESSMENTS,
        json={"company_id": company, "questionnaire_key": "stap-surveillance"},
        headers=tenant.investor,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_new_draft_of_nso_is_pre_filled_from_its_record(client, tenant_a, db, content):
    draft = start(client, tenant_a, company_id(db, "nso-group"))
    answers = {qid: answer["payload"] for qid, answer in draft["answers"].items()}
    assert set(answers) == {"EU4", "R1"}

    listing = answers["EU4"]
    assert listing["level"] == "full"
    assert [source["title"] for source in listing["evidence"]] == [
        "Commerce Adds NSO Group and Other Foreign Companies to Entity List for Malicious Cyber "
        "Activities"
    ]
    assert listing["comment"].startswith("Pre-filled on ")
    assert "check it against your own research" in listing["comment"]

    # The four forensic findings on record, each citing its first source.
    findings = answers["R1"]
    assert (findings["value"], findings["unit"]) == ("4", "allegations")
    publishers = [source["publisher"] for source in findings["evidence"]]
    assert publishers == ["Citizen Lab", "Amnesty International", "Citizen Lab", "Citizen Lab"]
    assert {source["source"] for source in findings["evidence"]} == {"independent"}

    history = client.get(f"{ASSESSMENTS}/{draft['id']}/history", headers=tenant_a.investor)
    set_events = [e for e in history.json()["items"] if e["action"] == "answer_set"]
    assert {e["field"] for e in set_events} == {"answers.EU4", "answers.R1"}
    # The registry gave these answers, not the investor: both the answers and the history say
    # so, naming the key that started the draft; the creation stays the investor's.
    created = next(e for e in history.json()["items"] if e["action"] == "created")
    starter = created["actor_name"]
    prefill = f"evidence registry pre-fill, on starting the draft by {starter}"
    assert {e["actor_name"] for e in set_events} == {prefill}
    assert {answer["updated_by"] for answer in draft["answers"].values()} == {prefill}


def test_a_listing_that_ended_is_not_pre_filled(client, tenant_a, db, content):
    """Sandvine left the Entity List in October 2024: EU4 is left for the investor."""
    draft = start(client, tenant_a, company_id(db, "sandvine"))
    assert "EU4" not in draft["answers"]
    assert draft["answers"]["R1"]["payload"]["value"] == "2"


def test_nothing_is_pre_filled_where_the_registry_holds_nothing(client, tenant_a, db, content):
    """'No listing' and '0' need the investor's own check."""
    draft = start(client, tenant_a, company_id(db, "nestle"))
    assert draft["answers"] == {}


def _delisting_of_nso(client, tenant, nso: str, source: dict[str, Any]) -> None:
    response = client.post(
        "/api/v1/evidence",
        json={
            "company_id": nso,
            "event_date": "2025-01-10",
            "type": "delisting",
            "title": "NSO Group removed from the Entity List",
            "summary": "A removal of the company from the US Entity List.",
            "severity": 1,
            "company_role": "caused",
            "related_listing": {"list_name": "entity list (EL) -  Bureau of Industry and Security"},
            "sources": [source],
        },
        headers=tenant.analyst,
    )
    assert response.status_code == 201, response.text


def test_a_removal_on_the_companys_word_alone_leaves_the_listing_pre_filled(
    client, tenant_a, tenant_b, db, content
):
    """A delisting only NSO vouches for ends no listing in the default rules' score, so the
    questionnaire does not treat it as ended either. (Each organisation records its own
    delisting: the items are private to it.)"""
    nso = company_id(db, "nso-group")
    company_says = {
        "publisher": "NSO Group",
        "title": "Statement on our listing",
        "date": "2025-01-10",
        "url": "https://example.org/nso-statement",
        "source_class": "company_statement",
    }
    _delisting_of_nso(client, tenant_a, nso, company_says)
    assert start(client, tenant_a, nso)["answers"]["EU4"]["payload"]["level"] == "full"

    government = company_says | {
        "publisher": "US Department of Commerce",
        "url": "https://example.org/federal-register",
        "source_class": "court_or_government_record",
    }
    _delisting_of_nso(client, tenant_b, nso, government)
    assert "EU4" not in start(client, tenant_b, nso)["answers"]


def test_a_remedied_finding_still_counts_as_an_allegation(client, tenant_a, db, content):
    """Cellebrite's first forensic finding (Serbia, December 2024) is closed by its suspension
    of the customer: it is still an allegation on record beside the second (February 2025), so
    R1 counts both and R2 and R3, which ask how the company responded, are shown (the investor
    review: R1 was left empty, and answering 0 hid them)."""
    draft = start(client, tenant_a, company_id(db, "cellebrite"))
    findings = draft["answers"]["R1"]["payload"]
    assert findings["value"] == "2"
    assert [source["publisher"] for source in findings["evidence"]] == [
        "Amnesty International",
        "OBC Transeuropa (Osservatorio Balcani Caucaso)",
    ]
    shown = client.get(f"{ASSESSMENTS}/{draft['id']}", headers=tenant_a.investor).json()
    assert {"R2", "R3"} <= set(shown["visible_question_ids"])


def test_a_long_key_name_is_shortened_to_fit_not_the_registrys_part():
    """Key names take 200 characters, as the answer's and the audit's columns do: the
    pre-fill's author keeps its words and the key's name gives way."""
    long_name = Principal(uuid.uuid4(), "k" * 200, Role.investor, uuid.uuid4(), "Aurora")
    name = _prefill_actor(long_name).key_name
    assert len(name) == 200
    assert name.startswith("evidence registry pre-fill, on starting the draft by kkk")
    assert name.endswith("k…")
