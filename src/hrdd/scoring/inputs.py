"""What the scoring engine takes and what it returns.

These models are deliberately independent of the database and of the questionnaire package:
the service layer maps its rows onto them. They are frozen and normalised on construction
(lists sorted, sets de-duplicated) so that equal inputs are equal objects whatever order the
caller built them in, which is what makes the inputs hash and the score order-independent.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from hrdd.evidence.content import list_key
from hrdd.scoring.rules import RuleSet, to_canonical_json
from hrdd.vocab import (
    AffectedGroup,
    CompanyRole,
    Confidence,
    DisclosureLevel,
    EvidenceStatus,
    EvidenceType,
    FulfilmentStatus,
    InvestorAction,
    ResponseKind,
    RiskBand,
    SourceClass,
)

_Item = TypeVar("_Item", bound=BaseModel)

AnswerType = Literal["disclosure", "single_choice", "multiple_choice", "number", "date", "text"]

# Scores are exact decimals (one decimal place) so contributions add up exactly; JSON gets numbers.
Score = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _sorted_unique(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


# --- inputs ---------------------------------------------------------------------------------


class QuestionSpec(_Frozen):
    """A question as scoring sees it.

    ``option_points`` gives each option of a scored choice question its points (0-100) and
    already says which option is good, so ``reverse_scored`` only affects disclosure questions.
    Number questions are scored only where the rule set has a number rule for them; date and
    text questions are never scored.
    """

    id: str = Field(min_length=1)
    theme: str = Field(min_length=1)
    indicator: str = ""
    answer_type: AnswerType
    reverse_scored: bool = False
    option_points: dict[str, Annotated[float, Field(ge=0, le=100)]] = Field(default_factory=dict)
    scored: bool = True

    @cached_property
    def canonical_json(self) -> str:
        """This question's part of the inputs hash, built once per (reused) spec object."""
        return to_canonical_json(self.model_dump(mode="json", exclude_defaults=True))

    @model_validator(mode="after")
    def _indicator_defaults_to_id(self) -> QuestionSpec:
        if not self.indicator:
            object.__setattr__(self, "indicator", self.id)
        if (
            self.scored
            and self.answer_type in ("single_choice", "multiple_choice")
            and not self.option_points
        ):
            raise ValueError(f"question {self.id}: a scored choice question needs option_points")
        return self


class AnswerInput(_Frozen):
    """One answer. A question without an AnswerInput counts as visible and unanswered.

    ``visible=False`` marks an answer a condition has hidden: kept, but excluded from scoring.
    ``answered_on`` (last change, or date of its newest evidence) feeds the freshness of the
    confidence rating only. ``company_sources_only``: it cites sources and all of them are the
    company's own, so under a rule set with ``say_do.company_sourced_answers`` its claim counts
    as that status unless a recorded commitment covers it. ``unsourced``: no source it cites
    can be checked (it cites none, or only ones that name neither whose they are nor a
    publisher or address), so under a rule set with ``say_do.unsourced_answers`` its claim
    counts as that status unless a recorded commitment covers it.
    """

    question_id: str = Field(min_length=1)
    visible: bool = True
    disclosure: DisclosureLevel | None = None
    options: tuple[str, ...] = ()
    number: float | None = None
    date_value: dt.date | None = None
    text: str | None = None
    answered_on: dt.date | None = None
    company_sources_only: bool = False
    unsourced: bool = False

    _sort_options = field_validator("options")(_sorted_unique)


class ResponseInput(_Frozen):
    kind: ResponseKind
    date: dt.date


class ListingInfo(_Frozen):
    list_name: str = Field(min_length=1)
    program: str | None = None
    reference: str | None = None

    @property
    def list_key(self) -> str:
        return list_key(self.list_name)


class IncidentInput(_Frozen):
    """A dated evidence item about the company.

    It counts from the later of ``event_date`` and ``published_date`` (when it had both
    happened and become known); items after the as-of date are ignored entirely. Closing
    items (delisting, sanction lifted) end the ids in ``closes``; one that names none ends the
    earlier listings of the same ``listing.list_name``. Remediation items mark the ids in
    ``closes`` remediated.
    """

    id: str = Field(min_length=1)
    role: CompanyRole
    event_date: dt.date
    published_date: dt.date | None = None
    type: EvidenceType
    severity: int | None = Field(default=None, ge=1, le=5)
    source_class: SourceClass
    affected_groups: tuple[AffectedGroup, ...] = ()
    status: EvidenceStatus = EvidenceStatus.ongoing
    remediated_date: dt.date | None = None
    responses: tuple[ResponseInput, ...] = ()
    listing: ListingInfo | None = None
    closes: tuple[str, ...] = ()

    @field_validator("affected_groups")
    @classmethod
    def _sort_groups(cls, groups: tuple[AffectedGroup, ...]) -> tuple[AffectedGroup, ...]:
        return tuple(sorted(set(groups)))

    @field_validator("responses")
    @classmethod
    def _sort_responses(cls, responses: tuple[ResponseInput, ...]) -> tuple[ResponseInput, ...]:
        unique = {(response.date, response.kind.value): response for response in responses}
        return tuple(unique[key] for key in sorted(unique))

    _sort_closes = field_validator("closes")(_sorted_unique)

    @model_validator(mode="after")
    def _remediation_is_dated(self) -> IncidentInput:
        remediated = self.status is EvidenceStatus.remediated
        if remediated and self.remediated_date is None:
            raise ValueError(
                f"incident {self.id}: status remediated needs remediated_date, so scores "
                "as of earlier dates stay reproducible"
            )
        if not remediated and self.remediated_date is not None:
            raise ValueError(f"incident {self.id}: remediated_date given but status is ongoing")
        if self.id in self.closes:
            raise ValueError(f"incident {self.id}: an item cannot close itself")
        return self

    @property
    def known_date(self) -> dt.date:
        if self.published_date is None or self.published_date < self.event_date:
            return self.event_date
        return self.published_date


class CommitmentInput(_Frozen):
    """Something the company claimed, the questions it speaks to, and whether it held."""

    id: str = Field(min_length=1)
    date: dt.date
    question_ids: tuple[str, ...] = Field(min_length=1)
    fulfilment: FulfilmentStatus
    contradicted_by: tuple[str, ...] = ()

    _sort_questions = field_validator("question_ids")(_sorted_unique)
    _sort_contradictions = field_validator("contradicted_by")(_sorted_unique)

    @model_validator(mode="after")
    def _contradiction_is_linked(self) -> CommitmentInput:
        contradicted = self.fulfilment is FulfilmentStatus.contradicted
        if contradicted and not self.contradicted_by:
            raise ValueError(
                f"commitment {self.id}: contradicted needs the incident ids in contradicted_by"
            )
        if not contradicted and self.contradicted_by:
            raise ValueError(
                f"commitment {self.id}: contradicted_by given but fulfilment is {self.fulfilment}"
            )
        return self


def _by_id(items: tuple[_Item, ...], key: str, label: str) -> tuple[_Item, ...]:
    ordered = tuple(sorted(items, key=lambda item: getattr(item, key)))
    duplicates = sorted(
        {
            getattr(a, key)
            for a, b in itertools.pairwise(ordered)
            if getattr(a, key) == getattr(b, key)
        }
    )
    if duplicates:
        raise ValueError(f"duplicate {label} ids: {', '.join(duplicates)}")
    return ordered


class ScoreRequest(_Frozen):
    """Everything one score depends on. The previous result is only used for the diff."""

    questions: tuple[QuestionSpec, ...]
    answers: tuple[AnswerInput, ...] = ()
    incidents: tuple[IncidentInput, ...] = ()
    commitments: tuple[CommitmentInput, ...] = ()
    ruleset: RuleSet
    as_of: dt.date
    previous: ScoreResult | None = None
    # False for a company nobody has assessed yet: its rating rests on the evidence and the
    # red flags alone. Counting every unanswered question as a gap would call every unassessed
    # holding high-risk and bury the holdings with documented harm among them.
    assessed: bool = True
    # True for a draft: its score moves as answers are filled in, which is not a trend (an
    # empty draft scores high, so filling it in would read as risk falling).
    in_progress: bool = False
    # Whether ``previous`` rested on an assessment. A holding's first assessed score follows
    # its score on evidence alone, which counts no practice gaps: the difference between the
    # two is what the assessment found, not a change in the company.
    previous_assessed: bool = True

    @field_validator("questions")
    @classmethod
    def _order_questions(cls, items: tuple[QuestionSpec, ...]) -> tuple[QuestionSpec, ...]:
        return _by_id(items, "id", "question")

    @field_validator("answers")
    @classmethod
    def _order_answers(cls, items: tuple[AnswerInput, ...]) -> tuple[AnswerInput, ...]:
        return _by_id(items, "question_id", "answer question")

    @field_validator("incidents")
    @classmethod
    def _order_incidents(cls, items: tuple[IncidentInput, ...]) -> tuple[IncidentInput, ...]:
        return _by_id(items, "id", "incident")

    @field_validator("commitments")
    @classmethod
    def _order_commitments(cls, items: tuple[CommitmentInput, ...]) -> tuple[CommitmentInput, ...]:
        return _by_id(items, "id", "commitment")

    @model_validator(mode="after")
    def _references_resolve(self) -> ScoreRequest:
        questions = {question.id: question for question in self.questions}
        incident_ids = {incident.id for incident in self.incidents}
        problems: list[str] = []
        for answer in self.answers:
            question = questions.get(answer.question_id)
            if question is None:
                problems.append(f"answer {answer.question_id}: no such question")
                continue
            problems += _answer_shape_problems(question, answer)
        for incident in self.incidents:
            problems += [
                f"incident {incident.id}: closes unknown incident {other}"
                for other in incident.closes
                if other not in incident_ids
            ]
        for commitment in self.commitments:
            problems += [
                f"commitment {commitment.id}: unknown question {question_id}"
                for question_id in commitment.question_ids
                if question_id not in questions
            ]
            problems += [
                f"commitment {commitment.id}: contradicted_by unknown incident {incident_id}"
                for incident_id in commitment.contradicted_by
                if incident_id not in incident_ids
            ]
        if problems:
            raise ValueError("; ".join(problems))
        return self


_VALUE_FIELD = {
    "disclosure": "disclosure",
    "single_choice": "options",
    "multiple_choice": "options",
    "number": "number",
    "date": "date_value",
    "text": "text",
}


def _answer_shape_problems(question: QuestionSpec, answer: AnswerInput) -> list[str]:
    """An answer may only carry the kind of value its question asks for."""
    kind = question.answer_type
    carried = [
        name
        for name in ("disclosure", "number", "date_value", "text")
        if getattr(answer, name) is not None
    ]
    if answer.options:
        carried.append("options")
    expected = _VALUE_FIELD[kind]
    problems = [
        f"answer {answer.question_id}: {name} does not fit a {kind} question"
        for name in carried
        if name != expected
    ]
    if expected == "options":
        if kind == "single_choice" and len(answer.options) > 1:
            problems.append(
                f"answer {answer.question_id}: a single choice takes one option, "
                f"got {len(answer.options)}"
            )
        if question.option_points:
            problems += [
                f"answer {answer.question_id}: option {option!r} is not an option of the question"
                for option in answer.options
                if option not in question.option_points
            ]
    return problems


# --- result ---------------------------------------------------------------------------------

ContributionKind = Literal["answer", "incident", "commitment", "override", "theme"]
# rules_changed: the previous score used another rule-set version, so no trend is read;
# basis_changed: the previous score rested on evidence alone and this one on an assessment
# (or the other way round), no trend is read either; in_progress: a draft's score, likewise.
Trend = Literal[
    "first", "rules_changed", "basis_changed", "in_progress", "worsening", "stable", "improving"
]


class Contribution(_Frozen):
    """Risk points one item added to the overall score; all of them add up to it exactly."""

    kind: ContributionKind
    ref: str
    points: Score
    theme: str | None = None
    reason: str


class ThemeScore(_Frozen):
    """Claimed and verified score of one theme; capped while a contradicted claim caps it."""

    theme: str
    weight: float
    claimed: Score
    verified: Score
    capped: bool
    applicable: int
    answered: int
    capped_by: tuple[str, ...] = ()


class AnswerDenyingEvidence(_Frozen):
    """An answer of none (0) while the evidence holds items of what it counts: they
    contradict it (``say_do.answers_denying_evidence``)."""

    question_id: str
    evidence_count: int
    # What the count covers, in words ("forensic finding items with a forensic lab source").
    counted: str
    incident_ids: tuple[str, ...]


class OverrideFired(_Frozen):
    rule_id: str
    floor: Score
    incident_ids: tuple[str, ...]
    reason: str
    lifted_when: str


class ConfidenceDriver(_Frozen):
    name: Literal["coverage", "reliability", "freshness"]
    value: float | None
    level: Confidence | None
    reason: str


class SensitivityRange(_Frozen):
    low: Score
    high: Score
    variants: int
    reason: str


class DiffEntry(_Frozen):
    """One thing that moved between two scores. ``action``, ``confidence`` and ``figure``
    entries come only from a rule-set preview (``engine.compare``), never in a stored score's
    diff."""

    kind: (
        ContributionKind
        | Literal["override", "band", "ruleset", "inputs", "action", "confidence", "figure"]
    )
    ref: str
    before: Score | str | None
    after: Score | str | None
    reason: str


class ScoreDiff(_Frozen):
    previous_overall: Score
    previous_band: RiskBand
    change: Score
    trend: Trend
    entries: tuple[DiffEntry, ...]


class ScoreResult(_Frozen):
    overall: Score
    band: RiskBand
    evidence_risk_current: Score
    evidence_risk_peak: Score
    evidence_risk_peak_date: dt.date | None
    policy_gap_risk: Score
    commitment_score: Score
    verified_commitment_score: Score
    say_do_gap: Score
    themes: tuple[ThemeScore, ...]
    overrides: tuple[OverrideFired, ...]
    confidence: Confidence
    confidence_drivers: tuple[ConfidenceDriver, ...]
    sensitivity: SensitivityRange
    contributions: tuple[Contribution, ...]
    ignored_incident_ids: tuple[str, ...]
    # Questions whose claims count as self-reported (or as the rule set says) because every
    # source the answer cites is the company's own; empty under rule sets without that rule.
    company_sourced_answers: tuple[str, ...] = ()
    # Questions whose claims count as the rule set says because no source the answer cites can
    # be checked; empty under rule sets without that rule (before default v7).
    unsourced_answers: tuple[str, ...] = ()
    # Answers counting fewer findings than the evidence holds; they cap their themes.
    answers_denying_evidence: tuple[AnswerDenyingEvidence, ...] = ()
    # Inputs the engine used as given but that probably miss a link (e.g. an unlinked remedy).
    notes: tuple[str, ...] = ()
    ruleset_id: str
    ruleset_version: int
    # The rules' own content hash (migration 0011 gave it to scores stored before it was
    # recorded; the engine still accepts a previous score without one).
    ruleset_hash: str | None = None
    inputs_hash: str
    as_of: dt.date
    trend: Trend
    diff: ScoreDiff | None
    action: InvestorAction
    action_reason: str


ScoreRequest.model_rebuild()
