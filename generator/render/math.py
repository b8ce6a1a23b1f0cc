"""Typeset LaTeX math as SVG, the same picture on a card, on paper and on the site.

Formulas are pre-rendered with ziamath (pure Python, its own STIX Two Math
font), so nothing depends on MathJax, JavaScript, the network or the fonts of
the device: Anki shows the SVG as a media file, WeasyPrint draws it, and the
site links it. The alt text of each picture carries the LaTeX source.

LaTeX is content, so it is checked before it is typeset: braces must balance
and every command must be one ziamath's parser (latex2mathml) knows, except
the few that reach outside a formula (``\\href``, ``\\url``, ``\\input``,
``\\def`` …), which are refused outright. ziamath itself renders an unknown
command as text, so this check is what turns a typo into an error.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: The size formulas are set at; heights and offsets are given in em of this size.
_SIZE = 20.0
#: The longest formula accepted, in characters of LaTeX.
MAX_LATEX = 2000

#: Commands that link, load files, define macros or inject markup: refused with a reason.
FORBIDDEN = frozenset(
    [
        r"\href",
        r"\url",
        r"\input",
        r"\include",
        r"\includeonly",
        r"\import",
        r"\def",
        r"\gdef",
        r"\edef",
        r"\xdef",
        r"\let",
        r"\newcommand",
        r"\renewcommand",
        r"\providecommand",
        r"\DeclareMathOperator",
        r"\newenvironment",
        r"\renewenvironment",
        r"\catcode",
        r"\csname",
        r"\endcsname",
        r"\write",
        r"\immediate",
        r"\openout",
        r"\openin",
        r"\read",
        r"\special",
        r"\html",
        r"\htmlClass",
        r"\htmlId",
        r"\htmlStyle",
        r"\htmlData",
        r"\class",
        r"\cssId",
        r"\style",
        r"\require",
        r"\unicode",
        r"\verb",
        r"\includegraphics",
    ]
)

_COMMAND = re.compile(r"\\([A-Za-z]+|.)")


class MathError(ValueError):
    """LaTeX that is refused or does not parse; the message says why."""


@dataclass(frozen=True, slots=True)
class Formula:
    """One typeset formula: its SVG, a content-hashed file name, and its size in em."""

    latex: str
    display: bool
    svg: bytes
    name: str  # "math-<hash>.svg": changes exactly when the picture does
    width_em: float
    height_em: float
    depth_em: float  # how far the picture reaches below the text's baseline


@functools.cache
def _known_commands() -> frozenset[str]:
    """Return every command latex2mathml parses: its command constants and its symbol table."""
    from latex2mathml import commands, symbols_parser

    known = {
        value
        for name in dir(commands)
        if name.isupper()
        for value in _strings(getattr(commands, name))
        if value.startswith("\\")
    }
    known.update(key for key in symbols_parser.SYMBOLS if key.startswith("\\"))
    return frozenset(known - FORBIDDEN)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (dict, set, frozenset, list, tuple)):
        return [item for item in value if isinstance(item, str)]
    return []


def check_latex(latex: str) -> None:
    """Raise MathError if ``latex`` uses a refused or unknown command or unbalanced braces."""
    if not latex.strip():
        raise MathError("empty formula")
    if len(latex) > MAX_LATEX:
        raise MathError(f"formula is longer than {MAX_LATEX} characters")
    depth = 0
    for match in re.finditer(r"\\.|[{}]", latex):
        token = match.group()
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if depth < 0:
                raise MathError("unbalanced braces: '}' without a matching '{'")
    if depth:
        raise MathError(f"unbalanced braces: {depth} '{{' never closed")
    known = _known_commands()
    for match in _COMMAND.finditer(latex):
        command = match.group()
        if len(command) == 2 and not command[1].isalpha():
            continue  # \, \; \{ \} \\ \| \! and the like
        if command in FORBIDDEN:
            raise MathError(f"command {command} is not allowed in math (it links, loads or defines)")
        if command not in known:
            raise MathError(f"unknown command {command}")


@functools.lru_cache(maxsize=4096)
def typeset(latex: str, display: bool) -> Formula:
    """Return ``latex`` typeset as SVG; raise MathError if it is refused or does not parse."""
    check_latex(latex)
    import ziamath

    try:
        math = ziamath.Latex(latex, size=_SIZE, inline=not display, margin=0.0)
        svg = _compact(math.svgxml(), math.font.info.layout.unitsperem)
    except Exception as error:  # ziamath raises parser errors of many types
        reason = str(error) or type(error).__name__
        raise MathError(f"does not parse: {reason}") from None
    match = re.match(
        r'<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"[^>]*viewBox="[-\d.]+ ([-\d.]+)', svg
    )
    if match is None:
        raise MathError("the typesetter returned no picture")
    width, height, top = (float(value) for value in match.groups())
    data = svg.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()[:16]
    return Formula(
        latex=latex,
        display=display,
        svg=data,
        name=f"math-{digest}.svg",
        width_em=round(width / _SIZE, 3),
        height_em=round(height / _SIZE, 3),
        depth_em=round(max(0.0, height + top) / _SIZE, 3),
    )


def _compact(svg: ET.Element, units_per_em: int) -> str:
    """Return ziamath's picture written in about half the bytes, drawing the same.

    Each glyph is a ``<symbol>`` that every ``<use>`` scales from its
    ``viewBox`` to the use's width and height, so the symbol's numbers may be
    written at any scale: in the font's own units they are integers (ziafont
    writes points of a 12-point size, three decimals each), a path's points to
    a tenth of a unit, as precise as ziafont's. Paths become relative
    commands with implicit repeats and only the spaces a parser needs; the
    zero-length line ziafont starts each contour with is left out,
    ``fill="black"`` (the default) dropped and glyph ids shortened. The deck,
    both PDFs and every site page that shows a formula carry its file.
    """
    scale = units_per_em / _SYMBOL_POINTS
    ids: dict[str, str] = {}
    for element in svg.iter():
        tag = element.tag.rpartition("}")[2]
        if element.get("fill") == "black":
            del element.attrib["fill"]
        if tag == "symbol":
            ids[element.get("id", "")] = short = f"g{len(ids)}"
            element.set("id", short)
            box = element.get("viewBox", "").split()
            element.set("viewBox", " ".join(_number(float(value) * scale) for value in box))
            for path in element.iter():
                if path.tag.rpartition("}")[2] == "path" and path.get("d"):
                    path.set("d", _path(path.get("d", ""), scale))
        elif tag == "use":
            reference = element.get("href", "")
            element.set("href", "#" + ids.get(reference[1:], reference[1:]))
    return ET.tostring(svg, encoding="unicode").replace(" />", "/>")


#: The point size ziafont draws its glyph symbols at (``ziafont.glyph.SimpleGlyph.DFLT_SIZE_PT``).
_SYMBOL_POINTS = 12
_PATH_TOKEN = re.compile(r"[A-Za-z]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ARGUMENTS = {"M": 2, "L": 2, "Q": 4, "C": 6, "Z": 0}


def _number(value: float) -> str:
    """Return ``value`` to a tenth of a font unit, as short as SVG allows (``.5``, ``-.5``, ``12``)."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        return "0"
    if text.startswith("0."):
        return text[1:]
    if text.startswith("-0."):
        return "-" + text[2:]
    return text


def _path(data: str, scale: float) -> str:
    """Return an absolute path (M, L, Q, C, Z as ziafont writes them), scaled, in relative commands."""
    tokens = _PATH_TOKEN.findall(data)
    commands: list[tuple[str, list[float]]] = []
    position = 0
    while position < len(tokens):
        command = tokens[position]
        if command not in _ARGUMENTS:
            return data  # a form ziafont does not write: keep it as it is
        count = _ARGUMENTS[command]
        # A tenth of a font unit: ziafont's three decimals of a point, and no coarser.
        values = [round(float(token) * scale, 1) for token in tokens[position + 1 : position + 1 + count]]
        commands.append((command, values))
        position += 1 + count
    parts: list[str] = []
    last = previous = ""  # the last command letter, and the number written since (if any)
    x = y = start_x = start_y = 0.0
    for index, (command, values) in enumerate(commands):
        if command == "Z":
            parts.append("z")
            x, y, last, previous = start_x, start_y, "z", ""
            continue
        if command == "L" and index and commands[index - 1] == ("M", values):
            continue  # the zero-length line that follows each moveto
        relative = [value - (x if i % 2 == 0 else y) for i, value in enumerate(values)]
        x, y = values[-2], values[-1]
        if command == "M":
            start_x, start_y = x, y
        letter = command.lower()
        if letter != last or letter == "m":  # a repeat of the same command needs no letter
            parts.append(letter)
            last, previous = letter, ""
        for value in relative:
            number = _number(value)
            # A space only where the numbers would run together: not before "-", nor before
            # ".5" after a number that has its decimal point already.
            if previous and number[0] != "-" and not (number[0] == "." and "." in previous):
                parts.append(" ")
            parts.append(number)
            previous = number
    return "".join(parts)


#: Every formula this process typeset, by file name: the PDF renderers' URL fetcher serves them.
_BY_NAME: dict[str, bytes] = {}


def formula(latex: str, display: bool) -> Formula:
    """Return the typeset formula and remember it, so :func:`by_name` can serve its file."""
    found = typeset(latex, display)
    _BY_NAME[found.name] = found.svg
    return found


def by_name(name: str) -> bytes | None:
    """Return the SVG of a formula this process typeset, by its file name; None if none was."""
    return _BY_NAME.get(name)
