"""`hrdd demo`: a demo organisation, its assessments, a portfolio and two reports.

The assessments are answered only where the curated evidence bundled with hrdd justifies an
answer, each answer citing the curated sources it rests on:

- a public claim recorded as a commitment of the company marks the questions it speaks to as
  partially disclosed (a claim is public, its substance is not verified; the scoring engine
  weighs the claim against the contradicting evidence);
- an active Entity List or sanctions listing answers EU4; a revoked export licence EU3a/EU3b;
- the number of recorded forensic findings answers R1; the curated categories answer EX1;
- choice questions that offer an "unknown" or "not disclosed" option take it;
- every other disclosure question is `no_information`, and everything else, including the
  investor-position questions about the investor itself, is left for an analyst.

The control companies (no surveillance capability in the curated record) are answered the same
way where the record speaks (no forensic finding, so R1 is 0; exports and licences unknown),
and the questions about surveillance products, their buyers and their misuse are not
applicable, with that reason. Their record holds no evidence or claims by design, so it says
nothing about their human rights governance (or listings) either way: those questions stay
unanswered, for an analyst. Their drafts score on that unknown policy gap, with low confidence.

The assessments stay drafts: they are a starting point for an analyst, not due diligence
done. Portfolio risk counts submitted and final assessments only, so in the demo portfolio
the curated companies are scored on their evidence alone and the controls are unassessed.

Market values of the demo portfolio are illustrative: one equal amount per holding.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdd.assessments import service as assessments
from hrdd.assessments.models import Assessment
from hrdd.assessments.schemas import AssessmentCreate
from hrdd.auth import service as auth_service
from hrdd.auth.models import ApiKey, Organisation
from hrdd.auth.service import Principal
from hrdd.companies.models import Company
from hrdd.companies.service import identifiers_of
from hrdd.config import Settings
from hrdd.dates import iso_date
from hrdd.db import SYSTEM, Database, TenantContext, utcnow
from hrdd.errors import Conflict
from hrdd.evidence.models import Commitment, EvidenceItem
from hrdd.portfolios import service as portfolios
from hrdd.portfolios.models import Portfolio
from hrdd.portfolios.schemas import HoldingResolution, PortfolioIn
from hrdd.questionnaires import service as questionnaires
from hrdd.questionnaires.answers import parse_answer_payload, visible_questions
from hrdd.questionnaires.schemas import DisclosureAnswerType, Questionnaire
from hrdd.reports import service as reports
from hrdd.reports.schemas import PageSize
from hrdd.scoring import service as scoring
from hrdd.scoring.schemas import ScoreSummary
from hrdd.vocab import AssessmentStatus, EvidenceType, Role, words_of

DEMO_ORGANISATION = "Demo investor"
DEMO_KEY_NAME = "hrdd demo"
DEMO_PORTFOLIO = "Demo portfolio: curated companies and controls (illustrative amounts)"
DEMO_CURRENCY = "EUR"
DEMO_AMOUNT = Decimal("1000000")
QUESTIONNAIRE_KEY = "stap-surveillance"
REPORT_COMPANY_SLUG = "nso-group"
INVESTOR_THEME = "investor_position"
MAX_EVIDENCE = 20

NO_INFORMATION = (
    "Not established from the public sources bundled with hrdd; left for an analyst to research."
)
LISTING_TYPES = {EvidenceType.trade_restriction_listing.value, EvidenceType.sanction.value}
CLOSING_TYPES = {EvidenceType.delisting.value, EvidenceType.sanction_lifted.value}
DESCRIBING_ORDER = {
    EvidenceType.forensic_finding.value: 0,
    EvidenceType.investigative_journalism.value: 1,
}
# Questions answered with the option that reports the absence of information.
ABSENCE_CHOICES = {"EX5": "unknown", "G3": "none_identified", "DS2": "not_disclosed"}
# Questions about surveillance products, their buyers, their sale or their misuse: they do not
# apply to a company that makes none. General governance questions (policy, board, grievance
# channels, intimidation of critics, listings) apply to every company and are not here.
PRODUCT_QUESTIONS = frozenset(
    {
        *("DD3", "DD7"),
        *("EU1", "EU2", "EU5", "EU6"),
        *("DS1", "DS3"),
        *("C1", "C2", "C4", "C5"),
        *("T1", "T2", "GR4"),
    }
)


@dataclass(frozen=True)
class DemoResult:
    organisation: str
    portfolio_id: uuid.UUID
    company_report: Path
    portfolio_report: Path
    lines: list[str]


# --- answers from the curated evidence (no queries) -------------------------------------------


def _evidence_ref(source: dict[str, Any]) -> dict[str, Any]:
    ref: dict[str, Any] = {"title": source["title"][:500], "url": source["url"]}
    if source.get("publisher"):
        ref["publisher"] = source["publisher"][:300]
    # Answer evidence holds a whole date: a source dated only to the month or year gives none.
    if source.get("date") and source.get("date_precision", "day") == "day":
        ref["source_date"] = source["date"]
    return ref


def _first_sources(items: Sequence[EvidenceItem]) -> list[dict[str, Any]]:
    return [_evidence_ref(item.sources[0]) for item in items if item.sources][:MAX_EVIDENCE]


def _own_claims(company: Company, commitments: Sequence[Commitment]) -> list[Commitment]:
    """Claims the company made itself (not, say, a pledge of its owner)."""
    own_names = {company.name, *company.aliases}
    return [c for c in commitments if c.made_by is None or c.made_by in own_names]


def _active_listings(items: Sequence[EvidenceItem], today: date) -> list[EvidenceItem]:
    """Listings with no recorded end and no later delisting of the same list."""
    closed = {
        (item.related_listing or {}).get("list_name")
        for item in items
        if item.type in CLOSING_TYPES
    }
    active = []
    for item in items:
        listing = item.related_listing or {}
        end = listing.get("end_date")
        if item.type not in LISTING_TYPES or listing.get("list_name") in closed:
            continue
        if end is None or str(end) > today.isoformat():
            active.append(item)
    return active


def derive_answers(
    questionnaire: Questionnaire,
    company: Company,
    items: Sequence[EvidenceItem],
    commitments: Sequence[Commitment],
    today: date,
) -> dict[str, dict[str, Any]]:
    """The answers the curated record justifies for one company, as raw payloads."""
    answers: dict[str, dict[str, Any]] = {}
    disclosure_ids = {
        q.id
        for q in questionnaire.questions
        if isinstance(q.answer_type, DisclosureAnswerType) and q.theme != INVESTOR_THEME
    }
    # A control's record is silent by design (it may hold no evidence or claims), not for want
    # of disclosure: "no information found" would be untrue, so its questions stay unanswered.
    control = not company.categories
    for question_id in disclosure_ids:
        if not control:
            answers[question_id] = {
                "type": "disclosure",
                "level": "no_information",
                "comment": NO_INFORMATION,
            }
            continue
        answer_type = questionnaire.question(question_id).answer_type
        if (
            question_id in PRODUCT_QUESTIONS
            and isinstance(answer_type, DisclosureAnswerType)
            and answer_type.allow_not_applicable
        ):
            answers[question_id] = {
                "type": "disclosure",
                "level": "not_applicable",
                "not_applicable_reason": f"{company.name} is a control company in hrdd's "
                "curated evidence: no surveillance capability is recorded for it, and this "
                "question is about surveillance products, their buyers or their misuse.",
            }

    claims: dict[str, list[Commitment]] = defaultdict(list)
    for claim in _own_claims(company, commitments):
        for question_id in claim.question_ids:
            if question_id in disclosure_ids:
                claims[question_id].append(claim)
    for question_id, made in claims.items():
        answer_type = questionnaire.question(question_id).answer_type
        said = "; ".join(
            f"{c.title} ({iso_date(c.date, c.date_precision)}, rated "
            f"{words_of(c.fulfilment)} in hrdd's curated record)"
            for c in made
        )
        # A claim is public but unverified: partial where the question allows it; a yes/no
        # question cannot be answered yes on the company's word alone.
        partial = isinstance(answer_type, DisclosureAnswerType) and answer_type.allow_partial
        answers[question_id] = {
            "type": "disclosure",
            "level": "partial" if partial else "no_information",
            "comment": f"The company claimed this publicly: {said}. "
            + (
                "Recorded as partial: a public claim, not a verified practice."
                if partial
                else "A yes/no question: not answered yes on an unverified claim."
            ),
            "evidence": [_evidence_ref(c.source) for c in made][:MAX_EVIDENCE],
        }

    listings = _active_listings(items, today)
    if listings:
        answers["EU4"] = {
            "type": "disclosure",
            "level": "full",
            "comment": "Listed: "
            + "; ".join(
                f"{(i.related_listing or {}).get('list_name', i.title)} from "
                f"{iso_date(i.event_date, i.event_date_precision)}"
                for i in listings
            ),
            "evidence": _first_sources(listings),
        }

    if company.categories:
        # Findings and investigations name the product best; statements are the company's own.
        described = sorted(
            (i for i in items if i.type != EvidenceType.company_statement.value and i.sources),
            key=lambda i: (DESCRIBING_ORDER.get(i.type, len(DESCRIBING_ORDER)), i.event_date),
        )[:3]
        if described:
            answers["EX1"] = {
                "type": "multiple_choice",
                "values": list(company.categories),
                "comment": "Capabilities as classified in hrdd's curated evidence file.",
                "evidence": _first_sources(described),
            }

    for question_id, option in ABSENCE_CHOICES.items():
        if not control or option == "unknown":
            answers[question_id] = {"type": "single_choice", "value": option}
    revoked = [i for i in items if i.type == EvidenceType.export_licence_revoked.value]
    if revoked:
        latest = max(revoked, key=lambda i: i.event_date)
        answers["EU3a"] = {
            "type": "single_choice",
            "value": "yes",
            "evidence": _first_sources(revoked),
        }
        answers["EU3b"] = {
            "type": "date",
            "value": latest.event_date.isoformat(),
            "comment": f"Date known to the {latest.event_date_precision}.",
            "evidence": _first_sources([latest]),
        }
    else:
        answers["EU3a"] = {"type": "single_choice", "value": "unknown"}

    findings = [i for i in items if i.type == EvidenceType.forensic_finding.value]
    answers["R1"] = {
        "type": "number",
        "value": str(len(findings)),
        "comment": "Forensic findings recorded in hrdd's curated evidence.",
        "evidence": _first_sources(findings),
    }
    return _visible_only(questionnaire, answers)


def _visible_only(
    questionnaire: Questionnaire, answers: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Drop answers to questions the other answers hide (e.g. R3 when R1 is 0)."""
    while True:
        payloads = {qid: parse_answer_payload(data) for qid, data in answers.items()}
        visible = visible_questions(questionnaire, payloads)
        hidden = [qid for qid in answers if qid not in visible]
        if not hidden:
            return answers
        for question_id in hidden:
            del answers[question_id]


# --- building the demo -----------------------------------------------------------------------


def _organisation(session: Session, name: str) -> Organisation:
    found = session.scalar(select(Organisation).where(Organisation.name == name))
    return found or auth_service.create_organisation(session, name)


def _principal(session: Session, organisation: Organisation) -> Principal:
    key = session.scalar(
        select(ApiKey).where(
            ApiKey.organisation_id == organisation.id,
            ApiKey.name == DEMO_KEY_NAME,
            ApiKey.revoked_at.is_(None),
        )
    )
    if key is None:
        key, _ = auth_service.create_key(session, organisation.id, DEMO_KEY_NAME, Role.analyst)
    return Principal(
        key_id=key.id,
        key_name=key.name,
        role=Role(key.role),
        organisation_id=organisation.id,
        organisation_name=organisation.name,
    )


def _bundled_companies(session: Session) -> list[Company]:
    return list(
        session.scalars(select(Company).where(Company.slug.is_not(None)).order_by(Company.name))
    )


def _live_assessment(session: Session, company: Company) -> Assessment | None:
    return session.scalar(
        select(Assessment)
        .where(
            Assessment.company_id == company.id,
            Assessment.status != AssessmentStatus.superseded.value,
        )
        .order_by(Assessment.created_at.desc())
        .limit(1)
    )


def _assess(
    session: Session, actor: Principal, questionnaire: Questionnaire, company: Company
) -> tuple[Assessment, int]:
    """The company's demo assessment, with the derived answers written while it is a draft."""
    assessment = _live_assessment(session, company) or assessments.create_assessment(
        session,
        actor,
        AssessmentCreate(company_id=company.id, questionnaire_key=QUESTIONNAIRE_KEY),
    )
    items = list(
        session.scalars(
            select(EvidenceItem)
            .where(EvidenceItem.company_id == company.id, EvidenceItem.deleted_at.is_(None))
            .order_by(EvidenceItem.event_date, EvidenceItem.id)
        )
    )
    claims = list(
        session.scalars(
            select(Commitment)
            .where(Commitment.company_id == company.id, Commitment.deleted_at.is_(None))
            .order_by(Commitment.date, Commitment.id)
        )
    )
    answers = derive_answers(questionnaire, company, items, claims, utcnow().date())
    if assessment.status == AssessmentStatus.draft.value:
        assessments.write_answers(
            session, actor, assessment, answers, assessments.etag_of(assessment)
        )
    return assessment, sum(1 for answer in answers.values() if answer.get("evidence"))


def _holdings_csv(session: Session, companies: Sequence[Company]) -> bytes:
    idents = identifiers_of(session, [c.id for c in companies])
    lines = ["name,isin,ticker,market_value,currency"]
    for company in companies:
        isin = next(iter(idents[company.id]["isin"]), "")
        ticker = next(iter(idents[company.id]["ticker"]), "")
        name = company.name.replace('"', '""')
        lines.append(f'"{name}",{isin},{ticker},{DEMO_AMOUNT},{DEMO_CURRENCY}')
    return ("\n".join(lines) + "\n").encode()


def _portfolio(
    session: Session, actor: Principal, companies: Sequence[Company], max_rows: int
) -> Portfolio:
    portfolio = session.scalar(select(Portfolio).where(Portfolio.name == DEMO_PORTFOLIO))
    if portfolio is None:
        portfolio = portfolios.create_portfolio(
            session, actor, PortfolioIn(name=DEMO_PORTFOLIO, base_currency=DEMO_CURRENCY)
        )
    portfolios.import_holdings(
        session,
        actor.key_name,
        portfolio,
        _holdings_csv(session, companies),
        keep_good_rows=False,
        max_rows=max_rows,
    )
    # The demo knows which company each line is: it confirms the name matches itself.
    by_line = {line: company for line, company in enumerate(companies, start=2)}
    for holding in portfolios.all_holdings(session, portfolio):
        company = by_line[holding.line]
        if holding.resolution != HoldingResolution.identifier or holding.company_id != company.id:
            portfolios.resolve_holding(session, actor, portfolio, holding, company.id)
    return portfolio


def _portfolio_basis(score: ScoreSummary | None) -> str:
    if score is None:
        return "unassessed (no submitted assessment, no evidence recorded)"
    basis = (
        "on evidence alone until an assessment is submitted"
        if score.assessment_id is None
        else "from its submitted assessment"
    )
    return f"{basis}, risk {score.overall:g} ({score.band}), action {score.action}"


def run_demo(
    database: Database,
    settings: Settings,
    out_dir: Path,
    organisation_name: str = DEMO_ORGANISATION,
) -> DemoResult:
    """Build (or refresh) the demo in the organisation of that name (created if missing) and
    write its two reports into ``out_dir``. The bundled content must be loaded."""
    with database.session(SYSTEM, write=True) as session:
        organisation = _organisation(session, organisation_name)
        actor = _principal(session, organisation)
    lines = []
    tenant = TenantContext(organisation.id)
    with database.session(tenant, write=True) as session:
        companies = _bundled_companies(session)
        subject = next((c for c in companies if c.slug == REPORT_COMPANY_SLUG), None)
        if subject is None:
            raise Conflict(
                f"the bundled company {REPORT_COMPANY_SLUG!r} is not loaded; run `hrdd load`"
            )
        questionnaire = questionnaires.questionnaire_of(
            questionnaires.latest_version(session, QUESTIONNAIRE_KEY)
        )
        assessed: dict[uuid.UUID, Assessment] = {}
        cited: dict[uuid.UUID, int] = {}
        for company in companies:
            assessed[company.id], cited[company.id] = _assess(
                session, actor, questionnaire, company
            )
        portfolio = _portfolio(session, actor, companies, settings.max_csv_rows)
        portfolio_id = portfolio.id
        report_assessment = assessed[subject.id].id
        held = scoring.current_scores(session, [company.id for company in companies])
        for company in companies:
            assessment = assessed[company.id]
            own = scoring.assessment_score(session, assessment.id, None).summary
            kind = "control company" if not company.categories else "company"
            lines.append(
                f"{company.name}: {kind}, {assessment.status} assessment with "
                f"{cited[company.id]} answers citing curated sources, its risk {own.overall:g} "
                f"({own.band}, {own.confidence} confidence); in the portfolio: "
                f"{_portfolio_basis(held.get(company.id))}"
            )

    out_dir.mkdir(parents=True, exist_ok=True)
    with database.session(tenant, write=True) as session:
        company_pdf, company_name = reports.render_company_pdf(
            session, report_assessment, PageSize.a4
        )
        portfolio = portfolios.get_portfolio(session, portfolio_id)
        portfolio_pdf, portfolio_name = reports.render_portfolio_pdf(
            session, portfolio, PageSize.a4
        )
    company_path = out_dir / company_name
    portfolio_path = out_dir / portfolio_name
    company_path.write_bytes(company_pdf)
    portfolio_path.write_bytes(portfolio_pdf)
    return DemoResult(
        organisation=organisation.name,
        portfolio_id=portfolio_id,
        company_report=company_path,
        portfolio_report=portfolio_path,
        lines=lines,
    )
