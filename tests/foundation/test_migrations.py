"""The migrations build exactly the models' schema, on SQLite and PostgreSQL, and unwind."""

import datetime as dt
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from hrdd import migrations_info
from hrdd.assessments.models import Assessment
from hrdd.auth import service as auth_service
from hrdd.auth.models import Organisation
from hrdd.companies import service as companies
from hrdd.companies.models import Company, CompanyIdentifier
from hrdd.companies.schemas import CompanyIn
from hrdd.config import Settings
from hrdd.content import load_bundled_content
from hrdd.db import SYSTEM, Database, TenantContext, make_engine, utcnow
from hrdd.evidence.models import EvidenceItem
from hrdd.models_registry import metadata
from hrdd.portfolios.models import Holding, Portfolio
from hrdd.questionnaires import service as questionnaires
from hrdd.questionnaires.loader import load_questionnaire_dir
from hrdd.questionnaires.models import QuestionnaireVersion
from hrdd.scoring import service as scoring
from hrdd.scoring.models import RuleSetPreview, RuleSetVersion, StoredScore
from hrdd.screening.models import ScreeningImport
from hrdd.vocab import Role
from tests.conftest import drop_database, fresh_database_url


def _schema_differences(url: str) -> list:
    engine = make_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    return differences


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


def _bundled_questionnaire_before_0014(
    database: Database,
    version: str | None = None,
    published_by_key: uuid.UUID | None = None,
) -> uuid.UUID:
    """The bundled questionnaire's version (or a copy numbered ``version``, published through
    the API by ``published_by_key``) stored as revisions before 0014 stored it (no
    organisation column), without today's model, which has one."""
    [questionnaire] = load_questionnaire_dir(Settings().questionnaires_dir)
    if version is not None:
        questionnaire = questionnaire.model_copy(update={"version": version})
    version_id = uuid.uuid4()
    # Values as the database keeps them (SQLite: hex text), as the migrations write them.
    stored_id: object = version_id.hex if database.is_sqlite else version_id
    table = sa.Table("questionnaire_versions", sa.MetaData(), autoload_with=database.engine)
    now = utcnow()
    with database.engine.begin() as connection:
        connection.execute(
            table.insert().values(
                id=stored_id,
                key=questionnaire.key,
                version=questionnaire.version,
                title=questionnaire.title,
                content=questionnaires.content_of(questionnaire),
                content_hash=questionnaire.digest(),
                source="bundled" if published_by_key is None else "api",
                created_by_key_id=(
                    None
                    if published_by_key is None
                    else published_by_key.hex
                    if database.is_sqlite
                    else published_by_key
                ),
                frozen=False,
                created_at=now,
                updated_at=now,
            )
        )
    return version_id


def _company_before_0015(session: Session, name: str, **values: Any) -> uuid.UUID:
    """A company stored as revisions before 0015 stored it (no products column), without
    today's model, which has one; in ``session``'s transaction."""
    company_id = uuid.uuid4()
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    table = sa.Table("companies", sa.MetaData(), autoload_with=connection)
    now = utcnow()
    row = {
        "id": company_id,
        "name": name,
        "aliases": [],
        "search_text": name.casefold(),
        "categories": [],
        "listing_status": "private",
        "version": 1,
        "created_at": now,
        "updated_at": now,
        **values,
    }
    # Values as the database keeps them (SQLite: hex text), as the migrations write them.
    if sqlite:
        row = {k: v.hex if isinstance(v, uuid.UUID) else v for k, v in row.items()}
    connection.execute(table.insert().values(**row))
    return company_id


# Reads a company through the model before 0015 added the column the model maps.
BEFORE_0015 = [defer(Company.products, raiseload=True)]


def _organisation_and_company(
    database: Database, version_id: uuid.UUID | None = None
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """An organisation, a shared company to assess, and the bundled questionnaire's version:
    at the head, or ``version_id`` when it was stored before 0014 (and the company as before
    0015)."""
    with database.session(SYSTEM, write=True) as session:
        organisation = Organisation(name="Org")
        session.add(organisation)
        session.flush()
        if version_id is not None:
            return organisation.id, _company_before_0015(session, "Example Vendor"), version_id
        company = Company(name="Example Vendor", search_text="example vendor")
        session.add(company)
        session.flush()
        latest = questionnaires.latest_version(session, "stap-surveillance")
        return organisation.id, company.id, latest.id


def _store_a_score(database: Database, url: str) -> None:
    """Migrated to the head with the bundled content: one stored score, of a final assessment."""
    migrations_info.upgrade(url)
    load_bundled_content(database, Settings(database_url=url))
    org_id, company_id, version_id = _organisation_and_company(database)
    with database.session(TenantContext(org_id), write=True) as session:
        assessment = Assessment(
            company_id=company_id,
            questionnaire_version_id=version_id,
            status="final",
            created_by_name="test",
        )
        session.add(assessment)
        session.flush()
        scoring.assessment_score(session, assessment.id, None)


def test_upgrade_matches_models_and_downgrade_unwinds(tmp_path):
    url = fresh_database_url(tmp_path, "migrations_check")
    try:
        migrations_info.upgrade(url)
        assert _schema_differences(url) == []
        assert set(metadata.tables) <= _tables(url)

        migrations_info.downgrade(url, "base")
        assert _tables(url) <= {"alembic_version"}

        migrations_info.upgrade(url)
        assert _schema_differences(url) == []
    finally:
        drop_database(url)


def test_0007_makes_companies_made_through_the_api_private_and_keeps_their_rows(tmp_path):
    """On data: a company with a maker becomes its organisation's with its identifiers, one
    without stays shared, and SQLite's table copies delete nothing that refers to them."""
    url = fresh_database_url(tmp_path, "migrations_0007")
    engine = make_engine(url)
    value = (lambda u: u.hex) if engine.dialect.name == "sqlite" else (lambda u: u)
    org, made, shared = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    company = (
        "INSERT INTO companies (id, name, aliases, search_text, categories, listing_status,"
        " created_by_organisation_id, version, created_at, updated_at) VALUES (:id, 'C', '[]',"
        " 'c', '[]', 'private', :maker, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    identifier = (
        "INSERT INTO company_identifiers (id, company_id, scheme, value)"
        " VALUES (:id, :company, 'isin', :value)"
    )
    try:
        migrations_info.upgrade(url, "0006")
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO organisations (id, name, created_at) VALUES (:id, 'Org', :now)"),
                {"id": value(org), "now": utcnow()},
            )
            for company_id, maker in ((made, value(org)), (shared, None)):
                connection.execute(text(company), {"id": value(company_id), "maker": maker})
                connection.execute(
                    text(identifier),
                    {"id": value(uuid.uuid4()), "company": value(company_id), "value": str(maker)},
                )
        migrations_info.upgrade(url, "0007")
        with engine.connect() as connection:
            for table in ("companies", "company_identifiers"):
                owners = connection.execute(text(f"SELECT organisation_id FROM {table}"))
                assert sorted(map(str, owners.scalars())) == sorted([str(value(org)), "None"])
        migrations_info.downgrade(url, "0006")
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM company_identifiers")) == 2
    finally:
        engine.dispose()
        drop_database(url)


def test_0009_leaves_one_open_assessment_per_company_and_keeps_the_others(tmp_path):
    """Parallel drafts made before the rule: the newest stays open, the older ones are marked
    superseded (kept, answers and all), and the index then refuses a second open one."""
    url = fresh_database_url(tmp_path, "migrations_0009")
    database = Database(url)
    try:
        migrations_info.upgrade(url, "0008")
        org_id, company_id, version_id = _organisation_and_company(
            database, _bundled_questionnaire_before_0014(database)
        )
        started = utcnow()
        with database.session(TenantContext(org_id), write=True) as session:
            for minutes, status in ((0, "draft"), (1, "submitted"), (2, "draft"), (3, "final")):
                session.add(
                    Assessment(
                        company_id=company_id,
                        questionnaire_version_id=version_id,
                        status=status,
                        created_by_name="test",
                        created_at=started + dt.timedelta(minutes=minutes),
                    )
                )
        migrations_info.upgrade(url, "0009")
        with database.session(TenantContext(org_id)) as session:
            statuses = session.scalars(
                select(Assessment.status).order_by(Assessment.created_at)
            ).all()
        assert statuses == ["superseded", "superseded", "draft", "final"]
        with (
            pytest.raises(IntegrityError),
            database.session(TenantContext(org_id), write=True) as session,
        ):
            session.add(
                Assessment(
                    company_id=company_id,
                    questionnaire_version_id=version_id,
                    status="draft",
                    created_by_name="test",
                )
            )
        migrations_info.downgrade(url, "0008")
    finally:
        database.dispose()
        drop_database(url)


def test_0014_makes_published_questionnaire_versions_their_publishers_own(tmp_path):
    """Before 0014 every version was shared. A version an organisation published becomes its
    own, unless another organisation's assessment uses it: that one stays shared, as the
    assessment needs it. Bundled versions stay shared."""
    url = fresh_database_url(tmp_path, "migrations_0014")
    database = Database(url)
    try:
        migrations_info.upgrade(url, "0013")
        with database.session(SYSTEM, write=True) as session:
            publisher, other = Organisation(name="Publisher"), Organisation(name="Other")
            session.add_all([publisher, other])
            session.flush()
            company_id = _company_before_0015(session, "Example Vendor")
            key, _ = auth_service.create_key(session, publisher.id, "analyst", Role.analyst)
            ids = {"publisher": publisher.id, "other": other.id, "company": company_id}
        bundled = _bundled_questionnaire_before_0014(database)
        kept = _bundled_questionnaire_before_0014(database, "1.1.0", key.id)
        used_by_other = _bundled_questionnaire_before_0014(database, "1.2.0", key.id)
        for organisation, version_id in (("publisher", kept), ("other", used_by_other)):
            with database.session(TenantContext(ids[organisation]), write=True) as session:
                session.add(
                    Assessment(
                        company_id=ids["company"],
                        questionnaire_version_id=version_id,
                        status="final",
                        created_by_name="test",
                    )
                )
        migrations_info.upgrade(url, "0014")
        with database.session(SYSTEM) as session:
            owners = dict(
                session.execute(
                    select(QuestionnaireVersion.id, QuestionnaireVersion.organisation_id)
                ).all()
            )
        assert owners == {bundled: None, kept: ids["publisher"], used_by_other: None}
        migrations_info.downgrade(url, "0013")
    finally:
        database.dispose()
        drop_database(url)


def test_0010_gives_each_user_of_anothers_private_company_its_own_copy(tmp_path):
    """Before 0007 organisation B could assess, hold and record evidence about a company A
    made; after it, B's rows named a company B cannot see. 0010 gives B its own copy (without
    A's notes) and points B's rows at it; A's company and rows are untouched."""
    url = fresh_database_url(tmp_path, "migrations_0010")
    database = Database(url)
    try:
        migrations_info.upgrade(url, "0009")
        version_id = _bundled_questionnaire_before_0014(database)
        with database.session(SYSTEM, write=True) as session:
            maker, user = Organisation(name="Maker"), Organisation(name="User")
            session.add_all([maker, user])
            session.flush()
            company_id = _company_before_0015(
                session,
                "Acme Intercept Ltd",
                lei="5493001KJTIIGC8Y1R12",
                notes="INTERNAL: we hold 2.5m via Fund III",
                organisation_id=maker.id,
            )
            session.add(
                CompanyIdentifier(
                    company_id=company_id,
                    scheme="isin",
                    value="DE0007164600",
                    organisation_id=maker.id,
                )
            )
            ids = {"maker": maker.id, "user": user.id, "company": company_id}
        for organisation in ("maker", "user"):
            with database.session(TenantContext(ids[organisation]), write=True) as session:
                portfolio = Portfolio(name="P", base_currency="EUR", created_by_name="test")
                session.add(portfolio)
                session.flush()
                session.add_all(
                    [
                        Assessment(
                            company_id=ids["company"],
                            questionnaire_version_id=version_id,
                            status="draft",
                            created_by_name="test",
                        ),
                        Holding(
                            portfolio_id=portfolio.id,
                            line=2,
                            name="Acme",
                            currency="EUR",
                            company_id=ids["company"],
                            resolution="identifier",
                        ),
                        Holding(
                            portfolio_id=portfolio.id,
                            line=3,
                            name="Acme Intercept (unconfirmed)",
                            currency="EUR",
                            resolution="candidates",
                            candidates=[
                                {"company_id": str(ids["company"]), "name": "Acme", "score": 91.0}
                            ],
                        ),
                    ]
                )

        migrations_info.upgrade(url, "0010")

        with database.session(TenantContext(ids["user"])) as session:
            [assessed] = session.scalars(select(Assessment.company_id)).all()
            [held] = session.scalars(
                select(Holding.company_id).where(Holding.company_id.is_not(None))
            ).all()
            assert assessed == held != ids["company"]
            [suggested] = session.scalars(
                select(Holding.candidates).where(Holding.company_id.is_(None))
            ).all()
            assert suggested == [{"company_id": str(assessed), "name": "Acme", "score": 91.0}]
            copy = session.get(Company, assessed, options=BEFORE_0015)
            assert copy is not None and copy.organisation_id == ids["user"]
            assert (copy.name, copy.lei, copy.notes) == (
                "Acme Intercept Ltd",
                "5493001KJTIIGC8Y1R12",
                None,
            )
            assert session.scalars(
                select(CompanyIdentifier.value).where(CompanyIdentifier.company_id == copy.id)
            ).all() == ["DE0007164600"]
            assert session.get(Company, ids["company"], options=BEFORE_0015) is None
        with database.session(TenantContext(ids["maker"])) as session:
            assert session.scalars(select(Assessment.company_id)).all() == [ids["company"]]
            assert set(session.scalars(select(Holding.company_id))) == {ids["company"], None}
            assert [
                entry["company_id"]
                for candidates in session.scalars(select(Holding.candidates))
                for entry in candidates
            ] == [str(ids["company"])]
            maker_company = session.get(Company, ids["company"], options=BEFORE_0015)
            assert maker_company.notes == "INTERNAL: we hold 2.5m via Fund III"
    finally:
        database.dispose()
        drop_database(url)


def test_0011_names_the_rules_of_scores_stored_before_by_their_hash(tmp_path):
    """A score stored before results recorded their rules' content hash gets its version's
    (the hash GET /rulesets shows); downgrading takes it out again."""
    url = fresh_database_url(tmp_path, "migrations_0011")
    database = Database(url)
    try:
        _store_a_score(database, url)
        with database.session(SYSTEM, write=True) as session:
            [stored] = session.scalars(select(StoredScore)).all()
            expected = session.get(RuleSetVersion, stored.ruleset_version_id).content_hash
            assert stored.result["ruleset_hash"] == expected
            # As a score stored before the hash was recorded.
            stored.result = {k: v for k, v in stored.result.items() if k != "ruleset_hash"}

        def stored_hash() -> str | None:
            with database.session(SYSTEM) as session:
                return session.scalars(select(StoredScore)).one().result.get("ruleset_hash")

        migrations_info.downgrade(url, "0010")
        assert stored_hash() is None
        migrations_info.upgrade(url, "0011")
        assert stored_hash() == expected
        migrations_info.downgrade(url, "0010")
        assert stored_hash() is None
        # The release before knows neither field: its result model would refuse them.
        with database.session(SYSTEM) as session:
            assert (
                "company_sourced_answers" not in session.scalars(select(StoredScore)).one().result
            )
    finally:
        database.dispose()
        drop_database(url)


def test_0012_drops_suggestions_of_companies_the_holding_cannot_see(tmp_path):
    """A suggestion made before 0007 could name another organisation's (now private) company:
    the holding showed its name, and confirming it answered 422. 0012 drops it; a holding
    left with no suggestion is unresolved. Shared and own companies stay suggested."""
    url = fresh_database_url(tmp_path, "migrations_0012")
    database = Database(url)
    try:
        migrations_info.upgrade(url, "0011")
        with database.session(SYSTEM, write=True) as session:
            maker, user = Organisation(name="Maker"), Organisation(name="User")
            session.add_all([maker, user])
            session.flush()
            ids = {
                "user": user.id,
                "others": _company_before_0015(
                    session, "Acme Intercept Ltd", organisation_id=maker.id
                ),
                "own": _company_before_0015(session, "Acme Holdings", organisation_id=user.id),
                "shared": _company_before_0015(session, "Acme Group"),
            }

        def suggestion(company: str, score: float) -> dict:
            return {"company_id": str(ids[company]), "name": company, "score": score}

        with database.session(TenantContext(ids["user"]), write=True) as session:
            portfolio = Portfolio(name="P", base_currency="EUR", created_by_name="test")
            session.add(portfolio)
            session.flush()
            for line, (resolution, candidates) in enumerate(
                [
                    ("candidates", [suggestion("others", 95.0), suggestion("shared", 90.0)]),
                    ("candidates", [suggestion("others", 93.0)]),
                    ("candidates", [suggestion("own", 92.0), suggestion("shared", 91.0)]),
                ],
                start=2,
            ):
                session.add(
                    Holding(
                        portfolio_id=portfolio.id,
                        line=line,
                        name=f"Acme {line}",
                        currency="EUR",
                        resolution=resolution,
                        candidates=candidates,
                    )
                )

        migrations_info.upgrade(url, "0012")

        with database.session(TenantContext(ids["user"])) as session:
            holdings = session.scalars(select(Holding).order_by(Holding.line)).all()
            assert [(h.resolution, h.candidates) for h in holdings] == [
                ("candidates", [suggestion("shared", 90.0)]),
                ("unresolved", []),
                ("candidates", [suggestion("own", 92.0), suggestion("shared", 91.0)]),
            ]
        migrations_info.downgrade(url, "0011")
        migrations_info.upgrade(url)
    finally:
        database.dispose()
        drop_database(url)


def test_0013_downgrade_rewrites_the_trend_the_release_before_does_not_know(tmp_path):
    url = fresh_database_url(tmp_path, "migrations_0013")
    database = Database(url)
    try:
        _store_a_score(database, url)
        with database.session(SYSTEM, write=True) as session:
            stored = session.scalars(select(StoredScore)).one()
            # The trend is recorded twice: the score's own, and its diff's.
            assert stored.result["diff"] is None
            stored.result = {
                **stored.result,
                "trend": "basis_changed",
                "diff": {"trend": "basis_changed", "entries": []},
            }

        migrations_info.downgrade(url, "0012")
        with database.session(SYSTEM) as session:
            result = session.scalars(select(StoredScore)).one().result
            assert (result["trend"], result["diff"]["trend"]) == ("rules_changed", "rules_changed")
    finally:
        database.dispose()
        drop_database(url)


def test_0015_adds_products_and_downgrading_takes_them_out_of_the_search(tmp_path):
    """A company stored before 0015 keeps its row and search text and has no products; the
    shared-LEI index keeps its WHERE through SQLite's table copies. Downgrading keeps the rows
    and rebuilds search_text without the products, which the release before would still
    find."""
    url = fresh_database_url(tmp_path, "migrations_0015")
    database = Database(url)
    lei = "5493001KJTIIGC8Y1R12"
    before = "nso group technologies | nso group"
    try:
        migrations_info.upgrade(url, "0014")
        with database.session(SYSTEM, write=True) as session:
            organisations = [Organisation(name="First"), Organisation(name="Second")]
            session.add_all(organisations)
            session.flush()
            vendor = _company_before_0015(
                session, "NSO Group Technologies", aliases=["NSO Group"], search_text=before
            )
            organisation_ids = [organisation.id for organisation in organisations]

        # To the head: the schema matches today's models only there (later revisions add
        # columns of their own), and the downgrade below goes back through them.
        migrations_info.upgrade(url)
        assert _schema_differences(url) == []
        with database.session(SYSTEM, write=True) as session:
            company = session.get(Company, vendor)
            assert (company.aliases, company.products, company.search_text) == (
                ["NSO Group"],
                [],
                before,
            )
            companies.replace_company(
                session,
                company,
                CompanyIn(name=company.name, aliases=company.aliases, products=["Pegasus"]),
            )
            assert company.search_text == f"{before} | pegasus"
            # An LEI is unique among the shared companies, not across organisations.
            session.add(Company(name="Shared", search_text="shared", lei=lei))
            for organisation_id in organisation_ids:
                session.add(
                    Company(name="Own", search_text="own", lei=lei, organisation_id=organisation_id)
                )
        with pytest.raises(IntegrityError), database.session(SYSTEM, write=True) as session:
            session.add(Company(name="Shared again", search_text="shared again", lei=lei))

        # Recreating the index without its WHERE would fail on the two organisations' LEI.
        migrations_info.downgrade(url, "0014")
        with database.engine.connect() as connection:
            rows = connection.execute(text("SELECT name, search_text FROM companies")).all()
        assert sorted(rows) == sorted(
            [
                ("NSO Group Technologies", before),
                ("Shared", "shared"),
                ("Own", "own"),
                ("Own", "own"),
            ]
        )
        assert "products" not in {
            c["name"] for c in inspect(database.engine).get_columns("companies")
        }
        migrations_info.upgrade(url)
    finally:
        database.dispose()
        drop_database(url)


def test_0016_gives_earlier_screening_imports_no_lists_left_uncovered(tmp_path):
    """Imports before 0016 judged every absent record, so they left no list uncovered: an
    empty list, which the API reads; downgrading drops the column and keeps the imports."""
    url = fresh_database_url(tmp_path, "migrations_0016")
    database = Database(url)
    try:
        migrations_info.upgrade(url, "0015")
        import_id = uuid.uuid4()
        with database.session(SYSTEM, write=True) as session:
            organisation = Organisation(name="First")
            session.add(organisation)
            session.flush()
            connection = session.connection()
            row = {
                "id": import_id,
                "organisation_id": organisation.id,
                "imported_by_name": "analyst",
                "imported_at": utcnow(),
                "file_name": "csl.csv",
                "sha256": "0" * 64,
                "size_bytes": 1,
                "format": "csl",
                "list_key": "csl",
                "snapshot_date": dt.date(2026, 1, 5),
                "status": "completed",
                **dict.fromkeys(
                    (
                        "rows_total",
                        "rows_added",
                        "rows_removed",
                        "identifier_matches",
                        "name_matches",
                        "review_queued",
                        "evidence_created",
                        "delistings_created",
                    ),
                    0,
                ),
            }
            # Values as the database keeps them (SQLite: hex text), as the migrations write them.
            if connection.dialect.name == "sqlite":
                row = {k: v.hex if isinstance(v, uuid.UUID) else v for k, v in row.items()}
            imports = sa.Table("screening_imports", sa.MetaData(), autoload_with=connection)
            connection.execute(imports.insert().values(**row))
        migrations_info.upgrade(url)
        assert _schema_differences(url) == []
        with database.session(SYSTEM) as session:
            assert session.get_one(ScreeningImport, import_id).lists_not_covered == []
        migrations_info.downgrade(url, "0015")
        columns = {c["name"] for c in inspect(database.engine).get_columns("screening_imports")}
        assert "lists_not_covered" not in columns
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM screening_imports")).scalar() == 1
        migrations_info.upgrade(url)
    finally:
        database.dispose()
        drop_database(url)


def test_0017_gives_each_screening_delisting_the_listing_it_ended(tmp_path):
    """A screening delisting stored before 0017 names nothing in closes and so ended every
    listing of its list; 0017 names the listing it was written for (the pair's latest item
    before it), across a re-listing too, and leaves alone one whose listing cannot be told
    and items no import wrote. Downgrading empties them again."""
    url = fresh_database_url(tmp_path, "migrations_0017")
    database = Database(url)
    try:
        migrations_info.upgrade(url, "0016")
        start = utcnow()
        with database.session(SYSTEM, write=True) as session:
            organisation = Organisation(name="First")
            company = Company(name="Example Vendor", search_text="example vendor")
            session.add_all([organisation, company])
            session.flush()

            def item(kind: str, day: int, key: str | None, minutes: int) -> EvidenceItem:
                row = EvidenceItem(
                    organisation_id=organisation.id,
                    company_id=company.id,
                    origin="screening" if key else "analyst",
                    event_date=dt.date(2026, day, 1),
                    type=kind,
                    title=f"{kind} {day}",
                    summary="Stored before 0017.",
                    company_role="contributed",
                    related_listing={"list_name": "Entity List (EL)"},
                    screening_record_key=key,
                    created_at=start + dt.timedelta(minutes=minutes),
                )
                session.add(row)
                return row

            listed = item("trade_restriction_listing", 1, "k1", 0)
            delisted = item("delisting", 2, "k1", 1)
            relisted = item("trade_restriction_listing", 3, "k1", 2)
            delisted_again = item("delisting", 4, "k1", 3)
            # A sanction lifted whose pair has no sanction before it: nothing to name.
            unknown = item("sanction_lifted", 2, "k2", 1)
            by_hand = item("delisting", 5, None, 4)
            session.flush()
            ids = {
                name: row.id
                for name, row in {
                    "listed": listed,
                    "delisted": delisted,
                    "relisted": relisted,
                    "delisted_again": delisted_again,
                    "unknown": unknown,
                    "by_hand": by_hand,
                }.items()
            }
        # To the head: the models are the head's schema (0018 adds a table of its own).
        migrations_info.upgrade(url)
        assert _schema_differences(url) == []
        with database.session(SYSTEM) as session:
            rows = {name: session.get_one(EvidenceItem, id_) for name, id_ in ids.items()}
            assert rows["delisted"].closes == [str(ids["listed"])]
            assert rows["delisted_again"].closes == [str(ids["relisted"])]
            assert (rows["delisted"].version, rows["delisted_again"].version) == (2, 2)
            assert rows["unknown"].closes == rows["by_hand"].closes == []
            assert (rows["unknown"].version, rows["by_hand"].version) == (1, 1)
        migrations_info.downgrade(url, "0016")
        with database.session(SYSTEM) as session:
            assert all(session.get_one(EvidenceItem, id_).closes == [] for id_ in ids.values())
        migrations_info.upgrade(url)
    finally:
        database.dispose()
        drop_database(url)


def test_0018_records_previews_of_drafts_and_downgrading_drops_only_them(tmp_path):
    """Drafts stored before 0018 have no preview recorded (so each is previewed again before
    it is published); a preview goes with its draft when the draft is deleted; downgrading
    drops the previews and keeps the drafts."""
    url = fresh_database_url(tmp_path, "migrations_0018")
    database = Database(url)
    try:
        migrations_info.upgrade(url, "0017")
        with database.session(SYSTEM, write=True) as session:
            organisation = Organisation(name="First")
            session.add(organisation)
            session.flush()
            drafts = [
                RuleSetVersion(
                    organisation_id=organisation.id,
                    key="default",
                    version=7,
                    title=f"Draft {number}",
                    status="draft",
                    content={"id": "default", "version": 7},
                    content_hash=str(number) * 64,
                    created_by_name="analyst",
                )
                for number in (1, 2)
            ]
            session.add_all(drafts)
            session.flush()
            kept, deleted = (draft.id for draft in drafts)
            organisation_id = organisation.id
        migrations_info.upgrade(url)
        assert _schema_differences(url) == []
        with database.session(SYSTEM, write=True) as session:
            assert session.scalars(select(RuleSetPreview)).all() == []
            for draft_id in (kept, deleted):
                session.add(
                    RuleSetPreview(
                        organisation_id=organisation_id,
                        draft_id=draft_id,
                        draft_revision=1,
                        draft_hash="1" * 64,
                        compared_id=uuid.uuid4(),
                        compared_hash="0" * 64,
                        summary={"companies": 0},
                        previewed_by_key_id=uuid.uuid4(),
                        previewed_by_name="analyst",
                    )
                )
        with database.session(SYSTEM, write=True) as session:
            session.delete(session.get_one(RuleSetVersion, deleted))
        with database.session(SYSTEM) as session:
            [left] = session.scalars(select(RuleSetPreview)).all()
            assert left.draft_id == kept
        migrations_info.downgrade(url, "0017")
        assert "ruleset_previews" not in _tables(url)
        with database.session(SYSTEM) as session:
            assert session.get_one(RuleSetVersion, kept).status == "draft"
        migrations_info.upgrade(url)
    finally:
        database.dispose()
        drop_database(url)
