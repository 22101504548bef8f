"""Portfolios: holdings import, resolution to companies, exposure through ownership and the
risk view that the API, the exports and the portfolio report all read.

Holdings resolve by identifier first (ISIN, then LEI, then ticker), then by name: names never
resolve on their own, they yield candidates someone confirms. A company's names are its name,
its aliases and the owner names that ownership links record for it. A holding that resolves
to nothing stays in the portfolio as unassessed exposure; nothing is dropped, and when its
name is that of a recorded owner that is no registry company, the import says so.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from hrdd.assessments.models import Assessment
from hrdd.audit import service as audit
from hrdd.auth.service import Principal
from hrdd.caching import BoundedCache
from hrdd.companies.models import Company, CompanyIdentifier, OwnershipLink
from hrdd.companies.names import CompanyNames, normalise_name, similar_names, spelling_key
from hrdd.companies.service import (
    OwnedLink,
    company_names,
    get_company,
    link_current,
    listing_statuses,
    owned_companies,
)
from hrdd.db import IDS, in_chunks, new_id, reusable, rows_for_ids, utcnow
from hrdd.errors import Invalid, NotFound
from hrdd.http import PageParams, paginate
from hrdd.portfolios import csv_import, xlsx_import
from hrdd.portfolios.figures import BandMove, HoldingMove, PortfolioFigures, PortfolioPreview
from hrdd.portfolios.models import Holding, Portfolio
from hrdd.portfolios.schemas import (
    BandSlice,
    Candidate,
    DecimalSeparator,
    HoldingOut,
    HoldingResolution,
    HoldingRisk,
    HoldingsFileFormat,
    ImportResult,
    ImportSource,
    LostMatch,
    OwnedExposure,
    PortfolioIn,
    PortfolioOut,
    PortfolioRisk,
    RecordedOwner,
    RiskBasis,
    RiskTotals,
    ShareBasis,
    Slice,
    TopRisk,
)
from hrdd.scoring import freshness
from hrdd.scoring import service as scoring
from hrdd.scoring.engine import reason_for_unlisted
from hrdd.scoring.rules import ACTION_LADDER, RISK_BAND_ORDER, steps_apart
from hrdd.scoring.schemas import PreviewItem, ScoreSummary
from hrdd.vocab import AssessmentStatus, InvestorAction, ListingStatus, RiskBand

# Name similarity (0-100) from which a company is offered as a candidate.
MAX_CANDIDATES = 5
# Owners of owners of owners: deep enough for fund structures, bounded against cycles.
MAX_OWNERSHIP_DEPTH = 3
TOP_RISKS = 10
ESCALATION_ACTIONS = frozenset(
    list(InvestorAction)[list(InvestorAction).index(InvestorAction.escalate_collectively) :]
)
_SHARE_QUANTUM = Decimal("0.000001")


# --- portfolios ------------------------------------------------------------------------------


# Built once: the risk view runs these on every request (hrdd.db.reusable).
_PORTFOLIO = reusable(select(Portfolio).where(Portfolio.id == bindparam("portfolio_id")))
_HOLDINGS = reusable(
    select(Holding)
    .where(Holding.portfolio_id == bindparam("portfolio_id"))
    .order_by(Holding.line, Holding.id)
)


def get_portfolio(session: Session, portfolio_id: uuid.UUID) -> Portfolio:
    portfolio = session.scalars(_PORTFOLIO, {"portfolio_id": portfolio_id}).first()
    if portfolio is None:
        raise NotFound(f"no portfolio {portfolio_id}")
    return portfolio


def create_portfolio(session: Session, actor: Principal, data: PortfolioIn) -> Portfolio:
    portfolio = Portfolio(
        organisation_id=actor.organisation_id,
        name=data.name.strip(),
        base_currency=data.base_currency.upper(),
        description=data.description,
        created_by_name=actor.key_name,
    )
    session.add(portfolio)
    session.flush()
    audit.record(session, actor, "portfolio", portfolio.id, "created", new=portfolio.name)
    return portfolio


def list_portfolios(session: Session, page: PageParams) -> tuple[list[Portfolio], str | None]:
    return paginate(session, select(Portfolio), [Portfolio.created_at, Portfolio.id], page)


def holding_counts(session: Session, portfolio_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not portfolio_ids:
        return {}
    rows = session.execute(
        select(Holding.portfolio_id, func.count())
        .where(Holding.portfolio_id.in_(portfolio_ids))
        .group_by(Holding.portfolio_id)
    )
    return {portfolio_id: count for portfolio_id, count in rows}


def portfolio_out(portfolio: Portfolio, holdings_count: int) -> PortfolioOut:
    return PortfolioOut(
        id=portfolio.id,
        name=portfolio.name,
        base_currency=portfolio.base_currency,
        description=portfolio.description,
        holdings_count=holdings_count,
        created_by_name=portfolio.created_by_name,
        created_at=portfolio.created_at,
        holdings_imported_at=portfolio.holdings_imported_at,
        holdings_imported_by=portfolio.holdings_imported_by,
    )


# --- holdings --------------------------------------------------------------------------------


def list_holdings(
    session: Session, portfolio: Portfolio, page: PageParams
) -> tuple[list[Holding], str | None]:
    statement = select(Holding).where(Holding.portfolio_id == portfolio.id)
    return paginate(session, statement, [Holding.line, Holding.id], page)


def all_holdings(session: Session, portfolio: Portfolio) -> list[Holding]:
    return list(session.scalars(_HOLDINGS, {"portfolio_id": portfolio.id}))


def get_holding(session: Session, portfolio: Portfolio, holding_id: uuid.UUID) -> Holding:
    holding = session.get(Holding, holding_id)
    if holding is None or holding.portfolio_id != portfolio.id:
        raise NotFound(f"no holding {holding_id} in portfolio {portfolio.id}")
    return holding


def holding_out(holding: Holding, names: dict[uuid.UUID, str]) -> HoldingOut:
    return HoldingOut(
        id=holding.id,
        portfolio_id=holding.portfolio_id,
        line=holding.line,
        name=holding.name,
        isin=holding.isin,
        lei=holding.lei,
        ticker=holding.ticker,
        market_value=holding.market_value,
        currency=holding.currency,
        weight=holding.weight,
        company_id=holding.company_id,
        company_name=names.get(holding.company_id) if holding.company_id else None,
        resolution=HoldingResolution(holding.resolution),
        candidates=[Candidate.model_validate(c) for c in holding.candidates],
        resolved_by_name=holding.resolved_by_name,
        resolved_at=holding.resolved_at,
    )


def resolve_holding(
    session: Session,
    actor: Principal,
    portfolio: Portfolio,
    holding: Holding,
    company_id: uuid.UUID | None,
) -> Holding:
    """Confirm the company a holding is (usually one of its candidates), or say that none
    is (``company_id`` None: the holding stays unassessed exposure)."""
    if company_id is not None:
        try:
            get_company(session, company_id)
        except NotFound:
            raise Invalid.at("company_id", f"no company {company_id}") from None
    old = holding.company_id
    holding.company_id = company_id
    holding.resolution = (
        HoldingResolution.name_confirmed if company_id else HoldingResolution.unresolved
    )
    holding.resolved_by_name = actor.key_name
    holding.resolved_at = utcnow()
    audit.record(
        session,
        actor,
        "holding",
        holding.id,
        "resolved",
        field="company_id",
        old=str(old) if old else None,
        new=str(company_id) if company_id else None,
        comment=f"portfolio {portfolio.id}, line {holding.line}",
    )
    session.flush()
    return holding


# --- import ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HoldingsFile:
    """A holdings file (CSV or XLSX, told apart by content: ``csv_import`` and ``xlsx_import``
    describe them) read for a portfolio's currency before any write begins: on SQLite a write
    holds the database's one write lock, and a long read would keep every other
    organisation's writes waiting (the security test: 64 s, then 500s)."""

    data: bytes
    currency: str
    parsed: csv_import.ParsedFile
    max_rows: int
    decimal_separator: str | None = None
    sheet: str | None = None

    @classmethod
    def read(
        cls,
        data: bytes,
        currency: str,
        *,
        max_rows: int,
        decimal_separator: str | None = None,
        sheet: str | None = None,
    ) -> HoldingsFile:
        parsed = _parse_holdings(data, currency, max_rows, decimal_separator, sheet)
        return cls(data, currency, parsed, max_rows, decimal_separator, sheet)

    def for_currency(self, currency: str) -> csv_import.ParsedFile:
        """The file as read, or read again if the portfolio's currency changed meanwhile."""
        if currency == self.currency:
            return self.parsed
        return _parse_holdings(
            self.data, currency, self.max_rows, self.decimal_separator, self.sheet
        )


def _parse_holdings(
    data: bytes,
    currency: str,
    max_rows: int,
    decimal_separator: str | None,
    sheet: str | None,
) -> csv_import.ParsedFile:
    if not data:
        raise Invalid.at("file", "the file is empty")
    if xlsx_import.is_office_file(data):
        return xlsx_import.parse_holdings(data, currency, max_rows, decimal_separator, sheet)
    if sheet is not None:
        raise Invalid.at("query.sheet", "the file is a CSV, which has no sheets: leave sheet out")
    return csv_import.parse_holdings(data, currency, max_rows, decimal_separator)


def import_holdings(
    session: Session,
    actor_name: str,
    portfolio: Portfolio,
    file: HoldingsFile,
    *,
    keep_good_rows: bool,
    dry_run: bool = False,
) -> ImportResult:
    """Replace the portfolio's holdings with those of a file read for it (``HoldingsFile``).
    All or nothing: any bad row is a 422 listing every problem, unless ``keep_good_rows``,
    which imports the good rows and returns the bad ones."""
    parsed = file.for_currency(portfolio.base_currency)
    if parsed.problems and (not keep_good_rows or not parsed.rows):
        raise csv_import.problems_invalid(parsed)

    earlier = _EarlierMatches.read(session, portfolio)
    replaced = session.scalar(
        select(func.count()).select_from(Holding).where(Holding.portfolio_id == portfolio.id)
    )
    if not dry_run:
        session.execute(delete(Holding).where(Holding.portfolio_id == portfolio.id))

    resolver = _Resolver(session, parsed.rows)
    now = utcnow()
    counts: dict[str, int] = defaultdict(int)
    values = []
    recorded_owners: list[RecordedOwner] = []
    for row in parsed.rows:
        company_id, resolution, candidates = resolver.resolve(row)
        confirmed_by: str | None = None
        kept = earlier.confirmation(row)
        if kept is not None and resolution != HoldingResolution.identifier:
            company_id, confirmed_by = kept
            resolution, candidates = HoldingResolution.name_confirmed, []
            counts["confirmed_before"] += 1
        else:
            counts[resolution] += 1
        if company_id is None and len(recorded_owners) < csv_import.MAX_REPORTED_PROBLEMS:
            recorded_owners += resolver.recorded_owners(row, now.date())
        values.append(
            {
                "id": new_id(),
                "organisation_id": portfolio.organisation_id,
                "portfolio_id": portfolio.id,
                "line": row.line,
                "name": row.name,
                "isin": row.isin,
                "lei": row.lei,
                "ticker": row.ticker,
                "market_value": row.market_value,
                "currency": row.currency,
                "weight": row.weight,
                "company_id": company_id,
                "resolution": resolution.value,
                "candidates": candidates,
                "resolved_by_name": confirmed_by,
                "resolved_at": now if resolution == HoldingResolution.name_confirmed else None,
                "created_at": now,
            }
        )
    lost = earlier.lost(session, values)
    if not dry_run:
        for chunk in in_chunks(values):
            session.execute(insert(Holding), list(chunk))
        portfolio.holdings_imported_at = now
        portfolio.holdings_imported_by = actor_name
        session.flush()
    return ImportResult(
        portfolio_id=portfolio.id,
        source=ImportSource(
            format=HoldingsFileFormat.csv if parsed.sheet is None else HoldingsFileFormat.xlsx,
            sheet=parsed.sheet,
            other_sheets=parsed.other_sheets,
            header_row=parsed.header_line,
            preamble_rows=parsed.preamble_rows,
            decimal_separator=DecimalSeparator(parsed.decimal_separator),
            decimal_separator_from=parsed.decimal_separator_from,
        ),
        dry_run=dry_run,
        imported=len(values),
        replaced=replaced or 0,
        resolved_by_identifier=counts[HoldingResolution.identifier],
        confirmed_before=counts["confirmed_before"],
        with_candidates=counts[HoldingResolution.candidates],
        unresolved=counts[HoldingResolution.unresolved],
        rejected=parsed.problems[: csv_import.MAX_REPORTED_PROBLEMS],
        ignored_columns=parsed.ignored_columns,
        merged=parsed.merged[: csv_import.MAX_REPORTED_PROBLEMS],
        totals=parsed.totals[: csv_import.MAX_REPORTED_PROBLEMS],
        sections=parsed.sections[: csv_import.MAX_REPORTED_PROBLEMS],
        recorded_owners=recorded_owners[: csv_import.MAX_REPORTED_PROBLEMS],
        lost_matches=lost[: csv_import.MAX_REPORTED_PROBLEMS],
        lost_matches_count=len(lost),
    )


_Key = tuple[str, str, str, str]
# A company someone confirmed, and who.
_Confirmation = tuple[uuid.UUID, str]


def _key(name: str, row: Holding | csv_import.HoldingRow) -> _Key:
    return (name, row.isin or "", row.lei or "", row.ticker or "")


@dataclass(frozen=True)
class _EarlierMatches:
    """The holdings of the previous import that were matched to a company, read before the
    import replaces them: the companies people confirmed, which a holding of the same name
    and identifiers keeps instead of being asked again, and the matches the import would
    lose without a word."""

    holdings: list[Holding]
    # By the name as written (case aside), and by the name's spelling key; None where two
    # holdings of one spelling were confirmed as different companies (no guess between them).
    confirmed: dict[_Key, _Confirmation]
    respelled: dict[_Key, _Confirmation | None]

    @classmethod
    def read(cls, session: Session, portfolio: Portfolio) -> _EarlierMatches:
        holdings = list(
            session.scalars(
                select(Holding)
                .where(Holding.portfolio_id == portfolio.id, Holding.company_id.is_not(None))
                .order_by(Holding.line, Holding.id)
            )
        )
        confirmed: dict[_Key, _Confirmation] = {}
        respelled: dict[_Key, _Confirmation | None] = {}
        for holding in holdings:
            if holding.resolution != HoldingResolution.name_confirmed or not holding.company_id:
                continue
            kept = (holding.company_id, holding.resolved_by_name or "an earlier confirmation")
            confirmed[_key((holding.name or "").casefold(), holding)] = kept
            key = _key(spelling_key(holding.name or ""), holding)
            before = respelled.get(key, kept)
            same = before is not None and before[0] == holding.company_id
            respelled[key] = kept if same else None
        return cls(holdings, confirmed, respelled)

    def confirmation(self, row: csv_import.HoldingRow) -> _Confirmation | None:
        """The company confirmed for a holding of the previous import with the row's
        identifiers and name: as written, or spelled differently (case, punctuation, accents,
        'Inc.' for 'Incorporated': one legal name). Never by a name only alike ('Sandvine' for
        'Sandvine Inc.', whose registry match may be another entity), nor by position: a
        custodian's lines move between files."""
        exact = self.confirmed.get(_key((row.name or "").casefold(), row))
        return exact or self.respelled.get(_key(spelling_key(row.name or ""), row))

    def lost(self, session: Session, values: Sequence[Mapping[str, Any]]) -> list[LostMatch]:
        """The previous import's matched holdings whose company no holding of this import
        (``values``, the rows to insert) is matched to, with the lines that offer it as a
        candidate."""
        matched = {value["company_id"] for value in values if value["company_id"] is not None}
        gone = [h for h in self.holdings if h.company_id not in matched]
        if not gone:
            return []
        offered: dict[str, list[int]] = defaultdict(list)
        for value in values:
            for candidate in value["candidates"]:
                offered[str(candidate["company_id"])].append(value["line"])
        names = company_names(session, {h.company_id for h in gone if h.company_id})
        return [
            LostMatch(
                company_id=holding.company_id,
                company_name=names.get(holding.company_id, ""),
                line=holding.line,
                holding_name=holding.name,
                resolution=HoldingResolution(holding.resolution),
                resolved_by_name=holding.resolved_by_name,
                candidate_lines=offered.get(str(holding.company_id), []),
            )
            for holding in gone
            if holding.company_id is not None
        ]


class _Resolver:
    """Looks up every identifier of the file in a few queries, then names with rapidfuzz. It
    sees the shared companies and the organisation's own (the tenant filter): an identifier or
    a name another organisation gave its company never steers these holdings."""

    def __init__(self, session: Session, rows: Sequence[csv_import.HoldingRow]) -> None:
        self.session = session
        self.by_isin = self._identifiers("isin", {r.isin for r in rows if r.isin})
        self.by_lei = self._leis({r.lei for r in rows if r.lei})
        self.by_ticker, self.by_symbol, self.own_tickered = self._tickers()
        self.names = company_names(
            session,
            {*self.by_isin.values(), *self.by_lei.values(), *self.by_ticker.values()}
            | {c for ids in self.by_symbol.values() for c in ids},
        )
        self._company_names: CompanyNames | None = None
        self._name_cache: dict[str, list[dict[str, Any]]] = {}
        self._owners: _Owners | None = None

    # An identifier is unique among the shared companies and among an organisation's own, but
    # a bundled company loaded later may carry one the organisation already gave its own
    # company: the organisation's own wins (read last, it overwrites), whatever the row order.
    _OWN_LAST = CompanyIdentifier.organisation_id.is_not(None)

    def _identifiers(self, scheme: str, values: set[str]) -> dict[str, uuid.UUID]:
        found: dict[str, uuid.UUID] = {}
        for chunk in in_chunks(sorted(values)):
            rows = self.session.execute(
                select(CompanyIdentifier.value, CompanyIdentifier.company_id)
                .where(CompanyIdentifier.scheme == scheme, CompanyIdentifier.value.in_(chunk))
                .order_by(self._OWN_LAST)
            )
            found.update(rows.all())
        return found

    def _leis(self, values: set[str]) -> dict[str, uuid.UUID]:
        found: dict[str, uuid.UUID] = {}
        for chunk in in_chunks(sorted(values)):
            statement = (
                select(Company.lei, Company.id)
                .where(Company.lei.in_(chunk))
                .order_by(Company.organisation_id.is_not(None))
            )
            rows = self.session.execute(statement)
            found.update(rows.all())
        return found

    def _tickers(
        self,
    ) -> tuple[dict[str, uuid.UUID], dict[str, set[uuid.UUID]], set[uuid.UUID]]:
        """Registry tickers are "EXCHANGE:SYMBOL"; a file may give either form. Also the
        organisation's own companies among them, which win over shared ones."""
        full: dict[str, uuid.UUID] = {}
        by_symbol: dict[str, set[uuid.UUID]] = defaultdict(set)
        own_companies: set[uuid.UUID] = set()
        rows = self.session.execute(
            select(CompanyIdentifier.value, CompanyIdentifier.company_id, self._OWN_LAST)
            .where(CompanyIdentifier.scheme == "ticker")
            .order_by(self._OWN_LAST)
        )
        for value, company_id, own in rows:
            full[value] = company_id
            by_symbol[value.rsplit(":", 1)[-1]].add(company_id)
            if own:
                own_companies.add(company_id)
        return full, by_symbol, own_companies

    def resolve(
        self, row: csv_import.HoldingRow
    ) -> tuple[uuid.UUID | None, HoldingResolution, list[dict[str, Any]]]:
        for value, table in ((row.isin, self.by_isin), (row.lei, self.by_lei)):
            if value and value in table:
                return table[value], HoldingResolution.identifier, []
        if row.ticker:
            if row.ticker in self.by_ticker:
                return self.by_ticker[row.ticker], HoldingResolution.identifier, []
            matches = sorted(self.by_symbol.get(row.ticker.rsplit(":", 1)[-1], ()), key=str)
            # A symbol on the organisation's own company and on shared ones: its own, as for
            # full identifiers; among several of its own, the candidates decide.
            own = [company_id for company_id in matches if company_id in self.own_tickered]
            if own and len(own) < len(matches):
                matches = own
            if len(matches) == 1:
                return matches[0], HoldingResolution.identifier, []
            if matches:
                return (
                    None,
                    HoldingResolution.candidates,
                    [
                        {"company_id": str(c), "name": self.names.get(c, ""), "score": 100.0}
                        for c in matches[:MAX_CANDIDATES]
                    ],
                )
        if row.name:
            candidates = self.by_name(row.name)
            if candidates:
                return None, HoldingResolution.candidates, candidates
        return None, HoldingResolution.unresolved, []

    def by_name(self, name: str) -> list[dict[str, Any]]:
        query = normalise_name(name)
        if not query:
            return []
        if query not in self._name_cache:
            self._name_cache[query] = self._match(query)
        return self._name_cache[query]

    def _match(self, query: str) -> list[dict[str, Any]]:
        if self._company_names is None:
            self._company_names = CompanyNames(self.session)
            self.names.update(self._company_names.names)
        names = self._company_names.names
        return [
            {"company_id": str(company_id), "name": names[company_id], "score": score}
            for company_id, score in self._company_names.ranked(query, MAX_CANDIDATES)
        ]

    def _load_owners(self) -> _Owners:
        if self._owners is None:
            self._owners = load_recorded_owners(self.session)
        return self._owners

    def recorded_owners(self, row: csv_import.HoldingRow, today: date) -> list[RecordedOwner]:
        """The recorded owners without a registry company whose name the holding's is."""
        if row.name is None:
            return []
        return recorded_owners_named(self._load_owners(), [(row.line, row.name)], today)[0]


def load_recorded_owners(session: Session) -> _Owners:
    """The owners that ownership links record by name only (no registry company), as the
    caller sees the links: the bundled ones and its own."""
    links = list(session.scalars(select(OwnershipLink)))
    # An owner someone has since linked as a company is a name candidate instead.
    linked = {
        (link.company_id, normalise_name(link.owner_name))
        for link in links
        if link.owner_company_id is not None
    }
    by_name: dict[str, list[OwnershipLink]] = defaultdict(list)
    for link in links:
        normalised = normalise_name(link.owner_name)
        if link.owner_company_id is None and (link.company_id, normalised) not in linked:
            by_name[normalised].append(link)
    by_name.pop("", None)
    return _Owners(
        choices=list(by_name),
        tokens=[len(name.split()) for name in by_name],
        links=list(by_name.values()),
        names=company_names(
            session, {link.company_id for links in by_name.values() for link in links}
        ),
    )


def recorded_owners_named(
    owners: _Owners, named: Sequence[tuple[int, str]], today: date
) -> list[list[RecordedOwner]]:
    """For each (line, name) of a holding, the recorded owners (by name only) its name
    resembles, best first: a stake the registry knows of, through an owner it has no company
    for. Scored as one matrix: a risk view asks for every unmatched holding of a portfolio."""
    queries = [normalise_name(name) for _, name in named]
    scores = similar_names(queries, owners.choices, owners.tokens)
    results = []
    for (line, name), best in zip(named, scores, strict=True):
        found = [
            RecordedOwner(
                line=line,
                holding_name=name,
                owner_name=link.owner_name,
                score=round(score, 1),
                company_id=link.company_id,
                company_name=owners.names.get(link.company_id, ""),
                start_date=link.start_date,
                end_date=link.end_date,
                current=link_current(link, today),
            )
            for index, score in best.items()
            for link in owners.links[index]
        ]
        found.sort(key=lambda owner: (-owner.score, owner.company_name, owner.owner_name))
        results.append(found[:MAX_CANDIDATES])
    return results


@dataclass(frozen=True)
class _Owners:
    """Owner names (normalised) to match holdings against, and the links of each."""

    choices: list[str]
    tokens: list[int]
    links: list[list[OwnershipLink]]
    names: dict[uuid.UUID, str]  # the owned companies' names


# --- exposure through ownership --------------------------------------------------------------


# --- the risk view ---------------------------------------------------------------------------


def _is_escalation(action: InvestorAction) -> bool:
    return action in ESCALATION_ACTIONS


def _share(part: Decimal | int, whole: Decimal | int) -> Decimal:
    if not whole:
        return Decimal(0)
    return (Decimal(part) / Decimal(whole)).quantize(_SHARE_QUANTUM)


def display_name(holding: Holding, company_name: str | None) -> str:
    """What to call a holding: its own name, else its company's, else an identifier."""
    for label, value in (
        ("", holding.name),
        ("", company_name),
        ("ISIN ", holding.isin),
        ("LEI ", holding.lei),
        ("Ticker ", holding.ticker),
    ):
        if value:
            return f"{label}{value}"
    return f"Line {holding.line}"


def _effective_weights(holdings: Sequence[Holding]) -> tuple[list[Decimal | None], ShareBasis]:
    """Shares of value and where they come from: market values when every holding has one;
    else the weight column where the file has one (None where a row has none); else the
    market values that are known, as shares of the value known; else none."""
    values = [h.market_value for h in holdings]
    known = sum((v for v in values if v is not None), Decimal(0))
    if known > 0 and all(v is not None for v in values):
        return [_share(v, known) for v in values], ShareBasis.market_values  # type: ignore[arg-type]
    if any(h.weight is not None for h in holdings):
        return [h.weight for h in holdings], ShareBasis.weights
    if known > 0:
        shares = [None if v is None else _share(v, known) for v in values]
        return shares, ShareBasis.known_market_values
    return [None] * len(holdings), ShareBasis.none


def _stake_words(owner: RecordedOwner) -> str:
    """An undated stake counts as current (missing exposure would be worse than overstating
    it), but is not called current: the second user test read Sun Corporation's unconfirmed
    stake in Cellebrite as a "current stake"."""
    if not owner.current:
        return "stake not current"
    if owner.start_date is None and owner.end_date is None:
        return "stake undated, counted as current"
    return "current stake"


# How many of a holding's candidate companies its unassessed reason names.
_CANDIDATES_NAMED = 3


def _unassessed_reason(
    holding: Holding, company_name: str | None, recorded_owner_of: Sequence[RecordedOwner]
) -> str:
    stakes = "; ".join(
        f"{owner.owner_name}, recorded as owner of {owner.company_name} ({_stake_words(owner)})"
        for owner in recorded_owner_of[:_CANDIDATES_NAMED]
    )
    owners_note = (
        f"its name resembles {stakes}: an analyst can add the owner as a company and link the "
        "stake, and the holding is then scored through what it owns"
    )
    if holding.resolution == HoldingResolution.candidates:
        # Named, best first: a candidate may be a vendor the registry rates severe.
        names = [str(candidate["name"]) for candidate in holding.candidates]
        count = len(names)
        listed = "; ".join(names[:_CANDIDATES_NAMED]) + (
            "; ..." if count > _CANDIDATES_NAMED else ""
        )
        reason = (
            f"its name resembles {listed}, a registry company; confirm it to assess it"
            if count == 1
            else f"its name resembles {count} registry companies ({listed}); confirm one to "
            "assess it"
        )
        return f"{reason}. Also, {owners_note}" if stakes else reason
    if holding.company_id is None and stakes:
        return f"not matched to any company of the registry, but {owners_note}"
    if holding.company_id is None:
        return "not matched to any company of the registry"
    return (
        f"{company_name or 'the company'} has no submitted or final assessment and no "
        "evidence in effect (none on record, or none dated on or before today)"
    )


class _Score(Protocol):
    """What choosing a holding's score reads of a score: a stored one (``ScoreSummary``) or
    one side of a rule-set draft's preview (``_PreviewScore``)."""

    @property
    def overall(self) -> float: ...


_ScoreT = TypeVar("_ScoreT", bound=_Score)


def _standing_score(
    company_id: uuid.UUID | None, owned: Sequence[OwnedLink], scores: Mapping[uuid.UUID, _ScoreT]
) -> tuple[_ScoreT | None, RiskBasis | None, OwnedLink | None]:
    """The score that stands for a holding of ``company_id`` (None: matched to no company),
    whose company owns ``owned``: its company's own, unless a company it owns now scores
    worse; with where it comes from and, through ownership, the stake. None when no score
    of ``scores`` applies."""
    own = scores.get(company_id) if company_id else None
    best: tuple[_ScoreT, RiskBasis] | None = (own, RiskBasis.own) if own else None
    through: OwnedLink | None = None
    for link in owned:
        score = scores.get(link.company_id)
        # Risk flows up to the owner: a holding is as risky as the worst company it owns now.
        if score is not None and link.current and (best is None or score.overall > best[0].overall):
            best = (score, RiskBasis.ownership)
            through = link
    if best is None:
        return None, None, None
    return best[0], best[1], through


def _holding_risk(
    holding: Holding,
    weight: Decimal | None,
    names: dict[uuid.UUID, str],
    scores: dict[uuid.UUID, ScoreSummary],
    statuses: dict[uuid.UUID, str],
    owned: Sequence[OwnedLink],
    *,
    listing_status: ListingStatus | None,
    recorded_owner_of: Sequence[RecordedOwner],
    same_company_lines: Sequence[int],
) -> HoldingRisk:
    """``listing_status``: the holding's company's; for one without listed shares, the
    action's reason names the investor's governance rights instead of a shareholder vote."""
    company_name = names.get(holding.company_id) if holding.company_id else None
    exposures = []
    for link in owned:
        score = scores.get(link.company_id)
        exposures.append(
            OwnedExposure(
                company_id=link.company_id,
                company_name=link.company_name,
                via=list(link.via),
                percentage=link.percentage,
                start_date=link.start_date,
                end_date=link.end_date,
                date_precision=link.date_precision,
                current=link.current,
                ended=link.ended,
                overall=score.overall if score else None,
                band=score.band if score else None,
                action=score.action if score else None,
            )
        )
    chosen, basis, through = _standing_score(holding.company_id, owned, scores)
    reason = None
    if chosen is not None:
        reason = (
            chosen.action_reason
            if listing_status is ListingStatus.listed
            else reason_for_unlisted(chosen.action_reason)
        )
        if basis is RiskBasis.ownership and through is not None:
            # The red flags and the band are the owned company's, not the holding's own.
            via = f" (through {', '.join(through.via)})" if through.via else ""
            reason = f"Scored as its stake in {through.company_name}{via}: {reason}"
    return HoldingRisk(
        holding_id=holding.id,
        line=holding.line,
        name=display_name(holding, company_name),
        isin=holding.isin,
        lei=holding.lei,
        ticker=holding.ticker,
        market_value=holding.market_value,
        currency=holding.currency,
        weight=weight,
        file_weight=holding.weight,
        company_id=holding.company_id,
        company_name=company_name,
        listing_status=listing_status,
        resolution=HoldingResolution(holding.resolution),
        assessed=chosen is not None,
        unassessed_reason=None
        if chosen
        else _unassessed_reason(holding, company_name, recorded_owner_of),
        basis=basis,
        scored_company_id=chosen.company_id if chosen else None,
        assessment_id=chosen.assessment_id if chosen else None,
        assessment_status=(
            AssessmentStatus(statuses[chosen.assessment_id])
            if chosen and chosen.assessment_id in statuses
            else None
        ),
        overall=chosen.overall if chosen else None,
        band=chosen.band if chosen else None,
        confidence=chosen.confidence if chosen else None,
        sensitivity_low=chosen.sensitivity_low if chosen else None,
        sensitivity_high=chosen.sensitivity_high if chosen else None,
        overrides=list(chosen.overrides) if chosen else [],
        action=chosen.action if chosen else None,
        action_reason=reason,
        trend=chosen.trend if chosen else None,
        as_of=chosen.as_of if chosen else None,
        exposure_via=exposures,
        same_company_lines=list(same_company_lines),
        recorded_owner_of=list(recorded_owner_of),
    )


class _Counted(Protocol):
    """What the totals read of a holding: the risk view's (``HoldingRisk``), or one side of
    a rule-set draft's preview (``_PreviewHolding``)."""

    @property
    def assessed(self) -> bool: ...
    @property
    def weight(self) -> Decimal | None: ...
    @property
    def market_value(self) -> Decimal | None: ...
    @property
    def overall(self) -> float | None: ...
    @property
    def band(self) -> RiskBand | None: ...
    @property
    def action(self) -> InvestorAction | None: ...


# Market values are kept to 4 places (``Holding.market_value``): a sum of none reads as they
# do ("0.0000", not "0").
_NO_MONEY = Decimal("0.0000")


def _slice(items: Sequence[_Counted], everything: Sequence[_Counted]) -> Slice:
    return Slice(**_slice_fields(items, everything))


def _slice_fields(items: Sequence[_Counted], everything: Sequence[_Counted]) -> dict[str, Any]:
    total_weight = sum((h.weight for h in everything if h.weight is not None), Decimal(0))
    return {
        "holdings": len(items),
        "share_of_holdings": _share(len(items), len(everything)),
        "value": sum((h.market_value or _NO_MONEY for h in items), _NO_MONEY),
        "share_of_value": _share(
            sum((h.weight for h in items if h.weight is not None), Decimal(0)), total_weight
        ),
    }


def _size(items: Sequence[_Counted]) -> dict[str, Any]:
    """How big a portfolio is: its holdings, the value known, those adding nothing to it (no
    market value) and those without a share of value (``weight``, on the share basis). The two
    differ with weights as the basis: a holding with a weight and no market value has a share
    but is missing from the value."""
    return {
        "holdings": len(items),
        "total_value": sum((h.market_value or _NO_MONEY for h in items), _NO_MONEY),
        "holdings_without_value": sum(1 for h in items if h.market_value is None),
        "holdings_without_share": sum(1 for h in items if h.weight is None),
    }


def _headline(items: Sequence[_Counted]) -> dict[str, Any]:
    """The totals that depend on the holdings' scores: the risk view's, and a draft preview's
    before and after (``PortfolioFigures``), computed alike."""
    assessed = [h for h in items if h.assessed]
    weighted = [h for h in assessed if h.weight is not None]
    weight_sum = sum((h.weight for h in weighted if h.weight is not None), Decimal(0))
    return {
        "by_band": [
            BandSlice(band=band, **_slice_fields([h for h in items if h.band == band], items))
            for band in RiskBand
        ],
        "unassessed": _slice([h for h in items if not h.assessed], items),
        "needing_escalation": _slice(
            [h for h in items if h.action is not None and _is_escalation(h.action)], items
        ),
        "mean_score": (
            round(sum(h.overall or 0.0 for h in assessed) / len(assessed), 1) if assessed else None
        ),
        "value_weighted_score": _weighted_mean(weighted, weight_sum),
    }


def risk_totals(currency: str, items: Sequence[HoldingRisk], share_basis: ShareBasis) -> RiskTotals:
    top = sorted(
        (h for h in items if h.assessed),
        key=lambda h: (-(h.overall or 0.0), -(h.market_value or Decimal(0)), h.line),
    )
    return RiskTotals(
        currency=currency,
        **_size(items),
        share_basis=share_basis,
        weights_total=(
            sum((h.weight for h in items if h.weight is not None), Decimal(0))
            if share_basis is ShareBasis.weights
            else None
        ),
        **_headline(items),
        on_evidence_alone=_slice([h for h in items if h.on_evidence_alone], items),
        active_override=_slice([h for h in items if h.overrides], items),
        top_risks=[_top_risk(h) for h in top[:TOP_RISKS]],
    )


def _weighted_mean(weighted: Sequence[_Counted], weight_sum: Decimal) -> float | None:
    if not weight_sum:
        return None
    total = sum(
        (Decimal(str(h.overall)) * h.weight for h in weighted if h.weight is not None),
        Decimal(0),
    )
    return round(float(total / weight_sum), 1)


def _top_risk(holding: HoldingRisk) -> TopRisk:
    if holding.overall is None or holding.band is None or holding.action is None:
        raise ValueError(f"holding {holding.holding_id} is not assessed")
    return TopRisk(
        holding_id=holding.holding_id,
        name=holding.name,
        overall=holding.overall,
        band=holding.band,
        action=holding.action,
        market_value=holding.market_value,
    )


@dataclass(frozen=True)
class _Exposure:
    """The holdings and every company the view scores: theirs and those they own."""

    holdings: list[Holding]
    resolved: set[uuid.UUID]
    owned: dict[uuid.UUID, list[OwnedLink]]
    wanted: tuple[uuid.UUID, ...]


def _exposure(session: Session, portfolio: Portfolio, today: date) -> _Exposure:
    holdings = all_holdings(session, portfolio)
    resolved = {h.company_id for h in holdings if h.company_id is not None}
    owned = owned_companies(session, resolved, today, MAX_OWNERSHIP_DEPTH)
    wanted = resolved | {link.company_id for links in owned.values() for link in links}
    return _Exposure(holdings, resolved, owned, tuple(sorted(wanted)))


def portfolio_risk(session: Session, portfolio: Portfolio) -> PortfolioRisk:
    """Every holding with the latest score of its company (or of the worst company it owns
    now), and the portfolio totals by number and by value."""
    today = utcnow().date()
    return _risk_of(session, portfolio, today, _exposure(session, portfolio, today))


_STATUSES = reusable(select(Assessment.id, Assessment.status).where(Assessment.id.in_(IDS)))


def _assessment_statuses(session: Session, scores: Iterable[ScoreSummary]) -> dict[uuid.UUID, str]:
    """The status of each assessment a score stands for: a draft is work in progress."""
    ids = sorted({s.assessment_id for s in scores if s.assessment_id is not None})
    return {row.id: row.status for row in rows_for_ids(session, _STATUSES, ids)} if ids else {}


def _recorded_owners_of_unmatched(
    session: Session, holdings: Sequence[Holding], today: date
) -> dict[uuid.UUID, list[RecordedOwner]]:
    """For each holding matched to nothing, the recorded owners its name resembles: a fund's
    stake in a vendor's owner the registry has no company for is exposure the investor would
    otherwise read as 'not matched'."""
    # As the import reports them: any holding without a company, candidates included.
    unmatched = [h for h in holdings if h.company_id is None and h.name]
    if not unmatched:
        return {}
    owners = load_recorded_owners(session)
    found = recorded_owners_named(owners, [(h.line, h.name or "") for h in unmatched], today)
    return {h.id: owned for h, owned in zip(unmatched, found, strict=True) if owned}


def _risk_of(
    session: Session, portfolio: Portfolio, today: date, exposure: _Exposure
) -> PortfolioRisk:
    holdings, owned = exposure.holdings, exposure.owned
    wanted = exposure.wanted
    scores = scoring.current_scores(session, wanted) if wanted else {}
    names = company_names(session, exposure.resolved)
    listings = listing_statuses(session, exposure.resolved)
    weights, share_basis = _effective_weights(holdings)
    statuses = _assessment_statuses(session, scores.values())
    owners = _recorded_owners_of_unmatched(session, holdings, today)
    lines_of: dict[uuid.UUID, list[int]] = defaultdict(list)
    for holding in holdings:
        if holding.company_id is not None:
            lines_of[holding.company_id].append(holding.line)
    items = [
        _holding_risk(
            h,
            weight,
            names,
            scores,
            statuses,
            owned.get(h.company_id, []) if h.company_id else [],
            listing_status=listings.get(h.company_id) if h.company_id else None,
            recorded_owner_of=owners.get(h.id, []),
            same_company_lines=[line for line in lines_of[h.company_id] if line != h.line]
            if h.company_id
            else [],
        )
        for h, weight in zip(holdings, weights, strict=True)
    ]
    rules = scoring.version_in_use_label(session)
    return PortfolioRisk(
        portfolio_id=portfolio.id,
        portfolio_name=portfolio.name,
        as_of=today,
        ruleset_id=rules.key,
        ruleset_version=rules.version,
        ruleset_hash=rules.content_hash,
        ruleset_bundled=rules.bundled,
        totals=risk_totals(portfolio.base_currency, items, share_basis),
        holdings=items,
    )


# --- a rule-set draft's preview, portfolio by portfolio ----------------------------------------

CHANGED_HOLDINGS = 20

_ALL_PORTFOLIOS = reusable(select(Portfolio).order_by(Portfolio.name, Portfolio.id))
_ALL_HOLDINGS = reusable(select(Holding).order_by(Holding.portfolio_id, Holding.line, Holding.id))


@dataclass(frozen=True)
class HeldCompanies:
    """The organisation's portfolios, their holdings and what the holdings' companies own:
    what a draft's preview reads of portfolios, once for all of them."""

    portfolios: list[Portfolio]
    holdings: dict[uuid.UUID, list[Holding]]  # by portfolio
    owned: dict[uuid.UUID, list[OwnedLink]]

    def could_stand(self) -> set[uuid.UUID]:
        """The companies whose score could stand for a holding: the holdings' own, and those
        they own now."""
        found = {h.company_id for hs in self.holdings.values() for h in hs if h.company_id}
        return found | {
            link.company_id for links in self.owned.values() for link in links if link.current
        }


def held_companies(session: Session, today: date) -> HeldCompanies:
    """Every portfolio of the caller's organisation (the tenant filter) with its holdings, in
    the risk view's order, and the companies their companies own as it follows them."""
    portfolios = list(session.scalars(_ALL_PORTFOLIOS))
    holdings: dict[uuid.UUID, list[Holding]] = defaultdict(list)
    if portfolios:
        for holding in session.scalars(_ALL_HOLDINGS):
            holdings[holding.portfolio_id].append(holding)
    resolved = {h.company_id for hs in holdings.values() for h in hs if h.company_id}
    owned = owned_companies(session, resolved, today, MAX_OWNERSHIP_DEPTH) if resolved else {}
    return HeldCompanies(portfolios, dict(holdings), owned)


@dataclass(frozen=True)
class _PreviewScore:
    """One side of a preview item: the score under the rules in use or under the draft."""

    overall: float
    band: RiskBand
    action: InvestorAction


@dataclass(frozen=True)
class _PreviewHolding:
    """A holding on one side of a draft's preview, as the risk view's totals count it."""

    holding: Holding
    weight: Decimal | None
    score: _PreviewScore | None
    scored_company_name: str | None
    failed: bool  # left without a score because the one that would stand failed

    @property
    def assessed(self) -> bool:
        return self.score is not None

    @property
    def market_value(self) -> Decimal | None:
        return self.holding.market_value

    @property
    def overall(self) -> float | None:
        return self.score.overall if self.score else None

    @property
    def band(self) -> RiskBand | None:
        return self.score.band if self.score else None

    @property
    def action(self) -> InvestorAction | None:
        return self.score.action if self.score else None


@dataclass(frozen=True)
class _Side:
    scores: dict[uuid.UUID, _PreviewScore]
    failed: set[uuid.UUID]  # companies whose standing score failed on this side


def _side(standing: Mapping[uuid.UUID, PreviewItem], *, old: bool) -> _Side:
    scores, failed = {}, set()
    for company_id, item in standing.items():
        overall, band, action = (
            (item.old_overall, item.old_band, item.old_action)
            if old
            else (item.new_overall, item.new_band, item.new_action)
        )
        if overall is None or band is None or action is None:
            failed.add(company_id)
        else:
            scores[company_id] = _PreviewScore(overall, band, action)
    return _Side(scores, failed)


def portfolio_previews(
    session: Session, held: HeldCompanies, standing: Mapping[uuid.UUID, PreviewItem]
) -> list[PortfolioPreview]:
    """Each portfolio's risk view under the rules in use and under a draft, made of the
    preview's scores that stand for companies (``standing``: one per company, those the risk
    view would read), with its choice of score for each holding and its valuation. No score
    is made here."""
    before, after = _side(standing, old=True), _side(standing, old=False)
    names = company_names(
        session, {h.company_id for hs in held.holdings.values() for h in hs if h.company_id}
    )
    previews = []
    for portfolio in held.portfolios:
        holdings = held.holdings.get(portfolio.id, [])
        weights, share_basis = _effective_weights(holdings)
        old, new = (
            [
                _preview_holding(holding, weight, held.owned, names, side)
                for holding, weight in zip(holdings, weights, strict=True)
            ]
            for side in (before, after)
        )
        moved = [
            (was, now)
            for was, now in zip(old, new, strict=True)
            if was.band is not now.band or was.action is not now.action
        ]
        moved.sort(key=_move_order)
        previews.append(
            PortfolioPreview(
                portfolio_id=portfolio.id,
                portfolio_name=portfolio.name,
                currency=portfolio.base_currency,
                **_size(old),
                share_basis=share_basis,
                before=_figures(old),
                after=_figures(new),
                band_moves=_band_moves(moved, old),
                changed_holdings=[
                    _holding_move(was, now, names) for was, now in moved[:CHANGED_HOLDINGS]
                ],
                changed_holdings_count=len(moved),
            )
        )
    return previews


def _preview_holding(
    holding: Holding,
    weight: Decimal | None,
    owned: Mapping[uuid.UUID, Sequence[OwnedLink]],
    names: Mapping[uuid.UUID, str],
    side: _Side,
) -> _PreviewHolding:
    links = owned.get(holding.company_id, []) if holding.company_id else []
    score, basis, through = _standing_score(holding.company_id, links, side.scores)
    if score is None:
        could_stand = [holding.company_id, *(link.company_id for link in links if link.current)]
        failed = any(company_id in side.failed for company_id in could_stand if company_id)
        return _PreviewHolding(holding, weight, None, None, failed)
    if basis is RiskBasis.ownership and through is not None:
        scored_by = through.company_name
    else:
        scored_by = names.get(holding.company_id) if holding.company_id else None
    return _PreviewHolding(holding, weight, score, scored_by, failed=False)


def _figures(side: Sequence[_PreviewHolding]) -> PortfolioFigures:
    return PortfolioFigures(**_headline(side), scores_failed=sum(h.failed for h in side))


def _move_order(pair: tuple[_PreviewHolding, _PreviewHolding]) -> tuple[int, int, Decimal, int]:
    """As the preview orders its scores, action first (what investors are told to do), then
    band; then the money that moves."""
    was, now = pair
    return (
        -steps_apart(ACTION_LADDER, was.action, now.action),
        -steps_apart(RISK_BAND_ORDER, was.band, now.band),
        -(was.market_value or Decimal(0)),
        was.holding.line,
    )


def _band_moves(
    moved: Sequence[tuple[_PreviewHolding, _PreviewHolding]], everything: Sequence[_PreviewHolding]
) -> list[BandMove]:
    groups: dict[tuple[RiskBand | None, RiskBand | None], list[_PreviewHolding]]
    groups = defaultdict(list)
    for was, now in moved:
        if was.band is not now.band:
            groups[was.band, now.band].append(was)
    found = [
        BandMove(old_band=old, new_band=new, **_slice_fields(group, everything))
        for (old, new), group in groups.items()
    ]
    return sorted(found, key=lambda move: (-move.holdings, -move.value))


def _holding_move(
    was: _PreviewHolding, now: _PreviewHolding, names: Mapping[uuid.UUID, str]
) -> HoldingMove:
    holding = was.holding
    company_name = names.get(holding.company_id) if holding.company_id else None
    return HoldingMove(
        holding_id=holding.id,
        line=holding.line,
        name=display_name(holding, company_name),
        company_name=company_name,
        scored_company_name=now.scored_company_name or was.scored_company_name,
        market_value=holding.market_value,
        old_overall=was.overall,
        new_overall=now.overall,
        old_band=was.band,
        new_band=now.band,
        old_action=was.action,
        new_action=now.action,
    )


# --- the risk view, served again while its inputs are unchanged --------------------------------
#
# The view is made of: the portfolio row, its holdings, the ownership links below their
# companies, those companies' names, their scores (``hrdd.scoring.freshness``: assessments,
# evidence, commitments, stored scores), the rule set version in use and the day. Each has a
# mark that every write moves forward and never back:
#
# - holdings: an import replaces them (new ``created_at``, the portfolio's
#   ``holdings_imported_at``), a resolve sets ``resolved_at``; count and latest of each;
# - companies: ``version`` (name edits), ``updated_at`` (which the content loader moves when it
#   changes a bundled ownership link) and the count and newest creation of the links saying
#   what each company owns, as the caller sees them (its own private links included), so a
#   change of what a held company owns moves a mark of a company already in the view;
# - for a portfolio with holdings matched to no company, the owners recorded by name only
#   (``_RECORDED_OWNER_MARKS``), which such a holding names when it resembles one;
# - per company scored: its evidence marks and newest evidence-only score, and each live
#   assessment's status, version and newest stored score;
# - the rule set version in use, and the day.
#
# The marks read *before* the view is computed are remembered with its JSON; a read whose
# marks are equal serves that JSON. A write racing with the computation leaves the remembered
# marks older than what was computed, never newer: one more computation, never a stale view.
# Per process, like the verified scores.

_ORGANISATION = bindparam("organisation_id")


def _holding_marks(*columns: Any) -> list[Any]:
    return [
        select(column).where(Holding.portfolio_id == Portfolio.id).scalar_subquery()
        for column in columns
    ]


_PORTFOLIO_MARKED = reusable(
    select(
        Portfolio,
        *_holding_marks(
            func.count(Holding.id),
            func.count(Holding.company_id),
            func.max(Holding.created_at),
            func.max(Holding.resolved_at),
        ),
        *freshness.version_columns(_ORGANISATION, scoring.DEFAULT_RULESET_KEY),
    ).where(Portfolio.id == bindparam("portfolio_id"))
)


_NAME_ONLY = OwnershipLink.owner_company_id.is_(None)
# Read only for a portfolio with holdings matched to no company, which name the owners
# recorded by name only that they resemble: the links (count, newest creation) and the
# companies they own (a loader edit of a bundled link moves its company's updated_at; a
# rename moves its version).
_RECORDED_OWNER_MARKS = reusable(
    select(
        select(func.count(OwnershipLink.id)).where(_NAME_ONLY).scalar_subquery(),
        select(func.max(OwnershipLink.created_at)).scalar_subquery(),
        *(
            select(column)
            .where(Company.id.in_(select(OwnershipLink.company_id).where(_NAME_ONLY)))
            .scalar_subquery()
            for column in (func.max(Company.updated_at), func.sum(Company.version))
        ),
    )
)


def _owned_links(column: Any) -> Any:
    # What the company owns, as the caller sees it (bundled links and its own, by the tenant
    # filter): links are only added and removed, so their count and newest creation mark it.
    return select(column).where(OwnershipLink.owner_company_id == Company.id).scalar_subquery()


_COMPANY_MARKS = reusable(
    select(
        Company.id,
        Company.version,
        Company.updated_at,
        _owned_links(func.count(OwnershipLink.id)),
        _owned_links(func.max(OwnershipLink.created_at)),
        freshness.latest_evidence_only_column(Company.id),
        *freshness.company_mark_columns(Company.id),
    )
    .where(Company.id.in_(IDS))
    .order_by(Company.id)
)
_ASSESSMENT_MARKS = reusable(
    select(
        Assessment.id,
        Assessment.company_id,
        Assessment.status,
        Assessment.version,
        freshness.latest_score_column(Assessment.id),
    )
    .where(Assessment.status != AssessmentStatus.superseded.value, Assessment.company_id.in_(IDS))
    .order_by(Assessment.id)
)


@dataclass(frozen=True)
class _CachedView:
    marks: tuple[Any, ...]
    wanted: tuple[uuid.UUID, ...]
    scored: tuple[Any, ...]
    body: bytes


# (organisation, portfolio) -> the view as last computed. A view is some 12 KB for a hundred
# holdings; large portfolios make it bigger, hence few entries.
_views: BoundedCache[tuple[uuid.UUID, uuid.UUID], _CachedView] = BoundedCache(256)


def _scored_marks(session: Session, wanted: Sequence[uuid.UUID]) -> tuple[Any, ...]:
    rows: list[tuple[Any, ...]] = []
    for statement in (_COMPANY_MARKS, _ASSESSMENT_MARKS):
        rows.extend(tuple(row) for row in rows_for_ids(session, statement, wanted))
    return tuple(rows)


def portfolio_risk_json(
    session: Session, organisation_id: uuid.UUID, portfolio_id: uuid.UUID
) -> bytes:
    """``portfolio_risk`` as JSON, served as last computed when no mark of its inputs moved."""
    today = utcnow().date()
    row = session.execute(
        _PORTFOLIO_MARKED, {"portfolio_id": portfolio_id, "organisation_id": organisation_id}
    ).first()
    if row is None:
        raise NotFound(f"no portfolio {portfolio_id}")
    portfolio: Portfolio = row[0]
    holdings_count, with_company = row[1], row[2]
    owner_marks = (
        tuple(session.execute(_RECORDED_OWNER_MARKS).one())
        if holdings_count != with_company
        else ()
    )
    marks = (
        portfolio.name,
        portfolio.base_currency,
        portfolio.holdings_imported_at,
        *row[1:],
        *owner_marks,
        today,
    )
    key = (organisation_id, portfolio_id)
    cached = _views.get(key)
    if (
        cached is not None
        and cached.marks == marks
        and _scored_marks(session, cached.wanted) == cached.scored
    ):
        return cached.body
    exposure = _exposure(session, portfolio, today)
    # Read before the scores are: never newer than what the view is computed from.
    scored = _scored_marks(session, exposure.wanted)
    body = _risk_of(session, portfolio, today, exposure).model_dump_json().encode()
    _views.put(key, _CachedView(marks, exposure.wanted, scored, body))
    return body
