"""Rule sets: the schema of a scoring rule file, its loader and its validation.

A rule set is content (``scoring/default-v1.yaml``), not code: every number the engine uses
comes from here, and every entry carries a short ``why`` so an analyst can see the reasoning
next to the number. Validation is strict and reports every problem at once, each with the file
name and a dotted path such as ``themes.policy.weight``.

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
)

SEVERITY_LEVELS = (1, 2, 3, 4, 5)
RISK_BAND_ORDER = tuple(RiskBand)
ACTION_LADDER = tuple(InvestorAction)

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

    @model_serializer(mode="wrap")
    def _leave_out_when_unset(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        for added_later in ("company_sourced_answers", "company_sourced_closures"):
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


def _semantic_problems(ruleset: RuleSet) -> list[RuleSetProblem]:
    """Checks a structurally valid rule set for consistency across its sections."""
    problems: list[RuleSetProblem] = []

    def need_all(path: str, present: Iterable[Any], expected: Iterable[Any]) -> None:
        missing = [str(item) for item in expected if item not in set(present)]
        if missing:
            problems.append(RuleSetProblem(path, f"missing entries: {', '.join(missing)}"))

    need_all("severity", ruleset.severity, SEVERITY_LEVELS)
    need_all("decay", ruleset.decay, SEVERITY_LEVELS)
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
        if any(later <= earlier for earlier, later in itertools.pairwise(bounds)):
            problems.append(
                RuleSetProblem(f"number_rules.{name}.thresholds", "at_least must strictly rise")
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


def parse_ruleset(data: Any, source_name: str) -> RuleSet:
    """Builds a rule set from parsed YAML/JSON data; raises RuleSetError listing every problem."""
    if not isinstance(data, Mapping):
        raise RuleSetError(
            source_name, [RuleSetProblem("", "a rule set must be a mapping at the top level")]
        )
    try:
        ruleset = RuleSet.model_validate(data)
    except ValidationError as error:
        raise RuleSetError(
            source_name,
            [RuleSetProblem(_location(item["loc"]), item["msg"]) for item in error.errors()],
        ) from None
    problems = _semantic_problems(ruleset)
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


def validate_ruleset_against(
    ruleset: RuleSet,
    question_ids: set[str],
    scored_theme_ids: set[str],
    source_name: str | None = None,
    *,
    number_question_ids: set[str] | None = None,
) -> None:
    """Checks a rule set against the questionnaire it names.

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
    if number_question_ids is not None:
        for question_id in sorted((set(ruleset.number_rules) & question_ids) - number_question_ids):
            problems.append(
                RuleSetProblem(
                    f"number_rules.{question_id}",
                    f"question {question_id} is not answered with a number, so a number rule "
                    "can never apply to it",
                )
            )
    if problems:
        raise RuleSetError(source_name or f"{ruleset.id}-v{ruleset.version}", problems)
