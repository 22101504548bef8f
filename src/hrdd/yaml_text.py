"""What the YAML readers (questionnaires, evidence files) say about text YAML will not read."""

from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import ScalarNode
from yaml.reader import ReaderError


def refused_character(text: str, error: ReaderError) -> tuple[str, int]:
    """A message naming the character YAML refuses (a control character, say) and where it
    is, and its line (1-based)."""
    line_start = text.rfind("\n", 0, error.position) + 1
    line = text.count("\n", 0, error.position) + 1
    column = error.position - line_start + 1
    return (  # text given as str: PyYAML names the character by its code point
        f"the file contains U+{error.character:04X}, a character YAML does not allow "
        f"(line {line}, column {column})",
        line,
    )


class CalendarSafeLoader(yaml.SafeLoader):
    """Safe YAML whose unquoted dates that are no day of the calendar (2021-02-30, 2021-13-01)
    are a YAML error at their line and column. PyYAML raises a bare ValueError for them, which
    the readers' YAML error handling does not catch: an uploaded questionnaire with one was a
    500."""

    def construct_yaml_timestamp(self, node: ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as error:
            raise ConstructorError(
                None, None, f"'{node.value}' is not a valid date: {error}", node.start_mark
            ) from None


CalendarSafeLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", CalendarSafeLoader.construct_yaml_timestamp
)
