"""The issue's "Bad input" list: each is a 422 naming the question and what is wrong, and
nothing already saved changes (same answers, same version, same ETag)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from assessment_helpers import (
    BUNDLED_KEY,
    disclosure,
    error_paths,
    evidence,
    patch_answers,
    put_answer,
    read,
    url,
)
from fastapi.testclient import TestClient

Start = Callable[..., tuple[dict[str, Any], str]]

SAVED = {
    "EX5": {"type": "single_choice", "value": "unknown"},
    "P1": disclosure("no"),
}

# (question id, payload, expected error paths, words the message must contain)
BAD_ANSWERS: dict[str, tuple[str, Any, set[str], str]] = {
    "unknown question id": ("ZZ9", disclosure("full"), {"answers.ZZ9"}, "no question"),
    "wrong answer type": (
        "P1",
        {"type": "number", "value": 3},
        {"answers.P1.type"},
        "disclosure",
    ),
    "choice not in the list": (
        "EX5",
        {"type": "single_choice", "value": "perhaps"},
        {"answers.EX5.value"},
        "not an option",
    ),
    "one of several choices not in the list": (
        "EX1",
        {"type": "multiple_choice", "values": ["spyware_intrusion", "teleportation"]},
        {"answers.EX1.values[1]"},
        "not an option",
    ),
    "number above the maximum": (
        "EX2",
        {"type": "number", "value": 150, "unit": "percent"},
        {"answers.EX2.value"},
        "maximum",
    ),
    "number below the minimum": (
        "DD6",
        {"type": "number", "value": -1},
        {"answers.DD6.value"},
        "minimum",
    ),
    "answer to a hidden question": (
        "EU3b",
        {"type": "date", "value": "2016-04-01"},
        {"answers.EU3b"},
        "hidden",
    ),
    "not applicable without a reason": (
        "P2",
        disclosure("not_applicable"),
        {"answers.P2.not_applicable_reason"},
        "reason",
    ),
    "partial on a yes/no question": (
        "EU4",
        disclosure("partial"),
        {"answers.EU4.level"},
        "yes/no",
    ),
    "a level that does not exist": ("P1", disclosure("somewhat"), {"answers.P1.level"}, "full"),
    "no type at all": ("P1", {"level": "full"}, {"answers.P1"}, "type"),
    "evidence that is not a web address": (
        "P1",
        disclosure("full", evidence("Policy", "Vendor", link="javascript:alert(1)")),
        {"answers.P1.evidence[0].url"},
        "http",
    ),
    "evidence naming a file never uploaded": (
        "P1",
        disclosure("full", evidence("Policy", "Vendor", file_id=str(uuid.uuid4()))),
        {"answers.P1.evidence[0].file_id"},
        "uploaded file",
    ),
    "an unknown field": ("P1", disclosure("full") | {"score": 100}, {"answers.P1.score"}, "extra"),
}


@pytest.fixture
def saved_draft(client: TestClient, tenant_a: Any, start_assessment: Start) -> tuple[str, str]:
    body, etag = start_assessment()
    saved = patch_answers(client, tenant_a.investor, body["id"], SAVED, etag)
    assert saved.status_code == 200, saved.text
    return body["id"], saved.headers["ETag"]


def assert_unchanged(
    client: TestClient, tenant: Any, assessment_id: str, before: Any, etag: str
) -> None:
    after, after_etag = read(client, tenant.investor, assessment_id)
    assert after_etag == etag
    assert after == before


@pytest.mark.parametrize("case", sorted(BAD_ANSWERS))
def test_bad_answer_is_422_with_question_and_field_and_changes_nothing(
    client: TestClient, tenant_a: Any, saved_draft: tuple[str, str], case: str
) -> None:
    assessment_id, etag = saved_draft
    before, _ = read(client, tenant_a.investor, assessment_id)
    question_id, payload, paths, words = BAD_ANSWERS[case]
    for response in (
        put_answer(client, tenant_a.investor, assessment_id, question_id, payload, etag),
        patch_answers(client, tenant_a.investor, assessment_id, {question_id: payload}, etag),
    ):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert error_paths(response) == paths
        messages = " ".join(e["message"] for e in response.json()["errors"])
        assert words.lower() in messages.lower()
    assert_unchanged(client, tenant_a, assessment_id, before, etag)


def test_a_batch_reports_every_bad_item_and_saves_none_of_the_good_ones(
    client: TestClient, tenant_a: Any, saved_draft: tuple[str, str]
) -> None:
    assessment_id, etag = saved_draft
    before, _ = read(client, tenant_a.investor, assessment_id)
    # One bad case per question (a batch holds one answer per question), plus valid answers.
    one_per_question = {case[0]: case for case in BAD_ANSWERS.values() if case[0] != "P1"}
    batch = {qid: payload for qid, (_, payload, _, _) in one_per_question.items()}
    batch |= {"G1": disclosure("no_information"), "P1": disclosure("partial")}
    response = patch_answers(client, tenant_a.investor, assessment_id, batch, etag)
    assert response.status_code == 422
    expected = set().union(*(paths for _, _, paths, _ in one_per_question.values()))
    assert error_paths(response) == expected
    assert_unchanged(client, tenant_a, assessment_id, before, etag)


def test_malformed_json_and_non_object_payloads_are_422(
    client: TestClient, tenant_a: Any, saved_draft: tuple[str, str]
) -> None:
    assessment_id, etag = saved_draft
    before, _ = read(client, tenant_a.investor, assessment_id)
    headers = tenant_a.investor | {"If-Match": etag, "Content-Type": "application/json"}
    for target, body in (
        (url(assessment_id, "/answers/P1"), '{"type": "disclosure", "level": '),
        (url(assessment_id, "/answers/P1"), '["full"]'),
        (url(assessment_id, "/answers"), '{"answers": {"P1": '),
        (url(assessment_id, "/answers"), '{"answers": {"not a question id": null}}'),
        (url(assessment_id, "/import"), "{not json"),
    ):
        method = client.put if target.endswith("/P1") else client.patch
        if target.endswith("/import"):
            method = client.post
        response = method(target, content=body, headers=headers)
        assert response.status_code == 422, (target, body, response.text)
        assert response.json()["errors"], response.text
    assert_unchanged(client, tenant_a, assessment_id, before, etag)


def test_submit_lists_missing_answers_and_missing_evidence_and_changes_nothing(
    client: TestClient, tenant_a: Any, saved_draft: tuple[str, str], bundled: Any
) -> None:
    assessment_id, etag = saved_draft
    unproven = put_answer(client, tenant_a.investor, assessment_id, "P2", disclosure("full"), etag)
    assert unproven.status_code == 200  # evidence is checked at submit, not on save
    etag = unproven.headers["ETag"]
    before, _ = read(client, tenant_a.investor, assessment_id)
    assert before["validation"]["ready_to_submit"] is False
    submit = client.post(
        url(assessment_id, "/submit"), headers=tenant_a.investor | {"If-Match": etag}
    )
    assert submit.status_code == 422
    paths = error_paths(submit)
    assert "answers.P2.evidence" in paths
    missing = {
        f"answers.{qid}"
        for qid in before["visible_question_ids"]
        if bundled.question(qid).required and qid not in before["answers"]
    }
    assert missing and missing <= paths
    assert paths == {p["path"] for p in before["validation"]["problems"]}
    assert_unchanged(client, tenant_a, assessment_id, before, etag)


TEXT_SHAPE = '{"type": "text", "value": ...}'
# (payload sent for P3, a text question; words its message must hold wherever it is sent,
# words only PUT's must hold, words only PATCH's and the JSON import's must hold)
WRONGLY_SHAPED: dict[str, tuple[dict[str, Any], str, str, str]] = {
    "wrapped in answer": (
        {"answer": {"type": "text", "value": "x"}},
        f'"type" is missing: question P3 takes a text answer, sent as {TEXT_SHAPE}',
        'directly in the body, not inside "answer"',
        'directly under "P3", not inside "answer"',
    ),
    "wrapped in payload": (
        {"payload": {"value": "x"}},
        f'"type" is missing: question P3 takes a text answer, sent as {TEXT_SHAPE}',
        'directly in the body, not inside "payload"',
        'directly under "P3", not inside "payload"',
    ),
    "no type": (
        {"value": "x"},
        f'"type" is missing: question P3 takes a text answer, sent as {TEXT_SHAPE}',
        "",
        "",
    ),
    "a type that does not exist": (
        {"type": "txt", "value": "x"},
        "'txt' is not an answer type; question P3 takes a text answer (type \"text\")",
        "",
        "",
    ),
    "a type that is not text": (
        {"type": None, "value": "x"},
        'null is not an answer type; question P3 takes a text answer (type "text")',
        "",
        "",
    ),
}


def _only_message(response: Any, path: str) -> str:
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["path"] == path
    return str(error["message"])


@pytest.mark.parametrize("case", sorted(WRONGLY_SHAPED))
def test_a_wrongly_shaped_answer_says_what_the_question_takes(
    client: TestClient, tenant_a: Any, saved_draft: tuple[str, str], case: str
) -> None:
    """The investor's report: 'Unable to extract tag using discriminator' for an answer sent
    inside another key or without a type. Each way in says what is wrong and what P3 takes,
    in words; the path stays the answer's."""
    assessment_id, etag = saved_draft
    before, _ = read(client, tenant_a.investor, assessment_id)
    payload, words, in_body, under_question = WRONGLY_SHAPED[case]
    put = put_answer(client, tenant_a.investor, assessment_id, "P3", payload, etag)
    patched = patch_answers(client, tenant_a.investor, assessment_id, {"P3": payload}, etag)
    imported = client.post(
        url(assessment_id, "/import"),
        json={
            "questionnaire_key": BUNDLED_KEY,
            "questionnaire_version": before["questionnaire"]["version"],
            "answers": {"P3": payload},
        },
        headers=tenant_a.investor | {"If-Match": etag},
    )
    put_message = _only_message(put, "answers.P3")
    assert put_message.startswith(words) and in_body in put_message
    for response in (patched, imported):
        message = _only_message(response, "answers.P3")
        assert message.startswith(words) and under_question in message
        assert "in the body" not in message
    for response in (put, patched, imported):
        assert "discriminator" not in response.text and "tag" not in response.text
    assert_unchanged(client, tenant_a, assessment_id, before, etag)


def test_an_answer_of_another_type_names_only_the_type(
    client: TestClient, tenant_a: Any, saved_draft: tuple[str, str]
) -> None:
    """A number sent to the text question P3 is refused for its type alone, not for a value
    the number model could not read."""
    assessment_id, etag = saved_draft
    payload = {"type": "number", "value": "Reviewed by nobody."}
    for response in (
        put_answer(client, tenant_a.investor, assessment_id, "P3", payload, etag),
        patch_answers(client, tenant_a.investor, assessment_id, {"P3": payload}, etag),
    ):
        assert _only_message(response, "answers.P3.type") == (
            "question P3 takes a text answer, not number"
        )
