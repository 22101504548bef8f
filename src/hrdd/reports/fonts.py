"""The Unicode fonts the reports print with.

DejaVu Sans ships inside the package (licence in fonts/LICENSE-DejaVu.txt) so that names in
Greek, Cyrillic, Hebrew or Arabic script print as letters on any machine, not as black boxes.
"""

from importlib import resources
from threading import Lock

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

BODY_FONT = "HrddSans"
BOLD_FONT = "HrddSans-Bold"
ITALIC_FONT = "HrddSans-Oblique"

_FONT_FILES = {
    BODY_FONT: "DejaVuSans.ttf",
    BOLD_FONT: "DejaVuSans-Bold.ttf",
    ITALIC_FONT: "DejaVuSans-Oblique.ttf",
}

_registration_lock = Lock()
_registered = False


def register_fonts() -> None:
    """Register the bundled fonts with reportlab; later calls do nothing."""
    global _registered
    if _registered:
        return
    with _registration_lock:
        if _registered:
            return
        font_folder = resources.files("hrdd.reports").joinpath("fonts")
        for font_name, file_name in _FONT_FILES.items():
            with resources.as_file(font_folder.joinpath(file_name)) as font_path:
                # TTFont reads the whole file at construction, so the temporary path (for zipped
                # installs) may disappear afterwards.
                pdfmetrics.registerFont(TTFont(font_name, str(font_path)))
        # <b> and <i> inside a Paragraph pick the bold and oblique faces; DejaVu Sans Bold
        # Oblique is not shipped, so bold italic falls back to bold.
        addMapping(BODY_FONT, 0, 0, BODY_FONT)
        addMapping(BODY_FONT, 1, 0, BOLD_FONT)
        addMapping(BODY_FONT, 0, 1, ITALIC_FONT)
        addMapping(BODY_FONT, 1, 1, BOLD_FONT)
        _registered = True
