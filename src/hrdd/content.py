"""Loading the bundled content folders into the database (`hrdd load`).

Each domain contributes one loader; every loader is idempotent (loading twice changes nothing)
and validates its files completely before writing anything.
"""

from __future__ import annotations

from collections.abc import Callable

from hrdd.config import Settings
from hrdd.db import Database
from hrdd.models_registry import metadata as _all_tables  # noqa: F401  (every mapper known)

ContentLoader = Callable[[Database, Settings], list[str]]


def content_loaders() -> list[ContentLoader]:
    """Loaders in dependency order: questionnaires, then companies and evidence, then the
    scoring rules that name questionnaire questions."""
    from hrdd.evidence.service import load_bundled_evidence
    from hrdd.questionnaires.service import load_bundled_questionnaires
    from hrdd.scoring.service import load_bundled_rulesets

    return [load_bundled_questionnaires, load_bundled_evidence, load_bundled_rulesets]


def load_bundled_content(database: Database, settings: Settings) -> list[str]:
    report: list[str] = []
    for loader in content_loaders():
        report.extend(loader(database, settings))
    return report
