"""Read rendered PDFs back for tests: page sizes, text, and every glyph's box.

pypdf reads the file's structure (pages, metadata); pdfium (pypdfium2) reads
its text as Chrome's PDF viewer does: each character with its box, font and
size, grouped by the text-showing operator that drew it, in drawing order.
Boxes are pdfplumber's convention: ``x0``/``x1`` from the left edge,
``top``/``bottom`` from the top edge, in points.
"""

from __future__ import annotations

import ctypes
import functools
import io
import itertools
from dataclasses import dataclass

import pypdf
import pypdfium2
import pypdfium2.raw as pdfium

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
    document = pypdfium2.PdfDocument(data)
    try:
        return tuple(_page_runs(page) for page in document)
    finally:
        document.close()


def page_text(page_runs) -> str:
    """Return a page's text: its runs joined by spaces."""
    return " ".join(run.text for run in page_runs)


def squash(text: str) -> str:
    """Return text without whitespace, to compare text that wrapped onto several lines."""
    return "".join(text.split())


def glyphs(page_runs) -> list[Glyph]:
    """Return every glyph of a page's runs."""
    return [g for run in page_runs for g in run.glyphs]


def own_glyphs(page_runs) -> list[Glyph]:
    """Return the glyphs of a page's own text: not those of a picture's labels.

    The shipped diagrams set their labels in Prepdeck Serif, a font the sheets'
    text never uses, and those labels scale with the picture, as the text inside
    a PNG does (which no test can see as glyphs).
    """
    return [g for g in glyphs(page_runs) if not in_picture(g)]


def in_picture(glyph: Glyph) -> bool:
    """Return True for a glyph of a picture's label (the shipped diagrams' Prepdeck Serif)."""
    return "Serif" in glyph.font


def _page_runs(page: pypdfium2.PdfPage) -> tuple[Run, ...]:
    """Return a page's glyphs as runs, one per text object (a ``Tj``/``TJ``), in drawing order.

    A box is pdfium's "loose" one: the font's ascent to its descent, and across,
    the glyph's outline (an italic "f" reaches left of its origin); the size is
    the font size as drawn, the text matrix and the page's transformation included.
    pdfium reports a hyphen that ends a line as a control character, and adds
    characters (spaces, line ends) no operator drew: the first is read as "-",
    the others are left out.
    """
    height = page.get_height()
    textpage = page.get_textpage()
    try:
        order = {_address(item.raw): number for number, item in enumerate(page.get_objects(max_depth=16))}
        by_object: dict[int, list[Glyph]] = {}
        box, matrix = pdfium.FS_RECTF(), pdfium.FS_MATRIX()
        name = ctypes.create_string_buffer(256)
        for index in range(textpage.count_chars()):
            if pdfium.FPDFText_IsGenerated(textpage, index):
                continue
            pdfium.FPDFText_GetLooseCharBox(textpage, index, box)
            pdfium.FPDFText_GetMatrix(textpage, index, matrix)
            pdfium.FPDFText_GetFontInfo(textpage, index, name, len(name), None)
            scale = abs(matrix.a * matrix.d - matrix.b * matrix.c) ** 0.5
            hyphen = pdfium.FPDFText_IsHyphen(textpage, index)
            glyph = Glyph(
                text="-" if hyphen else chr(pdfium.FPDFText_GetUnicode(textpage, index)),
                x0=box.left,
                x1=box.right,
                top=height - box.top,
                bottom=height - box.bottom,
                size=round(pdfium.FPDFText_GetFontSize(textpage, index) * scale, 3),
                font=name.value.decode("latin-1"),
            )
            by_object.setdefault(_address(pdfium.FPDFText_GetTextObject(textpage, index)), []).append(glyph)
    finally:
        textpage.close()
    drawn = sorted(by_object.items(), key=lambda item: order[item[0]])
    return tuple(Run(tuple(found)) for _, found in drawn)


def _address(handle) -> int:
    """Return the address a pdfium handle points at: the same object gives the same number."""
    return ctypes.cast(handle, ctypes.c_void_p).value or 0


@functools.cache
def shipped_bank() -> Bank:
    """Return the bank in ``content/``, loaded and validated by the real pipeline (once per run)."""
    return check(CONTENT).bank


def overlapping_runs(page_runs) -> list[tuple[str, str]]:
    """Return pairs of text runs whose glyph boxes overlap (beyond a hairline, or one line's leading)."""
    boxes = []
    for run in page_runs:
        # A picture's labels are its own business, as a PNG's are: WeasyPrint draws an
        # SVG's text a glyph at a time, and an italic glyph's box reaches into the next.
        shown = [g for g in run.glyphs if g.text.strip() and not in_picture(g)]
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
