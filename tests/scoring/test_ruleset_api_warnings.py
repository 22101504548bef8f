"""Rule-set guardrails over the API: warnings where an analyst looks (the draft, its preview,
its publication), never blocking; and a 422 that names every problem it can at once."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from fastapi.testclient import TestClient
from tests.scoring.ruleset_helpers import (
    RULESETS,
    choose,
    follow_default,
    new_draft,
    publish,
    put_draft,
)

from hrdd.db import TenantContext
from hrdd.scoring import service as scoring
from hrdd.scoring.rules import parse_ruleset


def inverted(content: dict[str, Any]) -> dict[str, Any]:
    """The draft's rules with "no" scoring above "partial", forensic labs weighing nothing and
    the listing red flag gone: legal, and all three very likely mistakes."""
    edited = copy.deepcopy(content)
    edited["elements"]["normal"]["no"] = 60
    edited["reliability"]["forensic_lab"]["factor"] = 0
    edited["overrides"] = [o for o in edited["overrides"] if o["id"] != "RF-LISTING"]
    return edited


INVERTED_PATHS = {
    "elements.normal.no",
    "reliability.forensic_lab.factor",
    "overrides",
    # The two changed values are left under the default's reasons.
    "elements.normal.why",
    "reliability.forensic_lab.why",
}


def paths(body: dict[str, Any], key: str = "warnings") -> set[str]:
    return {entry["path"] for entry in body[key]}


def edited_draft(client: TestClient, headers: dict[str, str]) -> tuple[str, dict[str, Any]]:
    created = new_draft(client, headers)
    assert created.status_code == 201, created.text
    assert created.json()["warnings"] == []  # a copy of the bundled default
    draft_id = created.json()["id"]
    saved = put_draft(
        client, headers, draft_id, inverted(created.json()["content"]), created.headers["ETag"]
    )
    assert saved.status_code == 200, saved.text  # warnings never refuse an edit
    return draft_id, saved.json()


def test_a_draft_shows_its_warnings_when_saved_and_read(client, tenant_a, rules):
    draft_id, saved = edited_draft(client, tenant_a.analyst)
    assert paths(saved) == INVERTED_PATHS
    [listing] = [w for w in saved["warnings"] if w["path"] == "overrides"]
    assert "RF-LISTING" in listing["message"] and "floor" in listing["message"]
    read = client.get(f"{RULESETS}/{draft_id}", headers=tenant_a.investor)
    assert read.json()["warnings"] == saved["warnings"]
    current = client.get(f"{RULESETS}/current", headers=tenant_a.investor).json()["version"]
    assert (
        client.get(f"{RULESETS}/{current['id']}", headers=tenant_a.investor).json()["warnings"]
        == []
    )


def test_the_preview_and_the_publication_show_them_and_publishing_goes_ahead(
    client, tenant_a, rules
):
    draft_id, saved = edited_draft(client, tenant_a.analyst)
    preview = client.post(f"{RULESETS}/drafts/{draft_id}/preview", headers=tenant_a.analyst)
    assert preview.status_code == 200, preview.text
    assert preview.json()["warnings"] == saved["warnings"]
    published = publish(client, tenant_a.analyst, draft_id)
    assert published.status_code == 200, published.text
    assert (published.json()["status"], published.json()["in_use"]) == ("published", True)
    assert published.json()["warnings"] == saved["warnings"]


def test_the_openapi_documents_the_warnings(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for model in ("RuleSetVersionOut", "PreviewOut"):
        assert schemas[model]["properties"]["warnings"]["items"] == {
            "$ref": "#/components/schemas/RuleSetWarningOut"
        }
        assert "warnings" in schemas[model]["required"]
    assert set(schemas["RuleSetWarningOut"]["properties"]) == {"path", "message"}


def assert_nothing_saved(client: TestClient, headers: dict[str, str], before: dict[str, Any]):
    after = client.get(f"{RULESETS}/{before['id']}", headers=headers).json()
    assert (after["content"], after["revision"]) == (before["content"], before["revision"])
    history = client.get(f"{RULESETS}/{before['id']}/history", headers=headers).json()
    assert {event["action"] for event in history["items"]} == {"draft_created"}


def test_one_422_names_the_problems_across_sections_and_against_the_questionnaire(
    client, tenant_a, rules
):
    """Before, the overlapping band came back alone, and the unknown question and the lost
    theme only once it was fixed; the changed id later again."""
    created = new_draft(client, tenant_a.analyst)
    draft = created.json()
    content = copy.deepcopy(draft["content"])
    content["bands"][1]["lower"] = 30  # across sections
    content["themes"].pop("contracts")  # against the questionnaire
    content["number_rules"]["ZZ9"] = {
        "thresholds": [{"at_least": 1, "points": 100}],
        "below_points": 0,
        "why": "refers to a question that does not exist",
    }
    content["id"] = "another"  # the draft's own
    refused = put_draft(client, tenant_a.analyst, draft["id"], content, created.headers["ETag"])
    assert refused.status_code == 422, refused.text
    assert paths(refused.json(), "errors") >= {
        "bands.1.lower",
        "themes.contracts",
        "number_rules.ZZ9",
        "id",
    }
    assert "run once these are fixed" not in refused.json()["detail"]
    assert_nothing_saved(client, tenant_a.analyst, draft)


def test_a_422_for_the_rule_sets_shape_says_the_other_checks_follow(client, tenant_a, rules):
    created = new_draft(client, tenant_a.analyst)
    draft = created.json()
    content = copy.deepcopy(draft["content"])
    content["themes"]["policy"]["weight"] = "heavy"
    content["bands"][1]["lower"] = 30  # checked once the shape is right
    refused = put_draft(client, tenant_a.analyst, draft["id"], content, created.headers["ETag"])
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert paths(body, "errors") == {"themes.policy.weight"}
    assert body["detail"].endswith(
        "the checks across sections and against the questionnaire run once these are fixed"
    )
    assert_nothing_saved(client, tenant_a.analyst, draft)


def test_the_rules_in_use_carry_their_warnings_where_they_are_chosen(client, tenant_a, rules):
    """The user test chose a version with three warnings and the choice's response said
    nothing of them; the rules in use now show them wherever they are read or chosen."""
    bundled = client.get(f"{RULESETS}/current", headers=tenant_a.investor).json()
    assert bundled["warnings"] == []
    draft_id, _ = edited_draft(client, tenant_a.analyst)
    published = publish(client, tenant_a.analyst, draft_id, make_current=False)
    assert published.status_code == 200, published.text
    chosen = choose(client, tenant_a.analyst, draft_id)
    assert chosen.status_code == 200, chosen.text
    assert paths(chosen.json()) == INVERTED_PATHS
    current = client.get(f"{RULESETS}/current", headers=tenant_a.investor).json()
    assert paths(current) == INVERTED_PATHS
    assert follow_default(client, tenant_a.analyst).json()["warnings"] == []


def test_the_methodology_readers_get_says_the_warnings(client, db, tenant_a, rules):
    """Reports and score details print the methodology of the rules a score was made with:
    an investor reading a score made with inverted rules is told, not only the analyst."""
    _, saved = edited_draft(client, tenant_a.analyst)
    edited = parse_ruleset(saved["content"], "draft")
    bundled = client.get(f"{RULESETS}/current", headers=tenant_a.investor).json()["version"]
    with db.session(TenantContext(tenant_a.organisation_id)) as session:
        titles = [s.title for s in scoring.methodology_of(session, edited).sections]
        assert titles[-1] == "Warnings on these rules"
        [section] = [
            s for s in scoring.methodology_of(session, edited).sections if s.title == titles[-1]
        ]
        assert {entry.label for entry in section.entries} == INVERTED_PATHS
        default = scoring.ruleset_of(scoring.get_version(session, uuid.UUID(bundled["id"])))
        default_titles = [s.title for s in scoring.methodology_of(session, default).sections]
        assert "Warnings on these rules" not in default_titles
