"""Read rendered PDFs back for tests: page sizes, text, and every glyph's box.

pypdf parses the file; this module follows WeasyPrint's content streams
(``cm``, ``q``/``Q``, ``Tm``/``Td``, ``Tf``, ``TJ``/``Tj`` and form XObjects)
to place each glyph, the way pdfplumber reports characters: ``x0``/``x1``
from the left edge, ``top``/``bottom`` from the top edge, in points.
"""

from __future__ import annotations

import functools
import io
import itertools
import re
from dataclasses import dataclass

import pypdf
from pypdf.generic import ContentStream

from generator.build import check
from generator.model import Bank

MM = 72 / 25.4  # points per millimetre


from factories import CONTENT  # noqa: E402


@dataclass(frozen=True, slots=True)
class Glyph:
    """One drawn character: its text, box (points, origin top-left) and font size."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    font: str


@dataclass(frozen=True, slots=True)
class Run:
    """The glyphs of one text-showing operator, e.g. one line of one style."""

    glyphs: tuple[Glyph, ...]

    @property
    def text(self) -> str:
        return "".join(g.text for g in self.glyphs)

    @property
    def top(self) -> float:
        return min(g.top for g in self.glyphs)


def reader(data: bytes) -> pypdf.PdfReader:
    """Return a reader for PDF bytes."""
    return pypdf.PdfReader(io.BytesIO(data))


def page_size(page) -> tuple[float, float]:
    """Return a page's (width, height) in points, from its media box."""
    box = page.mediabox
    return float(box.width), float(box.height)


@functools.lru_cache(maxsize=32)
def document_runs(data: bytes) -> tuple[tuple[Run, ...], ...]:
    """Return the glyph runs of every page of a PDF (cached: tests read one render many times)."""
    return tuple(tuple(runs(page)) for page in reader(data).pages)


def page_text(page_runs) -> str:
    """Return a page's text: its runs joined by spaces."""
    return " ".join(run.text for run in page_runs)


def squash(text: str) -> str:
    """Return text without whitespace, to compare text that wrapped onto several lines."""
    return "".join(text.split())


def glyphs(page_runs) -> list[Glyph]:
    """Return every glyph of a page's runs."""
    return [g for run in page_runs for g in run.glyphs]


def runs(page) -> list[Run]:
    """Return the glyph runs of a page in drawing order."""
    height = float(page.mediabox.top)
    found: list[Run] = []
    _walk(page.get_contents(), page["/Resources"], page.pdf, (1, 0, 0, 1, 0, 0), height, found)
    return found


def _multiply(a, b):
    """Return the matrix product a × b of PDF matrices (a b c d e f)."""
    return (
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    )


class _Font:
    """What placing a Type0/Identity-H font's glyphs needs: widths, Unicode, extent."""

    def __init__(self, font):
        font = font.get_object()
        self.name = str(font.get("/BaseFont", ""))
        descendant = font["/DescendantFonts"][0].get_object()
        self.default_width = float(descendant.get("/DW", 1000))
        self.widths: dict[int, float] = {}
        w = list(descendant.get("/W", []))
        i = 0
        while i < len(w):
            first = int(w[i])
            if isinstance(w[i + 1], (list, pypdf.generic.ArrayObject)):
                for offset, width in enumerate(w[i + 1]):
                    self.widths[first + offset] = float(width)
                i += 2
            else:
                for cid in range(first, int(w[i + 1]) + 1):
                    self.widths[cid] = float(w[i + 2])
                i += 3
        descriptor = descendant["/FontDescriptor"].get_object()
        self.ascent = float(descriptor.get("/Ascent", 800)) / 1000
        self.descent = float(descriptor.get("/Descent", -200)) / 1000
        self.unicode: dict[int, str] = {}
        if "/ToUnicode" in font:
            cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
            for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
                for src, dst in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
                    self.unicode[int(src, 16)] = bytes.fromhex(dst).decode("utf-16-be")
            for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
                for lo, hi, dst in re.findall(
                    r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block
                ):
                    base = int(dst, 16)
                    for cid in range(int(lo, 16), int(hi, 16) + 1):
                        self.unicode[cid] = chr(base + cid - int(lo, 16))


@dataclass
class _TextState:
    """The graphics and text state a content stream changes as it draws."""

    ctm: tuple
    tm: tuple = (1, 0, 0, 1, 0, 0)
    line: tuple = (1, 0, 0, 1, 0, 0)
    font: _Font | None = None
    size: float = 0.0
    char_spacing: float = 0.0
    word_spacing: float = 0.0
    scale: float = 1.0


def _walk(contents, resources, pdf, ctm, page_height, found: list[Run]) -> None:
    """Follow one content stream, appending a Run per text-showing operator."""
    if contents is None:
        return
    stream = ContentStream(contents, pdf)
    resources = resources.get_object() if resources is not None else {}
    fonts = resources.get("/Font", {})
    fonts = fonts.get_object() if hasattr(fonts, "get_object") else fonts
    xobjects = resources.get("/XObject", {})
    xobjects = xobjects.get_object() if hasattr(xobjects, "get_object") else xobjects
    loaded: dict[str, _Font] = {}
    stack = []
    state = _TextState(ctm)
    for operands, op in stream.operations:
        if op == b"q":
            stack.append(state.ctm)
        elif op == b"Q":
            state.ctm = stack.pop()
        elif op == b"Tf":
            name = str(operands[0])
            if name not in loaded:
                loaded[name] = _Font(fonts[name])
            state.font, state.size = loaded[name], float(operands[1])
        elif op in (b"TJ", b"Tj"):
            placed = _show(state, operands[0] if op == b"TJ" else [operands[0]], page_height)
            if placed:
                found.append(Run(tuple(placed)))
        elif op == b"Do":
            xobject = xobjects[operands[0]].get_object()
            if xobject.get("/Subtype") == "/Form":
                matrix = tuple(float(x) for x in xobject.get("/Matrix", (1, 0, 0, 1, 0, 0)))
                resources_of = xobject.get("/Resources", resources)
                _walk(xobject, resources_of, pdf, _multiply(matrix, state.ctm), page_height, found)
        else:
            _set(state, op, operands)


def _set(state: _TextState, op: bytes, operands) -> None:
    """Apply an operator that changes the matrices or the text state (others are ignored)."""
    if op == b"cm":
        state.ctm = _multiply(tuple(float(x) for x in operands), state.ctm)
    elif op == b"BT":
        state.tm = state.line = (1, 0, 0, 1, 0, 0)
    elif op == b"Tm":
        state.tm = state.line = tuple(float(x) for x in operands)
    elif op == b"Td":
        state.line = _multiply((1, 0, 0, 1, float(operands[0]), float(operands[1])), state.line)
        state.tm = state.line
    elif op == b"Tc":
        state.char_spacing = float(operands[0])
    elif op == b"Tw":
        state.word_spacing = float(operands[0])
    elif op == b"Tz":
        state.scale = float(operands[0]) / 100


def _show(state: _TextState, items, page_height: float) -> list[Glyph]:
    """Place the glyphs of one TJ/Tj operator, advancing the text matrix."""
    font, size, scale = state.font, state.size, state.scale
    placed = []
    for item in items:
        if isinstance(item, (int, float, pypdf.generic.NumberObject, pypdf.generic.FloatObject)):
            state.tm = _multiply((1, 0, 0, 1, -float(item) / 1000 * size * scale, 0), state.tm)
            continue
        raw = bytes(item.original_bytes if hasattr(item, "original_bytes") else item)
        for i in range(0, len(raw), 2):
            cid = int.from_bytes(raw[i : i + 2], "big")
            advance = font.widths.get(cid, font.default_width) / 1000 * size
            trm = _multiply(state.tm, state.ctm)
            # The glyph's corners in user space, then flipped to top-left origin.
            x0, y0 = _apply(trm, 0, font.descent * size)
            x1, y1 = _apply(trm, advance * scale, font.ascent * size)
            glyph_size = size * abs(trm[0] * trm[3] - trm[1] * trm[2]) ** 0.5
            placed.append(
                Glyph(
                    text=font.unicode.get(cid, "\ufffd"),
                    x0=min(x0, x1),
                    x1=max(x0, x1),
                    top=page_height - max(y0, y1),
                    bottom=page_height - min(y0, y1),
                    size=round(glyph_size, 3),
                    font=font.name,
                )
            )
            shift = (advance + state.char_spacing + (state.word_spacing if cid == 32 else 0)) * scale
            state.tm = _multiply((1, 0, 0, 1, shift, 0), state.tm)
    return placed


def _apply(m, x, y):
    return (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])


@functools.cache
def shipped_bank() -> Bank:
    """Return the bank in ``content/``, loaded and validated by the real pipeline (once per run)."""
    return check(CONTENT).bank


def overlapping_runs(page_runs) -> list[tuple[str, str]]:
    """Return pairs of text runs whose glyph boxes overlap (beyond a hairline, or one line's leading)."""
    boxes = []
    for run in page_runs:
        shown = [g for g in run.glyphs if g.text.strip()]
        if shown:
            size = min(g.size for g in shown)
            # The ink of a line lies well inside its font's ascent-to-descent box.
            boxes.append(
                (
                    run.text.strip()[:25],
                    min(g.x0 for g in shown),
                    min(g.top for g in shown) + 0.2 * size,
                    max(g.x1 for g in shown),
                    max(g.bottom for g in shown) - 0.2 * size,
                )
            )
    found = []
    for a, b in itertools.combinations(boxes, 2):
        if min(a[3], b[3]) - max(a[1], b[1]) > 0.5 and min(a[4], b[4]) - max(a[2], b[2]) > 0.5:
            found.append((a[0], b[0]))
    return found


def page_rects(data: bytes, index: int) -> list[tuple[float, float, float, float]]:
    """Return the bounds (left, top, right, bottom; mm from the top-left) of every drawn path on a page."""
    import pypdfium2

    document = pypdfium2.PdfDocument(data)
    try:
        page = document[index]
        height = page.get_height()
        rects = []
        for obj in page.get_objects(max_depth=8):
            if obj.type == pypdfium2.raw.FPDF_PAGEOBJ_PATH:
                left, bottom, right, top = obj.get_bounds()
                rect = (left / MM, (height - top) / MM, right / MM, (height - bottom) / MM)
                rects.append(tuple(round(v, 3) for v in rect))
        return sorted(set(rects))  # a border may be drawn as two identical paths
    finally:
        document.close()
