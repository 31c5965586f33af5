"""The one way a .docx run or style gets its font, for the letters (letters/render.py) and the
annual report (reporting/render/word.py): python-docx's ``font.name`` sets the Latin fonts
(w:ascii, w:hAnsi) only, and Chinese text takes w:eastAsia."""

from __future__ import annotations

from docx.oxml.ns import qn


def set_font(target, name: str) -> None:
    """Set a run's or a style's font for Latin, East Asian and complex-script text alike. Theme font
    attributes would override the names, so they go."""
    target.font.name = name
    rfonts = target._element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)
    rfonts.set(qn("w:eastAsia"), name)
    rfonts.set(qn("w:cs"), name)
