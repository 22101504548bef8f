"""Every error is problem+json; unknown routes and methods too; request ids; body limit."""


def test_unknown_route_is_problem_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "/problems/not-found" and body["status"] == 404
    assert "/api/v1/no-such-thing" in body["detail"]


def test_wrong_method_is_405_problem(client, tenant_a):
    response = client.patch("/api/v1/me", headers=tenant_a.investor)
    assert response.status_code == 405
    assert response.json()["type"] == "/problems/method-not-allowed"


def test_malformed_json_names_the_body(client, tenant_a):
    response = client.post(
        "/api/v1/companies",
        content=b'{"name": "x",',
        headers=tenant_a.analyst | {"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "/problems/validation"
    assert body["errors"] and body["errors"][0]["path"]


def test_validation_errors_carry_field_paths(client, tenant_a):
    response = client.post(
        "/api/v1/companies",
        json={"name": "", "country": "Israel", "categories": ["toaster"]},
        headers=tenant_a.analyst,
    )
    assert response.status_code == 422
    paths = {e["path"] for e in response.json()["errors"]}
    assert {"name", "country", "categories.0"} <= paths


def test_request_id_is_echoed_or_made(client):
    given = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = client.get("/health")
    assert len(made.headers["x-request-id"]) >= 16
    hostile = client.get("/health", headers={"X-Request-ID": "x" * 500})
    assert hostile.headers["x-request-id"] != "x" * 500


def test_body_over_the_limit_is_413_and_writes_nothing(client, tenant_a, settings):
    big_notes = "n" * (settings.max_body_bytes + 10)
    response = client.post(
        "/api/v1/companies",
        json={"name": "Too Big Ltd", "notes": big_notes},
        headers=tenant_a.analyst,
    )
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/payload-too-large"
    found = client.get("/api/v1/companies", params={"q": "Too Big"}, headers=tenant_a.investor)
    assert found.json()["items"] == []


def test_streamed_body_over_the_limit_is_413(client, tenant_a, settings):
    def chunks():
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b" " * 65536

    response = client.post(
        "/api/v1/companies",
        content=chunks(),
        headers=tenant_a.analyst | {"Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_problem_types_are_served(client):
    body = client.get("/problems/precondition-failed").json()
    assert body["status"] == 412
    assert client.get("/problems/nope").status_code == 404


def test_a_database_locked_past_the_wait_is_503_to_retry_not_500(
    client, tenant_a, monkeypatch, hrdd_logs
):
    """The security test: while one organisation's upload held SQLite's write lock, another's
    write waited out the busy timeout and got a 500. The lock wait running out is a 503 with
    Retry-After, logged as a warning rather than an error, and nothing is written."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from hrdd.portfolios import service

    def locked(*args, **kwargs):
        raise OperationalError(
            "BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")
        )

    monkeypatch.setattr(service, "create_portfolio", locked)
    response = client.post(
        "/api/v1/portfolios",
        json={"name": "Busy fund", "base_currency": "EUR"},
        headers=tenant_a.investor,
    )
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert (body["type"], body["status"]) == ("/problems/busy", 503)
    assert "nothing was changed" in body["detail"]
    levels = [r.levelname for r in hrdd_logs.records if r.getMessage() == "database busy"]
    assert levels == ["WARNING"]
    assert not [r for r in hrdd_logs.records if r.levelname == "ERROR"]
    assert client.get("/problems/busy").json()["status"] == 503
    listed = client.get("/api/v1/portfolios", headers=tenant_a.investor).json()["items"]
    assert "Busy fund" not in [p["name"] for p in listed]


def test_every_response_forbids_type_sniffing(client, tenant_a):
    """Reports, exports and uploaded files are downloads: a browser must take them as the type
    they are sent with (the security review)."""
    for response in (
        client.get("/health"),
        client.get("/api/v1/me"),  # a problem body
        client.get("/api/v1/me", headers=tenant_a.investor),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"


def test_validation_messages_are_plain_words(client, tenant_a):
    """pydantic's "Input should be a valid UUID, invalid character: found `v` at 1" and
    "Input should be a valid list" were passed on as they were."""
    response = client.get("/api/v1/rulesets/v6", headers=tenant_a.analyst)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["message"] == (
        "'v6' is not an id: ids are UUIDs such as 3fa85f64-5717-4562-b3fc-2c963f66afa6"
    )
    response = client.post(
        "/api/v1/companies",
        json={"name": "Example Ltd", "categories": "spyware", "surplus": 1},
        headers=tenant_a.analyst,
    )
    assert response.status_code == 422
    messages = {e["path"]: e["message"] for e in response.json()["errors"]}
    assert messages["categories"] == "must be a list ([...]), not a string"
    assert messages["surplus"] == '"surplus" is not a field this takes'
    # A number in the query string is text to the parser, but not to the reader.
    response = client.get("/api/v1/companies?limit=0", headers=tenant_a.investor)
    assert response.status_code == 422
    assert [e["message"] for e in response.json()["errors"]] == ["must be 1 or more, not 0"]


def test_a_fraction_for_a_whole_number_and_a_yaml_date_for_text_are_named() -> None:
    """The reviewer: 1.5 for a whole number read "must be a whole number, not a number", and
    a YAML file's unquoted date under a text field "must be text in quotes, not an object"."""
    import datetime

    from pydantic import BaseModel, ValidationError

    from hrdd.errors import plain_error_message

    class Sample(BaseModel):
        count: int
        title: str

    try:
        Sample.model_validate({"count": 1.5, "title": datetime.date(2021, 1, 1)})
    except ValidationError as error:
        messages = [plain_error_message(e) for e in error.errors()]
    assert messages == ["1.5 is not a whole number", "must be text in quotes, not a date"]
