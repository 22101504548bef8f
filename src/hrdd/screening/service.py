"""Screening-list imports: match a list file against the companies, record what it says.

An import is read, then written. ``read_screening_file`` streams the file through the parser
and the matcher with no write begun (on SQLite a write holds the database's one write lock);
``import_screening_file`` then writes it in one transaction in the caller's session, after
re-checking what may have changed in between: its records are kept as a snapshot of the list,
and then

- identifier matches and exact name matches become evidence items (trade-restriction listing
  or sanction) private to the importing organisation, and `auto_confirmed` rows of the match
  list, which an analyst may reject (withdrawing the evidence);
- near name matches go to the review queue, unless the pair is queued or decided already;
- a record matched in an earlier snapshot of the same list that this snapshot lacks becomes a
  delisting (or sanction-lifted) item dated by the snapshot, which ends that record's listing
  alone (it names it in ``closes``): other entries of the list for the company, curated ones
  included, stay in force, and its summary names them. It is written once no record of that
  list in the snapshot still matches the company, and only if the snapshot covers the list
  the record was on (has a row of it): a file of other lists under the same ``list_key`` says
  nothing about it. The lists it does not cover are recorded on the import.

Evidence is keyed by (record key, company): importing the same file again creates nothing. A
file that fails anywhere raises before the caller commits, so nothing of it is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import pickle
import shutil
import tempfile
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from hrdd.audit import service as audit
from hrdd.auth.service import Principal, lock_organisation
from hrdd.companies.models import Company, CompanyIdentifier
from hrdd.db import new_id, utcnow
from hrdd.errors import Conflict, Invalid, NotFound, PayloadTooLarge, ProblemDetail
from hrdd.evidence import content as evidence_content
from hrdd.evidence import service as evidence
from hrdd.evidence.models import EvidenceItem
from hrdd.evidence.schemas import EvidenceOrigin
from hrdd.evidence.service import EVIDENCE_ENTITY
from hrdd.http import PageParams, paginate
from hrdd.screening.matching import (
    CompanyCandidate,
    MatchDecision,
    Matcher,
    MatchOutcome,
    MatchThresholds,
)
from hrdd.screening.models import (
    ScreeningImport,
    ScreeningListEntry,
    ScreeningMatch,
    ScreeningRejection,
)
from hrdd.screening.parsers import ListKind, ScreeningFileError, ScreeningReader, ScreeningRecord
from hrdd.screening.schemas import ImportStatus, MatchStatus
from hrdd.vocab import CompanyRole, EvidenceStatus, EvidenceType, SourceClass

MATCH_ENTITY = "screening_match"
# List entries are spooled and written in bulk, this many at a time, so memory stays flat.
ENTRY_BATCH = 5000
PROGRESS_EVERY = 1000

_LISTING_TYPES = {EvidenceType.trade_restriction_listing.value, EvidenceType.sanction.value}
_CLOSING_TYPE = {
    EvidenceType.trade_restriction_listing.value: EvidenceType.delisting.value,
    EvidenceType.sanction.value: EvidenceType.sanction_lifted.value,
}
# A list entry says a party is restricted, not how the company is tied to a harm; list entries
# in the curated files are recorded as `contributed`, and an analyst can correct the role.
_LISTING_ROLE = CompanyRole.contributed.value
_LISTING_ROLE_RATIONALE = (
    "Set by the screening import: a list entry records a government finding about the "
    "company's conduct but not its exact connection to a harm; review the role."
)
_MAX_KEY = 200
_MAX_LIST_NAME = 300


@dataclass(frozen=True)
class Importer:
    """Who runs an import: an API key's holder, or the CLI on an organisation's behalf."""

    organisation_id: uuid.UUID
    key_id: uuid.UUID | None
    key_name: str  # the key's name, or what ran the import without one

    @classmethod
    def of(cls, principal: Principal) -> Importer:
        return cls(principal.organisation_id, principal.key_id, principal.key_name)


class _HashingStream:
    """The upload as the parser reads it, line by line, with its digest and size kept."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.digest = hashlib.sha256()
        self.size = 0

    def readline(self, limit: int = -1) -> bytes:
        line = self._stream.readline(limit)
        self.digest.update(line)
        self.size += len(line)
        return line


@dataclass
class _Hit:
    """A record matched to a company, with what is needed to write evidence about it."""

    record_key: str
    company_id: uuid.UUID
    party: dict[str, Any]
    how: str


# --- imports ----------------------------------------------------------------------------------

# A snapshot entry as the read keeps it until the write: record key, list name, name, entity
# type and line, the columns of ``ScreeningListEntry`` the file gives.
_Entry = tuple[str, str, str, str, int]
_Matched = tuple[ScreeningRecord, tuple[MatchDecision, ...]]


@dataclass(frozen=True)
class _Snapshot:
    """What the next snapshot of a list is compared with: an import, its record keys and the
    list names of its entries. Entries never change once imported, so this is read once unless
    another import of the list lands before the write."""

    import_id: uuid.UUID
    keys: set[str]
    list_names: set[str]


class ScreeningFile:
    """A list file parsed and matched against the companies before the import's write begins:
    on SQLite a write holds the database's one write lock from its first query, and parsing
    and matching 200,000 rows takes tens of seconds (the whole import measured 36 to 48 s
    when this was built), which every other organisation's writes would wait through (and
    give up, 503). ``import_screening_file`` then writes it, re-checking what
    may have changed meanwhile.

    The snapshot entries are spooled to a temporary file in batches and streamed back by the
    write: kept in memory, even as tuples, they cost about 55 MiB at 200,000 rows, nearly
    doubling the import's peak (74 MiB traced), while spooled they cost one batch and take
    about 0.1 s to read back; reading the upload again in the write would parse it inside the
    lock, the parse being about a quarter of the work. Only the records matched to a company
    (a few percent) are kept, to be written and, if an analyst rejected one of their pairs
    meanwhile, decided again. Close it (or use it as a context manager) when done."""

    def __init__(
        self,
        *,
        file_name: str,
        list_kind: ListKind,
        list_key: str,
        snapshot_date: dt.date,
        matcher: Matcher,
        previous: _Snapshot | None,
        candidates: list[CompanyCandidate],
    ) -> None:
        self.file_name = file_name
        self.list_kind = list_kind
        self.list_key = list_key
        self.snapshot_date = snapshot_date
        self.matcher = matcher
        self.previous = previous
        # The companies as matched, to tell in the write whether any changed since.
        self.candidates = candidates
        self.sha256 = ""
        self.size_bytes = 0
        self.keys: set[str] = set()
        self.lists: set[str] = set()
        self.matched: list[_Matched] = []
        # Closed by close(); unlinked at once, so it goes with the process however it ends.
        self._spool = tempfile.TemporaryFile()  # noqa: SIM115

    def spool(self, entries: list[_Entry]) -> None:
        pickle.dump(entries, self._spool, pickle.HIGHEST_PROTOCOL)

    def entry_batches(self) -> Iterator[list[_Entry]]:
        """The spooled entries, a batch at a time (our own file: unpickling it is safe)."""
        self._spool.seek(0)
        while True:
            try:
                yield pickle.load(self._spool)
            except EOFError:
                return

    def close(self) -> None:
        self._spool.close()

    def __enter__(self) -> ScreeningFile:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def read_screening_file(
    reading: AbstractContextManager[Session],
    stream: BinaryIO,
    *,
    file_name: str,
    snapshot_date: dt.date,
    max_rows: int,
    list_key: str | None = None,
    thresholds: MatchThresholds | None = None,
    progress: Callable[[int], None] | None = None,
) -> ScreeningFile:
    """Parse one CSL or OpenSanctions file (format detected from its header) and match its
    records, with no write begun: what that needs (the previous snapshot of the list, the
    companies, the rejected pairs) is read in ``reading``, a read-only session ended before
    the file is parsed. A bad line is a 422 naming it, a later snapshot already imported a 409.

    ``list_key`` names the list the file is a snapshot of (default: the format); delistings
    are found by comparing with the latest earlier import of the same key. ``progress`` is
    called with the bytes read so far.
    """
    hashing = _HashingStream(stream)
    try:
        reader = ScreeningReader(cast(BinaryIO, hashing), source_name=file_name)
    except ScreeningFileError as error:
        raise _invalid_file(error) from error
    key = list_key or reader.list_kind.value
    with reading as session:
        previous = _latest_import(session, key, snapshot_date)
        snapshot = _snapshot(session, previous) if previous is not None else None
        candidates = _company_candidates(session)
        rejected = _rejected_pairs(session)
    file = ScreeningFile(
        file_name=file_name[:300],
        list_kind=reader.list_kind,
        list_key=key,
        snapshot_date=snapshot_date,
        matcher=Matcher(candidates, thresholds=thresholds, rejected_pairs=rejected),
        previous=snapshot,
        candidates=candidates,
    )
    try:
        _read_records(file, reader, max_rows, lambda: _report(progress, hashing))
        file.sha256 = hashing.digest.hexdigest()
        file.size_bytes = hashing.size
        _report(progress, hashing)
    except BaseException:
        file.close()
        raise
    return file


def import_screening_file(
    session: Session, importer: Importer, file: ScreeningFile
) -> ScreeningImport:
    """Write the import of a file read by ``read_screening_file``, in one transaction in the
    caller's session, after re-checking what may have changed since it was read: the list's
    latest snapshot (another import of it may have landed: a later one is a 409, an earlier
    one is what this one follows), the pairs analysts rejected (their records are decided
    again), the companies (one added, renamed, removed or given other codes meanwhile makes it
    a 409: the matches no longer say what the registry does), and the evidence and matches
    the organisation has (read here only)."""
    _lock_screening(session, importer.organisation_id)
    if _company_candidates(session) != file.candidates:
        raise Conflict(
            "the companies changed while the file was being matched (one was added, renamed, "
            "removed or given other identifiers), so its matches may no longer hold: nothing "
            "was imported; import the file again"
        )
    previous = _latest_import(session, file.list_key, file.snapshot_date)
    snapshot = file.previous
    if previous is None:
        snapshot = None
    elif snapshot is None or snapshot.import_id != previous.id:
        snapshot = _snapshot(session, previous)  # another import of the list landed meanwhile
    run = ScreeningImport(
        organisation_id=importer.organisation_id,
        imported_by_key_id=importer.key_id,
        imported_by_name=importer.key_name,
        file_name=file.file_name,
        sha256=file.sha256,
        size_bytes=file.size_bytes,
        format=file.list_kind.value,
        list_key=file.list_key,
        snapshot_date=file.snapshot_date,
        previous_import_id=previous.id if previous else None,
        status=ImportStatus.completed.value,
        rows_total=len(file.keys),
    )
    session.add(run)
    session.flush()
    for entries in file.entry_batches():
        session.execute(insert(ScreeningListEntry), [_entry_row(run, entry) for entry in entries])

    rejected = _rejected_pairs(session)
    matched = _matched_now(file, rejected)
    # The companies are those the file was matched with (checked above): named as matched.
    company_names = {c.company_id: c.names[0] for c in file.candidates}
    scan = _Scan(keys=file.keys, lists=file.lists)
    for record, decisions in matched:
        _sort_decisions(run, record, decisions, scan, rejected)
    # The first snapshot of a list: every record is new.
    previous_keys = snapshot.keys if snapshot is not None else set()
    run.rows_added = len(scan.keys - previous_keys)
    run.rows_removed = len(previous_keys - scan.keys)

    latest = _latest_items(session)
    now = utcnow()
    listings = [
        _listing_row(
            run,
            hit,
            company_names[hit.company_id],
            now,
            relisted=(hit.record_key, hit.company_id) in latest,
        )
        for hit in scan.hits
        if _may_list(latest.get((hit.record_key, hit.company_id)))
    ]
    listed = _still_listed(session, latest, file.list_key)
    run.lists_not_covered = _lists_not_covered(
        snapshot.list_names if snapshot is not None else set(), listed, scan.lists
    )
    delistings = _delisting_rows(
        session, run, scan, scan.keys - previous_keys, listed, company_names, now
    )
    run.evidence_created = len(listings)
    run.delistings_created = len(delistings)
    if listings or delistings:
        session.execute(insert(EvidenceItem), listings + delistings)
        audit.write(session, _creation_events(importer, run, listings + delistings))

    matched_pairs = {
        tuple(row)
        for row in session.execute(select(ScreeningMatch.record_key, ScreeningMatch.company_id))
    }
    automatic = _automatic_rows(scan, matched_pairs, latest, listings)
    decided = matched_pairs | set(latest)
    queued = [row for row in scan.grey if (row["record_key"], row["company_id"]) not in decided]
    if automatic or queued:
        session.execute(insert(ScreeningMatch), automatic + queued)
    if queued:
        run.review_queued = len(queued)
        run.status = ImportStatus.review_pending.value
    session.flush()
    return run


def _lock_screening(session: Session, organisation_id: uuid.UUID) -> None:
    """Imports, confirmations and rejections take turns on the organisation's row, and each
    reads what the other wrote: two imports of one list would otherwise both follow the same
    previous snapshot, and a pair rejected during an import could still become evidence."""
    lock_organisation(session, organisation_id)


def _snapshot(session: Session, run: ScreeningImport) -> _Snapshot:
    keys = set(
        session.scalars(
            select(ScreeningListEntry.record_key).where(ScreeningListEntry.import_id == run.id)
        )
    )
    list_names = set(
        session.scalars(
            select(ScreeningListEntry.list_name)
            .where(ScreeningListEntry.import_id == run.id)
            .distinct()
        )
    )
    return _Snapshot(run.id, keys, list_names)


def _rejected_pairs(session: Session) -> frozenset[tuple[str, uuid.UUID]]:
    return frozenset(
        (record_key, company_id)
        for record_key, company_id in session.execute(
            select(ScreeningRejection.record_key, ScreeningRejection.company_id)
        )
    )


def _matched_now(file: ScreeningFile, rejected: frozenset[tuple[str, uuid.UUID]]) -> list[_Matched]:
    """The file's matched records with their decisions, the records of a pair rejected since
    the file was matched decided again: the pair drops out, and another company the record
    names exactly may now be its one automatic match, as if the rejection had come first.
    (Rejections are only ever added; one goes only with its company.)"""
    since = {record_key for record_key, _ in rejected - file.matcher.rejected_pairs}
    if not since:
        return file.matched
    again = dict(
        (record.record_key, decisions)
        for record, decisions in file.matcher.rejecting(rejected).match_many(
            record for record, _ in file.matched if record.record_key in since
        )
    )
    return [(record, again.get(record.record_key, decisions)) for record, decisions in file.matched]


def _company_of(decision: MatchDecision) -> uuid.UUID:
    return cast(uuid.UUID, cast(CompanyCandidate, decision.candidate).company_id)


@dataclass
class _Scan:
    """What the write found in the file: every record key and every list with a row in it
    (as read), the matches that become evidence (with their rows for the match list) and the
    grey-zone rows for the review queue."""

    keys: set[str] = field(default_factory=set)
    lists: set[str] = field(default_factory=set)
    hits: list[_Hit] = field(default_factory=list)
    automatic: list[dict[str, Any]] = field(default_factory=list)
    grey: list[dict[str, Any]] = field(default_factory=list)


def _automatic_rows(
    scan: _Scan,
    matched: set[tuple[Any, ...]],
    latest: dict[tuple[str, uuid.UUID], EvidenceItem],
    listings: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Match-list rows for the automatic matches, so an analyst can review and reject them: one
    per pair not listed yet (a pair automatic before these rows existed gets one now), naming
    the live listing it stands behind. A pair whose listing an analyst deleted gets none."""
    created = {(row["screening_record_key"], row["company_id"]): row["id"] for row in listings}
    rows = []
    for row in scan.automatic:
        pair = (row["record_key"], row["company_id"])
        item = latest.get(pair)
        evidence_id = created.get(pair) or (
            item.id
            if item is not None and item.type in _LISTING_TYPES and item.deleted_at is None
            else None
        )
        if pair not in matched and evidence_id is not None:
            rows.append({**row, "evidence_id": evidence_id})
    return rows


def _read_records(
    file: ScreeningFile, reader: ScreeningReader, max_rows: int, report: Callable[[], None]
) -> None:
    """Stream the records through the matcher, spooling the snapshot entries in batches and
    keeping the records matched to a company (whose list yields evidence)."""
    entries: list[_Entry] = []
    try:
        for record, decisions in file.matcher.match_many(reader):
            if len(file.keys) >= max_rows:
                raise PayloadTooLarge(f"the file has more than {max_rows} records")
            if len(record.record_key) > _MAX_KEY:
                message = f"the record key is longer than {_MAX_KEY} characters"
                raise _invalid_file(
                    ScreeningFileError(record.line_number, None, message, source=file.file_name)
                )
            file.keys.add(record.record_key)
            file.lists |= _lists(record.source_list)
            entries.append(_entry(record))
            if len(entries) >= ENTRY_BATCH:
                file.spool(entries)
                entries = []
            # Lists that neither restrict trade nor sanction (the parser gives no evidence
            # type for them) are kept in the snapshot but yield no evidence.
            if record.evidence_type is not None and decisions:
                file.matched.append((record, decisions))
            if len(file.keys) % PROGRESS_EVERY == 0:
                report()
    except ScreeningFileError as error:
        raise _invalid_file(error) from error
    if not file.keys:
        raise Invalid.at("file", "the file has a header but no records")
    if entries:
        file.spool(entries)


def _sort_decisions(
    run: ScreeningImport,
    record: ScreeningRecord,
    decisions: Iterable[MatchDecision],
    scan: _Scan,
    rejected: frozenset[tuple[Any, ...]],
) -> None:
    for decision in decisions:
        if decision.candidate is None:
            continue
        company_id = _company_of(decision)
        if (record.record_key, company_id) in rejected:
            continue  # an analyst's rejection stands, even against an identifier
        if decision.outcome is MatchOutcome.identifier:
            how = f"its {decision.matched_identifier} given by the list"
            run.identifier_matches += 1
        elif decision.outcome is MatchOutcome.name_auto:
            how = (
                f"name: '{decision.record_name}' is '{decision.matched_name}' but for case, "
                "punctuation and legal form"
            )
            run.name_matches += 1
        else:
            scan.grey.append(_match_row(run, record, company_id, decision, MatchStatus.pending))
            continue
        scan.hits.append(_Hit(record.record_key, company_id, _party(record), how))
        scan.automatic.append(
            _match_row(run, record, company_id, decision, MatchStatus.auto_confirmed)
        )


def _delisting_rows(
    session: Session,
    run: ScreeningImport,
    scan: _Scan,
    new_keys: set[str],
    listed: dict[tuple[str, uuid.UUID], EvidenceItem],
    company_names: Mapping[Hashable, str],
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Delistings for the listed records this snapshot lacks. Each ends the listing of its own
    record only (``closes``), never another entry of the list, so other records' listings and
    curated entries stay in force whatever it says; its summary names those of the same list.

    A record is judged gone only when this snapshot covers every list it was on: absent from a
    file of other lists, or of one of its several OpenSanctions datasets, it may well still be
    listed. And a company is not delisted from a list while a record of that list in this
    snapshot still matches it (a company with two records, or whose record was re-keyed): its
    timeline would read "no longer on the list" while the file shows it on it. A gone record of
    a company still listed so stays open until the company's last record of that list goes.
    Lists compare one by one ("us_ofac_sdn; eu_fsf" is on us_ofac_sdn), and a near match of
    the company waiting for review counts as still there when its record is new in this
    snapshot (``new_keys``): it may be the gone record re-keyed and renamed. A near match
    that was in the last snapshot too is another record, beside the one that went. A record
    absent from this snapshot but left listed (it is also on a list the file does not cover)
    no longer keeps the company on its lists: it is not in the file, and since a delisting
    ends only its own record's listing, that record's listing stays in force without it."""

    absent = {pair: item for pair, item in listed.items() if pair[0] not in scan.keys}
    judged = {pair: item for pair, item in absent.items() if _lists_of(item) <= scan.lists}
    # On a list still, for the company: a record matched in this file, or new in it and
    # awaiting review as a near match (the gone one re-keyed and renamed, perhaps).
    still_on = {
        (hit.company_id, one) for hit in scan.hits for one in _lists(hit.party["source_list"])
    }
    still_on |= {
        (row["company_id"], one)
        for row in scan.grey
        if row["record_key"] in new_keys
        for one in _lists(row["record"]["source_list"])
    }
    gone = {
        pair: item
        for pair, item in judged.items()
        if not any((pair[1], one) in still_on for one in _lists_of(item))
    }
    if not gone:
        return []
    # The name each record had in the snapshot whose match made the listing.
    listed_as = {
        (import_id, record_key): name
        for import_id, record_key, name in session.execute(
            select(
                ScreeningListEntry.import_id, ScreeningListEntry.record_key, ScreeningListEntry.name
            ).where(
                ScreeningListEntry.import_id.in_(
                    {item.screening_import_id for item in gone.values()}
                ),
                ScreeningListEntry.record_key.in_({record_key for record_key, _ in gone}),
            )
        )
    }
    staying = _listings_staying(session, run, list(gone.values()))
    return [
        _delisting_row(
            run,
            item,
            listed_as.get((item.screening_import_id, record_key)),
            company_names.get(company_id, str(company_id)),
            now,
            staying[item.id],
        )
        for (record_key, company_id), item in gone.items()
    ]


def _listings_staying(
    session: Session, run: ScreeningImport, ending: list[EvidenceItem]
) -> dict[uuid.UUID, list[EvidenceItem]]:
    """For each listing this import ends, the company's other entries of a list it was on
    that stay in force: live list entries (curated, an analyst's or another record's) known
    by the snapshot date and not ended by then, other than those this import ends."""
    ending_ids = {item.id for item in ending}
    company_ids = {item.company_id for item in ending}
    items = session.scalars(
        select(EvidenceItem).where(
            EvidenceItem.company_id.in_(company_ids), EvidenceItem.deleted_at.is_(None)
        )
    ).all()
    by_company: dict[uuid.UUID, list[EvidenceItem]] = {}
    for item in items:
        by_company.setdefault(item.company_id, []).append(item)
    in_force: dict[uuid.UUID, list[EvidenceItem]] = {}
    for company_id, company_items in by_company.items():
        ended = evidence_content.items_ended(company_items)
        in_force[company_id] = [
            item
            for item in company_items
            if item.type in _LISTING_TYPES
            and item.id not in ending_ids
            and evidence_content.known_on(item) <= run.snapshot_date
            and not _ended_by(ended, item, run.snapshot_date)
        ]
    return {
        item.id: sorted(
            (
                other
                for other in in_force.get(item.company_id, ())
                if _list_keys(other) & _list_keys(item)
            ),
            key=lambda other: (other.event_date, other.title),
        )
        for item in ending
    }


def _ended_by(
    ended: dict[uuid.UUID, EvidenceItem | None], item: EvidenceItem, day: dt.date
) -> bool:
    if item.id not in ended:
        return False
    closing = ended[item.id]
    return closing is None or evidence_content.known_on(closing) <= day


def _list_keys(listing: EvidenceItem) -> set[str]:
    """The lists of a stored listing as compared across origins (case and spacing aside)."""
    return {evidence_content.list_key(name) for name in _lists_of(listing) if name.strip()}


def _list_name(listing: EvidenceItem) -> str | None:
    return (listing.related_listing or {}).get("list_name")


def _lists(list_name: str) -> set[str]:
    """The lists a record's list name stands for: a CSL row's source list, or the OpenSanctions
    datasets its name joins with '; '. Read alike from a file's rows and from stored listings,
    so the two compare."""
    return set(list_name.split("; "))


def _lists_of(listing: EvidenceItem) -> set[str]:
    """The lists a stored listing stands for, split as a file's rows are (``_lists``)."""
    return _lists(_list_name(listing) or "")


def _lists_not_covered(
    previous_lists: set[str],
    listed: dict[tuple[str, uuid.UUID], EvidenceItem],
    file_lists: set[str],
) -> list[str]:
    """The lists of the previous snapshot (its entries' list names), or of records still listed
    from an earlier one, that this file has no row of: their records absent from it were not
    judged removed."""
    lists = set[str]().union(*(_lists_of(item) for item in listed.values()))
    for list_name in previous_lists:
        names = _lists(list_name)
        if len(list_name) >= _MAX_LIST_NAME:
            # Entries keep the name cut to its column's size: its last list may be cut too.
            names.discard(list_name.rsplit("; ", 1)[-1])
        lists |= names
    # A row naming no list (an OpenSanctions row without a dataset) is no list to report.
    return sorted(name for name in lists - file_lists if name)


def _report(progress: Callable[[int], None] | None, hashing: _HashingStream) -> None:
    if progress is not None:
        progress(hashing.size)


def _still_listed(
    session: Session, latest: dict[tuple[str, uuid.UUID], EvidenceItem], list_key: str
) -> dict[tuple[str, uuid.UUID], EvidenceItem]:
    """Pairs whose latest item is a live listing that came from a snapshot of this list."""
    list_keys = {run.id: run.list_key for run in session.scalars(select(ScreeningImport))}
    return {
        pair: item
        for pair, item in latest.items()
        if item.type in _LISTING_TYPES
        and item.deleted_at is None
        and list_keys.get(item.screening_import_id) == list_key
    }


def _latest_import(
    session: Session, list_key: str, snapshot_date: dt.date
) -> ScreeningImport | None:
    """The snapshot this one follows; snapshots of one list must come in date order."""
    latest = session.scalars(
        select(ScreeningImport)
        .where(ScreeningImport.list_key == list_key)
        .order_by(ScreeningImport.snapshot_date.desc(), ScreeningImport.imported_at.desc())
        .limit(1)
    ).first()
    if latest is not None and latest.snapshot_date > snapshot_date:
        raise Conflict(
            f"a later snapshot of '{list_key}' (dated {latest.snapshot_date}) is already "
            f"imported; import snapshots of a list in date order (got {snapshot_date})"
        )
    return latest


def _company_candidates(session: Session) -> list[CompanyCandidate]:
    """Every company the organisation may match once, with names, ISINs and LEI: the matcher's
    whole search space (the shared companies and its own, all it sees)."""
    isins: dict[uuid.UUID, set[str]] = {}
    for company_id, value in session.execute(
        select(CompanyIdentifier.company_id, CompanyIdentifier.value).where(
            CompanyIdentifier.scheme == "isin"
        )
    ):
        isins.setdefault(company_id, set()).add(value)
    return [
        CompanyCandidate(
            company_id=company_id,
            names=(name, *aliases),
            isins=frozenset(isins.get(company_id, ())),
            leis=frozenset([lei] if lei else []),
        )
        for company_id, name, aliases, lei in session.execute(
            # In a fixed order: the write compares them with those the file was matched with.
            select(Company.id, Company.name, Company.aliases, Company.lei).order_by(Company.id)
        )
        # A company stored with a blank name before names were checked matches nothing by
        # name; left out, it no longer stops every import.
        if any(text.strip() for text in (name, *aliases))
    ]


def _latest_items(session: Session) -> dict[tuple[str, uuid.UUID], EvidenceItem]:
    """For each (record key, company) the organisation has screening evidence about, the
    latest item, deleted or not: it says whether the pair is listed now."""
    latest: dict[tuple[str, uuid.UUID], EvidenceItem] = {}
    items = session.scalars(
        select(EvidenceItem)
        .where(EvidenceItem.origin == EvidenceOrigin.screening.value)
        .order_by(EvidenceItem.event_date, EvidenceItem.created_at)
    )
    for item in items:
        if item.screening_record_key is not None:
            latest[(item.screening_record_key, item.company_id)] = item
    return latest


def _may_list(latest: EvidenceItem | None) -> bool:
    """A pair gets a listing item when it has none yet, or its last item is a live delisting
    (the record came back). A deleted item is an analyst's decision and is left alone."""
    if latest is None:
        return True
    return latest.type not in _LISTING_TYPES and latest.deleted_at is None


def _party(record: ScreeningRecord) -> dict[str, Any]:
    """The record's list details as JSON, kept on review-queue rows for later confirmation."""
    return {
        "list_kind": record.list_kind.value,
        "source_list": record.source_list,
        "name": record.name,
        "programs": list(record.programs),
        "federal_register_notice": record.federal_register_notice,
        "start_date": record.start_date.isoformat() if record.start_date else None,
        "end_date": record.end_date.isoformat() if record.end_date else None,
        "first_seen": record.first_seen.isoformat() if record.first_seen else None,
        "source_list_url": record.source_list_url,
        "evidence_type": cast(EvidenceType, record.evidence_type).value,
        "line": record.line_number,
    }


def _entry(record: ScreeningRecord) -> _Entry:
    return (
        record.record_key,
        record.source_list[:_MAX_LIST_NAME],
        record.name[:1000],
        record.entity_type.value,
        record.line_number,
    )


def _entry_row(run: ScreeningImport, entry: _Entry) -> dict[str, Any]:
    record_key, list_name, name, entity_type, line = entry
    return {
        "id": new_id(),
        "organisation_id": run.organisation_id,
        "import_id": run.id,
        "record_key": record_key,
        "list_name": list_name,
        "name": name,
        "entity_type": entity_type,
        "line": line,
    }


def _match_row(
    run: ScreeningImport,
    record: ScreeningRecord,
    company_id: uuid.UUID,
    decision: MatchDecision,
    status: MatchStatus,
) -> dict[str, Any]:
    """A match-list row: pending in the review queue, or an automatic match decided by the
    import (and so by whoever ran it)."""
    automatic = status is MatchStatus.auto_confirmed
    candidate = cast(CompanyCandidate, decision.candidate)
    return {
        "id": new_id(),
        "organisation_id": run.organisation_id,
        "import_id": run.id,
        "record_key": record.record_key,
        "record_name": (decision.record_name or record.name)[:1000],
        "list_name": record.source_list[:_MAX_LIST_NAME],
        "company_id": company_id,
        # An identifier match names no name: the company's own is shown.
        "matched_name": (decision.matched_name or candidate.names[0])[:1000],
        "score": decision.score,
        "status": status.value,
        "record": {**_party(record), "matched_identifier": decision.matched_identifier},
        "evidence_id": None,
        "decided_by_key_id": run.imported_by_key_id if automatic else None,
        "decided_by_name": run.imported_by_name if automatic else None,
        "decided_at": run.imported_at if automatic else None,
        "created_at": utcnow(),
    }


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _publisher(party: dict[str, Any]) -> str:
    """'Entity List (EL) - Bureau of Industry and Security' is published by the Bureau."""
    if party["list_kind"] == ListKind.opensanctions.value:
        return "OpenSanctions"
    name: str = party["source_list"]
    return name.rsplit(" - ", 1)[-1] if " - " in name else name


def _listing_row(
    run: ScreeningImport,
    hit: _Hit,
    company_name: str,
    now: dt.datetime,
    *,
    relisted: bool,
) -> dict[str, Any]:
    party = hit.party
    start = dt.date.fromisoformat(party["start_date"]) if party["start_date"] else None
    # Without a start date (OpenSanctions gives none) the entry is dated by when the list's
    # publisher first saw it, else by the snapshot; the summary says which.
    first_seen = party.get("first_seen")
    if relisted:
        event_date, dated_by = run.snapshot_date, "the snapshot that shows it again"
    elif start:
        event_date, dated_by = start, "the list's start date"
    elif first_seen:
        event_date, dated_by = dt.date.fromisoformat(first_seen), "the day the list first showed it"
    else:
        event_date, dated_by = run.snapshot_date, "the snapshot"
    programs = "; ".join(party["programs"]) or None
    details = [f"record {hit.record_key}"]
    if programs:
        details.append(f"programme {programs}")
    if party["federal_register_notice"]:
        details.append(f"Federal Register notice {party['federal_register_notice']}")
    if start:
        details.append(f"in force from {start.isoformat()}")
    summary = (
        f"The {party['source_list']} lists {party['name']} ({', '.join(details)}). The screening "
        f"import of {run.file_name} (snapshot of {run.snapshot_date.isoformat()}) matched it to "
        f"{company_name} by {hit.how}. Dated by {dated_by}."
    )
    if relisted:
        summary += " The record had earlier been recorded as removed from the list."
    return {
        "id": new_id(),
        "organisation_id": run.organisation_id,
        "company_id": hit.company_id,
        "slug": None,
        "origin": EvidenceOrigin.screening.value,
        "event_date": event_date,
        "event_date_precision": "day",
        "published_date": None,
        "published_date_precision": "day",
        "type": party["evidence_type"],
        "title": _clip(f"{party['source_list']}: {party['name']}", 300),
        "summary": _clip(summary, 5000),
        "affected_groups": [],
        "countries": [],
        "severity": None,
        "severity_rationale": None,
        "company_role": _LISTING_ROLE,
        "role_rationale": _LISTING_ROLE_RATIONALE,
        "status": EvidenceStatus.ongoing.value,
        "remediated_date": None,
        "status_note": None,
        "sources": [
            {
                "publisher": _publisher(party),
                "title": party["source_list"],
                "date": run.snapshot_date.isoformat(),
                "date_precision": "day",
                "url": party["source_list_url"],
                "note": f"Record {hit.record_key}, line {party['line']} of {run.file_name}",
                "source_class": SourceClass.court_or_government_record.value,
            }
        ],
        "date_disagreements": [],
        "company_responses": [],
        "related_listing": {
            "list_name": party["source_list"],
            "program": programs,
            "federal_register_notice": party["federal_register_notice"],
            "start_date": party["start_date"],
            "end_date": party["end_date"],
            "note": None,
        },
        "closes": [],
        "note": None,
        "screening_record_key": hit.record_key,
        "screening_import_id": run.id,
        "deleted_at": None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def _delisting_row(
    run: ScreeningImport,
    listing: EvidenceItem,
    record_name: str | None,
    company_name: str,
    now: dt.datetime,
    staying: list[EvidenceItem],
) -> dict[str, Any]:
    """The end of one record's listing: it closes that listing alone, and names the company's
    other entries of the list, which stay in force, for an analyst to check."""
    listed = listing.related_listing or {}
    list_name = listed.get("list_name") or "screening list"
    source = listing.sources[0] if listing.sources else {}
    key = cast(str, listing.screening_record_key)
    record = f"Record {key} ({record_name})" if record_name else f"Record {key}"
    summary = (
        f"{record} of the {list_name}, matched to {company_name} in an earlier "
        f"snapshot, is absent from the snapshot of {run.snapshot_date.isoformat()} "
        f"({run.file_name}), and no record of that list in it is matched to "
        f"{company_name} any more. The removal took effect on or before that date. "
        "This ends the listing of that record only."
    )
    if staying:
        summary += (
            f" These other entries of that list for {company_name} stay in force until their "
            "own end is recorded: " + "; ".join(_entry_words(other) for other in staying) + "."
        )
    return {
        "id": new_id(),
        "organisation_id": listing.organisation_id,
        "company_id": listing.company_id,
        "slug": None,
        "origin": EvidenceOrigin.screening.value,
        "event_date": run.snapshot_date,
        "event_date_precision": "day",
        "published_date": None,
        "published_date_precision": "day",
        "type": _CLOSING_TYPE[listing.type],
        # Names the record that went, which may differ from the company's name.
        "title": _clip(f"No longer on the {list_name}: {record_name or company_name}", 300),
        "summary": _clip(summary, 5000),
        "affected_groups": [],
        "countries": [],
        "severity": None,
        "severity_rationale": None,
        "company_role": listing.company_role,
        "role_rationale": listing.role_rationale,
        "status": EvidenceStatus.ongoing.value,
        "remediated_date": None,
        "status_note": None,
        "sources": [
            {
                "publisher": source.get("publisher") or list_name,
                "title": list_name,
                "date": run.snapshot_date.isoformat(),
                "date_precision": "day",
                "url": source.get("url"),
                "note": f"Record {key} is absent from {run.file_name}",
                "source_class": SourceClass.court_or_government_record.value,
            }
        ],
        "date_disagreements": [],
        "company_responses": [],
        "related_listing": {**listed, "end_date": None},
        # The listing it ends, and no other: see _delisting_rows.
        "closes": [str(listing.id)],
        "note": None,
        "screening_record_key": key,
        "screening_import_id": run.id,
        "deleted_at": None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def _entry_words(item: EvidenceItem) -> str:
    """A list entry as a delisting's summary names it: title, date and where it came from."""
    if item.origin == EvidenceOrigin.bundled.value:
        whose = "curated"
    elif item.origin == EvidenceOrigin.screening.value:
        whose = f"screening record {item.screening_record_key}"
    else:
        whose = "recorded by an analyst"
    return f"'{item.title}' ({item.event_date.isoformat()}, {whose})"


def _creation_events(
    importer: Importer, run: ScreeningImport, rows: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    return [
        audit.event(
            importer,
            EVIDENCE_ENTITY,
            row["id"],
            "created",
            comment=f"screening import {run.id} of {run.file_name}",
        )
        for row in rows
    ]


def _invalid_file(error: ScreeningFileError) -> Invalid:
    path = "file" if error.line is None else f"file.line.{error.line}"
    if error.column is not None:
        path += f".{error.column}"
    return Invalid(str(error), errors=[ProblemDetail(path=path, message=str(error))])


def store_file(data_dir: Path, stream: BinaryIO, sha256: str) -> Path:
    """Keep the imported file under the data folder, named by its content hash."""
    folder = data_dir / "screening"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{sha256}.csv"
    if not target.exists():
        stream.seek(0)
        partial = target.with_suffix(".part")
        with partial.open("wb") as out:
            shutil.copyfileobj(stream, out)
        partial.replace(target)
    return target


# --- reading imports and the review queue -----------------------------------------------------


def companies_touched(session: Session, run: ScreeningImport) -> list[uuid.UUID]:
    """Companies whose evidence this import created (listings and delistings): to rescore."""
    return list(
        session.scalars(
            select(EvidenceItem.company_id)
            .where(EvidenceItem.screening_import_id == run.id)
            .distinct()
        )
    )


def get_import(session: Session, import_id: uuid.UUID) -> ScreeningImport:
    run = session.get(ScreeningImport, import_id)
    if run is None:
        raise NotFound(f"no screening import {import_id}")
    return run


def list_imports(session: Session, page: PageParams) -> tuple[list[ScreeningImport], str | None]:
    return paginate(
        session, select(ScreeningImport), [ScreeningImport.imported_at, ScreeningImport.id], page
    )


def get_match(session: Session, match_id: uuid.UUID) -> ScreeningMatch:
    match = session.get(ScreeningMatch, match_id)
    if match is None:
        raise NotFound(f"no screening match {match_id}")
    return match


def list_matches(
    session: Session, status: MatchStatus | None, page: PageParams
) -> tuple[list[ScreeningMatch], str | None]:
    statement = select(ScreeningMatch)
    if status is not None:
        statement = statement.where(ScreeningMatch.status == status.value)
    return paginate(session, statement, [ScreeningMatch.created_at, ScreeningMatch.id], page)


# --- review decisions --------------------------------------------------------------------------


def confirm_match(session: Session, principal: Principal, match: ScreeningMatch) -> ScreeningMatch:
    """The match is right: record the listing as evidence (unless the pair has one)."""
    _check_pending(match)
    # Taking turns with imports and rejections (PostgreSQL), then checking again what one of
    # them may have decided meanwhile.
    _lock_screening(session, principal.organisation_id)
    session.refresh(match, ["status"])
    _check_pending(match)
    run = get_import(session, match.import_id)
    company = session.get(Company, match.company_id)
    if company is None:
        raise NotFound(f"company {match.company_id} no longer exists")
    existing = _latest_items(session).get((match.record_key, match.company_id))
    if _may_list(existing):
        hit = _Hit(
            match.record_key,
            match.company_id,
            match.record,
            f"{principal.key_name} confirming a name match (score {match.score:g}: "
            f"'{match.record_name}' against '{match.matched_name}')",
        )
        row = _listing_row(
            run,
            hit,
            company.name,
            utcnow(),
            relisted=existing is not None,
        )
        item = EvidenceItem(**row)
        session.add(item)
        session.flush()
        audit.record(
            session,
            principal,
            EVIDENCE_ENTITY,
            item.id,
            "created",
            comment=f"confirmed screening match {match.id}",
        )
        match.evidence_id = item.id
        run.evidence_created += 1
    _decide(session, principal, match, MatchStatus.confirmed)
    return match


def _check_rejectable(match: ScreeningMatch) -> None:
    if match.status not in (MatchStatus.pending.value, MatchStatus.auto_confirmed.value):
        raise Conflict(f"match {match.id} was already {match.status}")


def reject_match(session: Session, principal: Principal, match: ScreeningMatch) -> ScreeningMatch:
    """Not a match (a queued one, or an automatic one the analyst overrules): remember the pair
    so later imports neither ask again nor match it, and withdraw the screening evidence the
    pair put on the company's record (its listing, and any delisting), rescoring it."""
    _check_rejectable(match)
    # As confirming does: take turns, then check again (two rejections both went through).
    _lock_screening(session, principal.organisation_id)
    session.refresh(match, ["status"])
    _check_rejectable(match)
    items = session.scalars(
        select(EvidenceItem).where(
            EvidenceItem.screening_record_key == match.record_key,
            EvidenceItem.company_id == match.company_id,
            EvidenceItem.deleted_at.is_(None),
        )
    ).all()
    # Delistings first: a listing that a live delisting closes cannot be deleted.
    for item in sorted(items, key=lambda item: item.type in _LISTING_TYPES):
        evidence.delete_evidence(session, principal, item)
    remembered = session.scalars(
        select(ScreeningRejection).where(
            ScreeningRejection.record_key == match.record_key,
            ScreeningRejection.company_id == match.company_id,
        )
    ).first()
    if remembered is None:
        session.add(
            ScreeningRejection(
                organisation_id=principal.organisation_id,
                record_key=match.record_key,
                company_id=match.company_id,
                rejected_by_key_id=principal.key_id,
                rejected_by_name=principal.key_name,
            )
        )
    _decide(session, principal, match, MatchStatus.rejected)
    return match


def _check_pending(match: ScreeningMatch) -> None:
    if match.status != MatchStatus.pending.value:
        raise Conflict(f"match {match.id} was already {match.status}")


def _decide(
    session: Session, principal: Principal, match: ScreeningMatch, outcome: MatchStatus
) -> None:
    before = match.status
    match.status = outcome.value
    match.decided_by_key_id = principal.key_id
    match.decided_by_name = principal.key_name
    match.decided_at = utcnow()
    audit.record(
        session,
        principal,
        MATCH_ENTITY,
        match.id,
        outcome.value,
        old=before,
        new=outcome.value,
    )
    session.flush()
    still_pending = session.scalars(
        select(ScreeningMatch.id)
        .where(
            ScreeningMatch.import_id == match.import_id,
            ScreeningMatch.status == MatchStatus.pending.value,
        )
        .limit(1)
    ).first()
    if still_pending is None:
        get_import(session, match.import_id).status = ImportStatus.completed.value
    session.flush()
