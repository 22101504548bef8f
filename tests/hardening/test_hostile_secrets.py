"""API keys never reach the logs or an error body, wherever a caller puts one: in the query
string, in a malformed or unknown header, in the path, in a field that fails validation, or in
the message of an unexpected exception. Logs are captured from the "hrdd" logger as the service
writes them (JSON lines) and as records, and grepped for the secret part of each key."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hostile_support import API, SMALL_LIMITS, build_world, client_with

from hrdd.logs import JsonFormatter
from hrdd.vocab import Role

_RECORD_FIELDS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)


class Capture(logging.Handler):
    """Every record logged under "hrdd": its JSON line and its message and extra fields."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.formatter = JsonFormatter()
        self.lines: list[str] = []
        self.fields: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.fields.append(record.getMessage())
        self.fields.extend(
            str(value) for key, value in record.__dict__.items() if key not in _RECORD_FIELDS
        )


@pytest.fixture
def captured(settings, db) -> Iterator[tuple[TestClient, Capture]]:  # type: ignore[no-untyped-def]
    with client_with(settings, db, **SMALL_LIMITS) as client:
        logger = logging.getLogger("hrdd")
        capture = Capture()
        logger.addHandler(capture)  # after create_app, which resets the handlers
        try:
            yield client, capture
        finally:
            logger.removeHandler(capture)


def _secret(key: str) -> str:
    return key.split("_", 2)[2]


def _revoked_key(client: TestClient, tenant: Any) -> str:
    created = client.post(
        f"{API}/api-keys", json={"name": "Leaving analyst", "role": "analyst"}, headers=tenant.admin
    )
    assert created.status_code == 201, created.text
    revoked = client.delete(f"{API}/api-keys/{created.json()['id']}", headers=tenant.admin)
    assert revoked.status_code == 204, revoked.text
    return created.json()["key"]


def test_keys_sent_in_the_wrong_places_are_not_echoed_or_logged(
    captured, db, settings, tenant_a, tenant_b
):
    client, capture = captured
    world = build_world(client, db, settings, tenant_a)
    key = tenant_a.keys[Role.investor]
    revoked = _revoked_key(client, tenant_a)
    other = tenant_b.investor
    requests: dict[str, tuple[str, str, dict[str, str], Any]] = {}
    for name, candidate in (("live", key), ("revoked", revoked)):
        requests |= {
            f"{name} key in the query": ("GET", f"{API}/companies?api_key={candidate}", {}, None),
            f"{name} key in the query beside a good key": (
                "GET",
                f"{API}/companies?token={candidate}",
                other,
                None,
            ),
            f"{name} key as Basic": (
                "GET",
                f"{API}/me",
                {"Authorization": f"Basic {candidate}"},
                None,
            ),
            f"{name} key without a scheme": (
                "GET",
                f"{API}/me",
                {"Authorization": candidate},
                None,
            ),
            f"{name} key with a trailing word": (
                "GET",
                f"{API}/me",
                {"Authorization": f"Bearer {candidate} please"},
                None,
            ),
            f"{name} key mistyped": (
                "GET",
                f"{API}/me",
                {"Authorization": f"Bearer {candidate}x"},
                None,
            ),
            f"{name} key in X-API-Key": ("GET", f"{API}/me", {"X-API-Key": candidate}, None),
            f"{name} key in a cookie": (
                "GET",
                f"{API}/me",
                {"Cookie": f"session={candidate}"},
                None,
            ),
            f"{name} key as the request id": (
                "GET",
                f"{API}/me",
                other | {"X-Request-ID": candidate},
                None,
            ),
            f"{name} key as a company id": ("GET", f"{API}/companies/{candidate}", other, None),
            f"{name} key as a route": ("GET", f"{API}/{candidate}", other, None),
            f"{name} key as a question id": (
                "PUT",
                world.assessment(f"/answers/{candidate}"),
                tenant_a.investor | {"If-Match": world.assessment_etag},
                {"type": "text", "value": "x"},
            ),
            f"{name} key as an ISIN": (
                "POST",
                f"{API}/companies",
                tenant_a.analyst,
                {"name": "Example Vendor", "isins": [candidate]},
            ),
            f"{name} key as a bearer token": (
                "GET",
                f"{API}/me",
                {"Authorization": f"Bearer {candidate}"},
                None,
            ),
        }
    secrets = (_secret(key), _secret(revoked))
    for label, (method, url, headers, body) in requests.items():
        response = client.request(method, url, headers=headers, json=body)
        assert response.status_code < 500, (label, response.text)
        for secret in secrets:
            assert secret not in response.text, label
    assert capture.lines, "the access log wrote nothing"
    for secret in secrets:
        assert not [line for line in capture.lines if secret in line]
        assert not [field for field in capture.fields if secret in field]


def test_a_route_path_holding_a_key_is_reported_with_the_secret_redacted(captured, tenant_a):
    client, capture = captured
    key = tenant_a.keys[Role.investor]
    response = client.get(f"{API}/{key}", headers=tenant_a.investor)
    assert response.status_code == 404
    prefix = "_".join(key.split("_", 2)[:2])  # hrdd_<lookup prefix>: names the key, no secret
    assert f"{prefix}_[redacted]" in response.json()["detail"]
    assert any(f"{prefix}_[redacted]" in line for line in capture.lines)


def test_an_unexpected_error_naming_a_key_logs_it_redacted_and_answers_a_plain_500(
    captured, tenant_a
):
    client, capture = captured
    key = tenant_a.keys[Role.investor]

    def explode() -> None:
        raise RuntimeError(f"upstream refused credentials {key}")

    client.app.add_api_route("/explode", explode)
    response = client.get("/explode", headers=tenant_a.investor | {"X-Request-ID": "trace-500"})
    assert response.status_code == 500
    assert response.json()["type"] == "/problems/internal"
    # The caller can quote the request id, and the log line carries it.
    assert response.headers["x-request-id"] == "trace-500"
    assert "trace-500" in response.json()["detail"]
    assert _secret(key) not in response.text
    errors = [line for line in capture.lines if '"level": "ERROR"' in line]
    assert errors and "upstream refused credentials" in errors[0]
    assert '"request_id": "trace-500"' in errors[0]
    assert not [line for line in capture.lines if _secret(key) in line]
    assert client.get("/health").status_code == 200  # the server goes on answering
