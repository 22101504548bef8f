"""The tenant filter in hrdd.db: one place, fails closed."""

import uuid

import pytest
from sqlalchemy import insert, select

from hrdd.audit.models import AuditEvent
from hrdd.auth.models import ApiKey
from hrdd.db import SYSTEM, TenantContext, TenantScopeError, utcnow


def test_session_without_tenant_cannot_read_tenant_tables(db):
    with pytest.raises(TenantScopeError), db.session(TenantContext(None)) as session:
        session.scalars(select(ApiKey)).all()


def test_tenant_session_sees_only_its_rows(db, tenant_a, tenant_b):
    with db.session(TenantContext(tenant_a.organisation_id)) as session:
        names = {k.name for k in session.scalars(select(ApiKey))}
        assert names and all(n.startswith(tenant_a.name) for n in names)
        foreign = session.get(ApiKey, next(iter(tenant_b.key_ids.values())))
        assert foreign is None


def test_tenant_session_cannot_write_into_another_tenant(db, tenant_a, tenant_b):
    with (
        pytest.raises(TenantScopeError),
        db.session(TenantContext(tenant_a.organisation_id)) as session,
    ):
        session.add(
            ApiKey(
                organisation_id=tenant_b.organisation_id,
                name="smuggled",
                role="admin",
                prefix="deadbeef0000",
                secret_hash="0" * 64,
            )
        )
        session.flush()


def test_new_rows_are_stamped_with_the_tenant(db, tenant_a):
    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        key = ApiKey(name="stamped", role="investor", prefix="feedface0000", secret_hash="1" * 64)  # type: ignore[call-arg]
        session.add(key)
        session.flush()
        assert key.organisation_id == tenant_a.organisation_id


def test_filter_follows_each_sessions_tenant_not_a_cached_one(db, tenant_a, tenant_b):
    # SQLAlchemy caches compiled statements; the tenant id must stay a bound parameter.
    for tenant in (tenant_a, tenant_b, tenant_a, tenant_b):
        with db.session(TenantContext(tenant.organisation_id)) as session:
            owners = {k.organisation_id for k in session.scalars(select(ApiKey))}
            assert owners == {tenant.organisation_id}
            for key_id in tenant.key_ids.values():
                assert session.get(ApiKey, key_id) is not None


def _key_row(prefix: str, **extra):
    return {
        "id": uuid.uuid4(),
        "name": f"bulk {prefix}",
        "role": "investor",
        "prefix": prefix,
        "secret_hash": "2" * 64,
        "created_at": utcnow(),
        **extra,
    }


def test_bulk_inserted_rows_are_stamped_with_the_tenant(db, tenant_a):
    rows = [_key_row("bulk00000001"), _key_row("bulk00000002")]
    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        session.execute(insert(ApiKey), rows)
        owners = session.scalars(
            select(ApiKey.organisation_id).where(ApiKey.prefix.startswith("bulk"))
        ).all()
    assert owners == [tenant_a.organisation_id] * 2
    assert all("organisation_id" not in row for row in rows)  # the caller's rows are untouched


@pytest.mark.parametrize("rows", ["one", "many"])
def test_bulk_insert_cannot_write_into_another_tenant(db, tenant_a, tenant_b, rows):
    smuggled = _key_row("bulk00000003", organisation_id=tenant_b.organisation_id)
    parameters = smuggled if rows == "one" else [_key_row("bulk00000004"), smuggled]
    with (
        pytest.raises(TenantScopeError),
        db.session(TenantContext(tenant_a.organisation_id), write=True) as session,
    ):
        session.execute(insert(ApiKey), parameters)
    with db.session(SYSTEM) as session:
        assert session.scalars(select(ApiKey).where(ApiKey.prefix.startswith("bulk"))).all() == []


def test_bulk_insert_needs_a_tenant_and_rows_it_can_check(db, tenant_a):
    with pytest.raises(TenantScopeError), db.session(TenantContext(None), write=True) as session:
        session.execute(insert(ApiKey), [_key_row("bulk00000005")])
    with (
        pytest.raises(TenantScopeError),
        db.session(TenantContext(tenant_a.organisation_id), write=True) as session,
    ):
        session.execute(insert(ApiKey).values(**_key_row("bulk00000006")))


def test_bulk_insert_of_shared_rows_from_a_tenant_session(db, tenant_a, tenant_b):
    """Shared-or-tenant-owned tables take shared rows (no organisation) and the tenant's own,
    as the flush allows; the system session may write any organisation's."""
    entity = uuid.uuid4()

    def event(organisation_id):
        return {
            "id": uuid.uuid4(),
            "organisation_id": organisation_id,
            "entity_type": "test",
            "entity_id": entity,
            "action": "bulk",
            "old_value": "before",
            "new_value": "after",
            "at": utcnow(),
        }

    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        session.execute(insert(AuditEvent), [event(None), event(tenant_a.organisation_id)])
    with db.session(SYSTEM, write=True) as session:
        session.execute(insert(AuditEvent), [event(tenant_b.organisation_id)])
        owners = session.scalars(
            select(AuditEvent.organisation_id).where(AuditEvent.entity_id == entity)
        ).all()
    assert sorted(map(str, owners)) == sorted(
        map(str, [None, tenant_a.organisation_id, tenant_b.organisation_id])
    )
