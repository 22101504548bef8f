"""The tenant filter in hrdd.db: one place, fails closed."""

import pytest
from sqlalchemy import select

from hrdd.auth.models import ApiKey
from hrdd.db import TenantContext, TenantScopeError


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
