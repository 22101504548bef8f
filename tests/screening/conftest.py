"""Fixtures the screening tests share."""

from __future__ import annotations

import pytest

from hrdd.questionnaires import service as questionnaires
from hrdd.scoring import service as scoring


@pytest.fixture
def rules_loaded(db, settings) -> None:
    """The bundled questionnaire and rule sets, for tests that read scores."""
    questionnaires.load_bundled_questionnaires(db, settings)
    scoring.load_bundled_rulesets(db, settings)
