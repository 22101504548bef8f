"""Verified keys are kept in the process for a few seconds (hrdd.auth.cache): revoking a key
through the API ends it at once; a key revoked by another process (another worker of the
server) stops working once its cache entry has lived TTL_SECONDS."""

from __future__ import annotations

from sqlalchemy import select

from hrdd.auth.cache import TTL_SECONDS, KeyCache
from hrdd.auth.models import ApiKey
from hrdd.db import SYSTEM, utcnow
from hrdd.vocab import Role


def test_a_key_revoked_elsewhere_is_refused_once_its_entry_expires(app, client, db, tenant_a):
    now = [1000.0]
    app.state.key_cache = KeyCache(clock=lambda: now[0])
    headers = tenant_a.headers(Role.analyst)
    assert client.get("/api/v1/me", headers=headers).status_code == 200

    # As another worker process would: straight to the database, this process's cache aside.
    with db.session(SYSTEM, write=True) as session:
        key = session.scalar(select(ApiKey).where(ApiKey.id == tenant_a.key_ids[Role.analyst]))
        assert key is not None
        key.revoked_at = utcnow()

    now[0] += TTL_SECONDS - 0.5
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # the documented bound
    now[0] += 0.5
    refused = client.get("/api/v1/me", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["type"] == "/problems/unauthenticated"


def test_revoking_through_the_api_ends_a_cached_key_at_once(app, client, tenant_a):
    now = [1000.0]
    app.state.key_cache = KeyCache(clock=lambda: now[0])
    created = client.post(
        "/api/v1/api-keys", json={"name": "short-lived", "role": "investor"}, headers=tenant_a.admin
    ).json()
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    revoked = client.delete(f"/api/v1/api-keys/{created['id']}", headers=tenant_a.admin)
    assert revoked.status_code == 204
    # No time has passed on the cache's clock: only the revocation can have ended it.
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert client.get("/api/v1/me", headers=tenant_a.investor).status_code == 200


def test_an_unknown_key_is_refused_every_time(app, client, tenant_a):
    bad = {"Authorization": f"Bearer {tenant_a.keys[Role.investor][:-4]}abcd"}
    for _ in range(2):
        assert client.get("/api/v1/me", headers=bad).status_code == 401
