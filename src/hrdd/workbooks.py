"""Uploaded XLSX workbooks: what hrdd accepts of the ZIP archive an XLSX file is, before
openpyxl reads it (the assessment template import and the holdings import share these)."""

import zipfile

# What an uploaded workbook may unpack to: a small upload can unpack to gigabytes.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
# What Excel writes; bzip2 and LZMA members are unpacked by Python's zipfile without any limit
# on their output, whatever size they declare.
EXCEL_COMPRESSIONS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
# The zip flag of an encrypted member (Python's zipfile cannot read one without a password).
ENCRYPTED_FLAG = 0x1
