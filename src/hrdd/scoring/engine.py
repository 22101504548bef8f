"""The scoring engine: a pure, deterministic function from a ScoreRequest to a ScoreResult.

No database, no clock, no I/O: the as-of date comes in with the request, so any score can be
reproduced later from the same inputs and rule-set version (the inputs hash proves which).

How a score is built (numbers from the rule set):
1. Commitment score: each scored, visible question earns element points; indicator = mean of
   its elements, theme = mean of its indicators, total = explicitly weighted mean of themes.
   Not applicable answers are left out, and a theme whose disclosure questions are all not
   applicable is left out whole: its count and choice questions cannot say N/A themselves.
2. Verified score: each element's points times the fulfilment value of the commitments that
   claim it (a contradicted element scores minus full points); a contradicted commitment caps
   its theme and takes a penalty off the total. Say-do gap = claimed minus verified.
3. Evidence risk: each item in effect weighs severity x reliability x role x decay x (1 -
   response credit); items combine as 1 - prod(1 - s), so more evidence never lowers risk.
   A listing without a severity (an unrated screening match) adds none: its listing red flag
   floors the score instead.
4. Policy-gap risk = max_risk x (100 - verified score) / 100: missing practice alone tops out
   below the severe band.
5. Overall risk = max(evidence risk, policy-gap risk, override floors): nothing offsets harm.
   Contributions split the winning term (incidents, or answers, commitments and theme caps)
   plus any override lift, rounded so they add up exactly to the overall score.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from hrdd.scoring.inputs import (
    AnswerDenyingEvidence,
    AnswerInput,
    CommitmentInput,
    ConfidenceDriver,
    Contribution,
    ContributionKind,
    DiffEntry,
    IncidentInput,
    OverrideFired,
    QuestionSpec,
    ScoreDiff,
    ScoreRequest,
    ScoreResult,
    SensitivityRange,
    ThemeScore,
    Trend,
    to_canonical_json,
)
from hrdd.scoring.rules import (
    ACTION_LADDER,
    RISK_BAND_ORDER,
    HarmOverride,
    ListingOverride,
    RuleSet,
    RuleTables,
)
from hrdd.vocab import (
    DISCLOSURE_LEVEL_WORDS,
    THE_COMPANYS_WORD,
    Confidence,
    DisclosureLevel,
    FulfilmentStatus,
    InvestorAction,
    ResponseKind,
    RiskBand,
    words_of,
)

_LN2 = math.log(2)
# Enum member lookups are slow in hot loops; bind them once.
_NOT_APPLICABLE = DisclosureLevel.not_applicable
_CONFIDENCE_ORDER = (Confidence.low, Confidence.medium, Confidence.high)
ACTION_WORDS = {
    InvestorAction.monitor: "monitor",
    InvestorAction.engage: "engage the company with time-bound asks",
    InvestorAction.escalate_collectively: "escalate together with other investors",
    InvestorAction.vote_or_file_resolution: "vote against management or file a resolution",
    InvestorAction.divest_or_exclude: "divest or exclude, as the last resort",
}
# A company whose shares are not listed holds no shareholder vote: the same rung is the
# investor's governance rights there (STAP: the fund manager, the LP advisory committee, side
# letters).
GOVERNANCE_RIGHTS_WORDS = (
    "use governance rights (the fund manager, the LP advisory committee, side-letter terms)"
)


def reason_for_unlisted(reason: str) -> str:
    """An action reason worded for a company whose shares are not listed."""
    return reason.replace(
        ACTION_WORDS[InvestorAction.vote_or_file_resolution], GOVERNANCE_RIGHTS_WORDS
    )


# The least an investor should do about a company scored on its evidence alone (UNGP 17: due
# diligence starts with finding out; a quiet evidence record is not a clean one).
UNASSESSED_MIN_ACTION = InvestorAction.engage


class ScoringInputError(ValueError):
    """Inputs that do not fit the rule set (e.g. a scored theme the rule set does not weigh)."""


# --- small helpers ----------------------------------------------------------------------------


def _tenths(value: float) -> int:
    """Rounds half up to whole tenths; scores are reported with one decimal place."""
    return math.floor(value * 10 + 0.5)


def _decimal(tenths: int) -> Decimal:
    return Decimal(tenths).scaleb(-1)


def _score(value: float) -> Decimal:
    return _decimal(_tenths(value))


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _allocate(values: Sequence[float], total_tenths: int) -> list[int]:
    """Largest-remainder rounding: integer tenths per value that sum exactly to the total."""
    scaled = [max(value, 0.0) * 10 for value in values]
    floors = [math.floor(value) for value in scaled]
    shortfall = total_tenths - sum(floors)
    # Ties go to the earlier item, so the allocation is deterministic.
    by_remainder = sorted(range(len(values)), key=lambda i: (floors[i] - scaled[i], i))
    index = 0
    while shortfall > 0 and by_remainder:
        floors[by_remainder[index % len(by_remainder)]] += 1
        shortfall -= 1
        index += 1
    index = len(by_remainder) - 1
    while shortfall < 0 and any(floors):
        target = by_remainder[index % len(by_remainder)]
        if floors[target] > 0:
            floors[target] -= 1
            shortfall += 1
        index -= 1
    if shortfall:
        raise ArithmeticError("contributions cannot be allocated to the overall score")
    return floors


# --- evidence ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _ScoredItem:
    """An evidence item in effect at the as-of date that adds risk, with its constants."""

    incident: IncidentInput
    base: float
    known: int
    severity: int
    reliability: float
    half_life: float
    floor: float
    remediated_at: int | None
    # (day, credit earned by then), ascending; credits of distinct response kinds, capped.
    credit_steps: tuple[tuple[int, float], ...]
    value_now: float = 0.0


def _credit_steps(incident: IncidentInput, rules: RuleSet) -> tuple[tuple[int, float], ...]:
    steps: list[tuple[int, float]] = []
    seen: set[ResponseKind] = set()
    credit = 0.0
    for response in incident.responses:  # sorted by date on construction
        if response.kind in seen:
            continue
        seen.add(response.kind)
        credit = min(credit + rules.tables.credit[response.kind], rules.responses.max_total)
        steps.append((response.date.toordinal(), credit))
    return tuple(steps)


@dataclass(slots=True)
class _Evidence:
    items: list[_ScoredItem]
    ignored_ids: tuple[str, ...]
    known: dict[str, int]
    notes: tuple[str, ...]
    # Listings in effect without a severity, with the day they were closed (if they were).
    unrated_listings: list[tuple[IncidentInput, int | None]]


# What each closing treatment closes: a remedy ends harm, the end of a listing ends listings.
_CLOSES = {"remediation": "harm", "closes_listing": "listing"}


def _prepare_evidence(
    incidents: Iterable[IncidentInput], rules: RuleSet, as_of: dt.date
) -> _Evidence:
    tables = rules.tables
    cutoff = as_of.toordinal()
    known = {incident.id: incident.known_date.toordinal() for incident in incidents}
    in_effect = [incident for incident in incidents if known[incident.id] <= cutoff]
    ignored = tuple(incident.id for incident in incidents if known[incident.id] > cutoff)

    remediated_at: dict[str, int] = {}
    notes: list[str] = []

    def remediate(incident_id: str, day: int) -> None:
        if incident_id not in remediated_at or day < remediated_at[incident_id]:
            remediated_at[incident_id] = day

    by_id = {incident.id: incident for incident in in_effect}
    listings_by_key: dict[str, list[IncidentInput]] = defaultdict(list)
    for incident in in_effect:
        if incident.remediated_date is not None:
            remediate(incident.id, incident.remediated_date.toordinal())
        if tables.treatment[incident.type] == "listing" and incident.listing is not None:
            listings_by_key[incident.listing.list_key].append(incident)

    for incident in in_effect:
        treatment = tables.treatment[incident.type]
        day = known[incident.id]
        if (
            treatment in ("closes_listing", "remediation")
            and rules.say_do.company_sourced_closures is not None
            and incident.source_class in THE_COMPANYS_WORD
        ):
            notes.append(
                f"incident {incident.id}: this {incident.type} rests on the company's own word "
                "(no independent source), so under these rules it closes nothing"
            )
            continue
        if treatment == "closes_listing":
            if incident.listing is None and not incident.closes:
                notes.append(
                    f"incident {incident.id}: this {incident.type} names no list and closes "
                    "nothing, so it lifts no listing; give it listing.list_name or closes"
                )
            if incident.listing is not None and not incident.closes:
                # Only a closing item that names no item ends listings by its list: one that
                # names items in closes (a screening delisting names the listing of its
                # record) ends those alone, so other entries of the list stay in force.
                for listed in listings_by_key.get(incident.listing.list_key, ()):
                    # A delisting only ends listings made before it, never a later re-listing.
                    if known[listed.id] <= day:
                        remediate(listed.id, day)
        elif treatment == "remediation":
            if not incident.closes:
                notes.append(
                    f"incident {incident.id}: this remediation names no item in closes, so "
                    "it remediates nothing"
                )
        elif incident.closes:
            # The evidence says what the item closes; a rule set that does not count the type
            # as closing (remediation as neutral, say) decides it lifts nothing.
            notes.append(
                f"incident {incident.id}: this rule set treats {incident.type} as {treatment}, "
                "so the items it closes stay as they are"
            )
            continue
        for closed_id in incident.closes:
            closed = by_id.get(closed_id)
            if closed is not None and tables.treatment[closed.type] != _CLOSES[treatment]:
                # Validation refuses such a pair; one stored before it did must not clear harm.
                notes.append(
                    f"incident {incident.id}: a {incident.type} cannot close {closed_id}, a "
                    f"{closed.type}, so that item stays as it is"
                )
                continue
            remediate(closed_id, day)

    items: list[_ScoredItem] = []
    unrated: list[tuple[IncidentInput, int | None]] = []
    for incident in in_effect:
        treatment = tables.treatment[incident.type]
        if treatment not in ("harm", "listing"):
            continue
        if incident.severity is None and treatment == "listing":
            # A list entry no one has rated (screening imports record entries as listed): the
            # rule set's listing red flags give it its weight; a severity is never guessed.
            unrated.append((incident, remediated_at.get(incident.id)))
            notes.append(_unrated_note(incident, rules, remediated_at.get(incident.id), cutoff))
            continue
        if incident.severity is None:
            raise ScoringInputError(
                f"incident {incident.id}: a {incident.type} item needs a severity (1 to 5)"
            )
        reliability = tables.reliability[incident.source_class]
        items.append(
            _ScoredItem(
                incident=incident,
                base=tables.severity_share[incident.severity]
                * reliability
                * tables.role[incident.role],
                known=known[incident.id],
                severity=incident.severity,
                reliability=reliability,
                half_life=tables.half_life_days[incident.severity],
                floor=tables.decay_floor[incident.severity],
                remediated_at=remediated_at.get(incident.id),
                credit_steps=_credit_steps(incident, rules),
            )
        )
    return _Evidence(items, ignored, known, tuple(notes), unrated)


def _unrated_note(incident: IncidentInput, rules: RuleSet, ended_at: int | None, as_of: int) -> str:
    """Why an unrated listing adds no risk of its own, and whether a red flag counts it: only
    while it is in force, so one ended by the as-of date (``ended_at``, an ordinal) says so."""
    flags = [
        rule.id
        for rule in rules.overrides
        if isinstance(rule, ListingOverride) and incident.type in rule.evidence_types
    ]
    if not flags:
        counts = "no listing red flag of this rule set covers it"
    elif ended_at is not None and ended_at <= as_of:
        ended = dt.date.fromordinal(ended_at).isoformat()
        counts = f"the listing ended on {ended}, so it no longer counts through {', '.join(flags)}"
    else:
        counts = f"it counts through {', '.join(flags)} while the listing is active"
    return (
        f"incident {incident.id}: this {incident.type} has no severity, so it adds no evidence "
        f"risk of its own; {counts}. Give it a severity to weigh it as harm too"
    )


def _item_value(
    item: _ScoredItem, day: int, remediated_factor: float, half_life_factor: float
) -> float:
    """Weight of one item (0..1) as seen on `day`, an ordinal no earlier than its known date."""
    decay = math.exp(-_LN2 * (day - item.known) / (item.half_life * half_life_factor))
    if item.remediated_at is None or item.remediated_at > day:
        if decay < item.floor:
            decay = item.floor
    else:
        decay *= remediated_factor
    credit = 0.0
    for when, earned in item.credit_steps:
        if when > day:
            break
        credit = earned
    return item.base * decay * (1 - credit)


def _evidence_risk_on(
    items: Sequence[_ScoredItem], day: int, rules: RuleSet, half_life_factor: float = 1.0
) -> float:
    """1 - prod(1 - s): each item only ever adds, and the total stays below 100."""
    remediated_factor = rules.evidence.remediated_factor
    remaining = 1.0
    for item in items:
        if item.known <= day:
            value = _item_value(item, day, remediated_factor, half_life_factor)
            remaining *= 1 - (value if value < 1 else 1.0)
    return 100 * (1 - remaining)


def _evidence_peak(
    items: Sequence[_ScoredItem], as_of: int, current: float, rules: RuleSet
) -> tuple[float, int]:
    """Highest evidence risk in the window before the as-of date.

    Between two items becoming known the risk only falls (decay, remediation, responses), so
    the peak is at the window start or on a day an item became known.
    """
    start = as_of - rules.evidence.peak_window_days
    candidates = {start} | {item.known for item in items if start < item.known < as_of}
    peak, peak_day = current, as_of
    for day in sorted(candidates):
        value = _evidence_risk_on(items, day, rules)
        if value > peak:
            peak, peak_day = value, day
    return peak, peak_day


# --- commitments and answers -----------------------------------------------------------------


@dataclass(slots=True)
class _Element:
    question: QuestionSpec
    claimed: float
    verified: float
    state: str
    fulfilment: float
    # The recorded commitments that set ``fulfilment`` (those counted lowest).
    claimed_by: tuple[_CommitmentState, ...]
    # Why no recorded commitment but the answer's sources set ``fulfilment``: they are all the
    # company's own ("company"), or none can be checked ("unsourced").
    sourcing: Literal["company", "unsourced"] | None = None


@dataclass(slots=True)
class _Theme:
    theme: str
    weight: float
    indicators: dict[str, list[_Element]] = field(default_factory=dict)
    applicable: int = 0
    answered: int = 0
    claimed: float = 0.0
    verified_raw: float = 0.0
    verified_clamped: float = 0.0
    verified: float = 0.0
    capped_by: tuple[str, ...] = ()


@dataclass(slots=True)
class _Policy:
    themes: list[_Theme]
    claimed: float
    verified: float
    contradicted: list[_CommitmentState]
    penalty: float
    applicable: int
    answered: int
    # Of those answered, how many say no information was found.
    without_information: int
    answer_dates: list[dt.date]
    denying_evidence: list[AnswerDenyingEvidence]


@dataclass(slots=True)
class _CommitmentState:
    commitment: CommitmentInput
    status: FulfilmentStatus
    value: float
    contradicted_by: tuple[str, ...]


def _commitment_states(
    commitments: Iterable[CommitmentInput], evidence: _Evidence, rules: RuleSet, as_of: dt.date
) -> list[_CommitmentState]:
    fulfilment = rules.tables.fulfilment
    cutoff = as_of.toordinal()
    states = []
    for commitment in commitments:
        if commitment.date > as_of:
            continue
        status = commitment.fulfilment
        contradicting: tuple[str, ...] = ()
        if status is FulfilmentStatus.contradicted:
            contradicting = tuple(
                incident_id
                for incident_id in commitment.contradicted_by
                if evidence.known[incident_id] <= cutoff
            )
            if not contradicting:
                status = rules.say_do.before_contradiction_known
        states.append(_CommitmentState(commitment, status, fulfilment[status], contradicting))
    return states


def _claimed_points(
    question: QuestionSpec, answer: AnswerInput | None, rules: RuleSet, tables: RuleTables
) -> tuple[float | None, str] | None:
    """(points, state) of a scored element; points None = not applicable; None = unscored."""
    kind = question.answer_type
    if kind == "disclosure":
        level = None if answer is None else answer.disclosure
        if level is None:
            return rules.elements.unanswered, "unanswered"
        if level is _NOT_APPLICABLE:
            return None, "not applicable"
        table = tables.reverse_points if question.reverse_scored else tables.normal_points
        return table[level], level
    if kind in ("single_choice", "multiple_choice"):
        if answer is None or not answer.options:
            return rules.elements.unanswered, "unanswered"
        points = [question.option_points[option] for option in answer.options]
        how = rules.elements.multiple_choice
        if how == "min":
            value = min(points)
        elif how == "max":
            value = max(points)
        else:
            value = sum(points) / len(points)
        return value, "chose " + ", ".join(answer.options)
    if kind == "number":
        number_rule = rules.number_rules.get(question.id)
        if number_rule is None:
            return None
        if answer is None or answer.number is None:
            return rules.elements.unanswered, "unanswered"
        return number_rule.points_for(answer.number), f"number {answer.number:g}"
    return None


def _themes_not_applicable(
    questions: Iterable[QuestionSpec], answers: dict[str, AnswerInput]
) -> set[str]:
    """Themes whose visible scored disclosure questions were all answered not applicable.

    Only disclosure questions can be answered N/A. Without this, a theme that does not apply
    (contract terms, for a firm that sells no surveillance product) would be scored on the
    count or choice question beside them alone, so the N/A answers would turn into a gap.
    """
    applies: dict[str, bool] = {}
    for question in questions:
        if not question.scored or question.answer_type != "disclosure":
            continue
        answer = answers.get(question.id)
        if answer is not None and not answer.visible:
            continue
        not_applicable = answer is not None and answer.disclosure is _NOT_APPLICABLE
        applies[question.theme] = applies.get(question.theme, False) or not not_applicable
    return {theme for theme, any_applies in applies.items() if not any_applies}


def _policy(request: ScoreRequest, commitments: list[_CommitmentState]) -> _Policy:
    rules = request.ruleset
    tables = rules.tables
    answers = {answer.question_id: answer for answer in request.answers}
    questions = {question.id: question for question in request.questions}
    moot_themes = _themes_not_applicable(request.questions, answers)

    by_question: dict[str, list[_CommitmentState]] = defaultdict(list)
    caps: dict[str, set[str]] = defaultdict(set)
    contradicted = [s for s in commitments if s.status is FulfilmentStatus.contradicted]
    for state in commitments:
        for question_id in state.commitment.question_ids:
            by_question[question_id].append(state)
    for state in contradicted:
        for question_id in state.commitment.question_ids:
            caps[questions[question_id].theme].add(state.commitment.id)
    penalty = rules.say_do.contradiction_penalty * len(contradicted)
    denying_evidence = _answers_denying_evidence(request, answers)
    for denying in denying_evidence:
        caps[questions[denying.question_id].theme].add(denying.question_id)

    themes = {theme: _Theme(theme, weight) for theme, weight in tables.theme_weights.items()}
    sourced = rules.say_do.company_sourced_answers
    unsourced = rules.say_do.unsourced_answers
    applicable = answered = without_information = 0
    answer_dates: list[dt.date] = []
    for question in request.questions:
        if not question.scored:
            continue
        answer = answers.get(question.id)
        if answer is not None and not answer.visible:
            continue
        claimed = _claimed_points(question, answer, rules, tables)
        if claimed is None:
            continue
        if question.theme in moot_themes and question.answer_type != "disclosure":
            claimed = None, "not applicable: no disclosure question of its theme applies"
        theme = themes.get(question.theme)
        if theme is None:
            raise ScoringInputError(
                f"question {question.id}: theme {question.theme!r} has no weight in rule set "
                f"{rules.id} v{rules.version}"
            )
        points, state = claimed
        applicable += 1
        theme.applicable += 1
        if state != "unanswered":
            answered += 1
            theme.answered += 1
            without_information += state == DisclosureLevel.no_information
            if answer is not None and answer.answered_on is not None:
                answer_dates.append(answer.answered_on)
        if points is None:
            continue
        linked = by_question.get(question.id)
        sourcing: Literal["company", "unsourced"] | None = None
        if linked:
            # A recorded commitment's status is the analyst's judgement of the claim: it stands
            # over whatever the answer cites.
            fulfilment = min(s.value for s in linked)
            claimed_by = tuple(s for s in linked if s.value == fulfilment)
        elif sourced is not None and answer is not None and answer.company_sources_only:
            fulfilment, claimed_by = tables.fulfilment[sourced.status], ()
            sourcing = "company"
        elif unsourced is not None and answer is not None and answer.unsourced:
            fulfilment, claimed_by = tables.fulfilment[unsourced.status], ()
            sourcing = "unsourced"
        else:
            # The answer rests on evidence beyond the company's word.
            fulfilment, claimed_by = 1.0, ()
        # A contradicted claim scores minus full points whatever was claimed, so claiming more
        # can never make a contradiction look better or worse.
        verified = points * fulfilment if fulfilment >= 0 else fulfilment * 100
        theme.indicators.setdefault(question.indicator, []).append(
            _Element(question, points, verified, state, fulfilment, claimed_by, sourcing)
        )

    cap = rules.say_do.contradicted_theme_cap
    scored_themes = []
    for theme in themes.values():
        if not theme.indicators:
            continue
        claimed_sum = verified_sum = 0.0
        for elements in theme.indicators.values():
            claimed_sum += sum(element.claimed for element in elements) / len(elements)
            verified_sum += sum(element.verified for element in elements) / len(elements)
        theme.claimed = claimed_sum / len(theme.indicators)
        theme.verified_raw = verified_sum / len(theme.indicators)
        theme.verified_clamped = min(max(theme.verified_raw, 0.0), 100.0)
        theme.verified = theme.verified_clamped
        if theme.theme in caps:
            theme.capped_by = tuple(sorted(caps[theme.theme]))
            theme.verified = min(theme.verified, cap)
        scored_themes.append(theme)

    claimed_total, verified_total = _weighted_totals(scored_themes, penalty)
    return _Policy(
        scored_themes,
        claimed_total,
        verified_total,
        contradicted,
        penalty,
        applicable,
        answered,
        without_information,
        answer_dates,
        denying_evidence,
    )


def _answers_denying_evidence(
    request: ScoreRequest, answers: dict[str, AnswerInput]
) -> list[AnswerDenyingEvidence]:
    """Visible answers of none (0 allegations) while the evidence known on the scoring date
    holds items of what the rule set says they count (four lab-confirmed forensic findings):
    the evidence contradicts them."""
    rule = request.ruleset.say_do.answers_denying_evidence
    if rule is None:
        return []
    asked = {question.id for question in request.questions}
    found = []
    for question_id, counted_evidence in sorted(rule.questions.items()):
        answer = answers.get(question_id)
        if question_id not in asked or answer is None or not answer.visible:
            continue
        if answer.number != 0:
            continue
        classes = counted_evidence.source_classes
        counted = sorted(
            incident.id
            for incident in request.incidents
            if incident.type in counted_evidence.evidence_types
            and (classes is None or incident.source_class in classes)
            and incident.known_date <= request.as_of
        )
        if counted:
            found.append(
                AnswerDenyingEvidence(
                    question_id=question_id,
                    evidence_count=len(counted),
                    counted=counted_evidence.words,
                    incident_ids=tuple(counted),
                )
            )
    return found


def _weighted_totals(themes: Sequence[_Theme], penalty: float) -> tuple[float, float]:
    total_weight = sum(theme.weight for theme in themes)
    if not total_weight:
        return 0.0, 0.0
    claimed = sum(theme.weight * theme.claimed for theme in themes) / total_weight
    verified = sum(theme.weight * theme.verified for theme in themes) / total_weight
    return claimed, max(verified - penalty, 0.0)


def _policy_risk(verified: float, rules: RuleSet) -> float:
    return rules.policy_gap.max_risk * (100 - verified) / 100


# --- contributions ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Raw:
    kind: ContributionKind
    ref: str
    value: float
    reason: str
    theme: str | None = None


def _evidence_contributions(
    items: Sequence[_ScoredItem], risk: float, as_of: int, rules: RuleSet
) -> list[_Raw]:
    live = [item for item in items if item.value_now > 0]
    saturated = [item for item in live if item.value_now >= 1]
    if saturated:
        shares = {id(item): 1 / len(saturated) for item in saturated}
    else:
        logs = {id(item): -math.log1p(-item.value_now) for item in live}
        total = sum(logs.values())
        shares = {key: value / total for key, value in logs.items()} if total else {}
    raws = []
    for item in live:
        share = shares.get(id(item), 0.0)
        if share <= 0:
            continue
        incident = item.incident
        age = as_of - item.known
        remediated = item.remediated_at is not None and item.remediated_at <= as_of
        reason = (
            f"{incident.type} ({incident.event_date.isoformat()}), severity {item.severity}, "
            f"{incident.source_class} x{item.reliability:g}, {incident.role} "
            f"x{rules.tables.role[incident.role]:g}, {age} days old, "
            f"{'remediated' if remediated else 'not remediated'}: weighs "
            f"{_fmt(100 * item.value_now)} alone"
        )
        raws.append(_Raw("incident", incident.id, risk * share, reason))
    return raws


def _discounted_answers(
    policy: _Policy, sourcing: Literal["company", "unsourced"]
) -> tuple[str, ...]:
    """Questions whose claims lost points for their sources: all the company's own
    (``company``), or none anyone can check (``unsourced``)."""
    return tuple(
        element.question.id
        for theme in policy.themes
        for elements in theme.indicators.values()
        for element in elements
        if element.sourcing == sourcing and element.verified < element.claimed
    )


# How a contribution says why an answer's sources cost it points.
_SOURCING_WORDS = {
    "company": "its sources are all the company's own",
    "unsourced": (
        "no source it cites names a publisher, an address or whose it is, but as the "
        "company's own (it cites none, or uploaded files naming none of them)"
    ),
}


def _policy_contributions(policy: _Policy, risk: float, rules: RuleSet) -> list[_Raw]:
    """Splits the policy-gap risk over answers, commitments and theme caps."""
    total_weight = sum(theme.weight for theme in policy.themes)
    raws: list[_Raw] = []
    if not policy.themes:
        raws.append(
            _Raw("theme", "all", 100.0, "no scored question applies, so nothing is verified")
        )
    for theme in policy.themes:
        share = theme.weight / total_weight
        element_shortfall = 100 - theme.verified_clamped
        pieces: list[tuple[_Element, float, float]] = []
        raw_total = 0.0
        for elements in theme.indicators.values():
            element_weight = 1 / (len(theme.indicators) * len(elements))
            for element in elements:
                answer_part = element_weight * (100 - element.claimed)
                commitment_part = element_weight * (element.claimed - element.verified)
                pieces.append((element, answer_part, commitment_part))
                raw_total += answer_part + commitment_part
        # Clamping a negative verified theme at 0 shrinks its elements' shares in proportion.
        scale = share * element_shortfall / raw_total if raw_total > 0 else 0.0
        for element, answer_part, commitment_part in pieces:
            # Discounted with no commitment claiming it: the answer's sources cost it points.
            sourcing_part = commitment_part if element.sourcing is not None else 0.0
            if answer_part + sourcing_part > 0:
                reason = f"{_answer_said(element.state)}: {_fmt(element.claimed)} of 100 points"
                if element.sourcing is not None and sourcing_part > 0:
                    reason += (
                        f"; {_SOURCING_WORDS[element.sourcing]}, so it counts at "
                        f"{element.fulfilment:g}: scores {_fmt(element.verified)}"
                    )
                raws.append(
                    _Raw(
                        "answer",
                        element.question.id,
                        (answer_part + sourcing_part) * scale,
                        reason,
                        theme.theme,
                    )
                )
            if commitment_part > 0 and element.claimed_by:
                each = commitment_part * scale / len(element.claimed_by)
                for state in element.claimed_by:
                    raws.append(
                        _Raw(
                            "commitment",
                            state.commitment.id,
                            each,
                            _claim_reason(element, state.status),
                            theme.theme,
                        )
                    )
        if theme.verified < theme.verified_clamped:
            raws.append(
                _Raw(
                    "theme",
                    theme.theme,
                    share * (theme.verified_clamped - theme.verified),
                    f"capped at {_fmt(theme.verified)}: contradicted "
                    + ", ".join(_capping_claim(name, policy) for name in theme.capped_by),
                    theme.theme,
                )
            )
    penalty = rules.say_do.contradiction_penalty
    for state in policy.contradicted:
        raws.append(
            _Raw(
                "commitment",
                state.commitment.id,
                penalty,
                f"contradicted by {', '.join(state.contradicted_by)}: {penalty:g} point penalty",
            )
        )
    shortfall = sum(raw.value for raw in raws)
    scale = risk / shortfall if shortfall > 0 else 0.0
    for raw in raws:
        raw.value *= scale
    return _merge(raws)


def _capping_claim(name: str, policy: _Policy) -> str:
    """A claim that caps a theme, in a contribution: a commitment by its id, an answer of none
    with what the evidence holds."""
    for denying in policy.denying_evidence:
        if denying.question_id == name:
            return (
                f"{name} (answered 0; the evidence holds {denying.evidence_count} "
                f"{denying.counted})"
            )
    return name


def _answer_said(state: str) -> str:
    """An element's answer in a reason: a disclosure level in the report's words (the level's
    identifier, "no_information", read as code in the user test), other states as they are."""
    words = DISCLOSURE_LEVEL_WORDS.get(state)
    return state if words is None else f'answered "{words}"'


def _claim_reason(element: _Element, status: FulfilmentStatus) -> str:
    """A commitment's part in an answer's shortfall, in the words of its status: a contradicted
    claim read "verified at -1" in the user test."""
    # Below 0 the value is not a share of the points: the claim scores it times 100 whatever
    # was claimed (see _policy), so "counts at" would mislead.
    counts = f", counts at {element.fulfilment:g}" if element.fulfilment >= 0 else ""
    return (
        f"claim on {element.question.id} {words_of(status)}{counts}: scores "
        f"{_fmt(element.verified)} instead of {_fmt(element.claimed)}"
    )


def _merge(raws: list[_Raw]) -> list[_Raw]:
    merged: dict[tuple[str, str], _Raw] = {}
    for raw in raws:
        key = (raw.kind, raw.ref)
        if key in merged:
            existing = merged[key]
            existing.value += raw.value
            if raw.reason not in existing.reason:
                existing.reason += f"; {raw.reason}"
            if raw.theme != existing.theme:
                existing.theme = None  # a commitment spanning themes belongs to none of them
        else:
            merged[key] = _Raw(raw.kind, raw.ref, raw.value, raw.reason, raw.theme)
    return list(merged.values())


def _finalise(raws: list[_Raw], overall_tenths: int) -> tuple[Contribution, ...]:
    raws = [raw for raw in raws if raw.value > 0]
    allocated = _allocate([raw.value for raw in raws], overall_tenths)
    contributions = [
        Contribution(
            kind=raw.kind, ref=raw.ref, points=_decimal(tenths), theme=raw.theme, reason=raw.reason
        )
        for raw, tenths in zip(raws, allocated, strict=True)
    ]
    contributions.sort(key=lambda c: (-c.points, c.kind, c.ref))
    return tuple(contributions)


# --- overrides, confidence, sensitivity, action, diff ----------------------------------------


def _overrides(evidence: _Evidence, rules: RuleSet, as_of: int) -> list[OverrideFired]:
    """Red flags in effect on ``as_of`` (an ordinal): of the items known by then."""
    fired = []
    candidates: list[tuple[IncidentInput, int | None, int | None]] = [
        (item.incident, item.remediated_at, item.severity)
        for item in evidence.items
        if item.known <= as_of
    ]
    candidates += [
        (incident, closed, None)
        for incident, closed in evidence.unrated_listings
        if evidence.known[incident.id] <= as_of
    ]
    for rule in rules.overrides:
        matched = []
        for incident, remediated_at, severity in candidates:
            if remediated_at is not None and remediated_at <= as_of:
                continue
            if incident.type not in rule.evidence_types:
                continue
            # A harm red flag needs a severity to compare; a listing one fires on the entry.
            if isinstance(rule, HarmOverride) and not (
                incident.source_class in rule.source_classes
                and set(incident.affected_groups) & set(rule.affected_groups)
                and severity is not None
                and severity >= rule.min_severity
            ):
                continue
            matched.append(incident)
        if matched:
            fired.append(_fired(rule, matched))
    return fired


def _fired(rule: ListingOverride | HarmOverride, matched: list[IncidentInput]) -> OverrideFired:
    if isinstance(rule, ListingOverride):
        lists = sorted({i.listing.list_name for i in matched if i.listing is not None})
        what = "active listing" + (f" on {', '.join(lists)}" if lists else "")
    else:
        groups = sorted(
            {g for i in matched for g in i.affected_groups if g in rule.affected_groups}
        )
        kinds = ", ".join(words_of(kind) for kind in rule.evidence_types)
        what = f"unremediated {kinds} affecting {', '.join(words_of(g) for g in groups)}"
    ids = tuple(incident.id for incident in matched)
    return OverrideFired(
        rule_id=rule.id,
        floor=_score(rule.floor),
        incident_ids=ids,
        # The items are named by incident_ids; readers show their titles beside the reason.
        reason=f"{what}: risk floor {rule.floor:g}",
        lifted_when=rule.lifted_when,
    )


def _level(value: float, high: float, medium: float) -> Confidence:
    if value >= high:
        return Confidence.high
    return Confidence.medium if value >= medium else Confidence.low


def _confidence(
    policy: _Policy, evidence: _Evidence, rules: RuleSet, as_of: dt.date
) -> tuple[Confidence, tuple[ConfidenceDriver, ...]]:
    settings = rules.confidence
    drivers = []
    if policy.applicable:
        covered, reason = policy.answered, "answered"
        no_information = settings.no_information
        if no_information is not None and not no_information.counts_as_answered:
            covered -= policy.without_information
            reason = "answered with information found"
            if policy.without_information:
                reason += f" ({policy.without_information} more say none was found)"
        coverage = covered / policy.applicable
        drivers.append(
            ConfidenceDriver(
                name="coverage",
                value=round(coverage, 4),
                level=_level(
                    coverage, settings.coverage.high_at_least, settings.coverage.medium_at_least
                ),
                reason=f"{covered} of {policy.applicable} scored questions {reason}",
            )
        )
    else:
        drivers.append(
            ConfidenceDriver(
                name="coverage",
                value=None,
                level=Confidence.low,
                reason="no scored question applies to this company",
            )
        )
    factors = [item.reliability for item in evidence.items] + [
        rules.tables.reliability[incident.source_class] for incident, _ in evidence.unrated_listings
    ]
    if factors:
        reliability = sum(factors) / len(factors)
        drivers.append(
            ConfidenceDriver(
                name="reliability",
                value=round(reliability, 4),
                level=_level(
                    reliability,
                    settings.reliability.high_at_least,
                    settings.reliability.medium_at_least,
                ),
                reason=f"mean source reliability of {len(factors)} item(s) in effect",
            )
        )
    else:
        drivers.append(
            ConfidenceDriver(
                name="reliability",
                value=None,
                level=None,
                reason="no evidence items in effect; not rated",
            )
        )
    freshness = settings.freshness
    if policy.answer_dates:
        stale = sum(
            1 for day in policy.answer_dates if (as_of - day).days > freshness.stale_after_days
        )
        share = stale / len(policy.answer_dates)
        if share <= freshness.high_at_most_stale_share:
            level = Confidence.high
        elif share <= freshness.medium_at_most_stale_share:
            level = Confidence.medium
        else:
            level = Confidence.low
        drivers.append(
            ConfidenceDriver(
                name="freshness",
                value=round(share, 4),
                level=level,
                reason=f"{stale} of {len(policy.answer_dates)} dated answers older than "
                f"{freshness.stale_after_days} days",
            )
        )
    else:
        drivers.append(
            ConfidenceDriver(
                name="freshness",
                value=None,
                level=None,
                reason="no answer carries a date; not rated",
            )
        )
    rated = [driver.level for driver in drivers if driver.level is not None]
    return min(rated, key=_CONFIDENCE_ORDER.index), tuple(drivers)


def _sensitivity(
    policy: _Policy,
    evidence: _Evidence,
    rules: RuleSet,
    as_of: int,
    evidence_risk: float,
    floor: float,
    overall: float,
    assessed: bool,
) -> SensitivityRange:
    settings = rules.sensitivity
    penalty = policy.penalty
    outcomes = [overall]
    policy_risk = _policy_risk(policy.verified, rules) if assessed else 0.0
    total_weight = sum(theme.weight for theme in policy.themes)
    weighted = sum(theme.weight * theme.verified for theme in policy.themes)
    for theme in policy.themes if assessed else ():
        for factor in settings.weight_factors:
            extra = (factor - 1) * theme.weight
            verified = (weighted + extra * theme.verified) / (total_weight + extra) - penalty
            outcomes.append(max(evidence_risk, _policy_risk(max(verified, 0.0), rules), floor))
    for factor in settings.half_life_factors:
        varied = _evidence_risk_on(evidence.items, as_of, rules, factor)
        outcomes.append(max(varied, policy_risk, floor))
    low, high = _score(min(outcomes)), _score(max(outcomes))
    return SensitivityRange(
        low=low,
        high=high,
        variants=len(outcomes) - 1,
        reason=(
            f"overall stays between {low} and {high} when each theme weight is scaled by "
            f"{', '.join(f'{f:g}' for f in settings.weight_factors)} and all half-lives by "
            f"{', '.join(f'{f:g}' for f in settings.half_life_factors)}"
        ),
    )


def _same_rules(previous: ScoreResult, rules: RuleSet) -> bool:
    """Whether the previous score was made with these rules: the same key and number, and the
    same content where the previous score recorded it (a bundled version and an organisation's
    own may share a key and number)."""
    return (previous.ruleset_id, previous.ruleset_version) == (rules.id, rules.version) and (
        previous.ruleset_hash is None or previous.ruleset_hash == rules.content_hash
    )


def _rules_label(ruleset_id: str, version: int, content_hash: str | None) -> str:
    return f"{ruleset_id} v{version}" + (f" ({content_hash[:12]})" if content_hash else "")


def _same_basis(request: ScoreRequest) -> bool:
    return request.previous_assessed == request.assessed


def _baseline(request: ScoreRequest, evidence: _Evidence) -> Decimal | None:
    """What the trend is read from: the previous score's date rated on today's record, its
    evidence and red flags as the evidence now known about that time rates them, its policy
    gap as it was (answers say what the company does now, so a change in them is a change
    since). The previous overall as it stands when the two cannot be compared (other rules,
    another basis, a later date); None when there is no previous score.

    A trend is what happened since the previous score: evidence recorded now about the time
    before it (an old report found late, a corrected severity, a remedy that turned out to be
    only the company's word) re-rates the past and is not read as risk rising or falling."""
    previous, rules = request.previous, request.ruleset
    if previous is None:
        return None
    if (
        not _same_rules(previous, rules)
        or not _same_basis(request)
        or previous.as_of > request.as_of
    ):
        return previous.overall
    day = previous.as_of.toordinal()
    floor = max((fired.floor for fired in _overrides(evidence, rules, day)), default=0.0)
    evidence_then = _evidence_risk_on(evidence.items, day, rules)
    return _decimal(_tenths(max(evidence_then, float(previous.policy_gap_risk), float(floor))))


def _worsening_threshold(rules: RuleSet) -> Decimal:
    return Decimal(str(rules.actions.worsening.min_increase_points))


def _trend(
    overall: Decimal, band: RiskBand, request: ScoreRequest, baseline: Decimal | None
) -> Trend:
    previous, rules = request.previous, request.ruleset
    if previous is None or baseline is None:
        return "first"
    if not _same_rules(previous, rules):
        # A change of rules is not a change of the company: no trend until the next score.
        return "rules_changed"
    if not _same_basis(request):
        # Nor is what an assessment finds beside the evidence (its practice gaps).
        return "basis_changed"
    change = overall - baseline
    threshold = _worsening_threshold(rules)
    band_move = RISK_BAND_ORDER.index(band) - RISK_BAND_ORDER.index(rules.band_for(float(baseline)))
    if band_move > 0 or change >= threshold:
        return "worsening"
    if band_move < 0 or change <= -threshold:
        return "improving"
    return "stable"


def _action(
    band: RiskBand,
    overall: Decimal,
    overrides: list[OverrideFired],
    trend: Trend,
    previous: ScoreResult | None,
    rules: RuleSet,
    *,
    assessed: bool,
    baseline: Decimal | None,
) -> tuple[InvestorAction, str]:
    action = rules.actions.by_band[band].action
    reasons = [f"Band {band} (overall risk {overall} of 100): {ACTION_WORDS[action]}."]
    if not assessed and ACTION_LADDER.index(action) < ACTION_LADDER.index(UNASSESSED_MIN_ACTION):
        # A company with a record of evidence and no due diligence yet: a low evidence score
        # says nothing about how it manages the risk, so the first step is to ask.
        action = UNASSESSED_MIN_ACTION
        reasons.append(
            "No submitted assessment yet: engage the company with the questionnaire's "
            "questions before relying on this rating."
        )
    rules_by_id = {rule.id: rule for rule in rules.overrides}
    for fired in overrides:
        minimum = rules_by_id[fired.rule_id].min_action
        if ACTION_LADDER.index(minimum) > ACTION_LADDER.index(action):
            action = minimum
            reasons.append(
                f"Red flag {fired.rule_id} ({fired.reason}) requires at least: "
                f"{ACTION_WORDS[minimum]}."
            )
        else:
            # Named by what fired it: a rule id alone tells an investor nothing.
            reasons.append(f"Red flag {fired.rule_id} fired: {fired.reason}.")
    if trend == "in_progress":
        reasons.append(
            "This is a draft: its score moves as answers are filled in (unanswered questions "
            "count as gaps), so no trend is read until it is submitted."
        )
    elif previous is not None and baseline is not None:
        change = overall - baseline
        if baseline != previous.overall:
            reasons.append(
                f"The record now rates the previous score's date ({previous.as_of}) "
                f"{baseline}, not {previous.overall} as it read then (evidence about that time "
                "was added or corrected since), so the trend is read from "
                f"{baseline}."
            )
        if trend == "rules_changed":
            before = f"{previous.ruleset_id} v{previous.ruleset_version}"
            after = f"{rules.id} v{rules.version}"
            if before == after:
                after = f"another {after} with different rules"
            reasons.append(
                f"The rule set changed since the previous score ({before} to {after}), so the "
                "change in risk is not read as a trend: the action follows the band and red "
                "flags."
            )
        elif trend == "basis_changed":
            before, now = (
                ("the evidence alone", "the assessment's answers too")
                if assessed
                else ("an assessment's answers too", "the evidence alone")
            )
            reasons.append(
                f"The previous score counted {before}; this one counts {now}, so the change in "
                "risk is not read as a trend: the action follows the band and red flags."
            )
        elif trend == "worsening":
            steps = rules.actions.worsening.steps_up
            raised = ACTION_LADDER[min(ACTION_LADDER.index(action) + steps, len(ACTION_LADDER) - 1)]
            if raised is not action:
                before = rules.band_for(float(baseline))
                moved = f", band {before} to {band}" if before is not band else ""
                reasons.append(
                    f"Risk rose {change} points since the previous score{moved}, so one rung "
                    f"up: {ACTION_WORDS[raised]}."
                )
                action = raised
            else:
                reasons.append(f"Risk rose {change} points since the previous score.")
        elif trend == "improving":
            reasons.append(
                f"Risk fell {-change} points since the previous score; keep the asks that "
                "produced the change on record."
            )
        elif not _corrected_down(previous, baseline, rules) and _stepped_up(
            previous, rules, assessed=assessed
        ):
            # The step up answered engagement that was not working; a rescore with nothing
            # better to show (a new match, time passing) must not quietly take it back.
            steps = rules.actions.worsening.steps_up
            raised = ACTION_LADDER[min(ACTION_LADDER.index(action) + steps, len(ACTION_LADDER) - 1)]
            if ACTION_LADDER.index(raised) > ACTION_LADDER.index(action):
                action = raised
            reasons.append(
                "Risk has not fallen since it rose at an earlier score, so the step up the "
                f"ladder stands: {ACTION_WORDS[action]}."
            )
        elif baseline != previous.overall:
            # "Stable" alone read wrong on the day a holding moved band on old news.
            reasons.append(
                f"Nothing new happened since the previous score: the move from "
                f"{previous.overall} ({previous.band}) to {overall} ({band}) comes from what is "
                "now known about the time before it."
            )
        else:
            reasons.append("Risk is stable since the previous score.")
    return action, " ".join(reasons)


def _corrected_down(previous: ScoreResult, baseline: Decimal, rules: RuleSet) -> bool:
    """Whether the record now rates the previous score's date clearly lower than it read then
    (evidence about that time withdrawn or corrected): the rise a step up answered may not have
    happened, so the step does not stand on its own."""
    threshold = _worsening_threshold(rules)
    lower_band = RISK_BAND_ORDER.index(rules.band_for(float(baseline))) < RISK_BAND_ORDER.index(
        previous.band
    )
    return lower_band or previous.overall - baseline >= threshold


def _stepped_up(previous: ScoreResult, rules: RuleSet, *, assessed: bool) -> bool:
    """Whether the previous score's action is above what its band and red flags ask for, i.e.
    a rise in risk moved it up the ladder."""
    base = rules.actions.by_band[previous.band].action
    if not assessed and ACTION_LADDER.index(base) < ACTION_LADDER.index(UNASSESSED_MIN_ACTION):
        base = UNASSESSED_MIN_ACTION
    rules_by_id = {rule.id: rule for rule in rules.overrides}
    for fired in previous.overrides:
        rule = rules_by_id.get(fired.rule_id)
        if rule is not None and ACTION_LADDER.index(rule.min_action) > ACTION_LADDER.index(base):
            base = rule.min_action
    return ACTION_LADDER.index(previous.action) > ACTION_LADDER.index(base)


def _rests_on(evidence_risk: float | Decimal, policy_risk: float | Decimal) -> str:
    """Which of the two risks the overall is the higher of, and whose parts add up to it."""
    return "evidence" if evidence_risk >= policy_risk else "practice"


# Which of the two risks a contribution of each kind belongs to (an override's, neither).
_RISK_OF_KIND = {
    "incident": "evidence",
    "answer": "practice",
    "commitment": "practice",
    "theme": "practice",
}


def _diff(
    previous: ScoreResult,
    overall: Decimal,
    band: RiskBand,
    trend: Trend,
    contributions: tuple[Contribution, ...],
    overrides: list[OverrideFired],
    rules: RuleSet,
    inputs_hash: str,
    as_of: dt.date,
    rests_on: str,
) -> ScoreDiff:
    entries: list[DiffEntry] = []
    if not _same_rules(previous, rules):
        # Two rule sets under one label are told apart by their content hashes.
        same_label = (previous.ruleset_id, previous.ruleset_version) == (rules.id, rules.version)
        entries.append(
            DiffEntry(
                kind="ruleset",
                ref=rules.id,
                before=_rules_label(
                    previous.ruleset_id,
                    previous.ruleset_version,
                    previous.ruleset_hash if same_label else None,
                ),
                after=_rules_label(
                    rules.id, rules.version, rules.content_hash if same_label else None
                ),
                reason="scored with a different rule-set version",
            )
        )
    if previous.inputs_hash != inputs_hash:
        entries.append(
            DiffEntry(
                kind="inputs",
                ref="inputs",
                before=previous.inputs_hash,
                after=inputs_hash,
                reason=f"as-of date moved from {previous.as_of} to {as_of}"
                if previous.as_of != as_of
                else "the rule set changed (it is part of the inputs)"
                if not _same_rules(previous, rules)
                else "the score now rests on another basis (evidence alone, or an assessment too)"
                if trend == "basis_changed"
                else "answers, evidence, commitments or the company's website changed",
            )
        )
    entries += _step_entries("band", previous.band, band)
    entries += _override_entries(previous.overrides, overrides)
    entries += _contribution_entries(previous, contributions, overrides, rests_on)
    return ScoreDiff(
        previous_overall=previous.overall,
        previous_band=previous.band,
        change=overall - previous.overall,
        trend=trend,
        entries=tuple(entries),
    )


def _step_entries(
    kind: Literal["band", "action", "confidence"],
    before: RiskBand | InvestorAction | Confidence,
    after: RiskBand | InvestorAction | Confidence,
) -> list[DiffEntry]:
    """A band, a recommended action or a confidence that moved: "band high to severe"."""
    if before is after:
        return []
    return [
        DiffEntry(
            kind=kind,
            ref=kind,
            before=before.value,
            after=after.value,
            reason=f"{kind} {before} to {after}",
        )
    ]


def _override_entries(
    before: Sequence[OverrideFired], after: Sequence[OverrideFired]
) -> list[DiffEntry]:
    entries: list[DiffEntry] = []
    before_ids = {o.rule_id for o in before}
    after_ids = {o.rule_id for o in after}
    for rule_id in sorted(after_ids - before_ids):
        entries.append(
            DiffEntry(
                kind="override",
                ref=rule_id,
                before=None,
                after="fired",
                reason=f"{rule_id} now fires",
            )
        )
    # "No longer fires", not "lifted": elsewhere a lifted red flag means remediation or a
    # delisting, and in a preview the rule may merely be gone or renamed.
    for rule_id in sorted(before_ids - after_ids):
        entries.append(
            DiffEntry(
                kind="override",
                ref=rule_id,
                before="fired",
                after=None,
                reason=f"{rule_id} no longer fires",
            )
        )
    # A red flag fired under both whose floor moved (a rule-set change): the overall follows
    # the floor, and the contributions below only share out the new overall.
    before_floors = {o.rule_id: o.floor for o in before}
    for fired in sorted(after, key=lambda o: o.rule_id):
        old_floor = before_floors.get(fired.rule_id)
        if old_floor is not None and old_floor != fired.floor:
            entries.append(
                DiffEntry(
                    kind="override",
                    ref=fired.rule_id,
                    before=old_floor,
                    after=fired.floor,
                    reason=f"{fired.rule_id} floor {old_floor} to {fired.floor}",
                )
            )
    return entries


_RISK_WORDS = {"evidence": "evidence risk", "practice": "practice gap"}


def _rested_on(result: ScoreResult) -> str:
    """Which risk a score's overall rested on, read from its parts where they say: its rounded
    risks can tie where the exact ones did not."""
    for contribution in result.contributions:
        risk = _RISK_OF_KIND.get(contribution.kind)
        if risk is not None:
            return risk
    return _rests_on(result.evidence_risk_current, result.policy_gap_risk)


def _floor_setter(contributions: Iterable[Contribution]) -> str | None:
    """The red flag whose floor lifts a score, if one does: only the highest floor has a part."""
    return next((c.ref for c in contributions if c.kind == "override"), None)


def _contribution_entries(
    previous: ScoreResult,
    contributions: Sequence[Contribution],
    overrides: Sequence[OverrideFired],
    rests_on: str,
) -> list[DiffEntry]:
    before = {(c.kind, c.ref): c.points for c in previous.contributions}
    after = {(c.kind, c.ref): c.points for c in contributions}
    moves = []
    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        delta = (new or Decimal(0)) - (old or Decimal(0))
        if delta:
            moves.append((key, old, new, delta))
    moves.sort(key=lambda move: (-abs(move[3]), move[0]))
    entries = []
    for (kind, ref), old, new, delta in moves:
        if old is None:
            reason = _arrival_reason(kind, ref, new, previous, rests_on)
        elif new is None:
            reason = _departure_reason(kind, ref, old, contributions, overrides, rests_on)
        else:
            reason = f"{'up' if delta > 0 else 'down'} {abs(delta)} points"
        entries.append(DiffEntry(kind=kind, ref=ref, before=old, after=new, reason=reason))
    return entries


def _arrival_reason(
    kind: str, ref: str, points: Decimal | None, previous: ScoreResult, rests_on: str
) -> str:
    """Why a part with no points in the previous overall has ``points`` now. "New" only for
    one that took no part in it: a red flag that fired then too, or a part of a risk that did
    not set the overall then, merely had no points (the user test read "new" of a red flag
    already firing and of a commitment long on record)."""
    if kind == "override" and ref in {o.rule_id for o in previous.overrides}:
        setter = _floor_setter(previous.contributions)
        held = (
            f"{setter}'s floor set the score"
            if setter is not None
            else "the score reached its floor without it"
        )
        return (
            f"up from 0.0 to {points} points: it fired before too, but {held}; now its floor "
            "lifts the score"
        )
    before = _rested_on(previous)
    if _RISK_OF_KIND.get(kind) == rests_on != before:
        return (
            f"up from 0.0 to {points} points: the {_RISK_WORDS[rests_on]} is now the higher of "
            f"the two and sets the overall, where the {_RISK_WORDS[before]} did before"
        )
    return f"new: adds {points} points"


def _departure_reason(
    kind: str,
    ref: str,
    points: Decimal | None,
    contributions: Sequence[Contribution],
    overrides: Sequence[OverrideFired],
    rests_on: str,
) -> str:
    """Why a part of the previous overall has no points in it now."""
    if kind == "override":
        if ref not in {o.rule_id for o in overrides}:
            return f"no longer contributes (was {points} points): it no longer fires"
        setter = _floor_setter(contributions)
        held = (
            f"{setter}'s floor now sets the score"
            if setter is not None
            else "the score now reaches its floor without it"
        )
        return f"no longer contributes (was {points} points): it still fires, but {held}"
    if _RISK_OF_KIND.get(kind) not in (None, rests_on):
        # Still weighed, but the overall is the higher of evidence risk and practice gap, and
        # only the higher one's parts add up to it.
        return (
            f"no longer decides the overall (was {points} points): the {_RISK_WORDS[rests_on]} "
            "is now the higher of the two and sets it"
        )
    return f"no longer contributes (was {points} points)"


# --- public interface ------------------------------------------------------------------------


def compare(previous: ScoreResult, result: ScoreResult) -> tuple[DiffEntry, ...]:
    """What an investor would see change from ``previous`` to ``result``, two scores of one
    company on one day under two rule sets (a rule-set preview): the band, the recommended
    action, the red flags fired (their floors and the items they fire on), the confidence, and
    every contribution whose points or reason differ; the action's reason when nothing else
    does. Empty when nothing an investor reads or acts on differs (the overall aside: a change
    of it always moves a contribution).

    A stored score's diff leaves the action, confidence and reworded reasons out: the code
    that made its previous score may have worded them otherwise, and older code reading the
    stored diff back after a downgrade would not parse an entry of a kind it does not know."""
    rests_on = _rested_on(result)
    entries = [
        *_step_entries("band", previous.band, result.band),
        *_step_entries("action", previous.action, result.action),
        *_override_entries(previous.overrides, result.overrides),
        *_red_flag_item_entries(previous.overrides, result.overrides),
        *_step_entries("confidence", previous.confidence, result.confidence),
        *_contribution_entries(previous, result.contributions, result.overrides, rests_on),
        *_reworded_entries(previous.contributions, result.contributions),
        *_figure_entries(previous, result),
    ]
    if not entries and previous.action_reason != result.action_reason:
        # The reason names the band, the overall and each red flag, so it differs whenever
        # they do; alone it says e.g. that a red flag no longer requires the action.
        entries.append(
            DiffEntry(
                kind="action",
                ref="action_reason",
                before=previous.action_reason,
                after=result.action_reason,
                reason=f"action stays {result.action}, for another reason: {result.action_reason}",
            )
        )
    return tuple(entries)


def _red_flag_item_entries(
    before: Sequence[OverrideFired], after: Sequence[OverrideFired]
) -> list[DiffEntry]:
    """Red flags fired under both that fire on other items (a kind of evidence added to or
    taken from the rule): the score may hold, but what would lift the flag moved."""
    before_items = {o.rule_id: o.incident_ids for o in before}
    entries = []
    for fired in sorted(after, key=lambda o: o.rule_id):
        old_items = before_items.get(fired.rule_id)
        if old_items is not None and set(old_items) != set(fired.incident_ids):
            old_words, new_words = ", ".join(old_items), ", ".join(fired.incident_ids)
            entries.append(
                DiffEntry(
                    kind="override",
                    ref=fired.rule_id,
                    before=old_words,
                    after=new_words,
                    reason=f"{fired.rule_id} now fires on {new_words} (was {old_words})",
                )
            )
    return entries


def _figure_entries(previous: ScoreResult, result: ScoreResult) -> list[DiffEntry]:
    """The figures the reports print beside the overall that moved: the contributions explain
    only the term that sets the overall, so the other one (the practice gap while the evidence
    decides, or the reverse), the say-do gap, the theme scores and the range could move
    unseen."""
    figures = [
        ("evidence_risk_current", "evidence risk"),
        ("evidence_risk_peak", "peak evidence risk"),
        ("policy_gap_risk", "practice-gap risk"),
        ("commitment_score", "commitment score"),
        ("verified_commitment_score", "verified practice score"),
        ("say_do_gap", "say-do gap"),
    ]
    pairs = [(ref, words, getattr(previous, ref), getattr(result, ref)) for ref, words in figures]
    pairs += [
        (
            "sensitivity.low",
            "low end of the range",
            previous.sensitivity.low,
            result.sensitivity.low,
        ),
        (
            "sensitivity.high",
            "high end of the range",
            previous.sensitivity.high,
            result.sensitivity.high,
        ),
    ]
    old_themes = {theme.theme: theme for theme in previous.themes}
    for theme in result.themes:
        old = old_themes.get(theme.theme)
        if old is not None:
            pairs.append(
                (f"themes.{theme.theme}", f"{theme.theme} verified", old.verified, theme.verified)
            )
    return [
        DiffEntry(
            kind="figure",
            ref=ref,
            before=before,
            after=after,
            reason=f"{words} {before} to {after}",
        )
        for ref, words, before, after in pairs
        if before != after
    ]


def _reworded_entries(
    before: Sequence[Contribution], after: Sequence[Contribution]
) -> list[DiffEntry]:
    """Parts whose points hold but whose reason differs: the score's explanation changed."""
    old = {(c.kind, c.ref): c for c in before}
    entries = []
    for contribution in after:
        was = old.get((contribution.kind, contribution.ref))
        if was is None or was.points != contribution.points or was.reason == contribution.reason:
            continue  # new, gone and moved parts are said with their points
        entries.append(
            DiffEntry(
                kind=contribution.kind,
                ref=contribution.ref,
                before=was.reason,
                after=contribution.reason,
                reason=f"still {contribution.points} points, now: {contribution.reason}",
            )
        )
    return entries


def inputs_hash(request: ScoreRequest) -> str:
    """sha256 of the canonical JSON of the inputs, the as-of date and the rule-set id/version.

    Canonical: keys sorted, lists sorted by the request itself on construction (so the order
    the caller used does not matter), fields at their default omitted (so adding an optional
    field later keeps old hashes valid).
    """
    rest = request.model_dump(
        mode="json",
        include={"answers", "incidents", "commitments", "assessed", "in_progress"},
        exclude_defaults=True,
    )
    rest["as_of"] = request.as_of.isoformat()
    rest["ruleset"] = {"id": request.ruleset.id, "version": request.ruleset.version}
    questions = ",".join(question.canonical_json for question in request.questions)
    payload = f'{{"questions":[{questions}],"rest":{to_canonical_json(rest)}}}'
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def score(request: ScoreRequest) -> ScoreResult:
    """Scores one company's assessment as of ``request.as_of``."""
    rules = request.ruleset
    as_of = request.as_of
    day = as_of.toordinal()

    evidence = _prepare_evidence(request.incidents, rules, as_of)
    for item in evidence.items:
        item.value_now = _item_value(item, day, rules.evidence.remediated_factor, 1.0)
    evidence_risk = _evidence_risk_on(evidence.items, day, rules)
    peak, peak_day = _evidence_peak(evidence.items, day, evidence_risk, rules)

    commitments = _commitment_states(request.commitments, evidence, rules, as_of)
    policy = _policy(request, commitments)
    policy_risk = _policy_risk(policy.verified, rules) if request.assessed else 0.0

    overrides = _overrides(evidence, rules, day)
    floor_rule = max(overrides, key=lambda o: o.floor, default=None)
    floor = float(floor_rule.floor) if floor_rule is not None else 0.0
    base = max(evidence_risk, policy_risk)
    overall_value = max(base, floor)
    overall_tenths = _tenths(overall_value)
    overall = _decimal(overall_tenths)
    band = rules.band_for(float(overall))

    rests_on = _rests_on(evidence_risk, policy_risk)
    if rests_on == "evidence":
        raws = _evidence_contributions(evidence.items, evidence_risk, day, rules)
    else:
        raws = _policy_contributions(policy, policy_risk, rules)
    if floor_rule is not None and floor > base:
        raws.append(
            _Raw(
                "override",
                floor_rule.rule_id,
                floor - base,
                f"floor {floor_rule.floor} lifts the score",
            )
        )
    contributions = _finalise(raws, overall_tenths)

    confidence, drivers = _confidence(policy, evidence, rules, as_of)
    sensitivity = _sensitivity(
        policy, evidence, rules, day, evidence_risk, floor, overall_value, request.assessed
    )
    digest = inputs_hash(request)
    baseline = _baseline(request, evidence)
    trend = "in_progress" if request.in_progress else _trend(overall, band, request, baseline)
    action, action_reason = _action(
        band,
        overall,
        overrides,
        trend,
        request.previous,
        rules,
        assessed=request.assessed,
        baseline=baseline,
    )
    diff = (
        _diff(
            request.previous,
            overall,
            band,
            trend,
            contributions,
            overrides,
            rules,
            digest,
            as_of,
            rests_on,
        )
        if request.previous is not None
        else None
    )
    return ScoreResult(
        overall=overall,
        band=band,
        evidence_risk_current=_score(evidence_risk),
        evidence_risk_peak=_score(peak),
        evidence_risk_peak_date=dt.date.fromordinal(peak_day) if peak > 0 else None,
        policy_gap_risk=_score(policy_risk),
        commitment_score=_score(policy.claimed),
        verified_commitment_score=_score(policy.verified),
        say_do_gap=_score(max(policy.claimed - policy.verified, 0.0)),
        themes=tuple(
            ThemeScore(
                theme=theme.theme,
                weight=theme.weight,
                claimed=_score(theme.claimed),
                verified=_score(theme.verified),
                capped=bool(theme.capped_by),
                applicable=theme.applicable,
                answered=theme.answered,
                capped_by=theme.capped_by,
            )
            for theme in policy.themes
        ),
        overrides=tuple(overrides),
        confidence=confidence,
        confidence_drivers=drivers,
        sensitivity=sensitivity,
        contributions=contributions,
        ignored_incident_ids=evidence.ignored_ids,
        company_sourced_answers=_discounted_answers(policy, "company"),
        unsourced_answers=_discounted_answers(policy, "unsourced"),
        answers_denying_evidence=tuple(policy.denying_evidence),
        notes=evidence.notes,
        ruleset_id=rules.id,
        ruleset_version=rules.version,
        ruleset_hash=rules.content_hash,
        inputs_hash=digest,
        as_of=as_of,
        trend=trend,
        diff=diff,
        action=action,
        action_reason=action_reason,
    )
