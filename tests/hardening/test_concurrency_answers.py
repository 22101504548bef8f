"""Concurrent answer writes against a real served app (uvicorn process), on the backend under
test: optimistic concurrency holds under races, and writers that do not conflict all land.

Every writer is a thread with its own HTTP connection, released together by a barrier. What
is checked afterwards is read back through the API and, for duplicates, from the database
itself.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
from tests.hardening.served import API, PreparedDatabase, ServedApp, prepared_database, served

from hrdd.vocab import Role

pytestmark = pytest.mark.slow

QUESTIONNAIRE_KEY = "stap-surveillance"
WRITERS = 50
CONFLICT_ROUNDS = 8
# Per writer: a retrying writer may lose to every other writer of its assessment many times.
MAX_ATTEMPTS = 400
T = TypeVar("T")


@dataclass
class Served:
    app: ServedApp
    prepared: PreparedDatabase
    # Disclosure questions visible in a fresh assessment: any of them takes an answer.
    open_questions: list[str]
    made: list[str] = field(default_factory=list)

    def new_company(self) -> str:
        """A company of its own for a test (a company has one assessment in progress)."""
        with self.app.client(Role.analyst) as analyst:
            name = f"Example Concurrency Co {len(self.made) + 1}"
            company = analyst.post(f"{API}/companies", json={"name": name})
            assert company.status_code == 201, company.text
        self.made.append(company.json()["id"])
        return self.made[-1]

    def new_assessment(self) -> dict[str, Any]:
        """A draft of a new company."""
        company_id = self.new_company()
        with self.app.client() as client:
            return create_assessment(client, company_id)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("concurrency")
    with (
        prepared_database(folder, "concurrency") as prepared,
        served(prepared, folder / "server.log") as app,
        app.client() as client,
    ):
        companies = client.get(f"{API}/companies", params={"limit": 1})
        assert companies.status_code == 200, companies.text
        assert companies.json()["items"], "the bundled content holds no company"
        probe = create_assessment(client, companies.json()["items"][0]["id"])
        questionnaire = client.get(
            f"{API}/questionnaires/{QUESTIONNAIRE_KEY}/versions/{probe['questionnaire']['version']}"
        )
        assert questionnaire.status_code == 200, questionnaire.text
        disclosure = {
            question["id"]
            for question in questionnaire.json()["content"]["questions"]
            if question["answer_type"]["type"] == "disclosure"
        }
        open_questions = [qid for qid in probe["visible_question_ids"] if qid in disclosure]
        yield Served(app, prepared, open_questions)


def create_assessment(client: httpx.Client, company_id: str) -> dict[str, Any]:
    body = {"company_id": company_id, "questionnaire_key": QUESTIONNAIRE_KEY}
    response = client.post(f"{API}/assessments", json=body)
    assert response.status_code == 201, response.text
    created = dict(response.json())
    created["etag"] = response.headers["ETag"]
    return created


def answer(writer: str) -> dict[str, Any]:
    """A valid disclosure answer that names its writer, so every write can be traced."""
    return {"type": "disclosure", "level": "no", "comment": writer}


def writer_of(payload: dict[str, Any] | None) -> str | None:
    """Who wrote a stored answer (None for no answer)."""
    return None if payload is None else payload["comment"]


def put_answer(
    client: httpx.Client, assessment_id: str, question_id: str, payload: dict[str, Any], etag: str
) -> httpx.Response:
    return client.put(
        f"{API}/assessments/{assessment_id}/answers/{question_id}",
        json=payload,
        headers={"If-Match": etag},
    )


def read(client: httpx.Client, assessment_id: str) -> tuple[dict[str, Any], str]:
    response = client.get(f"{API}/assessments/{assessment_id}")
    assert response.status_code == 200, response.text
    return response.json(), response.headers["ETag"]


def history(client: httpx.Client, assessment_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        response = client.get(f"{API}/assessments/{assessment_id}/history", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        events += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return events


def answer_events(events: list[dict[str, Any]], question_id: str) -> list[dict[str, Any]]:
    return [
        event
        for event in events
        if event["action"] == "answer_set" and event["field"] == f"answers.{question_id}"
    ]


def run_together(
    app: ServedApp, tasks: list[Callable[[httpx.Client], T]], role: Role = Role.investor
) -> list[T]:
    """Run each task on its own thread and connection, all released at the same moment."""
    barrier = threading.Barrier(len(tasks), timeout=120)

    def run(task: Callable[[httpx.Client], T]) -> T:
        with app.client(role) as client:
            client.get("/health")  # open the connection before the race starts
            barrier.wait()
            return task(client)

    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        return list(pool.map(run, tasks))


def duplicate_answer_rows(prepared: PreparedDatabase) -> list[tuple[Any, ...]]:
    return prepared.rows(
        "SELECT assessment_id, question_id, count(*) FROM assessment_answers "
        "GROUP BY assessment_id, question_id HAVING count(*) > 1"
    )


def stored_answer_count(prepared: PreparedDatabase, assessment_ids: list[str]) -> int:
    # Ids are compared as text: SQLite stores UUIDs as 32 hex digits, PostgreSQL as uuid.
    wanted = {uuid.UUID(value) for value in assessment_ids}
    rows = prepared.rows("SELECT assessment_id FROM assessment_answers")
    return sum(1 for (value,) in rows if uuid.UUID(str(value)) in wanted)


def test_of_two_writers_with_the_same_etag_one_wins_and_the_other_gets_412(
    server: Served,
) -> None:
    question = server.open_questions[0]
    with server.app.client() as client:
        assessment = server.new_assessment()
        assessment_id, etag = assessment["id"], assessment["etag"]
        winners: list[str] = []
        for round_number in range(CONFLICT_ROUNDS):
            writers = [f"round {round_number} writer {side}" for side in ("A", "B")]

            def write(writer: str, sent_etag: str = etag) -> Callable[[httpx.Client], Any]:
                return lambda c: put_answer(c, assessment_id, question, answer(writer), sent_etag)

            responses = run_together(server.app, [write(writer) for writer in writers])
            statuses = sorted(response.status_code for response in responses)
            assert statuses == [200, 412], [r.text for r in responses]
            won = next(i for i, r in enumerate(responses) if r.status_code == 200)
            lost = responses[1 - won]
            assert lost.headers["content-type"].startswith("application/problem+json")
            assert lost.json()["status"] == 412
            winners.append(writers[won])

            current, new_etag = read(client, assessment_id)
            assert new_etag == responses[won].headers["ETag"] != etag
            assert current["version"] == assessment["version"] + round_number + 1
            assert writer_of(current["answers"][question]["payload"]) == writers[won]
            etag = new_etag

        events = answer_events(history(client, assessment_id), question)
    # Every winning write is in the trail once, in order; no losing write is anywhere.
    assert [writer_of(event["new_value"]) for event in events] == winners
    assert [writer_of(event["old_value"]) for event in events] == [None, *winners[:-1]]
    assert not duplicate_answer_rows(server.prepared)
    assert stored_answer_count(server.prepared, [assessment_id]) == 1


def test_fifty_writers_on_different_assessments_all_land(server: Served) -> None:
    question = server.open_questions[0]
    assessments = [server.new_assessment() for _ in range(WRITERS)]

    def write(n: int) -> Callable[[httpx.Client], httpx.Response]:
        target, payload = assessments[n], answer(f"writer {n}")
        return lambda c: put_answer(c, target["id"], question, payload, target["etag"])

    responses = run_together(server.app, [write(n) for n in range(WRITERS)])
    assert [r.status_code for r in responses] == [200] * WRITERS, [
        r.text for r in responses if r.status_code != 200
    ]
    ids = [a["id"] for a in assessments]
    with server.app.client() as client:
        for n, assessment_id in enumerate(ids):
            current, _ = read(client, assessment_id)
            assert current["version"] == assessments[n]["version"] + 1
            assert writer_of(current["answers"][question]["payload"]) == f"writer {n}"
            events = answer_events(history(client, assessment_id), question)
            assert [writer_of(e["new_value"]) for e in events] == [f"writer {n}"]
    assert not duplicate_answer_rows(server.prepared)
    assert stored_answer_count(server.prepared, ids) == WRITERS


@dataclass
class ChainedWrite:
    writer: str
    question_id: str
    assessment_id: str
    attempts: int
    won_first_try: bool
    statuses: Counter[int]


def test_fifty_writers_retrying_on_412_all_land_without_lost_updates(server: Served) -> None:
    """Fifty writers, two assessments, a question each, all starting from the same ETag: a
    write succeeds only on the current version, so each writer retries with the ETag the 412
    sends back until it lands. Every answer must be there in the end, each in the trail once,
    and the version must count every write."""
    per_assessment = WRITERS // 2
    assert len(server.open_questions) >= per_assessment, "not enough open questions"
    assessments = [server.new_assessment() for _ in range(2)]

    def chained(n: int) -> Callable[[httpx.Client], ChainedWrite]:
        target = assessments[n % 2]
        question_id = server.open_questions[n // 2]
        writer = f"chained writer {n}"

        def task(client: httpx.Client) -> ChainedWrite:
            etag = target["etag"]
            statuses: Counter[int] = Counter()
            for attempt in range(1, MAX_ATTEMPTS + 1):
                response = put_answer(client, target["id"], question_id, answer(writer), etag)
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    return ChainedWrite(
                        writer, question_id, target["id"], attempt, attempt == 1, statuses
                    )
                assert response.status_code == 412, response.text
                # A lost compare-and-swap race sends no ETag: read the current one then.
                etag = response.headers.get("ETag") or read(client, target["id"])[1]
            raise AssertionError(f"{writer} did not land in {MAX_ATTEMPTS} attempts: {statuses}")

        return task

    results = run_together(server.app, [chained(n) for n in range(WRITERS)])
    with server.app.client() as client:
        for target in assessments:
            mine = [r for r in results if r.assessment_id == target["id"]]
            assert len(mine) == per_assessment
            # Only one of the writers that sent the starting ETag can have won with it.
            assert sum(r.won_first_try for r in mine) == 1
            current, _ = read(client, target["id"])
            assert current["version"] == target["version"] + per_assessment
            events = history(client, target["id"])
            for result in mine:
                stored = current["answers"][result.question_id]["payload"]
                assert writer_of(stored) == result.writer
                written = answer_events(events, result.question_id)
                assert [writer_of(e["new_value"]) for e in written] == [result.writer]
            assert len(current["answers"]) == per_assessment
    assert not duplicate_answer_rows(server.prepared)
    assert stored_answer_count(server.prepared, [a["id"] for a in assessments]) == WRITERS


def test_of_writers_starting_an_assessment_of_one_company_at_once_one_wins(
    server: Served,
) -> None:
    """The service's check and the database's one-open-assessment index together: however
    the requests interleave, one company gets one draft and every other request a 409."""
    starters = 8
    for _ in range(3):
        company_id = server.new_company()
        body = {"company_id": company_id, "questionnaire_key": QUESTIONNAIRE_KEY}

        def start(client: httpx.Client, body: dict[str, Any] = body) -> httpx.Response:
            return client.post(f"{API}/assessments", json=body)

        responses = run_together(server.app, [start] * starters)
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [201] + [409] * (starters - 1), server.app.log()
        assert all(
            r.headers["content-type"].startswith("application/problem+json")
            for r in responses
            if r.status_code == 409
        )
        with server.app.client() as client:
            listed = client.get(f"{API}/assessments", params={"company_id": company_id})
        assert listed.status_code == 200, listed.text
        assert len(listed.json()["items"]) == 1


def test_of_analysts_choosing_the_rules_with_the_same_etag_one_wins(server: Served) -> None:
    """The choice of rules rescores the whole organisation: of four analysts who read the
    same choice and each choose another version at the same moment, one wins and three get
    412 (the analyst review saw five such choices all return 200, the last one winning)."""
    with server.app.client(Role.analyst) as analyst:
        current = analyst.get(f"{API}/rulesets/current")
        assert current.status_code == 200, current.text
        read_etag, default_id = current.headers["ETag"], current.json()["version"]["id"]
        versions = []
        for _ in range(4):
            draft = analyst.post(f"{API}/rulesets/{default_id}/drafts")
            assert draft.status_code == 201, draft.text
            # Publishing needs the publisher's own preview of the draft as it stands.
            preview = analyst.post(f"{API}/rulesets/drafts/{draft.json()['id']}/preview")
            assert preview.status_code == 200, preview.text
            published = analyst.post(
                f"{API}/rulesets/drafts/{draft.json()['id']}/publish",
                json={"make_current": False},
                headers={"If-Match": preview.json()["draft_etag"]},
            )
            assert published.status_code == 200, published.text
            versions.append(draft.json()["id"])

        def choose(version_id: str) -> Callable[[httpx.Client], httpx.Response]:
            return lambda c: c.put(
                f"{API}/rulesets/current",
                json={"version_id": version_id},
                headers={"If-Match": read_etag},
            )

        responses = run_together(server.app, [choose(v) for v in versions], Role.analyst)
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200, 412, 412, 412], [r.text for r in responses]
        [winner] = [v for v, r in zip(versions, responses, strict=True) if r.status_code == 200]
        after = analyst.get(f"{API}/rulesets/current").json()
        assert (after["version"]["id"], after["chosen"]) == (winner, True)
        events = analyst.get(f"{API}/rulesets/current/history").json()["items"]
        assert [e["action"] for e in events].count("ruleset_chosen") == 1

        back = analyst.delete(
            f"{API}/rulesets/current",
            headers={"If-Match": analyst.get(f"{API}/rulesets/current").headers["ETag"]},
        )
        assert back.status_code == 200, back.text
