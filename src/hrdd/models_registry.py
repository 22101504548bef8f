"""Imports every table module so SQLModel.metadata knows all tables (Alembic, tests)."""

from sqlmodel import SQLModel

from hrdd.assessments import models as assessment_models
from hrdd.audit import models as audit_models
from hrdd.auth import models as auth_models
from hrdd.companies import models as company_models
from hrdd.evidence import models as evidence_models
from hrdd.portfolios import models as portfolio_models
from hrdd.questionnaires import models as questionnaire_models
from hrdd.reports import models as report_models
from hrdd.scoring import models as scoring_models
from hrdd.screening import models as screening_models

metadata = SQLModel.metadata

__all__ = [
    "assessment_models",
    "audit_models",
    "auth_models",
    "company_models",
    "evidence_models",
    "metadata",
    "portfolio_models",
    "questionnaire_models",
    "report_models",
    "scoring_models",
    "screening_models",
]
