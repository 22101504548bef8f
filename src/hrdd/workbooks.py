"""Uploaded XLSX workbooks: what hrdd accepts of the ZIP archive an XLSX file is, before
openpyxl reads it (the assessment template import and the holdings import share these)."""

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
