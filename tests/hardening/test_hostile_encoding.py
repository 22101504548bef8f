"""Bytes and structures a parser can choke on: NUL characters, invalid UTF-8, lone surrogates,
a 10 MB single-line CSV, JSON nested 10,000 deep. Each gets a 4xx problem naming where, never a
5xx, and nothing is written. (PostgreSQL cannot store NUL in text or JSONB at all, so without
the refusal the same request would be a 500 there.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hostile_support import (
    API,
    SMALL_LIMITS,
    World,
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

NUL = "Example\u0000Vendor"
TEN_MB = 10 * 1024 * 1024
SOURCE = {
    "publisher": "Example Research Lab",
    "title": "Findings",
    "date": "2020-06-15",
    "url": "https://example.org/report",
}
INCIDENT_SOURCE = SOURCE | {"source_class": "forensic_lab"}

# (role, method, url, JSON body, path the 422 names); bodies carry a NUL in one string or key.
JsonCase = tuple[str, str, Callable[[World], str], Callable[[World], Any], str]
NUL_IN_JSON: dict[str, JsonCase] = {
    "company name": (
        "analyst",
        "POST",
        lambda w: f"{API}/companies",
        lambda w: {"name": NUL},
        "name",
    ),
    "company alias": (
        "analyst",
        "POST",
        lambda w: f"{API}/companies",
        lambda w: {"name": "Alias Ltd", "aliases": ["ok", NUL]},
        "aliases.1",
    ),
    "company product": (
        "analyst",
        "POST",
        lambda w: f"{API}/companies",
        lambda w: {"name": "Product Ltd", "products": ["ok", NUL]},
        "products.1",
    ),
    "company replace": (
        "analyst",
        "PUT",
        lambda w: f"{API}/companies/{w.company_id}",
        lambda w: {"name": "Example Intrusion Ltd", "notes": NUL},
        "notes",
    ),
    "ownership": (
        "analyst",
        "POST",
        lambda w: f"{API}/companies/{w.company_id}/ownership",
        lambda w: {"owner_name": NUL, "owner_kind": "fund"},
        "owner_name",
    ),
    "evidence": (
        "analyst",
        "POST",
        lambda w: f"{API}/evidence",
        lambda w: {
            "company_id": w.company_id,
            "event_date": "2020-06-01",
            "type": "forensic_finding",
            "title": "Implant found",
            "summary": NUL,
            "severity": 4,
            "company_role": "contributed",
            "sources": [INCIDENT_SOURCE],
        },
        "summary",
    ),
    "commitment source": (
        "analyst",
        "POST",
        lambda w: f"{API}/commitments",
        lambda w: {
            "company_id": w.company_id,
            "date": "2019-09-10",
            "title": "Policy",
            "claim": "A claim.",
            "source": SOURCE | {"publisher": NUL},
            "question_ids": ["P1"],
            "fulfilment": "self_reported",
            "fulfilment_rationale": "Own word only.",
        },
        "source.publisher",
    ),
    "answer": (
        "investor",
        "PUT",
        lambda w: w.assessment("/answers/P3"),
        lambda w: {"type": "text", "value": NUL},
        "value",
    ),
    "answer evidence": (
        "investor",
        "PATCH",
        lambda w: w.assessment("/answers"),
        lambda w: {
            "answers": {
                "P1": {
                    "type": "disclosure",
                    "level": "partial",
                    "evidence": [{"title": NUL, "url": "https://example.org/p"}],
                }
            }
        },
        "answers.P1.evidence.0.title",
    ),
    "answer key": (
        "investor",
        "PATCH",
        lambda w: w.assessment("/answers"),
        lambda w: {"answers": {"P3\u0000": None}},
        "answers.P3\\u0000",
    ),
    "answers import": (
        "investor",
        "POST",
        lambda w: w.assessment("/import"),
        lambda w: {
            "questionnaire_key": "stap-surveillance",
            "questionnaire_version": "1.0.0",
            "answers": {"P3": {"type": "text", "value": NUL}},
        },
        "answers.P3.value",
    ),
    "review": (
        "analyst",
        "POST",
        lambda w: w.assessment("/review"),
        lambda w: {"decision": "return", "comment": NUL},
        "comment",
    ),
    "portfolio": (
        "investor",
        "POST",
        lambda w: f"{API}/portfolios",
        lambda w: {"name": NUL, "base_currency": "EUR"},
        "name",
    ),
    "API key": (
        "admin",
        "POST",
        lambda w: f"{API}/api-keys",
        lambda w: {"name": NUL, "role": "investor"},
        "name",
    ),
}


@pytest.fixture
def world_client(settings, db, tenant_a):  # type: ignore[no-untyped-def]
    with client_with(settings, db, **SMALL_LIMITS) as client:
        yield client, build_world(client, db, settings, tenant_a)


def _request(client: Any, tenant: Any, world: World, case: JsonCase) -> Any:
    role, method, url, body, _ = case
    headers = tenant.headers(role) | {"If-Match": world.assessment_etag}
    if "/companies/" in url(world) and method == "PUT":
        company = client.get(url(world), headers=headers)
        headers["If-Match"] = company.headers["ETag"]
    return client.request(method, url(world), json=body(world), headers=headers)


def test_nul_in_any_json_string_or_key_is_a_422_naming_it(world_client, db, tenant_a):
    client, world = world_client
    before = table_counts(db)
    for label, case in NUL_IN_JSON.items():
        body = problem(_request(client, tenant_a, world, case), 422)
        assert error_paths(body) == [case[4]], (label, body)
        assert "NUL" in body["detail"], label
    assert table_counts(db) == before


def test_an_escaped_backslash_before_u0000_is_ordinary_text(world_client, tenant_a):
    client, _ = world_client
    created = client.post(
        f"{API}/companies", json={"name": "Back\\u0000slash"}, headers=tenant_a.analyst
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Back\\u0000slash"


def test_nul_in_the_query_or_the_path_is_a_422(world_client, db, tenant_a):
    client, world = world_client
    before = table_counts(db)
    search = client.get(f"{API}/companies", params={"q": NUL}, headers=tenant_a.investor)
    assert error_paths(problem(search, 422)) == ["query.q"]
    timeline = client.get(
        f"{API}/companies/{world.company_id}/evidence?type=sanction%00",
        headers=tenant_a.investor,
    )
    assert error_paths(problem(timeline, 422)) == ["query.type"]
    in_path = client.put(
        world.assessment("/answers/P3%00"),
        json={"type": "text", "value": "fine"},
        headers=tenant_a.investor | {"If-Match": world.assessment_etag},
    )
    assert error_paths(problem(in_path, 422)) == ["path"]
    questionnaire = client.get(
        f"{API}/questionnaires/stap%00surveillance/versions/1.0.0", headers=tenant_a.investor
    )
    assert error_paths(problem(questionnaire, 422)) == ["path"]
    assert table_counts(db) == before


def test_nul_bytes_in_uploaded_files(world_client, db, settings, tenant_a):
    client, world = world_client
    before, files_before = table_counts(db), stored_files(settings.data_dir)
    listing = csl_file(csl_row("k1", "Example\x00Intrusion Ltd"))
    screening = problem(import_screening(client, tenant_a.analyst, listing), 422)
    assert error_paths(screening) == ["file.line.2"]
    text_file = upload_file(client, tenant_a.investor, world, b"notes\x00more notes")
    problem(text_file, 415)
    holdings = import_holdings(client, tenant_a.investor, world, b"name\nExample\x00Vendor\n")
    assert error_paths(problem(holdings, 422)) == ["file.line.2.name"]
    questionnaire = client.post(
        f"{API}/questionnaires",
        files={"file": ("q.yaml", b"key: hostile\nversion: 1.0.0\ntitle: A\x00B\n", "text/yaml")},
        headers=tenant_a.analyst,
    )
    refused = problem(questionnaire, 422)
    assert error_paths(refused) == ["file"]
    assert "U+0000" in refused["detail"]
    assert "line 3, column 9" in refused["detail"]
    assert table_counts(db) == before
    assert stored_files(settings.data_dir) == files_before


def test_invalid_utf8_bodies_and_uploads(world_client, db, settings, tenant_a):
    client, world = world_client
    before, files_before = table_counts(db), stored_files(settings.data_dir)
    body = client.post(
        f"{API}/companies",
        content=b'{"name": "Caf\xe9 \xff\xfe Ltd"}',
        headers=tenant_a.analyst | {"Content-Type": "application/json"},
    )
    assert error_paths(problem(body, 422)) == ["body"]
    lone_surrogate = client.post(
        f"{API}/companies",
        content=b'{"name": "Vendor \\ud800 Ltd"}',
        headers=tenant_a.analyst | {"Content-Type": "application/json"},
    )
    assert error_paths(problem(lone_surrogate, 422)) == ["name"]
    surrogate_answer = client.put(
        world.assessment("/answers/P3"),
        content=b'{"type": "text", "value": "x", "comment": "\\udfff"}',
        headers=tenant_a.investor
        | {"Content-Type": "application/json", "If-Match": world.assessment_etag},
    )
    assert error_paths(problem(surrogate_answer, 422)) == ["comment"]

    listing = csl_file(csl_row("k1", "First Party"), csl_row("k2", "Cafe Party"))
    listing = listing.replace(b"Cafe", b"Caf\xe9")  # Latin-1, as a spreadsheet may save it
    screening = problem(import_screening(client, tenant_a.analyst, listing), 422)
    assert error_paths(screening) == ["file.line.3"]
    holdings = import_holdings(client, tenant_a.investor, world, b"name\nFirst\nCaf\xe9 SA\n")
    assert error_paths(problem(holdings, 422)) == ["file.line.3"]
    utf16 = import_holdings(client, tenant_a.investor, world, "name\nFirst\n".encode("utf-16"))
    assert error_paths(problem(utf16, 422)) == ["file"]
    problem(upload_file(client, tenant_a.investor, world, b"caf\xe9 notes"), 415)
    problem(
        upload_file(client, tenant_a.investor, world, b"caf\xe9", "application/octet-stream"),
        415,
    )
    assert table_counts(db) == before
    assert stored_files(settings.data_dir) == files_before


def test_a_json_body_in_utf16_or_with_a_key_twice_is_a_422(world_client, db, tenant_a):
    """The security test: a UTF-16 body was taken (201) although JSON is UTF-8, and of a key
    sent twice the last won ("dupB"), where a proxy or an audit may read the first."""
    client, world = world_client
    before = table_counts(db)
    json_headers = tenant_a.analyst | {"Content-Type": "application/json"}
    for encoding in ("utf-16", "utf-16-le", "utf-32"):
        sent = client.post(
            f"{API}/companies",
            content=json.dumps({"name": "Wide Vendor Ltd"}).encode(encoding),
            headers=json_headers,
        )
        body = problem(sent, 422)
        assert error_paths(body) == ["body"], encoding
        assert "send it as UTF-8" in body["detail"], encoding
    twice = client.post(
        f"{API}/companies", content=b'{"name": "dupA", "name": "dupB"}', headers=json_headers
    )
    body = problem(twice, 422)
    assert error_paths(body) == ["body"]
    assert "the key 'name' appears twice in one object" in body["detail"]
    nested = client.put(
        world.assessment("/answers/P3"),
        content=b'{"type": "text", "value": "a", "comment": "b", "value": "c"}',
        headers=tenant_a.investor
        | {"Content-Type": "application/json", "If-Match": world.assessment_etag},
    )
    assert "the key 'value' appears twice" in problem(nested, 422)["detail"]
    # A large body is checked the same way (in a worker thread, off the event loop).
    large = b'{"name": "dupA", "notes": "' + b"n" * 100_000 + b'", "name": "dupB"}'
    sent = client.post(f"{API}/companies", content=large, headers=json_headers)
    assert "the key 'name' appears twice" in problem(sent, 422)["detail"]
    assert table_counts(db) == before
    # UTF-8 with a byte-order mark is ordinary JSON.
    made = client.post(
        f"{API}/companies",
        content=b"\xef\xbb\xbf" + json.dumps({"name": "Marked Vendor Ltd", "aliases": []}).encode(),
        headers=json_headers,
    )
    assert made.status_code == 201, made.text


def test_a_multipart_file_name_in_invalid_utf8_is_stored_printable(world_client, tenant_a):
    client, world = world_client
    body = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="file"; filename="notes\xff\xfe\x00.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n"
    )
    response = client.post(
        world.assessment("/files"),
        content=body,
        headers=tenant_a.investor | {"Content-Type": "multipart/form-data; boundary=XyZ"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["filename"].isprintable()
    broken = client.post(
        world.portfolio("/holdings/import"),
        content=b"garbage",
        headers=tenant_a.investor | {"Content-Type": "multipart/form-data"},
    )
    assert error_paths(problem(broken, 422)) == ["body"]


def test_a_ten_megabyte_single_line_csv_is_refused_naming_the_line(settings, db, tenant_a):
    limits = {"max_body_bytes": TEN_MB + 1024 * 1024, "max_upload_bytes": TEN_MB + 512 * 1024}
    with client_with(settings, db, **limits) as client:
        world = build_world(client, db, settings, tenant_a)
        before, files_before = table_counts(db), stored_files(settings.data_dir)
        one_line = b"A" * TEN_MB
        cases = {
            "screening, no header": (import_screening(client, tenant_a.analyst, one_line), 1),
            "screening, after the header": (
                import_screening(client, tenant_a.analyst, csl_file() + one_line),
                2,
            ),
            "holdings, no header": (
                import_holdings(client, tenant_a.investor, world, one_line),
                1,
            ),
            "holdings, after the header": (
                import_holdings(client, tenant_a.investor, world, b"name\n" + one_line),
                2,
            ),
        }
        for label, (response, line) in cases.items():
            body = problem(response, 413, 422)
            assert error_paths(body) == [f"file.line.{line}"], (label, body)
        assert table_counts(db) == before
        assert stored_files(settings.data_dir) == files_before


DEEP_LIST = b"[" * 10_000 + b"]" * 10_000
DEEP_OBJECT = b'{"a":' * 10_000 + b"1" + b"}" * 10_000


@pytest.mark.parametrize("document", [DEEP_LIST, DEEP_OBJECT], ids=["list", "object"])
def test_json_nested_ten_thousand_deep_is_a_422_on_every_json_write(
    document, world_client, db, tenant_a
):
    client, world = world_client
    targets = [
        ("analyst", "POST", f"{API}/companies"),
        ("analyst", "PUT", f"{API}/companies/{world.company_id}"),
        ("analyst", "POST", f"{API}/evidence"),
        ("investor", "PUT", world.assessment("/answers/P3")),
        ("investor", "PATCH", world.assessment("/answers")),
        ("investor", "POST", world.assessment("/import")),
        ("investor", "POST", f"{API}/portfolios"),
        ("analyst", "PUT", f"{API}/rulesets/drafts/{world.company_id}"),
    ]
    before = table_counts(db)
    for role, method, url in targets:
        response = client.request(
            method,
            url,
            content=document,
            headers=tenant_a.headers(role)
            | {"Content-Type": "application/json", "If-Match": world.assessment_etag},
        )
        body = problem(response, 422)
        assert error_paths(body) == ["body"], (url, body)
        assert "nested too deeply" in body["detail"]
    assert table_counts(db) == before


def test_deep_nesting_inside_a_field_is_a_422_naming_the_field(world_client, db, tenant_a):
    client, world = world_client
    nested = json.loads("[" * 900 + "]" * 900)
    before = table_counts(db)
    answer = client.patch(
        world.assessment("/answers"),
        json={"answers": {"P3": {"type": "text", "value": nested}}},
        headers=tenant_a.investor | {"If-Match": world.assessment_etag},
    )
    assert error_paths(problem(answer, 422)) == ["answers.P3.value"]
    whole_payload = client.put(
        world.assessment("/answers/P3"),
        content=b'{"type": "text", "value": "x", "comment": ' + b"[" * 900 + b"]" * 900 + b"}",
        headers=tenant_a.investor
        | {"Content-Type": "application/json", "If-Match": world.assessment_etag},
    )
    assert error_paths(problem(whole_payload, 422)) == ["comment"]
    company = client.post(f"{API}/companies", json={"name": nested}, headers=tenant_a.analyst)
    assert error_paths(problem(company, 422)) == ["name"]
    assert table_counts(db) == before


def test_malformed_json_names_the_body_and_the_character(world_client, db, tenant_a):
    """FastAPI puts the character position where a field goes ('34'); the problem names the
    body and says where the JSON breaks."""
    client, _ = world_client
    before = table_counts(db)
    response = client.post(
        f"{API}/portfolios",
        content=b'{"name": "Equities", "base_currency": }',
        headers=tenant_a.investor | {"Content-Type": "application/json"},
    )
    body = problem(response, 422)
    assert error_paths(body) == ["body"]
    message = body["errors"][0]["message"]
    assert message.startswith("malformed JSON at character 38") and "Expecting value" in message
    assert table_counts(db) == before
