"""Fixtures of the scoring tests that work through the database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_score_api_support import bundled_questionnaire, load_rules

from hrdd.config import PROJECT_ROOT, Settings
from hrdd.db import Database
from hrdd.questionnaires.schemas import Questionnaire

DEFAULT_FILE = PROJECT_ROOT / "scoring" / "default-v1.yaml"


@pytest.fixture
def rules(db: Database, settings: Settings) -> None:
    """The bundled questionnaire and rule set, loaded."""
    load_rules(db, settings)


@pytest.fixture
def questionnaire(db: Database, rules: None) -> Questionnaire:
    """The bundled questionnaire, with the rules loaded."""
    return bundled_questionnaire(db)[1]


@pytest.fixture
def rules_dir(tmp_path: Path, settings: Settings) -> tuple[Path, Settings]:
    """A scoring folder of its own holding the bundled default file, and settings using it."""
    folder = tmp_path / "scoring"
    folder.mkdir()
    shutil.copy(DEFAULT_FILE, folder / "default-v1.yaml")
    return folder, settings.model_copy(update={"scoring_dir": folder})
