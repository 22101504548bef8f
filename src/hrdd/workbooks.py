"""Uploaded XLSX workbooks: what hrdd accepts of the ZIP archive an XLSX file is, before
openpyxl reads it (the assessment template import and the holdings import share these)."""

import re
import zipfile
from collections.abc import Sequence

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# What an uploaded workbook may unpack to: a small upload can unpack to gigabytes.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
# What Excel writes; bzip2 and LZMA members are unpacked by Python's zipfile without any limit
# on their output, whatever size they declare.
EXCEL_COMPRESSIONS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
# The zip flag of an encrypted member (Python's zipfile cannot read one without a password).
ENCRYPTED_FLAG = 0x1
# openpyxl builds an object for every cell of a row before it drops the columns not asked
# for, and for every element of the style sheet and of the workbook part: a few kilobytes
# zipped can hold millions of them, gigabytes once built (the security test's 56 KB file took
# 4 GB). Excel itself writes at most 16,384 columns (XFD) and 64,000 cell formats.
MAX_CELLS_IN_A_ROW = 16_384
MAX_ELEMENTS_IN_A_PART = 250_000


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


_SHEET_DATA = re.compile(rb"<([A-Za-z_][\w.-]*:)?sheetData[\s>/]")
_SHARED_STRINGS = re.compile(rb"<([A-Za-z_][\w.-]*:)?sst[\s>/]")


def check_part_content(name: str, xml: bytes) -> None:
    """Raise UnsafeArchive if a part, unpacked, holds more than openpyxl can build at a bounded
    cost: a worksheet row of more cells than Excel has columns, or another part (the style
    sheet, the workbook) of more elements than a workbook needs. Shared strings are bounded
    by the unpacked size alone (a string each, as the cells that use them). Counted on the
    bytes, before any XML is parsed."""
    if not name.endswith((".xml", ".rels")):
        return
    sheet = _SHEET_DATA.search(xml)
    if sheet is not None:
        widest = _widest_row(xml, sheet.group(1) or b"", sheet.start())
        if widest > MAX_CELLS_IN_A_ROW:
            raise UnsafeArchive(
                f"a row of its part {name} holds {widest:,} cells, more than the "
                f"{MAX_CELLS_IN_A_ROW:,} columns a worksheet has"
            )
        return
    if _SHARED_STRINGS.search(xml, 0, 4096) is not None:
        return
    elements = xml.count(b"<")
    if elements > MAX_ELEMENTS_IN_A_PART:
        raise UnsafeArchive(
            f"its part {name} holds {elements:,} XML tags, more than the "
            f"{MAX_ELEMENTS_IN_A_PART:,} a workbook needs there"
        )


def _widest_row(xml: bytes, prefix: bytes, start: int) -> int:
    """The most cells any row of a worksheet holds, counted on its bytes: a cell is the tag
    ``<c`` followed by a space, ``>`` or ``/>`` (``<col``, ``<cfRule`` are not cells, and
    text holds no ``<``)."""
    row_tag = b"<" + prefix + b"row"
    cells = [b"<" + prefix + b"c" + end for end in (b" ", b">", b"/>")]
    widest = 0
    begin = xml.find(row_tag, start)
    while begin != -1:
        following = xml.find(row_tag, begin + len(row_tag))
        end = len(xml) if following == -1 else following
        widest = max(widest, sum(xml.count(cell, begin, end) for cell in cells))
        begin = following
    return widest
