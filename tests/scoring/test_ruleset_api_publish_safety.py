"""Publishing only what was previewed, against the rules in use: each preview is recorded on
the draft; a publish without the publisher's own preview of the draft as it stands, or whose
preview compared it with other rules than those in use now, is refused (409, saying which);
the preview says what a draft copied from an older version would undo; and the 412s of a
publish say what went stale and what to do (a tester's findings A, B and C)."""

from __future__ import annotations

import copy
import datetime as dt

from sqlalchemy import select
from test_ruleset_api_drafts import BASE, bundled_default, new_draft, put_draft
from test_score_api_support import NEWEST_DEFAULT, add_incident, assessed_company
from tests.scoring.ruleset_helpers import choice_etag, choose, preview, publish

from hrdd.db import TenantContext
from hrdd.vocab import DisclosureLevel

ANALYST = "Aurora Pension Fund analyst"
ADMIN = "Aurora Pension Fund admin"


def publish_with(client, headers, draft_id, etag, **options):
    return client.post(
        f"{BASE}/drafts/{draft_id}/publish",
        json=options or None,
        headers={**headers, "If-Match": etag},
    )


def status_of(client, tenant, draft_id):
    return client.get(f"{BASE}/{draft_id}", headers=tenant.investor).json()["status"]


# --- A: no publication without the publisher's preview ------------------------------------------


def test_a_draft_never_previewed_is_not_published_nor_made_current(client, db, tenant_a, rules):
    """The tester's A: the draft's ETag from GET and no preview published it and rescored
    everything. Now 409, with or without make_current, and nothing changes."""
    default = bundled_default(client, tenant_a.investor)
    created = new_draft(client, tenant_a)
    draft_id = created.json()["id"]
    read = client.get(f"{BASE}/{draft_id}", headers=tenant_a.analyst)
    etag = read.headers["ETag"]
    # The draft says so before anyone tries to publish it.
    assert read.json()["your_preview"] == {
        "previewed_at": None,
        "draft_revision": None,
        "publishable": False,
        "why_not": "you have not previewed this draft; preview it (POST "
        f"/api/v1/rulesets/drafts/{draft_id}/preview), check what it does to your "
        "organisation's scores, and publish with the draft_etag that preview gives",
    }

    for options in ({}, {"make_current": False}):
        refused = publish_with(client, tenant_a.analyst, draft_id, etag, **options)
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert body["type"] == "/problems/preview-required"
        assert body["detail"].startswith(
            "you have not previewed this draft, and nothing was published; preview it (POST"
        )
        assert f"POST /api/v1/rulesets/drafts/{draft_id}/preview" in body["detail"]
        assert "draft_etag" in body["detail"]
    assert status_of(client, tenant_a, draft_id) == "draft"
    assert bundled_default(client, tenant_a.investor)["id"] == default["id"]
    history = client.get(f"{BASE}/{draft_id}/history", headers=tenant_a.investor).json()
    assert [event["action"] for event in history["items"]] == ["draft_created"]


def test_a_preview_is_recorded_without_changing_the_drafts_etag(client, db, tenant_a, rules):
    """GET the draft, preview, publish with draft_etag: the documented flow still works, the
    preview is recorded (revision, rules compared with, who, when) and the publication's
    audit event names the preview it rests on."""
    current = bundled_default(client, tenant_a.investor)
    created = new_draft(client, tenant_a)
    draft_id = created.json()["id"]
    read = client.get(f"{BASE}/{draft_id}", headers=tenant_a.analyst)

    previewed = preview(client, tenant_a.analyst, draft_id)
    assert previewed.status_code == 200, previewed.text
    body = previewed.json()
    assert body["draft_etag"] == previewed.headers["ETag"] == read.headers["ETag"]
    after = client.get(f"{BASE}/{draft_id}", headers=tenant_a.analyst)
    assert after.headers["ETag"] == read.headers["ETag"]
    assert after.json()["revision"] == read.json()["revision"]
    assert after.json()["updated_at"] == read.json()["updated_at"]
    recorded = body["recorded"]
    assert (recorded["previewed_by_name"], recorded["draft_revision"]) == (
        ANALYST,
        read.json()["revision"],
    )
    assert recorded["current_hash"] == current["content_hash"]
    assert body["current_id"] == current["id"]
    assert body["copied_from"] == {
        "version_id": current["id"],
        "key": "default",
        "version": NEWEST_DEFAULT,
        "status": "published",
        "in_use": True,
        "note": None,
        "undone": [],
        "undone_count": 0,
    }
    from hrdd.scoring.models import RuleSetPreview  # here: the other tests run on older code

    with db.session(TenantContext(tenant_a.organisation_id)) as session:
        [row] = session.scalars(select(RuleSetPreview)).all()
        assert (str(row.draft_id), row.draft_revision, row.draft_hash) == (
            draft_id,
            read.json()["revision"],
            read.json()["content_hash"],
        )
        assert (str(row.compared_id), row.compared_hash) == (current["id"], current["content_hash"])
        assert row.previewed_by_key_id == tenant_a.key_ids["analyst"]
        assert row.summary["companies"] == body["companies"]

    standing = after.json()["your_preview"]
    assert (standing["publishable"], standing["why_not"]) == (True, None)
    assert standing["draft_revision"] == read.json()["revision"]
    assert standing["previewed_at"] == recorded["previewed_at"]

    published = publish_with(client, tenant_a.analyst, draft_id, body["draft_etag"])
    assert published.status_code == 200, published.text
    assert published.json()["your_preview"] is None  # published: nothing left to preview
    assert bundled_default(client, tenant_a.investor)["id"] == draft_id
    history = client.get(f"{BASE}/{draft_id}/history", headers=tenant_a.investor).json()
    [event] = [e for e in history["items"] if e["action"] == "published"]
    assert event["new_value"]["previewed"]["previewed_by"] == ANALYST
    assert event["new_value"]["previewed"]["compared_with"] == {
        "id": current["id"],
        "key": "default",
        "version": NEWEST_DEFAULT,
        "content_hash": current["content_hash"],
    }


def test_a_colleagues_preview_or_an_edit_since_yours_is_not_enough(client, tenant_a, rules):
    """Figures someone else saw, or figures of an earlier revision, are not figures the
    publisher saw: 409 naming who previewed, or who edited since and when."""
    created = new_draft(client, tenant_a)
    draft_id = created.json()["id"]
    theirs = preview(client, tenant_a.admin, draft_id).json()
    refused = publish_with(client, tenant_a.analyst, draft_id, theirs["draft_etag"])
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"] == "/problems/preview-required"
    assert f"({ADMIN} previewed it on " in refused.json()["detail"]
    # Each key reads its own standing: the admin's preview lets the admin publish, not you.
    admins = client.get(f"{BASE}/{draft_id}", headers=tenant_a.admin).json()["your_preview"]
    yours = client.get(f"{BASE}/{draft_id}", headers=tenant_a.analyst).json()["your_preview"]
    assert (admins["publishable"], yours["publishable"]) == (True, False)
    assert yours["why_not"].startswith(f"you have not previewed this draft ({ADMIN} previewed")

    mine = preview(client, tenant_a.analyst, draft_id).json()
    content = copy.deepcopy(created.json()["content"])
    content["themes"]["policy"]["weight"] = 8
    edited = put_draft(client, tenant_a, draft_id, content, mine["draft_etag"])
    assert edited.status_code == 200, edited.text
    standing = edited.json()["your_preview"]
    assert (standing["publishable"], standing["draft_revision"]) == (False, 1)
    assert standing["why_not"].startswith("this draft was edited since your preview on ")
    # The draft's ETag as it stands now (from the edit, or a GET) passes If-Match...
    refused = publish_with(client, tenant_a.analyst, draft_id, edited.headers["ETag"])
    assert refused.status_code == 409, refused.text
    detail = refused.json()["detail"]
    assert detail.startswith("this draft was edited since your preview on ")
    assert f"(revision 1 then, 2 now, last edited by {ANALYST} on " in detail
    assert "preview it again" in detail
    assert status_of(client, tenant_a, draft_id) == "draft"

    again = preview(client, tenant_a.analyst, draft_id).json()
    assert again["draft_etag"] == edited.headers["ETag"]
    published = publish_with(client, tenant_a.analyst, draft_id, again["draft_etag"])
    assert published.status_code == 200, published.text


# --- B: a draft copied from an older version ----------------------------------------------------


def test_a_draft_copied_before_a_colleagues_publication_says_what_it_would_undo(
    client, db, tenant_a, rules
):
    """The tester's B: draft A copied and previewed, then a colleague's draft raising
    severity 5 to 95 points published as the rules in use. A's old preview no longer allows
    publishing (its draft_etag is unchanged, but it compared A with the old rules); A's new
    preview says A was copied from another version and would undo severity.5.points."""
    company, _ = assessed_company(db, tenant_a.organisation_id, "Vendor", DisclosureLevel.partial)
    add_incident(db, company, event_date=dt.date.today() - dt.timedelta(days=30), severity=5)
    default = bundled_default(client, tenant_a.investor)
    first = new_draft(client, tenant_a).json()
    first_preview = preview(client, tenant_a.analyst, first["id"]).json()
    assert first_preview["copied_from"]["in_use"] is True

    second = new_draft(client, tenant_a)
    content = copy.deepcopy(second.json()["content"])
    assert content["severity"]["5"]["points"] == 85
    content["severity"]["5"]["points"] = 95
    saved = put_draft(client, tenant_a, second.json()["id"], content, second.headers["ETag"])
    assert saved.status_code == 200, saved.text
    assert publish(client, tenant_a.admin, second.json()["id"]).status_code == 200
    assert bundled_default(client, tenant_a.investor)["id"] == second.json()["id"]

    # The first draft was not edited: its ETag is what its preview gave...
    etag = client.get(f"{BASE}/{first['id']}", headers=tenant_a.analyst).headers["ETag"]
    assert etag == first_preview["draft_etag"]
    # ...but that preview compared it with the bundled default, no longer in use.
    for options in ({}, {"make_current": False}):
        refused = publish_with(client, tenant_a.analyst, first["id"], etag, **options)
        assert refused.status_code == 409, refused.text
        detail = refused.json()["detail"]
        assert refused.json()["type"] == "/problems/preview-required"
        assert f"compared this draft with default v{NEWEST_DEFAULT} (bundled)" in detail
        assert (
            f"rules in use are now default v{NEWEST_DEFAULT + 1} (your organisation's), "
            f"published and made current by {ADMIN} on "
        ) in detail
        assert "preview it again" in detail
    assert status_of(client, tenant_a, first["id"]) == "draft"

    again = preview(client, tenant_a.analyst, first["id"])
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["current_id"] == second.json()["id"]
    copied = body["copied_from"]
    assert (copied["version_id"], copied["in_use"], copied["undone_count"]) == (
        default["id"],
        False,
        1,
    )
    assert copied["undone"] == [
        {
            "path": "severity.5.points",
            "parent_value": 85.0,
            "in_use_value": 95.0,
            "draft_value": 85.0,
            "changed_in_draft": False,
        }
    ]
    note = copied["note"]
    assert note.startswith(
        f"This draft was copied from default v{NEWEST_DEFAULT} (bundled), not from the rules "
        f"in use (default v{NEWEST_DEFAULT + 1} (your organisation's), published and made "
        f"current by {ADMIN} on "
    )
    assert "in 1 value that publishing the draft would undo: severity.5.points: 85.0" in note
    # The scores: the company's severity-5 item weighs less under the first draft.
    [item] = [i for i in body["items"] if i["company_id"] == str(company)]
    assert item["change"] < 0, item
    assert (
        body["recorded"]["current_hash"]
        == bundled_default(client, tenant_a.investor)["content_hash"]
    )

    published = publish_with(client, tenant_a.analyst, first["id"], body["draft_etag"])
    assert published.status_code == 200, published.text


def test_a_choice_made_since_the_preview_needs_a_new_one(client, tenant_a, rules):
    """Rolling back (or choosing any other version) after a preview makes it stale too, with
    make_current false as well: the version published is the one previewed."""
    default = bundled_default(client, tenant_a.investor)
    earlier = new_draft(client, tenant_a).json()["id"]
    assert publish(client, tenant_a.analyst, earlier).status_code == 200
    draft_id = new_draft(client, tenant_a).json()["id"]
    previewed = preview(client, tenant_a.analyst, draft_id).json()
    assert previewed["copied_from"]["in_use"] is True
    assert choose(client, tenant_a.admin, default["id"], "back").status_code == 200

    refused = publish_with(
        client, tenant_a.analyst, draft_id, previewed["draft_etag"], make_current=False
    )
    assert refused.status_code == 409, refused.text
    detail = refused.json()["detail"]
    assert f"compared this draft with default v{NEWEST_DEFAULT + 1} (your organisation's)" in detail
    assert f"now default v{NEWEST_DEFAULT} (bundled), chosen by {ADMIN} on " in detail
    standing = client.get(f"{BASE}/{draft_id}", headers=tenant_a.analyst).json()["your_preview"]
    assert standing["publishable"] is False
    assert (
        f"compared this draft with default v{NEWEST_DEFAULT + 1} (your organisation's)"
        in (standing["why_not"])
    )

    # Copied from the version no longer in use, which differs from the rules in use only in
    # its number: nothing to undo, and the note says so.
    copied = preview(client, tenant_a.analyst, draft_id).json()["copied_from"]
    assert (copied["in_use"], copied["undone"]) == (False, [])
    assert "the two hold the same rules, so publishing the draft undoes nothing" in copied["note"]


# --- C: what a 412 says -----------------------------------------------------------------------


def test_a_stale_current_etag_says_who_changed_the_rules_in_use(client, tenant_a, rules):
    """The tester's C, first half: the 412 of a publish whose current_etag is stale says the
    organisation's rules in use changed since it was read, to what, by whom and when."""
    read = choice_etag(client, tenant_a.investor)
    other = new_draft(client, tenant_a).json()["id"]
    assert publish(client, tenant_a.analyst, other, make_current=False).status_code == 200
    assert choose(client, tenant_a.admin, other, "trying it").status_code == 200

    draft_id = new_draft(client, tenant_a).json()["id"]
    previewed = preview(client, tenant_a.analyst, draft_id).json()
    refused = publish_with(
        client, tenant_a.analyst, draft_id, previewed["draft_etag"], current_etag=read
    )
    assert refused.status_code == 412, refused.text
    detail = refused.json()["detail"]
    assert detail.startswith(
        "your organisation's rules in use were changed since you read them (you read default "
        f"v{NEWEST_DEFAULT} (bundled), the bundled default it followed): they are now default "
        f"v{NEWEST_DEFAULT + 1} (your organisation's), chosen by {ADMIN} on "
    )
    assert "The draft was not published" in detail and "current_etag" in detail
    assert status_of(client, tenant_a, draft_id) == "draft"

    # A choice over a stale ETag says the same, and that the change was not made.
    stale_choice = client.put(
        f"{BASE}/current",
        json={"version_id": bundled_default(client, tenant_a.investor)["id"]},
        headers={**tenant_a.analyst, "If-Match": read},
    )
    assert stale_choice.status_code == 412, stale_choice.text
    assert "rules in use were changed since you read them" in stale_choice.json()["detail"]
    assert "Your change was not made" in stale_choice.json()["detail"]


def test_an_edit_since_the_preview_says_preview_again(client, tenant_a, rules):
    """The tester's C, second half: publishing with the preview's draft_etag after the draft
    was edited is 412 saying the draft was edited since, by whom, and to preview again."""
    created = new_draft(client, tenant_a)
    draft_id = created.json()["id"]
    previewed = preview(client, tenant_a.analyst, draft_id).json()
    content = copy.deepcopy(created.json()["content"])
    for rule in content["overrides"]:
        rule["floor"] = 50
    edit = put_draft(client, tenant_a, draft_id, content, previewed["draft_etag"])
    assert edit.status_code == 200, edit.text

    refused = publish_with(client, tenant_a.analyst, draft_id, previewed["draft_etag"])
    assert refused.status_code == 412, refused.text
    assert refused.headers["ETag"] == edit.headers["ETag"]
    detail = refused.json()["detail"]
    assert detail.startswith(
        "this draft was edited since the revision you sent (revision 1, the one you previewed "
        f"or read; it is now at revision 2, last edited by {ANALYST} on "
    )
    assert "what you previewed is not what would be published, and nothing was published" in detail
    assert f"preview it again (POST /api/v1/rulesets/drafts/{draft_id}/preview)" in detail
    assert status_of(client, tenant_a, draft_id) == "draft"

    # An ETag that is not the draft's says so rather than that the draft was edited.
    foreign = publish_with(client, tenant_a.analyst, draft_id, '"not-this-one-1"')
    assert foreign.status_code == 412, foreign.text
    assert foreign.json()["detail"].startswith("the ETag you sent is not one of this draft's")
