"""Rule-set numbers over the API and the loader: infinite, NaN and huge numbers are refused
with 422 naming the path (draft edits, bundled files, publication), and a version stored before
these checks existed never turns scores into 500s."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid

import pytest
import yaml
from sqlalchemy import func, select
from test_ruleset_api_drafts import BASE, bundled_default, new_draft, put_draft
from test_score_api_support import (
    BUNDLED_DEFAULT_VERSIONS,
    answer_payloads,
    assessed_company,
    bundled_questionnaire,
    load_rules,
    make_assessment,
    make_company,
)
from tests.scoring.ruleset_helpers import choose, publish

from hrdd.config import PROJECT_ROOT
from hrdd.db import SYSTEM, TenantContext
from hrdd.errors import Invalid
from hrdd.scoring import service
from hrdd.scoring.models import RuleSetVersion
from hrdd.scoring.rules import MAX_REASON_CHARS
from hrdd.vocab import DisclosureLevel

DEFAULT_FILE = PROJECT_ROOT / "scoring" / "default-v1.yaml"
JSON = {"Content-Type": "application/json"}


def put_raw(client, tenant, draft_id, text, etag):
    """A PUT with the body exactly as written: `1e999` and `NaN` are what a client can send,
    though json.dumps would never write them."""
    return client.put(
        f"{BASE}/drafts/{draft_id}",
        content=text.encode("utf-8"),
        headers={**tenant.analyst, **JSON, "If-Match": etag},
    )


def with_literal(content, change, literal):
    """The content as JSON text, with the value `change` marks replaced by a raw literal."""
    marked = copy.deepcopy(content)
    change(marked, "__NUMBER__")
    text = json.dumps(marked)
    assert text.count('"__NUMBER__"') == 1
    return text.replace('"__NUMBER__"', literal)


CHANGES = {
    "themes.policy.weight": lambda c, v: c["themes"]["policy"].update(weight=v),
    "decay.3.half_life_days": lambda c, v: c["decay"]["3"].update(half_life_days=v),
    "number_rules.DD6.thresholds.1.at_least": lambda c, v: c["number_rules"]["DD6"]["thresholds"][
        1
    ].update(at_least=v),
    "sensitivity.weight_factors.1": lambda c, v: c["sensitivity"].update(weight_factors=[0.5, v]),
    "evidence.peak_window_days": lambda c, v: c["evidence"].update(peak_window_days=v),
    "confidence.freshness.stale_after_days": lambda c, v: c["confidence"]["freshness"].update(
        stale_after_days=v
    ),
}


@pytest.mark.parametrize("literal", ["1e999", "-1e999", "NaN", "Infinity", "1e20"])
@pytest.mark.parametrize("path", sorted(CHANGES))
def test_a_draft_with_an_infinite_or_huge_number_is_422_naming_the_path(
    client, tenant_a, rules, path, literal
):
    created = new_draft(client, tenant_a)
    draft = created.json()
    text = with_literal(draft["content"], CHANGES[path], literal)
    response = put_raw(client, tenant_a, draft["id"], text, created.headers["ETag"])
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert path in [error["path"] for error in response.json()["errors"]], response.json()
    after = client.get(f"{BASE}/{draft['id']}", headers=tenant_a.analyst).json()
    assert (after["content"], after["revision"]) == (draft["content"], draft["revision"])


def test_a_reason_longer_than_the_limit_is_422_and_the_audit_keeps_no_copy(client, tenant_a, rules):
    """A 5 MB `why` was stored, and each edit kept a second copy in the audit trail (the
    analyst review). Reasons are bounded: the bundled ones run to a few hundred characters."""
    created = new_draft(client, tenant_a)
    draft = created.json()
    content = copy.deepcopy(draft["content"])
    content["themes"]["policy"]["why"] = "x" * (MAX_REASON_CHARS + 1)
    content["severity"]["5"]["scale"] = "y" * (MAX_REASON_CHARS + 1)
    response = put_draft(client, tenant_a, draft["id"], content, created.headers["ETag"])
    assert response.status_code == 422, response.text
    assert {"themes.policy.why", "severity.5.scale"} <= {
        error["path"] for error in response.json()["errors"]
    }
    after = client.get(f"{BASE}/{draft['id']}", headers=tenant_a.analyst).json()
    assert (after["content"], after["revision"]) == (draft["content"], draft["revision"])
    history = client.get(f"{BASE}/{draft['id']}/history", headers=tenant_a.analyst).json()
    assert "x" * 100 not in str(history)

    content["themes"]["policy"]["why"] = "z" * MAX_REASON_CHARS
    content["severity"]["5"]["scale"] = draft["content"]["severity"]["5"]["scale"]
    saved = put_draft(client, tenant_a, draft["id"], content, created.headers["ETag"])
    assert saved.status_code == 200, saved.text


def test_every_theme_weight_at_1e308_is_422_not_a_preview_overflow(client, db, tenant_a, rules):
    _, questionnaire = bundled_questionnaire(db)
    company = make_company(db, "Weighted plc")
    make_assessment(
        db, tenant_a.organisation_id, company, answer_payloads(questionnaire, DisclosureLevel.full)
    )
    created = new_draft(client, tenant_a)
    draft = created.json()
    content = copy.deepcopy(draft["content"])
    for theme in content["themes"].values():
        theme["weight"] = 1e308
    response = put_draft(client, tenant_a, draft["id"], content, created.headers["ETag"])
    assert response.status_code == 422, response.text
    paths = {error["path"] for error in response.json()["errors"]}
    assert {f"themes.{theme}.weight" for theme in content["themes"]} <= paths
    preview = client.post(f"{BASE}/drafts/{draft['id']}/preview", headers=tenant_a.analyst)
    assert preview.status_code == 200, preview.text
    assert preview.json()["failed"] == 0


def test_the_largest_accepted_numbers_preview_and_publish(client, db, tenant_a, rules):
    """At the upper bounds, nothing overflows: preview, publish and scoring all work."""
    _, assessment = assessed_company(
        db, tenant_a.organisation_id, "Bounded plc", DisclosureLevel.partial
    )
    created = new_draft(client, tenant_a)
    draft = created.json()
    content = copy.deepcopy(draft["content"])
    for theme in content["themes"].values():
        theme["weight"] = 1000
    for level in content["decay"].values():
        level["half_life_days"] = 36525
    content["evidence"]["peak_window_days"] = 36525
    content["confidence"]["freshness"]["stale_after_days"] = 36525
    content["sensitivity"]["weight_factors"] = [0.01, 10]
    content["sensitivity"]["half_life_factors"] = [0.01, 10]
    content["number_rules"]["DD6"]["thresholds"][1]["at_least"] = 1e15
    saved = put_draft(client, tenant_a, draft["id"], content, created.headers["ETag"])
    assert saved.status_code == 200, saved.text
    preview = client.post(f"{BASE}/drafts/{draft['id']}/preview", headers=tenant_a.analyst)
    assert preview.status_code == 200, preview.text
    assert preview.json()["failed"] == 0
    published = publish(client, tenant_a.analyst, draft["id"])
    assert published.status_code == 200, published.text
    scored = client.get(f"/api/v1/assessments/{assessment}/score", headers=tenant_a.investor)
    assert scored.status_code == 200, scored.text


def _store_content(db, tenant, version_id, change):
    """Write a version's content behind validation's back, as a version saved before a check
    existed would be stored."""
    with db.session(TenantContext(tenant.organisation_id), write=True) as session:
        row = session.get(RuleSetVersion, uuid.UUID(version_id))
        content = copy.deepcopy(row.content)
        change(content)
        row.content = content
        row.content_hash = service.content_hash(content)


def _huge_weights(content):
    for theme in content["themes"].values():
        theme["weight"] = 1e308


def test_a_draft_stored_before_the_checks_is_neither_previewed_nor_published(
    client, db, tenant_a, rules
):
    created = new_draft(client, tenant_a)
    draft_id = created.json()["id"]
    _store_content(db, tenant_a, draft_id, _huge_weights)

    preview = client.post(f"{BASE}/drafts/{draft_id}/preview", headers=tenant_a.analyst)
    assert preview.status_code == 422, preview.text
    assert "themes.policy.weight" in [e["path"] for e in preview.json()["errors"]]

    publishing = publish(client, tenant_a.analyst, draft_id)
    assert publishing.status_code == 422, publishing.text
    assert "themes.policy.weight" in [e["path"] for e in publishing.json()["errors"]]
    after = client.get(f"{BASE}/{draft_id}", headers=tenant_a.analyst).json()
    assert after["status"] == "draft"
    current = client.get(f"{BASE}/current", headers=tenant_a.investor).json()
    assert current["version"]["id"] != draft_id


def test_a_published_version_stored_before_the_checks_answers_409_not_500(
    client, db, tenant_a, rules
):
    """Every score then names the problem and the way out (choose another version), and
    choosing one works."""
    _, questionnaire = bundled_questionnaire(db)
    company = make_company(db, "Legacy Rules plc")
    assessment = make_assessment(
        db, tenant_a.organisation_id, company, answer_payloads(questionnaire, DisclosureLevel.full)
    )
    default = bundled_default(client, tenant_a.investor)
    created = new_draft(client, tenant_a)
    version_id = created.json()["id"]
    published = publish(client, tenant_a.analyst, version_id)
    assert published.status_code == 200, published.text
    _store_content(db, tenant_a, version_id, _huge_weights)

    # A score as of a past date is always computed, never served from the stored one.
    past = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    scored = client.get(
        f"/api/v1/assessments/{assessment}/score?as_of={past}", headers=tenant_a.investor
    )
    assert scored.status_code == 409, scored.text
    assert "themes" in scored.json()["detail"] and "/rulesets/current" in scored.json()["detail"]

    rolled_back = choose(client, tenant_a.analyst, default["id"])
    assert rolled_back.status_code == 200, rolled_back.text
    again = client.get(
        f"/api/v1/assessments/{assessment}/score?as_of={past}", headers=tenant_a.investor
    )
    assert again.status_code == 200, again.text


# --- bundled files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "path"),
    [
        (".inf", "decay.3.half_life_days"),
        (".nan", "decay.3.half_life_days"),
        ("100000000000000000000", "decay.3.half_life_days"),
    ],
)
def test_a_bundled_file_with_an_infinite_or_huge_number_is_refused(db, rules_dir, literal, path):
    folder, settings = rules_dir
    data = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
    data["version"] = 2
    text = yaml.safe_dump(data, sort_keys=False)
    assert text.count("half_life_days: 730\n") == 1
    (folder / "default-v2.yaml").write_text(
        text.replace("half_life_days: 730\n", f"half_life_days: {literal}\n"), encoding="utf-8"
    )
    with pytest.raises(Invalid) as refused:
        service.load_bundled_rulesets(db, settings)
    assert path in [error.path for error in refused.value.errors]
    with db.session(SYSTEM) as session:
        assert session.scalar(select(func.count()).select_from(RuleSetVersion)) == 0


def test_the_bundled_default_files_still_load(db, settings):
    load_rules(db, settings)
    with db.session(SYSTEM) as session:
        rows = session.scalars(select(RuleSetVersion).order_by(RuleSetVersion.version)).all()
    assert [(row.key, row.version, row.status) for row in rows] == [
        ("default", version, "published") for version in BUNDLED_DEFAULT_VERSIONS
    ]
