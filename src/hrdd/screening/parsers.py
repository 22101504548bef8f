"""Streaming parsers for the two screening-list formats investors actually download.

- US Consolidated Screening List (CSL), ``consolidated.csv`` from trade.gov: 29 fixed columns,
  several values in one cell separated by semicolons, ``_id`` as the stable key.
- OpenSanctions ``targets.simple.csv``: 16 columns (15 in files older than ``program_ids``),
  multi-values joined by a semicolon CSV writer (so a value holding a semicolon is quoted
  inside the cell).

Both are read row by row from a binary stream: apart from the keys already seen (to refuse a
duplicate), nothing holds more than one physical line and one CSV record in memory, whatever
the size of the file. Every problem is raised as a
``ScreeningFileError`` naming the physical line (and the column when there is one), so an
import can be refused as a whole before anything is written.

Pure module: no database, no clock, no network. The caller opens the file (or hands over the
uploaded stream) and decides what to do with the records.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import BinaryIO
from urllib.parse import quote, urlsplit

from stdnum import isin as stdnum_isin
from stdnum import lei as stdnum_lei

from hrdd.dates import outside_window
from hrdd.vocab import EvidenceType

CSL_COLUMNS: tuple[str, ...] = (
    "_id",
    "source",
    "entity_number",
    "type",
    "programs",
    "name",
    "title",
    "addresses",
    "federal_register_notice",
    "start_date",
    "end_date",
    "standard_order",
    "license_requirement",
    "license_policy",
    "call_sign",
    "vessel_type",
    "gross_tonnage",
    "gross_registered_tonnage",
    "vessel_flag",
    "vessel_owner",
    "remarks",
    "source_list_url",
    "alt_names",
    "citizenships",
    "dates_of_birth",
    "nationalities",
    "places_of_birth",
    "source_information_url",
    "ids",
)

OPENSANCTIONS_ENTITY_PAGES = "https://www.opensanctions.org/entities/"

OPENSANCTIONS_COLUMNS: tuple[str, ...] = (
    "id",
    "schema",
    "name",
    "aliases",
    "birth_date",
    "countries",
    "addresses",
    "identifiers",
    "sanctions",
    "phones",
    "emails",
    "program_ids",
    "dataset",
    "first_seen",
    "last_seen",
    "last_change",
)
# Files written before OpenSanctions added program_ids have the same columns without it.
OPENSANCTIONS_LEGACY_COLUMNS: tuple[str, ...] = tuple(
    column for column in OPENSANCTIONS_COLUMNS if column != "program_ids"
)

MAX_FIELD_CHARS = 64 * 1024
# A physical line may legitimately hold every column at the field cap, 4 bytes per character.
MAX_LINE_BYTES = len(CSL_COLUMNS) * MAX_FIELD_CHARS * 4

_UTF8_BOM = b"\xef\xbb\xbf"
_JSON_REFUSED = (
    "the file is JSON (such as the Consolidated Screening List's JSON download), which is not "
    "supported: download the list as CSV (consolidated.csv, or OpenSanctions "
    "targets.simple.csv) and import that"
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# OpenSanctions timestamps: a date, optionally followed by a time part.
_ISO_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ][0-9:.+\-Z]*)?")
_COUNTRY_CODE = re.compile(r"[A-Z]{2}")
_ISIN_SHAPE = re.compile(r"[A-Z]{2}[A-Z0-9]{9}[0-9]")
_LEI_SHAPE = re.compile(r"[A-Z0-9]{18}[0-9]{2}")


class ListKind(StrEnum):
    csl = "csl"
    opensanctions = "opensanctions"


class EntityType(StrEnum):
    """What a listed party is. Only companies-like parties are ever matched to companies."""

    entity = "entity"
    individual = "individual"
    vessel = "vessel"
    aircraft = "aircraft"
    # The CSL leaves `type` empty on Commerce and State lists (the Entity List included).
    unspecified = "unspecified"
    # Any other OpenSanctions schema (crypto wallets, securities, addresses...).
    other = "other"


_CSL_TYPES: dict[str, EntityType] = {
    "": EntityType.unspecified,
    "entity": EntityType.entity,
    "individual": EntityType.individual,
    "vessel": EntityType.vessel,
    "aircraft": EntityType.aircraft,
}

_OPENSANCTIONS_SCHEMAS: dict[str, EntityType] = {
    "Company": EntityType.entity,
    "Organization": EntityType.entity,
    "LegalEntity": EntityType.entity,
    "PublicBody": EntityType.entity,
    "Person": EntityType.individual,
    "Vessel": EntityType.vessel,
    "Airplane": EntityType.aircraft,
}

# The CSL `ids` cell labels identifiers in words; these labels mark the two we match on.
_ISIN_LABELS = ("isin",)
_LEI_LABELS = ("legal entity number", "le number", "lei")

# Words in OpenSanctions dataset titles and sanction summaries that tell a sanction from an
# export-control listing (the CSL dataset holds the Commerce lists, the Entity List included).
_SANCTION_MARKERS = ("sanction", "sdn", "ofac", "asset freeze")
_TRADE_RESTRICTION_MARKERS = (
    "consolidated screening list",
    "bureau of industry and security",
    "export administration regulations",
    "subject to the ear",
    "entity list",
    "denied persons",
)


class ScreeningFileError(ValueError):
    """A screening file that cannot be imported, with where the problem is."""

    def __init__(
        self, line: int | None, column: str | None, message: str, *, source: str | None = None
    ) -> None:
        self.line = line
        self.column = column
        self.message = message
        self.source = source
        super().__init__(self._describe())

    def _describe(self) -> str:
        place = [self.source or "screening file"]
        if self.line is not None:
            place.append(f"line {self.line}")
        if self.column is not None:
            place.append(f"column '{self.column}'")
        return f"{', '.join(place)}: {self.message}"


@dataclass(frozen=True, slots=True)
class Identifiers:
    """Identifiers a list gives for a party. `other` keeps every entry not recognised."""

    isins: tuple[str, ...] = ()
    leis: tuple[str, ...] = ()
    other: tuple[str, ...] = ()
    raw: str = ""


@dataclass(frozen=True, slots=True)
class ScreeningRecord:
    """One listed party, the same shape whichever list it came from."""

    list_kind: ListKind
    record_key: str
    source_list: str
    entity_type: EntityType
    name: str
    aliases: tuple[str, ...]
    countries: tuple[str, ...]
    addresses: tuple[str, ...]
    programs: tuple[str, ...]
    federal_register_notice: str | None
    start_date: date | None
    end_date: date | None
    # OpenSanctions only: when their crawlers first and last saw the entry.
    first_seen: date | None
    last_seen: date | None
    identifiers: Identifiers
    source_list_url: str | None
    line_number: int
    evidence_type: EvidenceType | None

    @property
    def names(self) -> tuple[str, ...]:
        """The primary name followed by the aliases."""
        return (self.name, *self.aliases)


def detect_format(header: Sequence[str], *, source: str | None = None) -> ListKind:
    """Which list a header row belongs to; a header that fits neither is refused with the
    columns missing or unexpected compared with the format it most resembles."""
    columns = tuple(header)
    if columns == CSL_COLUMNS:
        return ListKind.csl
    if columns in (OPENSANCTIONS_COLUMNS, OPENSANCTIONS_LEGACY_COLUMNS):
        return ListKind.opensanctions
    duplicates = sorted({column for column in columns if columns.count(column) > 1})
    if duplicates:
        raise ScreeningFileError(
            1, None, f"duplicate header columns: {_names(duplicates)}", source=source
        )
    present = set(columns)
    csl_overlap = len(present & set(CSL_COLUMNS))
    opensanctions_overlap = len(present & set(OPENSANCTIONS_COLUMNS))
    if csl_overlap == 0 and opensanctions_overlap == 0:
        shown = _names(columns[:5]) or "(empty)"
        raise ScreeningFileError(
            1,
            None,
            "header matches neither the US Consolidated Screening List nor OpenSanctions "
            f"targets.simple.csv (it starts with: {shown})",
            source=source,
        )
    if csl_overlap >= opensanctions_overlap:
        expected, label = CSL_COLUMNS, "the 29-column US Consolidated Screening List header"
    else:
        expected = (
            OPENSANCTIONS_COLUMNS if "program_ids" in present else OPENSANCTIONS_LEGACY_COLUMNS
        )
        label = "the OpenSanctions targets.simple.csv header"
    raise ScreeningFileError(1, None, _header_difference(columns, expected, label), source=source)


def _names(columns: Sequence[str], most: int = 10, width: int = 40) -> str:
    """Header cells as a short list: a file that is not a list file must not be echoed."""
    shown = [name if len(name) <= width else name[: width - 1] + "…" for name in columns[:most]]
    more = f" and {len(columns) - most} more" if len(columns) > most else ""
    return ", ".join(shown) + more


def _header_difference(columns: tuple[str, ...], expected: tuple[str, ...], label: str) -> str:
    missing = [column for column in expected if column not in columns]
    unexpected = [column for column in columns if column not in expected]
    parts = []
    if missing:
        parts.append(f"missing columns: {', '.join(missing)}")
    if unexpected:
        parts.append(f"unexpected columns: {_names(unexpected)}")
    if not parts:
        # Same columns, no repeats: only the order differs.
        position, found, wanted = next(
            (position, found, wanted)
            for position, (found, wanted) in enumerate(zip(columns, expected, strict=True))
            if found != wanted
        )
        parts.append(
            f"columns out of order: position {position + 1} is '{found}', expected '{wanted}'"
        )
    return f"header differs from {label}; {'; '.join(parts)}"


class ScreeningReader:
    """Reads a screening file from a binary stream, one record at a time.

    The header is read and checked on construction, so `list_kind` is known before the first
    record. Iterate once; `bytes_read` grows as the file is consumed (for a progress bar).
    """

    def __init__(self, stream: BinaryIO, *, source_name: str | None = None) -> None:
        self._stream = stream
        self.source_name = source_name
        self.bytes_read = 0
        self._physical_line = 0
        self._reader = csv.reader(self._decoded_lines(), strict=True)
        header = self._next_row()
        if header is None:
            raise self._error(1, None, "file is empty: expected a header row")
        self.header: tuple[str, ...] = tuple(header)
        self.list_kind = detect_format(self.header, source=source_name)
        self._consumed = False

    def __iter__(self) -> Iterator[ScreeningRecord]:
        if self._consumed:
            raise RuntimeError("a ScreeningReader can be iterated only once")
        self._consumed = True
        build = _build_csl_record if self.list_kind is ListKind.csl else _build_os_record
        key_column = "_id" if self.list_kind is ListKind.csl else "id"
        first_line_of_key: dict[str, int] = {}
        while True:
            start_line = self._reader.line_num + 1
            row = self._next_row()
            if row is None:
                return
            if not row:
                continue  # a blank line
            if len(row) != len(self.header):
                raise self._error(
                    start_line,
                    None,
                    f"expected {len(self.header)} columns, found {len(row)}",
                )
            fields = dict(zip(self.header, row, strict=True))
            for column, value in fields.items():
                if len(value) > MAX_FIELD_CHARS:
                    raise self._error(
                        start_line,
                        column,
                        f"value is {len(value)} characters long; the limit is {MAX_FIELD_CHARS}",
                    )
            try:
                record = build(fields, start_line)
            except _FieldError as problem:
                raise self._error(start_line, problem.column, problem.message) from None
            earlier = first_line_of_key.setdefault(record.record_key, start_line)
            if earlier != start_line:
                raise self._error(
                    start_line,
                    key_column,
                    f"key '{record.record_key}' already appears on line {earlier}",
                )
            yield record

    def _next_row(self) -> list[str] | None:
        try:
            return next(self._reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            line = self._reader.line_num or 1
            if "field larger than field limit" in str(exc):
                message = f"a value is longer than {MAX_FIELD_CHARS} characters"
                raise self._error(line, None, message) from None
            raise self._error(line, None, f"malformed CSV: {exc}") from None

    def _decoded_lines(self) -> Iterator[str]:
        """Physical lines as text, checked for size, NUL bytes and UTF-8 one line at a time."""
        while True:
            raw = self._stream.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            self._physical_line += 1
            self.bytes_read += len(raw)
            line = self._physical_line
            if line == 1:
                if raw.startswith(_UTF16_BOMS):
                    raise self._error(line, None, "file is UTF-16 encoded; expected UTF-8")
                raw = raw.removeprefix(_UTF8_BOM)
                # Before the length check: trade.gov's JSON download is often one long line.
                if raw.lstrip()[:1] in (b"{", b"["):
                    raise ScreeningFileError(None, None, _JSON_REFUSED, source=self.source_name)
            if len(raw) > MAX_LINE_BYTES:
                raise self._error(line, None, f"line is longer than {MAX_LINE_BYTES} bytes")
            if b"\x00" in raw:
                raise self._error(line, None, "NUL byte in the line; this is not a text file")
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise self._error(
                    line, None, f"invalid UTF-8 at byte {exc.start + 1} of the line"
                ) from None

    def _error(self, line: int, column: str | None, message: str) -> ScreeningFileError:
        return ScreeningFileError(line, column, message, source=self.source_name)


class _FieldError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def _build_csl_record(fields: dict[str, str], line: int) -> ScreeningRecord:
    record_key = _required(fields, "_id")
    name = _required(fields, "name")
    type_text = fields["type"].strip()
    entity_type = _CSL_TYPES.get(type_text.casefold())
    if entity_type is None:
        raise _FieldError(
            "type", f"unknown type '{type_text}'; expected Entity, Individual, Vessel or Aircraft"
        )
    addresses = _split_csl(fields["addresses"])
    countries = _unique(
        [
            *(_address_country(address) for address in addresses),
            *_split_csl(fields["nationalities"]),
            *_split_csl(fields["citizenships"]),
        ],
        keep=lambda code: bool(_COUNTRY_CODE.fullmatch(code)),
    )
    source = fields["source"].strip()
    return ScreeningRecord(
        list_kind=ListKind.csl,
        record_key=record_key,
        source_list=source,
        entity_type=entity_type,
        name=name,
        aliases=_unique(
            [_drop_leading_and(alias) for alias in _split_csl(fields["alt_names"])],
            exclude=name,
        ),
        countries=countries,
        addresses=addresses,
        programs=_split_csl(fields["programs"]),
        federal_register_notice=fields["federal_register_notice"].strip() or None,
        start_date=_iso_date(fields, "start_date"),
        end_date=_iso_date(fields, "end_date"),
        first_seen=None,
        last_seen=None,
        identifiers=_csl_identifiers(fields["ids"]),
        source_list_url=_web_address(fields["source_list_url"])
        or _web_address(fields["source_information_url"]),
        line_number=line,
        evidence_type=_csl_evidence_type(source),
    )


def _build_os_record(fields: dict[str, str], line: int) -> ScreeningRecord:
    record_key = _required(fields, "id")
    name = _required(fields, "name")
    schema = fields["schema"].strip()
    datasets = _split_os(fields, "dataset")
    sanctions = _split_os(fields, "sanctions")
    programs = _split_os(fields, "program_ids") if "program_ids" in fields else ()
    return ScreeningRecord(
        list_kind=ListKind.opensanctions,
        record_key=record_key,
        source_list="; ".join(datasets),
        entity_type=_OPENSANCTIONS_SCHEMAS.get(schema, EntityType.other),
        name=name,
        aliases=_unique(list(_split_os(fields, "aliases")), exclude=name),
        countries=_unique([code.upper() for code in _split_os(fields, "countries")]),
        addresses=_split_os(fields, "addresses"),
        programs=programs,
        federal_register_notice=None,
        start_date=None,
        end_date=None,
        first_seen=_timestamp_date(fields, "first_seen"),
        last_seen=_timestamp_date(fields, "last_seen"),
        identifiers=_os_identifiers(_split_os(fields, "identifiers"), fields["identifiers"]),
        # The file gives no address; OpenSanctions publishes a page per entity under its id.
        source_list_url=f"{OPENSANCTIONS_ENTITY_PAGES}{quote(record_key, safe='')}/",
        line_number=line,
        evidence_type=_os_evidence_type(datasets, sanctions, programs),
    )


def _required(fields: dict[str, str], column: str) -> str:
    value = fields[column].strip()
    if not value:
        raise _FieldError(column, "value is empty")
    return value


def _split_csl(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split(";") if part.strip())


def _split_os(fields: dict[str, str], column: str) -> tuple[str, ...]:
    """OpenSanctions joins values with a semicolon CSV writer: unquote them the same way."""
    cell = fields[column]
    if not cell:
        return ()
    try:
        values = next(csv.reader(io.StringIO(cell, newline=""), delimiter=";", strict=True))
    except (csv.Error, StopIteration) as exc:
        raise _FieldError(column, f"malformed multi-value cell: {exc}") from None
    return tuple(value.strip() for value in values if value.strip())


def _unique(
    values: list[str],
    *,
    exclude: str | None = None,
    keep: Callable[[str], bool] | None = None,
) -> tuple[str, ...]:
    """Values in first-seen order without blanks, repeats or `exclude`."""
    seen: dict[str, None] = {}
    for value in values:
        if value and value != exclude and (keep is None or keep(value)):
            seen.setdefault(value, None)
    return tuple(seen)


def _drop_leading_and(alias: str) -> str:
    # BIS alias lists read like prose: "A; B; and C".
    return alias[4:].strip() if alias.casefold().startswith("and ") else alias


def _address_country(address: str) -> str:
    # CSL addresses end with the ISO country code: "113 Hezuo Road, Shijiazhuang, ..., CN".
    return address.rsplit(",", 1)[-1].strip()


def _web_address(text: str) -> str | None:
    """The address a list gives for a record, kept only if it is a web address: evidence
    prints it as a link, and a file could hold anything there."""
    address = text.strip()
    parts = urlsplit(address)
    if parts.scheme.casefold() in {"http", "https"} and parts.netloc and len(address) <= 2000:
        return address
    return None


def _iso_date(fields: dict[str, str], column: str) -> date | None:
    text = fields[column].strip()
    if not text:
        return None
    if not _ISO_DATE.fullmatch(text):
        raise _FieldError(column, f"'{text}' is not a date in YYYY-MM-DD form")
    try:
        return _in_window(column, date.fromisoformat(text))
    except ValueError as exc:
        raise _FieldError(column, f"'{text}' is not a valid date: {exc}") from None


def _timestamp_date(fields: dict[str, str], column: str) -> date | None:
    text = fields[column].strip()
    if not text:
        return None
    match = _ISO_TIMESTAMP.fullmatch(text)
    if match is None:
        raise _FieldError(column, f"'{text}' is not an ISO 8601 date or timestamp")
    try:
        return _in_window(column, date.fromisoformat(match.group(1)))
    except ValueError as exc:
        raise _FieldError(column, f"'{text}' is not a valid date: {exc}") from None


def _in_window(column: str, value: date) -> date:
    problem = outside_window(value)
    if problem is not None:
        raise _FieldError(column, problem)
    return value


def _csl_identifiers(cell: str) -> Identifiers:
    """Pull ISINs and LEIs out of the CSL `ids` cell, conservatively.

    Entries are separated by semicolons; inside one, comma-separated parts give a label, the
    number and sometimes a country, in an order that has changed over the years ("ISIN,
    US0000000000" today, "CO, 1978075, Matricula Mercantil No" in older files). An entry
    counts as an ISIN or LEI only when its label says so AND one part passes the check digit;
    everything else is kept verbatim in `other`.
    """
    isins: list[str] = []
    leis: list[str] = []
    other: list[str] = []
    for entry in _split_csl(cell):
        parts = [part.strip() for part in entry.split(",")]
        labels = {part.casefold() for part in parts}
        found = False
        if labels.intersection(_ISIN_LABELS):
            found = _collect(parts, _ISIN_SHAPE, stdnum_isin.is_valid, isins)
        if not found and labels.intersection(_LEI_LABELS):
            found = _collect(parts, _LEI_SHAPE, stdnum_lei.is_valid, leis)
        if not found:
            other.append(entry)
    return Identifiers(
        isins=_unique(isins), leis=_unique(leis), other=tuple(other), raw=cell.strip()
    )


def _os_identifiers(values: tuple[str, ...], raw: str) -> Identifiers:
    """OpenSanctions gives bare numbers; an ISIN or LEI is recognised by shape and check digit."""
    isins: list[str] = []
    leis: list[str] = []
    other: list[str] = []
    for value in values:
        if not (
            _collect([value], _ISIN_SHAPE, stdnum_isin.is_valid, isins)
            or _collect([value], _LEI_SHAPE, stdnum_lei.is_valid, leis)
        ):
            other.append(value)
    return Identifiers(isins=_unique(isins), leis=_unique(leis), other=tuple(other), raw=raw)


def _collect(
    parts: Sequence[str],
    shape: re.Pattern[str],
    is_valid: Callable[[str], bool],
    into: list[str],
) -> bool:
    """Append to `into` every part of the right shape whose check digit holds."""
    found = False
    for part in parts:
        candidate = part.replace(" ", "").upper()
        if shape.fullmatch(candidate) and is_valid(candidate):
            into.append(candidate)
            found = True
    return found


def _csl_evidence_type(source: str) -> EvidenceType | None:
    # Commerce lists and the State Department's ITAR debarment restrict exports; Treasury
    # lists and the State Department's nonproliferation list are sanctions.
    if "Bureau of Industry and Security" in source or "ITAR Debarred" in source:
        return EvidenceType.trade_restriction_listing
    if "Treasury Department" in source or "Nonproliferation Sanctions" in source:
        return EvidenceType.sanction
    return None


def _os_evidence_type(
    datasets: Sequence[str], sanctions: Sequence[str], programs: Sequence[str]
) -> EvidenceType | None:
    """A hint only: OpenSanctions rows name datasets and summarise sanctions in free text.

    A party on a sanctions dataset counts as sanctioned even if it is also on the CSL (the
    stronger measure wins); otherwise export-control wording makes it a trade restriction.
    """
    dataset_text = " | ".join(datasets).casefold()
    if any(marker in dataset_text for marker in _SANCTION_MARKERS):
        return EvidenceType.sanction
    all_text = " | ".join([*datasets, *sanctions, *programs]).casefold()
    if any(marker in all_text for marker in _TRADE_RESTRICTION_MARKERS):
        return EvidenceType.trade_restriction_listing
    if sanctions or programs:
        return EvidenceType.sanction
    return None
