"""CSV uploads: a spreadsheet workbook sent where a CSV file is expected is named for what it
is (415), instead of being read as text and reported as a strange encoding. (The holdings
import reads XLSX workbooks itself, ``hrdd.portfolios.xlsx_import``, before any decoding.)"""

from hrdd.errors import ProblemDetail, UnsupportedMediaType

_WORKBOOK_SIGNATURES = {
    b"PK\x03\x04": "a ZIP file, such as an XLSX or ODS workbook",
    b"\xd0\xcf\x11\xe0": "a legacy Excel (XLS) workbook",
}


def refuse_workbook(start: bytes) -> None:
    """415 when ``start`` (the first bytes of an upload) is a workbook's, not CSV text."""
    for signature, kind in _WORKBOOK_SIGNATURES.items():
        if start.startswith(signature):
            message = f"the file is {kind}, not CSV text: save it as CSV UTF-8 and upload that"
            raise UnsupportedMediaType(
                message, errors=[ProblemDetail(path="file", message=message)]
            )
