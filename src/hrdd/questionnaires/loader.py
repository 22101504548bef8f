"""Loading questionnaire files (and uploads) strictly, reporting every problem at once.

    questionnaire = load_questionnaire_file(Path("questionnaires/stap-surveillance-v1.yaml"))
    questionnaire = parse_questionnaire(uploaded_text, source_name="upload")
    questionnaires = load_questionnaire_dir(Path("questionnaires"))

Any problem raises one `QuestionnaireError` whose `problems` list every problem found, each
with the source name, the YAML line where known, the question id (when it is inside a
question) and the field path (relative to that question, else from the document root).

The YAML dialect is safe YAML with three tightenings: a key repeated in one mapping is an
error (plain YAML keeps the last one silently), anchors and aliases are refused, and only
true/false are booleans, so option ids such as `yes`, `no`, `on` stay strings as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from hrdd.errors import plain_error_message
from hrdd.questionnaires.consistency import find_consistency_problems, format_path
from hrdd.questionnaires.schemas import (
    SKIP_CONSISTENCY_CONTEXT,
    Questionnaire,
    semver_sort_key,
)
from hrdd.yaml_text import CalendarSafeLoader, refused_character

QUESTIONNAIRE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class QuestionnaireProblem:
    """One problem. `path` is relative to the question when `question_id` is set, else from
    the document root; `location` is always from the root (`questions[12].show_if.question`),
    which tells two questions with the same id apart."""

    source: str
    question_id: str | None
    path: str
    message: str
    line: int | None = None
    location: str = ""

    def __str__(self) -> str:
        if self.line is not None:
            where = f"{self.source}:{self.line}"
        elif self.location:
            where = f"{self.source} at {self.location}"
        else:
            where = self.source
        parts = [where]
        if self.question_id is not None:
            parts.append(f"question {self.question_id}")
        if self.path:
            parts.append(self.path)
        return ": ".join(parts) + f": {self.message}"


class QuestionnaireError(ValueError):
    """A questionnaire was refused; `problems` lists every reason."""

    def __init__(self, problems: Iterable[QuestionnaireProblem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        heading = f"{count} problem{'s' if count != 1 else ''} in questionnaire"
        super().__init__("\n".join([heading, *(f"  {problem}" for problem in self.problems)]))


class StrictYamlLoader(CalendarSafeLoader):
    """Safe YAML that refuses duplicate keys and aliases and reads only true/false as
    booleans."""

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | float | bool):
                    continue  # unhashable keys are refused by the base constructor
                if key in seen:
                    raise ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"found duplicate key '{key}'",
                        key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        # Aliases let a few lines expand into a huge document (the "billion laughs"); a
        # questionnaire never needs them.
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ComposerError(None, None, "anchors and aliases are not allowed", event.start_mark)
        return super().compose_node(parent, index)


StrictYamlLoader.yaml_implicit_resolvers = {
    first_character: [
        (tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:bool"
    ]
    for first_character, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _read_yaml(text: str, source_name: str) -> tuple[Any, Node | None]:
    try:
        loader = StrictYamlLoader(text)  # refuses control characters at once
    except yaml.reader.ReaderError as exc:
        message, line = refused_character(text, exc)
        raise QuestionnaireError(
            [QuestionnaireProblem(source_name, None, "", message, line=line)]
        ) from exc
    try:
        node = loader.get_single_node()
        document = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(part for part in (exc.context, exc.problem) if part)
        raise QuestionnaireError(
            [
                QuestionnaireProblem(
                    source=source_name,
                    question_id=None,
                    path="",
                    message=f"YAML syntax error: {message}"
                    + (f" (column {mark.column + 1})" if mark is not None else ""),
                    line=mark.line + 1 if mark is not None else None,
                )
            ]
        ) from exc
    except yaml.YAMLError as exc:
        raise QuestionnaireError(
            [QuestionnaireProblem(source_name, None, "", f"YAML error: {exc}")]
        ) from exc
    finally:
        loader.dispose()
    return document, node


def _line_of(root: Node | None, path: Iterable[str | int]) -> int | None:
    """1-based line of the deepest node of `path` present in the YAML tree."""
    if root is None:
        return None
    node = root
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(node, MappingNode):
            match = next(
                (
                    (key, value)
                    for key, value in node.value
                    if isinstance(key, ScalarNode) and key.value == str(part)
                ),
                None,
            )
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _document_path(
    document: Any, loc: Iterable[str | int], missing_field: bool
) -> tuple[str | int, ...]:
    """Turn a pydantic error location into a path of the document.

    Pydantic puts the tag of a union member into the location (`answer_type.single_choice.
    options`); walking the document tells those apart from real keys. A last element absent
    from the document is kept only when it names a missing field.
    """
    path: list[str | int] = []
    node = document
    parts = list(loc)
    for index, part in enumerate(parts):
        in_mapping = isinstance(node, Mapping) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_mapping or in_list:
            path.append(part)
            node = node[part]
        elif isinstance(node, Mapping) and missing_field and index == len(parts) - 1:
            path.append(part)
        # Anything else is a union tag, or a step below a value of the wrong shape.
    return tuple(path)


def _problem(
    source_name: str,
    document: Mapping[str, Any],
    root: Node | None,
    path: tuple[str | int, ...],
    message: str,
) -> QuestionnaireProblem:
    line = _line_of(root, path)
    questions = document.get("questions")
    if (
        len(path) >= 2
        and path[0] == "questions"
        and isinstance(path[1], int)
        and isinstance(questions, list)
        and path[1] < len(questions)
        and isinstance(questions[path[1]], Mapping)
        and isinstance(questions[path[1]].get("id"), str)
    ):
        return QuestionnaireProblem(
            source_name,
            questions[path[1]]["id"],
            format_path(path[2:]),
            message,
            line,
            format_path(path),
        )
    return QuestionnaireProblem(
        source_name, None, format_path(path), message, line, format_path(path)
    )


def parse_questionnaire(
    data: Mapping[str, Any] | str, source_name: str = "<questionnaire>"
) -> Questionnaire:
    """Validate a questionnaire given as YAML (or JSON) text or as already-parsed data.

    `source_name` names it in problems (a file name, "upload", ...). Raises
    `QuestionnaireError` listing all problems: YAML syntax (with its line), unknown or missing
    fields and bad values, duplicate ids (themes, sections, sources, questions, options),
    unknown themes, sections or sources, conditions that refer to an unknown, the same or a
    later question or whose operand does not fit that question, a version that is not semver,
    and the rest of the rules in `schemas` and `consistency`.
    """
    root: Node | None = None
    if isinstance(data, str):
        document, root = _read_yaml(data, source_name)
    else:
        document = data
    if not isinstance(document, Mapping):
        raise QuestionnaireError(
            [
                QuestionnaireProblem(
                    source_name,
                    None,
                    "",
                    "the questionnaire must be a mapping with key, version, title, description, "
                    "source_basis, themes, sections and questions",
                    _line_of(root, ()),
                )
            ]
        )
    problems = [
        _problem(source_name, document, root, problem.path, problem.message)
        for problem in find_consistency_problems(document)
    ]
    questionnaire: Questionnaire | None = None
    try:
        questionnaire = Questionnaire.model_validate(
            document, context={SKIP_CONSISTENCY_CONTEXT: True}
        )
    except ValidationError as exc:
        problems.extend(
            _problem(
                source_name,
                document,
                root,
                _document_path(document, error["loc"], error["type"] == "missing"),
                plain_error_message(error),
            )
            for error in exc.errors(include_url=False)
        )
    if problems or questionnaire is None:
        problems.sort(key=lambda problem: problem.line if problem.line is not None else 0)
        raise QuestionnaireError(problems)
    return questionnaire


def load_questionnaire_file(path: Path | str) -> Questionnaire:
    """Read and validate one questionnaire file (UTF-8 YAML); problems name the file."""
    path = Path(path)
    source_name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionnaireError(
            [QuestionnaireProblem(source_name, None, "", f"cannot read the file: {exc}")]
        ) from exc
    return parse_questionnaire(text, source_name=source_name)


def load_questionnaire_dir(path: Path | str) -> list[Questionnaire]:
    """Load every *.yaml / *.yml file of a folder (not recursive), sorted by key and version.

    All files are checked before anything is returned: one `QuestionnaireError` gathers the
    problems of every bad file, and two files with the same key and version are an error.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise QuestionnaireError(
            [QuestionnaireProblem(str(folder), None, "", "not a folder of questionnaire files")]
        )
    problems: list[QuestionnaireProblem] = []
    loaded: dict[tuple[str, str], tuple[Questionnaire, str]] = {}
    for file in sorted(folder.iterdir()):
        if not file.is_file() or file.suffix.lower() not in QUESTIONNAIRE_SUFFIXES:
            continue
        try:
            questionnaire = load_questionnaire_file(file)
        except QuestionnaireError as exc:
            problems.extend(exc.problems)
            continue
        identity = (questionnaire.key, questionnaire.version)
        if identity in loaded:
            problems.append(
                QuestionnaireProblem(
                    str(file),
                    None,
                    "version",
                    f"{questionnaire.key} {questionnaire.version} is also defined in "
                    f"{loaded[identity][1]}",
                )
            )
            continue
        loaded[identity] = (questionnaire, str(file))
    if problems:
        raise QuestionnaireError(problems)
    return sorted(
        (questionnaire for questionnaire, _ in loaded.values()),
        key=lambda q: (q.key, semver_sort_key(q.version)),
    )
