"""Render duplex flashcard sheets: question on the front, key points on the back.

Cards sit in a grid centred on the page with at least ``MIN_MARGIN_MM`` of
paper around it; short cut marks in that margin line up with every card edge.
Pages alternate fronts and backs (``duplex="long"``/``"short"``), with each
back page's grid mirrored so that every back lands behind its front once the
sheet is flipped; ``duplex="none"`` prints every front page, then every back
page, each back in the same slot as its front.

Text shrinks to fit its card. Each card's size is first estimated from its
text (cheap and deliberately conservative), the document is laid out once,
and each card's content is measured in WeasyPrint's layout tree; only when a
card overflows is the document laid out again, with that card's size lowered
from the measurement. A card that overflows even at ``MIN_FONT_PT`` becomes a
warning naming the question.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from weasyprint.formatting_structure import boxes

from generator.errors import Problem, Severity
from generator.model import Artifact, Bank, Question
from generator.render import Rendered, RenderOptions, pdf

log = logging.getLogger(__name__)

TEMPLATE = "flashcards.html.j2"


@dataclass(frozen=True, slots=True)
class CardSize:
    """A flashcard preset: trimmed card size in millimetres and type sizes in points."""

    name: str
    width: float
    height: float
    description: str
    front_max_pt: float  # the question's largest size; it shrinks from here
    back_max_pt: float  # the key points' largest size


#: Flashcard presets by name; the CLI offers these keys as ``--card-size`` choices.
CARD_SIZES: dict[str, CardSize] = {
    size.name: size
    for size in (
        CardSize("95x65", 95.0, 65.0, "95 x 65 mm, 8 per page", 14.0, 10.0),
        CardSize("index-3x5", 127.0, 76.2, "3 x 5 inch index cards", 16.0, 11.0),
        CardSize("business", 85.0, 55.0, "85 x 55 mm business cards", 13.0, 9.0),
    )
}

#: Duplex modes: which edge the printer flips the sheet on, or none.
DUPLEX_MODES = ("long", "short", "none")

MIN_MARGIN_MM = 8.0  # paper left around the card grid, where the cut marks go
PADDING_MM = 3.0  # inside each card, on every side
MIN_FONT_PT = 6.0  # text never shrinks below this
SUMMARY_MIN_PT = 7.0  # a back shows the summary only if its text can stay this large
_STEP_PT = 0.25  # sizes are multiples of this, so similar cards look alike
_MAX_LAYOUTS = 4  # first layout plus at most three corrections
MARK_GAP_MM = 1.0  # between a card edge's extension and the start of its cut mark
MARK_MAX_MM = 5.0
MARK_EDGE_MM = 4.0  # cut marks end at least this far from the paper edge


@dataclass(frozen=True, slots=True)
class Sheet:
    """Where the cards go on one page; all lengths in millimetres."""

    paper: str
    width: float
    height: float
    landscape: bool
    columns: int
    rows: int
    card: CardSize
    left: float  # the grid's left edge on front pages
    top: float  # the grid's top edge on front pages

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def slot(self, index: int, side: str, duplex: str, offset: tuple[float, float]) -> tuple[float, float]:
        """Return the top-left corner of the card in slot ``index`` on a ``side`` page.

        Backs are mirrored so they land behind their fronts when the sheet is
        flipped: on the long edge of the paper (``long``), that mirrors the
        page's short dimension, i.e. the columns of a portrait page and the
        rows of a landscape one; ``short`` mirrors the other way. ``offset``
        (x right, y down) shifts back pages to correct printer registration.
        """
        row, column = divmod(index, self.columns)
        left, top = self.left, self.top
        if side == "back":
            if duplex != "none" and (duplex == "long") != self.landscape:
                column = self.columns - 1 - column
            elif duplex != "none":
                row = self.rows - 1 - row
            left, top = left + offset[0], top + offset[1]
        return left + column * self.card.width, top + row * self.card.height


def sheet_layout(paper: str, card_size: str) -> Sheet:
    """Return the page layout holding the most cards of ``card_size`` on ``paper``.

    Both orientations are tried; a tie keeps portrait. The grid is centred,
    with at least ``MIN_MARGIN_MM`` of paper on every side.
    """
    if paper not in pdf.PAPER_MM:
        raise ValueError(f"unknown paper {paper!r}; choose from {', '.join(pdf.PAPER_MM)}")
    if card_size not in CARD_SIZES:
        raise ValueError(f"unknown card size {card_size!r}; choose from {', '.join(CARD_SIZES)}")
    card = CARD_SIZES[card_size]
    short, long = pdf.PAPER_MM[paper]
    best = None
    for landscape in (False, True):
        width, height = (long, short) if landscape else (short, long)
        columns = math.floor((width - 2 * MIN_MARGIN_MM) / card.width)
        rows = math.floor((height - 2 * MIN_MARGIN_MM) / card.height)
        if best is None or columns * rows > best.columns * best.rows:
            best = Sheet(
                paper,
                width,
                height,
                landscape,
                columns,
                rows,
                card,
                left=(width - columns * card.width) / 2,
                top=(height - rows * card.height) / 2,
            )
    assert best is not None and best.per_page > 0, f"{card_size} cards do not fit on {paper}"
    return best


def render_flashcards(bank: Bank, stem: str, options: RenderOptions) -> Rendered:
    """Render ``{stem}-flashcards.pdf``: duplex sheets of one card per question."""
    plan = _Plan.estimate(bank, options)
    for attempt in range(1, _MAX_LAYOUTS + 1):
        document = pdf.layout(plan.html(bank, options), templates=options.templates, content=bank.root)
        measured = _measure(document)
        overflowing = [side for side in plan.sides if measured[side.key][0] > measured[side.key][1] + 0.01]
        shrinkable = [side for side in overflowing if plan.sizes[side.key] > MIN_FONT_PT]
        log.debug("flashcards layout %d: %d sides overflow", attempt, len(overflowing))
        if not shrinkable or attempt == _MAX_LAYOUTS:
            break
        for side in shrinkable:
            plan.sizes[side.key] = _smaller(plan.sizes[side.key], *measured[side.key])
    warnings = [
        Problem(
            f"question '{side.question.id}': the {side.side} of its flashcard does not fit a "
            f"{plan.sheet.card.name} card even at {MIN_FONT_PT:g} pt; shorten it",
            side.question.location,
            Severity.WARNING,
        )
        for side in overflowing
    ]
    warnings += _offset_warnings(plan.sheet, options.back_offset)
    name = f"{stem}-flashcards.pdf"
    return Rendered((Artifact(name, pdf.pdf_bytes(document, options.epoch)),), tuple(warnings))


def flashcards_html(bank: Bank, options: RenderOptions) -> str:
    """Return the flashcard document's HTML as first laid out, with the estimated type sizes."""
    return _Plan.estimate(bank, options).html(bank, options)


@dataclass(slots=True)
class _Plan:
    """What a layout needs: the page grid, every card side, and each side's type size by key.

    ``sizes`` starts from the estimates; ``render_flashcards`` lowers the sizes
    of sides that overflowed and lays the document out again.
    """

    sheet: Sheet
    sides: list[_Side]
    sizes: dict[str, float]

    @classmethod
    def estimate(cls, bank: Bank, options: RenderOptions) -> _Plan:
        """Return the plan with every side at its estimated size."""
        if options.duplex not in DUPLEX_MODES:
            raise ValueError(f"unknown duplex mode {options.duplex!r}; choose from {', '.join(DUPLEX_MODES)}")
        sheet = sheet_layout(options.paper, options.card_size)
        sides = [side for q in bank.questions for side in _sides(q, sheet.card)]
        return cls(sheet, sides, {side.key: side.estimate() for side in sides})

    def html(self, bank: Bank, options: RenderOptions) -> str:
        """Return the document's HTML at the planned sizes."""
        sheet = self.sheet
        summaries = {side.question.id for side in self.sides if side.summary}
        colours = {c.slug: pdf.safe_colour(c.colour) for c in bank.categories}
        cards = [
            {
                "question": q,
                "category": bank.category(q.category),
                "colour": colours[q.category],
                "ink": pdf.ink_on(colours[q.category]),
                "front_pt": self.sizes[f"{q.id}:front"],
                "back_pt": self.sizes[f"{q.id}:back"],
                "summary": q.id in summaries,
            }
            for q in bank.questions
        ]
        chunks = [cards[i : i + sheet.per_page] for i in range(0, len(cards), sheet.per_page)] or [[]]
        fronts = [_page(sheet, chunk, "front", options) for chunk in chunks]
        backs = [_page(sheet, chunk, "back", options) for chunk in chunks]
        if options.duplex == "none":
            pages = fronts + backs
        else:
            pages = [page for pair in zip(fronts, backs, strict=True) for page in pair]
        return pdf.render_template(
            options.templates,
            TEMPLATE,
            bank=bank,
            sheet=sheet,
            pages=pages,
            created=pdf.w3c_date(options.epoch),
        )


def _page(sheet: Sheet, chunk: list[dict], side: str, options: RenderOptions) -> dict:
    """Return one page for the template: its side, its cards placed in their slots, its cut marks."""
    placed = []
    for index, card in enumerate(chunk):
        left, top = sheet.slot(index, side, options.duplex, options.back_offset)
        placed.append({**card, "left": round(left, 3), "top": round(top, 3)})
    return {"side": side, "cards": placed, "marks": cut_marks(sheet) if side == "front" else []}


def cut_marks(sheet: Sheet) -> list[dict]:
    """Return short lines in the page margin extending every card edge of the grid.

    Each mark is a dict of ``left``, ``top``, ``width``, ``height`` in mm (one
    of the last two is zero: the line's direction).
    """
    card = sheet.card
    right = sheet.left + sheet.columns * card.width
    bottom = sheet.top + sheet.rows * card.height
    marks = []
    length = min(MARK_MAX_MM, sheet.top - MARK_GAP_MM - MARK_EDGE_MM)
    for column in range(sheet.columns + 1):
        x = sheet.left + column * card.width
        marks.append({"left": x, "top": sheet.top - MARK_GAP_MM - length, "width": 0, "height": length})
        marks.append({"left": x, "top": bottom + MARK_GAP_MM, "width": 0, "height": length})
    length = min(MARK_MAX_MM, sheet.left - MARK_GAP_MM - MARK_EDGE_MM)
    for row in range(sheet.rows + 1):
        y = sheet.top + row * card.height
        marks.append({"left": sheet.left - MARK_GAP_MM - length, "top": y, "width": length, "height": 0})
        marks.append({"left": right + MARK_GAP_MM, "top": y, "width": length, "height": 0})
    return [{k: round(v, 3) for k, v in mark.items()} for mark in marks]


def _offset_warnings(sheet: Sheet, offset: tuple[float, float]) -> list[Problem]:
    """Warn when a back offset pushes cards past the paper's edge."""
    dx, dy = offset
    if abs(dx) < sheet.left and abs(dy) < sheet.top:
        return []
    return [
        Problem(
            f"back offset {dx:g},{dy:g} mm moves back cards off the paper "
            f"(margins are {sheet.left:.1f} x {sheet.top:.1f} mm)",
            None,
            Severity.WARNING,
        )
    ]


# -- shrink to fit -----------------------------------------------------------------------------

_LINE_HEIGHT = {"front": 1.18, "back": 1.12}  # line-height in css/flashcards.css
# Height the fixed parts of a side take beyond the padding, in mm: the front's
# band and footer, the back's footer (see .fit in css/flashcards.css).
_CHROME_MM = {"front": 13.6, "back": 3.8}
_GROUP_GAP_EM = 0.25  # .points margin-bottom
_BORDER_PT = 0.25  # .card border


@dataclass(frozen=True, slots=True)
class _Side:
    """One face of one card, whose type size is being chosen."""

    question: Question
    side: str  # "front" | "back"
    card: CardSize
    summary: bool = False  # a back that leads with the one-line summary

    @property
    def key(self) -> str:
        return f"{self.question.id}:{self.side}"

    def paragraphs(self) -> list[list[float]]:
        """Return the side's paragraphs, each a list of word widths in em."""
        if self.side == "front":
            return [pdf.word_widths(self.question.question, bold=True)]
        summary = [pdf.word_widths(self.question.summary)] if self.summary else []
        return summary + [pdf.key_point_words(group.title, group.items) for group in self.question.key_points]

    def estimate(self) -> float:
        """Return the largest size on the step grid whose text, wrapped word by word, fits.

        Line breaks fall only at spaces here, while WeasyPrint also breaks
        after hyphens and slashes, so the estimate errs towards smaller text.
        """
        card = self.card
        width = (card.width - 2 * PADDING_MM) * pdf.PT_PER_MM - 2 * _BORDER_PT
        height = (card.height - 2 * PADDING_MM - _CHROME_MM[self.side]) * pdf.PT_PER_MM - 2 * _BORDER_PT
        paragraphs = self.paragraphs()
        gaps = _GROUP_GAP_EM * len(paragraphs) if self.side == "back" else 0.0
        size = card.front_max_pt if self.side == "front" else card.back_max_pt
        while size > MIN_FONT_PT:
            lines = sum(pdf.wrapped_lines(words, width / size) for words in paragraphs)
            if (lines * _LINE_HEIGHT[self.side] + gaps) * size <= height:
                break
            size -= _STEP_PT
        return max(size, MIN_FONT_PT)


def _sides(question: Question, card: CardSize) -> tuple[_Side, _Side]:
    """Return a question's front and back; the back leads with the summary if that keeps it readable."""
    back = _Side(question, "back", card, summary=True)
    if back.estimate() < SUMMARY_MIN_PT:
        back = _Side(question, "back", card)
    return _Side(question, "front", card), back


def _smaller(size: float, needed: float, available: float) -> float:
    """Return a size for text that needed ``needed`` of ``available`` height at ``size``.

    Wrapped text's height grows about with the square of its size (more lines,
    each taller), so scale by the square root, then step down to the grid.
    """
    target = size * math.sqrt(available / needed) * 0.97
    stepped = math.floor(target / _STEP_PT) * _STEP_PT
    return max(MIN_FONT_PT, min(stepped, size - _STEP_PT))


def _measure(document) -> dict[str, tuple[float, float]]:
    """Return, per side key, the height its text needs and the height it has (CSS px).

    A ``data-fit`` element has a fixed height, the room for the side's text;
    its children are the text, and may overflow it. Text wider than the box
    (a word too long to wrap) counts as needing more height, so it shrinks too.
    WeasyPrint's layout tree is internal API (``Page._page_box``); it is pinned.
    """
    found: dict[str, tuple[float, float]] = {}
    for page in document.pages:
        for box in pdf.descendants(page._page_box):
            key = box.element.get("data-fit") if box.element is not None else None
            if key is None or key in found or not hasattr(box, "children"):
                continue
            room = box.height if box.height != "auto" else 0.0
            needed = _content_height(box)
            right = box.content_box_x() + box.width
            if any(
                getattr(d, "position_x", 0) + d.margin_width() > right + 0.5
                for d in pdf.descendants(box)
                if isinstance(d, boxes.TextBox)
            ):
                needed = max(needed, room * 1.05 + 1)
            found[key] = (needed, room)
    return found


def _content_height(box) -> float:
    """Return the height ``box``'s children span, from the top of the first to the bottom of the last.

    Children may be centred, so overflow can start above the content box.
    """
    if not box.children:
        return 0.0
    top = min(child.position_y for child in box.children)
    bottom = max(child.position_y + child.margin_height() for child in box.children)
    return bottom - top
