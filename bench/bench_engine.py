"""Benchmark: the pure scoring engine over generated assessments.

Run from the repository root:

    python bench/bench_engine.py [--assessments 10000] [--seed 7]

Generates the assessments deterministically (45 answers, 10 incidents and 3 commitments each,
fictional ids, dates between 2015 and 2025) with the default rule set, builds the validated
ScoreRequest objects (timed apart: that is the mapping the service does after loading rows),
then scores every one and prints the engine's cost per assessment and in total. The inputs
are moved out of the garbage collector's reach (gc.freeze) before the engine is timed. Compare the
per-assessment figure with the time to load one assessment from the database: the goal of
issue 5 is scoring no slower than loading. No figure here is asserted anywhere.
"""

import argparse
import datetime as dt
import gc
import random
import sys
import time
from collections import Counter
from pathlib import Path

_REPOSITORY = Path(__file__).resolve().parents[1]
try:
    import hrdd  # noqa: F401 - only checking that the package is importable
except ModuleNotFoundError:
    sys.path.insert(0, str(_REPOSITORY / "src"))

from hrdd.scoring.engine import score  # noqa: E402
from hrdd.scoring.inputs import (  # noqa: E402
    AnswerInput,
    CommitmentInput,
    IncidentInput,
    ListingInfo,
    QuestionSpec,
    ResponseInput,
    ScoreRequest,
)
from hrdd.scoring.rules import RuleSet, load_ruleset_file  # noqa: E402
from hrdd.vocab import (  # noqa: E402
    AffectedGroup,
    CompanyRole,
    DisclosureLevel,
    EvidenceStatus,
    EvidenceType,
    FulfilmentStatus,
    ResponseKind,
    SourceClass,
)

RULESET_PATH = _REPOSITORY / "scoring" / "default-v1.yaml"
ANSWERS_PER_ASSESSMENT = 45
INCIDENTS_PER_ASSESSMENT = 10
COMMITMENTS_PER_ASSESSMENT = 3
FIRST_DAY = dt.date(2015, 1, 1).toordinal()
LAST_DAY = dt.date(2025, 6, 30).toordinal()
AS_OF = dt.date(2025, 7, 1)
HARM_TYPES = [
    EvidenceType.forensic_finding,
    EvidenceType.investigative_journalism,
    EvidenceType.lawsuit_filed,
    EvidenceType.court_ruling,
    EvidenceType.regulatory_action,
]
CHOICES = {"good": 100.0, "some": 50.0, "bad": 0.0}


def build_questions(ruleset: RuleSet) -> tuple[QuestionSpec, ...]:
    """45 scored questions, five per weighted theme; number questions use the rule set's ids."""
    numbered = iter(sorted(ruleset.number_rules))
    questions = []
    for theme in ruleset.themes:
        for n in range(1, 6):
            question_id = f"{theme}-{n}"
            if n == 5:
                question_id = next(numbered, question_id)
                kind = "number" if question_id in ruleset.number_rules else "single_choice"
            else:
                kind = "disclosure"
            questions.append(
                QuestionSpec(
                    id=question_id,
                    theme=theme,
                    indicator=f"{theme}-{(n + 1) // 2}",
                    answer_type=kind,
                    reverse_scored=n == 4 and theme == "end_user_controls",
                    option_points=CHOICES if kind == "single_choice" else {},
                )
            )
    return tuple(questions)


def random_day(rng: random.Random) -> dt.date:
    return dt.date.fromordinal(rng.randint(FIRST_DAY, LAST_DAY))


def build_answer(rng: random.Random, question: QuestionSpec) -> AnswerInput:
    answered_on = random_day(rng)
    if question.answer_type == "number":
        return AnswerInput(
            question_id=question.id, number=rng.randint(0, 5), answered_on=answered_on
        )
    if question.answer_type == "single_choice":
        return AnswerInput(
            question_id=question.id, options=(rng.choice(list(CHOICES)),), answered_on=answered_on
        )
    level = rng.choice([*DisclosureLevel, None])
    return AnswerInput(
        question_id=question.id,
        disclosure=level,
        visible=rng.random() > 0.05,
        answered_on=answered_on if level else None,
    )


def build_incidents(rng: random.Random, company: int) -> list[IncidentInput]:
    incidents = []
    listed = rng.random() < 0.2
    for n in range(INCIDENTS_PER_ASSESSMENT):
        event = random_day(rng)
        common = {
            "id": f"c{company}-i{n}",
            "role": rng.choice(list(CompanyRole)),
            "event_date": event,
            "published_date": event + dt.timedelta(days=rng.randint(0, 200)),
            "source_class": rng.choice(list(SourceClass)),
        }
        if listed and n == 0:
            incidents.append(
                IncidentInput(
                    **common,
                    type=EvidenceType.trade_restriction_listing,
                    severity=3,
                    listing=ListingInfo(list_name="Generated list"),
                )
            )
            continue
        if listed and n == 1:
            incidents.append(
                IncidentInput(
                    **common,
                    type=EvidenceType.delisting,
                    listing=ListingInfo(list_name="Generated list"),
                )
            )
            continue
        remediated = rng.random() < 0.3
        incidents.append(
            IncidentInput(
                **common,
                type=rng.choice(HARM_TYPES),
                severity=rng.randint(1, 5),
                affected_groups=tuple(rng.sample(list(AffectedGroup), rng.randint(0, 2))),
                status=EvidenceStatus.remediated if remediated else EvidenceStatus.ongoing,
                remediated_date=event + dt.timedelta(days=rng.randint(30, 900))
                if remediated
                else None,
                responses=tuple(
                    ResponseInput(kind=kind, date=event + dt.timedelta(days=rng.randint(1, 400)))
                    for kind in rng.sample(list(ResponseKind), rng.randint(0, 2))
                ),
            )
        )
    return incidents


def build_commitments(
    rng: random.Random, company: int, questions: tuple[QuestionSpec, ...], incident_ids: list[str]
) -> list[CommitmentInput]:
    commitments = []
    for n in range(COMMITMENTS_PER_ASSESSMENT):
        status = rng.choice(list(FulfilmentStatus))
        commitments.append(
            CommitmentInput(
                id=f"c{company}-k{n}",
                date=random_day(rng),
                question_ids=tuple(q.id for q in rng.sample(questions, 2)),
                fulfilment=status,
                contradicted_by=(rng.choice(incident_ids),)
                if status is FulfilmentStatus.contradicted
                else (),
            )
        )
    return commitments


def build_requests(count: int, seed: int) -> list[ScoreRequest]:
    rng = random.Random(seed)
    ruleset = load_ruleset_file(RULESET_PATH)
    questions = build_questions(ruleset)
    assert len(questions) == ANSWERS_PER_ASSESSMENT
    requests = []
    for company in range(count):
        incidents = build_incidents(rng, company)
        requests.append(
            ScoreRequest(
                questions=questions,
                answers=[build_answer(rng, question) for question in questions],
                incidents=incidents,
                commitments=build_commitments(rng, company, questions, [i.id for i in incidents]),
                ruleset=ruleset,
                as_of=AS_OF,
            )
        )
    return requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assessments", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    requests = build_requests(args.assessments, args.seed)
    built = time.perf_counter() - started

    score(requests[0])  # warm caches (rule-set tables, question JSON) outside the timing
    # The generated inputs stay alive for the whole run; freezing them keeps the collector from
    # rescanning 10,000 requests again and again, which a service scoring batch by batch avoids.
    gc.collect()
    gc.freeze()
    # Keep what a preview keeps per company (score, band, red flags), not every explanation.
    bands: Counter[str] = Counter()
    overrides = 0
    started = time.perf_counter()
    for request in requests:
        result = score(request)
        bands[result.band.value] += 1
        overrides += bool(result.overrides)
    scored = time.perf_counter() - started

    count = len(requests)
    print(
        f"assessments: {count} ({ANSWERS_PER_ASSESSMENT} answers, "
        f"{INCIDENTS_PER_ASSESSMENT} incidents, {COMMITMENTS_PER_ASSESSMENT} commitments each)"
    )
    print(
        f"generate and validate inputs: {built:.2f} s total, "
        f"{built / count * 1e6:.0f} µs per assessment"
    )
    print(f"engine: {scored:.2f} s total, {scored / count * 1e6:.0f} µs per assessment")
    print(f"bands: {dict(sorted(bands.items()))}; overrides fired: {overrides}")


if __name__ == "__main__":
    main()
