"""Size limits: request bodies, uploaded files and CSV rows are refused with 413 (or 415/422 for
the wrong kind of file) before anything is written, and accepted up to the limit itself."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator

import pytest
from hostile_support import (
    API,
    SMALL_LIMITS,
    build_world,
    client_with,
    csl_file,
    csl_row,
    error_paths,
    import_holdings,
    import_screening,
    problem,
    stored_files,
    table_counts,
    upload_file,
)
from openpyxl import Workbook

PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _company_body(notes_length: int) -> bytes:
    return json.dumps({"name": "Example Vendor Ltd", "notes": "n" * notes_length}).encode()


def _xlsx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


def test_a_body_over_the_limit_gets_413_and_one_at_the_limit_is_served(settings, db, tenant_a):
    body = _company_body(3000)
    headers = tenant_a.analyst | {"Content-Type": "application/json"}
    before = table_counts(db)
    with client_with(settings, db, max_body_bytes=len(body) - 1) as client:
        refused = problem(client.post(f"{API}/companies", content=body, headers=headers), 413)
    assert refused["type"] == "/problems/payload-too-large"
    assert str(len(body) - 1) in refused["detail"]
    assert table_counts(db) == before
    with client_with(settings, db, max_body_bytes=len(body)) as client:
        accepted = client.post(f"{API}/companies", content=body, headers=headers)
    assert accepted.status_code == 201, accepted.text


def test_a_streamed_body_without_length_is_cut_off_at_the_limit(settings, db, tenant_a):
    def chunks() -> Iterator[bytes]:
        body = _company_body(4000)
        for start in range(0, len(body), 512):
            yield body[start : start + 512]

    before = table_counts(db)
    with client_with(settings, db, max_body_bytes=2048) as client:
        response = client.post(
            f"{API}/companies",
            content=chunks(),
            headers=tenant_a.analyst | {"Content-Type": "application/json"},
        )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    problem(response, 413)
    assert table_counts(db) == before


def test_a_route_that_reads_no_body_is_not_run_when_its_body_is_over_the_limit(
    settings, db, tenant_a
):
    """Copying a rule set into a draft takes no body. A streamed body over the limit was
    answered 413 while the route ran anyway and made the draft (the security review)."""

    def chunks() -> Iterator[bytes]:
        for _ in range(8):
            yield b"x" * 1024

    with client_with(settings, db, max_body_bytes=4096) as client:
        build_world(client, db, settings, tenant_a)
        [default] = client.get(f"{API}/rulesets", headers=tenant_a.analyst).json()["items"][-1:]
        before = table_counts(db)
        response = client.post(
            f"{API}/rulesets/{default['id']}/drafts", content=chunks(), headers=tenant_a.analyst
        )
        problem(response, 413)
        assert table_counts(db) == before
        made = client.post(f"{API}/rulesets/{default['id']}/drafts", headers=tenant_a.analyst)
        assert made.status_code == 201, made.text


def test_an_answer_write_over_the_body_limit_changes_nothing(settings, db, tenant_a):
    with client_with(settings, db, max_body_bytes=4096) as client:
        world = build_world(client, db, settings, tenant_a)
        before = table_counts(db)
        response = client.put(
            world.assessment("/answers/P3"),
            json={"type": "text", "value": "x" * 5000},
            headers=tenant_a.investor | {"If-Match": world.assessment_etag},
        )
        problem(response, 413)
        assert table_counts(db) == before
        current = client.get(world.assessment(), headers=tenant_a.investor)
        assert current.headers["ETag"] == world.assessment_etag


def test_files_over_the_upload_limit_get_413_on_every_upload_route(settings, db, tenant_a):
    limit = SMALL_LIMITS["max_upload_bytes"]
    with client_with(settings, db, **SMALL_LIMITS) as client:
        world = build_world(client, db, settings, tenant_a)
        before, files_before = table_counts(db), stored_files(settings.data_dir)
        too_big_text = b"a" * (limit + 1)
        too_big_csv = csl_file(csl_row("k1", "Example Intrusion Ltd", remarks="r" * limit))
        responses = {
            "assessment file": upload_file(client, tenant_a.investor, world, too_big_text),
            "assessment xlsx import": client.post(
                world.assessment("/import.xlsx"),
                files={"file": ("answers.xlsx", b"PK" + b"\x00" * limit, XLSX_MEDIA_TYPE)},
                headers=tenant_a.investor | {"If-Match": world.assessment_etag},
            ),
            "screening import": import_screening(client, tenant_a.analyst, too_big_csv),
            "portfolio import": import_holdings(
                client, tenant_a.investor, world, b"name\n" + b"Example\n" * (limit // 8 + 1)
            ),
            "portfolio xlsx import": import_holdings(
                client, tenant_a.investor, world, b"PK\x03\x04" + b"\x00" * limit
            ),
        }
        for route, response in responses.items():
            body = problem(response, 413)
            assert str(limit) in body["detail"], (route, body)
        assert table_counts(db) == before
        assert stored_files(settings.data_dir) == files_before


def test_a_file_of_exactly_the_upload_limit_is_accepted(settings, db, tenant_a):
    limit = SMALL_LIMITS["max_upload_bytes"]
    with client_with(settings, db, **SMALL_LIMITS) as client:
        world = build_world(client, db, settings, tenant_a)
        response = upload_file(client, tenant_a.investor, world, b"b" * limit)
    assert response.status_code == 201, response.text
    assert response.json()["size"] == limit


def test_screening_files_over_the_row_limit_get_413_and_import_nothing(settings, db, tenant_a):
    rows = SMALL_LIMITS["max_csv_rows"]
    with client_with(settings, db, **SMALL_LIMITS) as client:
        build_world(client, db, settings, tenant_a)
        before = table_counts(db)
        over = csl_file(*(csl_row(f"k{n}", f"Listed Party {n}") for n in range(rows + 1)))
        body = problem(import_screening(client, tenant_a.analyst, over), 413)
        assert str(rows) in body["detail"]
        assert table_counts(db) == before
        at_limit = csl_file(*(csl_row(f"k{n}", f"Listed Party {n}") for n in range(rows)))
        accepted = import_screening(client, tenant_a.analyst, at_limit)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["rows_total"] == rows


def holdings_csv(count: int) -> bytes:
    return ("name,market_value\n" + "".join(f"Holding {n},100\n" for n in range(count))).encode()


def holdings_workbook(count: int) -> bytes:
    workbook = Workbook()
    workbook.active.append(["name", "market_value"])
    for n in range(count):
        workbook.active.append([f"Holding {n}", 100])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("holdings_file", [holdings_csv, holdings_workbook])
def test_holdings_files_over_the_row_limit_get_413_and_import_nothing(
    settings, db, tenant_a, holdings_file
):
    rows = SMALL_LIMITS["max_csv_rows"]
    with client_with(settings, db, **SMALL_LIMITS) as client:
        world = build_world(client, db, settings, tenant_a)
        before = table_counts(db)
        body = problem(
            import_holdings(client, tenant_a.investor, world, holdings_file(rows + 1)), 413
        )
        assert str(rows) in body["detail"] and error_paths(body) == ["file"]
        assert table_counts(db) == before
        accepted = import_holdings(client, tenant_a.investor, world, holdings_file(rows))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["imported"] == rows


def test_evidence_files_of_the_wrong_kind_get_415_or_422(settings, db, tenant_a):
    with client_with(settings, db, **SMALL_LIMITS) as client:
        world = build_world(client, db, settings, tenant_a)
        before, files_before = table_counts(db), stored_files(settings.data_dir)
        html = b"<html><script>alert(1)</script></html>"
        cases = {
            "declared html": (html, "text/html", 415),
            "text declared as png": (b"<svg onload=alert(1)>", "image/png", 415),
            "pdf declared as xlsx": (PDF_BYTES, XLSX_MEDIA_TYPE, 415),
            "unknown binary": (
                b"\x7fELF\x02\x01\x01" + b"\x00" * 64,
                "application/octet-stream",
                415,
            ),
            "empty": (b"", "text/plain", 422),
        }
        for label, (content, media_type, status) in cases.items():
            response = upload_file(client, tenant_a.investor, world, content, media_type)
            body = problem(response, status)
            if status == 422:
                assert error_paths(body) == ["file"], label
        assert table_counts(db) == before
        assert stored_files(settings.data_dir) == files_before


def test_list_and_holdings_imports_refuse_files_that_are_not_csv(settings, db, tenant_a):
    with client_with(settings, db, **SMALL_LIMITS) as client:
        world = build_world(client, db, settings, tenant_a)
        before, files_before = table_counts(db), stored_files(settings.data_dir)
        for content in (PDF_BYTES, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64):
            screening = problem(import_screening(client, tenant_a.analyst, content), 422)
            assert all(path.startswith("file") for path in error_paths(screening)), screening
            holdings = problem(import_holdings(client, tenant_a.investor, world, content), 422)
            assert all(path.startswith("file") for path in error_paths(holdings)), holdings
        # A workbook is named for what it is, not reported as text in a strange encoding.
        legacy_xls = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64
        for workbook in (_xlsx_bytes(), legacy_xls):
            screening = problem(import_screening(client, tenant_a.analyst, workbook), 415)
            assert "workbook" in screening["detail"] and "CSV UTF-8" in screening["detail"]
            assert error_paths(screening) == ["file"]
        # The holdings import reads XLSX: one it cannot read is a 422, a legacy XLS a 415.
        unreadable = problem(import_holdings(client, tenant_a.investor, world, _xlsx_bytes()), 422)
        assert error_paths(unreadable) == ["file"]
        assert "workbook cannot be read" in unreadable["detail"]
        xls = problem(import_holdings(client, tenant_a.investor, world, legacy_xls), 415)
        assert error_paths(xls) == ["file"]
        assert (
            "(.xls)" in xls["detail"] and ".xlsx" in xls["detail"] and "CSV UTF-8" in xls["detail"]
        )
        xlsx_import = client.post(
            world.assessment("/import.xlsx"),
            files={"file": ("answers.xlsx", b"name,isin\nA,B\n", XLSX_MEDIA_TYPE)},
            headers=tenant_a.investor | {"If-Match": world.assessment_etag},
        )
        assert error_paths(problem(xlsx_import, 422)) == ["file"]
        assert table_counts(db) == before
        assert stored_files(settings.data_dir) == files_before


def test_json_routes_refuse_other_content_types_and_upload_routes_refuse_json(
    settings, db, tenant_a
):
    with client_with(settings, db, **SMALL_LIMITS) as client:
        world = build_world(client, db, settings, tenant_a)
        before = table_counts(db)
        as_form = client.post(
            f"{API}/companies", data={"name": "Form Posted Ltd"}, headers=tenant_a.analyst
        )

        def post_company(name: str, content_type: str | None):
            """A JSON body (UTF-8) under the given Content-Type, or none."""
            typed = {"Content-Type": content_type} if content_type else {}
            return client.post(
                f"{API}/companies",
                content=f'{{"name": "{name}"}}'.encode(),
                headers=tenant_a.analyst | typed,
            )

        as_text = post_company("Text Posted Ltd", "text/plain")
        untyped = post_company("Untyped Ltd", None)
        text_json = post_company("Text Json Ltd", "text/json")
        # ASCII: only the declaration is wrong
        latin1 = post_company("Declared Latin Ltd", "application/json; charset=latin-1")
        assert "charset=latin-1" in problem(latin1, 415)["detail"]
        merge_patch = post_company("Structured Suffix Ltd", "application/merge-patch+json")
        assert merge_patch.status_code == 201, merge_patch.text  # an application/...+json body
        utf8 = post_company("Café UTF-8 Ltd", "application/json; charset=UTF-8")
        assert utf8.status_code == 201, utf8.text
        json_upload = client.post(
            world.portfolio("/holdings/import"),
            json={"file": "name\nA\n"},
            headers=tenant_a.investor,
        )
        # 415 saying what to send, not a JSON validation error about a 'dictionary'.
        for response in (as_form, as_text, untyped, text_json):
            assert "send the body as application/json" in problem(response, 415)["detail"]
        assert "multipart/form-data" in problem(json_upload, 415)["detail"]
        created = 2  # the +json and UTF-8 companies
        assert table_counts(db) == {**before, "companies": before["companies"] + created}
        schema = client.get("/openapi.json").json()
        assert "415" in schema["paths"][f"{API}/companies"]["post"]["responses"]
        assert "415" not in schema["paths"][f"{API}/companies"]["get"]["responses"]
