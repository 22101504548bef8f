"""The `hrdd` command."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn
from pydantic import TypeAdapter, ValidationError

from hrdd.auth import service as auth_service
from hrdd.config import get_settings
from hrdd.dates import PastDate
from hrdd.db import SYSTEM, Database
from hrdd.errors import NotFound, Problem, plain_error_message
from hrdd.vocab import Role

if TYPE_CHECKING:  # the demo pulls in reportlab: imported only when a command needs it
    from hrdd.reports.demo import DemoResult

app = typer.Typer(help="hrdd: human-rights due diligence for surveillance-technology holdings.")
db_app = typer.Typer(help="Database schema.")
org_app = typer.Typer(help="Organisations (tenants).")
key_app = typer.Typer(help="API keys.")
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(key_app, name="key")
screening_app = typer.Typer(help="Screening lists (US Consolidated Screening List, OpenSanctions).")
app.add_typer(screening_app, name="screening")


def _database() -> Database:
    return Database(get_settings().database_url)


def _past_date(text: str, option: str) -> date:
    """A day given on the command line, checked as the API checks it (YYYY-MM-DD, in hrdd's
    window of dates, not in the future)."""
    try:
        return TypeAdapter(PastDate).validate_python(text)
    except ValidationError as error:
        raise _fail(f"{option}: {plain_error_message(error.errors()[0])}") from None


def _fail(message: str) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn's own log level")] = "warning",
) -> None:
    """Run the API with uvicorn."""
    uvicorn.run(
        "hrdd.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        proxy_headers=False,
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    from hrdd import migrations_info

    url = get_settings().database_url
    migrations_info.upgrade(url, revision)
    current = migrations_info.current_revision(url)
    typer.echo(_where_the_database_is(current))
    if revision != "head" and current != revision:
        typer.echo(f"(upgrade never goes back: `hrdd db downgrade {revision}` does)")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Undo migrations down to REVISION (e.g. 0009; `base` undoes them all). Each migration
    says in its file what its downgrade keeps: some data changes are not undone."""
    from hrdd import migrations_info

    url = get_settings().database_url
    migrations_info.downgrade(url, revision)
    typer.echo(_where_the_database_is(migrations_info.current_revision(url)))


def _where_the_database_is(revision: str | None) -> str:
    return f"database at {revision or 'base (no migration applied)'}"


@org_app.command("create")
def org_create(name: str) -> None:
    """Create an organisation and print its first admin API key (shown once)."""
    database = _database()
    try:
        with database.session(SYSTEM, write=True) as session:
            org = auth_service.create_organisation(session, name)
            _, secret = auth_service.create_key(session, org.id, "bootstrap admin", Role.admin)
    except Problem as problem:
        raise _fail(problem.detail) from None
    typer.echo(f"organisation {org.name} ({org.id})")
    typer.echo(f"admin API key (shown once, store it now): {secret}")


@key_app.command("create")
def key_create(
    org: Annotated[str, typer.Option("--org", help="Organisation name or id")],
    role: Annotated[Role, typer.Option("--role")],
    name: Annotated[str, typer.Option("--name", help="Who or what uses the key")],
) -> None:
    """Create an API key for an organisation and print it (shown once)."""
    database = _database()
    try:
        with database.session(SYSTEM, write=True) as session:
            organisation = auth_service.find_organisation(session, org)
            key, secret = auth_service.create_key(session, organisation.id, name, role)
    except Problem as problem:
        raise _fail(problem.detail) from None
    typer.echo(f"key {key.id} ({role.value}) for {organisation.name}")
    typer.echo(f"API key (shown once, store it now): {secret}")


@screening_app.command("import")
def screening_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV list file")
    ],
    org: Annotated[str, typer.Option("--org", help="Organisation the evidence belongs to")],
    snapshot_date: Annotated[
        str | None,
        typer.Option(help="Day the file was downloaded, YYYY-MM-DD (default today)"),
    ] = None,
    list_key: Annotated[
        str | None, typer.Option(help="Which list the file is a snapshot of (default: format)")
    ] = None,
) -> None:
    """Import a CSL or OpenSanctions file for an organisation, all or nothing."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from hrdd.db import TenantContext, utcnow
    from hrdd.scoring import service as scoring
    from hrdd.screening import service as screening

    downloaded = _past_date(snapshot_date, "--snapshot-date") if snapshot_date else None
    settings = get_settings()
    database = _database()
    try:
        with database.session(SYSTEM) as session:
            organisation = auth_service.find_organisation(session, org)
        importer = screening.Importer(organisation.id, None, "command line")
        tenant = TenantContext(organisation_id=organisation.id)
        columns = [*Progress.get_default_columns()[:2], BarColumn(), DownloadColumn()]
        with (
            Progress(*columns, TimeRemainingColumn()) as progress,
            file.open("rb") as stream,
        ):
            task = progress.add_task(f"importing {file.name}", total=file.stat().st_size)
            # Parsed and matched before the write begins, which on SQLite holds every other
            # writer back.
            with (
                screening.read_screening_file(
                    database.session(tenant, write=False),
                    stream,
                    file_name=file.name,
                    snapshot_date=downloaded or utcnow().date(),
                    list_key=list_key,
                    max_rows=settings.max_csv_rows,
                    progress=lambda done: progress.update(task, completed=done),
                ) as screening_file,
                database.session(tenant, write=True) as session,
            ):
                # The bar is full once the file is read; the write and rescore follow.
                progress.update(task, description=f"writing {file.name}")
                run = screening.import_screening_file(session, importer, screening_file)
                # As the API does: listings and delistings change the scores of those companies.
                scoring.rescore_companies(session, screening.companies_touched(session, run))
                screening.store_file(settings.data_dir, stream, run.sha256)
    except Problem as problem:
        raise _fail(problem.detail) from None
    finally:
        database.dispose()
    typer.echo(
        f"import {run.id}: {run.rows_total} records ({run.rows_added} new, "
        f"{run.rows_removed} gone since the last snapshot); {run.identifier_matches} identifier "
        f"and {run.name_matches} name matches, {run.evidence_created} evidence items and "
        f"{run.delistings_created} delistings created, {run.review_queued} matches to review"
    )
    if run.lists_not_covered:
        typer.echo(
            "not in this file, so not checked for removals: " + "; ".join(run.lists_not_covered)
        )


@app.command()
def load() -> None:
    """Load the bundled content (questionnaires, scoring rules, evidence). Safe to repeat."""
    from hrdd.content import load_bundled_content

    settings = get_settings()
    try:
        report = load_bundled_content(_database(), settings)
    except Problem as problem:
        raise _fail(problem.detail) from None
    for line in report:
        typer.echo(line)


@dataclass(frozen=True)
class QuickstartSetup:
    organisation: str
    admin_key: str
    demo: DemoResult


def quickstart_setup(org: str, out: Path) -> QuickstartSetup:
    """Everything `hrdd quickstart` does before it serves: migrate, load the bundled content,
    build (or refresh) the demo in organisation ``org``, write its two reports into ``out``,
    and make a new admin key for that organisation. Safe to repeat on the same database."""
    from hrdd import migrations_info
    from hrdd.content import load_bundled_content
    from hrdd.reports.demo import run_demo

    settings = get_settings()
    migrations_info.upgrade(settings.database_url)
    database = _database()
    try:
        load_bundled_content(database, settings)
        with database.session(SYSTEM, write=True) as session:
            try:
                organisation = auth_service.find_organisation(session, org)
            except NotFound:
                organisation = auth_service.create_organisation(session, org)
            organisation_id, name = organisation.id, organisation.name
        demo = run_demo(database, settings, out, name)
        # Made last, so a failed demo wastes no key the user never saw.
        with database.session(SYSTEM, write=True) as session:
            _, secret = auth_service.create_key(
                session, organisation_id, "quickstart admin", Role.admin
            )
    finally:
        database.dispose()
    return QuickstartSetup(organisation=name, admin_key=secret, demo=demo)


@app.command()
def quickstart(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    org: Annotated[str, typer.Option(help="Organisation to create or reuse")] = "Demo investor",
    out: Annotated[Path, typer.Option("--out", help="Folder for the two demo reports")] = Path(
        "hrdd-demo"
    ),
) -> None:
    """Migrate, load the bundled content, build the demo portfolio and write NSO Group's and
    the portfolio's reports, make an admin key, then serve."""
    try:
        setup = quickstart_setup(org, out)
    except Problem as problem:
        raise _fail(problem.detail) from None
    base = f"http://{host}:{port}"
    portfolio = setup.demo.portfolio_id
    typer.echo(f"organisation: {setup.organisation}, demo portfolio {portfolio}")
    typer.echo(f"admin API key (shown once, store it now): {setup.admin_key}")
    typer.echo(f"company report: {setup.demo.company_report.resolve()}")
    typer.echo(f"portfolio report: {setup.demo.portfolio_report.resolve()}")
    typer.echo(f"API docs: {base}/docs")
    typer.echo(
        f'try: curl -H "Authorization: Bearer {setup.admin_key}" '
        f"{base}/api/v1/portfolios/{portfolio}/risk"
    )
    serve(host=host, port=port, workers=1, log_level="warning")


portfolio_app = typer.Typer(help="Portfolios and their holdings.")
app.add_typer(portfolio_app, name="portfolio")


@portfolio_app.command("import")
def portfolio_import(
    file: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="Holdings CSV or XLSX"),
    ],
    portfolio: Annotated[uuid.UUID, typer.Option("--portfolio", help="Portfolio id")],
    keep_good_rows: Annotated[
        bool, typer.Option(help="Import the good rows and list the bad ones")
    ] = False,
) -> None:
    """Replace a portfolio's holdings with a CSV or XLSX file; all or nothing unless
    --keep-good-rows."""
    from hrdd.db import TenantContext
    from hrdd.models_registry import metadata as _all_tables  # noqa: F401  (mappers first)
    from hrdd.portfolios import service as portfolios
    from hrdd.portfolios.models import Portfolio

    settings = get_settings()
    database = _database()
    try:
        with database.session(SYSTEM) as session:
            found = session.get(Portfolio, portfolio)
            if found is None:
                raise _fail(f"no portfolio {portfolio}")
            organisation_id, currency = found.organisation_id, found.base_currency
        # Read before the write begins, which on SQLite holds every other writer back.
        holdings_file = portfolios.HoldingsFile.read(
            file.read_bytes(), currency, max_rows=settings.max_csv_rows
        )
        with database.session(TenantContext(organisation_id), write=True) as session:
            result = portfolios.import_holdings(
                session,
                "command line",
                portfolios.get_portfolio(session, portfolio),
                holdings_file,
                keep_good_rows=keep_good_rows,
            )
    except Problem as problem:
        failure = _fail(problem.detail)
        for error in problem.errors:
            typer.secho(f"  {error.path}: {error.message}", fg=typer.colors.RED, err=True)
        raise failure from None
    finally:
        database.dispose()
    typer.echo(
        f"{result.imported} holdings imported (replacing {result.replaced}): "
        f"{result.resolved_by_identifier} matched by identifier, {result.confirmed_before} kept "
        f"from earlier confirmations, {result.with_candidates} with name candidates to confirm, "
        f"{result.unresolved} unresolved"
    )
    for error in result.rejected:
        typer.echo(f"  left out {error.path}: {error.message}")
    for merged in result.merged:
        typer.echo(f"  merged {merged.path}: {merged.message}")
    for owner in result.recorded_owners:
        stake = "owns" if owner.current else "owned"
        typer.echo(
            f"  line {owner.line}: {owner.holding_name} looks like {owner.owner_name}, which "
            f"{stake} {owner.company_name} (not itself a registry company: no look-through)"
        )


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the two reports")] = Path(
        "hrdd-demo"
    ),
) -> None:
    """Migrate, load the bundled content, build a demo organisation with assessments and a
    portfolio of the curated companies, and write NSO Group's report and the portfolio report."""
    from hrdd import migrations_info
    from hrdd.content import load_bundled_content
    from hrdd.models_registry import metadata as _all_tables  # noqa: F401  (mappers first)
    from hrdd.reports.demo import run_demo

    settings = get_settings()
    migrations_info.upgrade(settings.database_url)
    database = _database()
    try:
        for line in load_bundled_content(database, settings):
            typer.echo(line)
        result = run_demo(database, settings, out)
    except Problem as problem:
        raise _fail(problem.detail) from None
    finally:
        database.dispose()
    for line in result.lines:
        typer.echo(line)
    typer.echo(f"organisation: {result.organisation}; portfolio {result.portfolio_id}")
    typer.echo(f"company report: {result.company_report.resolve()}")
    typer.echo(f"portfolio report: {result.portfolio_report.resolve()}")


if __name__ == "__main__":
    app()
