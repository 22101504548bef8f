"""API keys: 401 without or with a bad/revoked key, 403 for the wrong role, 404 across tenants,
hashed storage, shown once, last-used time."""

import hashlib
import logging
import threading
import uuid

import pytest
from sqlalchemy import delete, event, select, text
from sqlalchemy.dialects import postgresql

from hrdd.auth import service as auth_service
from hrdd.auth.models import ApiKey, Organisation
from hrdd.db import SYSTEM, TenantContext, utcnow
from hrdd.errors import Conflict
from hrdd.logs import JsonFormatter
from hrdd.vocab import Role
from tests.conftest import is_postgres


def test_me_requires_a_key(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["type"] == "/problems/unauthenticated"


def test_malformed_and_unknown_keys_are_401(client, tenant_a):
    good = tenant_a.keys[Role.investor]
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    for value in ["Bearer nonsense", "Bearer hrdd__", f"Bearer {tampered}", f"Basic {good}"]:
        response = client.get("/api/v1/me", headers={"Authorization": value})
        assert response.status_code == 401, value


def test_me_reports_the_callers_organisation_and_role(client, tenant_a):
    body = client.get("/api/v1/me", headers=tenant_a.analyst).json()
    assert body["organisation_id"] == str(tenant_a.organisation_id)
    assert body["organisation_name"] == tenant_a.name
    assert body["role"] == "analyst"


def test_only_admins_manage_keys(client, tenant_a):
    for role in (Role.investor, Role.analyst):
        assert client.get("/api/v1/api-keys", headers=tenant_a.headers(role)).status_code == 403
        created = client.post(
            "/api/v1/api-keys",
            json={"name": "x", "role": "investor"},
            headers=tenant_a.headers(role),
        )
        assert created.status_code == 403
        assert created.json()["type"] == "/problems/forbidden"


def test_created_key_is_shown_once_stored_hashed_and_works(client, tenant_a, db):
    response = client.post(
        "/api/v1/api-keys",
        json={"name": "reporting bot", "role": "investor"},
        headers=tenant_a.admin,
    )
    assert response.status_code == 201
    assert response.headers["location"].endswith(response.json()["id"])
    secret = response.json()["key"]
    # At least 128 random bits: 32 url-safe bytes of secret after the prefix.
    assert len(secret.split("_", 2)[2]) >= 40

    listed = client.get("/api/v1/api-keys", headers=tenant_a.admin).json()["items"]
    assert all("key" not in item for item in listed)
    assert "reporting bot" in {item["name"] for item in listed}

    with db.session(SYSTEM) as session:
        row = session.scalar(select(ApiKey).where(ApiKey.name == "reporting bot"))
        assert row is not None
        assert secret not in (row.secret_hash, row.prefix)
        assert row.secret_hash == hashlib.sha256(secret.split("_", 2)[2].encode()).hexdigest()
        assert row.last_used_at is None

    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json()["key_name"] == "reporting bot"
    with db.session(SYSTEM) as session:
        row = session.scalar(select(ApiKey).where(ApiKey.name == "reporting bot"))
        assert row is not None and row.last_used_at is not None


def test_revoked_key_is_refused(client, tenant_a):
    created = client.post(
        "/api/v1/api-keys", json={"name": "temp", "role": "analyst"}, headers=tenant_a.admin
    ).json()
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert (
        client.delete(f"/api/v1/api-keys/{created['id']}", headers=tenant_a.admin).status_code
        == 204
    )
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    listed = client.get("/api/v1/api-keys", headers=tenant_a.admin).json()["items"]
    assert next(k for k in listed if k["id"] == created["id"])["revoked_at"] is not None


def test_the_last_admin_key_cannot_be_revoked(client, tenant_a):
    """Without an admin key nobody could make keys again except on the server's command line."""
    own_admin = tenant_a.key_ids[Role.admin]
    refused = client.delete(f"/api/v1/api-keys/{own_admin}", headers=tenant_a.admin)
    assert refused.status_code == 409, refused.text
    assert "last admin key" in refused.json()["detail"]
    assert client.get("/api/v1/me", headers=tenant_a.admin).status_code == 200
    spare = client.post(
        "/api/v1/api-keys", json={"name": "Second admin", "role": "admin"}, headers=tenant_a.admin
    ).json()
    revoked = client.delete(f"/api/v1/api-keys/{own_admin}", headers=tenant_a.admin)
    assert revoked.status_code == 204, revoked.text
    second = {"Authorization": f"Bearer {spare['key']}"}
    assert client.delete(f"/api/v1/api-keys/{spare['id']}", headers=second).status_code == 409


def test_another_organisations_key_is_not_found(client, tenant_a, tenant_b):
    foreign_id = tenant_b.key_ids[Role.investor]
    response = client.delete(f"/api/v1/api-keys/{foreign_id}", headers=tenant_a.admin)
    assert response.status_code == 404
    assert str(foreign_id) in response.json()["detail"]  # echoes the request, reveals nothing
    listed = client.get("/api/v1/api-keys", headers=tenant_a.admin).json()["items"]
    assert {k["name"] for k in listed}.isdisjoint({f"{tenant_b.name} {r.value}" for r in Role})
    # and tenant_b's key still works
    assert client.get("/api/v1/me", headers=tenant_b.investor).status_code == 200


def test_key_list_pages(client, tenant_a):
    for n in range(4):
        client.post(
            "/api/v1/api-keys", json={"name": f"k{n}", "role": "investor"}, headers=tenant_a.admin
        )
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/api/v1/api-keys", params=params, headers=tenant_a.admin).json()
        seen += [k["id"] for k in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7  # 3 fixture keys + 4 made here
    bad = client.get("/api/v1/api-keys", params={"cursor": "!!"}, headers=tenant_a.admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "query.cursor"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_keys_never_reach_the_logs(client, tenant_a):
    collector = _Collect()
    collector.setFormatter(JsonFormatter())
    logging.getLogger("hrdd").addHandler(collector)
    secret = tenant_a.keys[Role.admin]
    client.get("/api/v1/me", headers=tenant_a.admin)
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}x"})
    created = client.post(
        "/api/v1/api-keys", json={"name": "logged?", "role": "investor"}, headers=tenant_a.admin
    ).json()["key"]
    logging.getLogger("hrdd").removeHandler(collector)
    text = "\n".join(collector.lines)
    assert len(collector.lines) >= 3, "the access log should have recorded the requests"
    assert secret not in text and created not in text
    assert secret.split("_", 2)[2] not in text


def test_revoking_an_admin_key_locks_the_organisation(db, tenant_a):
    """The count of admin keys left is taken under a lock on the organisation's row, which
    two admins revoking each other's keys take in turn (FOR NO KEY UPDATE on PostgreSQL)."""
    spare = _admin_key(db, tenant_a.organisation_id)
    issued = []
    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        event.listen(session, "do_orm_execute", issued.append)
        auth_service.revoke_key(session, spare, utcnow())
    issued_sql = [str(state.statement.compile(dialect=postgresql.dialect())) for state in issued]
    locks = [sql for sql in issued_sql if "FOR NO KEY UPDATE" in sql]
    assert len(locks) == 1 and "FROM organisations" in locks[0]


def _admin_key(database, organisation_id):
    with database.session(SYSTEM, write=True) as session:
        key, _ = auth_service.create_key(session, organisation_id, "Spare admin", Role.admin)
    return key.id


@pytest.mark.skipif(not is_postgres(), reason="SQLite writers already take turns")
def test_concurrent_revokes_leave_an_admin_key(session_database):
    """On PostgreSQL two admins revoking the other's key at once: the second waits for the
    first's commit, then sees its key is the last one (409), instead of both passing the
    count and leaving no admin key. Committed for real, so the two sessions see each other."""
    with session_database.session(SYSTEM, write=True) as session:
        org = auth_service.create_organisation(session, f"Race {uuid.uuid4()}")
    tenant = TenantContext(org.id)
    first = session_database.new_session(tenant, write=True)
    try:
        first_key, second_key = (_admin_key(session_database, org.id) for _ in range(2))
        auth_service.revoke_key(first, first_key, utcnow())  # holds the lock, not committed
        outcome: list[BaseException | None] = []

        def revoke_the_other() -> None:
            try:
                with session_database.session(tenant, write=True) as second:
                    second.execute(text("SET LOCAL lock_timeout = '20s'"))
                    auth_service.revoke_key(second, second_key, utcnow())
                outcome.append(None)
            except Exception as exc:
                outcome.append(exc)

        racer = threading.Thread(target=revoke_the_other)
        racer.start()
        racer.join(timeout=1)
        assert racer.is_alive()  # waiting for the first revoke's lock
        first.commit()
        racer.join(timeout=20)
        assert len(outcome) == 1 and isinstance(outcome[0], Conflict)
        with session_database.session(SYSTEM) as session:
            active = session.scalars(
                select(ApiKey.id).where(
                    ApiKey.organisation_id == org.id, ApiKey.revoked_at.is_(None)
                )
            ).all()
        assert active == [second_key]
    finally:
        first.close()
        with session_database.session(SYSTEM, write=True) as session:
            session.execute(delete(Organisation).where(Organisation.id == org.id))
