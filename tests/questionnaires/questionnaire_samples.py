"""Small questionnaires written as YAML text, shared by the questionnaire tests."""

from __future__ import annotations

from pathlib import Path

from hrdd.questionnaires.loader import parse_questionnaire
from hrdd.questionnaires.schemas import Questionnaire

BUNDLED_FILE = Path(__file__).resolve().parents[2] / "questionnaires" / "stap-surveillance-v1.yaml"

HEADER = """\
key: mini
version: 1.0.0
title: Mini questionnaire
description: A small questionnaire for tests.
source_basis:
  - {id: guide, publisher: A publisher, title: A guide, date: "2022-03"}
themes:
  - {id: scored_theme, title: Scored, scored: true, description: Scored things.}
  - {id: context, title: Context, scored: false, description: Context only.}
sections:
  - {id: first, title: First, description: The first section.}
  - {id: second, title: Second, description: The second section.}
questions:
"""

EXPORTS = """\
  - id: Q1
    section: first
    theme: context
    text: Does the company export?
    guidance: {note: Choose one.}
    answer_type:
      type: single_choice
      options:
        - {id: "yes", label: "Yes"}
        - {id: "no", label: "No"}
    required: true
    evidence_required: false
    source_basis: [guide]
"""

POLICY = """\
  - id: Q2
    section: first
    theme: scored_theme
    text: Is there an export policy?
    guidance: {full: All of it., partial: Some of it., "no": None of it.}
    answer_type: {type: disclosure}
    required: true
    evidence_required: true
    source_basis: [guide, inferred]
    show_if: {question: Q1, equals: "yes"}
"""

COUNT = """\
  - id: Q3
    section: second
    theme: context
    text: How many deals were declined?
    guidance: {note: Count them.}
    answer_type: {type: number, unit: deals, min: 0, max: 1000, integer: true}
    required: false
    evidence_required: true
    source_basis: [guide]
"""

VALID_MINI = HEADER + EXPORTS + POLICY + COUNT


# The header for questions that all sit in section `first` and unscored theme `context`.
CONTEXT_HEADER = """\
key: mini
version: 1.0.0
title: Mini questionnaire
description: A small questionnaire for tests.
source_basis:
  - {id: guide, publisher: A publisher, title: A guide}
themes:
  - {id: context, title: Context, scored: false, description: Context only.}
sections:
  - {id: first, title: First, description: The first section.}
questions:
"""


def mini(*questions: str, header: str = HEADER) -> str:
    """A questionnaire text made of the header and the given question snippets."""
    return header + "".join(questions)


def question(
    question_id: str,
    answer_type: str,
    *,
    section: str = "first",
    theme: str = "context",
    guidance: str = "{note: Answer it.}",
    required: bool = True,
    evidence_required: bool = False,
    show_if: str | None = None,
    extra: str = "",
) -> str:
    """One question snippet; `answer_type` and `show_if` are YAML flow mappings."""
    lines = [
        f"  - id: {question_id}",
        f"    section: {section}",
        f"    theme: {theme}",
        f"    text: Question {question_id}?",
        f"    guidance: {guidance}",
        f"    answer_type: {answer_type}",
        f"    required: {str(required).lower()}",
        f"    evidence_required: {str(evidence_required).lower()}",
        "    source_basis: [guide]",
    ]
    if show_if is not None:
        lines.append(f"    show_if: {show_if}")
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


def build(*questions: str) -> Questionnaire:
    """A questionnaire of context questions in one section (the defaults of `question`)."""
    return parse_questionnaire(mini(*questions, header=CONTEXT_HEADER), source_name="mini.yaml")
