"""From stored rows to the scoring engine's inputs: pure functions, no database, no clock.

The service loads questionnaire versions, answers, evidence items and commitments; these
functions turn them into ``QuestionSpec``, ``AnswerInput``, ``IncidentInput`` and
``CommitmentInput``. Rows are read through small protocols (attribute access), so ORM objects
and plain column rows both fit.

Incidents and commitments are referred to by their slug when they have one (bundled items:
readable in explanations) and by their UUID otherwise; ``evidence_ref`` is the one rule.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlsplit
from weakref import finalize

from pydantic import ValidationError

from hrdd.evidence.content import item_source_class
from hrdd.questionnaires.answers import (
    AnswerPayload,
    absence_reported,
    parse_answer_payload,
    visible_questions,
)
from hrdd.questionnaires.schemas import Questionnaire, condition_question_ids
from hrdd.scoring.inputs import (
    AnswerInput,
    CommitmentInput,
    IncidentInput,
    ListingInfo,
    QuestionSpec,
    ResponseInput,
)
from hrdd.vocab import (
    AnswerSource,
    CompanyRole,
    DisclosureLevel,
    EvidenceStatus,
    EvidenceType,
    FulfilmentStatus,
    ResponseKind,
)

_SCORABLE_TYPES = frozenset({"disclosure", "single_choice", "number"})


class AnswerRecord(Protocol):
    question_id: str
    payload: Mapping[str, Any]
    updated_at: dt.datetime | None


class EvidenceRecord(Protocol):
    id: uuid.UUID
    slug: str | None
    event_date: dt.date
    published_date: dt.date | None
    type: str
    severity: int | None
    company_role: str
    affected_groups: list[str]
    status: str
    remediated_date: dt.date | None
    sources: list[dict[str, Any]]
    company_responses: list[dict[str, Any]]
    related_listing: dict[str, Any] | None
    closes: list[str]
    updated_at: dt.datetime


class CommitmentRecord(Protocol):
    id: uuid.UUID
    slug: str | None
    date: dt.date
    question_ids: list[str]
    fulfilment: str
    contradicted_by: list[str]


def evidence_ref(record_id: uuid.UUID, slug: str | None) -> str:
    """How an incident or commitment is named inside a score."""
    return slug or str(record_id)


# --- questions and answers -------------------------------------------------------------------


_Value = TypeVar("_Value")


class _PerQuestionnaire(Generic[_Value]):
    """Values cached per questionnaire object, dropped with it. Questionnaire models are
    unhashable (they hold lists), but the questionnaire service hands out one cached object per
    stored version, so identity is the right key."""

    def __init__(self) -> None:
        self._values: dict[int, _Value] = {}

    def get(self, questionnaire: Questionnaire) -> _Value | None:
        return self._values.get(id(questionnaire))

    def put(self, questionnaire: Questionnaire, value: _Value) -> _Value:
        key = id(questionnaire)
        self._values[key] = value
        finalize(questionnaire, self._values.pop, key, None)
        return value


_SPECS: _PerQuestionnaire[tuple[QuestionSpec, ...]] = _PerQuestionnaire()
_CONDITION_SOURCES: _PerQuestionnaire[frozenset[str]] = _PerQuestionnaire()


def _specs_for(questionnaire: Questionnaire) -> tuple[QuestionSpec, ...]:
    specs = []
    for question in questionnaire.questions:
        kind = question.answer_type.type
        theme_scored = questionnaire.theme(question.theme).scored
        # Number questions count only where the rule set has a number rule; the engine decides.
        scored = theme_scored and kind in _SCORABLE_TYPES
        option_points = (
            {option.id: float(option.points) for option in question.options}
            if scored and kind == "single_choice"
            else {}
        )
        specs.append(
            QuestionSpec(
                id=question.id,
                theme=question.theme,
                indicator=question.indicator_id,
                answer_type=kind,
                reverse_scored=question.reverse_scored,
                option_points=option_points,
                scored=scored,
            )
        )
    return tuple(specs)


def question_specs(questionnaire: Questionnaire) -> tuple[QuestionSpec, ...]:
    """Every question of the questionnaire as the engine sees it (unscored ones included, so
    commitments may refer to them). Cached per questionnaire object: specs carry their own
    cached canonical form, which makes hashing repeated scores cheap."""
    specs = _SPECS.get(questionnaire)
    if specs is None:
        specs = _SPECS.put(questionnaire, _specs_for(questionnaire))
    return specs


def _condition_sources(questionnaire: Questionnaire) -> frozenset[str]:
    """Questions whose answers some condition looks at."""
    sources = _CONDITION_SOURCES.get(questionnaire)
    if sources is None:
        sources = _CONDITION_SOURCES.put(
            questionnaire,
            frozenset(
                question_id
                for question in questionnaire.questions
                if question.show_if is not None
                for question_id in condition_question_ids(question.show_if)
            ),
        )
    return sources


def _answer_input(
    question_id: str, kind: str, payload: Mapping[str, Any], answered_on: dt.date | None
) -> AnswerInput | None:
    """None when the payload does not fit the question (a payload the assessment API would
    have refused); such an answer counts as unanswered rather than failing the whole score."""
    if payload.get("type") != kind:
        return None
    value = payload.get("value")
    try:
        if kind == "disclosure":
            return AnswerInput(
                question_id=question_id,
                disclosure=DisclosureLevel(payload["level"]),
                answered_on=answered_on,
            )
        if kind == "single_choice":
            return AnswerInput(question_id=question_id, options=(value,), answered_on=answered_on)
        if kind == "multiple_choice":
            return AnswerInput(
                question_id=question_id,
                options=tuple(payload.get("values") or ()),
                answered_on=answered_on,
            )
        if kind == "number":
            number = float(Decimal(str(value)))
            return AnswerInput(question_id=question_id, number=number, answered_on=answered_on)
        if kind == "date":
            return AnswerInput(
                question_id=question_id,
                date_value=dt.date.fromisoformat(str(value)),
                answered_on=answered_on,
            )
        if kind == "text":
            return AnswerInput(question_id=question_id, text=str(value), answered_on=answered_on)
    except (KeyError, ValueError, TypeError, InvalidOperation, ValidationError):
        return None
    return None


def _as_of(record: AnswerRecord) -> dt.date | None:
    """How recent an answer's information is: the date of its newest dated source (an answer
    typed in yesterday from a 2019 report is 2019 information), else when it was last changed."""
    # Stored payloads were validated on write: a source_date is an ISO date.
    dated = [
        dt.date.fromisoformat(item["source_date"])
        for item in record.payload.get("evidence") or ()
        if item.get("source_date")
    ]
    if dated:
        return max(dated)
    return record.updated_at.date() if record.updated_at is not None else None


@dataclass(frozen=True)
class CompanySite:
    """How a company's own sources are recognised: where its website lives (its host, lower
    case, no ``www.``, and for a site on a shared host such as github.com/vendor the path below
    which its pages are; empty when no website is recorded), and its names and aliases,
    case-folded (a source it published itself, an uploaded reply say, names it as publisher)."""

    host: str
    path: str = ""
    names: frozenset[str] = frozenset()


def _location(url: str | None) -> tuple[str, str] | None:
    """A URL's host (lower case, no trailing dot) and path (case-folded, no trailing slash),
    None if it has no host or does not parse. A Wayback Machine copy
    (web.archive.org/web/<time>/<address>) is located where the page it copied was."""
    try:
        parts = urlsplit(url or "")
        host = (parts.hostname or "").rstrip(".")
    except ValueError:  # e.g. an unclosed IPv6 bracket inside an archived address
        return None
    if host == "web.archive.org" and parts.path.startswith("/web/"):
        pieces = parts.path.split("/", 3)
        copied = pieces[3] if len(pieces) == 4 else ""
        if not copied:
            return None
        return _location(copied if "://" in copied else "http://" + copied)
    return (host, parts.path.rstrip("/").casefold()) if host else None


def company_site(website: str | None, names: Iterable[str] = ()) -> CompanySite | None:
    folded = frozenset(_folded(name) for name in names if name.strip())
    location = _location(website)
    if location is None:
        return CompanySite("", "", folded) if folded else None
    host, path = location
    return CompanySite(host.removeprefix("www."), path, folded)


def _folded(name: str) -> str:
    return " ".join(name.casefold().split())


def is_company_source(
    url: str | None,
    declared: str | None,
    site: CompanySite | None,
    publisher: str | None = None,
) -> bool:
    """Whether an answer's evidence item is the company's own: as declared, else by its
    publisher being the company (its name or an alias), else by its URL being on the
    company's website (its host or a subdomain, below its path if it has one, or an archived
    copy of such a page)."""
    if declared is not None:
        return bool(declared == AnswerSource.company.value)
    if site is not None and publisher and _folded(publisher) in site.names:
        return True
    location = _location(url) if site is not None and site.host else None
    if site is None or location is None:
        return False
    host, path = location
    if host != site.host and not host.endswith("." + site.host):
        return False
    return not site.path or path == site.path or path.startswith(site.path + "/")


def company_sources_only(payload: Mapping[str, Any], site: CompanySite | None) -> bool:
    """The answer cites sources and every one of them is the company's own."""
    evidence = payload.get("evidence") or ()
    return bool(evidence) and all(
        is_company_source(item.get("url"), item.get("source"), site, item.get("publisher"))
        for item in evidence
    )


def unsourced(payload: Mapping[str, Any], site: CompanySite | None) -> bool:
    """No source the answer cites names a publisher, an address or whose it is, except as the
    company's: it cites none, or only sources that name none of them (an uploaded file with a
    title only), perhaps beside the company's own. All the company's own is
    ``company_sources_only``."""
    evidence = payload.get("evidence") or ()
    independent = any(_checkably_independent(item, site) for item in evidence)
    return not independent and not company_sources_only(payload, site)


def _unchecked_claim(
    questionnaire: Questionnaire,
    answer: AnswerInput,
    payload: Mapping[str, Any],
    site: CompanySite | None,
) -> bool:
    """``unsourced``, for an answer that claims something: one saying that something is absent
    or unknown ("no", 0, "none identified") needs no source, as the questionnaire says (its
    checks go in the comment), so citing none costs it nothing."""
    if not unsourced(payload, site):
        return False
    question = questionnaire.question(answer.question_id)
    return not absence_reported(
        question, level=answer.disclosure, number=answer.number, options=answer.options
    )


def _checkably_independent(item: Mapping[str, Any], site: CompanySite | None) -> bool:
    """A source declared independent, or one with a publisher or web address that is not the
    company's; a bare uploaded file says nothing of who stands behind it."""
    if item.get("source") is not None:
        return bool(item.get("source") == AnswerSource.independent.value)
    if not item.get("publisher") and not item.get("url"):
        return False
    return not is_company_source(item.get("url"), None, site, item.get("publisher"))


def answer_inputs(
    questionnaire: Questionnaire,
    records: Iterable[AnswerRecord],
    site: CompanySite | None = None,
    *,
    weigh_sources: bool = True,
    weigh_unsourced: bool = False,
) -> tuple[AnswerInput, ...]:
    """Answers as engine inputs, each marked visible or hidden by the questionnaire's
    conditions, plus a hidden marker for every hidden question left unanswered (the engine
    counts a question it has no answer for as visible and unanswered). Answers to unknown
    questions and options outside a scored question's choices are left out. With
    ``weigh_sources``, an answer whose sources are all the company's own (declared, published
    by the company or on its website, as ``site`` says) is marked so; with
    ``weigh_unsourced``, so is an answer no source of which can be checked."""
    specs = {spec.id: spec for spec in question_specs(questionnaire)}
    sources = _condition_sources(questionnaire)
    converted: dict[str, AnswerInput] = {}
    gating: dict[str, AnswerPayload] = {}
    for record in records:
        spec = specs.get(record.question_id)
        if spec is None:
            continue
        answer = _answer_input(spec.id, spec.answer_type, record.payload, _as_of(record))
        if answer is None:
            continue
        if spec.option_points and any(o not in spec.option_points for o in answer.options):
            continue
        if weigh_sources and company_sources_only(record.payload, site):
            answer = answer.model_copy(update={"company_sources_only": True})
        elif weigh_unsourced and _unchecked_claim(questionnaire, answer, record.payload, site):
            answer = answer.model_copy(update={"unsourced": True})
        converted[spec.id] = answer
        if spec.id in sources:
            # Only answers that conditions look at need the full payload model.
            try:
                gating[spec.id] = parse_answer_payload(dict(record.payload))
            except ValidationError:
                continue
    if not sources:
        return tuple(converted.values())
    visible = visible_questions(questionnaire, gating)
    inputs = []
    for question_id in specs:
        answer = converted.get(question_id)
        if question_id in visible:
            if answer is not None:
                inputs.append(answer)
        elif answer is None:
            inputs.append(AnswerInput(question_id=question_id, visible=False))
        else:
            inputs.append(answer.model_copy(update={"visible": False}))
    return tuple(inputs)


# --- evidence and commitments ----------------------------------------------------------------


def incident_input(record: EvidenceRecord, references: Mapping[str, str]) -> IncidentInput:
    """The item as the engine sees it. ``references`` (see ``reference_index``) names the items
    this score sees; closed items outside it (deleted, or private to another organisation) are
    left out of ``closes``, as the score knows nothing of them."""
    evidence_type = EvidenceType(record.type)
    status = EvidenceStatus(record.status)
    remediated_date = record.remediated_date
    if status is EvidenceStatus.remediated and remediated_date is None:
        # Marked remediated without a date: it counts from when the record last changed.
        remediated_date = record.updated_at.date()
    closes = tuple(references[name] for name in record.closes or () if name in references)
    listing = None
    # An item that names what it closes ends that alone; when this score sees none of it
    # (deleted, or another organisation's), it ends nothing, not every listing of its list.
    if (
        record.related_listing
        and record.related_listing.get("list_name")
        and not (record.closes and not closes)
    ):
        listing = ListingInfo(
            list_name=record.related_listing["list_name"],
            program=record.related_listing.get("program"),
            reference=record.related_listing.get("federal_register_notice"),
        )
    return IncidentInput(
        id=evidence_ref(record.id, record.slug),
        role=CompanyRole(record.company_role),
        event_date=record.event_date,
        published_date=record.published_date,
        type=evidence_type,
        severity=record.severity,
        source_class=item_source_class(evidence_type, record.sources or ()),
        affected_groups=tuple(record.affected_groups or ()),
        status=status,
        remediated_date=remediated_date if status is EvidenceStatus.remediated else None,
        responses=tuple(
            ResponseInput(kind=ResponseKind(response["kind"]), date=response["date"])
            for response in record.company_responses or ()
        ),
        listing=listing,
        closes=closes,
    )


def incident_inputs(
    records: Iterable[EvidenceRecord], references: Mapping[str, str]
) -> tuple[IncidentInput, ...]:
    return tuple(incident_input(record, references) for record in records)


def reference_index(records: Iterable[EvidenceRecord]) -> dict[str, str]:
    """Every name a commitment may use for an evidence item (its UUID or its slug) mapped to
    the incident id the engine knows it by."""
    index: dict[str, str] = {}
    for record in records:
        ref = evidence_ref(record.id, record.slug)
        index[str(record.id)] = ref
        if record.slug:
            index[record.slug] = ref
    return index


def commitment_inputs(
    records: Iterable[CommitmentRecord],
    question_ids: Iterable[str],
    incident_refs: Mapping[str, str],
    unconfirmed_contradiction: FulfilmentStatus,
) -> tuple[CommitmentInput, ...]:
    """Commitments as engine inputs.

    Question ids the questionnaire does not have are dropped (a commitment recorded against
    another questionnaire version); a commitment left with none is skipped. A contradiction
    whose evidence is not in effect for this organisation (deleted, or private to another)
    counts as ``unconfirmed_contradiction``, as the engine counts one not yet known.
    """
    known_questions = set(question_ids)
    inputs = []
    for record in records:
        questions = tuple(q for q in record.question_ids if q in known_questions)
        if not questions:
            continue
        fulfilment = FulfilmentStatus(record.fulfilment)
        contradicted_by = tuple(
            incident_refs[name] for name in record.contradicted_by if name in incident_refs
        )
        if fulfilment is FulfilmentStatus.contradicted and not contradicted_by:
            fulfilment = unconfirmed_contradiction
        if fulfilment is not FulfilmentStatus.contradicted:
            contradicted_by = ()
        inputs.append(
            CommitmentInput(
                id=evidence_ref(record.id, record.slug),
                date=record.date,
                question_ids=questions,
                fulfilment=fulfilment,
                contradicted_by=contradicted_by,
            )
        )
    return tuple(inputs)
