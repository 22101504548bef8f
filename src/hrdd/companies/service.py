"""Company registry: create, edit, search, ownership. Bundled companies are shared by all
organisations; one made through the API is private to its maker (the tenant filter hides it)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, String, bindparam, cast, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hrdd.companies.models import Company, CompanyIdentifier, OwnershipLink
from hrdd.companies.names import (
    CompanyNames,
    look_alike_key,
    normalise_name,
    plain_key,
    similar_names,
)
from hrdd.companies.schemas import (
    CompanyIn,
    CompanyOut,
    CompanySummary,
    OwnershipIn,
    OwnershipOut,
)
from hrdd.dates import precision_problem
from hrdd.db import IDS, in_chunks, reusable, rows_for_ids, utcnow
from hrdd.errors import Conflict, Forbidden, Invalid, NotFound, ProblemDetail
from hrdd.http import PageParams, paginate
from hrdd.vocab import DatePrecision, ListingStatus

_NAMES = reusable(select(Company.id, Company.name).where(Company.id.in_(IDS)))
_LISTINGS = reusable(select(Company.id, Company.listing_status).where(Company.id.in_(IDS)))
_NAME = reusable(select(Company.name).where(Company.id == bindparam("company_id")))


def company_names(session: Session, company_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The names of these companies, by id (companies that do not exist are left out)."""
    return {row.id: row.name for row in rows_for_ids(session, _NAMES, sorted(set(company_ids)))}


def listing_statuses(
    session: Session, company_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, ListingStatus]:
    """The listing status of these companies, by id: only a listed one has a shareholder vote
    to use, and a delisted or defunct one must be named so."""
    return {
        row.id: ListingStatus(row.listing_status)
        for row in rows_for_ids(session, _LISTINGS, sorted(set(company_ids)))
    }


def company_name(session: Session, company_id: uuid.UUID) -> str:
    """One company's name ("" when it does not exist), in one light query: the assessment
    view asks for it on every write."""
    return session.scalar(_NAME, {"company_id": company_id}) or ""


def build_search_text(name: str, aliases: Iterable[str], products: Iterable[str]) -> str:
    """What a search by q reads: the name, the aliases and the products (last, so a long
    list of them is what the column's limit cuts)."""
    return " | ".join(n.casefold() for n in [name, *aliases, *products])[:4000]


def get_company(session: Session, company_id: uuid.UUID) -> Company:
    company = session.get(Company, company_id)
    if company is None:
        raise NotFound(f"no company {company_id}")
    return company


def identifiers_of(
    session: Session, company_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, list[str]]]:
    found: dict[uuid.UUID, dict[str, list[str]]] = defaultdict(lambda: {"isin": [], "ticker": []})
    if company_ids:
        rows = session.scalars(
            select(CompanyIdentifier)
            .where(CompanyIdentifier.company_id.in_(company_ids))
            .order_by(CompanyIdentifier.scheme, CompanyIdentifier.value)
        )
        for ident in rows:
            found[ident.company_id][ident.scheme].append(ident.value)
    return found


def _identifier_scope(
    model: type[Company] | type[CompanyIdentifier], organisation_id: uuid.UUID | None
) -> ColumnElement[bool]:
    """Where an identifier must be free: among the shared companies, and for an organisation's
    own company among its own too. Other organisations' private companies never count, so they
    neither block nor reveal themselves. Spelt out because the loader's system session, which
    makes the shared companies, sees every organisation's; tenant sessions see just this."""
    shared = model.organisation_id.is_(None)
    return (
        shared if organisation_id is None else or_(shared, model.organisation_id == organisation_id)
    )


def _check_identifiers_free(
    session: Session,
    data: CompanyIn,
    company_id: uuid.UUID | None,
    organisation_id: uuid.UUID | None,
) -> None:
    wanted = [("isin", v) for v in data.isins] + [("ticker", v.upper()) for v in data.tickers]
    errors = []
    for index, (scheme, value) in enumerate(wanted):
        owner = session.scalar(
            select(CompanyIdentifier.company_id).where(
                CompanyIdentifier.scheme == scheme,
                CompanyIdentifier.value == value,
                _identifier_scope(CompanyIdentifier, organisation_id),
            )
        )
        if owner is not None and owner != company_id:
            field = "isins" if scheme == "isin" else "tickers"
            position = index if scheme == "isin" else index - len(data.isins)
            errors.append(
                ProblemDetail(
                    path=f"{field}.{position}", message=f"{value} belongs to company {owner}"
                )
            )
    if data.lei:
        owner = session.scalar(
            select(Company.id).where(
                Company.lei == data.lei, _identifier_scope(Company, organisation_id)
            )
        )
        if owner is not None and owner != company_id:
            errors.append(
                ProblemDetail(path="lei", message=f"{data.lei} belongs to company {owner}")
            )
    if errors:
        raise Invalid("identifiers already used by another company", errors=errors)


def _check_names_free(session: Session, names: Sequence[str], company_id: uuid.UUID | None) -> None:
    """A company of its own named as a shared one (the registry every organisation sees), by
    its name or an alias, would stand beside it as a second candidate of the same name: a
    holding confirmed to the empty copy carries neither the assessments nor the evidence of
    the real one (409). Compared as names look (``look_alike_key``): full-width letters and
    characters that show nothing, and letters of other scripts drawn like Latin ones (a
    Cyrillic o), make no other name."""
    wanted = {look_alike_key(name): name for name in names}
    if not wanted:
        return
    # Found by either key: a Latin registry name by the look-alike, a Cyrillic one by its own.
    searched = {*wanted, *(plain_key(name) for name in names)}
    for other_id, other_name, aliases in session.execute(
        select(Company.id, Company.name, Company.aliases).where(
            Company.organisation_id.is_(None),
            or_(*(Company.search_text.contains(key, autoescape=True) for key in searched)),
        )
    ):
        if other_id == company_id:
            continue
        theirs = {look_alike_key(n) for n in (other_name, *aliases)}
        clash = next((name for key, name in wanted.items() if key in theirs), None)
        if clash is not None:
            raise Conflict(
                f"{clash} is already in the registry as company {other_id} ({other_name}): use "
                "it, or give yours names that tell the two apart"
            )


def _apply(session: Session, company: Company, data: CompanyIn) -> None:
    company.name = data.name
    company.aliases = list(dict.fromkeys(data.aliases))
    company.products = list(dict.fromkeys(data.products))
    company.search_text = build_search_text(data.name, company.aliases, company.products)
    company.country = data.country
    company.website = str(data.website) if data.website else None
    company.categories = [c.value for c in data.categories]
    company.listing_status = data.listing_status.value
    company.lei = data.lei
    company.notes = data.notes
    session.execute(delete(CompanyIdentifier).where(CompanyIdentifier.company_id == company.id))
    wanted = [("isin", v) for v in data.isins] + [("ticker", t.upper()) for t in data.tickers]
    for scheme, value in dict.fromkeys(wanted):
        session.add(
            CompanyIdentifier(
                organisation_id=company.organisation_id,
                company_id=company.id,
                scheme=scheme,
                value=value,
            )
        )


def create_company(
    session: Session,
    data: CompanyIn,
    *,
    slug: str | None = None,
    organisation_id: uuid.UUID | None = None,
) -> Company:
    """A shared company (bundled with a ``slug``, from the loader) or one private to the
    organisation that made it (``organisation_id``), which alone sees and edits it."""
    _check_identifiers_free(session, data, None, organisation_id)
    if organisation_id is not None:
        _check_names_free(session, [data.name, *data.aliases], None)
    company = Company(name=data.name, slug=slug, organisation_id=organisation_id)
    session.add(company)
    session.flush()
    _apply(session, company, data)
    _flush_or_conflict(session)
    return company


def may_edit(company: Company, organisation_id: uuid.UUID) -> bool:
    """Only one's own companies: the others one sees are shared."""
    return company.organisation_id == organisation_id


def require_editable(company: Company, organisation_id: uuid.UUID) -> None:
    """403 for a shared company: an edit would change what every organisation sees and scores.
    Another organisation's company is not found at all (the tenant filter)."""
    if company.slug is not None:
        raise Forbidden(
            f"company {company.id} is bundled reference data and read-only; the curated "
            "evidence files are its source"
        )
    if not may_edit(company, organisation_id):
        raise Forbidden(
            f"company {company.id} is shared reference data (made before companies became "
            "private to their maker) and read-only"
        )


def replace_company(session: Session, company: Company, data: CompanyIn) -> Company:
    _check_identifiers_free(session, data, company.id, company.organisation_id)
    held = {look_alike_key(n) for n in (company.name, *company.aliases)}
    added = [n for n in (data.name, *data.aliases) if look_alike_key(n) not in held]
    _check_names_free(session, added, company.id)
    _apply(session, company, data)
    company.version += 1
    company.updated_at = utcnow()
    _flush_or_conflict(session)
    return company


def _flush_or_conflict(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        # Two writers racing for the same identifier: the loser learns it, nothing is saved.
        raise Conflict("an identifier of this company was just taken by another company") from exc


def search_companies(
    session: Session, q: str | None, category: str | None, page: PageParams
) -> tuple[list[Company], str | None]:
    statement = select(Company)
    if q:
        needle = q.strip()
        by_identifier = select(CompanyIdentifier.company_id).where(
            or_(
                CompanyIdentifier.value == needle.upper(),
                CompanyIdentifier.value.like(f"%:{_escape_like(needle.upper())}", escape="\\"),
            )
        )
        folded = _escape_like(needle.casefold())
        # Where a word of a name or alias starts: "NSO" is not Intellexa's "consortium".
        word_starts = [f"{folded}%", *(f"%{before}{folded}%" for before in _WORD_BREAKS)]
        statement = statement.where(
            or_(
                *(Company.search_text.like(pattern, escape="\\") for pattern in word_starts),
                Company.lei == needle.upper(),
                Company.id.in_(by_identifier),
            )
        )
    if category:
        # JSON arrays differ by backend; the quoted value matches one whole element in both.
        statement = statement.where(cast(Company.categories, String).like(f'%"{category}"%'))
    return paginate(session, statement, [Company.name, Company.id], page)


def matched_products(company: Company, q: str, idents: dict[str, list[str]]) -> list[str]:
    """The products ``q`` names from the start of a word, when it found ``company`` by them
    alone: [] when it names the company, an alias or an identifier, as search_companies
    matches them."""
    needle = q.strip()
    folded = needle.casefold()
    upper = needle.upper()
    by_name = any(_starts_a_word(n.casefold(), folded) for n in [company.name, *company.aliases])
    by_identifier = company.lei == upper or any(
        value == upper or value.endswith(f":{upper}")
        for value in [*idents["isin"], *idents["ticker"]]
    )
    if by_name or by_identifier:
        return []
    return [p for p in company.products if _starts_a_word(p.casefold(), folded)]


def suggest_companies(
    session: Session, q: str, category: str | None, limit: int
) -> list[tuple[Company, float]]:
    """The companies whose names resemble ``q`` (as the portfolio import scores names), best
    first, in ``category`` if given. Products are no names: "Pegasus Airlines" must not
    suggest NSO Group, as the import must not offer it for such a holding."""
    ranked = CompanyNames(session).ranked(q, limit=None)
    companies = {
        company.id: company
        for chunk in in_chunks([company_id for company_id, _ in ranked])
        for company in session.scalars(select(Company).where(Company.id.in_(chunk)))
    }
    found = [
        (companies[company_id], similarity)
        for company_id, similarity in ranked
        if category is None or category in companies[company_id].categories
    ]
    return found[:limit]


def owners_named(session: Session, q: str, *, resembling: bool, limit: int) -> list[OwnershipLink]:
    """The ownership links whose owner the registry records by name only (no company of its
    own: a fund or sponsor such as Francisco Partners) and ``q`` names from the start of a
    word, as company names match; with ``resembling``, when none does, those whose owner name
    resembles ``q`` as suggestions do. By owner name, then the stake's start. Only the distinct
    owner names are read to match; the links are read for the names matched."""
    name_only = OwnershipLink.owner_company_id.is_(None)
    names = list(session.scalars(select(OwnershipLink.owner_name).where(name_only).distinct()))
    needle = q.strip().casefold()
    rank = {name: 0.0 for name in names if _starts_a_word(name.casefold(), needle)}
    if not rank and resembling:
        normalised = [normalise_name(name) for name in names]
        similarity = similar_names(
            [normalise_name(q)], normalised, [len(n.split()) for n in normalised]
        )
        rank = {names[index]: -score for index, score in similarity[0].items()}
    if not rank:
        return []
    links = session.scalars(
        select(OwnershipLink)
        .where(name_only, OwnershipLink.owner_name.in_(rank))
        .order_by(OwnershipLink.owner_name, OwnershipLink.start_date, OwnershipLink.id)
    )
    # Most similar first when resembling (a stable sort keeps name and start order within).
    return sorted(links, key=lambda link: rank[link.owner_name])[:limit]


def _starts_a_word(text: str, needle: str) -> bool:
    return bool(needle) and (
        text.startswith(needle) or any(f"{before}{needle}" in text for before in _WORD_BREAKS)
    )


# What may come before a word in a name: a space (names and aliases are joined by " | "),
# an opening bracket or quote, a hyphen or a slash ("Saito-Tech", "Q/Cyber").
_WORD_BREAKS = (" ", "(", '"', "'", "-", "/")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def to_summary(company: Company, idents: dict[str, list[str]]) -> CompanySummary:
    return CompanySummary(
        id=company.id,
        slug=company.slug,
        name=company.name,
        products=company.products,
        country=company.country,
        categories=company.categories,
        listing_status=company.listing_status,
        isins=idents["isin"],
        lei=company.lei,
        tickers=idents["ticker"],
    )


def ownership_out(session: Session, link: OwnershipLink) -> OwnershipOut:
    """One link as the API shows it (``shared``: a bundled, read-only link)."""
    owned = session.get(Company, link.company_id)
    return OwnershipOut(
        id=link.id,
        company_id=link.company_id,
        company_name=owned.name if owned else "",
        owner_name=link.owner_name,
        owner_kind=link.owner_kind,
        owner_company_id=link.owner_company_id,
        percentage=link.percentage,
        start_date=link.start_date,
        end_date=link.end_date,
        date_precision=link.date_precision,
        source_publisher=link.source_publisher,
        source_title=link.source_title,
        source_date=link.source_date,
        source_url=link.source_url,
        note=link.note,
        shared=link.organisation_id is None,
    )


def to_out(session: Session, company: Company, organisation_id: uuid.UUID) -> CompanyOut:
    idents = identifiers_of(session, [company.id])[company.id]
    owners = session.scalars(
        select(OwnershipLink)
        .where(OwnershipLink.company_id == company.id)
        .order_by(OwnershipLink.start_date, OwnershipLink.id)
    )
    holdings = session.scalars(
        select(OwnershipLink)
        .where(OwnershipLink.owner_company_id == company.id)
        .order_by(OwnershipLink.start_date, OwnershipLink.id)
    )
    return CompanyOut(
        **to_summary(company, idents).model_dump(),
        aliases=company.aliases,
        website=company.website,
        notes=company.notes,
        editable=may_edit(company, organisation_id),
        version=company.version,
        created_at=company.created_at,
        updated_at=company.updated_at,
        owners=[ownership_out(session, link) for link in owners],
        holdings=[ownership_out(session, link) for link in holdings],
    )


def add_ownership(
    session: Session, company: Company, data: OwnershipIn, organisation_id: uuid.UUID
) -> OwnershipLink:
    """A link private to ``organisation_id``: it moves that organisation's scores only."""
    problems = _ownership_date_problems(data)
    if problems:
        raise Invalid(f"{len(problems)} problem(s) with the link's dates", errors=problems)
    if data.owner_company_id is not None:
        if data.owner_company_id == company.id:
            raise Invalid.at("owner_company_id", "a company cannot own itself")
        get_company(session, data.owner_company_id)
        loop = _owned_through(session, company.id, data.owner_company_id)
        if loop is not None:
            raise Invalid.at(
                "owner_company_id",
                f"{data.owner_company_id} is owned by this company ({loop}): a link back "
                "would make the two own each other",
            )
    link = OwnershipLink(
        organisation_id=organisation_id,
        company_id=company.id,
        **data.model_dump(exclude={"source_url"}),
        source_url=str(data.source_url) if data.source_url else None,
    )
    session.add(link)
    # The shared companies' updated_at stays: other organisations read it, and must not learn
    # when this one changes its private links (risk views mark the links themselves).
    session.flush()
    return link


# How deep a new link is checked for making a loop of ownership.
_LOOP_DEPTH = 10


def _owned_through(session: Session, owner_id: uuid.UUID, wanted: uuid.UUID) -> str | None:
    """How ``wanted`` is owned by ``owner_id``, directly or through others, as the caller
    sees the links ("directly", "through A"), or None when it is not."""
    owned = owned_companies(session, [owner_id], utcnow().date(), _LOOP_DEPTH)
    for link in owned.get(owner_id, []):
        if link.company_id == wanted:
            return f"through {', '.join(link.via)}" if link.via else "directly"
    return None


def _ownership_date_problems(data: OwnershipIn) -> list[ProblemDetail]:
    """Dates in order, and as precise as ``date_precision`` says (its first day), each problem
    at the field it is about."""
    problems = []
    if data.start_date and data.end_date and data.end_date < data.start_date:
        problems.append(ProblemDetail(path="end_date", message="is before start_date"))
    if data.date_precision is not DatePrecision.day:
        if data.start_date is None and data.end_date is None:
            problems.append(
                ProblemDetail(path="date_precision", message="needs a start_date or an end_date")
            )
        for name, day in (("start_date", data.start_date), ("end_date", data.end_date)):
            problem = None if day is None else precision_problem(day, data.date_precision)
            if problem:
                problems.append(ProblemDetail(path=name, message=problem))
    return problems


def remove_ownership(session: Session, company: Company, link_id: uuid.UUID) -> None:
    link = session.scalars(select(OwnershipLink).where(OwnershipLink.id == link_id)).first()
    if link is None or link.company_id != company.id:
        raise NotFound(f"no ownership link {link_id} on company {company.id}")
    if link.organisation_id is None:
        raise Forbidden(
            f"ownership link {link_id} is bundled reference data and read-only; the curated "
            "evidence files are its source"
        )
    session.delete(link)


def touch_companies(session: Session, company_ids: Iterable[uuid.UUID | None]) -> None:
    """The content loader calls this with both companies (and a former owner) of a bundled
    ownership link it changes in place, which the link count and creation time that risk views
    mark (``hrdd.portfolios.service``) would not show."""
    now = utcnow()
    for company_id in company_ids:
        found = session.get(Company, company_id) if company_id is not None else None
        if found is not None:
            found.updated_at = now


# --- ownership, followed down ----------------------------------------------------------------

_OWNED_LINKS = reusable(
    select(OwnershipLink)
    .where(OwnershipLink.owner_company_id.in_(IDS))
    .order_by(OwnershipLink.start_date, OwnershipLink.id)
)


@dataclass(frozen=True)
class OwnedLink:
    """A company reached from another by following ownership links down."""

    company_id: uuid.UUID
    company_name: str
    via: tuple[str, ...]
    percentage: Decimal | None
    start_date: date | None
    end_date: date | None
    date_precision: DatePrecision
    current: bool
    ended: bool


def _link_ended(link: OwnershipLink, today: date) -> bool:
    return link.end_date is not None and link.end_date < today


def link_current(link: OwnershipLink, today: date) -> bool:
    """Whether the link's stake is held on ``today`` (started, not ended)."""
    started = link.start_date is None or link.start_date <= today
    return started and (link.end_date is None or link.end_date >= today)


_Path = tuple[uuid.UUID, tuple[str, ...], bool, bool]


def owned_companies(
    session: Session, company_ids: Iterable[uuid.UUID], today: date, depth: int
) -> dict[uuid.UUID, list[OwnedLink]]:
    """Per company, the companies it owns or owned, directly or through up to ``depth``
    levels, as the caller sees the links; a stake counts as current only if every link to it
    is, and has ended if any link to it has (otherwise it has not started yet)."""
    roots = set(company_ids)
    found: dict[uuid.UUID, list[OwnedLink]] = defaultdict(list)
    seen: dict[uuid.UUID, set[uuid.UUID]] = {root: {root} for root in roots}
    # node -> [(root, owners between root and node, every link current so far, any ended)]
    frontier: dict[uuid.UUID, list[_Path]] = {root: [(root, (), True, False)] for root in roots}
    for _ in range(depth):
        if not frontier:
            break
        links = [row[0] for row in rows_for_ids(session, _OWNED_LINKS, sorted(frontier))]
        if not links:
            break
        names = company_names(session, {link.company_id for link in links})
        following: dict[uuid.UUID, list[_Path]] = defaultdict(list)
        for link in links:
            for root, via, current_so_far, ended_so_far in frontier.get(link.owner_company_id, []):
                if link.company_id in seen[root]:
                    continue
                seen[root].add(link.company_id)
                current = current_so_far and link_current(link, today)
                ended = ended_so_far or _link_ended(link, today)
                found[root].append(
                    OwnedLink(
                        company_id=link.company_id,
                        company_name=names.get(link.company_id, link.owner_name),
                        via=via,
                        percentage=link.percentage,
                        start_date=link.start_date,
                        end_date=link.end_date,
                        date_precision=DatePrecision(link.date_precision),
                        current=current,
                        ended=ended,
                    )
                )
                following[link.company_id].append(
                    (root, (*via, names.get(link.company_id, "")), current, ended)
                )
        frontier = following
    return found
