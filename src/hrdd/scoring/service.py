"""Rule-set versions, scoring against them, and stored scores with their history.

Rule sets: the bundled files are published versions every organisation reads; an analyst copies
a version into a draft private to the organisation, edits it (validated like a bundled file),
previews its effect (each preview recorded), and publishes it as an immutable version only that
organisation sees, which needs the publisher's own preview of the draft as it stands against
the rules in use then. The organisation's chosen version (``Organisation.ruleset_version_id``;
None means the latest bundled default) scores everything it owns; rolling back is choosing an
older version.

Scores: computed by the pure engine from the rows loaded here (``hrdd.scoring.adapters``), and
stored append-only. A new row is stored when there is none yet, or when the rule-set version,
the inputs (answers, evidence, commitments; the as-of date aside), the overall score or the
band differ from the subject's latest row: the history records real changes, not the daily
drift of recency decay. A subject is an assessment, or a company no one has assessed yet
(evidence-only score, so red flags are never hidden).

Reads do not compute a score whose inputs did not change since this process last computed it
the same day: they compare a few marks of those inputs in one query and serve the stored
score (``hrdd.scoring.freshness`` says which marks and why that is never stale).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pydantic import ValidationError
from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.attributes import set_committed_value

from hrdd.assessments.models import Assessment, AssessmentAnswer
from hrdd.audit import service as audit
from hrdd.audit.models import AuditEvent
from hrdd.audit.schemas import AuditEventOut
from hrdd.auth.models import Organisation
from hrdd.auth.service import Principal, lock_organisation
from hrdd.caching import BoundedCache
from hrdd.companies.models import Company
from hrdd.companies.service import company_names, listing_statuses
from hrdd.config import Settings
from hrdd.db import (
    IDS,
    SYSTEM,
    Database,
    TenantContext,
    TenantScopeError,
    get_tenant,
    in_chunks,
    reusable,
    rows_for_ids,
    utcnow,
)
from hrdd.errors import (
    Conflict,
    Invalid,
    NotFound,
    PreconditionFailed,
    PreviewRequired,
    ProblemDetail,
)
from hrdd.evidence.models import Commitment, EvidenceItem
from hrdd.http import PageParams, check_if_match, etag_for, paginate, tagged_versions
from hrdd.questionnaires import service as questionnaires
from hrdd.questionnaires.schemas import Questionnaire, ScoredQuestions
from hrdd.scoring import engine, freshness
from hrdd.scoring.adapters import (
    CompanySite,
    answer_inputs,
    commitment_inputs,
    company_site,
    evidence_ref,
    incident_inputs,
    question_specs,
    reference_index,
)
from hrdd.scoring.inputs import IncidentInput, ScoreRequest, ScoreResult
from hrdd.scoring.models import RuleSetPreview, RuleSetStatus, RuleSetVersion, StoredScore
from hrdd.scoring.rules import (
    ACTION_LADDER,
    RISK_BAND_ORDER,
    CompanySourcedAnswers,
    RuleSet,
    RuleSetError,
    RuleSetProblem,
    RuleSetStructureError,
    UnsourcedAnswers,
    content_hash,
    load_ruleset_file,
    parse_ruleset,
    parse_ruleset_structure,
    questionnaire_problems,
    ruleset_warnings,
    semantic_problems,
    steps_apart,
)
from hrdd.scoring.schemas import (
    ChosenRules,
    CopiedFrom,
    CurrentRuleSet,
    EvidenceRef,
    Methodology,
    MethodologyEntry,
    MethodologySection,
    OverrideView,
    PreviewCounts,
    PreviewItem,
    PreviewOut,
    PreviewRecord,
    Rescored,
    RescoredCompany,
    RuleChoiceEvent,
    RuleSetVersionOut,
    RuleSetVersionSummary,
    RuleSetWarningOut,
    SayDoRow,
    ScoreDetail,
    ScoreHistory,
    ScoreHistoryItem,
    ScoreOut,
    ScoreSummary,
    ScoreTrend,
    UndoneRuleValue,
    YourPreview,
)
from hrdd.vocab import (
    AssessmentStatus,
    DatePrecision,
    FulfilmentStatus,
    InvestorAction,
    ListingStatus,
    enum_label,
)

log = logging.getLogger("hrdd.scoring")


class Unscorable(Conflict):
    """An assessment or company whose inputs the rules in use cannot score (409)."""


AUDIT_ENTITY = "ruleset_version"
DRAFT_DELETED = "draft_deleted"
ORGANISATION_ENTITY = "organisation"
RULESET_CHOSEN = "ruleset_chosen"
RULESET_CHOICE_CLEARED = "ruleset_choice_cleared"
DEFAULT_RULESET_KEY = "default"
# Draft edits are audited one changed value per event; beyond this many, one summary event.
MAX_AUDITED_CHANGES = 100
# Rule values a preview lists as undone by publishing a draft copied from another version.
MAX_UNDONE = 100
BIGGEST_MOVERS = 10
# Reasons given per previewed score: the largest moves; the score endpoints give them all.
PREVIEW_CHANGES = 8
# Evidence risk series for reports: at most this many points, at least a month apart.
MAX_SERIES_POINTS = 60
# The date the inputs key is computed at: any fixed date, so the key ignores the as-of date.
_KEY_DATE = dt.date(2000, 1, 1)
# The assessments that can stand for a company in portfolio risk and reports. A draft is work
# in progress: its unanswered questions count as gaps, so an empty draft would read as high
# risk and a half-filled one as falling risk. Until one is submitted, the company is scored on
# its evidence alone.
_REPRESENTATIVE_ORDER = {
    AssessmentStatus.final.value: 0,
    AssessmentStatus.submitted.value: 1,
}
_STANDING = frozenset(_REPRESENTATIVE_ORDER)
_TRENDS: dict[str, ScoreTrend | None] = {
    "first": None,
    "rules_changed": None,
    "basis_changed": None,
    "in_progress": None,
    "worsening": "up",
    "improving": "down",
    "stable": "flat",
}

# Parsed rule sets by version id and content hash: a published version never changes, and a
# draft's content only changes with its hash.
_parsed: BoundedCache[tuple[uuid.UUID, str], RuleSet] = BoundedCache(max_entries=64)


# Key, number and content hash of published versions in use, which never change.
class VersionInUse(NamedTuple):
    """The version an organisation scores with, as risk views and exports name it."""

    key: str
    version: int
    content_hash: str
    bundled: bool  # False: the organisation's own edit, which may share key and number


_labels: BoundedCache[uuid.UUID, VersionInUse] = BoundedCache(max_entries=256)


# --- rule-set content ------------------------------------------------------------------------


def content_of(ruleset: RuleSet) -> dict[str, Any]:
    """The rule set as stored: its JSON form (mapping keys become strings, as JSON has them).
    A validated rule set holds no infinity or NaN; ``allow_nan=False`` keeps it that way."""
    return json.loads(json.dumps(ruleset.model_dump(mode="json"), allow_nan=False))


def ruleset_of(row: RuleSetVersion) -> RuleSet:
    """The validated rule set a stored version holds.

    A version stored before today's validation (e.g. an infinite weight saved before numbers
    had to be finite) is refused with 409 naming its first problem, not scored into a 500."""
    cached = _parsed.get((row.id, row.content_hash))
    if cached is not None:
        return cached
    try:
        ruleset = parse_ruleset(row.content, f"{row.key} v{row.version}").stored_under(
            row.content_hash
        )
    except RuleSetError as error:
        first = error.problems[0]
        remedy = (
            f"edit the draft (PUT /api/v1/rulesets/drafts/{row.id}) or delete it"
            if row.status == RuleSetStatus.draft
            else "choose another version (PUT /api/v1/rulesets/current)"
        )
        raise Conflict(
            f"rule set {row.key} v{row.version} ({row.id}) does not pass validation "
            f"({first.path or '<root>'}: {first.message}); {remedy}"
        ) from None
    _parsed.put((row.id, row.content_hash), ruleset)
    return ruleset


# Said with the problems of a rule set's shape, so a second round of problems surprises no one.
_CHECKED_ONCE_WELL_FORMED = (
    "the checks across sections and against the questionnaire run once these are fixed"
)


def _problems_as_invalid(
    problems: Sequence[RuleSetProblem], detail: str, note: str | None = None
) -> Invalid:
    first = problems[0]
    return Invalid(
        f"{detail}: {len(problems)} problem(s); first: {first.path or '<root>'}: "
        f"{first.message}" + (f"; {note}" if note else ""),
        errors=[
            ProblemDetail(path=problem.path or "body", message=problem.message)
            for problem in problems
        ],
    )


def _stored_questionnaire(session: Session, ruleset: RuleSet) -> Questionnaire | None:
    reference = ruleset.questionnaire
    try:
        return questionnaires.questionnaire_by_key(session, reference.key, reference.version)
    except NotFound:
        return None


def _number_questions(questionnaire: Questionnaire) -> set[str]:
    return {q.id for q in questionnaire.questions if q.answer_type.type == "number"}


def _well_formed(data: Any, source_name: str) -> RuleSet:
    """The rule set in ``data`` if its shape is right; else 422 naming every problem of its
    shape and saying that the other checks follow once they are fixed."""
    try:
        return parse_ruleset_structure(data, source_name)
    except RuleSetStructureError as error:
        raise _problems_as_invalid(
            error.problems,
            f"the rule set in {source_name} is not valid",
            _CHECKED_ONCE_WELL_FORMED,
        ) from None


def _content_problems(session: Session, ruleset: RuleSet) -> list[RuleSetProblem]:
    """Every problem of a well-formed rule set: across its sections and against the stored
    questionnaire version it names, in one list."""
    return semantic_problems(ruleset) + _questionnaire_fit(session, ruleset)


def _questionnaire_fit(
    session: Session, ruleset: RuleSet, if_missing: str = ""
) -> list[RuleSetProblem]:
    """What does not fit the stored questionnaire version the rule set names, or that there
    is no such version (``if_missing``: what to do then)."""
    questionnaire = _stored_questionnaire(session, ruleset)
    if questionnaire is None:
        reference = ruleset.questionnaire
        return [
            RuleSetProblem(
                "questionnaire.version",
                f"no stored questionnaire {reference.key} version {reference.version}" + if_missing,
            )
        ]
    return questionnaire_problems(
        ruleset,
        set(questionnaire.question_ids),
        set(questionnaire.scored_theme_ids),
        number_question_ids=_number_questions(questionnaire),
    )


def validate_content(session: Session, data: Any, source_name: str) -> RuleSet:
    """A rule set from request or file data, checked on its own and against the stored
    questionnaire version it names; 422 naming every problem's path otherwise."""
    ruleset = _well_formed(data, source_name)
    problems = _content_problems(session, ruleset)
    if problems:
        raise _problems_as_invalid(problems, f"the rule set in {source_name} is not valid")
    return ruleset


def _warnings_of(session: Session, ruleset: RuleSet) -> list[RuleSetWarningOut]:
    """The rule set's likely mistakes (``rules.ruleset_warnings``), measured against the
    latest bundled default (none while none is loaded: nothing to compare)."""
    _, default_id = _chosen_and_default(session)
    reference = ruleset_of(session.get_one(RuleSetVersion, default_id)) if default_id else None
    questionnaire = _stored_questionnaire(session, ruleset)
    minimums = {
        question.id: float(question.answer_type.min)
        for question in (questionnaire.questions if questionnaire else [])
        if question.answer_type.type == "number" and question.answer_type.min is not None
    }
    return [
        RuleSetWarningOut(path=warning.path, message=warning.message)
        for warning in ruleset_warnings(ruleset, reference, minimums)
    ]


# --- rule-set versions -----------------------------------------------------------------------


def _organisation_id(session: Session) -> uuid.UUID:
    tenant = get_tenant(session)
    if tenant is None or tenant.organisation_id is None:
        raise TenantScopeError("scoring works for one organisation; use its tenant session")
    return tenant.organisation_id


def get_version(session: Session, version_id: uuid.UUID) -> RuleSetVersion:
    row = session.get(RuleSetVersion, version_id)
    if row is None:
        raise NotFound(f"no rule-set version {version_id}")
    return row


def get_draft(session: Session, draft_id: uuid.UUID, *, to_preview: bool = False) -> RuleSetVersion:
    row = get_version(session, draft_id)
    if row.status != RuleSetStatus.draft:
        copy = f"copy it into a draft (POST /api/v1/rulesets/{row.id}/drafts)"
        if to_preview:
            # Previewing changes nothing; what it needs is a draft's next version number.
            raise Conflict(
                f"rule set {row.key} v{row.version} is published, not a draft: to see what it "
                f"would do to your scores, {copy} and preview that"
            )
        raise Conflict(
            f"rule set {row.key} v{row.version} is published and can never change; {copy} "
            "and edit that"
        )
    return row


def _no_rule_set() -> Conflict:
    return Conflict(f"no bundled rule set '{DEFAULT_RULESET_KEY}' is loaded; run `hrdd load` first")


# The organisation's chosen version if it is published, else the latest bundled default
# (``hrdd.scoring.freshness.version_columns``): built once, read on every score.
_ORGANISATION = bindparam("organisation_id")
_VERSION_IN_USE = reusable(select(*freshness.version_columns(_ORGANISATION, DEFAULT_RULESET_KEY)))


def _chosen_and_default(session: Session) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    parameters = {"organisation_id": _organisation_id(session)}
    chosen, default = session.execute(_VERSION_IN_USE, parameters).one()
    return chosen, default


def current_version(session: Session) -> tuple[RuleSetVersion, bool]:
    """The version the caller's organisation scores with, and whether it chose it (False:
    the latest bundled default)."""
    chosen, default = _chosen_and_default(session)
    version_id = chosen or default
    if version_id is None:
        raise _no_rule_set()
    return session.get_one(RuleSetVersion, version_id), chosen is not None


def current_out(
    session: Session, row: RuleSetVersion, *, chosen: bool, rescored: Rescored | None = None
) -> CurrentRuleSet:
    """The rules in use as the API shows them, with their warnings, and after a change of
    them what the rescore did."""
    return CurrentRuleSet(
        version=to_summary(row, row.id),
        chosen=chosen,
        warnings=_stored_warnings(session, row),
        rescored=rescored,
    )


def _stored_warnings(session: Session, row: RuleSetVersion) -> list[RuleSetWarningOut]:
    try:
        ruleset = ruleset_of(row)
    except Conflict:
        # Rules stored before a check existed: editing or previewing names their problems,
        # their scores the way out, and reading them (the choice's ETag) must still work so
        # that another version can be chosen.
        return []
    return _warnings_of(session, ruleset)


def choice_etag(version_id: uuid.UUID, *, chosen: bool) -> str:
    """The ETag of the organisation's choice of rules: the version in use and whether it was
    chosen, so a new bundled default changes it for an organisation that follows the default.
    Prefixed so it never equals the chosen version's own ETag."""
    return etag_for(f"choice-{version_id}", 1 if chosen else 0)


def _lock_choice(session: Session) -> None:
    """Lock the organisation's row, which holds its choice of rules, for the transaction: two
    writers that read the choice and then act on it (a choice, a publish checking what its
    preview was compared with) take turns on PostgreSQL (SQLite writers already do). FOR NO
    KEY UPDATE: the rows that point at the organisation (answers, scores, audit) are inserted
    meanwhile without waiting for the rescore a choice runs."""
    lock_organisation(session, _organisation_id(session))


# What a choice refused for a stale ETag says it left undone, and how to go on.
_CHOICE_NOT_MADE = (
    "Your change was not made: read GET /api/v1/rulesets/current again and, if you still "
    "want to change them, send its ETag as If-Match."
)
_PUBLISH_NOT_MADE = (
    "The draft was not published: read GET /api/v1/rulesets/current again and, if the draft "
    "should still replace them, publish with its ETag as current_etag."
)


def _check_choice(
    session: Session, if_match: str | None, *, required: bool, refused: str = _CHOICE_NOT_MADE
) -> None:
    """412 unless ``if_match`` is the ETag of the choice as it stands (428 without one when
    ``required``), saying what the rules in use are now, who made them so and when, and
    ``refused``. The organisation's row is locked first (``_lock_choice``), so two analysts
    holding the same ETag cannot both pass."""
    _lock_choice(session)
    row, chosen = current_version(session)
    check_if_match(
        if_match,
        choice_etag(row.id, chosen=chosen),
        required=required,
        stale=lambda: _choice_changed(session, if_match, refused),
    )


def _when(at: dt.datetime) -> str:
    """A time as an analyst reads it in a message."""
    return f"{at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def _label(row: RuleSetVersion) -> str:
    """A version as messages name it: key and number, and whose (a bundled version and an
    organisation's own may share both)."""
    whose = "bundled" if row.organisation_id is None else "your organisation's"
    if row.status == RuleSetStatus.draft:
        return f"{row.key} draft {row.id} ({whose})"
    return f"{row.key} v{row.version} ({whose})"


_CHOICE_TAG = re.compile(r'^"choice-([0-9a-fA-F-]{36})-([01])"$')


def _choice_read(session: Session, if_match: str | None) -> str | None:
    """The choice of rules a stale ETag of GET /rulesets/current names, in words (None: the
    tag names no version the organisation can see)."""
    for tag in (if_match or "").split(","):
        found = _CHOICE_TAG.match(tag.strip())
        if found is None:
            continue
        try:
            row = session.get(RuleSetVersion, uuid.UUID(found[1]))
        except ValueError:
            continue
        if row is not None:
            how = "chosen" if found[2] == "1" else "the bundled default it followed"
            return f"{_label(row)}, {how}"
    return None


def _last_choice_event(session: Session) -> AuditEvent | None:
    return session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.entity_type == ORGANISATION_ENTITY,
            AuditEvent.entity_id == _organisation_id(session),
            AuditEvent.action.in_([RULESET_CHOSEN, RULESET_CHOICE_CLEARED]),
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(1)
    ).first()


# A choice of a version by its publisher this soon after publishing it is told as "published
# and made current" (a publish with make_current, or one without and a choice right after).
_MADE_CURRENT_WITHIN = dt.timedelta(minutes=1)


def rules_in_use_said(session: Session) -> str:
    """The organisation's rules in use, and who made them so and when, as far as the choice
    history and the loaded defaults tell: "default v7 (your organisation's), published and
    made current by Alice on 2026-03-02 10:15 UTC"."""
    row, chosen = current_version(session)
    last = _last_choice_event(session)
    if chosen:
        if last is None or last.action != RULESET_CHOSEN or last.new_value != str(row.id):
            return f"{_label(row)}, chosen"
        made = (
            "published and made current"
            if row.published_at is not None
            and row.published_by_key_id == last.actor_key_id
            and abs(last.at - row.published_at) < _MADE_CURRENT_WITHIN
            else "chosen"
        )
        return f"{_label(row)}, {made} by {last.actor_name} on {_when(last.at)}"
    said = f"the latest bundled default, {_label(row)}"
    if last is not None and last.action == RULESET_CHOICE_CLEARED and last.at >= row.created_at:
        return (
            f"{said}, followed again since {last.actor_name} cleared the organisation's choice "
            f"on {_when(last.at)}"
        )
    return f"{said}, loaded on {_when(row.created_at)}"


def _choice_changed(session: Session, if_match: str | None, refused: str) -> str:
    """The 412 of a stale ETag of the choice: what changed, by whom and when, what to do."""
    read = _choice_read(session, if_match)
    then = f" (you read {read})" if read else ""
    return (
        f"your organisation's rules in use were changed since you read them{then}: they are "
        f"now {rules_in_use_said(session)}. {refused}"
    )


def in_use_id(session: Session) -> uuid.UUID | None:
    """The id of the version the organisation scores with, in one light query; None while no
    rule set is loaded (listing and reading versions still work then)."""
    chosen, default = _chosen_and_default(session)
    return chosen or default


def scored_questions(session: Session, questionnaire: Questionnaire) -> ScoredQuestions:
    """The questions of ``questionnaire`` scored under the organisation's rules in use: the
    disclosure and single-choice questions of scored themes, and the number questions of
    scored themes the rules have a number rule for, as the engine reads them."""
    by_type = {
        question.id for question in questionnaire.questions if questionnaire.is_scored(question)
    }
    version_id = in_use_id(session)
    if version_id is None:
        return ScoredQuestions(frozenset(by_type), None)
    row = session.get_one(RuleSetVersion, version_id)
    ruleset = ruleset_of(row)
    numbers = {
        question.id
        for question in questionnaire.questions
        if question.id in ruleset.number_rules
        and question.answer_type.type == "number"
        and questionnaire.theme(question.theme).scored
    }
    return ScoredQuestions(frozenset(by_type | numbers), f"{row.key} v{row.version}")


def list_versions(
    session: Session, status: RuleSetStatus | None, key: str | None, page: PageParams
) -> tuple[list[RuleSetVersion], str | None]:
    statement = select(RuleSetVersion)
    if status is not None:
        statement = statement.where(RuleSetVersion.status == status.value)
    if key:
        statement = statement.where(RuleSetVersion.key == key)
    return paginate(
        session, statement, [RuleSetVersion.key, RuleSetVersion.version, RuleSetVersion.id], page
    )


def next_versions(session: Session, keys: Iterable[str]) -> dict[str, int]:
    """Per key, one above the highest published version of it the organisation can see: the
    number a draft of that key would take if it were published now."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    highest = dict(
        session.execute(
            select(RuleSetVersion.key, func.max(RuleSetVersion.version))
            .where(
                RuleSetVersion.key.in_(wanted),
                RuleSetVersion.status == RuleSetStatus.published,
            )
            .group_by(RuleSetVersion.key)
        ).all()
    )
    return {key: (highest.get(key) or 0) + 1 for key in wanted}


def shown_versions(session: Session, rows: Iterable[RuleSetVersion]) -> dict[uuid.UUID, int]:
    """The number each draft among ``rows`` shows: the one it would take if published now.

    A draft's number is provisional (publishing assigns the next free one), so a draft is
    labelled as a draft of the next version: when another draft of its key is published first
    (or a newer bundled version is loaded), it moves up instead of showing a number a published
    version already has. Published versions keep their own and are not in the dict."""
    drafts = [row for row in rows if row.status == RuleSetStatus.draft]
    upcoming = next_versions(session, {row.key for row in drafts})
    return {row.id: upcoming[row.key] for row in drafts}


def _shown_content(row: RuleSetVersion, number: int | None) -> tuple[dict[str, Any], str]:
    """The content and hash a version shows, with the number it shows."""
    if number is None or number == row.version:
        return row.content, row.content_hash
    content = {**row.content, "version": number}
    return content, content_hash(content)


def to_summary(
    row: RuleSetVersion, in_use_id: uuid.UUID | None, number: int | None = None
) -> RuleSetVersionSummary:
    """``number``: what a draft shows (``shown_versions``); None shows the stored number."""
    reference = row.content.get("questionnaire", {})
    _, digest = _shown_content(row, number)
    return RuleSetVersionSummary(
        id=row.id,
        key=row.key,
        version=number if number is not None else row.version,
        title=row.title,
        status=RuleSetStatus(row.status),
        shared=row.organisation_id is None,
        parent_id=row.parent_id,
        revision=row.revision,
        content_hash=digest,
        questionnaire_key=str(reference.get("key", "")),
        questionnaire_version=str(reference.get("version", "")),
        in_use=row.id == in_use_id,
        created_by_name=row.created_by_name,
        created_at=row.created_at,
        updated_at=row.updated_at,
        published_at=row.published_at,
        published_by_name=row.published_by_name,
    )


def to_out(
    session: Session, row: RuleSetVersion, viewer: Principal, number: int | None = None
) -> RuleSetVersionOut:
    """A version with its rules and their warnings, and for a draft whether ``viewer`` may
    publish it as it stands; ``number`` as for ``to_summary``."""
    content, _ = _shown_content(row, number)
    chosen, default = _chosen_and_default(session)
    return RuleSetVersionOut(
        **to_summary(row, chosen or default, number).model_dump(),
        content=content,
        warnings=_stored_warnings(session, row),
        your_preview=your_preview(session, row, viewer)
        if row.status == RuleSetStatus.draft
        else None,
    )


def _next_version(session: Session, key: str) -> int:
    """One above the highest published version of this key the organisation can see."""
    return next_versions(session, [key])[key]


# Compare-and-swap on a draft's revision: a concurrent edit, publication or deletion that got
# there first makes this write fail (412, or 404/409 when the draft is gone or published)
# instead of overwriting it. On PostgreSQL the update also locks the row for the transaction.
_THE_DRAFT_AS_SEEN = (
    RuleSetVersion.id == bindparam("version_id"),
    RuleSetVersion.revision == bindparam("seen"),
    RuleSetVersion.status == RuleSetStatus.draft.value,
)
_TAKE_REVISION = reusable(
    update(RuleSetVersion)
    .where(*_THE_DRAFT_AS_SEEN)
    .values(revision=bindparam("next_revision"), updated_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)
_DELETE_DRAFT = reusable(
    delete(RuleSetVersion).where(*_THE_DRAFT_AS_SEEN).execution_options(synchronize_session=False)
)


def _changed_meanwhile(session: Session, draft: RuleSetVersion) -> Exception:
    """What to answer when a draft's compare-and-swap found it changed by someone else."""
    current = session.execute(
        select(RuleSetVersion.revision, RuleSetVersion.status).where(RuleSetVersion.id == draft.id)
    ).first()
    if current is None:
        return NotFound(f"no rule-set version {draft.id}")
    if current.status != RuleSetStatus.draft:
        return Conflict(f"rule set {draft.key} draft {draft.id} was just published")
    return PreconditionFailed(
        f"rule-set draft {draft.id} was changed by someone else while you wrote; "
        "read it again and reapply your change",
        headers={"ETag": etag_for(draft.id, current.revision)},
    )


def _take_revision(session: Session, draft: RuleSetVersion) -> None:
    seen, now = draft.revision, utcnow()
    taken = {"version_id": draft.id, "seen": seen, "next_revision": seen + 1, "now": now}
    if session.execute(_TAKE_REVISION, taken).rowcount != 1:
        raise _changed_meanwhile(session, draft)
    set_committed_value(draft, "revision", seen + 1)
    set_committed_value(draft, "updated_at", now)


def create_draft(session: Session, source: RuleSetVersion, actor: Principal) -> RuleSetVersion:
    """A private copy of a version, numbered as the next version of its key."""
    version = _next_version(session, source.key)
    content = {**source.content, "version": version}
    draft = RuleSetVersion(
        organisation_id=_organisation_id(session),
        key=source.key,
        version=version,
        title=source.title,
        status=RuleSetStatus.draft.value,
        content=content,
        content_hash=content_hash(content),
        parent_id=source.id,
        created_by_key_id=actor.key_id,
        created_by_name=actor.key_name,
    )
    session.add(draft)
    session.flush()
    audit.record(
        session,
        actor,
        AUDIT_ENTITY,
        draft.id,
        "draft_created",
        new={"key": draft.key, "version": version, "copied_from": str(source.id)},
    )
    return draft


def update_draft(
    session: Session, draft: RuleSetVersion, data: Any, actor: Principal
) -> RuleSetVersion:
    """Replace a draft's rules, validated in full (every problem of a well-formed rule set in
    one 422); every changed value goes to the audit."""
    source_name = f"draft {draft.id}"
    ruleset = _well_formed(data, source_name)
    # The number the draft shows now; the one it was saved with is accepted too, so a copy
    # read before another version was published first can still be saved (as the new number).
    number = _next_version(session, draft.key)
    problems = _content_problems(session, ruleset)
    if ruleset.id != draft.key:
        problems.append(RuleSetProblem("id", f"a draft keeps its rule set's id: {draft.key}"))
    if ruleset.version not in (number, draft.version):
        problems.append(
            RuleSetProblem("version", f"the version number is assigned by the server: {number}")
        )
    if problems:
        raise _problems_as_invalid(problems, f"the rule set in {source_name} is not valid")
    content = {**content_of(ruleset), "version": number}
    new_hash = content_hash(content)
    if new_hash == draft.content_hash:
        return draft
    changes = list(_leaf_changes(draft.content, content, ""))
    _take_revision(session, draft)
    draft.content = content
    draft.content_hash = new_hash
    draft.title = ruleset.title
    draft.version = number
    for path, old, new in changes[:MAX_AUDITED_CHANGES]:
        audit.record(
            session, actor, AUDIT_ENTITY, draft.id, "draft_updated", field=path, old=old, new=new
        )
    if len(changes) > MAX_AUDITED_CHANGES:
        audit.record(
            session,
            actor,
            AUDIT_ENTITY,
            draft.id,
            "draft_updated",
            comment=f"{len(changes) - MAX_AUDITED_CHANGES} further changed values not listed",
        )
    session.flush()
    return draft


def _leaf_changes(old: Any, new: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """(dotted path, old, new) for every value that differs between two JSON documents."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys(), key=str):
            child = f"{path}.{key}" if path else str(key)
            yield from _leaf_changes(old.get(key), new.get(key), child)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            yield from _leaf_changes(before, after, f"{path}.{index}")
    elif old != new:
        yield path, old, new


def publish_draft(
    session: Session,
    draft: RuleSetVersion,
    actor: Principal,
    *,
    make_current: bool,
    comment: str | None,
    current_etag: str | None,
) -> RuleSetVersion:
    """Turn a draft into an immutable published version, numbered one above the highest
    published version of its key at this moment; with ``make_current``, also the rules in
    use, over the choice as it stands (412 if ``current_etag`` is given and stale).

    Its rules are validated again first, as a draft edit validates them (422 naming each
    path): a draft saved before a check existed (an infinite weight, say) is never published.
    Then the publisher's own latest preview of the draft must be of the draft as it stands,
    compared with the rules in use now (409 ``PreviewRequired`` otherwise), with or without
    ``make_current``: the version published is the one previewed, and it is one choice away
    from scoring everything. The organisation's choice is locked for that check, so no choice
    slips in between it and the publication."""
    validate_content(session, draft.content, f"draft {draft.id}")
    _lock_choice(session)
    previewed = _check_previewed(session, draft, actor)
    _take_revision(session, draft)
    version = _next_version(session, draft.key)
    if version != draft.version:
        draft.content = {**draft.content, "version": version}
        draft.content_hash = content_hash(draft.content)
        draft.version = version
    now = draft.updated_at
    draft.status = RuleSetStatus.published.value
    draft.published_slot = f"{draft.organisation_id}:{draft.key}:{version}"
    draft.published_at = now
    draft.published_by_key_id = actor.key_id
    draft.published_by_name = actor.key_name
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"version {version} of rule set {draft.key} was just published by someone else; "
            "publish again to take the next number"
        ) from exc
    audit.record(
        session,
        actor,
        AUDIT_ENTITY,
        draft.id,
        "published",
        new={
            "key": draft.key,
            "version": version,
            "content_hash": draft.content_hash,
            "previewed": _preview_said(session, previewed),
        },
        comment=comment,
    )
    if make_current:
        choose_version(
            session,
            draft,
            actor,
            comment,
            current_etag,
            required=False,
            refused=_PUBLISH_NOT_MADE,
            # The preview the publish rests on said what it does.
            tell_rescore=False,
        )
    return draft


# --- previews of drafts: recorded, required to publish ----------------------------------------


def _latest_preview(
    session: Session, draft_id: uuid.UUID, key_id: uuid.UUID | None
) -> RuleSetPreview | None:
    """The latest preview of a draft, by the key ``key_id`` (None: by anyone)."""
    statement = select(RuleSetPreview).where(RuleSetPreview.draft_id == draft_id)
    if key_id is not None:
        statement = statement.where(RuleSetPreview.previewed_by_key_id == key_id)
    return session.scalars(
        statement.order_by(RuleSetPreview.previewed_at.desc(), RuleSetPreview.id.desc()).limit(1)
    ).first()


def _last_edit(session: Session, draft_id: uuid.UUID) -> AuditEvent | None:
    return session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.entity_type == AUDIT_ENTITY,
            AuditEvent.entity_id == draft_id,
            AuditEvent.action == "draft_updated",
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(1)
    ).first()


def _edited_by(session: Session, draft_id: uuid.UUID) -> str:
    edit = _last_edit(session, draft_id)
    return f", last edited by {edit.actor_name} on {_when(edit.at)}" if edit else ""


def _preview_again(draft: RuleSetVersion, again: str = " again") -> str:
    return (
        f"preview it{again} (POST /api/v1/rulesets/drafts/{draft.id}/preview), check what it "
        "does to your organisation's scores, and publish with the draft_etag that preview gives"
    )


@dataclass(frozen=True, slots=True)
class _Unpublishable:
    """Why a key may not publish a draft as it stands (``what``), what to do (``todo``), and
    the key's latest preview of it (None: it has none)."""

    preview: RuleSetPreview | None
    what: str
    todo: str


def _preview_standing(
    session: Session, draft: RuleSetVersion, key_id: uuid.UUID
) -> RuleSetPreview | _Unpublishable:
    """The latest preview of ``draft`` by the key ``key_id`` if it lets that key publish the
    draft, else what keeps it from doing so: never previewed, edited since, or compared with
    other rules than those in use now.

    The publisher's own: a colleague's preview is figures the publisher did not see. The
    latest: the figures the publisher last saw are the ones they act on."""
    current, _ = current_version(session)
    mine = _latest_preview(session, draft.id, key_id)
    if mine is None:
        other = _latest_preview(session, draft.id, None)
        by_other = (
            f" ({other.previewed_by_name} previewed it on {_when(other.previewed_at)}; whoever "
            "publishes a draft previews it first, so no one publishes figures they have not "
            "seen)"
            if other is not None
            else ""
        )
        return _Unpublishable(
            None, f"you have not previewed this draft{by_other}", _preview_again(draft, again="")
        )
    if (mine.draft_revision, mine.draft_hash) != (draft.revision, draft.content_hash):
        return _Unpublishable(
            mine,
            f"this draft was edited since your preview on {_when(mine.previewed_at)} (revision "
            f"{mine.draft_revision} then, {draft.revision} now{_edited_by(session, draft.id)}): "
            "the figures you saw are not those of the draft as it stands",
            _preview_again(draft),
        )
    if (mine.compared_id, mine.compared_hash) != (current.id, current.content_hash):
        compared = session.get(RuleSetVersion, mine.compared_id)
        then = _label(compared) if compared is not None else "rules no longer there"
        return _Unpublishable(
            mine,
            f"your preview on {_when(mine.previewed_at)} compared this draft with {then}, the "
            "rules in use then; your organisation's rules in use are now "
            f"{rules_in_use_said(session)}, so the figures you saw (and what the draft would "
            "undo) no longer say what publishing does",
            f"{_preview_again(draft)}: it compares the draft with the rules in use now",
        )
    return mine


def _check_previewed(session: Session, draft: RuleSetVersion, actor: Principal) -> RuleSetPreview:
    """The publisher's latest preview of ``draft`` if it lets them publish it (see
    ``_preview_standing``); else 409 saying why not and what to do."""
    standing = _preview_standing(session, draft, actor.key_id)
    if isinstance(standing, _Unpublishable):
        raise PreviewRequired(f"{standing.what}, and nothing was published; {standing.todo}")
    return standing


def your_preview(session: Session, draft: RuleSetVersion, viewer: Principal) -> YourPreview:
    """A draft's standing for publication by ``viewer``, as its GET shows it: what a publish
    would be refused for (409), said before the analyst tries."""
    standing = _preview_standing(session, draft, viewer.key_id)
    if isinstance(standing, _Unpublishable):
        preview, why_not = standing.preview, f"{standing.what}; {standing.todo}"
    else:
        preview, why_not = standing, None
    return YourPreview(
        previewed_at=preview.previewed_at if preview is not None else None,
        draft_revision=preview.draft_revision if preview is not None else None,
        publishable=why_not is None,
        why_not=why_not,
    )


def _preview_said(session: Session, preview: RuleSetPreview) -> dict[str, Any]:
    """The preview a publication rests on, as its audit event records it."""
    compared = session.get(RuleSetVersion, preview.compared_id)
    return {
        "previewed_at": preview.previewed_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "previewed_by": preview.previewed_by_name,
        "compared_with": {
            "id": str(preview.compared_id),
            "key": compared.key if compared is not None else None,
            "version": compared.version if compared is not None else None,
            "content_hash": preview.compared_hash,
        },
    }


def draft_edited_since(session: Session, draft: RuleSetVersion, if_match: str | None) -> str:
    """The 412 of a publish whose If-Match is not the draft's ETag now: the draft was edited
    since the revision sent (the preview's ``draft_etag``, as a rule), by whom and when, and
    what to do."""
    # The last strong tag of this draft sent (a weak tag never matches).
    strong = [version for version, weak in tagged_versions(if_match, draft.id) if not weak]
    sent = strong[-1] if strong else None
    if sent is None or sent >= draft.revision:
        first = (
            f"the ETag you sent is not one of this draft's (it is now "
            f"{etag_for(draft.id, draft.revision)})"
        )
    else:
        first = (
            f"this draft was edited since the revision you sent (revision {sent}, the one you "
            f"previewed or read; it is now at revision {draft.revision}"
            f"{_edited_by(session, draft.id)})"
        )
    return (
        f"{first}: what you previewed is not what would be published, and nothing was "
        f"published; {_preview_again(draft)}"
    )


def preview_and_record(session: Session, draft: RuleSetVersion, actor: Principal) -> PreviewOut:
    """Preview a draft (``preview_draft``), say what it was copied from against the rules in
    use, and record the preview on the draft: the revision previewed, the rules in use it was
    compared with, by whom and when. The draft itself is not written, so its ETag stays."""
    preview = preview_draft(session, draft, etag_for(draft.id, draft.revision))
    compared = session.get_one(RuleSetVersion, preview.current_id)
    copied = _copied_from(session, draft, compared)
    record = RuleSetPreview(
        organisation_id=_organisation_id(session),
        draft_id=draft.id,
        draft_revision=draft.revision,
        draft_hash=draft.content_hash,
        compared_id=compared.id,
        compared_hash=compared.content_hash,
        summary={
            "compared_with": f"{compared.key} v{compared.version}",
            "assessments": preview.assessments,
            "evidence_only": preview.evidence_only,
            "companies": preview.companies,
            "band_changes": preview.band_changes,
            "action_changes": preview.action_changes,
            "risk_up": preview.risk_up,
            "risk_down": preview.risk_down,
            "changed_at_same_risk": preview.changed_at_same_risk,
            "unchanged": preview.unchanged,
            "failed": preview.failed,
            "mean_change": preview.mean_change,
            "standing": preview.standing.model_dump(),
            "undone": copied.undone_count,
            # Counts only: the portfolios' figures are in the response, not in every record.
            "portfolios": {
                "portfolios": len(preview.portfolios),
                "holdings": sum(p.holdings for p in preview.portfolios),
                "band_changes": sum(
                    move.holdings for p in preview.portfolios for move in p.band_moves
                ),
                "changed_holdings": sum(p.changed_holdings_count for p in preview.portfolios),
            },
        },
        previewed_by_key_id=actor.key_id,
        previewed_by_name=actor.key_name,
    )
    session.add(record)
    try:
        session.flush()
    except IntegrityError as exc:
        # Its draft deleted by another request meanwhile (the foreign key refused the row).
        raise NotFound(f"no rule-set version {draft.id}: it was deleted meanwhile") from exc
    return preview.model_copy(
        update={
            "copied_from": copied,
            "recorded": PreviewRecord(
                previewed_at=record.previewed_at,
                previewed_by_name=record.previewed_by_name,
                draft_revision=record.draft_revision,
                current_hash=record.compared_hash,
            ),
        }
    )


# Top-level values that name a version rather than rule scoring: never "undone".
_NOT_RULE_VALUES = frozenset({"id", "version"})


def _undone_values(
    parent: Any, in_use: Any, draft: Any, path: str
) -> Iterator[tuple[str, Any, Any, Any]]:
    """(dotted path, in parent, in use, in draft) for every value in which the rules in use
    differ from the draft's parent and the draft differs from the rules in use: what
    publishing the draft would replace of the changes made since it was copied. Walks the
    three documents together, as ``_leaf_changes`` walks two; where the draft's shape differs
    there (a list of another length), the value is given whole."""
    if parent == in_use:
        return
    if isinstance(parent, dict) and isinstance(in_use, dict) and isinstance(draft, dict):
        for key in sorted(parent.keys() | in_use.keys(), key=str):
            if not path and key in _NOT_RULE_VALUES:
                continue
            child = f"{path}.{key}" if path else str(key)
            yield from _undone_values(parent.get(key), in_use.get(key), draft.get(key), child)
    elif (
        isinstance(parent, list)
        and isinstance(in_use, list)
        and isinstance(draft, list)
        and len(parent) == len(in_use) == len(draft)
    ):
        for index, values in enumerate(zip(parent, in_use, draft, strict=True)):
            yield from _undone_values(*values, f"{path}.{index}")
    elif draft != in_use:
        yield path, parent, in_use, draft


def _said_value(value: Any) -> str:
    if value is None:
        return "nothing"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _copied_from(session: Session, draft: RuleSetVersion, in_use: RuleSetVersion) -> CopiedFrom:
    """The version ``draft`` was copied from against the rules in use ``in_use``: when they
    are not the same version, a note saying so, and the rule values the rules in use changed
    since that the draft would undo (another analyst's publication, a choice, a new default)."""
    parent = session.get(RuleSetVersion, draft.parent_id) if draft.parent_id else None
    if parent is not None and parent.id == in_use.id:
        return CopiedFrom(
            version_id=parent.id,
            key=parent.key,
            version=parent.version,
            status=RuleSetStatus(parent.status),
            in_use=True,
            note=None,
            undone=[],
            undone_count=0,
        )
    now = rules_in_use_said(session)
    if parent is None:
        return CopiedFrom(
            version_id=None,
            key=None,
            version=None,
            status=None,
            in_use=False,
            note=(
                "This draft was copied from a draft since deleted, so what publishing it would "
                f"undo in the rules in use ({now}) cannot be told: compare it with them "
                "before publishing."
            ),
            undone=[],
            undone_count=0,
        )
    found = list(_undone_values(parent.content, in_use.content, draft.content, ""))
    undone = [
        UndoneRuleValue(
            path=path,
            parent_value=old,
            in_use_value=used,
            draft_value=new,
            changed_in_draft=new != old,
        )
        for path, old, used, new in found[:MAX_UNDONE]
    ]
    source = _label(parent)
    if parent.status == RuleSetStatus.draft:
        source += ", compared as that draft stands now"
    if undone:
        named = "; ".join(
            f"{item.path}: {_said_value(item.parent_value)} in the version copied, "
            f"{_said_value(item.in_use_value)} in use, {_said_value(item.draft_value)} in the "
            "draft"
            for item in undone[:3]
        )
        more = f", and {len(found) - 3} more in `undone`" if len(found) > 3 else ""
        note = (
            f"This draft was copied from {source}, not from the rules in use ({now}). They "
            f"differ from what the draft was copied from in {_plural(len(found), 'value')} "
            f"that publishing the draft would undo: {named}{more}. Carry the changes that "
            "should stay into the draft, or copy the rules in use into a new draft."
        )
    else:
        differing = any(
            path not in _NOT_RULE_VALUES
            for path, _, _ in _leaf_changes(parent.content, in_use.content, "")
        )
        outcome = (
            "every value in which the rules in use differ from it, the draft holds as they do"
            if differing
            else "the two hold the same rules"
        )
        note = (
            f"This draft was copied from {source}, not from the rules in use ({now}); "
            f"{outcome}, so publishing the draft undoes nothing in them."
        )
    return CopiedFrom(
        version_id=parent.id,
        key=parent.key,
        version=parent.version,
        status=RuleSetStatus(parent.status),
        in_use=False,
        note=note,
        undone=undone,
        undone_count=len(found),
    )


def delete_draft(session: Session, draft: RuleSetVersion, actor: Principal) -> None:
    """Delete a draft no one will publish (published versions are never deleted).

    The audit keeps what was deleted. Versions copied from the draft keep their rules; their
    ``parent_id`` becomes None, as the version they were copied from no longer exists."""
    seen = {"version_id": draft.id, "seen": draft.revision}
    if session.execute(_DELETE_DRAFT, seen).rowcount != 1:
        raise _changed_meanwhile(session, draft)
    session.expunge(draft)
    audit.record(
        session,
        actor,
        AUDIT_ENTITY,
        draft.id,
        DRAFT_DELETED,
        old={
            "key": draft.key,
            "version": draft.version,
            "revision": draft.revision,
            "content_hash": draft.content_hash,
        },
    )


def version_history(
    session: Session, version_id: uuid.UUID, page: PageParams
) -> tuple[list[AuditEvent], str | None]:
    """The audit trail of a version, or of a draft since deleted: what it held and who
    deleted it stay readable to its organisation (the audit is read under the tenant filter,
    so another organisation's deleted draft is as unknown as any of its rows)."""
    if session.get(RuleSetVersion, version_id) is None and not session.scalar(
        select(AuditEvent.id).where(
            AuditEvent.entity_type == AUDIT_ENTITY,
            AuditEvent.entity_id == version_id,
            AuditEvent.action == DRAFT_DELETED,
        )
    ):
        raise NotFound(f"no rule-set version {version_id}")
    return audit.history(session, AUDIT_ENTITY, [version_id], page)


def choose_version(
    session: Session,
    row: RuleSetVersion,
    actor: Principal,
    comment: str | None,
    if_match: str | None,
    *,
    required: bool = True,
    refused: str = _CHOICE_NOT_MADE,
    tell_rescore: bool = True,
) -> tuple[RuleSetVersion, Rescored | None]:
    """Make a published version the organisation's; its holdings are rescored with it, and
    (``tell_rescore``) what that did to the scores companies stand on is told.
    ``if_match``: the ETag of the choice the caller read (``choice_etag``); a publish that
    also makes its version current may leave it out (``required`` False). ``refused``: what a
    412 says was not done and how to go on."""
    if row.status != RuleSetStatus.published:
        raise Conflict(f"rule set {row.key} v{row.version} is a draft; publish it first")
    _check_choice(session, if_match, required=required, refused=refused)
    return _set_choice(session, actor, row.id, RULESET_CHOSEN, comment, tell_rescore=tell_rescore)


def follow_default(
    session: Session, actor: Principal, comment: str | None, if_match: str | None
) -> tuple[RuleSetVersion, Rescored | None]:
    """Stop pinning a version: the organisation scores with the latest bundled default again,
    and follows it as new defaults are loaded. ``if_match`` as for ``choose_version``."""
    _check_choice(session, if_match, required=True)
    return _set_choice(session, actor, None, RULESET_CHOICE_CLEARED, comment, tell_rescore=True)


def _set_choice(
    session: Session,
    actor: Principal,
    version_id: uuid.UUID | None,
    action: str,
    comment: str | None,
    *,
    tell_rescore: bool,
) -> tuple[RuleSetVersion, Rescored | None]:
    """Record the organisation's choice (None: the bundled default) in the audit, and rescore
    its holdings when that changes the rules it scores with; choosing what is already chosen
    (or clearing no choice) records nothing. The version in use afterwards, and what the
    rescore did (None: nothing was rescored, or ``tell_rescore`` is false)."""
    organisation = session.get(Organisation, _organisation_id(session))
    if organisation is None:
        raise NotFound("your organisation no longer exists")
    before, _ = current_version(session)
    previous_choice = organisation.ruleset_version_id
    if version_id == previous_choice:
        return before, None
    # The scores companies stand on under the rules before (current already: as a rule a
    # cached read), to tell what the rescore moves.
    standing = _standing_companies(session, before.id) if tell_rescore else []
    earlier = current_scores(session, standing)
    organisation.ruleset_version_id = version_id
    session.flush()
    audit.record(
        session,
        actor,
        ORGANISATION_ENTITY,
        organisation.id,
        action,
        field="ruleset_version_id",
        old=str(previous_choice) if previous_choice else None,
        new=str(version_id) if version_id else None,
        comment=comment,
    )
    after, _ = current_version(session)
    if before.id == after.id:
        return after, None
    _rescore_organisation(session, _choice_reason(before, after))
    if not tell_rescore:
        return after, None
    return after, _rescored(session, earlier, current_scores(session, standing))


def _standing_companies(session: Session, version_id: uuid.UUID) -> list[uuid.UUID]:
    """The companies the organisation has a score standing for, as a draft's preview counts
    them: those it assesses, and the unassessed ones it holds that have evidence, whether a
    risk view has stored their evidence-only score yet or not."""
    # Imported here: the portfolios domain reads its scores through this module.
    from hrdd.portfolios import service as portfolios

    assessments = live_assessments(session, None)
    held = portfolios.held_companies(session, utcnow().date()).could_stand()
    unassessed = held - _representative(assessments).keys()
    on_evidence = _with_evidence(session, sorted(unassessed), version_id)
    assessed = {a.company_id for a in assessments}
    return sorted(assessed | _evidence_only_held(session, None) | on_evidence)


# The companies a change of rules moved, listed in the answer (all are counted).
_RESCORED_LISTED = 20


def _rescored(
    session: Session, before: dict[uuid.UUID, ScoreSummary], after: dict[uuid.UUID, ScoreSummary]
) -> Rescored:
    """What a change of the rules in use did to the score each company stands on: counts, and
    the companies whose band, action or overall moved, the largest move in action first."""
    pairs = [(before[c], after[c]) for c in sorted(after) if c in before]
    moved = [(old, new) for old, new in pairs if _moved(old, new)]
    names = company_names(session, {new.company_id for _, new in moved})
    listed = [
        RescoredCompany(
            company_id=new.company_id,
            company_name=names.get(new.company_id, str(new.company_id)),
            old_overall=old.overall,
            new_overall=new.overall,
            old_band=old.band,
            new_band=new.band,
            old_action=old.action,
            new_action=new.action,
        )
        for old, new in moved
    ]
    listed.sort(
        key=lambda c: (
            -steps_apart(ACTION_LADDER, c.old_action, c.new_action),
            -steps_apart(RISK_BAND_ORDER, c.old_band, c.new_band),
            -abs(c.new_overall - c.old_overall),
            c.company_name,
        )
    )
    return Rescored(
        companies=len(pairs),
        band_changes=sum(1 for old, new in pairs if old.band != new.band),
        action_changes=sum(1 for old, new in pairs if old.action != new.action),
        risk_up=sum(1 for old, new in pairs if new.overall > old.overall),
        risk_down=sum(1 for old, new in pairs if new.overall < old.overall),
        moved=listed[:_RESCORED_LISTED],
        moved_count=len(listed),
    )


def _moved(old: ScoreSummary, new: ScoreSummary) -> bool:
    return (old.overall, old.band, old.action) != (new.overall, new.band, new.action)


def _choice_reason(before: RuleSetVersion, after: RuleSetVersion) -> str:
    """Why a change of the rules in use rescored, as each score's history says it: going back
    to an earlier version (of the same series by number, else by publication) is called a
    rollback, and each version says whose it is (a bundled version and an organisation's own
    may share key and number: "default v8 to default v7" read like a rollback in the user test
    when it was not one)."""
    if (after.key, after.organisation_id) == (before.key, before.organisation_id):
        # One series: its numbers order it (bundled files loaded at once share a moment).
        rolled_back = after.version < before.version
    else:
        rolled_back = (
            after.published_at is not None
            and before.published_at is not None
            and after.published_at < before.published_at
        )
    how = "rolled back" if rolled_back else "changed"
    return f"rule set {how} from {_label(before)} to {_label(after)}"


def choice_history(session: Session, page: PageParams) -> tuple[list[AuditEvent], str | None]:
    """Who chose which version for the organisation, when and why, oldest first."""
    statement = select(AuditEvent).where(
        AuditEvent.entity_type == ORGANISATION_ENTITY,
        AuditEvent.entity_id == _organisation_id(session),
        AuditEvent.action.in_([RULESET_CHOSEN, RULESET_CHOICE_CLEARED]),
    )
    return paginate(session, statement, [AuditEvent.at, AuditEvent.id], page)


def own_version(session: Session, key: str, version: int, content_hash: str | None) -> bool:
    """Whether the rules a score names are the organisation's own version (published through
    the API) rather than one bundled with hrdd: the two may share a key and a number."""
    statement = select(RuleSetVersion.organisation_id).where(
        RuleSetVersion.key == key, RuleSetVersion.version == version
    )
    if content_hash is not None:
        statement = statement.where(RuleSetVersion.content_hash == content_hash)
    owners = set(session.scalars(statement))
    return bool(owners) and None not in owners


def _no_information_entry(ruleset: RuleSet) -> list[tuple[str, str, str]]:
    """The methodology line on "no information found", for the rule sets that decide it."""
    rule = ruleset.confidence.no_information
    if rule is None:
        return []
    counted = "counts" if rule.counts_as_answered else "does not count"
    return [("No information found", f"{counted} towards coverage", rule.why)]


def choice_events(session: Session, events: Sequence[AuditEvent]) -> list[RuleChoiceEvent]:
    """The choice history's events with the versions they name (a bare id tells an analyst
    nothing); the versions are the bundled ones or the organisation's own, all published."""
    ids = {
        uuid.UUID(value)
        for event in events
        for value in (event.old_value, event.new_value)
        if isinstance(value, str)
    }
    rows = {
        row.id: row
        for chunk in in_chunks(sorted(ids))
        for row in session.scalars(select(RuleSetVersion).where(RuleSetVersion.id.in_(chunk)))
    }

    defaults = list(
        session.scalars(
            select(RuleSetVersion).where(
                RuleSetVersion.key == DEFAULT_RULESET_KEY,
                RuleSetVersion.organisation_id.is_(None),
            )
        )
    )

    def named(value: Any, at: dt.datetime) -> ChosenRules:
        chosen = isinstance(value, str)
        if chosen:
            row = rows.get(uuid.UUID(value))
        else:
            # Following the default: the latest bundled default loaded by then.
            loaded = [row for row in defaults if row.created_at <= at]
            row = max(loaded, key=lambda row: row.version) if loaded else None
        if row is None:
            return ChosenRules(chosen=chosen)
        return ChosenRules(
            chosen=chosen, version_id=row.id, key=row.key, version=row.version, title=row.title
        )

    return [
        RuleChoiceEvent.model_validate(
            AuditEventOut.model_validate(event, from_attributes=True).model_dump()
            | {
                "before": named(event.old_value, event.at),
                "after": named(event.new_value, event.at),
            }
        )
        for event in events
    ]


# --- loading what scores are made of ---------------------------------------------------------


def _rows_in(
    session: Session,
    statement: Select[Any],
    column: InstrumentedAttribute[Any],
    ids: Sequence[uuid.UUID] | None,
) -> Iterator[Any]:
    """Rows of ``statement`` whose ``column`` is in ``ids``; every row (of the caller's
    organisation, as the tenant filter decides) when ``ids`` is None."""
    if ids is None:
        yield from session.execute(statement)
        return
    for chunk in in_chunks(ids):
        yield from session.execute(statement.where(column.in_(chunk)))


_ANSWER_COLUMNS = (
    AssessmentAnswer.assessment_id,
    AssessmentAnswer.question_id,
    AssessmentAnswer.payload,
    AssessmentAnswer.updated_at,
)
_EVIDENCE_COLUMNS = (
    EvidenceItem.id,
    EvidenceItem.company_id,
    EvidenceItem.slug,
    EvidenceItem.title,
    EvidenceItem.event_date,
    EvidenceItem.published_date,
    EvidenceItem.type,
    EvidenceItem.severity,
    EvidenceItem.company_role,
    EvidenceItem.affected_groups,
    EvidenceItem.status,
    EvidenceItem.remediated_date,
    EvidenceItem.sources,
    EvidenceItem.company_responses,
    EvidenceItem.related_listing,
    EvidenceItem.closes,
    EvidenceItem.updated_at,
)
_COMMITMENT_COLUMNS = (
    Commitment.id,
    Commitment.company_id,
    Commitment.slug,
    Commitment.title,
    Commitment.claim,
    Commitment.date,
    Commitment.date_precision,
    Commitment.question_ids,
    Commitment.fulfilment,
    Commitment.contradicted_by,
)


@dataclass(frozen=True)
class Subject:
    """What one score is about: an assessment, or a company no one has assessed yet."""

    company_id: uuid.UUID
    assessment: Assessment | None = None

    @property
    def assessment_id(self) -> uuid.UUID | None:
        return self.assessment.id if self.assessment is not None else None


@dataclass
class LoadedInputs:
    """Everything a batch of subjects is scored from, loaded in a few queries."""

    questionnaires: dict[uuid.UUID, Questionnaire]
    answers: dict[uuid.UUID, list[Any]]
    evidence: dict[uuid.UUID, list[Any]]
    commitments: dict[uuid.UUID, list[Any]]
    # How each company's own sources are recognised (its website, its names): an answer
    # citing only such sources rests on the company's word.
    sites: dict[uuid.UUID, CompanySite] = field(default_factory=dict)
    incidents: dict[uuid.UUID, tuple[IncidentInput, ...]] = field(default_factory=dict)
    references: dict[uuid.UUID, dict[str, str]] = field(default_factory=dict)

    def incidents_of(self, company_id: uuid.UUID) -> tuple[IncidentInput, ...]:
        found = self.incidents.get(company_id)
        if found is None:
            found = self.incidents[company_id] = incident_inputs(
                self.evidence.get(company_id, ()), self.references_of(company_id)
            )
        return found

    def references_of(self, company_id: uuid.UUID) -> dict[str, str]:
        found = self.references.get(company_id)
        if found is None:
            found = self.references[company_id] = reference_index(self.evidence.get(company_id, ()))
        return found


def load_inputs(
    session: Session, subjects: Sequence[Subject], whole_organisation: bool
) -> LoadedInputs:
    """Answers, evidence and commitments of the subjects. ``whole_organisation`` reads every
    row the organisation sees in one pass instead of by id lists (preview, full rescoring)."""
    assessments = [s.assessment for s in subjects if s.assessment is not None]
    questionnaire_ids = sorted({a.questionnaire_version_id for a in assessments})
    loaded_questionnaires = {
        version_id: questionnaires.questionnaire_by_id(session, version_id)
        for version_id in questionnaire_ids
    }
    wanted_assessments = {a.id for a in assessments}
    answers: dict[uuid.UUID, list[Any]] = defaultdict(list)
    assessment_ids = None if whole_organisation else sorted(wanted_assessments)
    for row in _rows_in(
        session, select(*_ANSWER_COLUMNS), AssessmentAnswer.assessment_id, assessment_ids
    ):
        if row.assessment_id in wanted_assessments:
            answers[row.assessment_id].append(row)

    wanted_companies = {s.company_id for s in subjects}
    company_ids = None if whole_organisation else sorted(wanted_companies)
    evidence: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in _rows_in(
        session,
        select(*_EVIDENCE_COLUMNS).where(EvidenceItem.deleted_at.is_(None)),
        EvidenceItem.company_id,
        company_ids,
    ):
        if row.company_id in wanted_companies:
            evidence[row.company_id].append(row)
    commitments: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in _rows_in(
        session,
        select(*_COMMITMENT_COLUMNS).where(Commitment.deleted_at.is_(None)),
        Commitment.company_id,
        company_ids,
    ):
        if row.company_id in wanted_companies:
            commitments[row.company_id].append(row)
    sites = {
        row.id: site
        for row in _rows_in(
            session,
            select(Company.id, Company.website, Company.name, Company.aliases),
            Company.id,
            company_ids,
        )
        if row.id in wanted_companies
        and (site := company_site(row.website, [row.name, *row.aliases])) is not None
    }
    return LoadedInputs(loaded_questionnaires, answers, evidence, commitments, sites)


def _questionnaire_for(
    subject: Subject, loaded: LoadedInputs, ruleset_questionnaire: Questionnaire | None
) -> Questionnaire:
    if subject.assessment is not None:
        return loaded.questionnaires[subject.assessment.questionnaire_version_id]
    if ruleset_questionnaire is None:
        raise Conflict("the rule set's questionnaire is not loaded; run `hrdd load` first")
    return ruleset_questionnaire


def build_request(
    subject: Subject,
    loaded: LoadedInputs,
    ruleset: RuleSet,
    ruleset_questionnaire: Questionnaire | None,
    as_of: dt.date,
    previous: StoredScore | None,
) -> ScoreRequest:
    """The engine's input for one subject; an evidence-only score has no answers (its
    conditional questions are hidden, as they are in an empty assessment) and is rated on the
    evidence and red flags alone."""
    questionnaire = _questionnaire_for(subject, loaded, ruleset_questionnaire)
    records = loaded.answers.get(subject.assessment.id, ()) if subject.assessment else ()
    # Whose sources an answer cites is an input only under rules that weigh it: under others
    # (v1; v1 to v6 for answers citing no checkable source) the inputs, and so their hash,
    # stay as they were.
    answers = answer_inputs(
        questionnaire,
        records,
        loaded.sites.get(subject.company_id),
        weigh_sources=ruleset.say_do.company_sourced_answers is not None,
        weigh_unsourced=ruleset.say_do.unsourced_answers is not None,
    )
    commitments = commitment_inputs(
        loaded.commitments.get(subject.company_id, ()),
        questionnaire.questions_by_id,
        loaded.references_of(subject.company_id),
        ruleset.say_do.before_contradiction_known,
    )
    try:
        return ScoreRequest(
            questions=question_specs(questionnaire),
            answers=answers,
            incidents=loaded.incidents_of(subject.company_id),
            commitments=commitments,
            ruleset=ruleset,
            as_of=as_of,
            previous=result_of(previous) if previous is not None else None,
            previous_assessed=previous is None or previous.assessment_id is not None,
            assessed=subject.assessment is not None,
            in_progress=_in_progress(subject),
        )
    except ValidationError as error:
        raise Unscorable(f"{_describe(subject)} cannot be scored: {error}") from None


def _in_progress(subject: Subject) -> bool:
    return subject.assessment is not None and (
        subject.assessment.status == AssessmentStatus.draft.value
    )


def _describe(subject: Subject) -> str:
    if subject.assessment is not None:
        return f"assessment {subject.assessment.id}"
    return f"company {subject.company_id}"


def _run(request: ScoreRequest, subject: Subject) -> ScoreResult:
    try:
        return engine.score(request)
    except engine.ScoringInputError as error:
        raise Unscorable(f"{_describe(subject)} cannot be scored: {error}") from None


def inputs_key(request: ScoreRequest) -> str:
    """The inputs hash with the as-of date held fixed: equal when only time has passed."""
    return engine.inputs_hash(request.model_copy(update={"as_of": _KEY_DATE}))


# --- stored scores ---------------------------------------------------------------------------


def result_of(row: StoredScore) -> ScoreResult:
    return ScoreResult.model_validate(row.result)


@dataclass
class _Latest:
    """The newest stored score of each subject, and the rows a new score is compared with."""

    by_assessment: dict[uuid.UUID, StoredScore]
    evidence_only: dict[uuid.UUID, StoredScore]

    def own(self, subject: Subject) -> StoredScore | None:
        if subject.assessment is not None:
            return self.by_assessment.get(subject.assessment.id)
        return self.evidence_only.get(subject.company_id)

    def previous(self, subject: Subject) -> StoredScore | None:
        """The holding's previous score: the subject's own, else the assessment it reopened,
        else the company's evidence-only score."""
        own = self.own(subject)
        if own is not None:
            return own
        return self.before(subject)

    def before(self, subject: Subject) -> StoredScore | None:
        """The score the holding had before this assessment: the one it reopened, else the
        company's evidence-only score."""
        if subject.assessment is not None and subject.assessment.previous_assessment_id:
            earlier = self.by_assessment.get(subject.assessment.previous_assessment_id)
            if earlier is not None:
                return earlier
        return self.evidence_only.get(subject.company_id)


def _latest(session: Session, subjects: Sequence[Subject], whole_organisation: bool) -> _Latest:
    assessment_ids = {s.assessment.id for s in subjects if s.assessment is not None}
    assessment_ids |= {
        s.assessment.previous_assessment_id
        for s in subjects
        if s.assessment is not None and s.assessment.previous_assessment_id is not None
    }
    company_ids = {s.company_id for s in subjects}
    light = select(
        StoredScore.id, StoredScore.assessment_id, StoredScore.company_id, StoredScore.computed_at
    )
    newest: dict[tuple[str, uuid.UUID], tuple[dt.datetime, uuid.UUID]] = {}

    def consider(key: tuple[str, uuid.UUID], row: Any) -> None:
        candidate = (row.computed_at, row.id)
        if key not in newest or candidate > newest[key]:
            newest[key] = candidate

    if whole_organisation:
        for row in session.execute(light):
            if row.assessment_id is None:
                consider(("c", row.company_id), row)
            else:
                consider(("a", row.assessment_id), row)
    else:
        for row in _rows_in(session, light, StoredScore.assessment_id, sorted(assessment_ids)):
            consider(("a", row.assessment_id), row)
        for row in _rows_in(
            session,
            light.where(StoredScore.assessment_id.is_(None)),
            StoredScore.company_id,
            sorted(company_ids),
        ):
            consider(("c", row.company_id), row)
    wanted = {
        row_id
        for (kind, key), (_, row_id) in newest.items()
        if (kind == "a" and key in assessment_ids) or (kind == "c" and key in company_ids)
    }
    latest = _Latest({}, {})
    for row in _rows_in(session, select(StoredScore), StoredScore.id, sorted(wanted)):
        score = row[0]
        if score.assessment_id is None:
            latest.evidence_only[score.company_id] = score
        else:
            latest.by_assessment[score.assessment_id] = score
    return latest


def _needs_new_row(
    latest: StoredScore, result: ScoreResult, key: str, version_id: uuid.UUID
) -> bool:
    return (
        latest.ruleset_version_id != version_id
        or latest.inputs_key != key
        or latest.band != result.band.value
        or latest.overall != float(result.overall)
    )


@dataclass
class _Scored:
    subject: Subject
    request: ScoreRequest
    result: ScoreResult
    # The stored score this result is recorded as (new, or the matching earlier one whose
    # result it then is); None for a score as of a past date.
    row: StoredScore | None


@dataclass
class _Batch:
    """Subjects scored with the organisation's version; rows stored where something changed."""

    version: RuleSetVersion
    ruleset: RuleSet
    loaded: LoadedInputs
    scored: list[_Scored]


def _score_and_store(
    session: Session,
    subjects: Sequence[Subject],
    *,
    reason: str,
    whole_organisation: bool = False,
    today: dt.date | None = None,
) -> _Batch:
    version, _ = current_version(session)
    ruleset = ruleset_of(version)
    today = today or utcnow().date()
    loaded = load_inputs(session, subjects, whole_organisation)
    latest = _latest(session, subjects, whole_organisation)
    needs_default_questionnaire = any(s.assessment is None for s in subjects)
    ruleset_questionnaire = (
        _stored_questionnaire(session, ruleset) if needs_default_questionnaire else None
    )
    scored = []
    for subject in subjects:
        previous = latest.previous(subject)
        if (
            previous is not None
            and previous.result.get("trend") == "in_progress"
            and not _in_progress(subject)
        ):
            # Its first score once submitted: the draft's scores were work in progress, so the
            # trend is read against what stood for the company before.
            previous = latest.before(subject)
        request = build_request(subject, loaded, ruleset, ruleset_questionnaire, today, previous)
        result = _run(request, subject)
        key = inputs_key(request)
        row = latest.own(subject)
        if row is not None and not _needs_new_row(row, result, key, version.id):
            # Only time has passed: the recorded score stands (its trend and action were
            # judged against the score before it, which a comparison with itself would lose).
            result = result_of(row)
        else:
            row = StoredScore(
                assessment_id=subject.assessment_id,
                company_id=subject.company_id,
                ruleset_version_id=version.id,
                as_of=today,
                inputs_hash=result.inputs_hash,
                inputs_key=key,
                result=result.model_dump(mode="json"),
                overall=float(result.overall),
                band=result.band.value,
                reason=reason[:300],
            )
            session.add(row)
        scored.append(_Scored(subject, request, result, row))
    session.flush()
    return _Batch(version, ruleset, loaded, scored)


def summary_of(
    result: ScoreResult,
    assessment_id: uuid.UUID | None,
    company_id: uuid.UUID,
    computed_at: dt.datetime,
) -> ScoreSummary:
    assessed = assessment_id is not None
    return ScoreSummary(
        assessment_id=assessment_id,
        company_id=company_id,
        overall=float(result.overall),
        band=result.band,
        confidence=result.confidence,
        sensitivity_low=float(result.sensitivity.low),
        sensitivity_high=float(result.sensitivity.high),
        commitment_score=float(result.commitment_score) if assessed else None,
        verified_commitment_score=float(result.verified_commitment_score) if assessed else None,
        say_do_gap=float(result.say_do_gap) if assessed else None,
        evidence_risk_current=float(result.evidence_risk_current),
        evidence_risk_peak=float(result.evidence_risk_peak),
        theme_scores={theme.theme: float(theme.verified) for theme in result.themes}
        if assessed
        else {},
        overrides=[
            OverrideView(
                rule_id=fired.rule_id,
                reason=fired.reason,
                floor=float(fired.floor),
                lifts_when=fired.lifted_when,
                evidence_refs=list(fired.incident_ids),
            )
            for fired in result.overrides
        ],
        action=result.action,
        action_reason=result.action_reason,
        ruleset_id=result.ruleset_id,
        ruleset_version=result.ruleset_version,
        ruleset_hash=result.ruleset_hash,
        inputs_hash=result.inputs_hash,
        as_of=result.as_of,
        computed_at=computed_at,
        trend=_TRENDS[result.trend],
    )


def _row_summary(row: StoredScore, result: ScoreResult | None = None) -> ScoreSummary:
    return summary_of(
        result if result is not None else result_of(row),
        row.assessment_id,
        row.company_id,
        row.computed_at,
    )


def worded_for_company(
    summary: ScoreSummary, result: ScoreResult | None, *, listed: bool
) -> tuple[ScoreSummary, ScoreResult | None]:
    """A score as read for its own company: one whose shares are not listed holds no
    shareholder vote, so the action's reason names the investor's governance rights, as
    portfolio risk and the reports word it. Stored scores keep the engine's words (a company
    listed later reads them as they are), and portfolio risk words a score by the holding's
    company instead, since a listed owner of a private company does have a vote."""
    if listed:
        return summary, result
    summary = summary.model_copy(
        update={"action_reason": engine.reason_for_unlisted(summary.action_reason)}
    )
    if result is not None:
        result = result.model_copy(
            update={"action_reason": engine.reason_for_unlisted(result.action_reason)}
        )
    return summary, result


def _is_listed(session: Session, company_id: uuid.UUID) -> bool:
    return listing_statuses(session, [company_id]).get(company_id) is ListingStatus.listed


def _scored_summary(scored: _Scored) -> ScoreSummary:
    if scored.row is not None:
        return _row_summary(scored.row, scored.result)
    return summary_of(
        scored.result, scored.subject.assessment_id, scored.subject.company_id, utcnow()
    )


# --- stored scores served while their inputs stand (see hrdd.scoring.freshness) -------------


@dataclass(frozen=True)
class _Ref:
    """A subject as its stamp knows it; ``Subject`` holds the loaded assessment."""

    company_id: uuid.UUID
    assessment_id: uuid.UUID | None = None
    assessment_version: int | None = None

    @staticmethod
    def of(subject: Subject) -> _Ref:
        if subject.assessment is None:
            return _Ref(subject.company_id)
        return _Ref(subject.company_id, subject.assessment.id, subject.assessment.version)


@dataclass
class _Marks:
    """What the stamps of a batch of subjects are made of, read before any of their inputs."""

    version_id: uuid.UUID
    today: dt.date
    # The newest stored score of each subject (``_key``), None when it has none yet.
    own_latest: dict[tuple[str, uuid.UUID], uuid.UUID | None]
    companies: dict[uuid.UUID, freshness.CompanyMarks]


@dataclass
class _Current:
    """A subject's stored score as it stands now."""

    ref: _Ref
    score_id: uuid.UUID
    ruleset_version_id: uuid.UUID
    summary: ScoreSummary
    result: ScoreResult | None  # only when asked for


def _key(ref: _Ref) -> tuple[str, uuid.UUID]:
    if ref.assessment_id is not None:
        return "a", ref.assessment_id
    return "c", ref.company_id


# Built once: the busiest reads run these on every request (see ``hrdd.db.reusable``).
_LATEST_BY_ASSESSMENT = reusable(
    select(Assessment.id, freshness.latest_score_column(Assessment.id)).where(
        Assessment.id.in_(IDS)
    )
)
_MARKS_BY_COMPANY = reusable(
    select(
        Company.id,
        freshness.latest_evidence_only_column(Company.id),
        *freshness.company_mark_columns(Company.id),
    ).where(Company.id.in_(IDS))
)
# An assessment with every mark of its stamp: ``_current_assessment_score``.
_ASSESSMENT_MARKED = reusable(
    select(
        Assessment.company_id,
        Assessment.version,
        select(Company.listing_status).where(Company.id == Assessment.company_id).scalar_subquery(),
        freshness.latest_score_column(Assessment.id),
        *freshness.version_columns(_ORGANISATION, DEFAULT_RULESET_KEY),
        *freshness.company_mark_columns(Assessment.company_id),
    ).where(Assessment.id == bindparam("assessment_id"))
)
_LIVE_OF_COMPANIES = (
    Assessment.status != AssessmentStatus.superseded.value,
    Assessment.company_id.in_(IDS),
)
_LIVE_ASSESSMENTS = reusable(select(Assessment).where(*_LIVE_OF_COMPANIES))
# The same, each with the id of its newest stored score.
_LIVE_WITH_LATEST = reusable(
    select(Assessment, freshness.latest_score_column(Assessment.id)).where(*_LIVE_OF_COMPANIES)
)


def version_in_use_label(session: Session) -> VersionInUse:
    """The key, number, content hash and owner of the version the organisation scores with
    (``current_version`` without reading its rules); 409 while no rule set is loaded."""
    version_id = in_use_id(session)
    if version_id is None:
        raise _no_rule_set()
    label = _labels.get(version_id)
    if label is None:
        key, number, content_hash, owner = session.execute(
            select(
                RuleSetVersion.key,
                RuleSetVersion.version,
                RuleSetVersion.content_hash,
                RuleSetVersion.organisation_id,
            ).where(RuleSetVersion.id == version_id)
        ).one()
        label = VersionInUse(key, number, content_hash, bundled=owner is None)
        _labels.put(version_id, label)
    return label


def _read_marks(
    session: Session,
    assessments: Sequence[Assessment],
    company_ids: Sequence[uuid.UUID],
    version_id: uuid.UUID,
    latest: Mapping[uuid.UUID, uuid.UUID | None] | None = None,
) -> _Marks:
    """Newest stored scores of the assessments (unless ``latest`` has them already) and of
    the companies' evidence-only subjects, and the companies' evidence marks: a query per
    500 of each."""
    marks = _Marks(version_id, utcnow().date(), {}, {})
    if latest is None:
        ids = sorted(a.id for a in assessments)
        latest = {row[0]: row[1] for row in rows_for_ids(session, _LATEST_BY_ASSESSMENT, ids)}
    for assessment in assessments:
        marks.own_latest["a", assessment.id] = latest.get(assessment.id)
    for row in rows_for_ids(session, _MARKS_BY_COMPANY, sorted(set(company_ids))):
        marks.own_latest["c", row[0]] = row[1]
        marks.companies[row[0]] = freshness.company_marks(tuple(row[2:]), marks.today)
    return marks


def _stamp(ref: _Ref, marks: _Marks, score_id: uuid.UUID) -> freshness.InputsStamp:
    return freshness.InputsStamp(
        score_id=score_id,
        ruleset_version_id=marks.version_id,
        assessment_version=ref.assessment_version,
        company=marks.companies[ref.company_id].marks,
        day=marks.today,
    )


def _current(
    session: Session,
    refs: Sequence[_Ref],
    marks: _Marks,
    subject_of: Callable[[_Ref], Subject],
    *,
    reason: str,
    with_results: bool,
    whole_organisation: bool = False,
) -> list[_Current]:
    """Each subject's stored score, brought up to date: served as stored when its stamp is
    the one it was last verified at, else computed (and stored when it changed). Only the
    subjects computed are materialised (``subject_of``)."""
    organisation_id = _organisation_id(session)
    keys = [freshness.subject_key(organisation_id, r.assessment_id, r.company_id) for r in refs]
    found: dict[int, _Current] = {}
    stale: list[int] = []
    unparsed: dict[int, uuid.UUID] = {}
    for index, ref in enumerate(refs):
        own = marks.own_latest.get(_key(ref))
        if own is None or not freshness.verified(keys[index], _stamp(ref, marks, own)):
            stale.append(index)
            continue
        summary = freshness.cached_summary(own)
        result = freshness.cached_result(own) if with_results else None
        if summary is None or (with_results and result is None):
            unparsed[index] = own
            continue
        found[index] = _Current(ref, own, marks.version_id, summary, result)
    if unparsed:
        rows = {
            row[0].id: row[0]
            for row in _rows_in(
                session, select(StoredScore), StoredScore.id, sorted(set(unparsed.values()))
            )
        }
        for index, score_id in unparsed.items():
            stored = rows[score_id]
            result = result_of(stored)
            summary = _row_summary(stored, result)
            freshness.keep(score_id, summary, result)
            found[index] = _Current(
                refs[index], score_id, marks.version_id, summary, result if with_results else None
            )
    if stale:
        batch = _score_and_store(
            session,
            [subject_of(refs[index]) for index in stale],
            reason=reason,
            # Reading every row of the organisation pays only when most subjects are stale.
            whole_organisation=whole_organisation and 2 * len(stale) > len(refs),
            today=marks.today,
        )
        for index, scored in zip(stale, batch.scored, strict=True):
            stored = scored.row
            if stored is None:  # only scores as of a past date have none
                raise RuntimeError("a current score was not stored")
            summary = _row_summary(stored, scored.result)
            freshness.keep(stored.id, summary, scored.result)
            if batch.version.id == marks.version_id:
                # The stamp as read before the inputs: never newer than what was computed.
                freshness.remember(keys[index], _stamp(refs[index], marks, stored.id))
            found[index] = _Current(
                refs[index],
                stored.id,
                batch.version.id,
                summary,
                scored.result if with_results else None,
            )
    return [found[index] for index in range(len(refs))]


# --- subjects --------------------------------------------------------------------------------


def get_assessment(session: Session, assessment_id: uuid.UUID) -> Assessment:
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFound(f"no assessment {assessment_id}")
    return assessment


def live_assessments(session: Session, company_ids: Sequence[uuid.UUID] | None) -> list[Assessment]:
    """The organisation's assessments that are not superseded, of these companies (of all
    companies when None)."""
    if company_ids is not None:
        return [row[0] for row in rows_for_ids(session, _LIVE_ASSESSMENTS, company_ids)]
    statement = select(Assessment).where(Assessment.status != AssessmentStatus.superseded.value)
    return list(session.scalars(statement))


def _representative(assessments: Iterable[Assessment]) -> dict[uuid.UUID, Assessment]:
    """Per company, the assessment that stands for it: newest final, else newest submitted
    (drafts stand for nothing)."""
    chosen: dict[uuid.UUID, Assessment] = {}
    for assessment in assessments:
        rank = _REPRESENTATIVE_ORDER.get(assessment.status)
        if rank is None:
            continue
        current = chosen.get(assessment.company_id)
        if current is None or (rank, _newest_first(assessment)) < (
            _REPRESENTATIVE_ORDER[current.status],
            _newest_first(current),
        ):
            chosen[assessment.company_id] = assessment
    return chosen


def _newest_first(assessment: Assessment) -> float:
    return -assessment.created_at.timestamp()


# --- the contract with portfolios and reports ------------------------------------------------


def current_scores(
    session: Session, company_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ScoreSummary]:
    """Latest stored score per company for the caller's organisation: the newest final (else
    newest submitted) assessment's stored score; for a company with neither, an evidence-only
    score (answers empty) so red flags are never hidden, whatever drafts are in progress.
    Companies with neither such an assessment nor evidence are absent from the dict.

    Scores are brought up to date first (stored when the rules, the inputs, the overall score
    or the band changed), so the summary is never older than the data it rests on.
    """
    wanted = sorted(set(company_ids))
    if not wanted:
        return {}
    version_id = in_use_id(session)
    if version_id is None:
        raise _no_rule_set()
    live = list(rows_for_ids(session, _LIVE_WITH_LATEST, wanted))
    representatives = _representative(row[0] for row in live)
    latest = {row[0].id: row[1] for row in live}
    marks = _read_marks(session, list(representatives.values()), wanted, version_id, latest)
    subjects = [
        Subject(company_id, assessment) for company_id, assessment in representatives.items()
    ]
    subjects += [
        Subject(company_id)
        for company_id in wanted
        if company_id not in representatives
        and (found := marks.companies.get(company_id)) is not None
        and found.has_evidence
    ]
    current = _current(
        session,
        [_Ref.of(subject) for subject in subjects],
        marks,
        _subjects_by_ref(subjects),
        reason="portfolio or report read",
        with_results=False,
    )
    return {item.ref.company_id: item.summary for item in current}


def _subjects_by_ref(subjects: Sequence[Subject]) -> Callable[[_Ref], Subject]:
    return {_Ref.of(subject): subject for subject in subjects}.__getitem__


def rescore_companies(
    session: Session, company_ids: Sequence[uuid.UUID], *, reason: str = "evidence changed"
) -> bool:
    """Recompute and store scores for the caller organisation's assessments of these companies
    (called after evidence changes and imports), and the evidence-only scores it holds for
    those of them no one has assessed. History is kept: changed scores get new rows. Returns
    whether anything was scored (not while no rule set is loaded)."""
    wanted = sorted(set(company_ids))
    if not wanted:
        return False
    return _rescore(
        session,
        live_assessments(session, wanted),
        _evidence_only_held(session, wanted),
        reason=reason,
    )


def _rescore_organisation(session: Session, reason: str) -> bool:
    """Every live assessment of the organisation, and every company it holds an
    evidence-only score for."""
    return _rescore(
        session,
        live_assessments(session, None),
        _evidence_only_held(session, None),
        reason=reason,
        whole_organisation=True,
    )


def _evidence_only_held(
    session: Session, company_ids: Sequence[uuid.UUID] | None
) -> set[uuid.UUID]:
    """Companies the organisation has an evidence-only score for: the unassessed holdings it
    looked at (through ``current_scores``), which must not go stale."""
    statement = select(StoredScore.company_id).where(StoredScore.assessment_id.is_(None))
    return {
        row.company_id
        for row in _rows_in(session, statement.distinct(), StoredScore.company_id, company_ids)
    }


def _subjects(assessments: Sequence[Assessment], evidence_only: set[uuid.UUID]) -> list[Subject]:
    """What a rescore (and a rule-draft preview, which must show the same) scores: each
    assessment, and the evidence-only score of each of the companies with no submitted or
    final assessment."""
    assessed = {a.company_id for a in assessments if a.status in _STANDING}
    return [
        *(Subject(a.company_id, a) for a in assessments),
        *(Subject(company_id) for company_id in sorted(evidence_only - assessed)),
    ]


def _rescore(
    session: Session,
    assessments: Sequence[Assessment],
    evidence_only: set[uuid.UUID],
    *,
    reason: str,
    whole_organisation: bool = False,
) -> bool:
    subjects = _subjects(assessments, evidence_only)
    # With no rule set loaded there is no score to bring up to date; loading one scores them.
    version_id = in_use_id(session) if subjects else None
    if version_id is None:
        return False
    marks = _read_marks(session, assessments, [s.company_id for s in subjects], version_id)
    _current(
        session,
        [_Ref.of(subject) for subject in subjects],
        marks,
        _subjects_by_ref(subjects),
        reason=reason,
        with_results=False,
        whole_organisation=whole_organisation,
    )
    return True


def rescore_everywhere(
    database: Database, company_ids: Sequence[uuid.UUID], *, reason: str = "evidence changed"
) -> int:
    """``rescore_companies`` for every organisation that assessed or scored these companies,
    each in its own session: for changes to shared evidence made outside a tenant's request
    (the bundled loader, imports). Returns how many organisations were rescored."""
    wanted = sorted(set(company_ids))
    if not wanted:
        return 0
    with database.session(SYSTEM) as session:
        organisations = {
            row.organisation_id
            for model in (Assessment, StoredScore)
            for row in _rows_in(
                session,
                select(model.organisation_id).distinct(),
                model.company_id,
                wanted,
            )
        }
    return _in_each(
        database, organisations, lambda session: rescore_companies(session, wanted, reason=reason)
    )


def _rescore_default_users(database: Database, reason: str) -> int:
    """Rescore every organisation that scores with the bundled default (it chose no version)
    and has something to score: a newly loaded default is the version they use from now on.
    Returns how many organisations were rescored."""
    with database.session(SYSTEM) as session:
        unchosen = set(
            session.scalars(
                select(Organisation.id).where(Organisation.ruleset_version_id.is_(None))
            )
        )
        organisations = unchosen & {
            organisation_id
            for model in (Assessment, StoredScore)
            for organisation_id in session.scalars(select(model.organisation_id).distinct())
        }
    return _in_each(database, organisations, lambda session: _rescore_organisation(session, reason))


def _in_each(
    database: Database, organisations: Iterable[uuid.UUID], rescore: Callable[[Session], bool]
) -> int:
    """Run ``rescore`` for each organisation in a session of its own; returns how many were
    rescored. One whose assessments cannot be scored (say, on a questionnaire version it
    published with a theme the rules do not weigh) is skipped with a warning and keeps its
    stored scores: it must not stop a load for everyone else, and its own score requests
    still say why (409)."""
    rescored = 0
    for organisation_id in sorted(organisations):
        try:
            with database.session(TenantContext(organisation_id), write=True) as session:
                rescored += rescore(session)
        except Unscorable as error:
            log.warning("organisation %s not rescored: %s", organisation_id, error.detail)
    return rescored


def _today_or_past(as_of: dt.date | None) -> tuple[dt.date, bool]:
    """(the date to score at, whether it is today)."""
    today = utcnow().date()
    if as_of is None or as_of == today:
        return today, True
    if as_of > today:
        raise Invalid.at("query.as_of", f"{as_of} is in the future; score as of today or earlier")
    return as_of, False


def _score_assessment(
    session: Session, assessment: Assessment, as_of: dt.date | None
) -> tuple[_Batch, _Scored]:
    """Current scores are stored (when changed); scores as of a past date are computed
    against the last score stored before that date and kept nowhere."""
    day, is_today = _today_or_past(as_of)
    subject = Subject(assessment.company_id, assessment)
    if is_today:
        batch = _score_and_store(session, [subject], reason="score requested")
        return batch, batch.scored[0]
    version, _ = current_version(session)
    ruleset = ruleset_of(version)
    loaded = load_inputs(session, [subject], whole_organisation=False)
    earlier = session.scalar(
        select(StoredScore)
        .where(StoredScore.assessment_id == assessment.id, StoredScore.as_of < day)
        .order_by(StoredScore.as_of.desc(), StoredScore.computed_at.desc())
        .limit(1)
    )
    request = build_request(subject, loaded, ruleset, None, day, earlier)
    scored = _Scored(subject, request, _run(request, subject), None)
    return _Batch(version, ruleset, loaded, [scored]), scored


def assessment_score(session: Session, assessment_id: uuid.UUID, as_of: dt.date | None) -> ScoreOut:
    if as_of is None or as_of == utcnow().date():
        return _current_assessment_score(session, assessment_id)
    assessment = get_assessment(session, assessment_id)
    batch, scored = _score_assessment(session, assessment, as_of)
    summary, result = worded_for_company(
        _scored_summary(scored), scored.result, listed=_is_listed(session, assessment.company_id)
    )
    return ScoreOut(
        score_id=scored.row.id if scored.row is not None else None,
        assessment_id=assessment.id,
        company_id=assessment.company_id,
        ruleset_version_id=batch.version.id,
        summary=summary,
        result=result,
    )


def _current_assessment_score(session: Session, assessment_id: uuid.UUID) -> ScoreOut:
    """Today's score: the assessment and every mark of its stamp in one query, and the
    stored score as it is when the stamp is the one it was last verified at."""
    parameters = {"organisation_id": _organisation_id(session), "assessment_id": assessment_id}
    found = session.execute(_ASSESSMENT_MARKED, parameters).first()
    if found is None:
        raise NotFound(f"no assessment {assessment_id}")
    company_id, version, listing, own, chosen, default, *company = found
    version_id = chosen or default
    if version_id is None:
        raise _no_rule_set()
    today = utcnow().date()
    marks = _Marks(
        version_id,
        today,
        {("a", assessment_id): own},
        {company_id: freshness.company_marks(tuple(company), today)},
    )
    [current] = _current(
        session,
        [_Ref(company_id, assessment_id, version)],
        marks,
        # Loaded only when the score must be computed.
        lambda _: Subject(company_id, get_assessment(session, assessment_id)),
        reason="score requested",
        with_results=True,
    )
    summary, result = worded_for_company(
        current.summary, current.result, listed=listing == ListingStatus.listed.value
    )
    return ScoreOut(
        score_id=current.score_id,
        assessment_id=assessment_id,
        company_id=company_id,
        ruleset_version_id=current.ruleset_version_id,
        summary=summary,
        result=result,
    )


def assessment_history(
    session: Session, assessment_id: uuid.UUID, page: PageParams
) -> ScoreHistory:
    """Every stored score of the assessment, oldest first, each with its diff and reasons."""
    assessment = get_assessment(session, assessment_id)
    rows, next_cursor = paginate(
        session,
        select(StoredScore).where(StoredScore.assessment_id == assessment.id),
        [StoredScore.computed_at, StoredScore.id],
        page,
    )
    listed = _is_listed(session, assessment.company_id)
    items = []
    for row in rows:
        result = result_of(row)
        summary, _ = worded_for_company(_row_summary(row, result), None, listed=listed)
        items.append(
            ScoreHistoryItem(
                score_id=row.id,
                reason=row.reason,
                ruleset_version_id=row.ruleset_version_id,
                summary=summary,
                diff=result.diff,
            )
        )
    return ScoreHistory(items=items, next_cursor=next_cursor)


def score_detail(
    session: Session, assessment_id: uuid.UUID, as_of: dt.date | None = None
) -> ScoreDetail:
    """Full result incl. explanation (contributions), evidence risk over time series
    [(date, value)], say-do rows, the rule set's plain-words methodology, for the company report."""
    assessment = get_assessment(session, assessment_id)
    batch, scored = _score_assessment(session, assessment, as_of)
    result = scored.result
    company_id = assessment.company_id
    evidence_rows = batch.loaded.evidence.get(company_id, [])
    incidents = {incident.id: incident for incident in scored.request.incidents}
    summary, worded = worded_for_company(
        _scored_summary(scored), result, listed=_is_listed(session, company_id)
    )
    return ScoreDetail(
        score_id=scored.row.id if scored.row is not None else None,
        assessment_id=assessment.id,
        company_id=company_id,
        summary=summary,
        result=worded,
        evidence_series=evidence_series(scored.request, result.as_of),
        say_do=_say_do_rows(
            batch.loaded.commitments.get(company_id, []), scored, incidents, batch.ruleset
        ),
        company_sources_count_as=(
            None
            if batch.ruleset.say_do.company_sourced_answers is None
            else batch.ruleset.say_do.company_sourced_answers.status
        ),
        unsourced_answers_count_as=(
            None
            if batch.ruleset.say_do.unsourced_answers is None
            else batch.ruleset.say_do.unsourced_answers.status
        ),
        evidence=[
            EvidenceRef(
                ref=evidence_ref(row.id, row.slug),
                id=row.id,
                title=row.title,
                type=row.type,
                event_date=row.event_date,
                severity=row.severity,
                in_effect=incidents[evidence_ref(row.id, row.slug)].known_date <= result.as_of,
            )
            for row in sorted(evidence_rows, key=lambda r: (r.event_date, str(r.id)))
        ],
        methodology=methodology_of(session, batch.ruleset),
    )


def _series_dates(start: dt.date, end: dt.date) -> list[dt.date]:
    """``start``, first days of the months after it (every month, or spaced out so there are
    at most MAX_SERIES_POINTS dates in all), and ``end``."""
    if start >= end:
        return [end]
    months = (end.year - start.year) * 12 + end.month - start.month
    step = max(1, math.ceil(months / (MAX_SERIES_POINTS - 2)))
    dates = [start]
    for offset in range(step, months + 1, step):
        index = start.year * 12 + start.month - 1 + offset
        day = dt.date(index // 12, index % 12 + 1, 1)
        if day < end:
            dates.append(day)
    return [*dates, end]


def evidence_series(request: ScoreRequest, as_of: dt.date) -> list[tuple[dt.date, float]]:
    """Evidence risk at dates from the first evidence known up to ``as_of``."""
    known = [i.known_date for i in request.incidents if i.known_date <= as_of]
    if not known:
        return [(as_of, 0.0)]
    series = []
    for day in _series_dates(min(known), as_of):
        at_day = engine.score(request.model_copy(update={"as_of": day, "previous": None}))
        series.append((day, float(at_day.evidence_risk_current)))
    return series


def _say_do_rows(
    rows: Sequence[Any],
    scored: _Scored,
    incidents: Mapping[str, IncidentInput],
    ruleset: RuleSet,
) -> list[SayDoRow]:
    as_of = scored.result.as_of
    questions = {question.id: question for question in scored.request.questions}
    inputs = {commitment.id: commitment for commitment in scored.request.commitments}
    points: dict[str, float] = defaultdict(float)
    for contribution in scored.result.contributions:
        if contribution.kind == "commitment":
            points[contribution.ref] += float(contribution.points)
    out = []
    for row in sorted(rows, key=lambda r: (r.date, str(r.id))):
        ref = evidence_ref(row.id, row.slug)
        commitment = inputs.get(ref)
        if commitment is None:
            continue
        known_contradictions = [
            incident_id
            for incident_id in commitment.contradicted_by
            if incidents[incident_id].known_date <= as_of
        ]
        if commitment.date > as_of:
            status_as_of = None
        elif commitment.fulfilment is FulfilmentStatus.contradicted and not known_contradictions:
            status_as_of = ruleset.say_do.before_contradiction_known.value
        else:
            status_as_of = commitment.fulfilment.value
        out.append(
            SayDoRow(
                ref=ref,
                id=row.id,
                title=row.title,
                claim=row.claim,
                date=row.date,
                date_precision=DatePrecision(row.date_precision),
                question_ids=list(commitment.question_ids),
                themes=sorted({questions[q].theme for q in commitment.question_ids}),
                fulfilment=row.fulfilment,
                fulfilment_as_of=status_as_of,
                contradicted_by=list(commitment.contradicted_by),
                risk_points=round(points.get(ref, 0.0), 1),
            )
        )
    return out


def methodology_of(session: Session, ruleset: RuleSet) -> Methodology:
    """The rule set's methodology, its themes named as its questionnaire names them (the names
    the reports print beside the theme scores)."""
    questionnaire = _stored_questionnaire(session, ruleset)
    titles = {} if questionnaire is None else {t.id: t.title for t in questionnaire.themes}
    described = methodology(ruleset, titles)
    warnings = _warnings_of(session, ruleset)
    if warnings:
        # Rules that likely turn the method upside down are said where their scores are read,
        # not only to the analyst who published them.
        described.sections.append(
            MethodologySection(
                title="Warnings on these rules",
                entries=[
                    MethodologyEntry(label=warning.path, value="warning", why=warning.message)
                    for warning in warnings
                ],
            )
        )
    return described


def _sourcing_entries(
    ruleset: RuleSet,
    label: str,
    rule: CompanySourcedAnswers | UnsourcedAnswers | None,
    unweighed: str,
) -> list[tuple[str, str, str]]:
    """How a rule set counts answers by their sources (``rule``; None: it does not)."""
    if rule is None:
        return [(label, "keep all points", unweighed)]
    value = ruleset.say_do.fulfilment[rule.status].value
    return [(label, f"as {enum_label(rule.status).lower()} ({value:g})", rule.why)]


def _denying_evidence_entries(ruleset: RuleSet) -> list[tuple[str, str, str]]:
    rule = ruleset.say_do.answers_denying_evidence
    label = "Counts of none against the evidence"
    if rule is None:
        return [(label, "stand as answered", "This rule set does not compare them.")]
    counted = "; ".join(
        f"{question_id}: {counted_evidence.words}"
        for question_id, counted_evidence in sorted(rule.questions.items())
    )
    return [(label, f"an answer of none is contradicted, theme capped ({counted})", rule.why)]


def _company_sourced_closure_entries(ruleset: RuleSet) -> list[tuple[str, str, str]]:
    label = "Remedies and delistings on the company's word only"
    rule = ruleset.say_do.company_sourced_closures
    if rule is None:
        return [(label, "close what they name", "This rule set does not weigh their sources.")]
    return [(label, "close nothing", rule.why)]


def _band_action_words(action: InvestorAction) -> str:
    words = enum_label(action).lower()
    if action is InvestorAction.vote_or_file_resolution:
        # A private company holds no shareholder vote; the reports word its rung so.
        return f"{words} (private company: use governance rights)"
    return words


def _alone_reaches(ruleset: RuleSet, points: float) -> str:
    """Where one such item takes a company on its own, by the company's role: the band a
    severity reaches depends on the role (and the source and its age), so it is worked out
    here from the rules rather than said once for every role."""
    reaches = "; ".join(
        f"{enum_label(role).lower()} {_points(points * entry.factor)} "
        f"({ruleset.band_for(points * entry.factor)})"
        for role, entry in ruleset.roles.items()
    )
    return (
        "One such item alone (new, from a fully reliable source, before red flags), by the "
        f"company's role: {reaches}."
    )


def _points(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def methodology(ruleset: RuleSet, theme_titles: Mapping[str, str] | None = None) -> Methodology:
    """The rule set in plain words: every number the engine uses, with its reason. Themes go
    by ``theme_titles`` where given, by their identifiers in words otherwise."""
    total_weight = sum(theme.weight for theme in ruleset.themes.values())
    titles = theme_titles or {}

    def entries(items: Iterable[tuple[str, str, str]]) -> list[MethodologyEntry]:
        return [MethodologyEntry(label=label, value=value, why=why) for label, value, why in items]

    elements = ruleset.elements
    sections = [
        MethodologySection(
            title="Themes and weights",
            entries=entries(
                (
                    titles.get(theme) or enum_label(theme),
                    f"{rule.weight:g} ({100 * rule.weight / total_weight:.0f}%)",
                    rule.why,
                )
                for theme, rule in ruleset.themes.items()
            ),
        ),
        MethodologySection(
            title="Answer points",
            entries=entries(
                [
                    (
                        "Disclosure",
                        f"full {elements.normal.full:g}, partial {elements.normal.partial:g}, "
                        f"no {elements.normal.no:g}, no information "
                        f"{elements.normal.no_information:g}; not applicable excluded (a theme "
                        "none of whose disclosure questions applies is excluded whole, its "
                        "counts and choices too)",
                        elements.normal.why,
                    ),
                    (
                        "Reverse-scored disclosure",
                        f"full {elements.reverse.full:g}, partial {elements.reverse.partial:g}, "
                        f"no {elements.reverse.no:g}, no information "
                        f"{elements.reverse.no_information:g}",
                        elements.reverse.why,
                    ),
                    ("Unanswered", f"{elements.unanswered:g}", elements.unanswered_why),
                    (
                        "Several options chosen",
                        elements.multiple_choice,
                        elements.multiple_choice_why,
                    ),
                    *(
                        (
                            f"Number {question_id}",
                            ", ".join(
                                f"at least {t.at_least:g}: {t.points:g}" for t in rule.thresholds
                            )
                            + f"; below: {rule.below_points:g}",
                            rule.why,
                        )
                        for question_id, rule in ruleset.number_rules.items()
                    ),
                ]
            ),
        ),
        MethodologySection(
            title="Evidence severity and recency",
            entries=entries(
                (
                    f"Severity {level}",
                    f"{anchor.points:g} points; half-life {ruleset.decay[level].half_life_days:g} "
                    f"days, floor {ruleset.decay[level].floor_while_unremediated:g} while "
                    f"unremediated",
                    f"{anchor.scale} {anchor.scope} {anchor.irremediability} {anchor.why} "
                    f"{_alone_reaches(ruleset, anchor.points)}",
                )
                for level, anchor in sorted(ruleset.severity.items())
            ),
        ),
        MethodologySection(
            title="Source reliability and company role",
            entries=entries(
                [
                    *(
                        (f"Source: {enum_label(source)}", f"x{entry.factor:g}", entry.why)
                        for source, entry in ruleset.reliability.items()
                    ),
                    *(
                        (f"Role: {enum_label(role)}", f"x{entry.factor:g}", entry.why)
                        for role, entry in ruleset.roles.items()
                    ),
                    *(
                        (f"Response: {enum_label(kind)}", f"-{entry.credit:g}", entry.why)
                        for kind, entry in ruleset.responses.credits.items()
                    ),
                    (
                        "Response credit at most",
                        f"{ruleset.responses.max_total:g}",
                        ruleset.responses.max_total_why,
                    ),
                    (
                        "Remediated harm",
                        f"x{ruleset.evidence.remediated_factor:g}",
                        ruleset.evidence.remediated_why,
                    ),
                    (
                        "Peak window",
                        f"{ruleset.evidence.peak_window_days} days",
                        ruleset.evidence.peak_window_why,
                    ),
                ]
            ),
        ),
        MethodologySection(
            title="How the evidence and the answers combine",
            entries=entries(
                [
                    (
                        "One evidence item",
                        "severity points / 100 x source x role x recency x (1 - response credit)",
                        "Recency halves an item's weight every half-life of its severity, but "
                        "not below the severity's floor while the harm is unremediated; once "
                        "remediated, the weight is multiplied by the remediated factor and has "
                        "no floor. The company's response credits add up to the most allowed.",
                    ),
                    (
                        "Several evidence items",
                        "100 x (1 - (1 - a) x (1 - b) x ...) for items weighing a, b and so on",
                        "Each item only adds, and the evidence risk stays under 100: two items "
                        "weighing 0.5 make 75, not 100; a third makes 87.5.",
                    ),
                    (
                        "Overall risk",
                        "the highest of the evidence risk, the policy-gap risk and the floors "
                        "of the red flags that fire",
                        "Nothing offsets harm: a published policy or good answers never lower "
                        "the risk that evidence of abuse shows.",
                    ),
                ]
            ),
        ),
        MethodologySection(
            title="Say-do gap",
            entries=entries(
                [
                    *(
                        (f"Fulfilment: {enum_label(status)}", f"{entry.value:g}", entry.why)
                        for status, entry in ruleset.say_do.fulfilment.items()
                    ),
                    *_sourcing_entries(
                        ruleset,
                        "Answers on company sources only",
                        ruleset.say_do.company_sourced_answers,
                        "This rule set does not weigh whose sources they are.",
                    ),
                    *_sourcing_entries(
                        ruleset,
                        "Answers citing no named source",
                        ruleset.say_do.unsourced_answers,
                        "This rule set does not weigh them.",
                    ),
                    *_denying_evidence_entries(ruleset),
                    *_company_sourced_closure_entries(ruleset),
                    (
                        "Contradiction penalty",
                        f"{ruleset.say_do.contradiction_penalty:g} points",
                        ruleset.say_do.contradiction_penalty_why,
                    ),
                    (
                        "Contradicted theme capped at",
                        f"{ruleset.say_do.contradicted_theme_cap:g}",
                        ruleset.say_do.contradicted_theme_cap_why,
                    ),
                    (
                        # A scale, not a cap on a larger figure: the investor review read it
                        # as a cap and expected 60 where the report gave 51.9.
                        "Policy gap",
                        f"{ruleset.policy_gap.max_risk:g} x (100 - verified practice score) / "
                        f"100 risk points, so at most {ruleset.policy_gap.max_risk:g}",
                        ruleset.policy_gap.why,
                    ),
                ]
            ),
        ),
        MethodologySection(
            title="Red flags",
            entries=entries(
                (rule.id, f"floor {rule.floor:g}", f"{rule.why} Lifted: {rule.lifted_when}")
                for rule in ruleset.overrides
            ),
        ),
        MethodologySection(
            title="Bands and actions",
            entries=entries(
                (
                    enum_label(rule.band),
                    # Lower bounds are inclusive, upper ones exclusive but the last band's.
                    f"{rule.lower:g} to {'' if rule is ruleset.bands[-1] else 'under '}"
                    f"{rule.upper:g}: "
                    + _band_action_words(ruleset.actions.by_band[rule.band].action),
                    f"{rule.why} {ruleset.actions.by_band[rule.band].why}",
                )
                for rule in ruleset.bands
            ),
        ),
        MethodologySection(
            title="Confidence and sensitivity",
            entries=entries(
                [
                    (
                        "Coverage",
                        f"high from {ruleset.confidence.coverage.high_at_least:g}, medium from "
                        f"{ruleset.confidence.coverage.medium_at_least:g}",
                        ruleset.confidence.coverage.why,
                    ),
                    *_no_information_entry(ruleset),
                    (
                        "Reliability",
                        f"high from {ruleset.confidence.reliability.high_at_least:g}, medium "
                        f"from {ruleset.confidence.reliability.medium_at_least:g}",
                        ruleset.confidence.reliability.why,
                    ),
                    (
                        "Freshness",
                        f"stale after {ruleset.confidence.freshness.stale_after_days} days",
                        ruleset.confidence.freshness.why,
                    ),
                    ("Combined", "weakest driver", ruleset.confidence.combine_why),
                    (
                        "Sensitivity",
                        "weights x "
                        + ", ".join(f"{f:g}" for f in ruleset.sensitivity.weight_factors)
                        + "; half-lives x "
                        + ", ".join(f"{f:g}" for f in ruleset.sensitivity.half_life_factors),
                        ruleset.sensitivity.why,
                    ),
                ]
            ),
        ),
    ]
    return Methodology(
        ruleset_id=ruleset.id,
        ruleset_version=ruleset.version,
        title=ruleset.title,
        summary=ruleset.why,
        sections=sections,
    )


# --- preview ---------------------------------------------------------------------------------


def preview_draft(session: Session, draft: RuleSetVersion, draft_etag: str) -> PreviewOut:
    """Every score of the organisation made today with its current version and with the
    draft: each live assessment's, and the evidence-only score of every company it holds
    unassessed (those a risk view stored, which rescoring after a publish covers, and those
    of holdings with evidence in effect no risk view has read yet); and what that does to
    each of its portfolios, as their risk views read the scores. Nothing is stored.
    ``draft_etag`` names the draft's revision previewed, for the publish's If-Match."""
    # Imported here: the portfolios domain reads its scores through this module.
    from hrdd.portfolios import service as portfolios

    current, _ = current_version(session)
    old_rules, new_rules = ruleset_of(current), _draft_rules(session, draft)
    today = utcnow().date()
    assessments = live_assessments(session, None)
    standing = _representative(assessments)
    held = portfolios.held_companies(session, today)
    # A holding's company no one has assessed is scored on its evidence, as the risk view
    # scores it (``current_scores``), also before a risk view first stored that score.
    on_evidence = _with_evidence(session, sorted(held.could_stand() - standing.keys()), current.id)
    subjects = _subjects(assessments, _evidence_only_held(session, None) | on_evidence)
    loaded = load_inputs(session, subjects, whole_organisation=True)
    names = company_names(session, {s.company_id for s in subjects})

    # An evidence-only score asks the questions of the rule set's own questionnaire.
    evidence_only = any(subject.assessment is None for subject in subjects)
    old_questionnaire, new_questionnaire = (
        (_stored_questionnaire(session, old_rules), _stored_questionnaire(session, new_rules))
        if evidence_only
        else (None, None)
    )
    # The inputs only depend on the rules through how an unconfirmed contradiction counts,
    # whether answers' sources are weighed (and, for evidence-only scores, the questionnaire
    # named); when both sets agree on those, one mapping serves both.
    same_inputs = (
        old_rules.say_do.before_contradiction_known == new_rules.say_do.before_contradiction_known
        and old_rules.questionnaire == new_rules.questionnaire
        and (old_rules.say_do.company_sourced_answers is None)
        == (new_rules.say_do.company_sourced_answers is None)
        and (old_rules.say_do.unsourced_answers is None)
        == (new_rules.say_do.unsourced_answers is None)
    )

    def outcome(
        rules: RuleSet, subject: Subject, request: ScoreRequest | None
    ) -> tuple[ScoreRequest | None, ScoreResult | None, str]:
        """The subject's request and result under ``rules``, or why it could not be scored."""
        own_questionnaire = old_questionnaire if rules is old_rules else new_questionnaire
        try:
            if request is None:
                request = build_request(subject, loaded, rules, own_questionnaire, today, None)
            else:
                request = request.model_copy(update={"ruleset": rules})
            return request, _run(request, subject), ""
        except Conflict as error:
            return request, None, f"{rules.id} v{rules.version}: {error.detail}"

    items = []
    for subject in subjects:
        request, before, old_error = outcome(old_rules, subject, None)
        _, after, new_error = outcome(new_rules, subject, request if same_inputs else None)
        old = float(before.overall) if before is not None else None
        new = float(after.overall) if after is not None else None
        change = round(new - old, 1) if old is not None and new is not None else None
        old_band = before.band if before is not None else None
        new_band = after.band if after is not None else None
        old_action = before.action if before is not None else None
        new_action = after.action if after is not None else None
        entries = engine.compare(before, after) if before is not None and after is not None else ()
        assessment = subject.assessment
        items.append(
            PreviewItem(
                basis="assessment" if assessment is not None else "evidence_only",
                assessment_id=assessment.id if assessment is not None else None,
                assessment_status=(
                    AssessmentStatus(assessment.status) if assessment is not None else None
                ),
                company_id=subject.company_id,
                company_name=names.get(subject.company_id, ""),
                old_overall=old,
                old_band=old_band,
                new_overall=new,
                new_band=new_band,
                change=change,
                band_changed=change is not None and old_band is not new_band,
                old_action=old_action,
                new_action=new_action,
                action_changed=change is not None and old_action is not new_action,
                changed=change is not None and (change != 0 or bool(entries)),
                changes=list(entries[:PREVIEW_CHANGES]),
                # Evidence-only subjects are made only for companies with no standing assessment.
                stands_for_company=assessment is None
                or standing.get(subject.company_id) is assessment,
                error="; ".join(e for e in (old_error, new_error) if e) or None,
            )
        )
    items.sort(key=_mover_order)
    changes = [item.change for item in items if item.change is not None]
    # The scores the risk view would read: not an evidence-only one of a company whose
    # evidence is no longer in effect (it shows such a holding unassessed).
    held_scores = {
        item.company_id: item
        for item in items
        if item.stands_for_company
        and (item.basis == "assessment" or item.company_id in on_evidence)
    }
    return PreviewOut(
        draft_id=draft.id,
        draft_etag=draft_etag,
        draft_version=_next_version(session, draft.key),
        warnings=_warnings_of(session, new_rules),
        current_id=current.id,
        current_key=current.key,
        current_version=current.version,
        as_of=today,
        assessments=len(assessments),
        evidence_only=len(items) - len(assessments),
        **_preview_counts(items).model_dump(),
        standing=_preview_counts([item for item in items if item.stands_for_company]),
        mean_change=round(sum(changes) / len(changes), 2) if changes else None,
        biggest_movers=[item for item in items if item.changed][:BIGGEST_MOVERS],
        portfolios=portfolios.portfolio_previews(session, held, held_scores),
        items=items,
    )


def _with_evidence(
    session: Session, company_ids: Sequence[uuid.UUID], version_id: uuid.UUID
) -> set[uuid.UUID]:
    """Of these companies, those with evidence in effect: the ones ``current_scores`` scores
    on their evidence alone when no one has assessed them."""
    if not company_ids:
        return set()
    marks = _read_marks(session, [], company_ids, version_id, latest={})
    return {company_id for company_id, found in marks.companies.items() if found.has_evidence}


def _draft_rules(session: Session, draft: RuleSetVersion) -> RuleSet:
    """A draft's rules, validated as an edit validates them: a draft saved before a check
    existed gets 422 naming each bad path, as its next edit would."""
    cached = _parsed.get((draft.id, draft.content_hash))
    if cached is not None:
        return cached
    ruleset = validate_content(session, draft.content, f"draft {draft.id}")
    _parsed.put((draft.id, draft.content_hash), ruleset)
    return ruleset


def _preview_counts(items: Sequence[PreviewItem]) -> PreviewCounts:
    changes = [item.change for item in items if item.change is not None]
    return PreviewCounts(
        companies=len({item.company_id for item in items}),
        band_changes=sum(1 for item in items if item.band_changed),
        action_changes=sum(1 for item in items if item.action_changed),
        risk_up=sum(1 for change in changes if change > 0),
        risk_down=sum(1 for change in changes if change < 0),
        changed_at_same_risk=sum(1 for item in items if item.change == 0 and item.changed),
        unchanged=sum(1 for item in items if item.change == 0 and not item.changed),
        failed=len(items) - len(changes),
    )


def _mover_order(item: PreviewItem) -> tuple[bool, int, int, float, str, str]:
    """Changed scores first: those whose recommended action moves furthest, then band, then
    overall risk (a band or action moved at the same risk is what investors act on, more than
    points moved within a band); unchanged and failed ones last."""
    return (
        not item.changed,
        -steps_apart(ACTION_LADDER, item.old_action, item.new_action),
        -steps_apart(RISK_BAND_ORDER, item.old_band, item.new_band),
        -abs(item.change or 0.0),
        item.company_name,
        str(item.assessment_id or ""),
    )


# --- bundled rule sets -----------------------------------------------------------------------


def _rule_files(folder: Any) -> list[Any]:
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def load_bundled_rulesets(database: Database, settings: Settings) -> list[str]:
    """Load every rule-set file of ``settings.scoring_dir`` as a published shared version.

    Idempotent: a version already stored with the same rules is left alone. A stored version
    is published and immutable, so a file whose rules differ from it is refused: give the
    change a new version number. Every file is validated, against the stored questionnaire
    version it names too, before anything is written.
    """
    folder = settings.scoring_dir
    if not folder.is_dir():
        raise Invalid.at("scoring_dir", f"{folder} is not a folder")
    problems: list[ProblemDetail] = []
    parsed: list[tuple[str, RuleSet]] = []
    for path in _rule_files(folder):
        try:
            parsed.append((path.name, load_ruleset_file(path)))
        except RuleSetError as error:
            problems += _file_problems(error)
    report: list[str] = []
    default_added = False
    with database.session(SYSTEM, write=True) as session:
        seen: dict[tuple[str, int], str] = {}
        stored: dict[tuple[str, int], RuleSetVersion] = {
            (row.key, row.version): row
            for row in session.scalars(
                select(RuleSetVersion).where(RuleSetVersion.organisation_id.is_(None))
            )
        }
        for name, ruleset in parsed:
            identity = (ruleset.id, ruleset.version)
            if identity in seen:
                problems.append(
                    ProblemDetail(
                        path="version",
                        message=f"{name}: {ruleset.id} v{ruleset.version} is also in "
                        f"{seen[identity]}",
                    )
                )
                continue
            seen[identity] = name
            problems += _fit_problems(session, name, ruleset)
            row = stored.get(identity)
            if row is not None and row.content_hash != content_hash(content_of(ruleset)):
                problems.append(
                    ProblemDetail(
                        path="version",
                        message=f"{name}: {ruleset.id} v{ruleset.version} is published and "
                        "differs from this file; published versions never change, so give "
                        "the change a new version number",
                    )
                )
        if problems:
            raise Invalid(f"{len(problems)} problem(s) in bundled rule sets", errors=problems)
        # Stored in version order, so that publication times follow the numbers (the files
        # sort default-v10 before default-v2).
        for name, ruleset in sorted(parsed, key=lambda item: (item[1].id, item[1].version)):
            label = f"rule set {ruleset.id} v{ruleset.version} ({name})"
            if (ruleset.id, ruleset.version) in stored:
                report.append(f"{label}: unchanged")
                continue
            content = content_of(ruleset)
            row = RuleSetVersion(
                organisation_id=None,
                key=ruleset.id,
                version=ruleset.version,
                title=ruleset.title,
                status=RuleSetStatus.published.value,
                content=content,
                content_hash=content_hash(content),
                published_slot=f"shared:{ruleset.id}:{ruleset.version}",
                created_by_name="bundled",
                published_at=utcnow(),
                published_by_name="bundled",
            )
            session.add(row)
            session.flush()
            audit.record(
                session,
                None,
                AUDIT_ENTITY,
                row.id,
                "loaded",
                new={"key": row.key, "version": row.version, "content_hash": row.content_hash},
                shared=True,
            )
            report.append(f"{label}: added")
            default_added = default_added or row.key == DEFAULT_RULESET_KEY
    if not parsed:
        report.append(f"no rule-set files in {folder}")
    if default_added:
        rescored = _rescore_default_users(database, "bundled rule set loaded")
        report += [f"rescored {rescored} organisation(s)"] if rescored else []
    return report


def _file_problems(error: RuleSetError) -> list[ProblemDetail]:
    return [
        ProblemDetail(
            path=problem.path or "body", message=f"{error.source_name}: {problem.message}"
        )
        for problem in error.problems
    ]


def _fit_problems(session: Session, name: str, ruleset: RuleSet) -> list[ProblemDetail]:
    return [
        ProblemDetail(path=problem.path or "body", message=f"{name}: {problem.message}")
        for problem in _questionnaire_fit(session, ruleset, "; load the questionnaires first")
    ]
