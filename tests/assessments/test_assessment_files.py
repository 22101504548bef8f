"""Evidence file uploads: size limit, content checked by sniffing, stored by content hash."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from assessment_helpers import (
    PDF_BYTES,
    disclosure,
    error_paths,
    evidence,
    patch_answers,
    placeholder_answers,
    post_action,
    put_answer,
    upload,
    url,
)
from fastapi.testclient import TestClient

from hrdd.config import Settings

Start = Callable[..., tuple[dict[str, Any], str]]
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 32
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def office_file(main_part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(main_part, "<document/>")
    return buffer.getvalue()


def stored_files(settings: Settings) -> list[str]:
    folder = settings.data_dir / "files"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(
    ("content", "content_type", "stored_type"),
    [
        (PDF_BYTES, "application/pdf", "application/pdf"),
        (PNG_BYTES, "image/png", "image/png"),
        (JPEG_BYTES, "image/jpeg", "image/jpeg"),
        (b"plain notes\n", "text/plain; charset=utf-8", "text/plain"),
        (b"a,b\n1,2\n", "text/csv", "text/csv"),
        (office_file("word/document.xml"), DOCX, DOCX),
        (office_file("xl/workbook.xml"), XLSX, XLSX),
        (PDF_BYTES, "application/octet-stream", "application/pdf"),
    ],
    # Named by hand: the office files carry zip timestamps, and ids made from the bytes would
    # differ between xdist workers.
    ids=["pdf", "png", "jpeg", "text", "csv", "docx", "xlsx", "pdf-as-octet-stream"],
)
def test_accepted_files_are_stored_by_hash_and_served_back(
    client: TestClient,
    tenant_a: Any,
    settings: Settings,
    start_assessment: Start,
    content: bytes,
    content_type: str,
    stored_type: str,
) -> None:
    draft, _ = start_assessment()
    response = upload(
        client, tenant_a.investor, draft["id"], content, "../../etc/evidence", content_type
    )
    assert response.status_code == 201, response.text
    stored = response.json()
    digest = hashlib.sha256(content).hexdigest()
    assert (stored["sha256"], stored["size"], stored["media_type"]) == (
        digest,
        len(content),
        stored_type,
    )
    assert stored["filename"] == "evidence"
    assert (settings.data_dir / "files" / digest).read_bytes() == content
    download = client.get(response.headers["Location"], headers=tenant_a.investor)
    assert download.status_code == 200
    assert download.content == content


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"plain text pretending", "application/pdf"),
        (JPEG_BYTES, "image/png"),
        (office_file("xl/workbook.xml"), DOCX),
        (b"<html><script>alert(1)</script></html>", "text/html"),
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\xff" * 40, "application/octet-stream"),
        (b"\xff\xfe\x00\x00 not utf-8", "text/plain"),
        (b"PK\x03\x04 not really a zip", XLSX),
    ],
    ids=[
        "text-as-pdf",
        "jpeg-as-png",
        "xlsx-as-docx",
        "html",
        "windows-executable",
        "invalid-utf8-text",
        "broken-zip-as-xlsx",
    ],
)
def test_unaccepted_or_mislabelled_files_are_415_and_not_stored(
    client: TestClient,
    tenant_a: Any,
    settings: Settings,
    start_assessment: Start,
    content: bytes,
    content_type: str,
) -> None:
    draft, _ = start_assessment()
    response = upload(client, tenant_a.investor, draft["id"], content, "file.bin", content_type)
    assert response.status_code == 415, response.text
    assert stored_files(settings) == []


def test_upload_limits_and_states(
    client: TestClient, tenant_a: Any, settings: Settings, start_assessment: Start
) -> None:
    draft, _ = start_assessment()
    client.app.state.settings = settings.model_copy(update={"max_upload_bytes": 100})
    too_big = upload(client, tenant_a.investor, draft["id"], b"x" * 101)
    assert too_big.status_code == 413
    at_limit = upload(client, tenant_a.investor, draft["id"], b"x" * 100)
    assert at_limit.status_code == 201
    empty = upload(client, tenant_a.investor, draft["id"], b"")
    assert empty.status_code == 422
    no_file = client.post(url(draft["id"], "/files"), headers=tenant_a.investor)
    assert no_file.status_code == 422
    assert stored_files(settings) == [hashlib.sha256(b"x" * 100).hexdigest()]

    # Same bytes twice: two file records, one stored copy.
    again = upload(client, tenant_a.investor, draft["id"], b"x" * 100)
    assert again.json()["id"] != at_limit.json()["id"]
    assert len(stored_files(settings)) == 1


def test_answers_may_cite_only_the_organisations_own_files(
    client: TestClient,
    tenant_a: Any,
    tenant_b: Any,
    start_assessment: Start,
    make_company: Callable[..., dict[str, Any]],
) -> None:
    draft, etag = start_assessment()
    own = upload(client, tenant_a.investor, draft["id"], PDF_BYTES, "policy.pdf", "application/pdf")
    theirs_company = make_company(analyst=tenant_b.analyst)["id"]
    other_draft, _ = start_assessment(theirs_company, headers=tenant_b.investor)
    theirs = upload(
        client, tenant_b.investor, other_draft["id"], PDF_BYTES, "x.pdf", "application/pdf"
    )
    assert theirs.status_code == 201

    borrowed = disclosure("full", evidence("Policy", "Vendor", file_id=theirs.json()["id"]))
    refused = put_answer(client, tenant_a.investor, draft["id"], "P1", borrowed, etag)
    assert refused.status_code == 422
    assert error_paths(refused) == {"evidence[0].file_id"}
    cited = disclosure("full", evidence("Policy", "Vendor", file_id=own.json()["id"]))
    accepted = put_answer(client, tenant_a.investor, draft["id"], "P1", cited, etag)
    assert accepted.status_code == 200, accepted.text
    foreign_download = client.get(
        url(draft["id"], f"/files/{own.json()['id']}"), headers=tenant_b.investor
    )
    assert foreign_download.status_code == 404


def test_files_cannot_be_added_to_a_submitted_assessment(
    client: TestClient, tenant_a: Any, bundled: Any, start_assessment: Start
) -> None:
    draft, etag = start_assessment()
    note = upload(client, tenant_a.investor, draft["id"], b"note\n")
    saved = patch_answers(
        client,
        tenant_a.investor,
        draft["id"],
        placeholder_answers(bundled, note.json()["id"]),
        etag,
    )
    submitted = post_action(client, tenant_a.investor, draft["id"], "submit", saved.headers["ETag"])
    assert submitted.status_code == 200, submitted.text
    assert upload(client, tenant_a.investor, draft["id"], b"late note\n").status_code == 409


def test_files_follow_answers_into_a_reopened_version_but_not_elsewhere(
    client: TestClient, tenant_a: Any, bundled: Any, start_assessment: Start
) -> None:
    first, etag = start_assessment()
    note = upload(client, tenant_a.investor, first["id"], b"note\n").json()["id"]
    saved = patch_answers(
        client, tenant_a.investor, first["id"], placeholder_answers(bundled, note), etag
    )
    post_action(client, tenant_a.investor, first["id"], "submit", saved.headers["ETag"])
    decision = {"decision": "approve"}
    assert (
        post_action(client, tenant_a.analyst, first["id"], "review", body=decision).status_code
        == 200
    )
    reopened = post_action(client, tenant_a.investor, first["id"], "reopen")
    second = reopened.json()["id"]

    served = client.get(url(second, f"/files/{note}"), headers=tenant_a.investor)
    assert served.status_code == 200 and served.content == b"note\n"
    cited = disclosure("full", evidence("Note", "Test suite", file_id=note))
    assert (
        put_answer(
            client, tenant_a.investor, second, "P1", cited, reopened.headers["ETag"]
        ).status_code
        == 200
    )

    unrelated, unrelated_etag = start_assessment()
    refused = put_answer(client, tenant_a.investor, unrelated["id"], "P1", cited, unrelated_etag)
    assert refused.status_code == 422
    assert error_paths(refused) == {"evidence[0].file_id"}
    assert (
        client.get(url(unrelated["id"], f"/files/{note}"), headers=tenant_a.investor).status_code
        == 404
    )
