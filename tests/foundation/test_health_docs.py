"""Health reports the database and migration; docs work offline (no CDN)."""

from pydantic import TypeAdapter

from hrdd.migrations_info import head_revision
from hrdd.questionnaires.answers import AnswerPayload


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


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_openapi_documents_the_answer_payload_and_every_reference_resolves(client):
    """Answers are parsed by hand against their question, yet a client must still see their
    fields: the answer routes' bodies name the payload union, whose examples parse."""
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    payload_ref = {"$ref": "#/components/schemas/AnswerPayload"}
    one = schema["paths"]["/api/v1/assessments/{assessment_id}/answers/{question_id}"]["put"]
    assert one["requestBody"]["content"]["application/json"]["schema"] == payload_ref
    batch = components["AnswerBatch"]["properties"]["answers"]["patternProperties"]
    assert payload_ref in next(iter(batch.values()))["anyOf"]
    document = components["AnswersDocument"]["properties"]["answers"]["patternProperties"]
    assert next(iter(document.values())) == payload_ref

    union = components["AnswerPayload"]
    members = {ref["$ref"].rsplit("/", 1)[-1] for ref in union["oneOf"]}
    assert members == {
        "DisclosureAnswer",
        "SingleChoiceAnswer",
        "MultipleChoiceAnswer",
        "NumberAnswer",
        "DateAnswer",
        "TextAnswer",
    }
    assert {"value", "unit", "comment", "evidence"} <= set(components["NumberAnswer"]["properties"])
    assert {"url", "file_id"} <= set(components["EvidenceRef"]["properties"])
    for example in union["examples"]:
        assert TypeAdapter(AnswerPayload).validate_python(example).type == example["type"]
    for ref in set(_refs(schema)):
        assert ref.rsplit("/", 1)[-1] in components, ref
