"""Rule sets: the schema of a scoring rule file, its loader and its validation.

A rule set is content (``scoring/default-v1.yaml``), not code: every number the engine uses
comes from here, and every entry carries a short ``why`` so an analyst can see the reasoning
next to the number. Validation is strict and reports every problem it can at once, each with
the file name and a dotted path such as ``themes.policy.weight``: while the rule set's shape is
wrong (a field missing, mistyped or out of range) those problems alone, as the checks across
its sections need a well-formed rule set; then every problem those checks find.
``ruleset_warnings`` names rules that are allowed but very likely turn the method upside down
(a fuller disclosure scoring less, a source class weighing nothing, a red flag gone): shown
to the analyst, never refused, as a methodology owner may mean them.

Every number is finite (no infinity or NaN, whether written ``1e999``, ``.inf`` or ``NaN``) and
within a range small enough that nothing the engine adds up or multiplies can overflow: weights,
days, factors and thresholds all have upper bounds (``MAX_*`` below), so an edited draft can
never publish a rule set that makes every score fail.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    Strict,
    ValidationError,
    model_serializer,
)
from pydantic_core import PydanticCustomError

from hrdd.errors import plain_error_message
from hrdd.vocab import (
    AffectedGroup,
    CompanyRole,
    DisclosureLevel,
    EvidenceType,
    FulfilmentStatus,
    InvestorAction,
    ResponseKind,
    RiskBand,
    SourceClass,
    enum_label,
)

SEVERITY_LEVELS = (1, 2, 3, 4, 5)
RISK_BAND_ORDER = tuple(RiskBand)
ACTION_LADDER = tuple(InvestorAction)


def steps_apart(order: tuple[Any, ...], before: Any, after: Any) -> int:
    """How far apart two rungs of ``order`` (``RISK_BAND_ORDER``, ``ACTION_LADDER``) are; 0
    when either is missing (a score that failed, a holding with none)."""
    if before is None or after is None:
        return 0
    return abs(order.index(after) - order.index(before))


# Upper bounds of the rule set's numbers. Generous next to the bundled rules (theme weights 5 to
# 20, half-lives up to 5 years, sensitivity factors 0.5 to 2), and small enough that sums,
# products and date arithmetic on them stay finite and within the 1900-2100 dates hrdd keeps.
MIN_THEME_WEIGHT = 0.001
MAX_THEME_WEIGHT = 1000.0
MAX_DAYS = 36_525  # a century: half-lives, the peak window, the staleness limit
MIN_SENSITIVITY_FACTOR = 0.01
MAX_SENSITIVITY_FACTOR = 10.0
MAX_SENSITIVITY_FACTORS = 10
MAX_NUMBER_THRESHOLD = 1e15  # number answers beyond this are "above every threshold" anyway
MAX_NUMBER_THRESHOLDS = 50
MAX_VERSION = 1_000_000  # ruleset_versions.version is a 32-bit integer column


def _int_in_range(low: int, high: int) -> Any:
    """An int from low to high. A float far out of range (1e20) is refused with the range, as
    an int would be, instead of pydantic's message about parsing a string."""

    def check(value: Any) -> Any:
        if isinstance(value, float) and math.isfinite(value):
            if value < low:
                raise PydanticCustomError(
                    "greater_than_equal",
                    "Input should be greater than or equal to {ge}",
                    {"ge": low},
                )
            if value > high:
                raise PydanticCustomError(
                    "less_than_equal", "Input should be less than or equal to {le}", {"le": high}
                )
        return value

    return Annotated[int, Strict(), BeforeValidator(check), Field(ge=low, le=high)]


def to_canonical_json(data: object) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(content: Mapping[str, Any]) -> str:
    """sha256 of a rule set's stored form (its canonical JSON)."""
    return hashlib.sha256(to_canonical_json(content).encode("utf-8")).hexdigest()


# Numbers are numbers: pydantic's lax mode read true as 1 and "5" as 5 (ints still pass).
Number = Annotated[float, Strict()]
# The bundled reasons run to a few hundred characters; the bound keeps a pasted document out of
# the rules, their audit trail (which stores each edit) and the reports' methodology pages.
MAX_REASON_CHARS = 2000
Why = Annotated[
    str,
    Field(min_length=3, max_length=MAX_REASON_CHARS, description="Short reason for this entry"),
]
Points = Annotated[Number, Field(ge=0, le=100)]
Factor = Annotated[Number, Field(ge=0, le=1)]
Days = _int_in_range(1, MAX_DAYS)
SeverityLevel = _int_in_range(1, 5)
VersionNumber = _int_in_range(1, MAX_VERSION)
SensitivityFactor = Annotated[Number, Field(ge=MIN_SENSITIVITY_FACTOR, le=MAX_SENSITIVITY_FACTOR)]


class _Strict(BaseModel):
    # allow_inf_nan=False: JSON's 1e999 and NaN, YAML's .inf and .nan are refused everywhere.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


@dataclass(frozen=True)
class RuleSetProblem:
    path: str
    message: str


class RuleSetError(ValueError):
    """A rule set that cannot be used; lists every problem found, each with its path."""

    def __init__(self, source_name: str, problems: Iterable[RuleSetProblem]) -> None:
        self.source_name = source_name
        self.problems = tuple(problems)
        lines = [f"{source_name}: {len(self.problems)} problem(s) in rule set"]
        lines += [f"  {source_name}: {p.path or '<root>'}: {p.message}" for p in self.problems]
        super().__init__("\n".join(lines))


class RuleSetStructureError(RuleSetError):
    """The rule set's shape is wrong (a field missing, mistyped or out of range): the checks
    across its sections and against its questionnaire need a well-formed rule set, so they run
    once these problems are fixed."""


@dataclass(frozen=True)
class RuleSetWarning:
    """A rule that is allowed but very likely a mistake that turns scores upside down; ``path``
    is dotted as a problem's is, ``message`` says what it does to scores."""

    path: str
    message: str


class QuestionnaireRef(_Strict):
    key: str = Field(min_length=1)
    version: str = Field(min_length=1)
    why: Why


class ThemeRule(_Strict):
    weight: Number = Field(ge=MIN_THEME_WEIGHT, le=MAX_THEME_WEIGHT)
    why: Why


class ElementPoints(_Strict):
    """Points per disclosure level; not applicable is excluded, never scored."""

    full: Points
    partial: Points
    no: Points
    no_information: Points
    why: Why

    def points_for(self, level: DisclosureLevel) -> float:
        return float(getattr(self, level.value))


class ElementScoring(_Strict):
    normal: ElementPoints
    reverse: ElementPoints
    unanswered: Points
    unanswered_why: Why
    multiple_choice: Literal["min", "mean", "max"]
    multiple_choice_why: Why


class NumberThreshold(_Strict):
    at_least: Number = Field(ge=-MAX_NUMBER_THRESHOLD, le=MAX_NUMBER_THRESHOLD)
    points: Points


class NumberRule(_Strict):
    """Scores a number answer: the highest threshold it reaches gives its points."""

    thresholds: list[NumberThreshold] = Field(min_length=1, max_length=MAX_NUMBER_THRESHOLDS)
    below_points: Points
    why: Why

    def points_for(self, value: float) -> float:
        points = self.below_points
        for threshold in self.thresholds:
            if value >= threshold.at_least:
                points = threshold.points
        return points


class SeverityAnchor(_Strict):
    """UNGP notions of severity: how grave (scale), how widespread (scope), how irreversible."""

    points: Number = Field(ge=0, le=100)
    scale: str = Field(min_length=3, max_length=MAX_REASON_CHARS)
    scope: str = Field(min_length=3, max_length=MAX_REASON_CHARS)
    irremediability: str = Field(min_length=3, max_length=MAX_REASON_CHARS)
    why: Why


class DecayRule(_Strict):
    # At least a day: a shorter half-life (times the sensitivity factor) could round to zero.
    half_life_days: Number = Field(ge=1, le=MAX_DAYS)
    floor_while_unremediated: Factor
    why: Why


class FactorEntry(_Strict):
    factor: Factor
    why: Why


EvidenceTreatment = Literal["harm", "listing", "closes_listing", "remediation", "neutral"]


class EvidenceTypeRule(_Strict):
    """How the engine treats an evidence type.

    harm: adds risk; listing: adds risk and can fire a listing override (one without a
    severity, as screening imports record them, only fires the override); closes_listing: ends
    an earlier listing (by list name or ``closes``); remediation: marks the items it
    ``closes`` remediated; neutral: recorded but never scored.
    """

    treatment: EvidenceTreatment
    why: Why


class CreditEntry(_Strict):
    credit: Factor
    why: Why


class ResponseCredits(_Strict):
    credits: dict[ResponseKind, CreditEntry]
    max_total: Factor
    max_total_why: Why


class EvidenceRules(_Strict):
    peak_window_days: Days
    peak_window_why: Why
    remediated_factor: Factor
    remediated_why: Why


class FulfilmentEntry(_Strict):
    value: Number = Field(ge=-1, le=1)
    why: Why


class CompanySourcedAnswers(_Strict):
    """How an answer whose sources are all the company's own counts when no recorded
    commitment covers it: a claim only the company vouches for."""

    # Not "contradicted": an answer's own sources cannot contradict it.
    fulfilment: Literal["verified", "self_reported", "not_implemented"]
    why: Why

    @property
    def status(self) -> FulfilmentStatus:
        return FulfilmentStatus(self.fulfilment)


class UnsourcedAnswers(_Strict):
    """How an answer no source of which names a publisher, an address or whose it is counts
    (beyond the company's own) when no recorded commitment
    covers it: it cites none, or only sources that say neither whose they are nor who
    published them (a bare uploaded file). Nobody but the answer vouches for the claim."""

    fulfilment: Literal["verified", "self_reported", "not_implemented"]
    why: Why

    @property
    def status(self) -> FulfilmentStatus:
        return FulfilmentStatus(self.fulfilment)


class CountedEvidence(_Strict):
    """The evidence items an answer's count is held to: of these types, and, if given, resting
    on a source of one of these classes (an item's most reliable source)."""

    evidence_types: list[EvidenceType] = Field(min_length=1)
    source_classes: list[SourceClass] | None = Field(default=None, min_length=1)

    @property
    def words(self) -> str:
        """What is counted, as messages say it ("forensic finding items with a forensic lab
        source")."""
        words = " or ".join(enum_label(kind).lower() for kind in self.evidence_types) + " items"
        if self.source_classes:
            classes = " or ".join(enum_label(kind).lower() for kind in self.source_classes)
            words += f" with a {classes} source"
        return words


class AnswersDenyingEvidence(_Strict):
    """Questions answered with a count of published findings (say, of forensic allegations),
    with the evidence each counts: an answer of none while the evidence known on the scoring
    date holds such items is contradicted by them, and caps its theme as a contradicted claim
    does. A count above none but below the evidence's is left as answered: it hides nothing
    (the questions on the company's response follow any count above none), and may only be
    older than the latest finding."""

    questions: dict[str, CountedEvidence] = Field(min_length=1)
    why: Why


class CompanySourcedClosures(_Strict):
    """A remediation, delisting or lifted sanction whose sources are all the company's own
    statements (or unverified) closes nothing: a remedy the company alone reports is a claim."""

    why: Why


class SayDoRules(_Strict):
    fulfilment: dict[FulfilmentStatus, FulfilmentEntry]
    contradiction_penalty: Points
    contradiction_penalty_why: Why
    contradicted_theme_cap: Points
    contradicted_theme_cap_why: Why
    before_contradiction_known: FulfilmentStatus
    before_contradiction_known_why: Why
    # Added in default v2. Left out, an answer keeps all its points whatever its sources, as
    # in v1: versions published before it must hash and score as they always did.
    company_sourced_answers: CompanySourcedAnswers | None = None
    # Added in default v3, likewise: left out, a closing item closes whatever its sources.
    company_sourced_closures: CompanySourcedClosures | None = None
    # Added in default v7, likewise: left out, an answer citing no source keeps all its points,
    # and a count of findings below the evidence's contradicts nothing.
    unsourced_answers: UnsourcedAnswers | None = None
    answers_denying_evidence: AnswersDenyingEvidence | None = None

    @model_serializer(mode="wrap")
    def _leave_out_when_unset(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        for added_later in (
            "company_sourced_answers",
            "company_sourced_closures",
            "unsourced_answers",
            "answers_denying_evidence",
        ):
            if getattr(self, added_later) is None:
                data.pop(added_later, None)
        return data


class PolicyGapRules(_Strict):
    max_risk: Points
    why: Why


class ListingOverride(_Strict):
    """Fires while a listing of the given types is in effect and no later record closes it."""

    kind: Literal["active_listing"]
    id: str = Field(pattern=r"^RF-[A-Z0-9-]+$")
    floor: Points
    evidence_types: list[EvidenceType] = Field(min_length=1)
    min_action: InvestorAction
    lifted_when: Why
    why: Why


class HarmOverride(_Strict):
    """Fires while a matching harm item is in effect and not remediated."""

    kind: Literal["unremediated_harm"]
    id: str = Field(pattern=r"^RF-[A-Z0-9-]+$")
    floor: Points
    evidence_types: list[EvidenceType] = Field(min_length=1)
    source_classes: list[SourceClass] = Field(min_length=1)
    affected_groups: list[AffectedGroup] = Field(min_length=1)
    min_severity: SeverityLevel
    min_action: InvestorAction
    lifted_when: Why
    why: Why


OverrideRule = Annotated[ListingOverride | HarmOverride, Field(discriminator="kind")]
_OVERRIDE_KINDS = frozenset(
    kind
    for rule in (ListingOverride, HarmOverride)
    for kind in get_args(rule.model_fields["kind"].annotation)
)


class BandRule(_Strict):
    """A risk band: lower bound inclusive, upper bound exclusive (the last one includes 100)."""

    band: RiskBand
    lower: Points
    upper: Points
    why: Why


class LevelThresholds(_Strict):
    high_at_least: Factor
    medium_at_least: Factor
    why: Why


class FreshnessRule(_Strict):
    stale_after_days: Days
    high_at_most_stale_share: Factor
    medium_at_most_stale_share: Factor
    why: Why


class NoInformationCoverage(_Strict):
    """Whether an answer that no information was found counts towards coverage: it says the
    investor looked, not what the company does."""

    counts_as_answered: bool
    why: Why


class ConfidenceRules(_Strict):
    coverage: LevelThresholds
    reliability: LevelThresholds
    freshness: FreshnessRule
    combine_why: Why
    # Added in default v5. Left out, "no information found" counts as answered, as up to v4:
    # versions published before it must hash and score as they always did.
    no_information: NoInformationCoverage | None = None

    @model_serializer(mode="wrap")
    def _leave_out_when_unset(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if self.no_information is None:
            data.pop("no_information", None)
        return data


class BandAction(_Strict):
    action: InvestorAction
    why: Why


StepsUp = _int_in_range(0, len(ACTION_LADDER) - 1)


class WorseningRule(_Strict):
    min_increase_points: Number = Field(gt=0, le=100)
    steps_up: StepsUp
    why: Why


class ActionRules(_Strict):
    by_band: dict[RiskBand, BandAction]
    worsening: WorseningRule


class SensitivityRules(_Strict):
    weight_factors: list[SensitivityFactor] = Field(
        min_length=1, max_length=MAX_SENSITIVITY_FACTORS
    )
    half_life_factors: list[SensitivityFactor] = Field(
        min_length=1, max_length=MAX_SENSITIVITY_FACTORS
    )
    why: Why


class RuleSet(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    version: VersionNumber
    # At most what ruleset_versions.title holds: PostgreSQL refuses longer values.
    title: str = Field(min_length=3, max_length=300)
    why: Why
    questionnaire: QuestionnaireRef
    themes: dict[str, ThemeRule] = Field(min_length=1)
    elements: ElementScoring
    number_rules: dict[str, NumberRule] = Field(default_factory=dict)
    severity: dict[int, SeverityAnchor]
    decay: dict[int, DecayRule]
    reliability: dict[SourceClass, FactorEntry]
    roles: dict[CompanyRole, FactorEntry]
    evidence_types: dict[EvidenceType, EvidenceTypeRule]
    responses: ResponseCredits
    evidence: EvidenceRules
    say_do: SayDoRules
    policy_gap: PolicyGapRules
    overrides: list[OverrideRule]
    bands: list[BandRule] = Field(min_length=1)
    confidence: ConfidenceRules
    actions: ActionRules
    sensitivity: SensitivityRules

    @cached_property
    def referenced_question_ids(self) -> frozenset[str]:
        return frozenset(self.number_rules)

    # The hash the version is stored under, when it was read from the database.
    _stored_hash: str | None = PrivateAttr(default=None)

    def stored_under(self, content_hash: str) -> RuleSet:
        """Marks the rule set as read from a stored version with this content hash, so scores
        name it exactly as GET /rulesets does, even if its stored form predates a field."""
        self._stored_hash = content_hash
        return self

    @cached_property
    def content_hash(self) -> str:
        """sha256 of the rule set as stored: the only thing that tells two versions with one
        key and number apart (a bundled version and an organisation's own)."""
        if self._stored_hash is not None:
            return self._stored_hash
        return content_hash(self.model_dump(mode="json"))

    @cached_property
    def tables(self) -> RuleTables:
        """Plain lookups the engine reads in its inner loops, built once per rule set."""
        return RuleTables(
            theme_weights={theme: rule.weight for theme, rule in self.themes.items()},
            normal_points={level: self.elements.normal.points_for(level) for level in _SCORED},
            reverse_points={level: self.elements.reverse.points_for(level) for level in _SCORED},
            severity_share={level: anchor.points / 100 for level, anchor in self.severity.items()},
            half_life_days={level: rule.half_life_days for level, rule in self.decay.items()},
            decay_floor={
                level: rule.floor_while_unremediated for level, rule in self.decay.items()
            },
            reliability={source: entry.factor for source, entry in self.reliability.items()},
            role={role: entry.factor for role, entry in self.roles.items()},
            treatment={kind: rule.treatment for kind, rule in self.evidence_types.items()},
            credit={kind: entry.credit for kind, entry in self.responses.credits.items()},
            fulfilment={status: entry.value for status, entry in self.say_do.fulfilment.items()},
        )

    def band_for(self, value: float) -> RiskBand:
        for rule in self.bands:
            if value < rule.upper:
                return rule.band
        return self.bands[-1].band


_SCORED = tuple(level for level in DisclosureLevel if level is not DisclosureLevel.not_applicable)


@dataclass(frozen=True)
class RuleTables:
    theme_weights: dict[str, float]
    normal_points: dict[DisclosureLevel, float]
    reverse_points: dict[DisclosureLevel, float]
    severity_share: dict[int, float]
    half_life_days: dict[int, float]
    decay_floor: dict[int, float]
    reliability: dict[SourceClass, float]
    role: dict[CompanyRole, float]
    treatment: dict[EvidenceType, EvidenceTreatment]
    credit: dict[ResponseKind, float]
    fulfilment: dict[FulfilmentStatus, float]


# --- validation -----------------------------------------------------------------------------


def _location(loc: tuple[int | str, ...]) -> str:
    """A problem's path as the rule set is written: pydantic puts an override's kind (the
    union member it tried) after the list index, which is no key of the rule set."""
    parts = [
        part
        for index, part in enumerate(loc)
        if not (
            index >= 2
            and loc[index - 2] == "overrides"
            and isinstance(loc[index - 1], int)
            and part in _OVERRIDE_KINDS
        )
    ]
    return ".".join(str(part) for part in parts)


def semantic_problems(ruleset: RuleSet) -> list[RuleSetProblem]:
    """Checks a structurally valid rule set for consistency across its sections."""
    problems: list[RuleSetProblem] = []

    def need_all(path: str, present: Iterable[Any], expected: Iterable[Any]) -> None:
        missing = [str(item) for item in expected if item not in set(present)]
        if missing:
            problems.append(RuleSetProblem(path, f"missing entries: {', '.join(missing)}"))

    need_all("severity", ruleset.severity, SEVERITY_LEVELS)
    need_all("decay", ruleset.decay, SEVERITY_LEVELS)
    if ruleset.say_do.unsourced_answers and ruleset.say_do.company_sourced_answers is None:
        problems.append(
            RuleSetProblem(
                "say_do.unsourced_answers",
                "needs say_do.company_sourced_answers: without it, an answer citing the "
                "company's own pages would keep all its points while one citing no named "
                "source lost some",
            )
        )
    for table in ("severity", "decay"):
        for level in getattr(ruleset, table):
            if level not in SEVERITY_LEVELS:
                problems.append(RuleSetProblem(f"{table}.{level}", "severity must be 1 to 5"))
    points = [
        ruleset.severity[level].points for level in SEVERITY_LEVELS if level in ruleset.severity
    ]
    if points != sorted(points):
        problems.append(RuleSetProblem("severity", "points must not fall as severity rises"))
    need_all("reliability", ruleset.reliability, SourceClass)
    need_all("roles", ruleset.roles, CompanyRole)
    need_all("evidence_types", ruleset.evidence_types, EvidenceType)
    need_all("responses.credits", ruleset.responses.credits, ResponseKind)
    need_all("say_do.fulfilment", ruleset.say_do.fulfilment, FulfilmentStatus)
    need_all("actions.by_band", ruleset.actions.by_band, RiskBand)

    if ruleset.say_do.before_contradiction_known is FulfilmentStatus.contradicted:
        problems.append(
            RuleSetProblem(
                "say_do.before_contradiction_known",
                "must name the status a claim has before its contradiction is known",
            )
        )

    for name, rule in ruleset.number_rules.items():
        bounds = [threshold.at_least for threshold in rule.thresholds]
        for index, (earlier, later) in enumerate(itertools.pairwise(bounds), start=1):
            if later <= earlier:
                problems.append(
                    RuleSetProblem(
                        f"number_rules.{name}.thresholds.{index}.at_least",
                        f"at_least must strictly rise: {later:g} is not above the "
                        f"{earlier:g} of the threshold before it",
                    )
                )

    problems += _band_problems(ruleset.bands)

    seen_ids: set[str] = set()
    for index, override in enumerate(ruleset.overrides):
        path = f"overrides.{index}"
        if override.id in seen_ids:
            problems.append(RuleSetProblem(f"{path}.id", f"duplicate override id {override.id}"))
        seen_ids.add(override.id)
        allowed = {"listing"} if override.kind == "active_listing" else {"harm", "listing"}
        for type_index, evidence_type in enumerate(override.evidence_types):
            treatment = ruleset.evidence_types.get(evidence_type)
            if treatment is not None and treatment.treatment not in allowed:
                problems.append(
                    RuleSetProblem(
                        f"{path}.evidence_types.{type_index}",
                        f"{evidence_type} is treated as {treatment.treatment}; "
                        f"this override needs {' or '.join(sorted(allowed))}",
                    )
                )

    coverage = ruleset.confidence.coverage
    reliability = ruleset.confidence.reliability
    for path, thresholds in (
        ("confidence.coverage", coverage),
        ("confidence.reliability", reliability),
    ):
        if thresholds.medium_at_least > thresholds.high_at_least:
            problems.append(RuleSetProblem(path, "medium_at_least must not exceed high_at_least"))
    freshness = ruleset.confidence.freshness
    if freshness.high_at_most_stale_share > freshness.medium_at_most_stale_share:
        problems.append(
            RuleSetProblem(
                "confidence.freshness",
                "high_at_most_stale_share must not exceed medium_at_most_stale_share",
            )
        )

    by_band = ruleset.actions.by_band
    actions = [
        ACTION_LADDER.index(by_band[band].action) for band in RISK_BAND_ORDER if band in by_band
    ]
    if actions != sorted(actions):
        problems.append(
            RuleSetProblem("actions.by_band", "a riskier band must not get a milder action")
        )
    return problems


def _band_problems(bands: list[BandRule]) -> list[RuleSetProblem]:
    problems: list[RuleSetProblem] = []
    order = [RISK_BAND_ORDER.index(rule.band) for rule in bands]
    if order != sorted(set(order)):
        problems.append(
            RuleSetProblem("bands", "each band once, in order low, medium, high, severe")
        )
    for index, rule in enumerate(bands):
        if rule.lower >= rule.upper:
            problems.append(RuleSetProblem(f"bands.{index}", "lower must be below upper"))
    if bands[0].lower != 0:
        problems.append(RuleSetProblem("bands.0.lower", "the first band must start at 0"))
    if bands[-1].upper != 100:
        problems.append(
            RuleSetProblem(f"bands.{len(bands) - 1}.upper", "the last band must end at 100")
        )
    for index in range(1, len(bands)):
        previous, current = bands[index - 1], bands[index]
        if current.lower > previous.upper:
            problems.append(
                RuleSetProblem(
                    f"bands.{index}.lower",
                    f"gap: {previous.upper} to {current.lower} is in no band",
                )
            )
        elif current.lower < previous.upper:
            problems.append(
                RuleSetProblem(
                    f"bands.{index}.lower",
                    f"overlap: {current.lower} to {previous.upper} is in two bands",
                )
            )
    return problems


# --- warnings: allowed, but very likely a mistake ------------------------------------------

# Disclosure levels, best practice first. Element points are practice points (the engine turns
# what is missing into policy-gap risk), so each level should earn at least what the next does.
# A reverse-scored question asks about something bad (a listing, intimidating researchers): a
# "no" is the best answer there and a "full" the worst.
_NORMAL_BEST_FIRST = ("full", "partial", "no")
_REVERSE_BEST_FIRST = ("no", "partial", "full")
_FULFILMENT_BEST_FIRST = tuple(FulfilmentStatus)  # verified ... contradicted
_SCORED_TREATMENTS = frozenset({"harm", "listing"})


def ruleset_warnings(
    ruleset: RuleSet,
    reference: RuleSet | None = None,
    number_minimums: Mapping[str, float] | None = None,
) -> list[RuleSetWarning]:
    """Rules that pass validation but very likely turn the method upside down: a fuller
    disclosure or a better-borne-out claim scoring less, silence scoring better than an answer,
    a factor of 0 that makes a whole kind of evidence count for nothing, red flags gone.

    ``reference`` is the bundled default: it tells which red flags and scored evidence types
    an edit removed, and which way a number question's points run (the questionnaire does not
    say whether a higher count is better: declined deals are, forensic allegations are not).
    Without it those checks are skipped.

    ``number_minimums``: the least answer each number question takes (its questionnaire's
    ``min``), so points no answer can reach (``below_points`` under a first threshold at or
    below it) are not weighed.
    """
    minimums = number_minimums or {}
    warnings = _element_warnings(ruleset, minimums)
    warnings += _fulfilment_warnings(ruleset)
    warnings += _weightless_evidence_warnings(ruleset, reference)
    warnings += _override_warnings(ruleset, reference)
    if reference is not None and reference.questionnaire.key == ruleset.questionnaire.key:
        warnings += _number_rule_warnings(ruleset, reference, minimums)
    if reference is not None:
        warnings += _stale_reason_warnings(ruleset, reference)
    if ruleset.policy_gap.max_risk == 0:
        warnings.append(
            RuleSetWarning(
                "policy_gap.max_risk",
                "missing or unverified practice adds no risk: the questionnaire's answers still "
                "give the practice scores but no longer move the overall risk, which evidence "
                "and red flags alone set",
            )
        )
    worst = ruleset.bands[-1]
    if ruleset.policy_gap.max_risk >= worst.lower:
        # The practice gap is meant to top out below the worst band: a company reaches it on
        # evidence of harm or a red flag, never on missing answers alone.
        warnings.append(
            RuleSetWarning(
                "policy_gap.max_risk",
                f"missing practice alone can reach {ruleset.policy_gap.max_risk:g}, in the "
                f"{worst.band.value} band (from {worst.lower:g}): a company with no evidence of "
                f"harm and no red flag can read {worst.band.value} for what it did not disclose",
            )
        )
    if ruleset.actions.worsening.steps_up == 0:
        warnings.append(
            RuleSetWarning(
                "actions.worsening.steps_up",
                "a rise in risk adds no rung beyond its band's own action: engagement that is "
                "not working is escalated only when the risk crosses into a worse band",
            )
        )
    return warnings


# Sections whose reason is about the rule set as a whole, not a value beside it: a new version
# number or questionnaire version leaves "why these rules" as true as it was.
_REASONS_OF_THE_WHOLE = frozenset({"", "questionnaire"})


def _stale_reason_warnings(ruleset: RuleSet, reference: RuleSet) -> list[RuleSetWarning]:
    """Values changed under a reason kept word for word from the bundled default: the
    methodology readers get would give the default's reason for a value no longer in force
    ("each contradicted commitment takes 10 points off" over a penalty of 20). A reason for
    one value (``X_why``, or a ``why`` beside a single value: a weight, a factor, a
    severity's points) goes stale with it; a reason for several (a red flag, a band, a number
    rule) says why the rule exists, so only an old number it quotes makes it stale (a red
    flag's floor is not in its reason; a floor below the worst band is warned apart)."""
    warnings: list[RuleSetWarning] = []
    for path, reason, governed, default_reason, default_governed in _reasons_side_by_side(
        ruleset.model_dump(mode="json"), reference.model_dump(mode="json"), ""
    ):
        if reason != default_reason:
            continue
        changed = [
            (key, default_governed.get(key), value)
            for key, value in governed.items()
            if value != default_governed.get(key)
        ]
        if not changed:
            continue
        if len(governed) > 1 and not any(_quotes(reason, old) for _, old, _ in changed):
            continue
        shown = ", ".join(f"{key} {_shown(old)} -> {_shown(new)}" for key, old, new in changed)
        warnings.append(
            RuleSetWarning(
                path,
                f"the reason is the bundled default's word for word, but what it explains "
                f"changed ({shown}): the methodology readers get would give the default's "
                "reason for values no longer in force",
            )
        )
    return warnings


def _quotes(reason: str, value: Any) -> bool:
    """Whether ``reason`` writes the number ``value`` ("10" for 10.0, not inside "100")."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    written = re.escape(f"{value:g}")
    return re.search(rf"(?<![\d.]){written}(?![\d]|\.\d)", reason) is not None


def _shown(value: Any) -> str:
    return "none" if value is None else json.dumps(value, ensure_ascii=False)


def _reasons_side_by_side(
    edited: Any, default: Any, path: str
) -> Iterable[tuple[str, str, dict[str, Any], str, dict[str, Any]]]:
    """Each reason of the edited rules that the default has at the same place, with the
    values it explains on both sides: a mapping's ``why`` explains its own values, ``X_why``
    explains ``X``. List entries are paired by ``id`` or ``band`` where they have one (a
    red flag moved in the list is the same red flag), else by position."""
    if isinstance(edited, list) and isinstance(default, list):
        for index, (entry, counterpart) in enumerate(_paired(edited, default)):
            yield from _reasons_side_by_side(entry, counterpart, f"{path}.{index}".lstrip("."))
        return
    if not isinstance(edited, dict) or not isinstance(default, dict):
        return
    for key, value in edited.items():
        key = str(key)
        if key in default and isinstance(value, dict | list):
            yield from _reasons_side_by_side(value, default[key], f"{path}.{key}".lstrip("."))
        if key.endswith("_why") and key[: -len("_why")] in edited and key in default:
            explained = key[: -len("_why")]
            yield (
                f"{path}.{key}".lstrip("."),
                value,
                {explained: _values_only(edited[explained])},
                default[key],
                {explained: _values_only(default.get(explained))},
            )
    if "why" in edited and "why" in default and path not in _REASONS_OF_THE_WHOLE:
        yield (
            f"{path}.why".lstrip("."),
            edited["why"],
            _explained_by_why(edited),
            default["why"],
            _explained_by_why(default),
        )


def _paired(edited: list[Any], default: list[Any]) -> list[tuple[Any, Any]]:
    for name in ("id", "band"):
        if all(isinstance(entry, dict) and name in entry for entry in [*edited, *default]):
            by_name = {entry[name]: entry for entry in default}
            return [(entry, by_name[entry[name]]) for entry in edited if entry[name] in by_name]
    return list(zip(edited, default, strict=False))


def _explained_by_why(node: dict[str, Any]) -> dict[str, Any]:
    """What a mapping's ``why`` explains: its values, less those with a reason of their own
    (``X_why``, or a nested mapping with its ``why``)."""
    return {
        key: value
        for key, value in _values_only(node).items()
        if f"{key}_why" not in node and not (isinstance(node[key], dict) and "why" in node[key])
    }


def _values_only(value: Any) -> Any:
    """Numbers, flags and codes, without prose: rewording a description (a severity's scale, a
    red flag's lifted_when) leaves its reason as true as it was. A string with a space is
    prose; codes (evidence types, bands, actions) have none."""
    if isinstance(value, dict):
        return {
            str(key): _values_only(item)
            for key, item in value.items()
            if not (str(key) == "why" or str(key).endswith("_why"))
            and not (isinstance(item, str) and " " in item)
        }
    if isinstance(value, list):
        return [_values_only(item) for item in value if not (isinstance(item, str) and " " in item)]
    return value


def _order_warnings(
    path: str, points: Mapping[str, float], best_first: tuple[str, ...], consequence: str
) -> list[RuleSetWarning]:
    """One warning per entry that earns more than an entry ranked better than it."""
    warnings: list[RuleSetWarning] = []
    for index, entry in enumerate(best_first):
        beaten = [better for better in best_first[:index] if points[entry] > points[better]]
        if beaten:
            better = beaten[0]
            warnings.append(
                RuleSetWarning(
                    f"{path}.{entry}",
                    f'"{entry}" ({points[entry]:g}) scores more than "{better}" '
                    f"({points[better]:g}): {consequence}",
                )
            )
    return warnings


def _element_warnings(ruleset: RuleSet, minimums: Mapping[str, float]) -> list[RuleSetWarning]:
    elements = ruleset.elements
    normal = elements.normal.model_dump(exclude={"why"})
    reverse = elements.reverse.model_dump(exclude={"why"})
    warnings = _order_warnings(
        "elements.normal",
        normal,
        _NORMAL_BEST_FIRST,
        "a company that discloses less earns more practice points, so its risk falls as its "
        "disclosure does",
    )
    warnings += _order_warnings(
        "elements.reverse",
        reverse,
        _REVERSE_BEST_FIRST,
        "on a reverse-scored question (doing the thing is bad) a company that does more of it "
        "earns more practice points, so its risk falls as its conduct worsens",
    )
    # Silence must never beat the worst answer a company can give: "no" on a normal question,
    # "full" on a reverse-scored one (the bundled default scores all of them 0).
    if normal["no_information"] > normal["no"]:
        warnings.append(
            RuleSetWarning(
                "elements.normal.no_information",
                f'"no_information" ({normal["no_information"]:g}) scores more than "no" '
                f"({normal['no']:g}): a company that discloses nothing scores better than one "
                "that says it does not do this, which rewards silence",
            )
        )
    if reverse["no_information"] > reverse["full"]:
        warnings.append(
            RuleSetWarning(
                "elements.reverse.no_information",
                f'"no_information" ({reverse["no_information"]:g}) scores more than "full" '
                f"({reverse['full']:g}), the worst answer to a reverse-scored question: a "
                "company that discloses nothing scores better than one shown to do the harmful "
                "thing, which rewards silence",
            )
        )
    worst_answers = [
        ('"no"', normal["no"]),
        ('"full" on a reverse-scored question', reverse["full"]),
    ]
    worst_answers += [
        (
            f"the lowest answer to {question_id}",
            min(points for _, points in _steps(rule, minimums.get(question_id))),
        )
        for question_id, rule in ruleset.number_rules.items()
    ]
    beaten = [
        f"{answer} ({points:g})" for answer, points in worst_answers if elements.unanswered > points
    ]
    if beaten:
        warnings.append(
            RuleSetWarning(
                "elements.unanswered",
                f"an unanswered question ({elements.unanswered:g}) scores more than "
                f"{', '.join(beaten)}: leaving a question unanswered scores better than "
                "answering it, which rewards silence",
            )
        )
    return warnings


def _fulfilment_warnings(ruleset: RuleSet) -> list[RuleSetWarning]:
    values = {status.value: entry.value for status, entry in ruleset.say_do.fulfilment.items()}
    order = tuple(status.value for status in _FULFILMENT_BEST_FIRST if status.value in values)
    return [
        RuleSetWarning(f"{warning.path}.value", warning.message)
        for warning in _order_warnings(
            "say_do.fulfilment",
            values,
            order,
            "a claim less borne out by the evidence counts for more, so the say-do gap rewards "
            "the company that does less of what it says",
        )
    ]


def _weightless_evidence_warnings(
    ruleset: RuleSet, reference: RuleSet | None
) -> list[RuleSetWarning]:
    """Factors of 0 (and scored evidence types made unscored) that make a whole kind of
    evidence count for nothing, however grave the harm it documents."""
    # Red flags do not weigh items by these factors: a matching one still sets its floor.
    silenced = [
        *(
            (f"reliability.{source.value}.factor", f"evidence from {source.value} sources")
            for source, entry in ruleset.reliability.items()
            if entry.factor == 0
        ),
        *(
            (f"roles.{role.value}.factor", f'harm in which the company\'s role is "{role.value}"')
            for role, entry in ruleset.roles.items()
            if entry.factor == 0
        ),
        *(
            (f"severity.{level}.points", f"evidence of severity {level}")
            for level, anchor in ruleset.severity.items()
            if anchor.points == 0
        ),
    ]
    warnings = [
        RuleSetWarning(
            path,
            f"{what} adds no evidence risk, however grave the harm; only a red flag it matches "
            "still puts a floor under the score",
        )
        for path, what in silenced
    ]
    if reference is not None:
        for kind, rule in ruleset.evidence_types.items():
            was = reference.evidence_types.get(kind)
            if (
                was is not None
                and was.treatment in _SCORED_TREATMENTS
                and rule.treatment not in _SCORED_TREATMENTS
            ):
                warnings.append(
                    RuleSetWarning(
                        f"evidence_types.{kind.value}.treatment",
                        f"{kind.value} items are treated as {rule.treatment}, where the bundled "
                        f"default treats them as {was.treatment}: they add no risk at all",
                    )
                )
    if ruleset.evidence.remediated_factor == 0:
        warnings.append(
            RuleSetWarning(
                "evidence.remediated_factor",
                "remediated harm counts for nothing: a remedy erases the record of the harm at "
                "once, so a company with a history of abuse scores as one without",
            )
        )
    responses = ruleset.responses
    reachable = min(sum(entry.credit for entry in responses.credits.values()), responses.max_total)
    if reachable >= 1:
        warnings.append(
            RuleSetWarning(
                "responses.max_total",
                "a company's responses to an allegation can cancel the item entirely (credits "
                f"reach {reachable:g}): answering the allegation erases documented harm",
            )
        )
    return warnings


def _override_warnings(ruleset: RuleSet, reference: RuleSet | None) -> list[RuleSetWarning]:
    """No red flags, or one of the bundled default's gone: listed or proven-abuse companies
    lose the floor that holds them in the severe band whatever their weighted evidence (an
    unrated screening listing adds no evidence risk of its own: its red flag is its weight)."""
    if not ruleset.overrides:
        lost = (
            f" (the bundled default has {', '.join(o.id for o in reference.overrides)})"
            if (reference is not None and reference.overrides)
            else ""
        )
        return [
            RuleSetWarning(
                "overrides",
                f"no red flags{lost}: a company on a trade-restriction or sanctions list, or "
                "with proven targeting of journalists or defenders, gets no floor under its "
                "score",
            )
        ]
    worst = ruleset.bands[-1]
    warnings = []
    for index, override in enumerate(ruleset.overrides):
        if override.floor == 0:
            warnings.append(
                RuleSetWarning(
                    f"overrides.{index}.floor",
                    f"red flag {override.id} sets a floor of 0, so it never raises a score",
                )
            )
        elif override.floor < worst.lower:
            # The bands promise that an active red flag is the worst band; a lower floor
            # leaves a flagged company to read as its weighted evidence puts it.
            warnings.append(
                RuleSetWarning(
                    f"overrides.{index}.floor",
                    f"red flag {override.id} sets a floor of {override.floor:g}, below the "
                    f"{worst.band.value} band ({worst.lower:g}): a company it fires on can "
                    f"read {ruleset.band_for(override.floor).value}, and no longer gets "
                    f"{worst.band.value} for the red flag alone, as the {worst.band.value} "
                    f'band\'s reason says ("{worst.why}")',
                )
            )
    if reference is not None:
        warnings += _weaker_action_warnings(ruleset, reference)
        warnings += [
            RuleSetWarning(
                "overrides",
                f"the bundled default's red flag {gone.id} is gone: {_what_it_floored(gone)} no "
                f"longer get a floor of {gone.floor:g}",
            )
            for gone in reference.overrides
            if not any(_same_red_flag(gone, kept) for kept in ruleset.overrides)
        ]
    return warnings


def _weaker_action_warnings(ruleset: RuleSet, reference: RuleSet) -> list[RuleSetWarning]:
    """A red flag of the bundled default whose least action is lowered: a company on a
    trade-restriction list, or proven to have targeted journalists, can be told to do less
    than the default holds such a company needs."""
    warnings = []
    for index, override in enumerate(ruleset.overrides):
        default = next((d for d in reference.overrides if d.id == override.id), None)
        if default is None:
            continue
        if ACTION_LADDER.index(override.min_action) < ACTION_LADDER.index(default.min_action):
            warnings.append(
                RuleSetWarning(
                    f"overrides.{index}.min_action",
                    f"red flag {override.id} requires at least {override.min_action.value}, "
                    f"below the bundled default's {default.min_action.value}: "
                    f"{_what_it_floored(default)} can be told to do less",
                )
            )
    return warnings


def _same_red_flag(
    default: ListingOverride | HarmOverride, edited: ListingOverride | HarmOverride
) -> bool:
    """Whether ``edited`` is the default's red flag, under its id or renamed: of the same
    kind, firing on at least everything the default's fires on (its floor is checked apart)."""
    if edited.id == default.id:
        return True
    if edited.kind != default.kind or not set(default.evidence_types) <= set(edited.evidence_types):
        return False
    if isinstance(default, HarmOverride) and isinstance(edited, HarmOverride):
        return (
            set(default.source_classes) <= set(edited.source_classes)
            and set(default.affected_groups) <= set(edited.affected_groups)
            and edited.min_severity <= default.min_severity
        )
    return True


def _what_it_floored(override: ListingOverride | HarmOverride) -> str:
    types = " or ".join(kind.value for kind in override.evidence_types)
    if isinstance(override, ListingOverride):
        return f"companies with an active {types}"
    groups = " or ".join(group.value for group in override.affected_groups)
    return f"companies with unremediated {types} (severity {override.min_severity}+) about {groups}"


def _number_rule_warnings(
    ruleset: RuleSet, reference: RuleSet, minimums: Mapping[str, float]
) -> list[RuleSetWarning]:
    """Points that run against the direction the bundled default's rule for the same question
    gives (the questionnaire says nothing about it); questions it has no rule for are skipped."""
    warnings: list[RuleSetWarning] = []
    for question_id, rule in ruleset.number_rules.items():
        minimum = minimums.get(question_id)
        known = reference.number_rules.get(question_id)
        direction = _direction(_steps(known, minimum)) if known is not None else 0
        if direction == 0:
            continue
        for (_, before), (path, after) in itertools.pairwise(_steps(rule, minimum)):
            if (after - before) * direction < 0:
                comparison, runs, verdict = (
                    ("fewer", "more", "a better answer lower")
                    if direction > 0
                    else ("more", "fewer", "a worse answer higher")
                )
                warnings.append(
                    RuleSetWarning(
                        f"number_rules.{question_id}.{path}",
                        f"{after:g} points, {comparison} than the {before:g} of the step below: "
                        f"the bundled default gives {runs} points as {question_id} rises, so "
                        f"this scores {verdict}",
                    )
                )
    return warnings


def _steps(rule: NumberRule, minimum: float | None) -> list[tuple[str, float]]:
    """(path, points) from below the first threshold up, as the answer rises; below the first
    threshold only if an answer can be (``minimum``: the least answer the question takes)."""
    thresholds = [
        (f"thresholds.{index}.points", threshold.points)
        for index, threshold in enumerate(rule.thresholds)
    ]
    if minimum is not None and rule.thresholds[0].at_least <= minimum:
        return thresholds
    return [("below_points", rule.below_points), *thresholds]


def _direction(steps: list[tuple[str, float]]) -> int:
    """1 if points never fall and rise somewhere, -1 the other way round, 0 for neither."""
    moves = [after - before for (_, before), (_, after) in itertools.pairwise(steps)]
    if any(move > 0 for move in moves) and not any(move < 0 for move in moves):
        return 1
    if any(move < 0 for move in moves) and not any(move > 0 for move in moves):
        return -1
    return 0


def parse_ruleset_structure(data: Any, source_name: str) -> RuleSet:
    """Builds a rule set from parsed YAML/JSON data, checking its shape only (every field, its
    type and range); raises RuleSetStructureError listing every such problem. The checks across
    sections are ``semantic_problems``."""
    if not isinstance(data, Mapping):
        raise RuleSetStructureError(
            source_name, [RuleSetProblem("", "a rule set must be a mapping at the top level")]
        )
    if isinstance(data.get("content"), Mapping) and "content" not in RuleSet.model_fields:
        # The shape GET /rulesets/{id} answers with: a version around its rules.
        raise RuleSetStructureError(
            source_name,
            [
                RuleSetProblem(
                    "content",
                    "send the rules themselves (what a version's `content` holds), not a "
                    "version with its rules under `content`",
                )
            ],
        )
    try:
        return RuleSet.model_validate(data)
    except ValidationError as error:
        raise RuleSetStructureError(
            source_name,
            [
                RuleSetProblem(_location(item["loc"]), plain_error_message(item))
                for item in error.errors()
            ],
        ) from None


def parse_ruleset(data: Any, source_name: str) -> RuleSet:
    """Builds a rule set from parsed YAML/JSON data; raises RuleSetError listing every problem
    (RuleSetStructureError while its shape is wrong, as nothing else can be checked then)."""
    ruleset = parse_ruleset_structure(data, source_name)
    problems = semantic_problems(ruleset)
    if problems:
        raise RuleSetError(source_name, problems)
    return ruleset


def load_ruleset_file(path: Path | str) -> RuleSet:
    """Reads and validates one rule-set YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RuleSetError(
            path.name, [RuleSetProblem("", f"cannot read file: {error.strerror}")]
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise RuleSetError(
            path.name, [RuleSetProblem("", f"{where}not valid YAML ({error})")]
        ) from None
    return parse_ruleset(data, path.name)


def questionnaire_problems(
    ruleset: RuleSet,
    question_ids: set[str],
    scored_theme_ids: set[str],
    *,
    number_question_ids: set[str] | None = None,
) -> list[RuleSetProblem]:
    """What does not fit the questionnaire the rule set names.

    Every scored theme must be weighted, no weighted theme may be unknown, and every question
    the rule set refers to must exist; given ``number_question_ids``, a number rule must be
    for a number question (the engine would ignore any other, yet reports would print it).
    """
    problems: list[RuleSetProblem] = []
    for theme in sorted(scored_theme_ids - set(ruleset.themes)):
        problems.append(
            RuleSetProblem(f"themes.{theme}", "scored theme of the questionnaire has no weight")
        )
    for theme in ruleset.themes:
        if theme not in scored_theme_ids:
            problems.append(
                RuleSetProblem(f"themes.{theme}", "not a scored theme of the questionnaire")
            )
    for question_id in sorted(ruleset.referenced_question_ids - question_ids):
        problems.append(
            RuleSetProblem(
                f"number_rules.{question_id}",
                f"question {question_id} does not exist in questionnaire "
                f"{ruleset.questionnaire.key} {ruleset.questionnaire.version}",
            )
        )
    counted = ruleset.say_do.answers_denying_evidence
    for question_id in sorted(counted.questions if counted is not None else ()):
        path = f"say_do.answers_denying_evidence.questions.{question_id}"
        if question_id not in question_ids:
            problems.append(
                RuleSetProblem(
                    path,
                    f"question {question_id} does not exist in questionnaire "
                    f"{ruleset.questionnaire.key} {ruleset.questionnaire.version}",
                )
            )
        elif number_question_ids is not None and question_id not in number_question_ids:
            problems.append(
                RuleSetProblem(
                    path,
                    f"question {question_id} is not answered with a number, so it counts "
                    "no findings",
                )
            )
    if number_question_ids is not None:
        for question_id in sorted((set(ruleset.number_rules) & question_ids) - number_question_ids):
            problems.append(
                RuleSetProblem(
                    f"number_rules.{question_id}",
                    f"question {question_id} is not answered with a number, so a number rule "
                    "can never apply to it",
                )
            )
    return problems
