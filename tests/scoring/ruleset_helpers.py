"""Rule-set writes as an analyst makes them: each sends the ETag it read as If-Match."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

RULESETS = "/api/v1/rulesets"


def preview(client: TestClient, headers: dict[str, str], draft_id: str) -> Response:
    return client.post(f"{RULESETS}/drafts/{draft_id}/preview", headers=headers)


def publish(client: TestClient, headers: dict[str, str], draft_id: str, **options: Any) -> Response:
    """Publish a draft as it stands now, as an analyst does: preview it with the same key
    (publishing needs the publisher's own preview against the rules in use), then publish
    with the preview's ``draft_etag`` as If-Match. A draft that cannot be previewed (its
    rules no longer pass validation, say) is sent with the ETag of GET, for the publish to
    say why."""
    previewed = preview(client, headers, draft_id)
    if previewed.is_success:
        etag = previewed.json()["draft_etag"]
    else:
        etag = client.get(f"{RULESETS}/{draft_id}", headers=headers).headers.get("ETag", '"none"')
    return client.post(
        f"{RULESETS}/drafts/{draft_id}/publish",
        json=options or None,
        headers={**headers, "If-Match": etag},
    )


def choice_etag(client: TestClient, headers: dict[str, str]) -> str:
    return client.get(f"{RULESETS}/current", headers=headers).headers.get("ETag", '"none"')


def choose(
    client: TestClient, headers: dict[str, str], version_id: str, comment: str | None = None
) -> Response:
    """Make a version the organisation's rules in use, over the choice as it stands."""
    body: dict[str, Any] = {"version_id": version_id}
    if comment is not None:
        body["comment"] = comment
    return client.put(
        f"{RULESETS}/current",
        json=body,
        headers={**headers, "If-Match": choice_etag(client, headers)},
    )


def follow_default(
    client: TestClient, headers: dict[str, str], comment: str | None = None
) -> Response:
    return client.request(
        "DELETE",
        f"{RULESETS}/current",
        params={"comment": comment} if comment else None,
        headers={**headers, "If-Match": choice_etag(client, headers)},
    )


def new_draft(client: TestClient, headers: dict[str, str]) -> Response:
    """A draft copied from the version the organisation scores with (201, with its ETag)."""
    current = client.get(f"{RULESETS}/current", headers=headers).json()["version"]
    return client.post(f"{RULESETS}/{current['id']}/drafts", headers=headers)


def put_draft(
    client: TestClient, headers: dict[str, str], draft_id: str, content: Any, etag: str
) -> Response:
    return client.put(
        f"{RULESETS}/drafts/{draft_id}", json=content, headers={**headers, "If-Match": etag}
    )
