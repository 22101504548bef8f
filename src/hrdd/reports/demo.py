"""`hrdd demo`: a demo organisation, its assessments, a portfolio and two reports.

The assessments are answered only where the curated evidence bundled with hrdd justifies an
answer, each answer citing the curated sources it rests on:

- a public claim recorded as a commitment of the company marks the questions it speaks to as
  partially disclosed (a claim is public, its substance is not verified; the scoring engine
  weighs the claim against the contradicting evidence);
- an active Entity List or sanctions listing answers EU4 yes, a listing since lifted answers it
  no; a revoked export licence answers EU3a/EU3b;
- R1 counts the recorded findings resting on forensic lab work (`_forensic_allegations`); with
  none recorded it stays unanswered, since the record does not show those labs were checked;
- the curated categories answer EX1;
- `RECORDED_ANSWERS` holds the answers that named curated items settle (a foreign government
  customer for EX5, a customer cut off for C5...), each citing the sources that say so;
- choice questions that offer an "unknown" or "not disclosed" option take it otherwise;
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
from hrdd.evidence.content import items_ended
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
# Questions answered with the option that reports the absence of information, unless
# RECORDED_ANSWERS has the company's answer.
ABSENCE_CHOICES = {"EX5": "unknown", "G3": "none_identified", "DS2": "not_disclosed"}
# Not answered "no information found" for want of an answer: whether the destinations the
# record names count as high-risk is the analyst's judgement, and the record often names some.
ANALYST_JUDGEMENT = frozenset({"EX3"})
FORENSIC_LAB = "forensic_lab"
# Types of item that report a finding of misuse; R1 counts those resting on forensic lab work.
ALLEGATION_TYPES = {
    EvidenceType.forensic_finding.value,
    EvidenceType.investigative_journalism.value,
}
R1_COUNTED = (
    "Counted: the findings in hrdd's curated evidence that rest on forensic lab work (Citizen "
    "Lab, Amnesty's Security Lab or the like, including investigations they supported), one per "
    "published report or investigation; findings reported only by the media are not counted."
)
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
class RecordedAnswer:
    """An answer that curated items settle: the answer, why, and the sources it rests on, as
    (item slug, source URL) pairs; the URL is one of the item's sources or response sources.
    ``answer`` None leaves the question unanswered for an analyst (the sources disagree)."""

    question_id: str
    answer: dict[str, Any] | None
    comment: str
    cites: tuple[tuple[str, str], ...]


# Answers drawn by hand from the curated items they cite (company slug -> answers). An answer
# whose items are missing from the loaded record is not given: it never outlives its evidence.
RECORDED_ANSWERS: dict[str, tuple[RecordedAnswer, ...]] = {
    "nso-group": (
        RecordedAnswer(
            "EX5",
            {"type": "single_choice", "value": "yes"},
            "The US Commerce Department found in November 2021 that NSO developed and supplied "
            "spyware that foreign governments used.",
            (
                (
                    "nso-2021-11-entity-list",
                    "https://www.commerce.gov/news/press-releases/2021/11/commerce-adds-nso-group"
                    "-and-other-foreign-companies-entity-list",
                ),
            ),
        ),
        RecordedAnswer(
            "DS2",
            {"type": "single_choice", "value": "claims_no_visibility"},
            "In December 2020 NSO said it had no access to the identities of the people its "
            "customers surveil.",
            (
                (
                    "nso-2020-12-al-jazeera-journalists",
                    "https://www.benzinga.com/news/20/12/18869542/iphone-zero-click-vulnerability"
                    "-exploited-by-infamous-nso-group-to-hack-3-dozen-al-jazeera-journalis",
                ),
            ),
        ),
        RecordedAnswer(
            "GR4",
            {"type": "disclosure", "level": "no"},
            "In WhatsApp's case over the hacking of its users, a US federal court sanctioned NSO "
            "in December 2024 for failing to produce the Pegasus code in usable form.",
            (
                (
                    "nso-2024-12-whatsapp-liability-ruling",
                    "https://www.dawn.com/news/1880263/us-judge-finds-israeli-firm-liable-for"
                    "-whatsapp-hacking",
                ),
            ),
        ),
    ),
    "candiru": (
        RecordedAnswer(
            "EX5",
            {"type": "single_choice", "value": "yes"},
            "The US Commerce Department found in November 2021 that Candiru developed and "
            "supplied spyware that foreign governments used.",
            (
                (
                    "candiru-2021-11-entity-list",
                    "https://www.commerce.gov/news/press-releases/2021/11/commerce-adds-nso-group"
                    "-and-other-foreign-companies-entity-list",
                ),
            ),
        ),
    ),
    "cellebrite": (
        RecordedAnswer(
            "EX5",
            {"type": "single_choice", "value": "yes"},
            "Amnesty International found in December 2024 that Serbian police and Serbia's "
            "Security Information Agency used Cellebrite's products; Cellebrite is based in "
            "Israel.",
            (
                (
                    "cellebrite-2024-12-serbia-digital-prison",
                    "https://www.amnesty.org/en/latest/news/2024/12/serbia-authorities-using"
                    "-spyware-and-cellebrite-forensic-extraction-tools-to-hack-journalists-and"
                    "-activists/",
                ),
            ),
        ),
        RecordedAnswer(
            "C5",
            {"type": "disclosure", "level": "full"},
            "In February 2025, after reviewing Amnesty's findings, Cellebrite stopped the Serbian "
            "customers concerned from using its products; it did not say whether the suspension "
            "is permanent.",
            (
                (
                    "cellebrite-2025-02-serbia-customers-stopped",
                    "https://techcrunch.com/2025/02/26/cellebrite-suspends-serbia-as-customer"
                    "-after-claims-police-used-firms-tech-to-plant-spyware/",
                ),
                (
                    "cellebrite-2025-02-serbia-customers-stopped",
                    "https://securitylab.amnesty.org/latest/2025/02/serbia-cellebrite-halts"
                    "-product-use-in-serbia-following-amnesty-surveillance-report/",
                ),
            ),
        ),
        RecordedAnswer(
            "R3",
            {"type": "disclosure", "level": "partial"},
            "Cellebrite said it investigated Amnesty's December 2024 findings under its ethics "
            "and integrity policies and announced the outcome (the Serbian customers concerned "
            "were stopped); the sources name no external adviser.",
            (
                (
                    "cellebrite-2025-02-serbia-customers-stopped",
                    "https://techcrunch.com/2025/02/26/cellebrite-suspends-serbia-as-customer"
                    "-after-claims-police-used-firms-tech-to-plant-spyware/",
                ),
            ),
        ),
    ),
    "finfisher": (
        RecordedAnswer(
            "EX5",
            {"type": "single_choice", "value": "yes"},
            "In May 2023 Munich prosecutors charged four former managing directors of FinFisher "
            "group companies with exporting the spyware outside the EU without a licence, after "
            "a criminal complaint that FinSpy was sold to the Turkish government. These are "
            "charges, not a conviction.",
            (
                (
                    "finfisher-2023-05-charges",
                    "https://www.ecchr.eu/en/press-release/after-criminal-complaint-by-civil"
                    "-society-organizations-prosecutors-office-indicts-finfisher-executives/",
                ),
                (
                    "finfisher-2023-05-charges",
                    "https://www.businesslive.co.za/bloomberg/news/2023-05-22-germany-indicts"
                    "-four-former-executives-over-spyware-sale-to-turkey/",
                ),
            ),
        ),
    ),
    "intellexa": (
        RecordedAnswer(
            "EX5",
            {"type": "single_choice", "value": "yes"},
            "The Predator Files investigation (October 2023), with Amnesty's Security Lab, found "
            "the alliance's products in at least 25 countries.",
            (
                (
                    "intellexa-2023-10-predator-files",
                    "https://securitylab.amnesty.org/latest/2023/10/global-predator-files"
                    "-investigation-reveals-catastrophic-failure-to-regulate-surveillance-trade/",
                ),
            ),
        ),
    ),
    "memento-labs": (
        RecordedAnswer(
            "EX5",
            {"type": "single_choice", "value": "yes"},
            "As Hacking Team: documents leaked in 2015 pointed to sales to the governments of "
            "Sudan and Ethiopia, and until 2016 a global authorisation let it export its spyware "
            "to 46 countries outside the EU.",
            (
                (
                    "hackingteam-2015-07-leak",
                    "https://www.apr.org/2015-07-06/a-hacker-is-hacked-controversial-italian"
                    "-cyber-espionage-company-is-targeted",
                ),
                (
                    "hackingteam-2016-03-export-licence-revoked",
                    "https://www.helpnetsecurity.com/2016/04/06/hackingteams-global-export"
                    "-license-revoked/",
                ),
            ),
        ),
    ),
    "paragon": (
        RecordedAnswer(
            "EX5",
            {"type": "single_choice", "value": "yes"},
            "Italy was a customer: its contract with Paragon ended in 2025. A person familiar "
            "with the matter said Paragon ended it; Italy's parliamentary committee said Italian "
            "intelligence did. Paragon is based in Israel.",
            (
                (
                    "paragon-2025-01-whatsapp-notifications",
                    "https://ca.finance.yahoo.com/news/owner-spyware-used-alleged-whatsapp"
                    "-060445817.html",
                ),
            ),
        ),
        # Who ended the Italian contract is disputed (see EX5): C5 is not settled either way.
        RecordedAnswer(
            "C5",
            None,
            "",
            (
                (
                    "paragon-2025-01-whatsapp-notifications",
                    "https://ca.finance.yahoo.com/news/owner-spyware-used-alleged-whatsapp"
                    "-060445817.html",
                ),
            ),
        ),
    ),
    "sandvine": (
        RecordedAnswer(
            "EX5",
            {"type": "single_choice", "value": "yes"},
            "The US Commerce Department listed Sandvine in February 2024 for supplying deep "
            "packet inspection technology to the Government of Egypt; Sandvine is based in "
            "Canada.",
            (("sandvine-2024-02-entity-list", "https://lexbuild.dev/fr/2024/02/2024-03674"),),
        ),
        RecordedAnswer(
            "G3",
            {"type": "single_choice", "value": "internal_committee"},
            "The US Commerce Department reported in October 2024 that Sandvine had set up a "
            "Business Ethics Committee to vet deals. Its members are not public, so no "
            "independent member can be verified: recorded as a committee of the company.",
            (
                (
                    "sandvine-2024-10-entity-list-removal",
                    "https://bis.gov/press-release/commerce-removes-sandvine-entity-list-following"
                    "-significant-corporate-reforms-protect",
                ),
            ),
        ),
    ),
}


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
    if source.get("date"):
        ref["source_date"] = source["date"]
        if source.get("date_precision", "day") != "day":
            ref["source_date_precision"] = source["date_precision"]
    return ref


def _first_sources(items: Sequence[EvidenceItem]) -> list[dict[str, Any]]:
    return [_evidence_ref(item.sources[0]) for item in items if item.sources][:MAX_EVIDENCE]


def _own_claims(company: Company, commitments: Sequence[Commitment]) -> list[Commitment]:
    """Claims the company made itself (not, say, a pledge of its owner)."""
    own_names = {company.name, *company.aliases}
    return [c for c in commitments if c.made_by is None or c.made_by in own_names]


def _active_listings(items: Sequence[EvidenceItem], today: date) -> list[EvidenceItem]:
    """Listings with no recorded end that nothing ended (``items_ended``, the rule the
    pre-fill and the reports follow)."""
    ended = items_ended(items)
    active = []
    for item in items:
        end = (item.related_listing or {}).get("end_date")
        if item.type not in LISTING_TYPES or item.id in ended:
            continue
        if end is None or str(end) > today.isoformat():
            active.append(item)
    return active


def _listing_words(item: EvidenceItem) -> str:
    """A listing as its item records it: the date it took effect where a source gives one,
    else the date it was announced (never an announcement passed off as the start)."""
    listing = item.related_listing or {}
    start = listing.get("start_date")
    when = (
        f"in force from {start}"
        if start
        else f"announced {iso_date(item.event_date, item.event_date_precision)}, date in force "
        "not recorded"
    )
    return f"{item.title} ({listing.get('list_name', item.type)}, {when})"


def _closing_words(item: EvidenceItem) -> str:
    end = (item.related_listing or {}).get("end_date")
    when = iso_date(item.event_date, item.event_date_precision)
    return f"{item.title} (announced {when}" + (f", in force from {end})" if end else ")")


def _eu4(items: Sequence[EvidenceItem], today: date) -> dict[str, Any] | None:
    """EU4 from the recorded listings: yes while one is in force, no once all were lifted."""
    listings = _active_listings(items, today)
    if listings:
        return {
            "type": "disclosure",
            "level": "full",
            "comment": "Listed: " + "; ".join(_listing_words(i) for i in listings) + ".",
            "evidence": _first_sources(listings),
        }
    ended = [i for i in items if i.type in LISTING_TYPES]
    closings = [i for i in items if i.type in CLOSING_TYPES and i.related_listing]
    if not ended or not closings:
        return None
    return {
        "type": "disclosure",
        "level": "no",
        "comment": "No listing in force among those recorded in hrdd's curated evidence: "
        + "; ".join(_listing_words(i) for i in ended)
        + "; lifted: "
        + "; ".join(_closing_words(i) for i in closings)
        + ". Only these recorded listings were checked; screen the current lists before "
        "relying on this.",
        "evidence": _first_sources([*ended, *closings]),
    }


def _forensic_allegations(items: Sequence[EvidenceItem]) -> list[EvidenceItem]:
    """The findings R1 counts: misuse reported with forensic lab work behind it."""
    return [
        i
        for i in items
        if i.type in ALLEGATION_TYPES
        and any(s.get("source_class") == FORENSIC_LAB for s in i.sources)
    ]


def _lab_sources(items: Sequence[EvidenceItem]) -> list[dict[str, Any]]:
    """Each item's first forensic lab source: the report the count rests on."""
    return [
        _evidence_ref(next(s for s in i.sources if s.get("source_class") == FORENSIC_LAB))
        for i in items
    ][:MAX_EVIDENCE]


def _recorded_answers(
    company: Company, items: Sequence[EvidenceItem]
) -> dict[str, dict[str, Any] | None]:
    """RECORDED_ANSWERS of the company whose cited sources are all in the loaded record."""
    sources: dict[tuple[str | None, str], dict[str, Any]] = {}
    for item in items:
        cited = [*item.sources, *(r["source"] for r in item.company_responses)]
        for source in cited:
            sources.setdefault((item.slug, source["url"]), source)
    answers: dict[str, dict[str, Any] | None] = {}
    for recorded in RECORDED_ANSWERS.get(company.slug or "", ()):
        if not all(cite in sources for cite in recorded.cites):
            continue
        if recorded.answer is None:
            answers[recorded.question_id] = None
            continue
        answers[recorded.question_id] = {
            **recorded.answer,
            "comment": recorded.comment,
            "evidence": [_evidence_ref(sources[cite]) for cite in recorded.cites],
        }
    return answers


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
            if question_id in ANALYST_JUDGEMENT:
                continue
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
            f"{c.title} ({iso_date(c.date, c.date_precision)}, source: "
            f"{c.source.get('publisher', c.source['url'])}; rated {words_of(c.fulfilment)})"
            for c in made
        )
        # A claim is public but unverified: partial where the question allows it; a yes/no
        # question cannot be answered yes on the company's word alone.
        partial = isinstance(answer_type, DisclosureAnswerType) and answer_type.allow_partial
        # Who voiced a claim varies (the company, a spokesperson, a source close to it): the
        # comment names the claim and its source and leaves the speaker to them.
        answers[question_id] = {
            "type": "disclosure",
            "level": "partial" if partial else "no_information",
            "comment": f"Claim recorded for the company in hrdd's curated evidence: {said}. "
            + (
                "Recorded as partial: a public claim, not a verified practice."
                if partial
                else "A yes/no question: not answered yes on an unverified claim."
            ),
            "evidence": [_evidence_ref(c.source) for c in made][:MAX_EVIDENCE],
        }

    eu4 = _eu4(items, today)
    if eu4:
        answers["EU4"] = eu4

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
                "comment": "Capabilities as classified in hrdd's curated evidence.",
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

    allegations = _forensic_allegations(items)
    if allegations:
        answers["R1"] = {
            "type": "number",
            "value": str(len(allegations)),
            "comment": R1_COUNTED,
            "evidence": _lab_sources(allegations),
        }
    elif control:
        answers["R1"] = {
            "type": "number",
            "value": "0",
            "comment": f"No forensic finding is recorded for {company.name}, which has no "
            "surveillance capability in hrdd's curated evidence.",
        }
    # Otherwise unanswered: "0" needs those labs checked, and an empty record does not show it.

    for question_id, recorded in _recorded_answers(company, items).items():
        if recorded is None:
            answers.pop(question_id, None)
        else:
            answers[question_id] = recorded
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
    holdings_file = portfolios.HoldingsFile.read(
        _holdings_csv(session, companies), portfolio.base_currency, max_rows=max_rows
    )
    portfolios.import_holdings(
        session, actor.key_name, portfolio, holdings_file, keep_good_rows=False
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
