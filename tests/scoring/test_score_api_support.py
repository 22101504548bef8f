"""Builders shared by the scoring API and golden tests: bundled rules, companies, assessments
with answers, and evidence rows written straight to the tables. Holds no tests itself."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select

from hrdd.assessments.models import Assessment, AssessmentAnswer
from hrdd.companies.models import Company
from hrdd.config import PROJECT_ROOT, Settings
from hrdd.db import SYSTEM, Database, TenantContext
from hrdd.evidence.models import Commitment, EvidenceItem
from hrdd.questionnaires import service as questionnaires
from hrdd.questionnaires.answers import parse_answer_payload, reports_absence
from hrdd.questionnaires.schemas import Questionnaire, SingleChoiceAnswerType
from hrdd.scoring import service as scoring
from hrdd.scoring.models import StoredScore
from hrdd.scoring.rules import load_ruleset_file
from hrdd.vocab import AssessmentStatus, DisclosureLevel

QUESTIONNAIRE_KEY = "stap-surveillance"
# The bundled default rule sets' versions, oldest first; an organisation that has chosen none
# uses the newest.
BUNDLED_DEFAULT_VERSIONS = sorted(
    load_ruleset_file(path).version for path in (PROJECT_ROOT / "scoring").glob("default-v*.yaml")
)
NEWEST_DEFAULT = BUNDLED_DEFAULT_VERSIONS[-1]


def load_rules(db: Database, settings: Settings) -> None:
    """The bundled questionnaire and rule sets, which every score needs."""
    questionnaires.load_bundled_questionnaires(db, settings)
    scoring.load_bundled_rulesets(db, settings)


def bundled_questionnaire(db: Database) -> tuple[uuid.UUID, Questionnaire]:
    with db.session(SYSTEM) as session:
        row = questionnaires.latest_version(session, QUESTIONNAIRE_KEY)
        return row.id, questionnaires.questionnaire_of(row)


def make_company(db: Database, name: str) -> uuid.UUID:
    with db.session(SYSTEM, write=True) as session:
        company = Company(name=name, search_text=name.casefold())
        session.add(company)
        session.flush()
        return company.id


# An independent source every answer of ``answer_payloads`` cites: since default v7 an answer
# citing no source anyone can check counts as self-reported.
AUDIT_SOURCE = {
    "url": "https://www.example.org/audits/2025",
    "title": "Independent human rights audit",
    "publisher": "Example Audit LLP",
}


def answer_payloads(
    questionnaire: Questionnaire, level: DisclosureLevel, *, sourced: bool = True
) -> dict[str, Any]:
    """An answer to every scored question: disclosure questions at ``level`` (reverse-scored
    ones at its mirror, so "full" means good practice everywhere), choices at their best or
    worst option to match, and counts (deals declined, customers suspended...) at 2 or 0.
    ``sourced``: each cites an independent source (``AUDIT_SOURCE``), else none."""
    good = level in (DisclosureLevel.full, DisclosureLevel.partial)
    mirror = {
        DisclosureLevel.full: DisclosureLevel.no,
        DisclosureLevel.no: DisclosureLevel.full,
    }
    payloads: dict[str, Any] = {}
    for question in questionnaire.questions:
        if question.answer_type.type == "number" and questionnaire.theme(question.theme).scored:
            payloads[question.id] = {"type": "number", "value": "2" if good else "0"}
        if not questionnaire.is_scored(question):
            continue
        if question.answer_type.type == "disclosure":
            chosen = mirror.get(level, level) if question.reverse_scored else level
            payloads[question.id] = {"type": "disclosure", "level": chosen.value}
        elif isinstance(question.answer_type, SingleChoiceAnswerType):
            options = sorted(question.answer_type.options, key=lambda o: o.points or 0)
            best = options[-1] if good else options[0]
            payloads[question.id] = {"type": "single_choice", "value": best.id}
    if sourced:
        # An answer that something is absent needs no source: it cites none, as analysts do.
        for question_id, payload in payloads.items():
            question = questionnaire.question(question_id)
            if not reports_absence(question, parse_answer_payload(payload)):
                payload["evidence"] = [dict(AUDIT_SOURCE)]
    return payloads


def make_assessment(
    db: Database,
    organisation_id: uuid.UUID,
    company_id: uuid.UUID,
    answers: dict[str, Any],
    status: AssessmentStatus = AssessmentStatus.final,
    created_at: dt.datetime | None = None,
) -> uuid.UUID:
    version_id, _ = bundled_questionnaire(db)
    with db.session(TenantContext(organisation_id), write=True) as session:
        assessment = Assessment(
            company_id=company_id,
            questionnaire_version_id=version_id,
            status=status.value,
            created_by_name="test analyst",
        )
        if created_at is not None:
            assessment.created_at = created_at
        session.add(assessment)
        session.flush()
        for question_id, payload in answers.items():
            session.add(
                AssessmentAnswer(
                    assessment_id=assessment.id,
                    question_id=question_id,
                    payload=payload,
                    updated_by_name="test analyst",
                )
            )
        return assessment.id


def assessed_company(
    db: Database,
    organisation_id: uuid.UUID,
    name: str,
    level: DisclosureLevel = DisclosureLevel.full,
) -> tuple[uuid.UUID, uuid.UUID]:
    """A company and the organisation's final assessment of it, every scored question answered
    at ``level`` (see ``answer_payloads``): (company id, assessment id)."""
    _, questionnaire = bundled_questionnaire(db)
    company = make_company(db, name)
    return company, make_assessment(
        db, organisation_id, company, answer_payloads(questionnaire, level)
    )


def set_answer(
    db: Database,
    organisation_id: uuid.UUID,
    assessment_id: uuid.UUID,
    question_id: str,
    payload: dict,
) -> None:
    with db.session(TenantContext(organisation_id), write=True) as session:
        row = session.scalar(
            select(AssessmentAnswer).where(
                AssessmentAnswer.assessment_id == assessment_id,
                AssessmentAnswer.question_id == question_id,
            )
        )
        row.payload = payload
        # As every write to an assessment does (hrdd.assessments.service.begin_write): the
        # version is what tells a stored score its answers changed.
        assessment = session.get(Assessment, assessment_id)
        assessment.version += 1


def add_incident(
    db: Database,
    company_id: uuid.UUID,
    *,
    event_date: dt.date,
    severity: int = 4,
    type: str = "forensic_finding",
    source_class: str = "forensic_lab",
    affected_groups: tuple[str, ...] = ("journalists",),
    organisation_id: uuid.UUID | None = None,
    related_listing: dict[str, Any] | None = None,
) -> uuid.UUID:
    """An evidence item: shared (bundled-like) without ``organisation_id``."""
    tenant = SYSTEM if organisation_id is None else TenantContext(organisation_id)
    with db.session(tenant, write=True) as session:
        item = EvidenceItem(
            organisation_id=organisation_id,
            company_id=company_id,
            origin="analyst" if organisation_id else "bundled",
            event_date=event_date,
            published_date=event_date,
            type=type,
            title=f"{type} on {event_date}",
            summary="A test evidence item written for the scoring tests.",
            affected_groups=list(affected_groups),
            severity=severity,
            company_role="contributed",
            sources=[
                {
                    "publisher": "Test Lab",
                    "title": "A test report",
                    "date": event_date.isoformat(),
                    "url": "https://example.org/report",
                    "source_class": source_class,
                }
            ],
            related_listing=related_listing,
        )
        session.add(item)
        session.flush()
        return item.id


def add_commitment(
    db: Database,
    company_id: uuid.UUID,
    *,
    on: dt.date,
    question_ids: list[str],
    fulfilment: str,
    contradicted_by: list[uuid.UUID] = (),  # type: ignore[assignment]
    organisation_id: uuid.UUID | None = None,
    precision: str = "day",
) -> uuid.UUID:
    """A commitment: shared (bundled-like) without ``organisation_id``."""
    tenant = SYSTEM if organisation_id is None else TenantContext(organisation_id)
    with db.session(tenant, write=True) as session:
        commitment = Commitment(
            organisation_id=organisation_id,
            company_id=company_id,
            origin="analyst" if organisation_id else "bundled",
            date=on,
            date_precision=precision,
            title="A test commitment",
            claim="The company said it vets every customer.",
            source={"publisher": "Company", "title": "Policy", "date": on.isoformat()},
            question_ids=question_ids,
            fulfilment=fulfilment,
            fulfilment_rationale="Written for the scoring tests.",
            contradicted_by=[str(item) for item in contradicted_by],
        )
        session.add(commitment)
        session.flush()
        return commitment.id


def stored_score_count(db: Database, organisation_id: uuid.UUID) -> int:
    with db.session(TenantContext(organisation_id)) as session:
        return session.scalar(select(func.count()).select_from(StoredScore)) or 0
