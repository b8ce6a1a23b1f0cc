"""The faces the PDFs are set in: which files they are, how wide their characters are, what they lack.

The PDF stylesheets load prepdeck's own font files (``css/fonts/``) through the
``@font-face`` rules of ``css/fonts.css``, so a sheet looks, measures and is
byte for byte the same on every machine, whatever fonts it has installed. The
layout estimates (a flashcard side's type size, whether the cheat sheet has room
for code) need character widths before WeasyPrint lays anything out: they read
them from the same files with fontTools, through the same family stacks the
stylesheets name, so a theme that replaces a face is measured as it prints.

A character that none of the faces has falls back to the system's fonts. One
that no font at all can draw prints as an empty box; :func:`missing_glyphs` finds
each in the laid-out document and names the question it belongs to.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import tinycss2
from fontTools.ttLib import TTFont

from generator.errors import Problem, Severity
from generator.load import display_path
from generator.model import Bank, Location

log = logging.getLogger(__name__)

#: The stylesheet whose ``@font-face`` rules name the font files, relative to the templates.
FONTS_CSS = "css/fonts.css"
#: The ``font-family`` of text in the PDF stylesheets, first choice first.
TEXT_STACK = ("Prepdeck Sans", "Prepdeck Symbols", "Prepdeck Mono")
#: The ``font-family`` of code in the PDF stylesheets.
CODE_STACK = ("Prepdeck Mono", "Prepdeck Symbols")
#: The width of a character no face of the stack has (a system font draws it): a
#: full-width glyph, as a CJK one is, so the estimate errs towards more lines.
FALLBACK_EM = 1.0
#: What the templates put before each key point.
BULLET = "▪"

_SPANS = re.compile(r"`([^`]*)`|\*\*(.+?)\*\*")
_WEIGHTS = {"normal": 400, "bold": 700}


@dataclass(frozen=True, slots=True)
class Face:
    """One ``@font-face`` rule: a family's file at one weight and style."""

    family: str
    bold: bool
    italic: bool
    path: Path


def faces(templates: Path) -> tuple[Face, ...]:
    """Return the ``@font-face`` rules of ``css/fonts.css`` under ``templates``, in order."""
    stylesheet = Path(templates) / FONTS_CSS
    rules = tinycss2.parse_stylesheet(stylesheet.read_text(encoding="utf-8"), True, True)
    found = []
    for rule in rules:
        if rule.type != "at-rule" or rule.lower_at_keyword != "font-face" or rule.content is None:
            continue
        values: dict[str, list] = {}
        for declaration in tinycss2.parse_blocks_contents(rule.content, True, True):
            if declaration.type == "declaration":
                values[declaration.lower_name] = [
                    token for token in declaration.value if token.type not in ("whitespace", "comment")
                ]
        family = values["font-family"][0].value
        url = next(token for token in values["src"] if token.type in ("url", "function"))
        url = url.value if url.type == "url" else url.arguments[0].value
        weight = values.get("font-weight", [None])[0]
        weight = _WEIGHTS.get(getattr(weight, "lower_value", None), getattr(weight, "int_value", 400))
        style = getattr(values.get("font-style", [None])[0], "lower_value", "normal")
        found.append(Face(family, weight >= 600, style != "normal", stylesheet.parent / url))
    return tuple(found)


class Metrics:
    """Advance widths, in em, of characters as the PDF stylesheets' stacks set them.

    A character takes the width it has in the first face of the stack that has
    it (the family's bold face for bold text, when it has one), as Pango picks
    it; one that no face has counts as ``FALLBACK_EM``.
    """

    def __init__(self, faces: tuple[Face, ...]):
        self._faces = faces
        self._fonts: dict[Path, tuple[dict[int, str], dict[str, tuple[int, int]], int]] = {}
        self._widths: dict[tuple[str, bool, bool], float] = {}
        self.space = self.advance(" ")
        self.bullet = self.advance(BULLET)
        self.mono = self.advance("0", code=True)

    def _font(self, path: Path) -> tuple[dict[int, str], dict[str, tuple[int, int]], int]:
        if path not in self._fonts:
            font = TTFont(path, lazy=True)
            self._fonts[path] = (font.getBestCmap(), font["hmtx"].metrics, font["head"].unitsPerEm)
        return self._fonts[path]

    def _stack(self, bold: bool, code: bool) -> list[Face]:
        stack = []
        for family in CODE_STACK if code else TEXT_STACK:
            of_family = [f for f in self._faces if f.family == family and not f.italic]
            chosen = [f for f in of_family if f.bold == bold] or [f for f in of_family if not f.bold]
            stack += chosen[:1]
        return stack

    def advance(self, char: str, bold: bool = False, code: bool = False) -> float:
        """Return the advance width of ``char`` in em."""
        key = (char, bold, code)
        width = self._widths.get(key)
        if width is None:
            width = FALLBACK_EM
            for face in self._stack(bold, code):
                cmap, advances, units = self._font(face.path)
                glyph = cmap.get(ord(char))
                if glyph is not None:
                    width = advances[glyph][0] / units
                    break
            self._widths[key] = width
        return width

    def word_widths(self, markdown: str, bold: bool = False) -> list[float]:
        """Return the widths in em of the words of one line of inline Markdown.

        ``**strong**`` counts as bold and ```code``` as monospace (its spaces do
        not break, which errs towards more lines).
        """
        styled: list[tuple[str, bool | None]] = []  # (text, bold); None for code
        position = 0
        for match in _SPANS.finditer(markdown):
            styled.append((markdown[position : match.start()], bold))
            styled.append((match.group(1), None) if match.group(1) is not None else (match.group(2), True))
            position = match.end()
        styled.append((markdown[position:], bold))
        words, current = [], 0.0
        for text, weight in styled:
            for char in text:
                if char == " " and weight is not None:
                    if current:
                        words.append(current)
                    current = 0.0
                elif weight is None:
                    current += self.advance(char, code=True)
                else:
                    current += self.advance(char, bold=weight)
        if current:
            words.append(current)
        return words

    def key_point_words(self, title: str, items: tuple[str, ...]) -> list[float]:
        """Return the word widths of a key-point group set as one paragraph.

        The templates print the group's title in bold capitals, then each item
        after a bullet and a space.
        """
        words = self.word_widths(title.upper(), bold=True)
        for item in items:
            words += [self.bullet, *self.word_widths(item)]
        return words

    def wrapped_lines(self, words: list[float], width: float) -> int:
        """Return how many lines ``width`` em wide the words fill when wrapped greedily.

        Breaks fall only at spaces, while WeasyPrint also breaks after hyphens and
        slashes, so this errs towards more lines. A word wider than the line is
        broken anywhere, as ``overflow-wrap: break-word`` does.
        """
        lines, line = 1, 0.0
        for word in words:
            if line and line + self.space + word <= width:
                line += self.space + word
                continue
            if line:
                lines += 1
            if word > width:
                lines += math.ceil(word / width) - 1
                word %= width
            line = word
        return lines


def metrics(templates: Path) -> Metrics:
    """Return the metrics of the faces under ``templates``, read once per process and set of files.

    A templates folder of its own (``--templates``) without ``css/fonts.css`` is
    measured with the built-in faces: its estimates are then approximate, and the
    layout that follows corrects them.
    """
    stylesheet = Path(templates) / FONTS_CSS
    if not stylesheet.is_file():
        from generator.theme import builtin_templates

        stylesheet = builtin_templates() / FONTS_CSS
    found = _faces(stylesheet, _stamp(stylesheet))
    return _metrics(found, tuple(_stamp(face.path) for face in found))


def _stamp(path: Path) -> tuple[int, int]:
    """Return what tells a changed file (a theme's, or an edited one) from the one read before."""
    info = path.stat()
    return info.st_mtime_ns, info.st_size


@functools.lru_cache(maxsize=8)
def _faces(stylesheet: Path, stamp: tuple[int, int]) -> tuple[Face, ...]:
    return faces(stylesheet.parent.parent)


@functools.lru_cache(maxsize=8)
def _metrics(found: tuple[Face, ...], stamps: tuple[tuple[int, int], ...]) -> Metrics:
    return Metrics(found)


# -- characters no font can draw ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MissingGlyphs(Problem):
    """A warning that some characters of a question (or of the bank's own text) print as empty boxes."""

    question: str = ""  # the question's id; "" for the bank's title and category titles
    chars: str = ""  # the characters, each once, in code point order


def missing_glyphs(document, bank: Bank) -> list[MissingGlyphs]:
    """Return one warning per question whose text in ``document`` has characters no font can draw.

    Pango gives such a character an "unknown" glyph, which WeasyPrint prints as
    an empty box (and logs once per character, naming neither the question nor
    the file). A text box belongs to the question of its nearest ancestor that
    names one: the cheat sheet's ``id="q-…"`` article, a flashcard side's
    ``data-fit``; any other text is the bank's own (its title, a category's).
    """
    text_box, _, _ = _weasyprint()
    found: dict[str, set[str]] = {}
    for page in document.pages:
        for owner, box in _text_boxes(page._page_box, "", text_box):
            chars = _undrawn(box)
            if chars:
                found.setdefault(owner, set()).update(chars)
    questions = {q.id: q for q in bank.questions}
    bank_file = Location(display_path(bank.root / "bank.yaml"), 1)
    by_question: dict[str, set[str]] = {}
    for owner, chars in found.items():
        by_question.setdefault(owner if owner in questions else "", set()).update(chars)
    warnings = []
    for owner in sorted(by_question, key=lambda o: questions[o].number if o else 0):
        chars = "".join(sorted(by_question[owner]))
        where = questions[owner].location if owner else bank_file
        warnings.append(MissingGlyphs(_message(owner, chars), where, Severity.WARNING, owner, chars))
    return warnings


def merge_missing(warnings: list[Problem]) -> list[Problem]:
    """Return ``warnings`` with every question's missing characters in one warning, where its first was.

    Each PDF reports what it lacks; a question in several outputs (the whole
    bank's and a subset's, the cheat sheet and the flashcards) is named once.
    """
    merged: dict[tuple, MissingGlyphs] = {}
    for warning in warnings:
        if isinstance(warning, MissingGlyphs):
            key = (warning.location, warning.question)
            chars = set(warning.chars) | set(merged[key].chars if key in merged else "")
            merged[key] = _missing(warning, "".join(sorted(chars)))
    result: list[Problem] = []
    for warning in warnings:
        if isinstance(warning, MissingGlyphs):
            key = (warning.location, warning.question)
            if key not in merged:
                continue
            warning = merged.pop(key)
        result.append(warning)
    return result


def _missing(warning: MissingGlyphs, chars: str) -> MissingGlyphs:
    return MissingGlyphs(
        _message(warning.question, chars), warning.location, warning.severity, warning.question, chars
    )


def _message(question: str, chars: str) -> str:
    listed = ", ".join(f"'{char}' (U+{ord(char):04X})" for char in chars)
    whose = f"question '{question}'" if question else "the bank's title or a category title"
    return f"{whose}: no font can draw {listed}; it prints empty boxes: install a font that has them"


def _text_boxes(box, owner: str, text_box: type) -> Iterator[tuple[str, object]]:
    """Yield (question id or "", text box) for every box of class ``text_box`` below ``box``."""
    element = getattr(box, "element", None)
    if element is not None and getattr(element, "get", None) is not None:
        mark = element.get("data-fit") or element.get("data-part")
        ident = element.get("id") or ""
        if mark:
            owner = mark.split(":")[0]
        elif ident.startswith("q-"):
            owner = ident[2:]
    if isinstance(box, text_box):
        yield owner, box
    for child in getattr(box, "children", ()):
        yield from _text_boxes(child, owner, text_box)


@functools.cache
def _weasyprint() -> tuple:
    """Return WeasyPrint's text box class and Pango bindings (``TextBox``, ``ffi``, ``pango``).

    They load when a layout is first checked: loading them loads WeasyPrint, half
    a second that ``prepdeck --help``, ``check`` and a deck-only build do not need.
    """
    from weasyprint.formatting_structure.boxes import TextBox
    from weasyprint.text.ffi import ffi, pango

    return TextBox, ffi, pango


def _undrawn(box) -> set[str]:
    """Return the characters of a laid-out text box that Pango found no glyph for."""
    _, ffi, pango = _weasyprint()
    chars = set()
    layout = box.pango_layout
    layout.reactivate(box.style)  # WeasyPrint drops a laid-out box's Pango layout until it draws it
    line, _ = layout.get_first_line()
    run = line.runs
    while run != ffi.NULL:
        glyphs = ffi.cast("PangoGlyphItem *", run.data).glyphs
        for index in range(glyphs.num_glyphs):
            glyph = glyphs.glyphs[index].glyph
            if glyph != pango.PANGO_GLYPH_EMPTY and glyph & pango.PANGO_GLYPH_UNKNOWN_FLAG:
                char = chr(glyph & ~pango.PANGO_GLYPH_UNKNOWN_FLAG)
                if unicodedata.category(char)[0] not in "CZ":
                    chars.add(char)
        run = run.next
    layout.deactivate()
    return chars
