"""What the YAML readers (questionnaires, evidence files) say about text YAML will not read."""

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
