"""Evidence file uploads: what is accepted, how content is recognised, where bytes are kept.

The declared Content-Type is never trusted alone: the bytes must look like the declared kind
(a PDF that starts with `%PDF-`, an XLSX that is a ZIP holding a workbook, text that is UTF-8
without NUL bytes). Stored files are named by their SHA-256 under ``data_dir/files``, so the
same upload twice is stored once and a name cannot point outside the folder.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from hrdd.errors import Invalid, PayloadTooLarge, UnsupportedMediaType
from hrdd.workbooks import XLSX_MEDIA_TYPE

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = XLSX_MEDIA_TYPE
GENERIC_BINARY = "application/octet-stream"


def read_limited(stream: BinaryIO, limit: int) -> bytes:
    """The whole upload, or 413 as soon as it is over ``limit`` bytes (never read further);
    422 when it is empty."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"the file is over the upload limit of {limit} bytes")
    if not data:
        raise Invalid.at("file", "the file is empty")
    return data


def _is_pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-")


def _is_png(data: bytes) -> bool:
    return data.startswith(b"\x89PNG\r\n\x1a\n")


def _is_jpeg(data: bytes) -> bool:
    return data.startswith(b"\xff\xd8\xff")


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _is_office(data: bytes, main_part_prefix: str) -> bool:
    """An Office Open XML file: a ZIP with [Content_Types].xml and the main part's folder."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError):
        return False
    return "[Content_Types].xml" in names and any(n.startswith(main_part_prefix) for n in names)


def is_xlsx(data: bytes) -> bool:
    return _is_office(data, "xl/")


# Accepted media types -> the check their bytes must pass.
ALLOWED_MEDIA_TYPES: dict[str, Callable[[bytes], bool]] = {
    "application/pdf": _is_pdf,
    "image/png": _is_png,
    "image/jpeg": _is_jpeg,
    "text/plain": _is_text,
    "text/csv": _is_text,
    DOCX: lambda data: _is_office(data, "word/"),
    XLSX: is_xlsx,
}


def sniff(data: bytes) -> str | None:
    """The accepted media type the bytes look like, or None. Text comes last: any other kind
    that happened to be valid UTF-8 is still recognised by its signature first."""
    for media_type in ("application/pdf", "image/png", "image/jpeg", DOCX, XLSX, "text/plain"):
        if ALLOWED_MEDIA_TYPES[media_type](data):
            return media_type
    return None


def accepted_media_type(declared: str | None, data: bytes) -> str:
    """The media type to store for an upload, or 415 naming what is wrong.

    A generic declaration (none, or application/octet-stream) takes the sniffed type; a
    specific one must be on the allow-list and match the bytes.
    """
    declared_type = (declared or "").split(";")[0].strip().lower()
    allowed = ", ".join(sorted(ALLOWED_MEDIA_TYPES))
    if declared_type in ("", GENERIC_BINARY):
        sniffed = sniff(data)
        if sniffed is None:
            raise UnsupportedMediaType(f"the file is none of the accepted kinds: {allowed}")
        return sniffed
    check = ALLOWED_MEDIA_TYPES.get(declared_type)
    if check is None:
        raise UnsupportedMediaType(f"{declared_type} is not accepted; accepted: {allowed}")
    if not check(data):
        found = sniff(data)
        looks_like = f"it looks like {found}" if found else "its content is of no accepted kind"
        raise UnsupportedMediaType(f"the file is declared as {declared_type} but {looks_like}")
    return declared_type


def safe_filename(name: str | None) -> str:
    """The client's file name without any folder part or control characters (display only)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    return cleaned[:255] or "upload"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def store_bytes(files_dir: Path, data: bytes) -> str:
    """Write ``data`` to ``files_dir/<sha256>`` (atomically; once) and return the hash."""
    digest = sha256_of(data)
    target = files_dir / digest
    if target.exists():
        return digest
    files_dir.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=files_dir, prefix=".upload-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return digest
