"""How a holdings file writes its numbers: with a decimal point (12,345.67) or a decimal comma
(12.345,67), as European custodians and a semicolon-delimited CSV usually do.

A number written with separators may read only one way ("12,5", "0,125", "1.234,56" only with
a decimal comma; "12.5", "1,234,567" only with a decimal point), both ways ("1,234" is 1234
or 1.234), or the same either way (1234). Unless the caller says which separator the file uses,
the numbers that read only one way decide: the convention more of them follow. When none does
(or as many follow each), the file's kind decides: a semicolon-delimited CSV is read with a
decimal comma, anything else with a decimal point. A number that reads only the other way is
then a bad cell, since reading it would mix two conventions in one file; a number that reads
both ways is read by the file's convention. A workbook's number cells are numbers, not text,
and neither decide nor depend on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

POINT, COMMA = ".", ","
_NAMES = {POINT: "a decimal point", COMMA: "a decimal comma"}
# Thousands are grouped by the other mark; a group never starts a number with 0 (so "0,125"
# is no thousand and twenty-five).
# The whole part may be left out before a fraction (".5", ",5").
_WITH_POINT = re.compile(r"^[-+]?(\d+|[1-9]\d{0,2}(,\d{3})+|(?=\.))(\.\d+)?$")
_WITH_COMMA = re.compile(r"^[-+]?(\d+|[1-9]\d{0,2}(\.\d{3})+|(?=,))(,\d+)?$")


def separator_name(separator: str) -> str:
    return _NAMES[separator]


def number_text(cell: str) -> str:
    """A cell's number as it is read: without the spaces or underscores that may group its
    thousands ("1 234 567,89")."""
    return cell.replace(" ", "").replace("_", "")


def readings(text: str) -> dict[str, str]:
    """The ways ``text`` reads as a number, by decimal separator, each as Decimal takes it.
    Empty when it reads neither way with separators (a caller may still try Decimal on it,
    e.g. for 1E+3)."""
    found: dict[str, str] = {}
    if not any(character.isdigit() for character in text):
        return found
    if _WITH_POINT.match(text):
        found[POINT] = text.replace(",", "")
    if _WITH_COMMA.match(text):
        found[COMMA] = text.replace(".", "").replace(",", ".")
    return found


@dataclass(frozen=True)
class Example:
    line: int
    # The cell as written.
    text: str


@dataclass
class Convention:
    """The numbers of a file's columns read, gathered as its rows are read, and the separator
    they decide (``decide``)."""

    given: str | None
    # The separator read when no number decides: the file's kind's.
    default: str
    only: dict[str, list[Example]] = field(default_factory=lambda: {POINT: [], COMMA: []})
    # Numbers that read both ways, as two different numbers ("1,234").
    either: list[Example] = field(default_factory=list)
    # Numbers written as text seen, whichever way they read.
    observed: int = 0

    def observe(self, line: int, cell: str) -> None:
        """A cell of a number column, read as the import reads it (a weight's percent sign
        aside)."""
        ways = readings(number_text(cell.removesuffix("%")))
        self.observed += len(ways) > 0
        if len(ways) == 1:
            (separator,) = ways
            self.only[separator].append(Example(line, cell))
        elif len(set(ways.values())) == 2:
            self.either.append(Example(line, cell))

    def decide(self) -> tuple[str, str]:
        """The separator the file's numbers are read with, and what decided it."""
        if self.given is not None:
            return self.given, "the decimal_separator given with the upload"
        points, commas = len(self.only[POINT]), len(self.only[COMMA])
        if points != commas:
            separator = POINT if points > commas else COMMA
            why = f"{_examples(self.only[separator])} read only with it"
            if self.either:
                # Decided by other numbers, perhaps of another column ("0.5" weights deciding
                # how "12.500" market values read): named, so that a misreading can be seen.
                why += f"; {_examples(self.either)} could be read either way, and are read so"
            return separator, why
        if not self.observed:
            why = "no number in the columns read is written as text"
        elif not points:
            why = "no number in the columns read reads only one way"
        else:
            why = "as many numbers in the columns read read only one way as only the other"
        if self.default == COMMA:
            why += ", and a semicolon-delimited file is read with a decimal comma"
        else:
            why += ", and a file is read with a decimal point unless it says otherwise"
        if self.either:
            # Read by default, they may be what the file's writer meant or a thousand times it.
            why += f"; {_examples(self.either)} could be read either way"
        return self.default, why


def _examples(examples: list[Example]) -> str:
    first = examples[0]
    more = f" and {len(examples) - 1} more" if len(examples) > 1 else ""
    return f"line {first.line}'s {first.text!r}{more}"
