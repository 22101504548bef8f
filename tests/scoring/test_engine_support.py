"""Builders shared by the engine tests: a questionnaire shaped like the STAP catalogue and
helpers for answers, incidents and commitments. Holds no tests itself."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

from hrdd.scoring.inputs import (
    AnswerInput,
    CommitmentInput,
    IncidentInput,
    ListingInfo,
    QuestionSpec,
    ResponseInput,
    ScoreRequest,
)
from hrdd.scoring.rules import RuleSet, load_ruleset_file
from hrdd.vocab import (
    AffectedGroup,
    CompanyRole,
    DisclosureLevel,
    EvidenceStatus,
    EvidenceType,
    FulfilmentStatus,
    ResponseKind,
    SourceClass,
)

SCORING_DIR = Path(__file__).resolve().parents[2] / "scoring"


def latest_default(folder: Path = SCORING_DIR) -> Path:
    """The newest bundled default rule set: tests of "the default rules" follow it as versions
    are published; a test of one version's own rule names that version's file."""
    return max(folder.glob("default-v*.yaml"), key=lambda path: int(path.stem.split("-v")[1]))


RULESET_PATH = latest_default()

SCORED_THEMES = {
    "policy",
    "governance",
    "due_diligence",
    "end_user_controls",
    "design_safeguards",
    "contracts",
    "transparency",
    "grievance_remedy",
    "allegation_response",
}


def _disclosure(question_id: str, theme: str, reverse: bool = False) -> QuestionSpec:
    return QuestionSpec(
        id=question_id, theme=theme, answer_type="disclosure", reverse_scored=reverse
    )


def _unscored(question_id: str, theme: str, answer_type: str) -> QuestionSpec:
    return QuestionSpec(id=question_id, theme=theme, answer_type=answer_type, scored=False)


@cache
def catalogue() -> tuple[QuestionSpec, ...]:
    """Question ids and themes as in questionnaire-basis.md; answer types as it suggests."""
    questions = [
        _unscored("EX1", "exposure", "multiple_choice"),
        _unscored("EX2", "exposure", "number"),
        _unscored("EX3", "exposure", "disclosure"),
        _unscored("EX4", "exposure", "disclosure"),
        _disclosure("P1", "policy"),
        _disclosure("P2", "policy"),
        QuestionSpec(id="P3", theme="policy", answer_type="text"),
        _disclosure("G1", "governance"),
        _disclosure("G2", "governance"),
        QuestionSpec(id="G3", theme="governance", answer_type="text"),
        _disclosure("G4", "governance"),
        *(_disclosure(f"DD{n}", "due_diligence") for n in (1, 2, 3, 4, 5, 7)),
        QuestionSpec(id="DD6", theme="due_diligence", answer_type="number"),
        _disclosure("EU1", "end_user_controls"),
        _disclosure("EU2", "end_user_controls"),
        QuestionSpec(id="EU3", theme="end_user_controls", answer_type="text"),
        _disclosure("EU4", "end_user_controls", reverse=True),
        _disclosure("EU5", "end_user_controls"),
        _disclosure("EU6", "end_user_controls"),
        _disclosure("DS1", "design_safeguards"),
        QuestionSpec(
            id="DS2",
            theme="design_safeguards",
            answer_type="single_choice",
            option_points={"full_visibility": 100, "partial_visibility": 50, "none": 0},
        ),
        _disclosure("DS3", "design_safeguards"),
        _disclosure("C1", "contracts"),
        _disclosure("C2", "contracts"),
        QuestionSpec(id="C3", theme="contracts", answer_type="number"),
        _disclosure("C4", "contracts"),
        _disclosure("C5", "contracts"),
        *(_disclosure(f"T{n}", "transparency") for n in (1, 2, 3, 4)),
        _disclosure("GR1", "grievance_remedy"),
        QuestionSpec(id="GR2", theme="grievance_remedy", answer_type="number"),
        _disclosure("GR3", "grievance_remedy"),
        _disclosure("GR4", "grievance_remedy"),
        QuestionSpec(id="R1", theme="allegation_response", answer_type="number"),
        QuestionSpec(
            id="R2",
            theme="allegation_response",
            answer_type="multiple_choice",
            option_points={"engages": 100, "cites_confidentiality": 25, "denies": 0, "silent": 0},
        ),
        _disclosure("R3", "allegation_response"),
        _disclosure("R4", "allegation_response", reverse=True),
        *(_unscored(f"IN{n}", "investor_position", "disclosure") for n in range(1, 7)),
    ]
    return tuple(questions)


def question_ids() -> set[str]:
    return {question.id for question in catalogue()}


def scored_disclosure_ids(reverse: bool | None = None) -> list[str]:
    return [
        q.id
        for q in catalogue()
        if q.scored
        and q.answer_type == "disclosure"
        and (reverse is None or q.reverse_scored == reverse)
    ]


@cache
def ruleset() -> RuleSet:
    return load_ruleset_file(RULESET_PATH)


def answer(question_id: str, level: DisclosureLevel, on: dt.date | None = None) -> AnswerInput:
    return AnswerInput(question_id=question_id, disclosure=level, answered_on=on)


def best_answers(on: dt.date | None = None) -> list[AnswerInput]:
    """What a company with verified, complete practice would earn everywhere."""
    answers = [
        answer(qid, DisclosureLevel.full, on) for qid in scored_disclosure_ids(reverse=False)
    ]
    answers += [answer(qid, DisclosureLevel.no, on) for qid in scored_disclosure_ids(reverse=True)]
    answers += [
        AnswerInput(question_id="DS2", options=("full_visibility",), answered_on=on),
        AnswerInput(question_id="R2", options=("engages",), answered_on=on),
        AnswerInput(question_id="DD6", number=4, answered_on=on),
        AnswerInput(question_id="C3", number=2, answered_on=on),
    ]
    return answers


def incident(
    incident_id: str,
    day: dt.date,
    *,
    type: EvidenceType = EvidenceType.forensic_finding,
    severity: int | None = 4,
    source: SourceClass = SourceClass.forensic_lab,
    role: CompanyRole = CompanyRole.caused,
    groups: tuple[AffectedGroup, ...] = (),
    remediated_on: dt.date | None = None,
    responses: tuple[tuple[ResponseKind, dt.date], ...] = (),
    list_name: str | None = None,
    closes: tuple[str, ...] = (),
    published: dt.date | None = None,
) -> IncidentInput:
    return IncidentInput(
        id=incident_id,
        role=role,
        event_date=day,
        published_date=published,
        type=type,
        severity=severity,
        source_class=source,
        affected_groups=groups,
        status=EvidenceStatus.remediated if remediated_on else EvidenceStatus.ongoing,
        remediated_date=remediated_on,
        responses=tuple(ResponseInput(kind=kind, date=when) for kind, when in responses),
        listing=ListingInfo(list_name=list_name) if list_name else None,
        closes=closes,
    )


def commitment(
    commitment_id: str,
    day: dt.date,
    questions: tuple[str, ...],
    fulfilment: FulfilmentStatus,
    contradicted_by: tuple[str, ...] = (),
) -> CommitmentInput:
    return CommitmentInput(
        id=commitment_id,
        date=day,
        question_ids=questions,
        fulfilment=fulfilment,
        contradicted_by=contradicted_by,
    )


def request(
    as_of: dt.date,
    answers: list[AnswerInput] | tuple[AnswerInput, ...] = (),
    incidents: list[IncidentInput] | tuple[IncidentInput, ...] = (),
    commitments: list[CommitmentInput] | tuple[CommitmentInput, ...] = (),
    **extra: object,
) -> ScoreRequest:
    return ScoreRequest(
        questions=catalogue(),
        answers=tuple(answers),
        incidents=tuple(incidents),
        commitments=tuple(commitments),
        as_of=as_of,
        **{"ruleset": ruleset(), **extra},
    )
