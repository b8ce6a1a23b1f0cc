"""The layout estimates' copies of stylesheet numbers match the stylesheets.

The cheat sheet's code estimate and the flashcards' shrink-to-fit estimate run
before WeasyPrint lays anything out, so they carry the lengths they need from
``css/cheatsheet.css`` and ``css/flashcards.css``. Each test reads a value from
the stylesheet itself and compares it with the renderer's copy: an edited
stylesheet fails here, not as a card that overflows on paper.
"""

from __future__ import annotations

import pytest
import tinycss2
from factories import TEMPLATES

from generator.render import cheatsheet, flashcards
from generator.render.pdf import PT_PER_MM


def rules(stylesheet: str) -> dict[str, dict[str, list]]:
    """Return each rule's declarations by selector (``@page`` included): property -> value tokens."""
    found: dict[str, dict[str, list]] = {}
    text = (TEMPLATES / "css" / stylesheet).read_text(encoding="utf-8")
    for rule in tinycss2.parse_stylesheet(text, True, True):
        if rule.type == "at-rule" and rule.lower_at_keyword == "page":
            selector = "@page"
        elif rule.type == "qualified-rule":
            selector = " ".join(tinycss2.serialize(rule.prelude).split())
        else:
            continue
        if rule.content is None:
            continue
        for declaration in tinycss2.parse_blocks_contents(rule.content, True, True):
            if declaration.type == "declaration":
                values = [t for t in declaration.value if t.type not in ("whitespace", "comment")]
                for name in selector.split(", "):
                    found.setdefault(name, {})[declaration.lower_name] = values
    return found


def mm(token, em_pt: float | None = None) -> float:
    """Return a CSS length in millimetres (``em`` needs the font size in pt)."""
    unit = token.lower_unit
    if unit == "mm":
        return token.value
    if unit == "pt":
        return token.value / PT_PER_MM
    if unit == "em" and em_pt is not None:
        return token.value * em_pt / PT_PER_MM
    raise AssertionError(f"unexpected unit {unit!r}")


def number(token) -> float:
    return float(token.value)


SHEET = rules("cheatsheet.css")
CARDS = rules("flashcards.css")


def test_the_cheat_sheet_estimate_has_the_sheets_geometry():
    assert tuple(mm(t) for t in SHEET["@page"]["margin"]) == cheatsheet._MARGINS_MM
    assert SHEET[".sheet"]["column-count"][0].value == cheatsheet._COLUMNS
    assert mm(SHEET[".sheet"]["column-gap"][0]) == cheatsheet._GAP_MM
    padding = mm(SHEET[".question"]["padding-left"][0])
    border = mm(next(t for t in SHEET[".question"]["border-left"] if t.type == "dimension"))
    assert pytest.approx(padding + border) == cheatsheet._INDENT_MM


def test_the_cheat_sheet_estimate_has_the_sheets_type_sizes_and_gaps():
    body = SHEET["html"]
    assert body["font-size"][0].value == cheatsheet._BODY_PT and body["font-size"][0].lower_unit == "pt"
    assert number(body["line-height"][0]) == cheatsheet._LINE
    heading = SHEET[".question h3"]
    assert heading["font-size"][0].value == cheatsheet._HEADING_PT
    assert number(heading["line-height"][0]) == cheatsheet._LINE
    size, slash, line = SHEET[".code pre"]["font"][:3]
    assert (size.value, slash.value, number(line)) == (cheatsheet._CODE_PT, "/", cheatsheet._LINE)

    band = SHEET[".band"]
    band_pt = band["font-size"][0].value
    band_mm = band_pt * number(band["line-height"][0]) / PT_PER_MM
    band_mm += 2 * mm(band["padding"][0]) + mm(band["margin"][2])
    assert pytest.approx(band_mm, abs=0.01) == cheatsheet._BAND_MM

    gaps = (
        mm(SHEET[".question"]["margin"][2]),
        mm(SHEET[".question h3"]["margin"][2]),
        mm(SHEET[".summary"]["margin"][2]),
    )
    assert pytest.approx(sum(gaps)) == cheatsheet._QUESTION_GAP_MM
    assert mm(SHEET[".points"]["margin"][0]) == cheatsheet._GROUP_GAP_MM

    code = SHEET[".code"]
    vertical, horizontal = (mm(t) for t in code["padding"])
    assert horizontal == cheatsheet._CODE_SIDE_MM
    assert pytest.approx(mm(code["margin"][0]) + 2 * vertical) == cheatsheet._CODE_PAD_MM


def test_the_flashcard_estimate_has_the_cards_geometry():
    fit = CARDS[".fit"]
    assert flashcards.PADDING_MM == mm(fit["left"][0]) == mm(fit["right"][0])
    foot = CARDS[".foot"]
    assert flashcards.PADDING_MM == mm(foot["left"][0]) == mm(foot["bottom"][0])
    assert flashcards._LINE_HEIGHT["front"] == number(fit["line-height"][0])
    assert flashcards._LINE_HEIGHT["back"] == number(CARDS[".back .fit"]["line-height"][0])
    for side in ("front", "back"):
        rule = CARDS[f".{side} .fit"]
        chrome = mm(rule["top"][0]) + mm(rule["bottom"][0]) - 2 * flashcards.PADDING_MM
        assert flashcards._CHROME_MM[side] == pytest.approx(chrome), side
    for selector in (".points", ".summary"):
        gap = CARDS[selector]["margin"][2]
        assert (gap.value, gap.lower_unit) == (flashcards._GROUP_GAP_EM, "em"), selector
