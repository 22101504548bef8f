"""Health reports the database and migration; docs work offline (no CDN)."""

from hrdd.migrations_info import head_revision


def test_health_reports_database_and_migration(client):
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["migration"] == body["migration_head"] == head_revision()


def test_docs_are_served_from_the_package(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "unpkg" not in page.text.lower()
    assert "/docs-assets/swagger-ui-bundle.js" in page.text
    script = client.get("/docs-assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200


def test_openapi_documents_problem_responses(client):
    schema = client.get("/openapi.json").json()
    assert "ProblemBody" in schema["components"]["schemas"]
    create = schema["paths"]["/api/v1/companies"]["post"]
    assert {"401", "403", "422"} <= set(create["responses"])
    for operation in (op for path in schema["paths"].values() for op in path.values()):
        assert operation.get("summary"), operation.get("operationId")
