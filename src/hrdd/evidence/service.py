"""Evidence items and commitments: the analysts' API operations and the bundled-data loader.

Bundled rows (``organisation_id`` None, ``origin`` bundled) come only from the curated files
and are read-only through the API; analysts' rows are private to their organisation, which the
session's tenant filter enforces (no query here filters by organisation). Deletes are soft:
``deleted_at`` is set and the audit trail keeps the item as it was.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import to_jsonable_python
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from hrdd.audit import service as audit
from hrdd.audit.models import AuditEvent
from hrdd.auth.service import Principal
from hrdd.companies import service as companies
from hrdd.companies.models import Company, OwnershipLink
from hrdd.companies.schemas import CompanyIn
from hrdd.config import Settings
from hrdd.dates import precision_problem
from hrdd.db import SYSTEM, Database, new_id, utcnow
from hrdd.errors import Conflict, Forbidden, Invalid, NotFound, ProblemDetail, plain_error_message
from hrdd.evidence import content
from hrdd.evidence.models import Commitment, EvidenceItem
from hrdd.evidence.schemas import (
    CommitmentCreate,
    CommitmentIn,
    CommitmentOut,
    EvidenceCreate,
    EvidenceIn,
    EvidenceOrigin,
    EvidenceOut,
)
from hrdd.http import PageParams
from hrdd.questionnaires import service as questionnaires
from hrdd.questionnaires.schemas import Questionnaire
from hrdd.scoring import service as scoring
from hrdd.scoring.models import RuleSetVersion
from hrdd.scoring.rules import RuleSet
from hrdd.vocab import DatePrecision, EvidenceStatus, EvidenceType, FulfilmentStatus

EVIDENCE_ENTITY = "evidence_item"
COMMITMENT_ENTITY = "commitment"
LISTING_TYPES = frozenset(content.LISTING_EVIDENCE_TYPES)
CLOSING_TYPES = frozenset(content.CLOSING_EVIDENCE_TYPES)

# OwnershipLink.note holds this many characters.
_OWNERSHIP_NOTE_LIMIT = 2000
# Columns that only say when or by whom a row changed; left out of audit snapshots and diffs.
_BOOKKEEPING = frozenset({"version", "created_at", "updated_at"})


# --- reading --------------------------------------------------------------------------------


def evidence_out(item: EvidenceItem) -> EvidenceOut:
    return EvidenceOut.model_validate({**_row_values(item), "shared": item.organisation_id is None})


def commitment_out(commitment: Commitment) -> CommitmentOut:
    return CommitmentOut.model_validate(
        {**_row_values(commitment), "shared": commitment.organisation_id is None}
    )


def _row_values(row: EvidenceItem | Commitment) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in type(row).__table__.columns}


def get_evidence(
    session: Session, evidence_id: uuid.UUID, *, include_deleted: bool = False
) -> EvidenceItem:
    """The item if the caller's organisation may see it; deleted items only when asked."""
    item = session.get(EvidenceItem, evidence_id)
    if item is None or (item.deleted_at is not None and not include_deleted):
        raise NotFound(f"no evidence item {evidence_id}")
    return item


def get_commitment(
    session: Session, commitment_id: uuid.UUID, *, include_deleted: bool = False
) -> Commitment:
    commitment = session.get(Commitment, commitment_id)
    if commitment is None or (commitment.deleted_at is not None and not include_deleted):
        raise NotFound(f"no commitment {commitment_id}")
    return commitment


def company_timeline(
    session: Session,
    company_id: uuid.UUID,
    page: PageParams,
    *,
    types: Sequence[EvidenceType] = (),
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    include_deleted: bool = False,
    newest_first: bool = True,
) -> tuple[list[EvidenceItem], str | None]:
    """A company's evidence by event date, shared items and the caller's own together."""
    companies.get_company(session, company_id)
    statement = select(EvidenceItem).where(EvidenceItem.company_id == company_id)
    if types:
        statement = statement.where(EvidenceItem.type.in_([t.value for t in types]))
    if date_from is not None:
        statement = statement.where(EvidenceItem.event_date >= date_from)
    if date_to is not None:
        statement = statement.where(EvidenceItem.event_date <= date_to)
    if not include_deleted:
        statement = statement.where(EvidenceItem.deleted_at.is_(None))
    return _keyset_page(
        session,
        statement,
        (EvidenceItem.event_date, EvidenceItem.id),
        page,
        descending=newest_first,
    )


def company_commitments(
    session: Session,
    company_id: uuid.UUID,
    page: PageParams,
    *,
    include_deleted: bool = False,
) -> tuple[list[Commitment], str | None]:
    companies.get_company(session, company_id)
    statement = select(Commitment).where(Commitment.company_id == company_id)
    if not include_deleted:
        statement = statement.where(Commitment.deleted_at.is_(None))
    return _keyset_page(
        session, statement, (Commitment.date, Commitment.id), page, descending=False
    )


def history(
    session: Session, entity_type: str, entity_id: uuid.UUID, page: PageParams
) -> tuple[list[AuditEvent], str | None]:
    return audit.history(session, entity_type, [entity_id], page)


def _keyset_page(
    session: Session,
    statement: Select[Any],
    columns: tuple[InstrumentedAttribute[dt.date], InstrumentedAttribute[uuid.UUID]],
    page: PageParams,
    *,
    descending: bool,
) -> tuple[list[Any], str | None]:
    """Keyset pagination on (a date, the id), in either direction (``hrdd.http.paginate``
    only goes forward, and a timeline reads newest first)."""
    date_column, id_column = columns
    if page.cursor:
        after_date, after_id = _decode_cursor(page.cursor)
        if descending:
            beyond = or_(
                date_column < after_date, and_(date_column == after_date, id_column < after_id)
            )
        else:
            beyond = or_(
                date_column > after_date, and_(date_column == after_date, id_column > after_id)
            )
        statement = statement.where(beyond)
    order = (date_column.desc(), id_column.desc()) if descending else (date_column, id_column)
    rows = list(session.scalars(statement.order_by(*order).limit(page.limit + 1)))
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    last = rows[-1]
    values = [getattr(last, date_column.key).isoformat(), str(getattr(last, id_column.key))]
    return rows, base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[dt.date, uuid.UUID]:
    try:
        day, identifier = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return dt.date.fromisoformat(day), uuid.UUID(identifier)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise Invalid.at("query.cursor", "not a cursor this API issued") from exc


# --- evidence: analysts' writes ---------------------------------------------------------------


def _evidence_columns(data: EvidenceIn | content.Incident) -> dict[str, Any]:
    """Column values of an item, from an API request or a curated incident (same shape), but
    for ``closes``: a request names items by id, a curated file by slug."""
    disagreements = (
        data.date_disagreements if isinstance(data, EvidenceIn) else data.date_disagreement
    )
    return {
        "event_date": data.event_date,
        "event_date_precision": data.event_date_precision.value,
        "published_date": data.published_date,
        "published_date_precision": data.published_date_precision.value,
        "type": data.type.value,
        "title": data.title,
        "summary": data.summary,
        "affected_groups": list(dict.fromkeys(group.value for group in data.affected_groups)),
        "countries": list(dict.fromkeys(data.countries)),
        "severity": data.severity,
        "severity_rationale": data.severity_rationale,
        "company_role": data.company_role.value,
        "role_rationale": data.role_rationale,
        "status": data.status.value,
        "remediated_date": data.remediated_date,
        "status_note": data.status_note,
        "sources": [source.model_dump(mode="json") for source in data.sources],
        "date_disagreements": [claim.model_dump(mode="json") for claim in disagreements],
        "company_responses": [
            response.model_dump(mode="json") for response in data.company_responses
        ],
        "related_listing": (
            data.related_listing.model_dump(mode="json") if data.related_listing else None
        ),
        "note": data.note,
    }


def _analyst_evidence_columns(data: EvidenceIn) -> dict[str, Any]:
    return {**_evidence_columns(data), "closes": [str(closed) for closed in data.closes]}


def _precision_problem(path: str, value: dt.date | None, precision: str) -> list[ProblemDetail]:
    problem = None if value is None else precision_problem(value, precision)
    return [ProblemDetail(path=path, message=problem)] if problem else []


def _check_evidence(
    session: Session, company_id: uuid.UUID, data: EvidenceIn, item_id: uuid.UUID | None = None
) -> None:
    """The cross-field rules of the curated files, applied to API writes too; ``item_id`` is
    the item being replaced, if any."""
    problems = _precision_problem("event_date", data.event_date, data.event_date_precision)
    problems += _precision_problem(
        "published_date", data.published_date, data.published_date_precision
    )
    if data.published_date is None and data.published_date_precision != DatePrecision.day:
        problems.append(
            ProblemDetail(path="published_date_precision", message="needs a published_date")
        )
    if data.published_date is not None and data.published_date < data.event_date:
        problems.append(ProblemDetail(path="published_date", message="is before event_date"))
    for index, source in enumerate(data.sources):
        problem = content.source_date_problem(
            source.date, source.date_precision, data.event_date, data.event_date_precision
        )
        if problem:
            problems.append(ProblemDetail(path=f"sources.{index}.date", message=problem))
    remediated = data.status is EvidenceStatus.remediated
    if remediated and data.remediated_date is None:
        problems.append(
            ProblemDetail(path="remediated_date", message="is required when status is remediated")
        )
    if not remediated and data.remediated_date is not None:
        problems.append(
            ProblemDetail(path="remediated_date", message="must be empty while status is ongoing")
        )
    if data.remediated_date is not None and data.remediated_date < data.event_date:
        problems.append(ProblemDetail(path="remediated_date", message="is before event_date"))
    if data.type in LISTING_TYPES and data.related_listing is None:
        problems.append(
            ProblemDetail(path="related_listing", message=f"is required for type {data.type}")
        )
    if data.type not in LISTING_TYPES and data.related_listing is not None:
        problems.append(
            ProblemDetail(
                path="related_listing", message=f"applies only to list entries, not {data.type}"
            )
        )
    problems += _closes_problems(session, company_id, data, item_id)
    if problems:
        raise Invalid("; ".join(f"{p.path}: {p.message}" for p in problems), errors=problems)


def _closes_problems(
    session: Session, company_id: uuid.UUID, data: EvidenceIn, item_id: uuid.UUID | None
) -> list[ProblemDetail]:
    """Only items that end harm close others, each closed item named once, not the item itself,
    and fit to be named (``_unfit_reference``)."""
    if data.closes and data.type not in CLOSING_TYPES:
        return [
            ProblemDetail(
                path="closes",
                message="only remediation, delisting and sanction_lifted items close others, "
                f"not {data.type}",
            )
        ]
    problems = []
    first_at: dict[uuid.UUID, int] = {}
    for index, closed_id in enumerate(data.closes):
        path = f"closes.{index}"
        if closed_id in first_at:
            message = f"repeats {closed_id} (closes.{first_at[closed_id]})"
            problems.append(ProblemDetail(path=path, message=message))
            continue
        first_at[closed_id] = index
        if closed_id == item_id:
            problems.append(ProblemDetail(path=path, message="an item cannot close itself"))
            continue
        closed = session.get(EvidenceItem, closed_id)
        unfit = _unfit_reference(closed, closed_id, company_id)
        if unfit is None and closed is not None:
            problem = content.closing_problem(
                data.type,
                data.event_date,
                data.event_date_precision,
                closed.type,
                closed.event_date,
            )
            unfit = None if problem is None else f"{closed_id} {problem}"
        if unfit is not None:
            problems.append(ProblemDetail(path=path, message=unfit))
    return problems


def _unfit_reference(
    item: EvidenceItem | None, evidence_id: uuid.UUID, company_id: uuid.UUID
) -> str | None:
    """Why the item named by another (closes, contradicted_by) as ``evidence_id`` cannot be:
    it must be a live item of the same company that the caller sees (the tenant filter hides
    the rest, so the session finds none)."""
    if item is None:
        return f"no evidence item {evidence_id}"
    if item.deleted_at is not None:
        return f"evidence item {evidence_id} is deleted"
    if item.company_id != company_id:
        return f"evidence item {evidence_id} is about another company"
    return None


def create_evidence(session: Session, actor: Principal, data: EvidenceCreate) -> EvidenceItem:
    """A private item of the analyst's organisation."""
    companies.get_company(session, data.company_id)
    _check_evidence(session, data.company_id, data)
    item = EvidenceItem(
        organisation_id=actor.organisation_id,
        company_id=data.company_id,
        origin=EvidenceOrigin.analyst.value,
        **_analyst_evidence_columns(data),
    )
    session.add(item)
    session.flush()
    audit.record(session, actor, EVIDENCE_ENTITY, item.id, "created", new=_snapshot(item))
    scoring.rescore_companies(session, [item.company_id])
    return item


def replace_evidence(
    session: Session, actor: Principal, item: EvidenceItem, data: EvidenceIn
) -> EvidenceItem:
    check_writable(item, "evidence item")
    _check_evidence(session, item.company_id, data, item.id)
    changes = _assign(item, _analyst_evidence_columns(data))
    if changes:
        _bump(item)
        _record_changes(session, actor, EVIDENCE_ENTITY, item.id, changes)
        session.flush()
        scoring.rescore_companies(session, [item.company_id])
    return item


def _live_rows_naming(
    session: Session, model: type[EvidenceItem] | type[Commitment], field: str, item: EvidenceItem
) -> list[Any]:
    """The live evidence items or commitments of the item's company whose ``field`` (a list of
    evidence ids) names it."""
    rows = session.scalars(
        select(model).where(model.company_id == item.company_id, model.deleted_at.is_(None))
    )
    return [row for row in rows if str(item.id) in getattr(row, field)]


def delete_evidence(session: Session, actor: Principal, item: EvidenceItem) -> None:
    """Soft delete; refused while a live commitment names the item as contradicting it or a
    live item closes it."""
    check_writable(item, "evidence item")
    closing = _live_rows_naming(session, EvidenceItem, "closes", item)
    if closing:
        names = ", ".join(f"{other.id} ({other.title})" for other in closing)
        raise Conflict(f"evidence items {names} close this item; change them first")
    citing = _live_rows_naming(session, Commitment, "contradicted_by", item)
    if citing:
        names = ", ".join(f"{c.id} ({c.title})" for c in citing)
        raise Conflict(f"commitments {names} cite this item in contradicted_by; change them first")
    _soft_delete(session, actor, EVIDENCE_ENTITY, item)
    scoring.rescore_companies(session, [item.company_id])


def check_writable(row: EvidenceItem | Commitment, label: str) -> None:
    """403 for bundled rows, 409 for deleted ones: before If-Match, which cannot help."""
    if row.organisation_id is None:
        raise Forbidden(
            f"bundled {label}s are shared reference data and read-only; add your own instead"
        )
    if row.deleted_at is not None:
        raise Conflict(f"the {label} {row.id} is deleted; deleted items cannot change")


def _soft_delete(
    session: Session, actor: Principal, entity_type: str, row: EvidenceItem | Commitment
) -> None:
    snapshot = _snapshot(row)
    row.deleted_at = utcnow()
    _bump(row)
    audit.record(session, actor, entity_type, row.id, "deleted", old=snapshot)
    session.flush()


# --- commitments: analysts' writes -----------------------------------------------------------


def _commitment_columns(data: CommitmentIn) -> dict[str, Any]:
    return {
        "date": data.date,
        "date_precision": data.date_precision.value,
        "title": data.title,
        "claim": data.claim,
        "made_by": data.made_by,
        "source": data.source.model_dump(mode="json"),
        "question_ids": list(data.question_ids),
        "fulfilment": data.fulfilment.value,
        "fulfilment_rationale": data.fulfilment_rationale,
        "fulfilment_sources": [
            source.model_dump(mode="json") for source in data.fulfilment_sources
        ],
        "contradicted_by": [
            str(evidence_id) for evidence_id in dict.fromkeys(data.contradicted_by)
        ],
        "note": data.note,
    }


def _scoring_basis(session: Session) -> tuple[RuleSet, Questionnaire] | None:
    """The rule set the caller's organisation scores with and its questionnaire; None while
    either is not loaded (commitments may be recorded before `hrdd load` brings the rules)."""
    version_id = scoring.in_use_id(session)
    if version_id is None:
        return None
    ruleset = scoring.ruleset_of(session.get_one(RuleSetVersion, version_id))
    reference = ruleset.questionnaire
    try:
        questionnaire = questionnaires.questionnaire_by_key(
            session, reference.key, reference.version
        )
    except NotFound:
        return None
    return ruleset, questionnaire


def _unscored_reason(
    ruleset: RuleSet, questionnaire: Questionnaire, question_id: str
) -> str | None:
    """Why the rule set gives the question no score, or None when it scores it. A commitment
    to an unscored question would count for nothing in the say-do comparison."""
    question = questionnaire.questions_by_id.get(question_id)
    if question is None:
        return (
            f"{question_id} is not a question of questionnaire {questionnaire.key} "
            f"{questionnaire.version}, which rule set {ruleset.id} v{ruleset.version} scores"
        )
    theme = questionnaire.theme(question.theme)
    if not theme.scored:
        return (
            f"{question_id} is information only: its theme '{theme.title}' carries no score, "
            "so a commitment to it would count for nothing"
        )
    kind = question.answer_type.type
    # Number questions count where the rule set has a number rule for them (as the engine).
    if questionnaire.is_scored(question) or (
        kind == "number" and question_id in ruleset.number_rules
    ):
        return None
    if kind == "number":
        return (
            f"{question_id} carries no score: rule set {ruleset.id} v{ruleset.version} has no "
            "number rule for it, so a commitment to it would count for nothing"
        )
    return (
        f"{question_id} is information only: {kind} questions carry no score, so a commitment "
        "to it would count for nothing"
    )


def _question_problems(session: Session, question_ids: Sequence[str]) -> list[ProblemDetail]:
    """Each question once, and each one the organisation's rule set scores."""
    problems = []
    first_at: dict[str, int] = {}
    for index, question_id in enumerate(question_ids):
        if question_id in first_at:
            problems.append(
                ProblemDetail(
                    path=f"question_ids.{index}",
                    message=f"repeats {question_id} (question_ids.{first_at[question_id]})",
                )
            )
        else:
            first_at[question_id] = index
    basis = _scoring_basis(session)
    if basis is not None:
        for question_id, index in first_at.items():
            reason = _unscored_reason(*basis, question_id)
            if reason is not None:
                problems.append(ProblemDetail(path=f"question_ids.{index}", message=reason))
    return problems


def _check_commitment(session: Session, company_id: uuid.UUID, data: CommitmentIn) -> None:
    """Questions are distinct and scored, fulfilment and contradicting items agree, and
    every item exists, is visible to the caller, is not deleted and is about the same
    company."""
    problems = _precision_problem("date", data.date, data.date_precision)
    problems += _question_problems(session, data.question_ids)
    contradicted = data.fulfilment is FulfilmentStatus.contradicted
    if contradicted and not data.contradicted_by:
        problems.append(
            ProblemDetail(
                path="contradicted_by", message="name the evidence items that contradict it"
            )
        )
    if not contradicted and data.contradicted_by:
        problems.append(
            ProblemDetail(
                path="fulfilment", message="must be contradicted when contradicted_by is set"
            )
        )
    if data.fulfilment is FulfilmentStatus.verified and not data.fulfilment_sources:
        problems.append(
            ProblemDetail(path="fulfilment_sources", message=content.VERIFIED_NEEDS_SOURCES)
        )
    for index, evidence_id in enumerate(data.contradicted_by):
        unfit = _unfit_reference(session.get(EvidenceItem, evidence_id), evidence_id, company_id)
        if unfit is not None:
            problems.append(ProblemDetail(path=f"contradicted_by.{index}", message=unfit))
    if problems:
        raise Invalid("; ".join(f"{p.path}: {p.message}" for p in problems), errors=problems)


def create_commitment(session: Session, actor: Principal, data: CommitmentCreate) -> Commitment:
    companies.get_company(session, data.company_id)
    _check_commitment(session, data.company_id, data)
    commitment = Commitment(
        organisation_id=actor.organisation_id,
        company_id=data.company_id,
        origin=EvidenceOrigin.analyst.value,
        **_commitment_columns(data),
    )
    session.add(commitment)
    session.flush()
    audit.record(
        session, actor, COMMITMENT_ENTITY, commitment.id, "created", new=_snapshot(commitment)
    )
    scoring.rescore_companies(session, [commitment.company_id])
    return commitment


def replace_commitment(
    session: Session, actor: Principal, commitment: Commitment, data: CommitmentIn
) -> Commitment:
    check_writable(commitment, "commitment")
    _check_commitment(session, commitment.company_id, data)
    changes = _assign(commitment, _commitment_columns(data))
    if changes:
        _bump(commitment)
        _record_changes(session, actor, COMMITMENT_ENTITY, commitment.id, changes)
        session.flush()
        scoring.rescore_companies(session, [commitment.company_id])
    return commitment


def delete_commitment(session: Session, actor: Principal, commitment: Commitment) -> None:
    check_writable(commitment, "commitment")
    _soft_delete(session, actor, COMMITMENT_ENTITY, commitment)
    scoring.rescore_companies(session, [commitment.company_id])


# --- shared write helpers ----------------------------------------------------------------------


def _assign(row: Any, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Set the values that differ; return {column: (old, new)} of those."""
    changes = {}
    for key, value in values.items():
        old = getattr(row, key)
        if old != value:
            changes[key] = (old, value)
            setattr(row, key, value)
    return changes


def _bump(row: EvidenceItem | Commitment) -> None:
    row.version += 1
    row.updated_at = utcnow()


def _snapshot(row: EvidenceItem | Commitment) -> dict[str, Any]:
    values = {k: v for k, v in _row_values(row).items() if k not in _BOOKKEEPING}
    return to_jsonable_python(values)


def _record_changes(
    session: Session,
    actor: Principal | None,
    entity_type: str,
    entity_id: uuid.UUID,
    changes: dict[str, tuple[Any, Any]],
    *,
    shared: bool = False,
) -> None:
    for column, (old, new) in changes.items():
        audit.record(
            session,
            actor,
            entity_type,
            entity_id,
            "updated",
            field=column,
            old=to_jsonable_python(old),
            new=to_jsonable_python(new),
            shared=shared,
        )


# --- the bundled dataset -----------------------------------------------------------------------


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    withdrawn: int = 0

    def describe(self, label: str) -> str:
        total = self.created + self.updated + self.unchanged
        text = (
            f"{label}: {total} ({self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )
        return text + (f", {self.withdrawn} withdrawn)" if self.withdrawn else ")")

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.withdrawn)


@dataclass
class EvidenceLoadReport:
    companies: Tally = field(default_factory=Tally)
    ownership: Tally = field(default_factory=Tally)
    incidents: Tally = field(default_factory=Tally)
    commitments: Tally = field(default_factory=Tally)

    @property
    def changed(self) -> bool:
        return any(
            tally.changed
            for tally in (self.companies, self.ownership, self.incidents, self.commitments)
        )

    def lines(self) -> list[str]:
        return [
            "evidence: "
            + "; ".join(
                [
                    self.companies.describe("companies"),
                    self.ownership.describe("ownership links"),
                    self.incidents.describe("incidents"),
                    self.commitments.describe("commitments"),
                ]
            )
        ]


def load_bundled_evidence(database: Database, settings: Settings) -> list[str]:
    """Load ``settings.evidence_dir`` (the `hrdd load` step). Every file is validated before
    anything is written, then everything is written in one transaction; loading the same
    files again changes nothing."""
    dataset = read_evidence_dataset(settings.evidence_dir)
    with database.session(SYSTEM, write=True) as session:
        report = sync_evidence_dataset(session, dataset)
        company_ids = (
            list(session.scalars(select(Company.id).where(Company.slug.in_(dataset.slugs))))
            if report.changed
            else []
        )
    # Shared evidence moved: every organisation's scores of those companies follow it.
    rescored = scoring.rescore_everywhere(database, company_ids, reason="bundled evidence changed")
    return [*report.lines(), *([f"rescored {rescored} organisation(s)"] if rescored else [])]


def read_evidence_dataset(directory: Path) -> content.EvidenceDataset:
    """The validated dataset, or Invalid listing every problem with file, item and field."""
    try:
        dataset = content.load_evidence_dir(directory)
    except content.EvidenceFileError as error:
        raise Invalid(
            str(error),
            errors=[
                ProblemDetail(
                    path=_problem_path(problem.file, problem.item_id, problem.path),
                    message=(f"line {problem.line}: " if problem.line else "") + problem.message,
                )
                for problem in error.problems
            ],
        ) from error
    return dataset


def _problem_path(file_name: str, item_id: str | None, field_path: str) -> str:
    """'nso-group.yaml [nso-2021-entity-list] incidents[3].published_date'."""
    parts = [file_name]
    if item_id:
        parts.append(f"[{item_id}]")
    if field_path:
        parts.append(field_path)
    return " ".join(parts)


def sync_evidence_dataset(session: Session, dataset: content.EvidenceDataset) -> EvidenceLoadReport:
    """Make the database hold exactly the dataset's companies, owners, incidents and
    commitments (by slug), in a system session. Changes nothing when already in step."""
    company_inputs = _company_inputs(dataset)
    report = EvidenceLoadReport()
    company_ids = _sync_companies(session, dataset, company_inputs, report.companies)
    for document in dataset.documents:
        _sync_ownership(session, document, company_ids, report.ownership)
    evidence_ids = _sync_incidents(session, dataset, company_ids, report.incidents)
    _sync_commitments(session, dataset, company_ids, evidence_ids, report.commitments)
    session.flush()
    return report


def _company_inputs(dataset: content.EvidenceDataset) -> dict[str, CompanyIn]:
    """The registry's own request model for every company, validated before any write."""
    inputs: dict[str, CompanyIn] = {}
    problems: list[ProblemDetail] = []
    for document in dataset.documents:
        info = document.company
        try:
            inputs[info.slug] = CompanyIn(
                name=info.name,
                aliases=list(info.aliases),
                products=list(info.products),
                country=info.country,
                website=info.website,
                categories=list(info.categories),
                listing_status=info.listing_status,
                isins=list(info.identifiers.isins),
                lei=info.identifiers.lei,
                tickers=list(info.identifiers.tickers),
                notes=info.notes,
            )
        except ValidationError as error:
            problems += [
                ProblemDetail(
                    path=_problem_path(
                        f"{info.slug}.yaml",
                        info.slug,
                        "company." + ".".join(str(part) for part in detail["loc"]),
                    ),
                    message=plain_error_message(detail),
                )
                for detail in error.errors()
            ]
    for document in dataset.documents:
        for index, link in enumerate(document.ownership):
            if len(_ownership_note(link)) > _OWNERSHIP_NOTE_LIMIT:
                problems.append(
                    ProblemDetail(
                        path=_problem_path(
                            f"{document.company.slug}.yaml",
                            link.owner_name,
                            f"ownership[{index}].note",
                        ),
                        message=(
                            "with the extra sources appended the note is over "
                            f"{_OWNERSHIP_NOTE_LIMIT} characters"
                        ),
                    )
                )
    if problems:
        raise Invalid("the evidence files do not fit the company registry", errors=problems)
    return inputs


def _company_state(data: CompanyIn) -> dict[str, Any]:
    """What the registry stores for a company request, normalised as companies.service does."""
    return {
        "name": data.name,
        "aliases": list(dict.fromkeys(data.aliases)),
        "products": list(dict.fromkeys(data.products)),
        "country": data.country,
        "website": str(data.website) if data.website else None,
        "categories": [category.value for category in data.categories],
        "listing_status": data.listing_status.value,
        "lei": data.lei,
        "notes": data.notes,
        "isins": sorted(set(data.isins)),
        "tickers": sorted({ticker.upper() for ticker in data.tickers}),
    }


def _stored_company_state(company: Company, identifiers: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "name": company.name,
        "aliases": company.aliases,
        "products": company.products,
        "country": company.country,
        "website": company.website,
        "categories": company.categories,
        "listing_status": company.listing_status,
        "lei": company.lei,
        "notes": company.notes,
        "isins": sorted(identifiers["isin"]),
        "tickers": sorted(identifiers["ticker"]),
    }


def _sync_companies(
    session: Session,
    dataset: content.EvidenceDataset,
    inputs: dict[str, CompanyIn],
    tally: Tally,
) -> dict[str, uuid.UUID]:
    existing = {
        company.slug: company
        for company in session.scalars(select(Company).where(Company.slug.in_(dataset.slugs)))
    }
    identifiers = companies.identifiers_of(session, [c.id for c in existing.values()])
    ids: dict[str, uuid.UUID] = {}
    for slug in dataset.slugs:
        data = inputs[slug]
        company = existing.get(slug)
        try:
            if company is None:
                company = companies.create_company(session, data, slug=slug)
                tally.created += 1
            elif _stored_company_state(company, identifiers[company.id]) != _company_state(data):
                companies.replace_company(session, company, data)
                tally.updated += 1
            else:
                tally.unchanged += 1
        except Invalid as problem:
            raise Invalid(
                f"{slug}.yaml: {problem.detail}",
                errors=[
                    ProblemDetail(
                        path=_problem_path(f"{slug}.yaml", slug, f"company.identifiers.{e.path}"),
                        message=e.message,
                    )
                    for e in problem.errors
                ],
            ) from problem
        ids[slug] = company.id
    return ids


def _ownership_note(link: content.Ownership) -> str:
    """The registry keeps one source and one note per link: the rest of the curated link
    (an approximate stake, further sources) goes into the note."""
    parts = [link.note] if link.note else []
    if link.percentage_is_approximate:
        parts.append("The percentage is approximate.")
    parts += [
        f"Also: {source.publisher}, '{source.title}' ({source.date.isoformat()}), {source.url}"
        for source in link.sources[1:]
    ]
    return "\n".join(parts)


def _sync_ownership(
    session: Session,
    document: content.EvidenceDocument,
    company_ids: dict[str, uuid.UUID],
    tally: Tally,
) -> None:
    """Bundled links are matched by (owner name, start date). Links analysts added through
    the API belong to their organisations and are never touched."""
    company_id = company_ids[document.company.slug]
    existing = {
        (link.owner_name, link.start_date): link
        for link in session.scalars(
            select(OwnershipLink).where(
                OwnershipLink.company_id == company_id, OwnershipLink.organisation_id.is_(None)
            )
        )
    }
    for link in document.ownership:
        source = link.sources[0]
        wanted = {
            "owner_name": link.owner_name,
            "owner_kind": link.owner_kind.value,
            "owner_company_id": (
                company_ids[link.owner_company_slug] if link.owner_company_slug else None
            ),
            "percentage": link.percentage,
            "start_date": link.start,
            "end_date": link.end,
            "date_precision": link.date_precision.value,
            "source_publisher": source.publisher,
            "source_title": source.title,
            "source_date": source.date,
            "source_url": source.url,
            "note": _ownership_note(link) or None,
        }
        current = existing.get((link.owner_name, link.start))
        if current is None:
            session.add(OwnershipLink(company_id=company_id, **wanted))
            companies.touch_companies(session, [company_id, wanted["owner_company_id"]])
            tally.created += 1
        else:
            former_owner = current.owner_company_id
            if _assign(current, wanted):
                touched = [company_id, former_owner, current.owner_company_id]
                companies.touch_companies(session, touched)
                tally.updated += 1
            else:
                tally.unchanged += 1


def _sync_incidents(
    session: Session,
    dataset: content.EvidenceDataset,
    company_ids: dict[str, uuid.UUID],
    tally: Tally,
) -> dict[str, uuid.UUID]:
    existing = {
        item.slug: item
        for item in session.scalars(
            select(EvidenceItem).where(EvidenceItem.origin == EvidenceOrigin.bundled.value)
        )
    }
    # Ids first, so an incident may close one written after it in the file.
    ids = {slug: item.id for slug, item in existing.items() if slug is not None}
    for document in dataset.documents:
        for incident in document.incidents:
            ids.setdefault(incident.id, new_id())
    wanted_slugs: set[str] = set()
    for document in dataset.documents:
        for incident in document.incidents:
            wanted_slugs.add(incident.id)
            values = {
                "company_id": company_ids[document.company.slug],
                **_evidence_columns(incident),
                "closes": [str(ids[slug]) for slug in incident.closes],
                "deleted_at": None,
            }
            item = existing.get(incident.id)
            if item is None:
                item = EvidenceItem(
                    id=ids[incident.id],
                    organisation_id=None,
                    slug=incident.id,
                    origin=EvidenceOrigin.bundled.value,
                    **values,
                )
                session.add(item)
                existing[incident.id] = item
                audit.record(session, None, EVIDENCE_ENTITY, item.id, "loaded", shared=True)
                tally.created += 1
            else:
                _update_bundled(session, EVIDENCE_ENTITY, item, values, tally)
    _withdraw(session, EVIDENCE_ENTITY, existing, wanted_slugs, tally)
    return {slug: item.id for slug, item in existing.items() if slug is not None}


def _sync_commitments(
    session: Session,
    dataset: content.EvidenceDataset,
    company_ids: dict[str, uuid.UUID],
    evidence_ids: dict[str, uuid.UUID],
    tally: Tally,
) -> None:
    existing = {
        commitment.slug: commitment
        for commitment in session.scalars(
            select(Commitment).where(Commitment.origin == EvidenceOrigin.bundled.value)
        )
    }
    wanted_slugs: set[str] = set()
    for document in dataset.documents:
        for promise in document.commitments:
            wanted_slugs.add(promise.id)
            values = {
                "company_id": company_ids[document.company.slug],
                "date": promise.date,
                "date_precision": promise.date_precision.value,
                "title": promise.title,
                "claim": promise.claim,
                "made_by": promise.made_by,
                "source": promise.source.model_dump(mode="json"),
                "question_ids": list(promise.question_ids),
                "fulfilment": promise.fulfilment.value,
                "fulfilment_rationale": promise.fulfilment_rationale,
                "fulfilment_sources": [
                    source.model_dump(mode="json") for source in promise.fulfilment_sources
                ],
                "contradicted_by": [str(evidence_ids[slug]) for slug in promise.contradicted_by],
                "note": promise.note,
                "deleted_at": None,
            }
            commitment = existing.get(promise.id)
            if commitment is None:
                commitment = Commitment(
                    organisation_id=None,
                    slug=promise.id,
                    origin=EvidenceOrigin.bundled.value,
                    **values,
                )
                session.add(commitment)
                audit.record(session, None, COMMITMENT_ENTITY, commitment.id, "loaded", shared=True)
                tally.created += 1
            else:
                _update_bundled(session, COMMITMENT_ENTITY, commitment, values, tally)
    _withdraw(session, COMMITMENT_ENTITY, existing, wanted_slugs, tally)


def _update_bundled(
    session: Session,
    entity_type: str,
    row: EvidenceItem | Commitment,
    values: dict[str, Any],
    tally: Tally,
) -> None:
    changes = _assign(row, values)
    if not changes:
        tally.unchanged += 1
        return
    _bump(row)
    _record_changes(session, None, entity_type, row.id, changes, shared=True)
    tally.updated += 1


def _withdraw(
    session: Session,
    entity_type: str,
    existing: dict[str | None, Any],
    wanted_slugs: Iterable[str],
    tally: Tally,
) -> None:
    """Bundled rows whose slug left the files are soft-deleted, so the history stays."""
    wanted = set(wanted_slugs)
    for slug, row in existing.items():
        if slug in wanted or row.deleted_at is not None:
            continue
        snapshot = _snapshot(row)
        row.deleted_at = utcnow()
        _bump(row)
        audit.record(session, None, entity_type, row.id, "withdrawn", old=snapshot, shared=True)
        tally.withdrawn += 1
