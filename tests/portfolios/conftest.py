"""Fixtures of the portfolio tests."""

from __future__ import annotations

import pytest
from portfolio_helpers import load_content

from hrdd.config import Settings
from hrdd.db import Database


@pytest.fixture
def content(db: Database, settings: Settings) -> None:
    """The bundled content, loaded as `hrdd load` does."""
    load_content(db, settings)
