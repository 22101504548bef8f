"""Small helpers shared by the assessment tests: requests with ETags and payload builders."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from hrdd.questionnaires.answers import parse_answer_payload, visible_questions
from hrdd.questionnaires.schemas import (
    DateAnswerType,
    DisclosureAnswerType,
    MultipleChoiceAnswerType,
    NumberAnswerType,
    Questionnaire,
    SingleChoiceAnswerType,
    TextAnswerType,
)

BUNDLED_KEY = "stap-surveillance"
PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def url(assessment_id: str, suffix: str = "") -> str:
    return f"/api/v1/assessments/{assessment_id}{suffix}"


def read(client: TestClient, headers: dict[str, str], assessment_id: str) -> tuple[Any, str]:
    response = client.get(url(assessment_id), headers=headers)
    assert response.status_code == 200, response.text
    return response.json(), response.headers["ETag"]


def put_answer(
    client: TestClient,
    headers: dict[str, str],
    assessment_id: str,
    question_id: str,
    payload: Any,
    etag: str | None,
) -> Response:
    extra = {"If-Match": etag} if etag else {}
    return client.put(
        url(assessment_id, f"/answers/{question_id}"), json=payload, headers=headers | extra
    )


def patch_answers(
    client: TestClient,
    headers: dict[str, str],
    assessment_id: str,
    answers: dict[str, Any],
    etag: str | None,
) -> Response:
    extra = {"If-Match": etag} if etag else {}
    return client.patch(
        url(assessment_id, "/answers"), json={"answers": answers}, headers=headers | extra
    )


def post_action(
    client: TestClient,
    headers: dict[str, str],
    assessment_id: str,
    action: str,
    etag: str | None = None,
    body: Any = None,
) -> Response:
    extra = {"If-Match": etag} if etag else {}
    return client.post(url(assessment_id, f"/{action}"), json=body, headers=headers | extra)


def upload(
    client: TestClient,
    headers: dict[str, str],
    assessment_id: str,
    content: bytes,
    filename: str = "note.txt",
    content_type: str = "text/plain",
) -> Response:
    return client.post(
        url(assessment_id, "/files"),
        files={"file": (filename, content, content_type)},
        headers=headers,
    )


def evidence(
    title: str,
    publisher: str,
    source_date: str | None = None,
    *,
    file_id: str | None = None,
    link: str | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {"title": title, "publisher": publisher}
    if source_date:
        item["source_date"] = source_date
    if file_id:
        item["file_id"] = file_id
    if link:
        item["url"] = link
    return item


def disclosure(level: str, *sources: dict[str, Any], comment: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"type": "disclosure", "level": level, "evidence": list(sources)}
    if comment:
        payload["comment"] = comment
    return payload


def error_paths(response: Response) -> set[str]:
    return {error["path"] for error in response.json()["errors"]}


def placeholder_answers(questionnaire: Questionnaire, file_id: str) -> dict[str, Any]:
    """Answers to every required question that ends up visible, for tests of the lifecycle
    mechanics (not of any company): absence-reporting values where the type has one, else a
    neutral value with one evidence item pointing at an uploaded file."""
    proof = [evidence("Test note", "Test suite", file_id=file_id)]
    answers: dict[str, Any] = {}
    for question in questionnaire.questions:
        visible = visible_questions(
            questionnaire, {qid: parse_answer_payload(p) for qid, p in answers.items()}
        )
        if not question.required or question.id not in visible:
            continue
        answer_type = question.answer_type
        payload: dict[str, Any]
        match answer_type:
            case DisclosureAnswerType():
                payload = {"type": "disclosure", "level": "no_information"}
            case SingleChoiceAnswerType():
                option = next((o for o in answer_type.options if o.reports_absence), None)
                option = option or answer_type.options[0]
                payload = {"type": "single_choice", "value": option.id, "evidence": proof}
            case MultipleChoiceAnswerType():
                chosen = [o.id for o in answer_type.options[: max(answer_type.min_selected, 1)]]
                payload = {"type": "multiple_choice", "values": chosen, "evidence": proof}
            case NumberAnswerType():
                low = answer_type.min if answer_type.min is not None else 0
                payload = {"type": "number", "value": str(low), "evidence": proof}
            case DateAnswerType():
                low = answer_type.min or date(2020, 1, 1)
                payload = {"type": "date", "value": low.isoformat(), "evidence": proof}
            case TextAnswerType():
                payload = {"type": "text", "value": "Test answer", "evidence": proof}
        answers[question.id] = payload
    return answers
