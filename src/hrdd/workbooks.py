"""Uploaded XLSX workbooks: what hrdd accepts of the ZIP archive an XLSX file is, before
openpyxl reads it (the assessment template import and the holdings import share these)."""

import io
import re
import zipfile
from collections.abc import Sequence
from typing import Any

from openpyxl.worksheet.formula import ArrayFormula

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What a spreadsheet reads as the start of a formula in a cell of text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

# What an uploaded workbook may unpack to: a small upload can unpack to gigabytes.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
# What Excel writes; bzip2 and LZMA members are unpacked by Python's zipfile without any limit
# on their output, whatever size they declare.
EXCEL_COMPRESSIONS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
# The zip flag of an encrypted member (Python's zipfile cannot read one without a password).
ENCRYPTED_FLAG = 0x1
# openpyxl builds an object for every cell of a row before it drops the columns not asked
# for, and for every element of the parts it reads whole (the style sheet, the workbook, the
# content types, the relationships, the document properties): a few kilobytes zipped can hold
# millions of them, gigabytes once built (the security test's 56 KB file took 4 GB). Excel
# itself writes at most 1,048,576 rows of 16,384 columns (XFD) and 64,000 cell formats, which
# with their alignment and protection stay well under the style sheet's limit here.
MAX_ROWS_IN_A_SHEET = 1_048_576
MAX_CELLS_IN_A_ROW = 16_384
_TAG_LIMITS = {
    b"styleSheet": 600_000,
    b"workbook": 250_000,
    b"Types": 250_000,
    b"Relationships": 250_000,
    b"coreProperties": 250_000,
    b"Properties": 250_000,
}
_WORKSHEET = b"worksheet"
# Enough of a part to find its root element after the XML declaration.
PART_HEAD_BYTES = 2048
# A cell's formula element, with or without a namespace prefix (``<f>``, ``<x:f t="shared"/>``).
_FORMULA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")
# How much of a formula a problem quotes.
_FORMULA_SHOWN = 60


class UnsafeArchive(ValueError):
    """Why an uploaded workbook is not unpacked; ``too_large`` is a 413, the rest a 422."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.too_large = too_large


def check_parts(parts: Sequence[zipfile.ZipInfo]) -> None:
    """Raise UnsafeArchive unless every part is compressed as Excel compresses, none is
    encrypted, and together they declare at most MAX_UNPACKED_BYTES: checked before any part
    is unpacked (Python's zip reader never unpacks a part beyond the size it declares)."""
    declared = sum(part.file_size for part in parts)
    if declared > MAX_UNPACKED_BYTES:
        raise UnsafeArchive(
            f"the workbook unpacks to {declared:,} bytes, more than the {MAX_UNPACKED_BYTES:,} "
            "hrdd reads",
            too_large=True,
        )
    odd = next((part for part in parts if part.compress_type not in EXCEL_COMPRESSIONS), None)
    if odd is not None:
        raise UnsafeArchive(f"its part {odd.filename} is compressed in a way Excel does not write")
    locked = next((part for part in parts if part.flag_bits & ENCRYPTED_FLAG), None)
    if locked is not None:
        raise UnsafeArchive(
            f"its part {locked.filename} is encrypted; save the workbook without a password"
        )


_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)[\s>/]")


def _root(head: bytes) -> tuple[bytes, bytes] | None:
    """A part's root element, (prefix, name), from its first bytes; None when there is none."""
    for found in _ROOT.finditer(head):
        return found.group(1) or b"", found.group(2)
    return None


def part_is_checked(head: bytes) -> bool:
    """Whether ``check_part_content`` counts a part, from its first ``PART_HEAD_BYTES``: a
    worksheet, or a part openpyxl builds whole. The others (the calculation chain, pivot
    caches, comments, drawings) it never builds when it reads a workbook read-only."""
    root = _root(head)
    return root is not None and (root[1] == _WORKSHEET or root[1] in _TAG_LIMITS)


def check_part_content(name: str, xml: bytes) -> None:
    """Raise UnsafeArchive if a part, unpacked, holds more than openpyxl can build at a bounded
    cost: a worksheet of more rows, or a row of more cells, than Excel has, or a part it builds
    whole (``_TAG_LIMITS``) of more tags than a workbook needs there. Counted on the bytes,
    before any XML is parsed; other parts pass unread."""
    root = _root(xml[:PART_HEAD_BYTES])
    if root is None:
        return
    prefix, element = root
    if element == _WORKSHEET:
        _check_sheet(name, xml, prefix + b":" if prefix else b"")
        return
    limit = _TAG_LIMITS.get(element)
    tags = xml.count(b"<") if limit is not None else 0
    if limit is not None and tags > limit:
        raise UnsafeArchive(
            f"its part {name} holds {tags:,} XML tags, more than the {limit:,} a workbook "
            "needs there"
        )


def _check_sheet(name: str, xml: bytes, prefix: bytes) -> None:
    row_tag = b"<" + prefix + b"row"
    rows = xml.count(row_tag)
    if rows > MAX_ROWS_IN_A_SHEET:
        raise UnsafeArchive(
            f"its part {name} holds {rows:,} rows, more than the {MAX_ROWS_IN_A_SHEET:,} a "
            "worksheet has"
        )
    cells = [b"<" + prefix + b"c" + end for end in (b" ", b">", b"/>")]
    # Rows are counted one by one only when the sheet holds more cells than one row may.
    if sum(xml.count(cell) for cell in cells) <= MAX_CELLS_IN_A_ROW:
        return
    widest = _widest_row(xml, row_tag, cells)
    if widest > MAX_CELLS_IN_A_ROW:
        raise UnsafeArchive(
            f"a row of its part {name} holds {widest:,} cells, more than the "
            f"{MAX_CELLS_IN_A_ROW:,} columns a worksheet has"
        )


def _widest_row(xml: bytes, row_tag: bytes, cells: list[bytes]) -> int:
    """The most cells any row of a worksheet holds, counted on its bytes: a cell is the tag
    ``<c`` followed by a space, ``>`` or ``/>`` (``<col``, ``<cfRule`` are not cells, and
    text holds no ``<``)."""
    widest = 0
    begin = xml.find(row_tag)
    while begin != -1:
        following = xml.find(row_tag, begin + len(row_tag))
        end = len(xml) if following == -1 else following
        widest = max(widest, sum(xml.count(cell, begin, end) for cell in cells))
        begin = following
    return widest


def holds_formulas(xml: bytes) -> bool:
    """Whether a worksheet's XML holds any formula cell (a false positive costs a second read
    of the sheet, never a wrong value)."""
    return _FORMULA.search(xml) is not None


def unsaved_formula(shown: Any, written: Any, *, calculated_on_load: bool) -> str | None:
    """The formula of a cell saved without its result, else None. ``shown`` is the cell of a
    workbook opened with ``data_only`` (formulas read as their saved results), ``written`` the
    same cell opened without it (formulas read as formulas).

    Programs that do not calculate (openpyxl, many export scripts) save a formula with no
    result, which ``data_only`` reads as an empty cell: the number the file states would be
    lost without a word. Others (XlsxWriter, which pandas uses) save 0 in its place and mark
    the workbook to be calculated on loading (``calculated_on_load``, its ``fullCalcOnLoad``):
    there no saved result can be trusted, and Excel itself does not mark its files so. A
    formula whose result is empty text is saved as text (type ``str``), and is what it shows:
    empty."""
    if written.data_type != "f":
        return None
    if not calculated_on_load and (shown.value is not None or shown.data_type == "str"):
        return None
    formula = written.value
    return str(formula.text if isinstance(formula, ArrayFormula) else formula)


_CALCULATED_ON_LOAD = re.compile(
    rb"<(?:\w+:)?calcPr\b[^>]*\bfullCalcOnLoad\s*=\s*[\"'](?:1|true)[\"']"
)


def calculated_on_load(data: bytes) -> bool:
    """Whether the workbook (an XLSX file already checked by ``check_parts``) asks to be
    calculated when it is opened, its saved results being placeholders (see
    ``unsaved_formula``). Read from its XML: openpyxl takes a workbook that does not say so
    for one that does."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            workbook_xml = archive.read("xl/workbook.xml")
    except (KeyError, zipfile.BadZipFile, OSError):
        return False
    return _CALCULATED_ON_LOAD.search(workbook_xml) is not None


def unsaved_formula_problem(formula: str) -> str:
    """What a problem says of a cell ``unsaved_formula`` found."""
    if len(formula) > _FORMULA_SHOWN:
        formula = formula[: _FORMULA_SHOWN - 3] + "..."
    return (
        f"the cell holds a formula ({formula}) with no saved result, as programs that do not "
        "calculate write them: open the file in Excel or LibreOffice and save it, or type "
        "the value"
    )
