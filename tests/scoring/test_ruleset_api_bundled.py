"""Loading the bundled rule-set files: idempotent, validated against the stored questionnaire,
and published versions never overwritten."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import func, select
from test_score_api_support import (
    BUNDLED_DEFAULT_VERSIONS,
    assessed_company,
    load_rules,
)
from tests.scoring.ruleset_helpers import choose, follow_default, publish

from hrdd.config import PROJECT_ROOT
from hrdd.db import SYSTEM
from hrdd.errors import Invalid
from hrdd.questionnaires import service as questionnaires
from hrdd.scoring import service
from hrdd.scoring.models import RuleSetVersion

DEFAULT_FILE = PROJECT_ROOT / "scoring" / "default-v1.yaml"


def write_variant(folder, name, change):
    data = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
    change(data)
    (folder / name).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def stored_versions(db):
    with db.session(SYSTEM) as session:
        return session.scalar(select(func.count()).select_from(RuleSetVersion))


def test_loading_twice_changes_nothing(db, settings):
    load_rules(db, settings)
    count = stored_versions(db)
    assert service.load_bundled_rulesets(db, settings) == [
        f"rule set default v{version} (default-v{version}.yaml): unchanged"
        for version in BUNDLED_DEFAULT_VERSIONS
    ]
    assert stored_versions(db) == count == len(BUNDLED_DEFAULT_VERSIONS)


def test_a_changed_published_version_is_refused(db, rules_dir):
    folder, settings = rules_dir
    load_rules(db, settings)
    write_variant(folder, "default-v1.yaml", lambda d: d["themes"]["policy"].update(weight=7))
    with pytest.raises(Invalid) as refused:
        service.load_bundled_rulesets(db, settings)
    [error] = refused.value.errors
    assert error.path == "version"
    assert "default-v1.yaml" in error.message and "new version" in error.message
    with db.session(SYSTEM) as session:
        row = session.scalar(select(RuleSetVersion))
        assert row.content["themes"]["policy"]["weight"] == 5


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            lambda d: d["number_rules"].update(
                ZZ9={
                    "thresholds": [{"at_least": 1, "points": 100}],
                    "below_points": 0,
                    "why": "a question the questionnaire lacks",
                }
            ),
            "number_rules.ZZ9",
        ),
        (lambda d: d["questionnaire"].update(version="9.9.9"), "questionnaire.version"),
        (lambda d: d["bands"][2].update(lower=55), "bands.2.lower"),
    ],
)
def test_bad_file_names_file_and_path_and_writes_nothing(db, rules_dir, change, path):
    folder, settings = rules_dir
    questionnaires.load_bundled_questionnaires(db, settings)
    write_variant(folder, "default-v2.yaml", lambda d: (d.update(version=2), change(d)))
    with pytest.raises(Invalid) as refused:
        service.load_bundled_rulesets(db, settings)
    errors = refused.value.errors
    assert path in [error.path for error in errors]
    assert all("default-v2.yaml" in error.message for error in errors)
    assert stored_versions(db) == 0


def test_a_new_bundled_version_becomes_the_default(client, db, rules_dir, tenant_a, tenant_b):
    folder, settings = rules_dir
    load_rules(db, settings)
    current = client.get("/api/v1/rulesets/current", headers=tenant_b.investor).json()
    assert choose(client, tenant_b.analyst, current["version"]["id"]).status_code == 200
    write_variant(folder, "default-v2.yaml", lambda d: d.update(version=2))
    assert "rule set default v2 (default-v2.yaml): added" in service.load_bundled_rulesets(
        db, settings
    )
    a_current = client.get("/api/v1/rulesets/current", headers=tenant_a.investor).json()
    assert (a_current["version"]["version"], a_current["chosen"]) == (2, False)
    # an organisation that chose a version keeps it until it chooses another
    b_current = client.get("/api/v1/rulesets/current", headers=tenant_b.investor).json()
    assert (b_current["version"]["version"], b_current["chosen"]) == (1, True)

    # ... or goes back to following the default, which an investor reads in the history
    assert client.delete("/api/v1/rulesets/current", headers=tenant_b.investor).status_code == 403
    back = follow_default(client, tenant_b.analyst, "back to the default")
    assert back.status_code == 200, back.text
    assert (back.json()["version"]["version"], back.json()["chosen"]) == (2, False)
    b_current = client.get("/api/v1/rulesets/current", headers=tenant_b.investor).json()
    assert (b_current["version"]["version"], b_current["chosen"]) == (2, False)
    history = client.get("/api/v1/rulesets/current/history", headers=tenant_b.investor).json()
    assert [(e["action"], e["comment"]) for e in history["items"]] == [
        ("ruleset_chosen", None),
        ("ruleset_choice_cleared", "back to the default"),
    ]
    # Each event names the versions on both sides, not only their bare ids.
    chosen, cleared = history["items"]
    version_1 = {
        "chosen": True,
        "version_id": current["version"]["id"],
        "key": current["version"]["key"],
        "version": 1,
        "title": current["version"]["title"],
    }
    # Following the default names the latest bundled default loaded by then: v1 before the
    # choice, v2 when the choice was cleared.
    default_then = {**version_1, "chosen": False}
    default_now = {
        **default_then,
        "version_id": back.json()["version"]["id"],
        "version": 2,
        "title": back.json()["version"]["title"],
    }
    assert (chosen["before"], chosen["after"]) == (default_then, version_1)
    assert (cleared["before"], cleared["after"]) == (version_1, default_now)
    assert (chosen["old_value"], chosen["new_value"]) == (None, current["version"]["id"])
    again = follow_default(client, tenant_b.analyst)
    assert again.json()["chosen"] is False  # following the default already: nothing recorded
    history = client.get("/api/v1/rulesets/current/history", headers=tenant_b.investor).json()
    assert len(history["items"]) == 2
    other = client.get("/api/v1/rulesets/current/history", headers=tenant_a.investor).json()
    assert other["items"] == []


def test_a_bundled_version_sharing_the_label_of_your_own_is_a_change_of_rules(
    client, db, rules_dir, tenant_a
):
    """An organisation published its own default v2; later a bundled default v2 is loaded
    and chosen. Its scores must read the switch as a change of rules, not as a rise in risk to
    climb the ladder on. (Scores stored before results named their rules' hash get it from
    migration 0011.)"""
    folder, settings = rules_dir
    load_rules(db, settings)
    _, assessment = assessed_company(db, tenant_a.organisation_id, "Example Vendor")
    current = client.get("/api/v1/rulesets/current", headers=tenant_a.investor).json()
    draft = client.post(
        f"/api/v1/rulesets/{current['version']['id']}/drafts", headers=tenant_a.analyst
    )
    content = draft.json()["content"]
    content["policy_gap"]["max_risk"] = 20  # its own, milder rules
    saved = client.put(
        f"/api/v1/rulesets/drafts/{draft.json()['id']}",
        json=content,
        headers={**tenant_a.analyst, "If-Match": draft.headers["ETag"]},
    )
    assert saved.status_code == 200, saved.text
    published = publish(client, tenant_a.analyst, draft.json()["id"])
    assert published.json()["version"] == 2
    score_url = f"/api/v1/assessments/{assessment}/score"
    assert client.get(score_url, headers=tenant_a.investor).status_code == 200

    write_variant(folder, "default-v2.yaml", lambda d: d.update(version=2))
    service.load_bundled_rulesets(db, settings)
    listed = client.get("/api/v1/rulesets", headers=tenant_a.investor).json()["items"]
    [bundled_v2] = [i for i in listed if i["version"] == 2 and i["shared"]]
    chosen = choose(client, tenant_a.analyst, bundled_v2["id"])
    assert chosen.status_code == 200, chosen.text

    body = client.get(score_url, headers=tenant_a.investor).json()
    assert body["result"]["trend"] == "rules_changed"
    assert body["summary"]["ruleset_hash"] == bundled_v2["content_hash"]
    assert "ruleset" in {entry["kind"] for entry in body["result"]["diff"]["entries"]}
    assert "another default v2" in body["summary"]["action_reason"]
