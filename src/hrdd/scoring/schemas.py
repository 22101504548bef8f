"""Request and response models of the scoring API, and the score views other domains read
(``ScoreSummary``, ``OverrideView``, ``ScoreDetail``: the contract with portfolios and reports).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hrdd.audit.schemas import AuditEventOut
from hrdd.portfolios.figures import PortfolioPreview
from hrdd.scoring.inputs import DiffEntry, ScoreDiff, ScoreResult
from hrdd.scoring.models import RuleSetStatus
from hrdd.vocab import (
    AssessmentStatus,
    Confidence,
    DatePrecision,
    FulfilmentStatus,
    InvestorAction,
    RiskBand,
)

ScoreTrend = Literal["up", "down", "flat"]

# --- rule sets ---------------------------------------------------------------------------------


class RuleSetVersionSummary(BaseModel):
    id: uuid.UUID
    key: str = Field(description="The rule set's id, e.g. `default`")
    version: int = Field(
        description="Version number scores cite. A draft's is provisional: the number it would "
        "take if published now, so it moves up when another version of its key is published "
        "first, and never shows a number a published version has"
    )
    title: str
    status: RuleSetStatus
    shared: bool = Field(description="True for bundled versions every organisation reads")
    parent_id: uuid.UUID | None = Field(description="The version this one was copied from")
    revision: int = Field(description="Edits so far; part of the ETag")
    content_hash: str
    questionnaire_key: str
    questionnaire_version: str
    in_use: bool = Field(description="True for the version your organisation scores with")
    created_by_name: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    published_by_name: str | None


class RuleSetWarningOut(BaseModel):
    """A rule that is allowed but very likely a mistake that turns the method upside down (a
    fuller disclosure scoring less, silence scoring better than an answer, a kind of evidence
    weighing nothing, a red flag gone). Not a refusal: a methodology owner may mean it."""

    path: str = Field(
        description="Where in the rule set, dotted as a 422 names paths, e.g. "
        "`elements.normal.partial`"
    )
    message: str = Field(description="What the rule does to scores")


RULESET_WARNINGS = (
    "rules that pass validation but very likely turn the method upside down, each with its "
    "path and what it does to scores, measured against the latest bundled default (which has "
    "none). They never block an edit or a publication: read them before publishing"
)


class YourPreview(BaseModel):
    """Whether you may publish a draft as it stands: publishing needs your own latest preview
    of it as it stands, against the rules in use now."""

    previewed_at: datetime | None = Field(
        description="When you last previewed the draft (null: you never did)"
    )
    draft_revision: int | None = Field(
        description="The draft's revision you last previewed (null: you never previewed it)"
    )
    publishable: bool = Field(
        description="Whether a publish by you now would pass the preview check (it still needs "
        "the draft's ETag as If-Match, and the analyst role)"
    )
    why_not: str | None = Field(
        description="What a publish by you now would be refused for (409 "
        "`/problems/preview-required`) and what to do: never previewed by you, edited since "
        "your preview, or the rules in use changed since it. Null when publishable"
    )


class RuleSetVersionOut(RuleSetVersionSummary):
    content: dict[str, Any] = Field(description="The whole rule set, as PUT on a draft takes it")
    warnings: list[RuleSetWarningOut] = Field(
        description="The version's warnings: "
        + RULESET_WARNINGS
        + " (none for stored rules that no longer pass validation: editing the draft or "
        "previewing it names their problems)"
    )
    your_preview: YourPreview | None = Field(
        default=None,
        description="For a draft: your latest preview of it and whether it lets you publish "
        "the draft as it stands (null for a published version)",
    )


class RuleSetVersionList(BaseModel):
    items: list[RuleSetVersionSummary]
    next_cursor: str | None = None


class RescoredCompany(BaseModel):
    """A company whose standing score a change of the rules in use moved."""

    company_id: uuid.UUID
    company_name: str
    old_overall: float
    new_overall: float
    old_band: RiskBand
    new_band: RiskBand
    old_action: InvestorAction
    new_action: InvestorAction


class Rescored(BaseModel):
    """What a change of the rules in use did to the score each company stands on (one per
    company, the one portfolios and reports use), under the rules before and after."""

    companies: int = Field(description="Companies with a standing score, before and after")
    band_changes: int
    action_changes: int = Field(description="Companies whose recommended action changed")
    risk_up: int
    risk_down: int
    moved: list[RescoredCompany] = Field(
        description="The companies whose overall risk, band or action moved (at most 20): the "
        "largest move in action first, then in band, then in points"
    )
    moved_count: int = Field(description="How many companies moved, listed or not")


class CurrentRuleSet(BaseModel):
    version: RuleSetVersionSummary
    chosen: bool = Field(
        description="False when the organisation has chosen nothing and uses the latest "
        "bundled default"
    )
    warnings: list[RuleSetWarningOut] = Field(
        default_factory=list,
        description="The warnings of the rules in use, as GET /rulesets/{id} gives them: "
        "said again where a version is chosen, since its scores are now everyone's",
    )
    rescored: Rescored | None = Field(
        default=None,
        description="In the answer to choosing a version or following the default again (a "
        "rollback, as a rule): what the change did to the score each company stands on. Null "
        "on a read, and when the rules in use did not change",
    )


class ChosenRules(BaseModel):
    """What the organisation's choice of rules was on one side of a change."""

    chosen: bool = Field(
        description="False: no version was chosen, so the organisation scored with the bundled "
        "default, and the version fields name the latest one loaded at the time"
    )
    version_id: uuid.UUID | None = None
    key: str | None = None
    version: int | None = None
    title: str | None = None


class RuleChoiceEvent(AuditEventOut):
    """One change of the organisation's choice; ``old_value`` and ``new_value`` hold the bare
    version ids (null: the default), ``before`` and ``after`` name the versions."""

    before: ChosenRules
    after: ChosenRules


class RuleChoiceList(BaseModel):
    items: list[RuleChoiceEvent]
    next_cursor: str | None = None


class ChooseRuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version_id: uuid.UUID = Field(description="A published version; an older one rolls back")
    comment: str | None = Field(default=None, max_length=2000)


class PublishDraft(BaseModel):
    model_config = ConfigDict(extra="forbid")

    make_current: bool = Field(
        default=True,
        description="Also make it the version your organisation scores with. Publishing "
        "without it needs the same preview: the version published is the one previewed",
    )
    current_etag: str | None = Field(
        default=None,
        max_length=200,
        description="With make_current: the ETag of GET /rulesets/current as you read it; "
        "412 if another analyst changed the choice since (left out, the choice is replaced "
        "as it stands)",
    )
    comment: str | None = Field(default=None, max_length=2000)


class PreviewItem(BaseModel):
    """One score under the current rules and under the draft: an assessment's, or the
    evidence-only score of a company the organisation holds and no one has assessed."""

    basis: Literal["assessment", "evidence_only"]
    assessment_id: uuid.UUID | None = Field(description="None for an evidence-only score")
    assessment_status: AssessmentStatus | None = Field(
        description="None for an evidence-only score"
    )
    company_id: uuid.UUID
    company_name: str
    old_overall: float | None
    old_band: RiskBand | None
    new_overall: float | None
    new_band: RiskBand | None
    change: float | None = Field(description="New minus old overall risk")
    band_changed: bool
    old_action: InvestorAction | None = Field(
        default=None,
        description="The action the current rules recommend from the band and red flags (a "
        "step up for a rising trend is not previewed: it depends on the score history)",
    )
    new_action: InvestorAction | None = Field(
        default=None, description="The same under the draft: what investors would be told to do"
    )
    action_changed: bool = False
    changed: bool = Field(
        default=False,
        description="Whether anything an investor reads or acts on differs under the draft: "
        "the overall risk, the band, the recommended action (or, alone, its reason), the red "
        "flags fired (their floors, the items they fire on), the confidence, the score's "
        "contributions (their points or reasons), or a figure the reports print beside the "
        "overall. False for a score that failed",
    )
    changes: list[DiffEntry] = Field(
        default_factory=list,
        description="What changes (at most 8), also when the overall risk holds: the band "
        "(`band`, 'band high to severe'), the recommended action (`action`, 'action "
        "escalate_collectively to vote_or_file_resolution'), red flags that now fire, no "
        "longer fire, get a new floor or fire on other items (`override`), the confidence, "
        "then each contribution whose points change, largest first, and those whose reason "
        "alone changes, then the figures printed beside the overall that move (`figure`: "
        "the evidence risk, the practice-gap risk, the commitment, verified practice and "
        "say-do gap scores, the range, the theme scores), so that the term that does not set "
        "the overall cannot move unseen. A contribution is 'new' only when it took no part "
        "in the current score: one that did (a red flag that fired under another's higher "
        "floor, a practice gap the evidence risk outweighed) says it moved from 0.0 points. "
        "Empty when `changed` is false",
    )
    stands_for_company: bool = Field(
        description="Whether this is the score portfolios and reports use for the company: "
        "its newest final (else submitted) assessment's, or its evidence-only score when it "
        "has neither. A draft's score stands for nothing until it is submitted."
    )
    error: str | None = Field(
        default=None, description="Why this assessment could not be scored with one of the sets"
    )


class PreviewCounts(BaseModel):
    """A preview's scores counted: all of them (the preview's own fields), or only those that
    stand for companies, one per company, as portfolios and reports would show them once the
    draft is published (`standing`)."""

    companies: int
    band_changes: int
    action_changes: int
    risk_up: int
    risk_down: int
    changed_at_same_risk: int
    unchanged: int
    failed: int


class UndoneRuleValue(BaseModel):
    """A value the rules in use hold that differs from the version the draft was copied from,
    and that publishing the draft would replace: a change made since the copy (another
    analyst's publication, a choice of another version, a new bundled default) that the draft
    does not carry."""

    path: str = Field(description="Where in the rule set, dotted as a 422 names paths")
    parent_value: Any = Field(
        description="In the version the draft was copied from (null: it has no such value)"
    )
    in_use_value: Any = Field(description="In the rules in use (null: they have no such value)")
    draft_value: Any = Field(
        description="In the draft, what it would be once published (null: no such value)"
    )
    changed_in_draft: bool = Field(
        description="The draft changed this value too, to a third one; false: it still holds "
        "the parent's value, so publishing undoes the change"
    )


class CopiedFrom(BaseModel):
    """What the draft was copied from, measured against the rules in use."""

    version_id: uuid.UUID | None = Field(
        description="The version the draft was copied from (`parent_id`); null when it was a "
        "draft since deleted"
    )
    key: str | None
    version: int | None
    status: RuleSetStatus | None = Field(
        description="`draft` when it was copied from another draft: compared as that draft "
        "stands now"
    )
    in_use: bool = Field(description="True when the draft was copied from the rules in use")
    note: str | None = Field(
        description="Said when the draft was not copied from the rules in use: from which "
        "version, what the rules in use are now, and what publishing would undo"
    )
    undone: list[UndoneRuleValue] = Field(
        description="Each value in which the rules in use differ from the version the draft "
        "was copied from and the draft differs from the rules in use (at most 100): publishing "
        "the draft replaces it. Empty when the draft was copied from the rules in use"
    )
    undone_count: int = Field(description="How many such values, listed or not")


class PreviewRecord(BaseModel):
    """This preview as the draft records it."""

    previewed_at: datetime
    previewed_by_name: str
    draft_revision: int = Field(description="The draft's revision previewed")
    current_hash: str = Field(
        description="The content hash of the rules in use the draft was compared with "
        "(`current_id`)"
    )


class PreviewOut(BaseModel):
    """What publishing the draft would do to every score of your organisation: each live
    assessment's, and the evidence-only score of each unassessed company it holds; and so to
    each of its portfolios (`portfolios`). No score is saved; the preview itself is recorded
    on the draft (`recorded`), and publishing needs the publisher's own preview of the draft
    as it stands against the rules in use then."""

    draft_id: uuid.UUID
    draft_etag: str = Field(
        description="The draft's revision this preview scored (also the ETag header, and the "
        "draft's own: previewing does not change it): send it as If-Match to publish, so what "
        "is published is what was previewed"
    )
    draft_version: int
    warnings: list[RuleSetWarningOut] = Field(
        description="The draft's warnings: " + RULESET_WARNINGS
    )
    current_id: uuid.UUID
    current_key: str
    current_version: int
    as_of: date
    assessments: int
    evidence_only: int = Field(description="Companies scored on their evidence alone")
    companies: int
    band_changes: int = Field(
        description="Scores whose band would change. This and the counts below count scores, "
        "and a company can have two (a draft's, and the evidence-only one that stands for it): "
        "`standing` counts each company once"
    )
    action_changes: int = Field(description="Scores whose recommended action would change")
    risk_up: int = Field(description="Scores whose overall risk would rise")
    risk_down: int = Field(description="Scores whose overall risk would fall")
    changed_at_same_risk: int = Field(
        description="Scores whose overall risk holds but something else changes (`changed`): "
        "the band, the action, a red flag..."
    )
    unchanged: int = Field(
        description="Scores where nothing changes (`changed` is false). risk_up, risk_down, "
        "changed_at_same_risk, unchanged and failed add up to the scores previewed"
    )
    failed: int = Field(description="Scores that could not be made under one of the sets")
    standing: PreviewCounts = Field(
        description="The same counts over the scores that stand for companies (one each)"
    )
    mean_change: float | None
    biggest_movers: list[PreviewItem] = Field(
        description="The first 10 changed scores (`changed`), in the order of `items`: those "
        "whose recommended action moves furthest first, then the band, then the largest change "
        "of overall risk either way. A band or action that moves at the same risk is a mover"
    )
    portfolios: list[PortfolioPreview] = Field(
        description="Each portfolio of your organisation as its risk view would read before "
        "and after: holdings and value by band, unassessed holdings, the headline figures, "
        "the holdings moving between bands, and those whose band or recommended action "
        "changes. Made of the scores above that stand for companies, each holding carrying "
        "its company's (or that of a company it owns now, if worse) as the risk view chooses"
    )
    items: list[PreviewItem] = Field(
        description="Every score: the changed ones in the order of `biggest_movers`, then the "
        "unchanged and the failed"
    )
    # Filled by the route after scoring (hrdd.scoring.service.preview_and_record): always
    # given in the response.
    copied_from: CopiedFrom | None = Field(
        default=None,
        description="The version the draft was copied from, against the rules in use "
        "(`current_id`): when they differ, `note` says so and `undone` lists the rule values "
        "publishing the draft would undo. Always given",
    )
    recorded: PreviewRecord | None = Field(
        default=None,
        description="This preview as recorded on the draft: publishing with `draft_etag` "
        "works while the draft and the rules in use stay as previewed here. Always given",
    )


# --- scores: the contract with portfolios and reports ------------------------------------------


class OverrideView(BaseModel):
    rule_id: str = Field(description="e.g. RF-LISTING")
    reason: str
    floor: float
    lifts_when: str = Field(description="What would lift the floor")
    evidence_refs: list[str] = Field(
        default_factory=list,
        description="The evidence items that fired it (refs, as in the score detail's evidence)",
    )


class ScoreSummary(BaseModel):
    assessment_id: uuid.UUID | None = Field(
        description="None for an evidence-only score (company not assessed yet)"
    )
    company_id: uuid.UUID
    overall: float = Field(description="0..100 risk, higher is worse")
    band: RiskBand
    confidence: Confidence
    sensitivity_low: float
    sensitivity_high: float
    commitment_score: float | None = Field(
        description="0..100, higher is better; None when not assessed"
    )
    verified_commitment_score: float | None
    say_do_gap: float | None
    evidence_risk_current: float
    evidence_risk_peak: float
    theme_scores: dict[str, float] = Field(
        description="Verified score per theme (0..100, after caps); empty when not assessed"
    )
    overrides: list[OverrideView]
    action: InvestorAction
    action_reason: str
    ruleset_id: str
    ruleset_version: int
    ruleset_hash: str | None = Field(
        default=None,
        description="sha256 of the rule set's content: with the inputs hash it identifies the "
        "score's inputs, also where two rule sets share a key and number (a bundled version "
        "and an organisation's own). Scores stored before it was recorded got theirs from "
        "migration 0011.",
    )
    inputs_hash: str
    as_of: date
    computed_at: datetime
    trend: ScoreTrend | None = Field(
        description="Against the previous score; None when no trend is read: the first score "
        "(`first`), the first under another rule-set version (`rules_changed`: a change of "
        "rules is not a trend), the first assessed score after one on evidence alone "
        "(`basis_changed`), and a draft's score (`in_progress`). The score's `result.trend` "
        "names which."
    )


class ScoreOut(BaseModel):
    """A score with its whole explanation."""

    score_id: uuid.UUID | None = Field(
        description="The stored score; None for a score as of a past date (computed, not kept)"
    )
    assessment_id: uuid.UUID | None
    company_id: uuid.UUID
    ruleset_version_id: uuid.UUID
    summary: ScoreSummary
    result: ScoreResult


class ScoreHistoryItem(BaseModel):
    score_id: uuid.UUID
    reason: str = Field(description="What caused this score to be stored")
    ruleset_version_id: uuid.UUID
    summary: ScoreSummary
    diff: ScoreDiff | None = Field(description="Against the score before it, with reasons")


class ScoreHistory(BaseModel):
    items: list[ScoreHistoryItem]
    next_cursor: str | None = None


class EvidenceRef(BaseModel):
    """An evidence item a score names, so explanations can show titles instead of ids."""

    ref: str = Field(description="The name contributions and overrides use")
    id: uuid.UUID
    title: str
    type: str
    event_date: date
    severity: int | None
    in_effect: bool = Field(description="Known on or before the as-of date")


class SayDoRow(BaseModel):
    ref: str
    id: uuid.UUID
    title: str
    claim: str
    date: date
    date_precision: DatePrecision = Field(
        description="How much of the date the sources give: year, month or day"
    )
    question_ids: list[str]
    themes: list[str]
    fulfilment: str = Field(description="As recorded")
    fulfilment_as_of: str | None = Field(
        description="As counted at the as-of date (a contradiction not yet known counts as "
        "the rule set says); None when the claim was made after it"
    )
    contradicted_by: list[str] = Field(description="Refs of the contradicting evidence")
    risk_points: float = Field(description="Risk points this commitment adds to the score")


class MethodologyEntry(BaseModel):
    label: str
    value: str
    why: str


class MethodologySection(BaseModel):
    title: str
    entries: list[MethodologyEntry]


class Methodology(BaseModel):
    ruleset_id: str
    ruleset_version: int
    title: str
    summary: str
    sections: list[MethodologySection]


class ScoreDetail(BaseModel):
    """Everything the company report shows about one score."""

    score_id: uuid.UUID | None
    assessment_id: uuid.UUID
    company_id: uuid.UUID
    summary: ScoreSummary
    result: ScoreResult = Field(description="Incl. contributions, which add up to overall")
    evidence_series: list[tuple[date, float]] = Field(
        description="Evidence risk at dates up to the as-of date, oldest first"
    )
    say_do: list[SayDoRow]
    company_sources_count_as: FulfilmentStatus | None = Field(
        description="How the rule set counts a claim on the company's own sources alone (the "
        "questions are in result.company_sourced_answers); None when it does not weigh whose "
        "sources they are"
    )
    unsourced_answers_count_as: FulfilmentStatus | None = Field(
        default=None,
        description="How the rule set counts a claim no source of which names a publisher, an "
        "address or whose it is (but as the company's own): none, "
        "or only ones naming neither whose they are nor a publisher or address, such as an "
        "uploaded file with a title only (the questions are in result.unsourced_answers); None "
        "when it does not weigh them (default rules before v7)",
    )
    evidence: list[EvidenceRef]
    methodology: Methodology
