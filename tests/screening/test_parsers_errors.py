"""Bad screening files are refused with the line (and column) where the problem is."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from hrdd.screening.parsers import (
    CSL_COLUMNS,
    MAX_FIELD_CHARS,
    OPENSANCTIONS_COLUMNS,
    ScreeningFileError,
    ScreeningReader,
    detect_format,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "screening"


def rows_to_bytes(header: tuple[str, ...] | list[str], *rows: list[str]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def csl_row(**values: str) -> list[str]:
    return [values.get(column, "") for column in CSL_COLUMNS]


def os_row(**values: str) -> list[str]:
    return [values.get(column, "") for column in OPENSANCTIONS_COLUMNS]


def parse_all(data: bytes, source_name: str | None = None) -> None:
    list(ScreeningReader(io.BytesIO(data), source_name=source_name))


def error_for_file(name: str) -> ScreeningFileError:
    with (DATA / name).open("rb") as stream, pytest.raises(ScreeningFileError) as caught:
        list(ScreeningReader(stream, source_name=name))
    return caught.value


def test_wrong_header_names_missing_and_unexpected_columns() -> None:
    error = error_for_file("csl_bad_header.csv")
    assert error.line == 1
    assert "missing columns: remarks, ids" in error.message
    assert "unexpected columns: identifiers" in error.message
    assert str(error).startswith("csl_bad_header.csv, line 1:")


def test_bad_date_reports_its_physical_line_and_column() -> None:
    # Line 1 header, lines 2-3 one record with a two-line address, line 4, then line 5.
    error = error_for_file("csl_bad_date.csv")
    assert (error.line, error.column) == (5, "start_date")
    assert "2023-02-30" in error.message


def test_short_row_reports_line_and_counts() -> None:
    error = error_for_file("csl_short_row.csv")
    assert error.line == 3
    assert "expected 29 columns, found 27" in error.message


def test_invalid_utf8_reports_the_line() -> None:
    error = error_for_file("csl_invalid_utf8.csv")
    assert error.line == 4
    assert "invalid UTF-8" in error.message


def test_nul_byte_is_refused_with_its_line() -> None:
    data = rows_to_bytes(CSL_COLUMNS, csl_row(_id="a", name="Fine Ltd"))
    data += rows_to_bytes(CSL_COLUMNS, csl_row(_id="b", name="Bad\x00Ltd")).split(b"\n", 1)[1]
    with pytest.raises(ScreeningFileError) as caught:
        parse_all(data)
    assert caught.value.line == 3
    assert "NUL" in caught.value.message


def test_absurdly_long_field_is_refused_with_line_and_column() -> None:
    long_remark = "x" * (MAX_FIELD_CHARS + 1)
    data = rows_to_bytes(
        CSL_COLUMNS,
        csl_row(_id="a", name="Fine Ltd"),
        csl_row(_id="b", name="Wordy Ltd", remarks=long_remark),
    )
    with pytest.raises(ScreeningFileError) as caught:
        parse_all(data)
    assert (caught.value.line, caught.value.column) == (3, "remarks")


def test_field_beyond_the_csv_module_limit_is_still_a_screening_error() -> None:
    data = rows_to_bytes(CSL_COLUMNS, csl_row(_id="a", name="Huge", remarks="y" * 300_000))
    with pytest.raises(ScreeningFileError) as caught:
        parse_all(data)
    assert caught.value.line == 2
    assert str(MAX_FIELD_CHARS) in caught.value.message


def test_unknown_type_value() -> None:
    data = rows_to_bytes(CSL_COLUMNS, csl_row(_id="a", name="Ship Co", type="Submarine"))
    with pytest.raises(ScreeningFileError) as caught:
        parse_all(data)
    assert (caught.value.line, caught.value.column) == (2, "type")


def test_empty_key_and_empty_name() -> None:
    for values, column in (({"name": "No Key Ltd"}, "_id"), ({"_id": "k"}, "name")):
        data = rows_to_bytes(CSL_COLUMNS, csl_row(**values))
        with pytest.raises(ScreeningFileError) as caught:
            parse_all(data)
        assert (caught.value.line, caught.value.column) == (2, column)


def test_duplicate_key_names_both_lines() -> None:
    data = rows_to_bytes(
        CSL_COLUMNS,
        csl_row(_id="same", name="First Ltd"),
        csl_row(_id="other", name="Second Ltd"),
        csl_row(_id="same", name="Third Ltd"),
    )
    with pytest.raises(ScreeningFileError) as caught:
        parse_all(data)
    assert (caught.value.line, caught.value.column) == (4, "_id")
    assert "line 2" in caught.value.message


def test_unterminated_quote_is_malformed_csv() -> None:
    data = rows_to_bytes(CSL_COLUMNS) + b'"a","EL","","","","Open quote\n'
    with pytest.raises(ScreeningFileError) as caught:
        parse_all(data)
    assert "malformed CSV" in caught.value.message


def test_empty_file_and_utf16_file() -> None:
    with pytest.raises(ScreeningFileError) as caught:
        parse_all(b"", source_name="empty.csv")
    assert "empty" in str(caught.value)
    utf16 = ",".join(CSL_COLUMNS).encode("utf-16")
    with pytest.raises(ScreeningFileError) as caught:
        parse_all(utf16)
    assert (caught.value.line, "UTF-16" in caught.value.message) == (1, True)


def test_header_of_neither_format() -> None:
    with pytest.raises(ScreeningFileError) as caught:
        detect_format(["ticker", "price", "volume"])
    assert "neither" in caught.value.message
    assert "ticker" in caught.value.message


def test_reordered_and_duplicated_columns() -> None:
    swapped = list(CSL_COLUMNS)
    swapped[1], swapped[2] = swapped[2], swapped[1]
    with pytest.raises(ScreeningFileError) as caught:
        detect_format(swapped)
    assert "position 2 is 'entity_number', expected 'source'" in caught.value.message
    with pytest.raises(ScreeningFileError) as caught:
        detect_format([*CSL_COLUMNS, "name"])
    assert "duplicate header columns: name" in caught.value.message


def test_opensanctions_header_differences_are_described_against_opensanctions() -> None:
    header = [column for column in OPENSANCTIONS_COLUMNS if column != "schema"]
    with pytest.raises(ScreeningFileError) as caught:
        detect_format(header)
    assert "OpenSanctions" in caught.value.message
    assert "missing columns: schema" in caught.value.message


def test_opensanctions_bad_timestamp() -> None:
    data = rows_to_bytes(
        OPENSANCTIONS_COLUMNS,
        os_row(id="x", schema="Company", name="X Ltd", first_seen="yesterday"),
    )
    with pytest.raises(ScreeningFileError) as caught:
        parse_all(data)
    assert (caught.value.line, caught.value.column) == (2, "first_seen")
