"""Benchmark: loading assessments from the database versus scoring them, and the rule-set
preview end to end.

Builds a SQLite file database with the migrations, loads the bundled questionnaire and rule
set, and bulk-inserts N generated assessments (45 answers each, one company each, 10 evidence
items per company; fixed seed, invented names) and a portfolio holding every company, with a
market value each. Then times, for one organisation:

(a) loading: the live assessments with their answers and evidence, read from the database
    as the scoring service reads them;
(a2) mapping those rows onto the engine's validated inputs (adapters, ScoreRequest);
(b) scoring every request through the engine;
(c) POST /api/v1/rulesets/drafts/{id}/preview through the HTTP API: loading, mapping and
    scoring every assessment with both the current rules and a draft, the portfolio's figures
    before and after, and the JSON response; the fastest of --previews runs.

It prints the cost per assessment of each and the ratio scoring / loading (the goal of issue
5: scoring no slower than loading, i.e. a ratio of 1 or less). No figure is asserted anywhere.
Run from the repository root:

    python bench/bench_scoring_preview.py [--n 10000] [--seed 11] [--previews 3] [--keep-db PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_REPOSITORY = Path(__file__).resolve().parents[1]
try:
    import hrdd  # noqa: F401 - only checking that the package is importable
except ModuleNotFoundError:
    sys.path.insert(0, str(_REPOSITORY / "src"))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from hrdd import migrations_info  # noqa: E402
from hrdd.assessments.models import Assessment, AssessmentAnswer  # noqa: E402
from hrdd.auth import service as auth_service  # noqa: E402
from hrdd.companies.models import Company  # noqa: E402
from hrdd.config import Settings  # noqa: E402
from hrdd.db import SYSTEM, Database, TenantContext, utcnow  # noqa: E402
from hrdd.evidence.models import EvidenceItem  # noqa: E402
from hrdd.main import create_app  # noqa: E402
from hrdd.portfolios.models import Holding, Portfolio  # noqa: E402
from hrdd.questionnaires import service as questionnaires  # noqa: E402
from hrdd.questionnaires.schemas import Question, Questionnaire  # noqa: E402
from hrdd.scoring import engine, service  # noqa: E402
from hrdd.vocab import (  # noqa: E402
    AffectedGroup,
    AssessmentStatus,
    CompanyRole,
    EvidenceType,
    ResponseKind,
    Role,
    SourceClass,
)

ANSWERS_PER_ASSESSMENT = 45
INCIDENTS_PER_COMPANY = 10
BATCH = 5000
FIRST_DAY = dt.date(2015, 1, 1).toordinal()
LAST_DAY = dt.date(2025, 6, 30).toordinal()
HARM_TYPES = [
    EvidenceType.forensic_finding,
    EvidenceType.investigative_journalism,
    EvidenceType.lawsuit_filed,
    EvidenceType.court_ruling,
    EvidenceType.regulatory_action,
    EvidenceType.export_licence_revoked,
]
LIST_NAME = "Entity List (EL) - Bureau of Industry and Security"


def batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def random_day(rng: random.Random) -> dt.date:
    return dt.date.fromordinal(rng.randint(FIRST_DAY, LAST_DAY))


def payload_for(question: Question, rng: random.Random) -> dict[str, Any]:
    kind = question.answer_type.type
    if kind == "disclosure":
        level = rng.choice(["full", "partial", "no", "no_information"])
        if level == "partial" and not question.answer_type.allow_partial:
            level = "no"
        return {"type": "disclosure", "level": level}
    if kind == "single_choice":
        return {"type": "single_choice", "value": rng.choice(question.option_ids)}
    if kind == "multiple_choice":
        return {"type": "multiple_choice", "values": rng.sample(question.option_ids, 2)}
    if kind == "number":
        return {"type": "number", "value": str(rng.randint(0, 5))}
    if kind == "date":
        return {"type": "date", "value": random_day(rng).isoformat()}
    return {"type": "text", "value": "Generated answer text for the benchmark."}


def evidence_row(
    rng: random.Random, company_id: uuid.UUID, now: dt.datetime, index: int
) -> dict[str, Any]:
    listed = index == 0 and rng.random() < 0.3
    evidence_type = EvidenceType.trade_restriction_listing if listed else rng.choice(HARM_TYPES)
    event_date = random_day(rng)
    remediated = rng.random() < 0.2
    return {
        "id": uuid.uuid4(),
        "organisation_id": None,
        "company_id": company_id,
        "slug": None,
        "origin": "bundled",
        "event_date": event_date,
        "event_date_precision": "day",
        "published_date": event_date + dt.timedelta(days=rng.randint(0, 60)),
        "published_date_precision": "day",
        "type": evidence_type.value,
        "title": f"Generated item {index}",
        "summary": "A generated evidence item for the benchmark.",
        "affected_groups": [g.value for g in rng.sample(list(AffectedGroup), rng.randint(0, 2))],
        "countries": [],
        "severity": rng.randint(1, 5),
        "company_role": rng.choice(list(CompanyRole)).value,
        "status": "remediated" if remediated else "ongoing",
        "remediated_date": event_date + dt.timedelta(days=400) if remediated else None,
        "sources": [
            {
                "publisher": "Generated",
                "title": "Generated source",
                "date": event_date.isoformat(),
                "url": "https://example.org/generated",
                "source_class": rng.choice(list(SourceClass)).value,
            }
        ],
        "date_disagreements": [],
        "company_responses": [
            {
                "kind": rng.choice(list(ResponseKind)).value,
                "date": (event_date + dt.timedelta(days=30)).isoformat(),
                "date_precision": "day",
                "summary": "Generated response.",
                "source": {"publisher": "Generated", "title": "Reply"},
            }
        ]
        if rng.random() < 0.3
        else [],
        "related_listing": {"list_name": LIST_NAME} if listed else None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def populate(database: Database, organisation_id: uuid.UUID, n: int, seed: int) -> None:
    """Bulk-inserts N companies, assessments, answers and evidence items."""
    rng = random.Random(seed)
    now = utcnow()
    with database.session(SYSTEM) as session:
        version = questionnaires.latest_version(session, "stap-surveillance")
        questionnaire: Questionnaire = questionnaires.questionnaire_of(version)
    answered = questionnaire.questions[:ANSWERS_PER_ASSESSMENT]
    company_ids = [uuid.uuid4() for _ in range(n)]
    assessment_ids = [uuid.uuid4() for _ in range(n)]

    def companies() -> Iterator[dict[str, Any]]:
        for index, company_id in enumerate(company_ids):
            name = f"Generated Surveillance {index:05d} Ltd"
            yield {
                "id": company_id,
                "slug": None,
                "name": name,
                "aliases": [],
                "search_text": name.casefold(),
                "categories": [],
                "listing_status": "private",
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }

    def assessments() -> Iterator[dict[str, Any]]:
        for company_id, assessment_id in zip(company_ids, assessment_ids, strict=True):
            yield {
                "id": assessment_id,
                "organisation_id": organisation_id,
                "company_id": company_id,
                "questionnaire_version_id": version.id,
                "status": AssessmentStatus.final.value,
                "version": 1,
                "created_by_name": "bench",
                "created_at": now,
                "updated_at": now,
            }

    def answers() -> Iterator[dict[str, Any]]:
        for assessment_id in assessment_ids:
            for question in answered:
                yield {
                    "id": uuid.uuid4(),
                    "organisation_id": organisation_id,
                    "assessment_id": assessment_id,
                    "question_id": question.id,
                    "payload": payload_for(question, rng),
                    "updated_by_name": "bench",
                    "updated_at": now,
                }

    def evidence() -> Iterator[dict[str, Any]]:
        for company_id in company_ids:
            for index in range(INCIDENTS_PER_COMPANY):
                yield evidence_row(rng, company_id, now, index)

    portfolio_id = uuid.uuid4()
    portfolio = {
        "id": portfolio_id,
        "organisation_id": organisation_id,
        "name": "Bench global equity",
        "base_currency": "EUR",
        "created_by_name": "bench",
        "created_at": now,
    }

    def holdings() -> Iterator[dict[str, Any]]:
        for line, company_id in enumerate(company_ids, start=2):
            yield {
                "id": uuid.uuid4(),
                "organisation_id": organisation_id,
                "portfolio_id": portfolio_id,
                "line": line,
                "name": f"Generated Surveillance {line - 2:05d} Ltd",
                "market_value": rng.randint(1_000, 1_000_000),
                "currency": "EUR",
                "company_id": company_id,
                "resolution": "identifier",
                "candidates": [],
                "created_at": now,
            }

    with database.session(SYSTEM, write=True) as session:
        for model, rows in (
            (Company, companies()),
            (Assessment, assessments()),
            (AssessmentAnswer, answers()),
            (EvidenceItem, evidence()),
            (Portfolio, iter([portfolio])),
            (Holding, holdings()),
        ):
            for batch in batches(rows):
                session.execute(insert(model.__table__), batch)


def per_assessment(seconds: float, n: int) -> str:
    return f"{seconds:8.2f} s total, {1000 * seconds / n:7.3f} ms per assessment"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="assessments to generate")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--previews", type=int, default=3, help="preview runs timed; the fastest is shown"
    )
    parser.add_argument("--keep-db", type=Path, help="write the database here and keep it")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        path = args.keep_db or Path(folder) / "bench.db"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        settings = Settings(database_url=url, data_dir=Path(folder) / "data")
        started = time.perf_counter()
        migrations_info.upgrade(url)
        database = Database(url)
        questionnaires.load_bundled_questionnaires(database, settings)
        service.load_bundled_rulesets(database, settings)
        with database.session(SYSTEM, write=True) as session:
            organisation = auth_service.create_organisation(session, "Bench Pension Fund")
            _, analyst_key = auth_service.create_key(
                session, organisation.id, "bench analyst", Role.analyst
            )
        organisation_id = organisation.id
        populate(database, organisation_id, args.n, args.seed)
        print(
            f"generated {args.n} assessments x {ANSWERS_PER_ASSESSMENT} answers, "
            f"{INCIDENTS_PER_COMPANY} evidence items each, in "
            f"{time.perf_counter() - started:.1f} s ({path.stat().st_size / 2**20:.0f} MiB)"
        )

        tenant = TenantContext(organisation_id)
        with database.session(tenant) as session:
            version, _ = service.current_version(session)
            ruleset = service.ruleset_of(version)
            # warm caches (parsed questionnaire and rule set) outside the timings
            service.load_inputs(session, [], whole_organisation=True)

            started = time.perf_counter()
            assessments = service.live_assessments(session, None)
            subjects = [service.Subject(a.company_id, a) for a in assessments]
            loaded = service.load_inputs(session, subjects, whole_organisation=True)
            loading = time.perf_counter() - started

        as_of = utcnow().date()
        started = time.perf_counter()
        requests = [
            service.build_request(subject, loaded, ruleset, None, as_of, None)
            for subject in subjects
        ]
        mapping = time.perf_counter() - started

        # Only the band of each result is kept, as the preview keeps only overall and band;
        # the inputs are moved out of the garbage collector's reach while the engine runs.
        bands: dict[str, int] = {}
        gc.collect()
        gc.freeze()
        started = time.perf_counter()
        for request in requests:
            band = engine.score(request).band.value
            bands[band] = bands.get(band, 0) + 1
        scoring = time.perf_counter() - started
        gc.unfreeze()
        n = len(requests)
        del requests, loaded, assessments, subjects
        gc.collect()

        app = create_app(settings, database=database)
        headers = {"Authorization": f"Bearer {analyst_key}"}
        with TestClient(app) as client:
            draft = client.post(f"/api/v1/rulesets/{version.id}/drafts", headers=headers)
            content = draft.json()["content"]
            content["themes"]["grievance_remedy"]["weight"] = 30
            edited = client.put(
                f"/api/v1/rulesets/drafts/{draft.json()['id']}",
                json=content,
                headers={**headers, "If-Match": draft.headers["ETag"]},
            )
            edited.raise_for_status()
            runs = []
            for _ in range(args.previews):
                started = time.perf_counter()
                preview = client.post(
                    f"/api/v1/rulesets/drafts/{draft.json()['id']}/preview", headers=headers
                )
                runs.append(time.perf_counter() - started)
                preview.raise_for_status()
            previewing = min(runs)
            summary = preview.json()
        database.dispose()

    print(f"bands with the bundled rules: {dict(sorted(bands.items()))}")
    print(f"(a)  load from the database   {per_assessment(loading, n)}")
    print(f"(a2) map rows to engine input {per_assessment(mapping, n)}")
    print(f"(b)  score through the engine {per_assessment(scoring, n)}")
    print(
        f"(c)  preview endpoint          {per_assessment(previewing, n)} "
        f"(two rule sets; {summary['band_changes']} band changes, "
        f"{summary['risk_up']} up, {summary['risk_down']} down; "
        # No portfolios in a preview before they were added: the bench measures that too.
        f"{sum(p['changed_holdings_count'] for p in summary.get('portfolios', []))} holdings "
        "changed)"
    )
    print(f"ratio scoring / loading            (b)/(a)      = {scoring / loading:.2f}")
    print(f"ratio scoring / loading incl. mapping (b)/(a+a2) = {scoring / (loading + mapping):.2f}")
    print("goal: scoring no slower than loading (ratio <= 1)")


if __name__ == "__main__":
    main()
