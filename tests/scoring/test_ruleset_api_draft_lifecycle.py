"""Abandoned rule drafts: deleting one (If-Match, audited, 404 for another organisation's,
409 for a published version), and a draft's number, which is the one it would take if
published now, so the listing never shows a draft numbered like a published version."""

from __future__ import annotations

import copy
import shutil
import uuid

import yaml
from test_ruleset_api_drafts import BASE, bundled_default, new_draft, put_draft
from test_score_api_support import BUNDLED_DEFAULT_VERSIONS, NEWEST_DEFAULT, load_rules
from tests.scoring.ruleset_helpers import publish

from hrdd.config import PROJECT_ROOT
from hrdd.db import TenantContext
from hrdd.scoring import service
from hrdd.scoring.models import RuleSetVersion


def listed(client, headers):
    response = client.get(BASE, headers=headers)
    assert response.status_code == 200, response.text
    return [(item["version"], item["status"], item["id"]) for item in response.json()["items"]]


def delete_draft(client, tenant, draft_id, etag=None, role="analyst"):
    headers = dict(getattr(tenant, role))
    if etag is not None:
        headers["If-Match"] = etag
    return client.delete(f"{BASE}/drafts/{draft_id}", headers=headers)


def history_actions(client, headers, version_id):
    response = client.get(f"{BASE}/{version_id}/history", headers=headers)
    assert response.status_code == 200, response.text
    return [(event["action"], event["old_value"]) for event in response.json()["items"]]


# --- deleting ---------------------------------------------------------------------------------


def test_an_abandoned_draft_is_deleted_with_its_etag_and_audited(client, tenant_a, tenant_b, rules):
    created = new_draft(client, tenant_a)
    draft = created.json()

    missing = delete_draft(client, tenant_a, draft["id"])
    assert missing.status_code == 428, missing.text
    stale = delete_draft(client, tenant_a, draft["id"], f'"{draft["id"]}-0"')
    assert stale.status_code == 412, stale.text
    assert draft["id"] in [item_id for *_, item_id in listed(client, tenant_a.investor)]

    deleted = delete_draft(client, tenant_a, draft["id"], created.headers["ETag"])
    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""
    assert client.get(f"{BASE}/{draft['id']}", headers=tenant_a.analyst).status_code == 404
    assert draft["id"] not in [item_id for *_, item_id in listed(client, tenant_a.investor)]
    again = delete_draft(client, tenant_a, draft["id"], created.headers["ETag"])
    assert again.status_code == 404

    # Its trail stays readable to its organisation (what it held, who deleted it), not to others.
    actions = history_actions(client, tenant_a.investor, draft["id"])
    assert [action for action, _ in actions] == ["draft_created", "draft_deleted"]
    elsewhere = client.get(f"{BASE}/{draft['id']}/history", headers=tenant_b.analyst)
    assert elsewhere.status_code == 404, elsewhere.text
    never = client.get(f"{BASE}/{uuid.uuid4()}/history", headers=tenant_a.analyst)
    assert never.status_code == 404, never.text
    _, old = actions[-1]
    assert (old["key"], old["version"], old["content_hash"]) == (
        "default",
        NEWEST_DEFAULT + 1,
        draft["content_hash"],
    )


def test_a_draft_edited_since_it_was_read_is_not_deleted(client, tenant_a, rules):
    created = new_draft(client, tenant_a)
    draft = created.json()
    content = copy.deepcopy(draft["content"])
    content["themes"]["policy"]["weight"] = 7
    saved = put_draft(client, tenant_a, draft["id"], content, created.headers["ETag"])
    assert saved.status_code == 200, saved.text
    stale = delete_draft(client, tenant_a, draft["id"], created.headers["ETag"])
    assert stale.status_code == 412
    assert stale.headers["ETag"] == saved.headers["ETag"]
    assert delete_draft(client, tenant_a, draft["id"], saved.headers["ETag"]).status_code == 204


def test_published_versions_are_never_deleted(client, tenant_a, rules):
    default = bundled_default(client, tenant_a.investor)
    created = new_draft(client, tenant_a)
    published = publish(client, tenant_a.analyst, created.json()["id"])
    assert published.status_code == 200, published.text
    for version_id, etag in (
        (created.json()["id"], published.headers["ETag"]),
        (default["id"], "*"),
    ):
        refused = delete_draft(client, tenant_a, version_id, etag)
        assert refused.status_code == 409, refused.text
        assert client.get(f"{BASE}/{version_id}", headers=tenant_a.investor).status_code == 200
        # Previewing one is refused too, saying how to preview it rather than that it cannot
        # change (a preview changes nothing).
        preview = client.post(f"{BASE}/drafts/{version_id}/preview", headers=tenant_a.analyst)
        assert preview.status_code == 409, preview.text
        detail = preview.json()["detail"]
        assert "is published, not a draft" in detail and "and preview that" in detail


def test_only_analysts_of_its_organisation_delete_a_draft(client, tenant_a, tenant_b, rules):
    created = new_draft(client, tenant_a)
    draft_id, etag = created.json()["id"], created.headers["ETag"]
    assert delete_draft(client, tenant_a, draft_id, etag, role="investor").status_code == 403
    other = delete_draft(client, tenant_b, draft_id, etag)
    assert other.status_code == 404, other.text
    assert client.get(f"{BASE}/{draft_id}", headers=tenant_a.analyst).status_code == 200
    assert delete_draft(client, tenant_a, draft_id, etag, role="admin").status_code == 204


def test_a_version_copied_from_a_deleted_draft_keeps_its_rules(client, tenant_a, rules):
    first = new_draft(client, tenant_a)
    content = copy.deepcopy(first.json()["content"])
    content["themes"]["policy"]["weight"] = 9
    saved = put_draft(client, tenant_a, first.json()["id"], content, first.headers["ETag"])
    assert saved.status_code == 200, saved.text
    copied = client.post(f"{BASE}/{first.json()['id']}/drafts", headers=tenant_a.analyst)
    assert copied.status_code == 201, copied.text
    assert copied.json()["parent_id"] == first.json()["id"]

    deleted = delete_draft(client, tenant_a, first.json()["id"], saved.headers["ETag"])
    assert deleted.status_code == 204, deleted.text
    child = client.get(f"{BASE}/{copied.json()['id']}", headers=tenant_a.analyst).json()
    assert child["parent_id"] is None
    assert child["content"]["themes"]["policy"]["weight"] == 9


# --- numbering --------------------------------------------------------------------------------


def test_a_draft_moves_up_when_another_is_published_first(client, db, tenant_a, rules):
    """Two drafts of the next version; publishing one makes the other the draft of the one
    after, in the listing, its own read, its edit and its publication."""
    first, second = new_draft(client, tenant_a), new_draft(client, tenant_a)
    next_version = NEWEST_DEFAULT + 1
    assert first.json()["version"] == second.json()["version"] == next_version
    published = publish(client, tenant_a.analyst, first.json()["id"])
    assert published.status_code == 200, published.text
    assert published.json()["version"] == next_version

    versions = listed(client, tenant_a.investor)
    published_numbers = {number for number, status, _ in versions if status == "published"}
    draft_numbers = {number for number, status, _ in versions if status == "draft"}
    assert published_numbers == {*BUNDLED_DEFAULT_VERSIONS, next_version}
    assert draft_numbers == {next_version + 1}

    read = client.get(f"{BASE}/{second.json()['id']}", headers=tenant_a.analyst)
    body = read.json()
    moved = next_version + 1
    assert (body["version"], body["content"]["version"], body["status"]) == (moved, moved, "draft")
    assert body["content_hash"] == service.content_hash(body["content"])
    # Nothing was written: the revision and the ETag are the ones the draft was created with.
    assert body["revision"] == second.json()["revision"]
    assert read.headers["ETag"] == second.headers["ETag"]

    # A copy read before the publication (still saying the number published since) saves, as
    # the number after it.
    old_copy = copy.deepcopy(second.json()["content"])
    old_copy["themes"]["policy"]["weight"] = 6
    saved = put_draft(client, tenant_a, second.json()["id"], old_copy, second.headers["ETag"])
    assert saved.status_code == 200, saved.text
    assert (saved.json()["version"], saved.json()["content"]["version"]) == (moved, moved)
    assert saved.json()["content_hash"] == service.content_hash(saved.json()["content"])
    with db.session(TenantContext(tenant_a.organisation_id)) as session:
        row = session.get(RuleSetVersion, uuid.UUID(second.json()["id"]))
        assert (row.version, row.content["version"]) == (moved, moved)

    # A number the draft never had is still the server's to assign.
    wrong = copy.deepcopy(saved.json()["content"])
    wrong["version"] = moved + 2
    refused = put_draft(client, tenant_a, second.json()["id"], wrong, saved.headers["ETag"])
    assert refused.status_code == 422
    assert [e["path"] for e in refused.json()["errors"]] == ["version"]

    preview = client.post(f"{BASE}/drafts/{second.json()['id']}/preview", headers=tenant_a.analyst)
    assert preview.json()["draft_version"] == moved
    final = publish(client, tenant_a.analyst, second.json()["id"])
    assert final.status_code == 200, final.text
    assert final.json()["version"] == moved


def test_another_organisations_publication_does_not_move_a_draft(client, tenant_a, tenant_b, rules):
    mine = new_draft(client, tenant_a)
    theirs = new_draft(client, tenant_b)
    assert publish(client, tenant_b.analyst, theirs.json()["id"]).status_code == 200
    read = client.get(f"{BASE}/{mine.json()['id']}", headers=tenant_a.analyst).json()
    assert read["version"] == NEWEST_DEFAULT + 1


def test_a_draft_moves_up_when_a_newer_bundled_version_is_loaded(
    client, db, tmp_path, settings, tenant_a
):
    folder = tmp_path / "scoring"
    folder.mkdir()
    source = PROJECT_ROOT / "scoring" / "default-v1.yaml"
    shutil.copy(source, folder / "default-v1.yaml")
    with_v2 = settings.model_copy(update={"scoring_dir": folder})
    load_rules(db, with_v2)
    draft = new_draft(client, tenant_a)
    assert draft.json()["version"] == 2

    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["version"] = 2
    (folder / "default-v2.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    service.load_bundled_rulesets(db, with_v2)

    versions = listed(client, tenant_a.investor)
    assert sorted((number, status) for number, status, _ in versions) == [
        (1, "published"),
        (2, "published"),
        (3, "draft"),
    ]
