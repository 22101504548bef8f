"""Turning untrusted text into something reportlab prints literally.

Every company name, answer, evidence title and URL in a report comes from users or from outside
sources. reportlab's Paragraph parses a mini markup language (`<img src=...>` reads local files,
`<a href=...>` makes live links), so such text must be escaped before it reaches a Paragraph.
Right-to-left scripts need two more steps reportlab does not do without optional extras: Arabic
letters are reshaped into their joined forms (arabic-reshaper), then each line is put into
visual order (python-bidi), because the PDF draws glyphs strictly left to right.
"""

import re
import unicodedata
from urllib.parse import urlsplit

import arabic_reshaper
from bidi import get_base_level, get_display
from reportlab.pdfbase.pdfmetrics import stringWidth

from hrdd.reports.fonts import register_fonts

ELLIPSIS = "…"

# C0/C1 control characters (except tab and line feed, handled separately), lone surrogates
# and the two non-characters that some PDF viewers choke on.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Explicit direction marks and embeddings: they steer the bidi algorithm, then must go, since
# the font has no glyph for them.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan, Mandaic, the Arabic and Hebrew presentation
# forms, and the controls that force right-to-left order.
_RIGHT_TO_LEFT = re.compile(
    "[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff\u200f\u202b\u202e\u2067\u061c]"
)
_PARAGRAPH_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_OMITTED_MARKER = " [… {count} more characters not shown]"
_WEB_SCHEMES = frozenset({"http", "https"})


def clean_text(text: str, *, keep_newlines: bool = True) -> str:
    """Drop characters that have no business in a printed report (NUL, other controls)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _UNPRINTABLE.sub("", text)
    if not keep_newlines:
        text = " ".join(text.split("\n"))
    return text


def contains_right_to_left(text: str) -> bool:
    return _RIGHT_TO_LEFT.search(text) is not None


def _shape(line: str) -> str:
    return arabic_reshaper.reshape(line)


def _visual_line(shaped_line: str, base_direction: str | None = None) -> str:
    return _BIDI_CONTROLS.sub("", get_display(shaped_line, base_dir=base_direction))


def to_visual_order(line: str) -> str:
    """Shape and reorder one line of text for drawing left to right; other scripts untouched."""
    if line.isascii() or not contains_right_to_left(line):
        return _BIDI_CONTROLS.sub("", line)
    return _visual_line(_shape(line))


def _wrap_logical(
    shaped_line: str, font_name: str, font_size: float, line_width: float
) -> list[str]:
    """Greedy word wrap in logical order, so that reordering happens per printed line."""
    register_fonts()  # widths are measured in the bundled fonts
    lines: list[str] = []
    current = ""
    for word in shaped_line.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and stringWidth(candidate, font_name, font_size) > line_width:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    return lines


def _limit_length(text: str, max_chars: int | None) -> str:
    if max_chars is None or len(text) <= max_chars:
        return text
    return text[:max_chars] + _OMITTED_MARKER.format(count=len(text) - max_chars)


def escape_for_paragraph(
    text: str,
    *,
    line_width: float | None = None,
    font_name: str | None = None,
    font_size: float = 9.0,
    max_chars: int | None = 20_000,
) -> str:
    """Paragraph markup that prints `text` exactly as written, nothing interpreted.

    Right-to-left lines are shaped and put in visual order first (escaping afterwards, so the
    reordering never splits an entity). Reordering a whole line before reportlab wraps it would
    print the lines of a long right-to-left paragraph bottom-up; when the caller gives the
    printed line width and font, such lines are wrapped here in logical order and each printed
    line is reordered on its own. Text longer than `max_chars` is cut with a visible marker.
    """
    text = _limit_length(clean_text(text), max_chars)
    printed_lines: list[str] = []
    for line in text.split("\n"):
        if line.isascii() or not contains_right_to_left(line):
            printed_lines.append(_BIDI_CONTROLS.sub("", line))
            continue
        shaped = _shape(line)
        if line_width is None or font_name is None:
            printed_lines.append(_visual_line(shaped))
            continue
        base_direction = "R" if get_base_level(shaped) == 1 else "L"
        printed_lines.extend(
            _visual_line(part, base_direction)
            for part in _wrap_logical(shaped, font_name, font_size, line_width)
        )
    return "<br/>".join(line.translate(_PARAGRAPH_ESCAPES) for line in printed_lines)


def fit_plain_text(text: str, font_name: str, font_size: float, width: float) -> str:
    """One printable line for a plain-string table cell or a canvas drawString call.

    Plain strings are drawn as they are (no markup parsing), so they need no escaping; they do
    need cleaning, visual order, and shortening with an ellipsis to stay inside their cell.
    """
    register_fonts()  # widths are measured in the bundled fonts
    line = to_visual_order(clean_text(text, keep_newlines=False))
    if stringWidth(line, font_name, font_size) <= width:
        return line
    kept = _longest_fitting_prefix(line, font_name, font_size, width, ELLIPSIS)
    return line[:kept].rstrip() + ELLIPSIS


def _longest_fitting_prefix(
    text: str, font_name: str, font_size: float, width: float, suffix: str = ""
) -> int:
    """How many leading characters of `text`, followed by `suffix`, fit in `width`."""
    # Binary search on the number of characters kept: a few stringWidth calls per long cell.
    shortest, longest = 0, len(text)
    while shortest < longest:
        middle = (shortest + longest + 1) // 2
        if stringWidth(text[:middle] + suffix, font_name, font_size) <= width:
            shortest = middle
        else:
            longest = middle - 1
    return shortest


def wrap_plain_text(
    text: str, font_name: str, font_size: float, width: float, *, max_lines: int
) -> list[str]:
    """Printable lines for a plain-string table cell: words wrapped to `width` (a word wider
    than that is broken), each line in visual order, at most `max_lines` of them.

    Text that needs more lines ends its last line with an ellipsis: a cell cannot outgrow a
    page. Wrapping happens in logical order, so right-to-left text reads top to bottom.
    """
    register_fonts()  # widths are measured in the bundled fonts
    line = clean_text(text, keep_newlines=False)
    right_to_left = not line.isascii() and contains_right_to_left(line)
    if right_to_left:
        line = _shape(line)

    def fits(candidate: str) -> bool:
        return stringWidth(candidate, font_name, font_size) <= width

    lines: list[str] = []
    current = ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if fits(candidate):
            current = candidate
            continue
        if current:
            lines.append(current)
        while not fits(word):
            cut = max(_longest_fitting_prefix(word, font_name, font_size, width), 1)
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    lines.append(current)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        kept = _longest_fitting_prefix(last, font_name, font_size, width, ELLIPSIS)
        lines = [*lines[: max_lines - 1], last[:kept].rstrip() + ELLIPSIS]
    if not right_to_left:
        return [_BIDI_CONTROLS.sub("", part) for part in lines]
    base_direction = "R" if get_base_level(line) == 1 else "L"
    return [_visual_line(part, base_direction) for part in lines]


def is_web_url(url: str | None) -> bool:
    """True for absolute http(s) URLs only: no javascript:, file:, data: or relative links."""
    if not url or url != url.strip() or any(character.isspace() for character in url):
        return False
    if _UNPRINTABLE.search(url) or any(unicodedata.category(c) == "Cf" for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in _WEB_SCHEMES and bool(parts.hostname)


def link_markup(url: str | None, label: str) -> str:
    """A clickable link built by us for a web URL; anything else prints as plain text.

    The label is escaped like any other text, and the href is the escaped URL, never markup
    taken from the input.
    """
    printed_label = escape_for_paragraph(label)
    if url is None or not is_web_url(url):
        return printed_label
    href = url.translate(_PARAGRAPH_ESCAPES)
    return f'<a href="{href}" color="#1a4f8b"><u>{printed_label}</u></a>'


def url_markup(url: str | None) -> str:
    """The URL itself as printed text, clickable when it is a web URL."""
    if not url:
        return ""
    return link_markup(url, url)
