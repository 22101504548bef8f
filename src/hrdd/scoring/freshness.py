"""Whether a stored score is still the score, told from a few numbers instead of recomputing.

A score is made of: the assessment's answers, the company's evidence and commitments, the rule
set version the organisation scores with, and the day (evidence decays with age). Each has a
cheap mark that every write moves:

- answers: ``Assessment.version``, bumped by every write to an assessment (answers, submit,
  review) in the same transaction;
- evidence and commitments: per company, the count, the sum of ``version`` and the latest
  ``updated_at`` of its rows, deleted ones included (a soft delete bumps the version too);
- the company's website: an answer citing pages there rests on the company's word;
- the rule set: the id of the version in use (a published version never changes);
- the day.

Together with the id of the subject's newest stored score they make an ``InputsStamp``. When a
score is computed (and stored, if it changed), the stamp read *before* its inputs were loaded
is remembered for the subject; a later read whose stamp is equal serves the stored score
as it is. Any write in between moves a mark (or stores a newer score), so the stamps differ and
the score is computed again; a write racing with the computation can only make the remembered
stamp older than the inputs used, never newer, which costs one more computation and never a
stale score. The day in the stamp makes the first read of each day compute again.

The remembered stamps and parsed score rows are per process (``hrdd.caching``): every worker
of a multi-process server verifies each score once itself, against the same database.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ScalarSelect, String, case, cast, func, literal_column, select
from sqlalchemy.orm import aliased

from hrdd.auth.models import Organisation
from hrdd.caching import BoundedCache
from hrdd.companies.models import Company
from hrdd.evidence.models import Commitment, EvidenceItem
from hrdd.scoring.inputs import ScoreResult
from hrdd.scoring.models import RuleSetStatus, RuleSetVersion, StoredScore
from hrdd.scoring.schemas import ScoreSummary


@dataclass(frozen=True)
class CompanyMarks:
    """What a company's evidence and commitments look like from the outside."""

    marks: tuple[Any, ...]
    # Items or commitments not deleted and dated on or before today: the company can be
    # scored on evidence alone. Evidence dated later is not in effect yet, and a score made of
    # nothing in effect (0, low, monitor) would read as a clean bill of health.
    has_evidence: bool


@dataclass(frozen=True)
class InputsStamp:
    score_id: uuid.UUID
    ruleset_version_id: uuid.UUID
    assessment_version: int | None
    company: tuple[Any, ...]
    day: dt.date


# Subject (organisation, "a" + assessment id or "c" + company id) -> stamp it was verified at.
_verified: BoundedCache[tuple[uuid.UUID, str, uuid.UUID], InputsStamp] = BoundedCache(8192)
# Stored score rows never change: parsed once, by id. Summaries (a few KB in memory) serve
# portfolio views; whole results (30-50 KB each) serve the score route, so fewer are kept.
# Together at most some 25 MB per process; past that, rows are read and parsed again.
_summaries: BoundedCache[uuid.UUID, ScoreSummary] = BoundedCache(4096)
_results: BoundedCache[uuid.UUID, ScoreResult] = BoundedCache(256)


def subject_key(
    organisation_id: uuid.UUID, assessment_id: uuid.UUID | None, company_id: uuid.UUID
) -> tuple[uuid.UUID, str, uuid.UUID]:
    if assessment_id is not None:
        return organisation_id, "a", assessment_id
    return organisation_id, "c", company_id


def verified(key: tuple[uuid.UUID, str, uuid.UUID], stamp: InputsStamp) -> bool:
    return _verified.get(key) == stamp


def remember(key: tuple[uuid.UUID, str, uuid.UUID], stamp: InputsStamp) -> None:
    _verified.put(key, stamp)


def cached_summary(score_id: uuid.UUID) -> ScoreSummary | None:
    return _summaries.get(score_id)


def cached_result(score_id: uuid.UUID) -> ScoreResult | None:
    return _results.get(score_id)


def keep(score_id: uuid.UUID, summary: ScoreSummary, result: ScoreResult | None) -> None:
    _summaries.put(score_id, summary)
    if result is not None:
        _results.put(score_id, result)


# --- the marks, as columns of one query ------------------------------------------------------


def company_mark_columns(company_id: Any) -> list[ScalarSelect[Any]]:
    """Scalar subqueries for ``CompanyMarks`` of ``company_id`` (a value, or a column of the
    enclosing query to correlate with), one per table: "count:live count:sum of versions:
    latest update:earliest live date" as text. The session's tenant filter applies inside
    them: the marks cover exactly the evidence the organisation's scores are made from."""
    # Constants as SQL literals, not bound parameters: fewer parameters to bind per query.
    one, zero, empty, colon = (literal_column(v) for v in ("1", "0", "''", "':'"))
    columns: list[ScalarSelect[Any]] = []
    for model, dated in ((EvidenceItem, EvidenceItem.event_date), (Commitment, Commitment.date)):
        parts = [
            func.count(model.id),
            func.count(case((model.deleted_at.is_(None), one))),
            func.coalesce(func.sum(model.version), zero),
            func.coalesce(cast(func.max(model.updated_at), String), empty),
            func.coalesce(cast(func.min(case((model.deleted_at.is_(None), dated))), String), empty),
        ]
        text = cast(parts[0], String)
        for part in parts[1:]:
            text = text.concat(colon).concat(cast(part, String))
        columns.append(select(text).where(model.company_id == company_id).scalar_subquery())
    # An alias: in a query over companies, the table itself would correlate away.
    company = aliased(Company)
    columns.append(
        select(func.coalesce(company.website, empty))
        .where(company.id == company_id)
        .scalar_subquery()
    )
    return columns


def company_marks(values: tuple[Any, ...], today: dt.date) -> CompanyMarks:
    """The values of ``company_mark_columns``, in their order."""
    day = today.isoformat()
    in_effect = []
    for value in values[:2]:  # evidence, commitments (the website says nothing of either)
        parts = str(value).split(":")
        # The last part is an ISO date (or empty), and ISO dates compare as text.
        in_effect.append(int(parts[1]) > 0 and "" < parts[-1] <= day)
    return CompanyMarks(tuple(values), any(in_effect))


def version_columns(organisation_id: uuid.UUID, default_key: str) -> list[ScalarSelect[Any]]:
    """The organisation's chosen published version, and the latest bundled default: the one
    in use is the first of them that exists (``hrdd.scoring.service.current_version``)."""
    chosen = (
        select(Organisation.ruleset_version_id)
        .where(Organisation.id == organisation_id)
        .scalar_subquery()
    )
    return [
        select(RuleSetVersion.id)
        .where(RuleSetVersion.id == chosen, RuleSetVersion.status == RuleSetStatus.published)
        .scalar_subquery(),
        select(RuleSetVersion.id)
        .where(
            RuleSetVersion.organisation_id.is_(None),
            RuleSetVersion.status == RuleSetStatus.published,
            RuleSetVersion.key == default_key,
        )
        .order_by(RuleSetVersion.version.desc())
        .limit(1)
        .scalar_subquery(),
    ]


def latest_score_column(assessment_id: Any) -> ScalarSelect[Any]:
    """The id of the newest stored score of an assessment (a value or a correlated column)."""
    return (
        select(StoredScore.id)
        .where(StoredScore.assessment_id == assessment_id)
        .order_by(StoredScore.computed_at.desc(), StoredScore.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def latest_evidence_only_column(company_id: Any) -> ScalarSelect[Any]:
    """The id of the newest evidence-only score of a company (a value or correlated column)."""
    return (
        select(StoredScore.id)
        .where(StoredScore.assessment_id.is_(None), StoredScore.company_id == company_id)
        .order_by(StoredScore.computed_at.desc(), StoredScore.id.desc())
        .limit(1)
        .scalar_subquery()
    )
