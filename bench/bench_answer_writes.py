"""Benchmark: the answer write's own cost, in process, without HTTP.

Builds a database (a SQLite file by default) with the migrations and the bundled questionnaire,
one organisation with an investor key, one company and one draft assessment. Then times what
`PUT /assessments/{id}/answers/{qid}` and `PATCH /assessments/{id}/answers` do inside their
worker thread, through the same service calls:

- single: one answer changed per write;
- batch:  every disclosure question without a visibility condition changed in one write.

Each write reads the assessment, checks and takes its version (If-Match), validates, writes
the answers and their audit events, builds the assessment view the API returns (serialised to
JSON) and commits. It prints milliseconds per write (the median of --rounds rounds). No
figure is asserted anywhere. The load benchmark (`bench/load/run.py`) measures the same write
served over HTTP; the difference between the two is the framework's share. Timings drift on a
shared machine: for a before-and-after comparison, alternate the two versions, or count
instructions (`valgrind --tool=callgrind python bench/bench_answer_writes.py --rounds 1`).
Run from the repository root:

    python bench/bench_answer_writes.py [--writes 2000] [--batches 200] [--database-url URL]

--database-url must name an empty database (for PostgreSQL, create one first); the benchmark
migrates it and leaves its data there.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

_REPOSITORY = Path(__file__).resolve().parents[1]
try:
    import hrdd  # noqa: F401 - only checking that the package is importable
except ModuleNotFoundError:
    sys.path.insert(0, str(_REPOSITORY / "src"))

from hrdd import migrations_info  # noqa: E402
from hrdd.assessments import service  # noqa: E402
from hrdd.assessments.schemas import AssessmentCreate  # noqa: E402
from hrdd.auth import service as auth_service  # noqa: E402
from hrdd.auth.service import Principal  # noqa: E402
from hrdd.companies.models import Company  # noqa: E402
from hrdd.config import Settings  # noqa: E402
from hrdd.db import SYSTEM, Database, TenantContext  # noqa: E402
from hrdd.questionnaires import service as questionnaires  # noqa: E402
from hrdd.questionnaires.schemas import DisclosureAnswerType, Questionnaire  # noqa: E402
from hrdd.vocab import Role  # noqa: E402

QUESTIONNAIRE_KEY = "stap-surveillance"
TEXT_QUESTION = "P3"


class Writer:
    """One draft assessment and the ETag of its last write."""

    def __init__(self, database: Database, principal: Principal, assessment_id: uuid.UUID):
        self.database = database
        self.principal = principal
        self.assessment_id = assessment_id
        self.tenant = TenantContext(principal.organisation_id)
        with database.session(self.tenant) as session:
            self.etag = service.etag_of(service.get_assessment(session, assessment_id))

    def write(self, changes: dict[str, Any]) -> None:
        """What the answer routes do in their worker thread, commit included."""
        with self.database.session(self.tenant, write=True) as session:
            assessment = service.get_assessment(session, self.assessment_id)
            written = service.write_answers(session, self.principal, assessment, changes, self.etag)
            service.to_out(session, assessment, written.state).model_dump_json()
        self.etag = service.etag_of(assessment)


def prepare(url: str, data_dir: Path) -> tuple[Database, Writer, Questionnaire]:
    migrations_info.upgrade(url)
    database = Database(url)
    settings = Settings(database_url=url, data_dir=data_dir)
    questionnaires.load_bundled_questionnaires(database, settings)
    with database.session(SYSTEM, write=True) as session:
        organisation = auth_service.create_organisation(session, "Write benchmark fund")
        _, key = auth_service.create_key(session, organisation.id, "bench investor", Role.investor)
        company = Company(name="Example Write Ltd", search_text="example write ltd")
        session.add(company)
        session.flush()
        company_id = company.id
    with database.session(SYSTEM) as session:
        found = auth_service.authenticate(session, key)
        assert found is not None
        principal = found[0]
    with database.session(TenantContext(principal.organisation_id), write=True) as session:
        assessment = service.create_assessment(
            session,
            principal,
            AssessmentCreate(company_id=company_id, questionnaire_key=QUESTIONNAIRE_KEY),
        )
        assessment_id = assessment.id
        questionnaire = service.questionnaire_for(session, assessment)
    return database, Writer(database, principal, assessment_id), questionnaire


def single_change(index: int) -> dict[str, Any]:
    return {TEXT_QUESTION: {"type": "text", "value": f"benchmark answer {index}"}}


def batch_maker(questionnaire: Questionnaire) -> Callable[[int], dict[str, Any]]:
    disclosures = [
        q.id
        for q in questionnaire.questions
        if isinstance(q.answer_type, DisclosureAnswerType) and q.show_if is None
    ]

    def batch_change(index: int) -> dict[str, Any]:
        # Alternate the level so that every answer changes on every write.
        level = "no" if index % 2 else "no_information"
        return {qid: {"type": "disclosure", "level": level} for qid in disclosures}

    return batch_change


def per_write_ms(
    writer: Writer, changes: Callable[[int], dict[str, Any]], writes: int, rounds: int
) -> float:
    for index in range(min(writes, 20)):  # warm the caches and the statement cache
        writer.write(changes(index))
    medians = []
    for _ in range(rounds):
        started = time.perf_counter()
        for index in range(writes):
            writer.write(changes(index))
        medians.append(1000 * (time.perf_counter() - started) / writes)
    return statistics.median(medians)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=2000, help="single writes per round")
    parser.add_argument("--batches", type=int, default=200, help="batch writes per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--database-url", help="an empty database; default: a SQLite file in a temporary folder"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hrdd-writes-") as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'writes.db'}"
        database, writer, questionnaire = prepare(url, Path(folder) / "data")
        try:
            batch_change = batch_maker(questionnaire)
            size = len(batch_change(0))
            single = per_write_ms(writer, single_change, args.writes, args.rounds)
            batch = per_write_ms(writer, batch_change, args.batches, args.rounds)
        finally:
            database.dispose()
    backend = url.split(":", 1)[0]
    print(f"answer writes in process on {backend}, median of {args.rounds} rounds")
    print(f"  single answer:    {single:7.3f} ms per write ({args.writes} writes per round)")
    print(f"  batch of {size:2d}:      {batch:7.3f} ms per write ({args.batches} writes per round)")
    print(f"                    {batch / size:7.3f} ms per answer in a batch")


if __name__ == "__main__":
    main()
