"""Parsing the shipped screening files in both real formats."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from hrdd.screening.parsers import (
    CSL_COLUMNS,
    OPENSANCTIONS_COLUMNS,
    OPENSANCTIONS_LEGACY_COLUMNS,
    EntityType,
    ListKind,
    ScreeningReader,
    ScreeningRecord,
    detect_format,
)
from hrdd.vocab import EvidenceType

DATA = Path(__file__).resolve().parents[1] / "data" / "screening"


def read_file(name: str) -> tuple[ScreeningReader, list[ScreeningRecord]]:
    with (DATA / name).open("rb") as stream:
        reader = ScreeningReader(stream, source_name=name)
        return reader, list(reader)


def by_name(records: list[ScreeningRecord]) -> dict[str, ScreeningRecord]:
    return {record.name: record for record in records}


def csl_bytes(*rows: dict[str, str]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(CSL_COLUMNS)
    for values in rows:
        writer.writerow([values.get(column, "") for column in CSL_COLUMNS])
    return buffer.getvalue().encode("utf-8")


def count_data_rows(name: str) -> int:
    with (DATA / name).open(newline="", encoding="utf-8-sig") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("csl_sample.csv", ListKind.csl),
        ("csl_sample_later.csv", ListKind.csl),
        ("csl_bom.csv", ListKind.csl),
        ("opensanctions_sample.csv", ListKind.opensanctions),
        ("opensanctions_legacy_sample.csv", ListKind.opensanctions),
    ],
)
def test_every_good_sample_parses_completely(name: str, kind: ListKind) -> None:
    reader, records = read_file(name)
    assert reader.list_kind is kind
    assert len(records) == count_data_rows(name)
    assert len({record.record_key for record in records}) == len(records)
    assert all(record.list_kind is kind for record in records)
    assert reader.bytes_read == (DATA / name).stat().st_size


def test_csl_entity_list_row_fields() -> None:
    _, records = read_file("csl_sample.csv")
    nso = by_name(records)["NSO Group Technologies Ltd."]
    assert nso.source_list == "Entity List (EL) - Bureau of Industry and Security"
    # The CSL leaves `type` empty on Commerce lists.
    assert nso.entity_type is EntityType.unspecified
    assert nso.start_date == date(2021, 11, 3)
    assert nso.end_date is None
    assert nso.countries == ("IL",)
    assert nso.evidence_type is EvidenceType.trade_restriction_listing
    assert nso.source_list_url is not None and nso.source_list_url.startswith("https://")
    assert nso.line_number == 2


def test_csl_dates_and_register_notice_per_listing() -> None:
    records = by_name(read_file("csl_sample.csv")[1])
    assert records["Intellexa Limited"].start_date == date(2023, 7, 18)
    assert records["Cytrox Holdings Zrt."].start_date == date(2023, 7, 18)
    assert records["Sandvine Inc."].start_date == date(2024, 2, 26)
    assert records["Sandvine Inc."].federal_register_notice == "89 FR 14403"
    assert records["Candiru"].federal_register_notice is None
    denied = records["I. ASH"]
    assert (denied.start_date, denied.end_date) == (date(2002, 3, 4), date(2056, 6, 29))


def test_csl_same_name_on_two_lists_stays_two_records_with_their_own_kind() -> None:
    _, records = read_file("csl_sample.csv")
    intellexa = [record for record in records if record.name == "Intellexa S.A."]
    assert {record.evidence_type for record in intellexa} == {
        EvidenceType.trade_restriction_listing,
        EvidenceType.sanction,
    }
    sdn = next(record for record in intellexa if record.evidence_type is EvidenceType.sanction)
    assert sdn.entity_type is EntityType.entity
    assert sdn.start_date == date(2024, 3, 5)


def test_csl_semicolon_multi_values() -> None:
    records = by_name(read_file("csl_sample.csv")[1])
    cetc = records[
        "China Electronics Technology Group Corporation 13th Research Institute (CETC 13)"
    ]
    # BIS alias lists end "...; and X": the "and" is prose, not part of the alias.
    assert cetc.aliases == (
        "Hebei Semiconductor Research Institute",
        "HSRI",
        "Hebei Institute of Semiconductors",
        "Hebei Semiconductor Institute",
        "Hebei Semiconductor",
        "CETC Research Institute 13",
    )
    assert cetc.federal_register_notice == "83 FR 37423; 87 FR 77505"
    assert len(cetc.addresses) == 3
    tnk = records["TNK Trading International S.A."]
    assert tnk.programs == ("VENEZUELA-EO13850", "UKRAINE-EO13662")
    person = records["RIM, Ryong Nam"]
    assert person.entity_type is EntityType.individual
    assert person.countries == ("CN", "KP")


def test_csl_types_and_evidence_hints() -> None:
    records = by_name(read_file("csl_sample.csv")[1])
    assert records["ADRIAN DARYA 1"].entity_type is EntityType.vessel
    assert records["ADRIAN DARYA 1"].aliases == ("GRACE 1",)
    assert records["TNK Trading International S.A."].evidence_type is EvidenceType.sanction
    isn = next(name for name in records if name.startswith("Sinobright"))
    assert records[isn].evidence_type is EvidenceType.sanction
    assert records["I. ASH"].evidence_type is EvidenceType.trade_restriction_listing


def test_csl_identifiers_from_the_ids_column() -> None:
    records = by_name(read_file("csl_sample.csv")[1])
    fixture = records["Fixture Screening Trading FZE"].identifiers
    assert fixture.isins == ("XS9999999998",)
    assert fixture.leis == ("HRDDFIXTURE000000034",)
    assert fixture.other == ("Registration ID, 0000-FIXTURE",)
    assert "Legal Entity Number" in fixture.raw
    passport_holder = records["RIM, Ryong Nam"].identifiers
    assert passport_holder.isins == () and passport_holder.leis == ()
    assert passport_holder.other[0] == "Passport, 836238033, KP"


def test_csl_identifier_needs_label_and_check_digit() -> None:
    data = csl_bytes(
        {
            "_id": "a1",
            "name": "Checks Ltd",
            "ids": (
                "ISIN, XS9999999997; "  # wrong check digit
                "Registration ID, XS9999999998; "  # right digits, wrong label
                "CO, 1978075, Matricula Mercantil No; "  # older column order
                "ISIN, xs 9999999998"  # spacing and case are tidied
            ),
        }
    )
    (record,) = ScreeningReader(io.BytesIO(data))
    assert record.identifiers.isins == ("XS9999999998",)
    assert record.identifiers.other == (
        "ISIN, XS9999999997",
        "Registration ID, XS9999999998",
        "CO, 1978075, Matricula Mercantil No",
    )


def test_later_snapshot_drops_sandvine_only() -> None:
    first = {record.record_key: record.name for record in read_file("csl_sample.csv")[1]}
    later = {record.record_key: record.name for record in read_file("csl_sample_later.csv")[1]}
    gone = set(first) - set(later)
    assert [first[key] for key in gone] == ["Sandvine Inc."]
    assert set(later) <= set(first)


def test_bom_is_accepted_and_not_part_of_the_first_column() -> None:
    reader, records = read_file("csl_bom.csv")
    assert reader.header[0] == "_id"
    assert [record.name for record in records] == ["NSO Group Technologies Ltd.", "Candiru"]


def test_windows_line_endings_give_the_same_records() -> None:
    unix = (DATA / "csl_sample.csv").read_bytes()
    windows = unix.replace(b"\n", b"\r\n")
    assert list(ScreeningReader(io.BytesIO(windows))) == list(ScreeningReader(io.BytesIO(unix)))


def test_multi_line_quoted_value_keeps_physical_line_numbers() -> None:
    two_line = {"_id": "k1", "name": "Two Lines Ltd", "addresses": "Street 1\nCity, DE"}
    data = csl_bytes(two_line, {"_id": "k2", "name": "After Ltd"})
    first, second = ScreeningReader(io.BytesIO(data))
    assert (first.line_number, second.line_number) == (2, 4)
    assert first.countries == ("DE",)


def test_opensanctions_fields() -> None:
    reader, records = read_file("opensanctions_sample.csv")
    assert reader.header == OPENSANCTIONS_COLUMNS
    named = by_name(records)
    intellexa = named["Intellexa S.A."]
    assert intellexa.entity_type is EntityType.entity
    assert intellexa.countries == ("GR",)
    assert intellexa.evidence_type is EvidenceType.sanction
    assert intellexa.first_seen == date(2024, 3, 6)
    assert intellexa.start_date is None
    assert named["Candiru"].entity_type is EntityType.entity
    assert named["Candiru"].evidence_type is EvidenceType.trade_restriction_listing
    assert named["Tal Dilian"].entity_type is EntityType.individual
    assert named["ADRIAN DARYA 1"].entity_type is EntityType.vessel


def test_every_record_names_a_web_address_for_its_evidence() -> None:
    """Every evidence item names its URL: an OpenSanctions file gives none, so a record points
    to the entity's page there; a CSL row without a list address gives its information
    address, and an address that is not a web one is not kept (it is printed as a link)."""
    named = by_name(read_file("opensanctions_sample.csv")[1])
    assert all(
        record.source_list_url == f"https://www.opensanctions.org/entities/{record.record_key}/"
        for record in named.values()
    )
    row = {
        "_id": "fixture-1",
        "source": "Entity List (EL) - Bureau of Industry and Security",
        "name": "Fixture Surveillance Ltd",
    }
    info = "https://www.bis.gov/entity-list"
    cases = [
        ({"source_list_url": "", "source_information_url": info}, info),
        ({"source_list_url": "javascript:alert(1)", "source_information_url": ""}, None),
        ({"source_list_url": "ftp://example.org/list", "source_information_url": info}, info),
    ]
    for addresses, kept in cases:
        reader = ScreeningReader(io.BytesIO(csl_bytes(row | addresses)), source_name="t.csv")
        [record] = list(reader)
        assert record.source_list_url == kept, addresses


def test_opensanctions_multi_values_are_unquoted_like_their_writer_quoted_them() -> None:
    named = by_name(read_file("opensanctions_sample.csv")[1])
    fixture = named["Fixture Screening Holdings Trading"]
    assert set(fixture.aliases) == {"FST", "Fixture Screening; Trading Arm"}
    assert fixture.programs == ("FIXTURE-PROGRAM",)
    assert fixture.identifiers.isins == ("XS9999999980",)
    assert fixture.identifiers.leis == ("HRDDFIXTURE000000131",)
    assert fixture.identifiers.other == ("0000-FIXTURE",)
    # A vessel's IMO number is not mistaken for a security code.
    assert named["ADRIAN DARYA 1"].identifiers.other == ("IMO 9116412",)


def test_opensanctions_legacy_header_without_program_ids() -> None:
    reader, records = read_file("opensanctions_legacy_sample.csv")
    assert reader.header == OPENSANCTIONS_LEGACY_COLUMNS
    assert all(record.programs == () for record in records)
    assert by_name(records)["Candiru"].countries == ("IL",)


def test_detect_format_on_exact_headers() -> None:
    assert detect_format(CSL_COLUMNS) is ListKind.csl
    assert detect_format(OPENSANCTIONS_COLUMNS) is ListKind.opensanctions
    assert detect_format(list(OPENSANCTIONS_LEGACY_COLUMNS)) is ListKind.opensanctions


def test_reader_streams_without_reading_the_whole_file_first() -> None:
    rows = [{"_id": f"k{index}", "name": f"Company {index} Ltd"} for index in range(2000)]
    stream = io.BytesIO(csl_bytes(*rows))
    reader = ScreeningReader(stream)
    iterator = iter(reader)
    next(iterator)
    assert reader.bytes_read < len(stream.getvalue()) / 10
    assert sum(1 for _ in iterator) == 1999
