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
    "an unknown field": (
        "P1",
        disclosure("full") | {"score": 100},
        {"answers.P1.score"},
        '"score" is not a field of a disclosure answer',
    ),
}


@pytest.fixture
def saved_draft(client: TestClient, tenant_a: Any, start_assessment: Start) -> tuple[str, str]:
    body, etag = start_assessment()
    saved = patch_answers(client, tenant_a.investor, body["id"], SAVED, etag)
    assert saved.status_code == 200, saved.text
    return body["id"], saved.headers["ETag"]


def in_put_body(path: str, question_id: str) -> str:
    """Where PUT, whose body is the answer, puts a problem PATCH puts at `path`: the body's
    field as it is, `body` for the whole answer, `path.question_id` for an unknown question."""
    field = path.removeprefix(f"answers.{question_id}").removeprefix(".")
    if question_id == "ZZ9":
        return "path.question_id"
    return field or "body"


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
    for response, expected in (
        (
            put_answer(client, tenant_a.investor, assessment_id, question_id, payload, etag),
            {in_put_body(path, question_id) for path in paths},
        ),
        (
            patch_answers(client, tenant_a.investor, assessment_id, {question_id: payload}, etag),
            paths,
        ),
    ):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert error_paths(response) == expected
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
    put_message = _only_message(put, "body")
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
    for response, path in (
        (put_answer(client, tenant_a.investor, assessment_id, "P3", payload, etag), "type"),
        (
            patch_answers(client, tenant_a.investor, assessment_id, {"P3": payload}, etag),
            "answers.P3.type",
        ),
    ):
        assert _only_message(response, path) == ("question P3 takes a text answer, not number")


def _import_body(before: Any, answers: Any) -> dict[str, Any]:
    return {
        "questionnaire_key": BUNDLED_KEY,
        "questionnaire_version": before["questionnaire"]["version"],
        "answers": answers,
    }


def test_an_answer_to_a_hidden_question_names_what_hides_it_on_every_way_in(
    client: TestClient, tenant_a: Any, saved_draft: tuple[str, str]
) -> None:
    """The tester's report: 'hidden by the answers it depends on; answer those first' when
    the answer hiding it was there, in the same request. Now it names that answer and says
    how to go on: change it, or leave the hidden question out."""
    assessment_id, etag = saved_draft
    before, _ = read(client, tenant_a.investor, assessment_id)
    headers = tenant_a.investor | {"If-Match": etag}
    exports_no = {"EX5": {"type": "single_choice", "value": "no"}, "EU6": disclosure("no")}
    eu6 = (
        "EU6 is hidden because EX5 is 'no': change EX5 (in the same request if you like), "
        "or leave EU6 out"
    )
    patched = patch_answers(client, tenant_a.investor, assessment_id, exports_no, etag)
    assert patched.json()["errors"] == [{"path": "answers.EU6", "message": eu6}]
    imported = client.post(
        url(assessment_id, "/import"), json=_import_body(before, exports_no), headers=headers
    )
    assert imported.json()["errors"] == [{"path": "answers.EU6", "message": eu6}]
    cut_off_none = {
        "C3": {"type": "number", "value": 0},
        "C3a": {"type": "number", "value": 5},
    }
    patched = patch_answers(client, tenant_a.investor, assessment_id, cut_off_none, etag)
    assert patched.json()["errors"] == [
        {
            "path": "answers.C3a",
            "message": "C3a is hidden because C3 is 0: change C3 (in the same request if you "
            "like), or leave C3a out",
        }
    ]
    alone = patch_answers(
        client, tenant_a.investor, assessment_id, {"C3a": cut_off_none["C3a"]}, etag
    )
    assert alone.json()["errors"][0]["message"] == (
        "C3a is hidden because C3 is not answered: answer C3 (in the same request if you "
        "like), or leave C3a out"
    )
    assert_unchanged(client, tenant_a, assessment_id, before, etag)

    # PUT sends one answer, so the other is changed first or both go in one PATCH.
    saved = patch_answers(
        client, tenant_a.investor, assessment_id, {"EX5": exports_no["EX5"]}, etag
    )
    etag = saved.headers["ETag"]
    before, _ = read(client, tenant_a.investor, assessment_id)
    put = put_answer(client, tenant_a.investor, assessment_id, "EU6", disclosure("no"), etag)
    assert put.json()["errors"] == [
        {
            "path": "body",
            "message": "EU6 is hidden because EX5 is 'no': change EX5 first (or send both in "
            "one PATCH .../answers), or leave EU6 out",
        }
    ]
    assert_unchanged(client, tenant_a, assessment_id, before, etag)


# (question, payload, PATCH path, exact message): pydantic's words no longer reach investors.
FIELD_MESSAGES: dict[str, tuple[str, dict[str, Any], str, str]] = {
    "value on a disclosure answer": (
        "P1",
        {"type": "disclosure", "value": "full"},
        "answers.P1.value",
        'a disclosure answer takes "level" (full, partial, no or no_information), not "value"',
    ),
    "value on a yes/no disclosure answer": (
        "EU4",
        {"type": "disclosure", "value": "full"},
        "answers.EU4.value",
        'a disclosure answer takes "level" (full, no or no_information), not "value"',
    ),
    "value on a multiple-choice answer": (
        "EX1",
        {"type": "multiple_choice", "value": "interception"},
        "answers.EX1.value",
        'a multiple_choice answer takes "values" (a list of option ids, e.g. '
        '["spyware_intrusion"]), not "value"',
    ),
    "a decimal comma": (
        "EX2",
        {"type": "number", "value": "12,5", "unit": "percent"},
        "answers.EX2.value",
        "'12,5' is not a number: write it with a decimal point, e.g. 12.5",
    ),
    "a per cent sign": (
        "EX2",
        {"type": "number", "value": "12.5%"},
        "answers.EX2.value",
        "'12.5%' is not a number: write the number alone, e.g. 12.5: the unit (percent) is "
        "the question's",
    ),
    "a day-first date": (
        "EU3b",
        {"type": "date", "value": "31.12.2021"},
        "answers.EU3b.value",
        "'31.12.2021' is not a date: write it as YYYY-MM-DD, e.g. 2021-12-31",
    ),
    "a source's day-first date": (
        "P1",
        disclosure("full", evidence("Policy", "Vendor", "31.12.2021", link="https://a.example")),
        "answers.P1.evidence[0].source_date",
        "'31.12.2021' is not a date: write it as YYYY-MM-DD, e.g. 2021-12-31 (or YYYY-MM, or "
        "YYYY, for a source dated only so)",
    ),
    "an answer that is a string": (
        "P1",
        "full",  # type: ignore[dict-item]
        "answers.P1",
        'the answer under "P1" must be a JSON object: question P1 takes a disclosure answer, '
        'sent as {"type": "disclosure", "level": ...}, not a string',
    ),
}


@pytest.mark.parametrize("case", sorted(FIELD_MESSAGES))
def test_a_field_pydantic_refuses_is_said_in_the_questions_terms(
    client: TestClient, tenant_a: Any, saved_draft: tuple[str, str], case: str
) -> None:
    assessment_id, etag = saved_draft
    before, _ = read(client, tenant_a.investor, assessment_id)
    question_id, payload, path, message = FIELD_MESSAGES[case]
    if question_id == "EU3b":  # shown once EX5 is yes and EU3a yes, in the same request
        shown = {
            "EX5": {"type": "single_choice", "value": "yes"},
            "EU3a": {"type": "single_choice", "value": "yes"},
        }
    else:
        shown = {}
    patched = patch_answers(
        client, tenant_a.investor, assessment_id, shown | {question_id: payload}, etag
    )
    imported = client.post(
        url(assessment_id, "/import"),
        json=_import_body(before, shown | {question_id: payload}),
        headers=tenant_a.investor | {"If-Match": etag},
    )
    for response in (patched, imported):
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == [{"path": path, "message": message}]
    if not shown:
        put = put_answer(client, tenant_a.investor, assessment_id, question_id, payload, etag)
        body_message = message.replace(
            f'the answer under "{question_id}" must be', "the body must be the answer,"
        )
        assert put.json()["errors"] == [
            {"path": in_put_body(path, question_id), "message": body_message}
        ]
    assert_unchanged(client, tenant_a, assessment_id, before, etag)


def test_a_body_of_the_wrong_shape_says_what_the_body_must_be(
    client: TestClient, tenant_a: Any, saved_draft: tuple[str, str]
) -> None:
    assessment_id, etag = saved_draft
    before, _ = read(client, tenant_a.investor, assessment_id)
    headers = tenant_a.investor | {"If-Match": etag}
    example = '{"EU4": {"type": "disclosure", "level": "full"}}'
    p1 = {"type": "disclosure", "level": "full"}
    cases = [
        (
            client.put(url(assessment_id, "/answers/P1"), json=["full"], headers=headers),
            "body",
            "the body must be the answer, a JSON object: question P1 takes a disclosure "
            'answer, sent as {"type": "disclosure", "level": ...}, not a list',
        ),
        (
            client.put(url(assessment_id, "/answers/P1"), headers=headers),
            "body",
            "the body is missing: this takes a JSON object",
        ),
        (
            client.patch(url(assessment_id, "/answers"), json=[{"P1": p1}], headers=headers),
            "body",
            'the body must be a JSON object with the answers under "answers": '
            f'{{"answers": {example}}}, not a list',
        ),
        (
            client.patch(url(assessment_id, "/answers"), json="P1", headers=headers),
            "body",
            'the body must be a JSON object with the answers under "answers": '
            f'{{"answers": {example}}}, not a string',
        ),
        (
            client.patch(url(assessment_id, "/answers"), json={"answers": [p1]}, headers=headers),
            "answers",
            '"answers" must be a JSON object of answers by question id, e.g. '
            f'{{"answers": {example}}}, not a list',
        ),
        (
            client.patch(url(assessment_id, "/answers"), json={"P1": p1}, headers=headers),
            "answers",
            '"answers" is missing: the answers go under "answers", as {"answers": {"P1": '
            '{"type": ...}}}, not at the top of the body (P1)',
        ),
        (
            client.post(url(assessment_id, "/import"), json=[p1], headers=headers),
            "body",
            "the body must be a JSON object in the export format, with the answers under "
            '"answers", not a list',
        ),
        (
            client.post(
                url(assessment_id, "/import"), json=_import_body(before, [p1]), headers=headers
            ),
            "answers",
            '"answers" must be a JSON object of answers by question id, e.g. '
            f'{{"answers": {example}}}, not a list',
        ),
        (
            client.post(
                url(assessment_id, "/import"),
                json=_import_body(before, {"P1": None}),
                headers=headers,
            ),
            "answers.P1",
            "an import sets answers and deletes none: leave the question out to keep its "
            "answer, or delete it with PATCH .../answers and null",
        ),
    ]
    for response, path, message in cases:
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == [{"path": path, "message": message}], response.text
    assert_unchanged(client, tenant_a, assessment_id, before, etag)


def test_put_replaces_the_whole_answer_and_patch_each_answer_it_names(
    client: TestClient, tenant_a: Any, saved_draft: tuple[str, str]
) -> None:
    """As the docs now say: PUT's body is the whole answer (a source and comment it leaves
    out are gone, the history keeps them); PATCH replaces each answer it names the same way
    and keeps the others."""
    assessment_id, etag = saved_draft
    sourced = {
        "type": "single_choice",
        "value": "yes",
        "comment": "Amnesty found exports",
        "evidence": [evidence("Report", "Amnesty", link="https://amnesty.example/r")],
    }
    etag = put_answer(client, tenant_a.investor, assessment_id, "EX5", sourced, etag).headers[
        "ETag"
    ]
    replaced = put_answer(
        client,
        tenant_a.investor,
        assessment_id,
        "EX5",
        {"type": "single_choice", "value": "no"},
        etag,
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["answers"]["EX5"]["payload"] == {
        "type": "single_choice",
        "value": "no",
        "evidence": [],
    }
    etag = put_answer(
        client, tenant_a.investor, assessment_id, "EX5", sourced, replaced.headers["ETag"]
    ).headers["ETag"]
    patched = patch_answers(
        client,
        tenant_a.investor,
        assessment_id,
        {"EX5": {"type": "single_choice", "value": "unknown"}},
        etag,
    )
    assert patched.json()["answers"]["EX5"]["payload"] == {
        "type": "single_choice",
        "value": "unknown",
        "evidence": [],
    }
    assert patched.json()["answers"]["P1"]["payload"]["level"] == "no"  # not named: kept
