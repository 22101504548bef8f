"""The one place report models are built from the database.

The renderers (``company_pdf``, ``portfolio_pdf``) take the models made here and run no
queries; everything a report prints is gathered in this module: scores from the scoring
service, evidence and commitments, answers with their questionnaire, holdings and their risk.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdd.assessments import service as assessments
from hrdd.assessments.models import Assessment
from hrdd.auth.models import Organisation
from hrdd.companies.models import Company, OwnershipLink
from hrdd.companies.service import (
    company_names,
    identifiers_of,
    link_current,
    listing_statuses,
)
from hrdd.dates import iso_date
from hrdd.db import in_chunks, utcnow
from hrdd.errors import Conflict, NotFound
from hrdd.evidence.content import CLOSING_EVIDENCE_TYPES, items_ended, known_on
from hrdd.evidence.models import Commitment, EvidenceItem
from hrdd.portfolios import service as portfolios
from hrdd.portfolios.exports import ScoreRow, download_name, rules_named
from hrdd.portfolios.models import Portfolio
from hrdd.portfolios.schemas import (
    HoldingResolution,
    HoldingRisk,
    OwnedExposure,
    PortfolioRisk,
    RiskBasis,
)
from hrdd.questionnaires.answers import (
    AnswerPayload,
    DateAnswer,
    DisclosureAnswer,
    MultipleChoiceAnswer,
    NumberAnswer,
    SingleChoiceAnswer,
    TextAnswer,
)
from hrdd.questionnaires.schemas import (
    DisclosureAnswerType,
    NumberAnswerType,
    Question,
    Questionnaire,
)
from hrdd.reports.company_pdf import render_company_report
from hrdd.reports.portfolio_pdf import render_portfolio_report
from hrdd.reports.schemas import (
    AnswerRow,
    BandExposure,
    Citation,
    CompanyReport,
    CompanyResponse,
    EvidenceLink,
    FlaggedHolding,
    HoldingRow,
    Identifier,
    InputNote,
    KeyEvidence,
    KeyFigures,
    MethodologySection,
    OverrideFired,
    OwnedCompany,
    OwnerRow,
    PageSize,
    PortfolioReport,
    RiskPoint,
    RuleSetRef,
    SayDoGapRow,
    ScoreSummary,
    ThemeScore,
    TimelineEntry,
    UnassessedHolding,
)
from hrdd.scoring import service as scoring
from hrdd.scoring.adapters import CompanySite, company_site, evidence_ref, is_company_source
from hrdd.scoring.schemas import Methodology, OverrideView, ScoreDetail
from hrdd.vocab import (
    DISCLOSURE_LEVEL_WORDS,
    AnswerSource,
    AssessmentStatus,
    CompanyRole,
    DatePrecision,
    DisclosureLevel,
    EvidenceStatus,
    EvidenceType,
    FulfilmentStatus,
    ListingStatus,
    OwnerKind,
    ResponseKind,
    RiskBand,
    SourceClass,
)

# Above this many holdings a portfolio report is made by a background job (202), not inline.
SYNC_PORTFOLIO_REPORT_MAX_HOLDINGS = 500
KEY_EVIDENCE_PER_HOLDING = 3
FLAGGED_BANDS = frozenset({RiskBand.high, RiskBand.severe})

# A full stop after a word of two letters or more, then a capital: not "e.g. " or "U.S. ".
_FIRST_SENTENCE_END = re.compile(r"(?<=[a-z]{2})\.\s+(?=[A-Z])")

PORTFOLIO_METHOD = MethodologySection(
    title="How the portfolio figures are counted",
    paragraphs=[
        "Each holding carries the latest stored score of the company it was matched to. A "
        "holding in a company that owns other companies of the registry (a parent, a fund "
        "sponsor) also carries the score of the riskiest company it owns now, when that is "
        "worse than its own: the risk of what it owns is the investor's risk too. Stakes that "
        "ended are listed with their dates beside the holding, in the holdings tables and its "
        "details, but do not count. This holds for owners that are companies of the registry: "
        "a holding in an owner the registry only names in an ownership record (not a company "
        "of its own) shows no stakes, ended or current, until an analyst adds it as a company "
        "and links it as the owner.",
        "Shares of value come from market values when every holding has one, otherwise from "
        "the weight column of the imported file; when some holdings have a market value and "
        "none has a weight, they are shares of the value that is known. A holding with no "
        "share of value counts by number only. Figures are given both by number of holdings "
        "and by value.",
        "A holding's score comes from its company's newest final, else submitted, assessment; "
        "a draft is work in progress and stands for nothing. A company with neither is scored "
        "on its evidence alone, and its recommended action is at least engagement: no due "
        "diligence has been done yet. A holding is unassessed when it was not matched to a "
        "company, when its name resembles companies of the registry but no one has confirmed "
        "which one it is, or when its company has neither such an assessment nor evidence on "
        "record. Unassessed holdings stay in every total.",
        "A score on evidence alone counts documented harm only: the company's practice was "
        "not assessed, so it adds no policy-gap risk and its band says nothing about practice. "
        "The band descriptions of the rule set below (such as low: verified basic practice) "
        'hold for assessed companies; holdings scored on evidence alone are marked "evidence '
        'only" in the holdings table, and those in the low band are listed with the reason '
        "for their action.",
        "A holding needs escalation when its recommended action is collective escalation or "
        "more severe (voting or filing a resolution, divestment or exclusion).",
    ],
)


def _today() -> date:
    return utcnow().date()


def _organisation_name(session: Session, organisation_id: uuid.UUID) -> str:
    organisation = session.get(Organisation, organisation_id)
    return organisation.name if organisation is not None else str(organisation_id)


def _rule_set_ref(
    session: Session,
    organisation_id: uuid.UUID,
    key: str,
    version: int,
    content_hash: str | None,
) -> RuleSetRef:
    own = scoring.own_version(session, key, version, content_hash)
    return RuleSetRef(
        id=key,
        version=str(version),
        content_hash=content_hash,
        published_by=_organisation_name(session, organisation_id) if own else None,
    )


def _identifiers(isins: Sequence[str], lei: str | None, tickers: Sequence[str]) -> list[Identifier]:
    found = [Identifier(scheme="ISIN", value=value) for value in isins]
    if lei:
        found.append(Identifier(scheme="LEI", value=lei))
    found += [Identifier(scheme="Ticker", value=value) for value in tickers]
    return found


def _citations(sources: Sequence[dict[str, Any]]) -> list[Citation]:
    """Citations of stored sources; a source without a reliability class counts as
    unverified rather than borrowing a class it was never given."""
    return [
        Citation(
            publisher=source["publisher"],
            title=source["title"],
            published_on=date.fromisoformat(source["date"]) if source.get("date") else None,
            published_precision=DatePrecision(source.get("date_precision") or DatePrecision.day),
            url=source.get("url"),
            source_class=SourceClass(source.get("source_class") or SourceClass.unverified),
        )
        for source in sources
        if source.get("publisher") and source.get("title")
    ]


def _first_url(sources: Sequence[dict[str, Any]]) -> str | None:
    return next((source["url"] for source in sources if source.get("url")), None)


def _methodology_sections(methodology: Methodology) -> list[MethodologySection]:
    sections = [
        MethodologySection(
            title=f"{methodology.title} (rule set {methodology.ruleset_id} "
            f"v{methodology.ruleset_version})",
            paragraphs=[methodology.summary],
        )
    ]
    for section in methodology.sections:
        paragraphs = [
            f"{entry.label}: {entry.value}. {entry.why}".strip() for entry in section.entries
        ]
        if paragraphs:
            sections.append(MethodologySection(title=section.title, paragraphs=paragraphs))
    return sections


def _overrides(overrides: Sequence[OverrideView], titles: Mapping[str, str]) -> list[OverrideFired]:
    """Overrides with the titles of the evidence that fired them (an item the reader may not
    see, which cannot happen for a score of its own organisation, keeps its ref)."""
    return [
        OverrideFired(
            rule_id=o.rule_id,
            reason=o.reason,
            lifts_when=o.lifts_when,
            evidence=[titles.get(ref, ref) for ref in o.evidence_refs],
        )
        for o in overrides
    ]


# --- company report --------------------------------------------------------------------------


def _singular(noun: str) -> str:
    """The singular of a regular English plural ("allegations", "countries", "boxes");
    other words as given ("percent", "staff")."""
    lowered = noun.casefold()
    if lowered.endswith("ies") and len(noun) > 3:
        return noun[:-3] + ("Y" if noun[-3].isupper() else "y")
    if lowered.endswith(("sses", "xes")):
        return noun[:-2]
    if lowered.endswith("s") and not lowered.endswith(("ss", "us", "is")):
        return noun[:-1]
    return noun


def _unit_for(value: Decimal, unit: str) -> str:
    """The unit as it reads after `value`: "1 allegation", "2 allegations", "1 percent".
    A unit's head word comes first ("days per year", "allegations of misuse")."""
    if value != 1 or not unit:
        return unit
    head, space, rest = unit.partition(" ")
    return f"{_singular(head)}{space}{rest}"


def _answer_text(question: Question, payload: AnswerPayload, *, with_meaning: bool = False) -> str:
    """The answer as a reader sees it; ``with_meaning`` adds what a disclosure level means for
    this question, from its guidance. Read alone, "Full" to "Does the company sell into
    conflict-affected areas?" says nothing: a scored question's levels grade disclosure, as
    the report's method explains, but an unscored one's (the company's exposure, the
    investor's own position) mean only what its guidance says."""
    labels = {option.id: option.label for option in question.options}
    match payload:
        case DisclosureAnswer():
            text = DISCLOSURE_LEVEL_WORDS[payload.level]
            yes_or_no = isinstance(question.answer_type, DisclosureAnswerType) and not (
                question.answer_type.allow_partial
            )
            if yes_or_no and payload.level is DisclosureLevel.full:
                text = "Yes"  # 'Is the company on the Entity List?' is not answered 'Full'
            meaning = (
                {
                    DisclosureLevel.full: question.guidance.full,
                    DisclosureLevel.partial: question.guidance.partial,
                    DisclosureLevel.no: question.guidance.no,
                }.get(payload.level)
                if with_meaning
                else None
            )
            if meaning:
                # Its first sentence: what follows tells the person answering what to write.
                text += f": {_FIRST_SENTENCE_END.split(meaning, maxsplit=1)[0].rstrip('.')}"
            if payload.not_applicable_reason:
                text += f" ({payload.not_applicable_reason})"
        case SingleChoiceAnswer():
            text = labels.get(payload.value, payload.value)
        case MultipleChoiceAnswer():
            text = "; ".join(labels.get(value, value) for value in payload.values) or "None"
        case NumberAnswer():
            unit = payload.unit or (
                question.answer_type.unit
                if isinstance(question.answer_type, NumberAnswerType)
                else ""
            )
            text = f"{payload.value} {_unit_for(payload.value, unit)}".strip()
        case DateAnswer():
            text = payload.value.isoformat()
        case TextAnswer():
            text = payload.value
    if payload.comment:
        text += f". Comment: {payload.comment}"
    return text


def _without_information(subject: assessments.AssessmentForScoring) -> int:
    """Scored questions shown whose answer is 'no information found'."""
    questionnaire = subject.questionnaire
    return sum(
        1
        for question_id, payload in subject.answers.items()
        if question_id in subject.visible_question_ids
        and questionnaire.is_scored(question_id)
        and isinstance(payload, DisclosureAnswer)
        and payload.level is DisclosureLevel.no_information
    )


def _answer_rows(
    questionnaire: Questionnaire,
    answers: dict[str, AnswerPayload],
    visible: frozenset[str],
    site: CompanySite | None,
) -> list[AnswerRow]:
    rows = []
    for question in questionnaire.questions:
        if question.id not in visible:
            continue
        payload = answers.get(question.id)
        answer = "Not answered"
        if payload is not None:
            answer = _answer_text(
                question, payload, with_meaning=not questionnaire.is_scored(question.id)
            )
        rows.append(
            AnswerRow(
                question_id=question.id,
                question=question.text,
                answer=answer,
                evidence=[
                    EvidenceLink(
                        title=ref.title,
                        url=ref.url,
                        publisher=ref.publisher,
                        published_on=ref.source_date,
                        published_precision=ref.source_date_precision or DatePrecision.day,
                        company_source=is_company_source(ref.url, ref.source, site, ref.publisher),
                        declared_independent_on_company_site=ref.source == AnswerSource.independent
                        and is_company_source(ref.url, None, site),
                    )
                    for ref in (payload.evidence if payload else [])
                ],
            )
        )
    return rows


def _theme_title(questionnaire: Questionnaire, theme_id: str) -> str:
    try:
        return questionnaire.theme(theme_id).title
    except KeyError:
        return theme_id.replace("_", " ").capitalize()


def _denying_evidence_gap_rows(
    detail: ScoreDetail,
    questionnaire: Questionnaire,
    answers: dict[str, AnswerPayload],
    items: dict[uuid.UUID, EvidenceItem],
) -> list[SayDoGapRow]:
    """Answers of none while the evidence holds what they count, with the items that
    contradict them: the answer is wrong or older than the evidence, and it hides what
    follows a count above none."""
    rows = []
    for denying in detail.result.answers_denying_evidence:
        payload = answers.get(denying.question_id)
        if payload is None:  # the score was read before an answer was deleted
            continue
        question = questionnaire.question(denying.question_id)
        answered = _answer_text(question, payload.model_copy(update={"comment": None}))
        links = _evidence_links(detail, items, denying.incident_ids)
        rows.append(
            SayDoGapRow(
                commitment=f"{question.text} Answered: {answered}.",
                status=FulfilmentStatus.contradicted,
                rationale=f"The evidence holds {denying.evidence_count} {denying.counted} known "
                f"by {detail.summary.as_of.isoformat()}: the answer is wrong or older than "
                "them, and the questions that follow a count above none are hidden.",
                contradicting_evidence=links,
            )
        )
    return rows


def _risk_series(points: Sequence[tuple[date, float]]) -> list[RiskPoint]:
    """One point per date (the last given), in date order, as the chart needs."""
    by_day = {day: min(max(value, 0.0), 100.0) for day, value in points}
    return [RiskPoint(on=day, value=by_day[day]) for day in sorted(by_day)]


def _company_evidence(session: Session, company_id: uuid.UUID) -> list[EvidenceItem]:
    return list(
        session.scalars(
            select(EvidenceItem)
            .where(EvidenceItem.company_id == company_id, EvidenceItem.deleted_at.is_(None))
            .order_by(EvidenceItem.event_date, EvidenceItem.id)
        )
    )


def _evidence_links(
    detail: ScoreDetail, items: dict[uuid.UUID, EvidenceItem], refs: Sequence[str]
) -> list[EvidenceLink]:
    """The evidence a score names by ``refs``, each by its title and first web source; a ref
    the score no longer shows is left out."""
    by_ref = {ref.ref: ref for ref in detail.evidence}
    links = []
    for ref_name in refs:
        ref = by_ref.get(ref_name)
        if ref is None:
            continue
        item = items.get(ref.id)
        url = _first_url(item.sources) if item is not None else None
        links.append(EvidenceLink(title=ref.title, url=url))
    return links


def _say_do_rows(
    detail: ScoreDetail,
    items: dict[uuid.UUID, EvidenceItem],
    rationales: Mapping[uuid.UUID, str],
) -> list[SayDoGapRow]:
    rows = []
    for commitment in detail.say_do:
        links = _evidence_links(detail, items, commitment.contradicted_by)
        rows.append(
            SayDoGapRow(
                commitment=f"{commitment.title}: {commitment.claim}",
                committed_on=commitment.date,
                committed_precision=commitment.date_precision,
                status=FulfilmentStatus(commitment.fulfilment_as_of or commitment.fulfilment),
                rationale=rationales.get(commitment.id),
                contradicting_evidence=links,
            )
        )
    return rows


def _company_sourced_gap_rows(
    detail: ScoreDetail, questionnaire: Questionnaire, answers: dict[str, AnswerPayload]
) -> list[SayDoGapRow]:
    """Claims an answer makes on the company's own sources alone, or on no source anyone can
    check: a promise, like a recorded self-reported commitment, dated by its newest source."""
    discounted = [
        (
            detail.company_sources_count_as,
            detail.result.company_sourced_answers,
            "Every source it cites is the company's own.",
        ),
        (
            detail.unsourced_answers_count_as,
            detail.result.unsourced_answers,
            "No source it cites names a publisher, an address or whose it is, but as the "
            "company's own.",
        ),
    ]
    rows = []
    for counted_as, question_ids, why in discounted:
        if counted_as is None:  # rules that do not weigh these sources
            continue
        for question_id in question_ids:
            payload = answers.get(question_id)
            if payload is None:  # the score was read before an answer was deleted
                continue
            question = questionnaire.question(question_id)
            # The newest source, printed no finer than that source gives its date.
            dated = [
                (ref.source_date, ref.source_date_precision or DatePrecision.day)
                for ref in payload.evidence
                if ref.source_date is not None
            ]
            newest = max(dated, default=None, key=lambda pair: pair[0])
            answered = _answer_text(question, payload.model_copy(update={"comment": None}))
            rows.append(
                SayDoGapRow(
                    commitment=f"{question.text} Answered: {answered}. {why}",
                    committed_on=newest[0] if newest else None,
                    committed_precision=newest[1] if newest else DatePrecision.day,
                    status=counted_as,
                )
            )
    return rows


def _fulfilment_rationales(
    session: Session, commitment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    if not commitment_ids:
        return {}
    rows = session.execute(
        select(Commitment.id, Commitment.fulfilment_rationale).where(
            Commitment.id.in_(commitment_ids)
        )
    )
    return {row.id: row.fulfilment_rationale for row in rows}


def _responses(item: EvidenceItem) -> list[CompanyResponse]:
    return [
        CompanyResponse(
            kind=ResponseKind(response["kind"]),
            on=date.fromisoformat(response["date"]),
            precision=DatePrecision(response.get("date_precision") or DatePrecision.day),
            summary=response["summary"],
        )
        for response in item.company_responses
        if response.get("date") and response.get("summary")
    ]


def _item_date(item: EvidenceItem) -> str:
    return iso_date(item.event_date, DatePrecision(item.event_date_precision))


def _closed_by(item: EvidenceItem, by_id: Mapping[str, EvidenceItem]) -> list[str]:
    """What a closing item claims to close: the items it names, and the list it ends."""
    closed = [
        f"{by_id[ref].title} ({_item_date(by_id[ref])})" for ref in item.closes if ref in by_id
    ]
    list_name = (item.related_listing or {}).get("list_name")
    if list_name:
        closed.append(f"the listing on {list_name}")
    return closed


def _timeline(items: Sequence[EvidenceItem]) -> list[TimelineEntry]:
    by_id = {str(item.id): item for item in items}
    entries = []
    for item in items:
        citations = _citations(item.sources)
        if not citations:  # every stored item has sources; the guard keeps the model valid
            continue
        # A closing item is no harm: its severity, role and status would read as one.
        closing = item.type in CLOSING_EVIDENCE_TYPES
        entries.append(
            TimelineEntry(
                occurred_on=item.event_date,
                occurred_precision=DatePrecision(item.event_date_precision),
                summary=f"{item.title}. {item.summary}",
                evidence_type=EvidenceType(item.type),
                severity=None if closing else item.severity,
                severity_rationale=None if closing else item.severity_rationale,
                company_role=None if closing else CompanyRole(item.company_role),
                status=None if closing else EvidenceStatus(item.status),
                remediated_on=None if closing else item.remediated_date,
                status_note=item.status_note,
                responses=_responses(item),
                closes=_closed_by(item, by_id) if closing else [],
                citations=citations,
            )
        )
    return entries


def _input_notes(
    notes: Sequence[str], detail: ScoreDetail, items: Sequence[EvidenceItem]
) -> list[InputNote]:
    """The score's notes, each naming its item by title and date instead of the internal
    reference the engine gives ("incident <ref>: ...")."""
    by_id = {item.id: item for item in items}
    by_ref = {ref.ref: by_id.get(ref.id) for ref in detail.evidence}
    input_notes = []
    for note in notes:
        ref, _, text = note.removeprefix("incident ").partition(": ")
        item = by_ref.get(ref)
        if item is None or not text:  # an item this report does not show: no title to give
            continue
        input_notes.append(
            InputNote(
                item_title=item.title,
                item_date=item.event_date,
                item_precision=DatePrecision(item.event_date_precision),
                text=text[0].upper() + text[1:],
            )
        )
    return input_notes


def company_report(
    session: Session, assessment_id: uuid.UUID, page_size: PageSize = PageSize.a4
) -> CompanyReport:
    """Everything the company report shows for one assessment of the caller's organisation."""
    subject = assessments.get_assessment_for_scoring(session, assessment_id)
    detail = scoring.score_detail(session, assessment_id)
    company = session.get(Company, subject.company_id)
    if company is None:
        raise NotFound(f"no company {subject.company_id}")
    idents = identifiers_of(session, [company.id])[company.id]
    evidence = _company_evidence(session, company.id)
    summary = detail.summary
    result = detail.result
    return CompanyReport(
        company_name=company.name,
        aliases=list(company.aliases),
        products=list(company.products),
        identifiers=_identifiers(idents["isin"], company.lei, idents["ticker"]),
        report_date=_today(),
        prepared_for=_organisation_name(session, subject.organisation_id),
        rule_set=_rule_set_ref(
            session,
            subject.organisation_id,
            summary.ruleset_id,
            summary.ruleset_version,
            summary.ruleset_hash,
        ),
        inputs_hash=summary.inputs_hash,
        assessment_status=subject.status,
        questions_answered=sum(theme.answered for theme in result.themes),
        questions_applicable=sum(theme.applicable for theme in result.themes),
        questions_without_information=_without_information(subject),
        company_listed=company.listing_status == ListingStatus.listed.value,
        listing_status=ListingStatus(company.listing_status),
        owners=_owners(session, company.id),
        company_notes=company.notes,
        summary=ScoreSummary(
            overall=summary.overall,
            band=summary.band,
            confidence=summary.confidence,
            range_low=min(summary.sensitivity_low, summary.sensitivity_high),
            range_high=max(summary.sensitivity_low, summary.sensitivity_high),
            recommended_action=summary.action,
            action_reason=summary.action_reason,
            evidence_risk=result.evidence_risk_current,
            practice_gap_risk=result.policy_gap_risk,
        ),
        theme_scores=[
            ThemeScore(
                theme_id=theme.theme,
                title=_theme_title(subject.questionnaire, theme.theme),
                claimed=float(theme.claimed),
                verified=float(theme.verified),
                weight=theme.weight if theme.weight > 0 else None,
            )
            for theme in result.themes
        ],
        evidence_risk_series=_risk_series(detail.evidence_series),
        company_sources_count_as=detail.company_sources_count_as,
        unsourced_answers_count_as=detail.unsourced_answers_count_as,
        say_do_gaps=[
            *_say_do_rows(
                detail,
                {item.id: item for item in evidence},
                _fulfilment_rationales(session, [row.id for row in detail.say_do]),
            ),
            *_company_sourced_gap_rows(detail, subject.questionnaire, subject.answers),
            *_denying_evidence_gap_rows(
                detail, subject.questionnaire, subject.answers, {item.id: item for item in evidence}
            ),
        ],
        timeline=_timeline(evidence),
        overrides=_overrides(summary.overrides, {ref.ref: ref.title for ref in detail.evidence}),
        input_notes=_input_notes(result.notes, detail, evidence),
        answers=_answer_rows(
            subject.questionnaire,
            subject.answers,
            subject.visible_question_ids,
            company_site(company.website, [company.name, *company.aliases]),
        ),
        methodology=_methodology_sections(detail.methodology),
        page_size=page_size,
    )


def render_company_pdf(
    session: Session, assessment_id: uuid.UUID, page_size: PageSize
) -> tuple[bytes, str]:
    """The PDF and its file name."""
    report = company_report(session, assessment_id, page_size)
    buffer = BytesIO()
    render_company_report(report, buffer)
    return buffer.getvalue(), download_name(
        report.company_name, "company-report", report.report_date, "pdf"
    )


# --- portfolio report ------------------------------------------------------------------------


def _holding_identifiers(holding: HoldingRisk) -> list[Identifier]:
    isins = [holding.isin] if holding.isin else []
    tickers = [holding.ticker] if holding.ticker else []
    return _identifiers(isins, holding.lei, tickers)


def _is_flagged(holding: HoldingRisk) -> bool:
    return holding.assessed and (
        holding.band in FLAGGED_BANDS
        or bool(holding.overrides)
        or (holding.action is not None and holding.action in portfolios.ESCALATION_ACTIONS)
    )


@dataclass
class _KeyEvidence:
    citations: dict[uuid.UUID, list[KeyEvidence]]  # per company
    titles: dict[str, str]  # per evidence ref, for the overrides


def _key_evidence(session: Session, company_ids: Sequence[uuid.UUID], as_of: date) -> _KeyEvidence:
    """Per company, the first source of its most severe, most recent evidence items, each
    saying whether it was still in force on ``as_of`` (the risk view's date); and the title of
    every evidence item of those companies."""
    items: dict[uuid.UUID, list[EvidenceItem]] = {}
    for chunk in in_chunks(sorted(set(company_ids))):
        for item in session.scalars(
            select(EvidenceItem).where(
                EvidenceItem.company_id.in_(chunk), EvidenceItem.deleted_at.is_(None)
            )
        ):
            items.setdefault(item.company_id, []).append(item)
    found: dict[uuid.UUID, list[KeyEvidence]] = {}
    for company_id, company_items in items.items():
        ranked = sorted(
            company_items, key=lambda i: (-(i.severity or 0), -i.event_date.toordinal(), str(i.id))
        )
        # As known on the risk view's date: a removal dated later had not ended anything yet.
        ended = items_ended([item for item in company_items if known_on(item) <= as_of])
        citations = []
        for item in ranked:
            for first in _citations(item.sources)[:1]:
                citations.append(
                    KeyEvidence(
                        **first.model_dump(),
                        no_longer_in_force=_no_longer_in_force(item, ended),
                    )
                )
            if len(citations) == KEY_EVIDENCE_PER_HOLDING:
                break
        found[company_id] = citations
    titles = {
        evidence_ref(item.id, item.slug): item.title
        for company_items in items.values()
        for item in company_items
    }
    return _KeyEvidence(found, titles)


def _no_longer_in_force(
    item: EvidenceItem, ended: Mapping[uuid.UUID, EvidenceItem | None]
) -> str | None:
    if item.id not in ended:
        return None
    closing = ended[item.id]
    if closing is not None:
        return f"Ended by: {closing.title} ({_item_date(closing)})"
    if item.remediated_date is not None:
        return f"Marked remediated on {item.remediated_date.isoformat()}"
    return "Marked remediated"


def _companies_with_drafts(session: Session) -> set[uuid.UUID]:
    """Companies the organisation is writing a draft assessment of (drafts are not scored);
    the session's tenant filter keeps it to the organisation's own assessments."""
    rows = session.execute(
        select(Assessment.company_id).where(Assessment.status == AssessmentStatus.draft.value)
    )
    return {row.company_id for row in rows}


def _owned_company(exposure: OwnedExposure) -> OwnedCompany:
    return OwnedCompany(
        company_name=exposure.company_name,
        stake_percent=exposure.percentage,
        owned_from=exposure.start_date,
        owned_until=exposure.end_date,
        dates_precision=exposure.date_precision,
        current=exposure.current,
        ended=exposure.ended,
    )


def _owners(session: Session, company_id: uuid.UUID) -> list[OwnerRow]:
    """The company's owners on record, current and former, oldest stake first (the tenant
    filter gives the shared links and the organisation's own)."""
    today = _today()
    links = session.scalars(
        select(OwnershipLink)
        .where(OwnershipLink.company_id == company_id)
        .order_by(
            OwnershipLink.start_date.asc().nulls_first(),
            OwnershipLink.owner_name,
            OwnershipLink.id,
        )
    )
    return [
        OwnerRow(
            owner_name=link.owner_name,
            owner_kind=OwnerKind(link.owner_kind),
            stake_percent=link.percentage,
            owned_from=link.start_date,
            owned_until=link.end_date,
            dates_precision=DatePrecision(link.date_precision),
            current=link_current(link, today),
            # Without its date: a link keeps no date precision, and a source known to the year
            # would print as if known to the day.
            source=EvidenceLink(
                title=link.source_title, url=link.source_url, publisher=link.source_publisher
            )
            if link.source_title
            else None,
            note=link.note,
        )
        for link in links
    ]


def _matched_to(holding: HoldingRisk) -> str | None:
    """The company a holding was matched to, when the file names it otherwise: a reader
    checks a match ("NSO Grp Technologies" as NSO Group Technologies Limited) only if the
    report names both."""
    company = holding.company_name
    if (
        company is None
        or " ".join(company.split()).casefold() == " ".join(holding.name.split()).casefold()
    ):
        return None
    how = (
        "by a confirmed name"
        if holding.resolution is HoldingResolution.name_confirmed
        else "by identifier"
    )
    return f"{company}, {how}"


def _scored_through(holding: HoldingRisk) -> str | None:
    """The owned company whose score a holding takes, when it is scored through what it owns."""
    return next(
        (
            exposure.company_name
            for exposure in holding.exposure_via
            if holding.basis is RiskBasis.ownership
            and exposure.company_id == holding.scored_company_id
        ),
        None,
    )


def _stakes_not_counted(holding: HoldingRisk) -> list[OwnedCompany]:
    return [_owned_company(e) for e in holding.exposure_via if not e.current]


def _flagged(
    holding: HoldingRisk,
    evidence: _KeyEvidence,
    drafting: set[uuid.UUID],
    products: Mapping[uuid.UUID, list[str]],
) -> FlaggedHolding:
    if (
        holding.overall is None
        or holding.band is None
        or holding.confidence is None
        or holding.action is None
        or not holding.action_reason
    ):
        raise ValueError(f"holding {holding.holding_id} is flagged but not assessed")
    return FlaggedHolding(
        name=holding.name,
        identifiers=_holding_identifiers(holding),
        products=products.get(holding.company_id, []) if holding.company_id else [],
        value=holding.market_value,
        weight=holding.weight,
        band=holding.band,
        score=holding.overall,
        assessment_status=holding.assessment_status,
        scored_through=_scored_through(holding),
        matched_to=_matched_to(holding),
        same_company_lines=holding.same_company_lines,
        draft_in_progress=holding.on_evidence_alone and holding.scored_company_id in drafting,
        confidence=holding.confidence,
        action=holding.action,
        action_reason=holding.action_reason,
        company_listed=holding.listing_status is ListingStatus.listed,
        listing_status=holding.listing_status,
        overrides=_overrides(holding.overrides, evidence.titles),
        exposure_via=[_owned_company(exposure) for exposure in holding.exposure_via],
        key_evidence=evidence.citations.get(holding.scored_company_id, [])
        if holding.scored_company_id
        else [],
    )


def _key_figures(risk: PortfolioRisk) -> KeyFigures:
    totals = risk.totals
    return KeyFigures(
        total_value=totals.total_value,
        currency=totals.currency,
        holdings_count=totals.holdings,
        share_basis=totals.share_basis,
        weights_total=totals.weights_total,
        holdings_without_value=totals.holdings_without_value,
        holdings_without_share=totals.holdings_without_share,
        by_band=[
            BandExposure(
                band=band_slice.band,
                holdings=band_slice.holdings,
                value=band_slice.value,
                share_of_value=band_slice.share_of_value,
            )
            for band_slice in totals.by_band
        ],
        value_with_active_override=totals.active_override.value,
        share_with_active_override=totals.active_override.share_of_value,
        holdings_with_active_override=totals.active_override.holdings,
        value_unassessed=totals.unassessed.value,
        share_unassessed=totals.unassessed.share_of_value,
        unassessed_count=totals.unassessed.holdings,
        value_on_evidence_alone=totals.on_evidence_alone.value,
        share_on_evidence_alone=totals.on_evidence_alone.share_of_value,
        on_evidence_alone_count=totals.on_evidence_alone.holdings,
        needing_escalation=totals.needing_escalation.holdings,
    )


def _products_of(session: Session, company_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """The product names of the companies of the holdings the report details, by company."""
    wanted = set(company_ids)
    if not wanted:
        return {}
    rows = session.execute(select(Company.id, Company.products).where(Company.id.in_(wanted))).all()
    return {row.id: list(row.products or []) for row in rows}


def portfolio_report_from_risk(
    session: Session, portfolio: Portfolio, risk: PortfolioRisk, page_size: PageSize
) -> PortfolioReport:
    def riskiest_first(holdings: Iterable[HoldingRisk]) -> list[HoldingRisk]:
        return sorted(
            holdings, key=lambda h: (-(h.overall or 0.0), -(h.market_value or Decimal(0)), h.line)
        )

    flagged = riskiest_first(h for h in risk.holdings if _is_flagged(h))
    medium = riskiest_first(
        h for h in risk.holdings if h.assessed and h.band is RiskBand.medium and not _is_flagged(h)
    )
    evidence_only = riskiest_first(
        h for h in risk.holdings if h.on_evidence_alone and h.band is RiskBand.low
    )
    detailed = (*flagged, *medium, *evidence_only)
    evidence = _key_evidence(
        session, [h.scored_company_id for h in detailed if h.scored_company_id], risk.as_of
    )
    version, _ = scoring.current_version(session)
    drafting = _companies_with_drafts(session)
    products = _products_of(session, [h.company_id for h in detailed if h.company_id])
    return PortfolioReport(
        portfolio_name=portfolio.name,
        owner_organisation=_organisation_name(session, portfolio.organisation_id),
        report_date=risk.as_of,
        holdings_imported_at=portfolio.holdings_imported_at,
        rule_set=_rule_set_ref(
            session,
            portfolio.organisation_id,
            risk.ruleset_id,
            risk.ruleset_version,
            risk.ruleset_hash,
        ),
        key_figures=_key_figures(risk),
        flagged=[_flagged(h, evidence, drafting, products) for h in flagged],
        medium=[_flagged(h, evidence, drafting, products) for h in medium],
        evidence_only=[_flagged(h, evidence, drafting, products) for h in evidence_only],
        holdings=[
            HoldingRow(
                name=h.name,
                identifiers=_holding_identifiers(h),
                value=h.market_value,
                weight=h.weight,
                band=h.band,
                score=h.overall,
                assessment_status=h.assessment_status,
                confidence=h.confidence,
                action=h.action,
                company_listed=h.listing_status is ListingStatus.listed,
                listing_status=h.listing_status,
                scored_through=_scored_through(h),
                matched_to=_matched_to(h),
                same_company_lines=h.same_company_lines,
                stakes_not_counted=_stakes_not_counted(h),
            )
            for h in risk.holdings
        ],
        unassessed=[
            UnassessedHolding(
                name=h.name,
                matched_to=_matched_to(h),
                same_company_lines=h.same_company_lines,
                identifiers=_holding_identifiers(h),
                value=h.market_value,
                weight=h.weight,
                reason=h.unassessed_reason or "not assessed",
                listing_status=h.listing_status,
                stakes_not_counted=_stakes_not_counted(h),
            )
            for h in risk.holdings
            if not h.assessed
        ],
        methodology=[
            PORTFOLIO_METHOD,
            *_methodology_sections(scoring.methodology_of(session, scoring.ruleset_of(version))),
        ],
        page_size=page_size,
    )


def portfolio_report(
    session: Session, portfolio: Portfolio, page_size: PageSize = PageSize.a4
) -> PortfolioReport:
    risk = portfolios.portfolio_risk(session, portfolio)
    return portfolio_report_from_risk(session, portfolio, risk, page_size)


def check_inline_size(session: Session, portfolio: Portfolio) -> None:
    """409 for portfolios too large to render within a request."""
    count = portfolios.holding_counts(session, [portfolio.id]).get(portfolio.id, 0)
    if count > SYNC_PORTFOLIO_REPORT_MAX_HOLDINGS:
        raise Conflict(
            f"the portfolio has {count} holdings, more than the "
            f"{SYNC_PORTFOLIO_REPORT_MAX_HOLDINGS} rendered within a request; start a report "
            f"job with POST /api/v1/portfolios/{portfolio.id}/reports and fetch the file from "
            "the job"
        )


def render_portfolio_pdf(
    session: Session, portfolio: Portfolio, page_size: PageSize
) -> tuple[bytes, str]:
    report = portfolio_report(session, portfolio, page_size)
    buffer = BytesIO()
    render_portfolio_report(report, buffer)
    return buffer.getvalue(), portfolio_file_name(portfolio, report.report_date)


def portfolio_file_name(portfolio: Portfolio, day: date) -> str:
    return download_name(portfolio.name, "portfolio-report", day, "pdf")


# --- assessment scores export ----------------------------------------------------------------


def assessment_score_rows(session: Session) -> list[ScoreRow]:
    """The current score of every company the organisation has assessed, by company name."""
    assessed = session.execute(
        select(Assessment.id, Assessment.company_id, Assessment.status).where(
            Assessment.status != AssessmentStatus.superseded.value
        )
    ).all()
    statuses = {row.id: row.status for row in assessed}
    company_ids = sorted({row.company_id for row in assessed})
    scores = scoring.current_scores(session, company_ids) if company_ids else {}
    names = company_names(session, scores)
    listings = listing_statuses(session, scores)
    # Current scores share the rules in use, so this asks once or twice, not per score.
    rules = {
        (key, version, digest): rules_named(
            key, version, bundled=not scoring.own_version(session, key, version, digest)
        )
        for key, version, digest in {
            (s.ruleset_id, s.ruleset_version, s.ruleset_hash) for s in scores.values()
        }
    }
    rows = [
        ScoreRow(
            company_name=names.get(company_id, str(company_id)),
            assessment_status=statuses.get(score.assessment_id) if score.assessment_id else None,
            score=scoring.worded_for_company(
                score, None, listed=listings.get(company_id) is ListingStatus.listed
            )[0],
            ruleset=rules[(score.ruleset_id, score.ruleset_version, score.ruleset_hash)],
        )
        for company_id, score in scores.items()
    ]
    return sorted(rows, key=lambda row: (row.company_name.casefold(), str(row.score.company_id)))
