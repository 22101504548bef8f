"""The issue's "done when": a full assessment of NSO Group from draft through return and
approval, then reopened as a new version, with the questionnaire version frozen.

The answers rest on the dated public facts in shared/reference (questionnaire-basis.md and
evidence-sources.md). Where those facts do not settle a question, the answer is
`no_information` rather than a guess. Evidence items name the publisher, a descriptive title
and the date as the reference gives it (no date where only the month is known); they point at
an uploaded file of source notes instead of web addresses, which we could not verify here.
The investor-position answers (IN*) describe the fictional test investor, not NSO Group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from assessment_helpers import (
    BUNDLED_KEY,
    disclosure,
    error_paths,
    evidence,
    patch_answers,
    post_action,
    put_answer,
    read,
    upload,
    url,
)
from fastapi.testclient import TestClient

from hrdd.config import Settings
from hrdd.db import Database
from hrdd.errors import Invalid
from hrdd.questionnaires.schemas import Questionnaire
from hrdd.questionnaires.service import load_bundled_questionnaires

SOURCE_NOTES = """Source notes for the NSO Group assessment (our own summary of public sources)
- NSO Group, human rights policy, 10 Sep 2019: due diligence in its processes, a pre-sale
  review of each country's human rights record, contracts limiting use to serious crime and
  terrorism, attention to groups at risk.
- Amnesty International, Oct 2019: two Moroccan human rights defenders targeted after the
  policy was published.
- WhatsApp (Meta), 29 Oct 2019: lawsuit against NSO over attacks on about 1,400 users.
- Citizen Lab, 24 Aug 2016: Pegasus indicators from the attack on Ahmed Mansoor.
- Citizen Lab, 20 Dec 2020: 36 phones of Al Jazeera staff hacked in Jul-Aug 2020.
- Access Now, Amnesty, CPJ, HRW and others, open letter, 27 Apr 2021: most commitments unmet.
- NSO Group, first transparency report, 30 Jun 2021: 12 misuse reviews in 2020,
  5 investigations, 1 customer terminated, 55 countries vetoed. Amnesty: it omits remedy and
  litigation.
- Forbidden Stories and Amnesty Security Lab, Pegasus Project, 18 Jul 2021: Pegasus traces on
  37 of 67 phones examined.
- US Department of Commerce, 3 Nov 2021: NSO Group added to the Entity List (some reports give
  2 Nov for the announcement and 4 Nov for the Federal Register).
- Press (the Guardian and others), Nov 2021: devices of six Palestinian defenders hacked.
- NGO letter, Feb 2019: poor cooperation of NSO with Mexico's investigation.
- Access Now, 2022: asks Bulgaria and Cyprus to review NSO's export licences.
"""


def nso_sources(file_id: str) -> dict[str, dict[str, Any]]:
    def source(title: str, publisher: str, source_date: str | None = None) -> dict[str, Any]:
        return evidence(title, publisher, source_date, file_id=file_id)

    return {
        "policy": source("NSO Group human rights policy", "NSO Group", "2019-09-10"),
        "transparency": source("NSO Group's first transparency report", "NSO Group", "2021-06-30"),
        "entity_list": source(
            "NSO Group and Candiru added to the Entity List",
            "US Department of Commerce",
            "2021-11-03",
        ),
        "mansoor": source(
            "Pegasus indicators from the attack on Ahmed Mansoor", "Citizen Lab", "2016-08-24"
        ),
        "morocco": source(
            "Moroccan human rights defenders targeted after the policy", "Amnesty International"
        ),
        "al_jazeera": source("Phones of Al Jazeera staff hacked", "Citizen Lab", "2020-12-20"),
        "pegasus_project": source(
            "Pegasus Project forensic findings",
            "Forbidden Stories; Amnesty Security Lab",
            "2021-07-18",
        ),
        "palestinian_hrds": source(
            "Devices of six Palestinian human rights defenders hacked", "The Guardian"
        ),
        "open_letter": source(
            "Open letter: most of NSO's commitments remain unfulfilled",
            "Access Now, Amnesty, CPJ, HRW and others",
            "2021-04-27",
        ),
        "whatsapp": source("WhatsApp lawsuit against NSO Group", "WhatsApp (Meta)", "2019-10-29"),
        "mexico": source("NGO letter on NSO's cooperation with Mexico's investigation", "NGOs"),
        "licences": source(
            "Call to review NSO's export licences in Bulgaria and Cyprus", "Access Now"
        ),
        "notes": source("Analyst source notes on NSO Group", "Aurora Pension Fund (test investor)"),
    }


def nso_answers(s: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every answer except EX5 (answered first, to show the conditional questions appear) and
    the forensic count R1 (whose first version the analyst sends back)."""
    unknown = "no_information"
    return {
        "EX1": {
            "type": "multiple_choice",
            "values": ["spyware_intrusion"],
            "evidence": [s["mansoor"], s["pegasus_project"]],
            "comment": "Pegasus.",
        },
        "EX3": disclosure(
            unknown,
            comment="Customers are not named; our sources show use against journalists and "
            "defenders but do not establish sales into conflict-affected areas as such.",
        ),
        "EX4": disclosure("no", s["notes"], comment="Structure known from investigations only."),
        "P1": disclosure(
            "partial",
            s["policy"],
            s["open_letter"],
            comment="Policy published 10 Sep 2019; NGOs say most commitments remain unmet.",
        ),
        "P2": disclosure("partial", s["policy"], comment="At-risk groups named, no safeguards."),
        "P3": {
            "type": "text",
            "value": "The 2019 policy was said to be certified by a former official; that "
            "certification was later contested, so it is not an independent review.",
            "evidence": [s["notes"]],
        },
        "G1": disclosure(unknown),
        "G2": disclosure(unknown),
        "G3": {
            "type": "single_choice",
            "value": "internal_committee",
            "evidence": [s["notes"]],
            "comment": "The advisory committee was staffed by the company and its owner.",
        },
        "G4": disclosure(unknown),
        "DD1": disclosure("partial", s["policy"], comment="Said to happen; no method published."),
        "DD2": disclosure("partial", s["policy"]),
        "DD3": disclosure(
            "partial", s["policy"], comment="The company claims a pre-sale country review."
        ),
        "DD4": disclosure(unknown),
        "DD5": disclosure(unknown),
        "DD7": disclosure(unknown),
        "EU1": disclosure(unknown),
        "EU2": disclosure(unknown),
        "EU3": {
            "type": "text",
            "value": "Licences in Bulgaria and Cyprus are implied by Access Now's 2022 call to "
            "review them; the holding entities are not verified.",
            "evidence": [s["licences"]],
        },
        "EU3a": {"type": "single_choice", "value": "no"},
        "EU4": disclosure(
            "full",
            s["entity_list"],
            comment="Listed on 3 Nov 2021; some reports give 2 Nov (announcement) or 4 Nov "
            "(Federal Register).",
        ),
        "EU5": disclosure("partial", s["transparency"], comment="Only aggregate figures."),
        "EU6": disclosure(
            "partial", s["policy"], s["transparency"], comment="55 countries vetoed (2021 report)."
        ),
        "DS1": disclosure(unknown),
        "DS2": {"type": "single_choice", "value": "claims_no_visibility", "evidence": [s["notes"]]},
        "DS3": disclosure(unknown),
        "C1": disclosure("partial", s["policy"]),
        "C2": disclosure(unknown),
        "C3": {
            "type": "number",
            "value": 1,
            "unit": "customers",
            "evidence": [s["transparency"]],
            "comment": "One customer terminated, reported for 2020.",
        },
        "C4": disclosure(unknown),
        "C5": disclosure("full", s["transparency"], comment="Self-reported; customer not named."),
        "T1": disclosure(
            "partial", s["transparency"], comment="Amnesty: it omits remedy and litigation."
        ),
        "T2": disclosure("no", s["whatsapp"], comment="The WhatsApp lawsuit is not disclosed."),
        "T3": disclosure("no", s["notes"], comment="Only the contested certification."),
        "T4": disclosure(unknown),
        "GR1": disclosure(unknown),
        "GR3": disclosure("no", s["transparency"], comment="The report omits remedy."),
        "GR4": disclosure("partial", s["mexico"], comment="Poor cooperation reported in Mexico."),
        "R2": {
            "type": "single_choice",
            "value": "no_response",
            "evidence": [s["notes"]],
            "comment": "Citizen Lab's questions on at least 31 cases went largely unanswered.",
        },
        "R3": disclosure(
            "partial", s["transparency"], comment="12 reviews, 5 investigations; no outcomes."
        ),
        "R4": disclosure(unknown),
        "IN1": disclosure("partial", comment="Direct holdings mapped; fund exposure not yet."),
        "IN2": disclosure("no"),
        "IN3": {"type": "text", "value": "A small stake through a fund; no board seat."},
        "IN4": {
            "type": "multiple_choice",
            "values": ["legal", "sanctions", "export_control", "reputational"],
        },
        "IN5": {"type": "single_choice", "value": "private_engagement"},
        "IN6": disclosure("no"),
    }


def forensic_count(count: int, *sources: dict[str, Any]) -> dict[str, Any]:
    return {"type": "number", "value": count, "unit": "allegations", "evidence": list(sources)}


def visible_without_answers(questionnaire: Questionnaire) -> set[str]:
    return {q.id for q in questionnaire.questions if q.show_if is None}


def history_events(client: TestClient, headers: dict[str, str], assessment_id: str) -> list[Any]:
    response = client.get(url(assessment_id, "/history?limit=500"), headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_nso_group_assessment_from_draft_to_approval_and_reopen(
    client: TestClient,
    tenant_a: Any,
    bundled: Questionnaire,
    db: Database,
    settings: Settings,
    tmp_path: Path,
) -> None:
    investor, analyst = tenant_a.investor, tenant_a.analyst

    # The company is made through the companies API.
    company = client.post(
        "/api/v1/companies",
        json={"name": "NSO Group", "country": "IL", "categories": ["spyware_intrusion"]},
        headers=analyst,
    ).json()

    # Draft: 201, Location, ETag, the latest questionnaire version, nothing answered.
    created = client.post(
        "/api/v1/assessments",
        json={"company_id": company["id"], "questionnaire_key": BUNDLED_KEY},
        headers=investor,
    )
    assert created.status_code == 201, created.text
    draft = created.json()
    assessment_id = draft["id"]
    assert created.headers["Location"] == f"/api/v1/assessments/{assessment_id}"
    etag = created.headers["ETag"]
    assert draft["status"] == "draft"
    assert draft["questionnaire"]["version"] == bundled.version
    initially_visible = visible_without_answers(bundled)
    assert set(draft["visible_question_ids"]) == initially_visible
    assert draft["progress"]["answered"] == 0
    assert draft["progress"]["visible"] == len(initially_visible)

    # The questionnaire version is frozen now that an assessment uses it.
    version_url = f"/api/v1/questionnaires/{BUNDLED_KEY}/versions/{bundled.version}"
    assert client.get(version_url, headers=investor).json()["frozen"] is True

    notes = upload(client, investor, assessment_id, SOURCE_NOTES.encode(), "nso-sources.txt")
    assert notes.status_code == 201, notes.text
    sources = nso_sources(notes.json()["id"])

    # Conditional questions: the export questions are hidden until EX5 says the company
    # exports, and an answer to a hidden question is refused.
    export_questions = {"DD7", "EU3", "EU3a", "EU6"}
    assert not export_questions & set(draft["visible_question_ids"])
    hidden = put_answer(client, investor, assessment_id, "EU6", disclosure("no_information"), etag)
    assert hidden.status_code == 422
    assert hidden.json()["errors"] == [
        {
            "path": "body",
            "message": "EU6 is hidden because EX5 is not answered: answer EX5 first (or send "
            "both in one PATCH .../answers), or leave EU6 out",
        }
    ]

    # If-Match is required on answer writes.
    exports = {"type": "single_choice", "value": "yes", "evidence": [sources["transparency"]]}
    missing = put_answer(client, investor, assessment_id, "EX5", exports, None)
    assert missing.status_code == 428

    answered = put_answer(client, investor, assessment_id, "EX5", exports, etag)
    assert answered.status_code == 200, answered.text
    assert export_questions <= set(answered.json()["visible_question_ids"])
    assert "EU3b" not in answered.json()["visible_question_ids"]  # only after a revocation
    stale_etag, etag = etag, answered.headers["ETag"]
    assert etag != stale_etag

    # A second investor working from the old ETag gets 412 and changes nothing.
    stale = put_answer(
        client, investor, assessment_id, "EX5", exports | {"value": "unknown"}, stale_etag
    )
    assert stale.status_code == 412
    after_stale, same_etag = read(client, investor, assessment_id)
    assert same_etag == etag
    assert after_stale["answers"]["EX5"]["payload"]["value"] == "yes"

    # A batch with bad items is refused whole, every bad item reported.
    first_count = forensic_count(
        4,
        sources["mansoor"],
        sources["morocco"],
        sources["al_jazeera"],
        sources["pegasus_project"],
    )
    answers = nso_answers(sources) | {"R1": first_count}
    bad_batch = answers | {
        "EU4": disclosure("partial", sources["entity_list"]),  # a yes/no question
        "DS2": {"type": "single_choice", "value": "some_visibility"},
    }
    refused = patch_answers(client, investor, assessment_id, bad_batch, etag)
    assert refused.status_code == 422
    assert error_paths(refused) == {"answers.EU4.level", "answers.DS2.value"}
    assert read(client, investor, assessment_id)[0]["progress"]["answered"] == 1

    saved = patch_answers(client, investor, assessment_id, answers, etag)
    assert saved.status_code == 200, saved.text
    body, etag = saved.json(), saved.headers["ETag"]
    assert body["version"] == draft["version"] + 2
    assert body["progress"]["answered"] == len(answers) + 1  # and EX5
    assert body["progress"]["required_answered"] == body["progress"]["required"]
    assert {"R2", "R3", "C3a"} <= set(body["visible_question_ids"])  # R1 > 0 and C3 > 0
    assert body["validation"]["ready_to_submit"] is True
    assert body["excluded_question_ids"] == []

    # Submitted: locked.
    submitted = post_action(client, investor, assessment_id, "submit", etag)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"
    etag = submitted.headers["ETag"]
    locked = put_answer(client, investor, assessment_id, "G1", disclosure("no"), etag)
    assert locked.status_code == 409
    assert post_action(client, investor, assessment_id, "submit", etag).status_code == 409

    # An investor cannot review; the analyst returns it with a comment.
    decision = {"decision": "return", "comment": "R1 misses the November 2021 finding."}
    assert post_action(client, investor, assessment_id, "review", body=decision).status_code == 403
    returned = post_action(client, analyst, assessment_id, "review", body=decision)
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "draft"
    assert returned.json()["review_comment"] == decision["comment"]
    etag = returned.headers["ETag"]

    corrected = forensic_count(5, *first_count["evidence"], sources["palestinian_hrds"])
    fixed = put_answer(client, investor, assessment_id, "R1", corrected, etag)
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["review_comment"] == decision["comment"]  # kept while in draft
    resubmitted = post_action(client, investor, assessment_id, "submit", fixed.headers["ETag"])
    assert resubmitted.status_code == 200, resubmitted.text

    approved = post_action(
        client, analyst, assessment_id, "review", body={"decision": "approve", "comment": "OK"}
    )
    assert approved.status_code == 200, approved.text
    final = approved.json()
    assert final["status"] == "final"

    # The history: every answer change with old and new value, every state change, who.
    events = history_events(client, investor, assessment_id)
    assert events[0]["action"] == "created"
    r1_changes = [e for e in events if e["field"] == "answers.R1"]
    assert [(e["old_value"] or {}).get("value") for e in r1_changes] == [None, "4"]
    assert [e["new_value"]["value"] for e in r1_changes] == ["4", "5"]
    assert {e["actor_name"] for e in r1_changes} == {f"{tenant_a.name} investor"}
    transitions = [
        (e["old_value"], e["new_value"], e["actor_name"], e["comment"])
        for e in events
        if e["action"] == "status_changed"
    ]
    assert transitions == [
        ("draft", "submitted", f"{tenant_a.name} investor", None),
        ("submitted", "draft", f"{tenant_a.name} analyst", decision["comment"]),
        ("draft", "submitted", f"{tenant_a.name} investor", None),
        ("submitted", "final", f"{tenant_a.name} analyst", "OK"),
    ]
    answer_fields = {e["field"] for e in events if e["action"] == "answer_set"}
    assert answer_fields == {f"answers.{qid}" for qid in final["answers"]}

    # Reopen: a new draft with the same answers, linked; the final one is unchanged.
    reopened = post_action(client, investor, assessment_id, "reopen")
    assert reopened.status_code == 201, reopened.text
    second = reopened.json()
    assert reopened.headers["Location"] == f"/api/v1/assessments/{second['id']}"
    assert second["status"] == "draft"
    assert second["previous_assessment_id"] == assessment_id
    assert {q: a["payload"] for q, a in second["answers"].items()} == {
        q: a["payload"] for q, a in final["answers"].items()
    }
    still_final, final_etag = read(client, investor, assessment_id)
    assert final_etag == approved.headers["ETag"]
    assert still_final["status"] == "final"
    assert still_final["next_assessment_id"] == second["id"]
    assert still_final["answers"] == final["answers"]

    # The frozen questionnaire version: a changed bundled file for it is refused.
    changed = tmp_path / "questionnaires"
    changed.mkdir()
    original = (settings.questionnaires_dir / "stap-surveillance-v1.yaml").read_text()
    (changed / "stap-surveillance-v1.yaml").write_text(
        original.replace(f"title: {bundled.title}", "title: A quietly edited title", 1)
    )
    with pytest.raises(Invalid) as refused_load:
        load_bundled_questionnaires(db, settings.model_copy(update={"questionnaires_dir": changed}))
    assert "frozen" in refused_load.value.errors[0].message
    assert client.get(version_url, headers=investor).json()["title"] == bundled.title
