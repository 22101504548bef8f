"""The tenant filter in hrdd.db: one place, fails closed."""

import uuid

import pytest
from sqlalchemy import bindparam, delete, insert, select, update

from hrdd.audit.models import AuditEvent
from hrdd.auth.models import ApiKey
from hrdd.companies.models import Company
from hrdd.db import SYSTEM, TenantContext, TenantScopeError, reusable, shared_write, utcnow
from hrdd.vocab import Role


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


def test_bulk_insert_of_shared_rows_only_from_the_system(db, tenant_a, tenant_b):
    """Shared-or-tenant-owned tables take the tenant's own rows from its session, as the flush
    does, but shared rows (no organisation) only from the system session, which may also write
    any organisation's."""
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

    with (
        pytest.raises(TenantScopeError, match="shared AuditEvent added"),
        db.session(TenantContext(tenant_a.organisation_id), write=True) as session,
    ):
        session.execute(insert(AuditEvent), [event(tenant_a.organisation_id), event(None)])
    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        session.execute(insert(AuditEvent), [event(tenant_a.organisation_id)])
    with db.session(SYSTEM, write=True) as session:
        session.execute(insert(AuditEvent), [event(None), event(tenant_b.organisation_id)])
        owners = session.scalars(
            select(AuditEvent.organisation_id).where(AuditEvent.entity_id == entity)
        ).all()
    assert sorted(map(str, owners)) == sorted(
        map(str, [None, tenant_a.organisation_id, tenant_b.organisation_id])
    )


# --- writes: an organisation's session writes only its own rows --------------------------------


def _company(db, name, organisation_id):
    """A company of ``organisation_id`` (None: shared, as the loader makes them), by id."""
    with db.session(SYSTEM, write=True) as session:
        company = Company(name=name, search_text=name.casefold(), organisation_id=organisation_id)
        session.add(company)
    return company.id


def _company_names(db):
    with db.session(SYSTEM) as session:
        return {c.id: (c.name, c.organisation_id) for c in session.scalars(select(Company))}


@pytest.fixture
def companies(db, tenant_a, tenant_b):
    """A shared company, one of organisation B's and one of A's own, by whose."""
    return {
        "shared": _company(db, "Shared Surveillance Ltd", None),
        "other": _company(db, "Borealis Private Co", tenant_b.organisation_id),
        "own": _company(db, "Aurora Private Co", tenant_a.organisation_id),
    }


def _into(session, db, company_id):
    """The company as an object of ``session``, even one its filter hides (another
    organisation's): read by the system and handed over, as a bug might."""
    with db.session(SYSTEM) as loader:
        company = loader.get(Company, company_id)
    session.add(company)
    return company


@pytest.mark.parametrize(
    ("whose", "refusal"),
    [("shared", "shared Company deleted"), ("other", "belongs to another organisation")],
)
def test_tenant_session_cannot_delete_rows_not_its_own(db, tenant_a, companies, whose, refusal):
    before = _company_names(db)
    with (
        pytest.raises(TenantScopeError, match=refusal),
        db.session(TenantContext(tenant_a.organisation_id), write=True) as session,
    ):
        session.delete(_into(session, db, companies[whose]))
    assert _company_names(db) == before


def test_tenant_session_deletes_its_own_rows(db, tenant_a, companies):
    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        session.delete(session.get(Company, companies["own"]))
    assert companies["own"] not in _company_names(db)


@pytest.mark.parametrize("whose", ["shared", "other"])
def test_tenant_session_cannot_take_over_rows(db, tenant_a, companies, whose):
    """A row given the session's organisation is checked against its stored owner."""
    before = _company_names(db)
    with (
        pytest.raises(TenantScopeError, match="organisation_id changed"),
        db.session(TenantContext(tenant_a.organisation_id), write=True) as session,
    ):
        _into(session, db, companies[whose]).organisation_id = tenant_a.organisation_id
    assert _company_names(db) == before


def test_tenant_session_cannot_make_its_rows_shared(db, tenant_a, companies):
    before = _company_names(db)
    with (
        pytest.raises(TenantScopeError, match="organisation_id changed"),
        db.session(TenantContext(tenant_a.organisation_id), write=True) as session,
    ):
        session.get(Company, companies["own"]).organisation_id = None
    assert _company_names(db) == before


@pytest.mark.parametrize("whose", ["shared", "other"])
@pytest.mark.parametrize("write", ["update", "delete", "update by id"])
def test_bulk_writes_leave_rows_not_its_own(db, tenant_a, tenant_b, companies, whose, write):
    """The tenant's loader criteria let shared rows through to reads; its UPDATE and DELETE
    statements touch only its own rows, and another organisation sees nothing change. An
    UPDATE by primary key, which SQLAlchemy runs without the loader criteria, too."""
    before = _company_names(db)
    company_id = companies[whose]
    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        if write == "update":
            statement = update(Company).where(Company.id == company_id).values(name="PWNED")
            assert session.execute(statement).rowcount == 0
        elif write == "delete":
            assert session.execute(delete(Company).where(Company.id == company_id)).rowcount == 0
        else:
            by_id = update(Company).execution_options(synchronize_session=None)
            session.execute(by_id, [{"id": company_id, "name": "PWNED"}])
    assert _company_names(db) == before
    with db.session(TenantContext(tenant_b.organisation_id)) as session:
        assert "PWNED" not in set(session.scalars(select(Company.name)))


def test_update_by_id_leaves_another_tenants_rows(db, tenant_a, tenant_b):
    """Tenant-owned tables too: SQLAlchemy's UPDATE by primary key skips the loader criteria."""
    key_id = tenant_b.key_ids[Role.investor]
    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        by_id = update(ApiKey).execution_options(synchronize_session=None)
        session.execute(by_id, [{"id": key_id, "name": "PWNED"}])
    with db.session(SYSTEM) as session:
        assert session.get(ApiKey, key_id).name != "PWNED"


def test_bulk_writes_of_its_own_rows_read_shared_ones(db, tenant_a, companies):
    """A subquery of a write reads as a select does: shared rows and the tenant's own."""
    names = select(Company.name).where(Company.id == companies["shared"]).scalar_subquery()
    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        renamed = session.execute(
            update(Company)
            .where(Company.id.in_([companies["own"], companies["shared"]]))
            .values(notes=names)
        )
        assert renamed.rowcount == 1
    with db.session(SYSTEM) as session:
        notes = {c.id: c.notes for c in session.scalars(select(Company))}
    assert notes[companies["own"]] == "Shared Surveillance Ltd"
    assert notes[companies["shared"]] is None


_RENAME = reusable(
    update(Company).where(Company.id == bindparam("company_id")).values(notes=bindparam("notes"))
)
_NAME = reusable(select(Company.name).where(Company.id == bindparam("company_id")))


def test_reusable_writes_and_reads_keep_their_own_filters(db, tenant_a, tenant_b, companies):
    """The filtered statements are cached per statement and organisation: a write's narrower
    filter never reaches a read, nor one organisation's another's."""
    shared = {"company_id": companies["shared"], "notes": "PWNED"}
    for tenant in (tenant_a, tenant_b, tenant_a):
        with db.session(TenantContext(tenant.organisation_id), write=True) as session:
            assert session.execute(_RENAME, shared).rowcount == 0
            assert session.scalar(_NAME, {"company_id": companies["shared"]}) is not None
            own = {"company_id": companies["own"], "notes": "renamed"}
            assert session.execute(_RENAME, own).rowcount == (tenant is tenant_a)


@pytest.mark.parametrize("how", ["values", "parameters"])
def test_bulk_update_cannot_change_the_owner(db, tenant_a, tenant_b, companies, how):
    before = _company_names(db)
    with (
        pytest.raises(TenantScopeError, match="organisation_id changed"),
        db.session(TenantContext(tenant_a.organisation_id), write=True) as session,
    ):
        if how == "values":
            statement = update(Company).where(Company.id == companies["own"])
            session.execute(statement.values(organisation_id=tenant_b.organisation_id))
        else:
            session.execute(update(Company), [{"id": companies["own"], "organisation_id": None}])
    assert _company_names(db) == before


def test_system_session_writes_shared_rows(db, companies):
    with db.session(SYSTEM, write=True) as session:
        session.execute(
            update(Company).where(Company.id == companies["shared"]).values(notes="curated")
        )
        session.get(Company, companies["other"]).notes = "curated"
        session.delete(session.get(Company, companies["own"]))
    with db.session(SYSTEM) as session:
        notes = {c.id: c.notes for c in session.scalars(select(Company))}
    assert notes[companies["shared"]] == notes[companies["other"]] == "curated"
    assert companies["own"] not in notes


def test_shared_write_may_change_shared_rows(db, tenant_a, tenant_b, companies):
    """The one opt-in: an UPDATE marked ``shared_write`` reaches the rows the tenant reads,
    shared and its own, and still not another organisation's; a DELETE so marked only its own."""
    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        result = session.execute(
            shared_write(update(Company).where(Company.id.in_(list(companies.values()))))
            .values(notes="frozen")
            .execution_options(synchronize_session=False)
        )
        assert result.rowcount == 2
    with db.session(SYSTEM) as session:
        notes = {c.id: c.notes for c in session.scalars(select(Company))}
    assert notes[companies["shared"]] == notes[companies["own"]] == "frozen"
    assert notes[companies["other"]] is None
    with db.session(TenantContext(tenant_a.organisation_id), write=True) as session:
        statement = shared_write(delete(Company).where(Company.id == companies["shared"]))
        assert session.execute(statement).rowcount == 0


def test_tenant_session_cannot_add_shared_rows(db, tenant_a):
    before = _company_names(db)
    with (
        pytest.raises(TenantScopeError, match="shared Company added"),
        db.session(TenantContext(tenant_a.organisation_id), write=True) as session,
    ):
        session.add(Company(name="Smuggled Shared Co", search_text="smuggled shared co"))
    assert _company_names(db) == before
