"""Escaping and right-to-left handling of untrusted text before it reaches reportlab."""

import unicodedata

import pytest
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Paragraph

from hrdd.reports.fonts import BODY_FONT, register_fonts
from hrdd.reports.text import (
    ELLIPSIS,
    escape_for_paragraph,
    fit_plain_text,
    is_web_url,
    link_markup,
)

HOSTILE_TEXTS = [
    '<img src="/etc/passwd"/>',
    '<a href="javascript:alert(1)">x</a>',
    "&amp; &lt;b&gt; &#60;img&#62; &nbsp;",
    '<font name="Courier" size="40">big</font> <b>bold</b> <br/> <para>',
    '<link href="file:///etc/shadow">secret</link> <span color="red">red</span>',
    "unclosed <b and > stray & ampersand",
    "\"quoted\" 'single'",
]
HEBREW = "שלום עולם"
ARABIC = "مرحبا بالعالم"
ARABIC_PRESENTATION_FORMS = range(0xFB50, 0xFEFF)


@pytest.fixture(scope="module")
def style() -> ParagraphStyle:
    register_fonts()
    return ParagraphStyle("test", fontName=BODY_FONT, fontSize=9)


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_markup_in_untrusted_text_is_parsed_as_plain_words(
    text: str, style: ParagraphStyle
) -> None:
    parsed = Paragraph(escape_for_paragraph(text), style)
    assert parsed.getPlainText() == text
    # No image, link or font change came out of the parser: one plain run of text.
    assert all(not getattr(fragment, "link", None) for fragment in parsed.frags)
    assert {fragment.fontName for fragment in parsed.frags} == {BODY_FONT}


def test_control_characters_are_dropped_and_newlines_become_line_breaks(
    style: ParagraphStyle,
) -> None:
    escaped = escape_for_paragraph("first\x00 line\x07\r\nsecond\tline\x1b")
    assert escaped == "first line<br/>second line"
    assert Paragraph(escaped, style).getPlainText() == "first linesecond line"


def test_greek_and_cyrillic_pass_through_unchanged() -> None:
    for name in ("Παράδειγμα Συμμετοχές", "Пример Холдинг"):
        assert escape_for_paragraph(name) == name


def test_hebrew_is_put_in_visual_order() -> None:
    assert escape_for_paragraph(HEBREW) == HEBREW[::-1]


def test_arabic_is_shaped_into_joined_forms_and_reordered() -> None:
    printed = escape_for_paragraph(ARABIC)
    letters = printed.replace(" ", "")
    assert all(ord(character) in ARABIC_PRESENTATION_FORMS for character in letters)
    # Compatibility normalisation maps the joined forms back to the letters, read backwards.
    assert unicodedata.normalize("NFKC", printed)[::-1] == ARABIC


def test_long_right_to_left_text_wraps_in_logical_order_before_reordering() -> None:
    # Letters only: digits keep left-to-right order inside right-to-left text.
    words = [first + second for first in "אבגדה" for second in "וזחטיכלמ"]
    printed_lines = escape_for_paragraph(
        " ".join(words), line_width=120, font_name=BODY_FONT, font_size=9
    ).split("<br/>")
    assert len(printed_lines) > 1
    # Each printed line, read right to left, continues where the previous one stopped.
    logical_lines = [line[::-1].split(" ") for line in printed_lines]
    assert [word for line in logical_lines for word in line] == words
    assert all(stringWidth(line, BODY_FONT, 9) <= 120 for line in printed_lines)


def test_bidi_override_characters_do_not_reach_the_page() -> None:
    printed = escape_for_paragraph("invoice\u202egpj.exe")
    assert "\u202e" not in printed
    assert "invoice" in printed


def test_text_beyond_the_limit_is_cut_with_a_visible_marker() -> None:
    printed = escape_for_paragraph("x" * 50, max_chars=10)
    assert printed.startswith("x" * 10)
    assert "40 more characters not shown" in printed


@pytest.mark.parametrize(
    "url",
    ["https://example.org/report?id=1&page=2", "http://example.org", "HTTPS://EXAMPLE.ORG/a"],
)
def test_web_urls_are_linkable(url: str) -> None:
    assert is_web_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "file:///etc/passwd",
        "data:text/html,<script>alert(1)</script>",
        "/relative/path",
        "https:///no-host",
        "https://exa mple.org",
        "https://example.org/\x00",
        "",
        None,
    ],
)
def test_other_urls_are_not_linkable(url: str | None) -> None:
    assert not is_web_url(url)


def test_link_markup_builds_links_only_for_web_urls(style: ParagraphStyle) -> None:
    linked = Paragraph(link_markup("https://example.org/?a=1&b=2", "Title <b>"), style)
    assert linked.getPlainText() == "Title <b>"
    targets = {target for fragment in linked.frags for _, target in fragment.link}
    assert targets == {"https://example.org/?a=1&b=2"}

    refused = Paragraph(link_markup("javascript:alert(1)", "Click"), style)
    assert refused.getPlainText() == "Click"
    assert all(not getattr(fragment, "link", None) for fragment in refused.frags)


def test_plain_cell_text_is_shortened_to_fit_its_width() -> None:
    register_fonts()
    long_word = "W" * 3_000
    fitted = fit_plain_text(long_word, BODY_FONT, 7, 100)
    assert fitted.endswith(ELLIPSIS)
    assert fitted.startswith("WWW")
    assert stringWidth(fitted, BODY_FONT, 7) <= 100
    assert fit_plain_text("Short name", BODY_FONT, 7, 100) == "Short name"
    assert fit_plain_text("two\nlines\x00", BODY_FONT, 7, 100) == "two lines"
