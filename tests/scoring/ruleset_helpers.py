"""Rule-set writes as an analyst makes them: each sends the ETag it read as If-Match."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

RULESETS = "/api/v1/rulesets"


def publish(client: TestClient, headers: dict[str, str], draft_id: str, **options: Any) -> Response:
    """Publish a draft as it stands now (its current ETag as If-Match)."""
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
