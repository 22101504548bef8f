"""Fixtures of the scoring tests that work through the database."""

from __future__ import annotations

import pytest
from test_score_api_support import bundled_questionnaire, load_rules

from hrdd.config import Settings
from hrdd.db import Database
from hrdd.questionnaires.schemas import Questionnaire


@pytest.fixture
def rules(db: Database, settings: Settings) -> None:
    """The bundled questionnaire and rule set, loaded."""
    load_rules(db, settings)


@pytest.fixture
def questionnaire(db: Database, rules: None) -> Questionnaire:
    """The bundled questionnaire, with the rules loaded."""
    return bundled_questionnaire(db)[1]
