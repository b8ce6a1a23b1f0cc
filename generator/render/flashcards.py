"""Render duplex flashcard sheets: question on the front, key points on the back.

Cards sit in a grid centred on the page with at least ``MIN_MARGIN_MM`` of
paper around it and ``GUTTER_MM`` between cards, so a cut a little off the line
never takes a sliver of the neighbouring card; short cut marks in the margin
line up with every card edge. The fronts' colour band bleeds ``BLEED_MM`` past
the cut line, and no card has a border, so duplex drift shows no offset line.
Pages alternate fronts and backs (``duplex="long"``/``"short"``), with each
back page's grid mirrored so that every back lands behind its front once the
sheet is flipped; ``duplex="none"`` prints every front page, then every back
page, each back in the same slot as its front.

Text shrinks to fit its card in a few fixed steps (``CardFormat.front_steps``,
``back_steps``), so cards of one sheet look alike. Each side's step is first
estimated from its text (cheap and deliberately conservative), the document is
laid out once, and each card's content is measured in WeasyPrint's layout
tree; only when a card overflows is the document laid out again, with that
side one step smaller. A back that overflows even at its smallest step keeps
its summary and as many key points as fit, and ends with "… more in the deck"
(a warning names the question); a back estimated not to fit at its smallest
step starts out with the key points estimated to fit, so it costs no second
layout unless the estimate was short. Text never overlaps other text.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

from weasyprint.formatting_structure import boxes

from generator.errors import GeneratorError, Problem, Severity
from generator.model import Artifact, Bank, CardSide, CardSize, Duplex, Paper, Question
from generator.render import Rendered, RenderOptions, fonts, pdf

log = logging.getLogger(__name__)

TEMPLATE = "flashcards.html.j2"


@dataclass(frozen=True, slots=True)
class CardFormat:
    """A flashcard preset: trimmed card size in millimetres and type sizes in points."""

    name: CardSize
    width: float
    height: float
    description: str
    front_steps: tuple[float, ...]  # the question's type sizes, largest first
    back_steps: tuple[float, ...]  # the summary's and key points' type sizes, largest first


#: The flashcard presets, one per ``CardSize`` (the CLI's ``--card-size`` choices).
CARD_FORMATS: dict[CardSize, CardFormat] = {
    card.name: card
    for card in (
        CardFormat(
            CardSize.STANDARD, 95.0, 65.0, "95 x 65 mm, 8 per A4 page", (14.0, 11.0, 9.0), (8.0, 7.0, 6.0)
        ),
        CardFormat(
            CardSize.INDEX_CARD, 127.0, 76.2, "3 x 5 inch index cards", (16.0, 12.0, 10.0), (9.0, 7.5, 6.0)
        ),
        CardFormat(CardSize.BUSINESS, 85.0, 55.0, "85 x 55 mm business cards", (13.0, 10.0, 8.0), (7.0, 6.0)),
    )
}

MIN_MARGIN_MM = 8.0  # paper left around the card grid, where the cut marks go
GUTTER_MM = 3.0  # between neighbouring cards: room for a cut a little off the line
BLEED_MM = 1.5  # the front's colour band reaches this far past the card's edge, into the gutter
PADDING_MM = 3.0  # inside each card, on every side
MIN_FONT_PT = 6.0  # text never shrinks below this
MORE = "… more in the deck"  # ends a back that had to leave key points out
FIGURE_SHARE = 0.25  # an answer's image on a back is at most this share of the back's room tall
FIGURES_PER_ROW = 2  # images side by side on a back
_MAX_LAYOUTS = 8  # first layout plus at most seven corrections
#: A sheet of more pages is laid out this many at a time (see ``render_flashcards``): about 100 MB each.
BATCH_PAGES = 40
MARK_GAP_MM = 2.0  # between a card edge's extension and the start of its cut mark (clear of the bleed)
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
    card: CardFormat
    left: float  # the grid's left edge on front pages
    top: float  # the grid's top edge on front pages

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def slot(
        self, index: int, side: CardSide, duplex: Duplex, offset: tuple[float, float]
    ) -> tuple[float, float]:
        """Return the top-left corner of the card in slot ``index`` on a ``side`` page.

        Backs are mirrored so they land behind their fronts when the sheet is
        flipped: on the long edge of the paper (``long``), that mirrors the
        page's short dimension, i.e. the columns of a portrait page and the
        rows of a landscape one; ``short`` mirrors the other way. ``offset``
        (x right, y down) shifts back pages to correct printer registration.
        """
        row, column = divmod(index, self.columns)
        left, top = self.left, self.top
        if side is CardSide.BACK:
            if duplex is not Duplex.NONE and (duplex is Duplex.LONG) != self.landscape:
                column = self.columns - 1 - column
            elif duplex is not Duplex.NONE:
                row = self.rows - 1 - row
            left, top = left + offset[0], top + offset[1]
        return left + column * (self.card.width + GUTTER_MM), top + row * (self.card.height + GUTTER_MM)

    @property
    def grid_width(self) -> float:
        return self.columns * self.card.width + (self.columns - 1) * GUTTER_MM

    @property
    def grid_height(self) -> float:
        return self.rows * self.card.height + (self.rows - 1) * GUTTER_MM


def sheet_layout(paper: Paper, card_size: CardSize) -> Sheet:
    """Return the page layout holding the most cards of ``card_size`` on ``paper``.

    Both orientations are tried; a tie keeps portrait. The grid is centred,
    with ``GUTTER_MM`` between cards and at least ``MIN_MARGIN_MM`` of paper on every side.
    """
    paper, card_size = Paper.of(paper), CardSize.of(card_size)  # a ValueError for anything else
    card = CARD_FORMATS[card_size]
    short, long = pdf.PAPER_MM[paper]
    best = None
    for landscape in (False, True):
        width, height = (long, short) if landscape else (short, long)
        columns = math.floor((width - 2 * MIN_MARGIN_MM + GUTTER_MM) / (card.width + GUTTER_MM))
        rows = math.floor((height - 2 * MIN_MARGIN_MM + GUTTER_MM) / (card.height + GUTTER_MM))
        if best is None or columns * rows > best.columns * best.rows:
            best = Sheet(
                paper,
                width,
                height,
                landscape,
                columns,
                rows,
                card,
                left=(width - columns * card.width - (columns - 1) * GUTTER_MM) / 2,
                top=(height - rows * card.height - (rows - 1) * GUTTER_MM) / 2,
            )
    assert best is not None and best.per_page > 0, f"{card_size} cards do not fit on {paper}"
    return best


def render_flashcards(bank: Bank, stem: str, options: RenderOptions) -> Rendered:
    """Render ``{stem}-flashcards.pdf``: duplex sheets of one card per question.

    A sheet of more than ``BATCH_PAGES`` pages is laid out that many pages at a
    time, each batch written and dropped before the next, and the batches
    joined (``pdf.join``): a laid-out page holds its boxes and styles (about
    2.5 MB), and a 1,000-card document at once took 700 MB. Cards never span
    pages, so a batch lays out exactly as it would within the whole.
    """
    plan = _Plan.estimate(bank, options)
    batches = _batches(bank, plan.sheet)
    missing: list[Problem] = []
    parts = []
    counts = []
    for batch in batches:
        document = _lay_out(plan, batch, options)
        missing += fonts.missing_glyphs(document, batch)
        parts.append(pdf.pdf_bytes(document, options.epoch))
        counts.append(len(document.pages))
        del document
        if len(batches) > 1:
            pdf.release()
    data = parts[0] if len(parts) == 1 else pdf.join(parts, _page_order(counts, options.duplex))
    warnings = [
        Problem(
            f"question '{side.question.id}': the back of its flashcard does not fit a "
            f"{plan.sheet.card.name} card at {MIN_FONT_PT:g} pt; it shows {plan.kept[side.key]} of "
            f"{side.item_count} key points and '{MORE}'",
            side.question.location,
            Severity.WARNING,
        )
        for side in plan.sides
        if plan.kept.get(side.key, side.item_count) < side.item_count
    ]
    warnings += _offset_warnings(plan.sheet, options.back_offset)
    warnings += dict.fromkeys(missing)
    name = f"{stem}-flashcards.pdf"
    return Rendered((Artifact(name, data),), tuple(warnings))


def _batches(bank: Bank, sheet: Sheet) -> list[Bank]:
    """Return the bank's cards in batches of ``BATCH_PAGES`` pages (fronts and backs), in order."""
    size = sheet.per_page * max(1, BATCH_PAGES // 2)
    questions = bank.questions
    if len(questions) <= size:
        return [bank]
    return [
        dataclasses.replace(bank, questions=questions[i : i + size]) for i in range(0, len(questions), size)
    ]


def _page_order(counts: list[int], duplex: Duplex) -> list[tuple[int, int]]:
    """Return the joined document's pages as ``(batch, page)``, given each batch's page count.

    Each batch alternates fronts and backs as the whole would (``long``,
    ``short``), or holds its fronts and then its backs (``none``), where the
    whole holds every front page, then every back page.
    """
    if duplex != Duplex.NONE:
        return [(batch, page) for batch, count in enumerate(counts) for page in range(count)]
    fronts = [(batch, page) for batch, count in enumerate(counts) for page in range(count // 2)]
    backs = [(batch, page) for batch, count in enumerate(counts) for page in range(count // 2, count)]
    return fronts + backs


def _lay_out(plan: _Plan, bank: Bank, options: RenderOptions):
    """Lay ``bank``'s cards out, shrinking every side that overflows, until none does."""
    ids = {q.id for q in bank.questions}
    sides = [side for side in plan.sides if side.question.id in ids]
    for attempt in range(1, _MAX_LAYOUTS + 1):
        document = pdf.layout(plan.html(bank, options), templates=options.templates, content=bank.root)
        measured = _measure(document)
        overflowing = [side for side in sides if measured[side.key][0] > measured[side.key][1] + 0.01]
        log.debug("flashcards layout %d: %d sides overflow", attempt, len(overflowing))
        if not overflowing:
            return document
        # Dropped before the next layout, not after it: a large sheet's boxes take hundreds of MB.
        del document
        pdf.release()
        if attempt == _MAX_LAYOUTS or not all(plan.shrink(side, *measured[side.key]) for side in overflowing):
            side = overflowing[0]
            raise GeneratorError(
                [
                    Problem(
                        f"question '{side.question.id}': the {side.side} of its flashcard does not fit a "
                        f"{plan.sheet.card.name} card even with its key points left out; shorten it",
                        side.question.location,
                    )
                ]
            )
    raise AssertionError("unreachable: the last layout returns or raises")


def flashcards_html(bank: Bank, options: RenderOptions) -> str:
    """Return the flashcard document's HTML as first laid out, with the estimated type sizes."""
    return _Plan.estimate(bank, options).html(bank, options)


def layout_input(bank: Bank, options: RenderOptions) -> str:
    """Return what the flashcards' layouts consume: the layout engine, and the first layout's HTML.

    Later layouts only shrink sides of this one, by what the layout measures,
    so the PDF is a function of this text and the files the layout reads
    (the build's cache keys the flashcards by it).
    """
    return f"{pdf.engine()}\0{flashcards_html(bank, options)}"


@dataclass(slots=True)
class _Plan:
    """What a layout needs: the page grid, every card side, each side's step and kept key points.

    ``steps`` (an index into the card size's steps) and ``kept`` start from the
    estimates: a back estimated not to fit even at the last step keeps the key
    points estimated to fit, so that the first layout is usually the last.
    ``render_flashcards`` moves the sides that overflowed one step down, then
    (backs at the last step) keeps fewer key points, and lays the document out again.
    """

    sheet: Sheet
    sides: list[_Side]
    steps: dict[str, int]
    kept: dict[str, int]  # back key -> how many key points it shows, when not all

    @classmethod
    def estimate(cls, bank: Bank, options: RenderOptions) -> _Plan:
        """Return the plan with every side at its estimated step."""
        Duplex.of(options.duplex)  # a ValueError for anything else
        sheet = sheet_layout(options.paper, options.card_size)
        metrics = fonts.metrics(options.templates)
        sides = [side for q in bank.questions for side in _sides(q, sheet.card, metrics, bank.root)]
        kept = {
            side.key: side.items_within(side.steps[-1], side.item_count, side.room())
            for side in sides
            if side.side is CardSide.BACK and side.item_count and not side.fits(side.steps[-1])
        }
        return cls(sheet, sides, {side.key: side.estimate() for side in sides}, kept)

    def size(self, side: _Side) -> float:
        return side.steps[self.steps[side.key]]

    def shrink(self, side: _Side, needed: float, room: float) -> bool:
        """Make ``side``, which needed ``needed`` of ``room``, smaller; return False if it cannot.

        One step smaller while there is one; then (backs only) fewer key points:
        as many as the estimate, scaled by what the layout measured, says fit.
        """
        if self.steps[side.key] < len(side.steps) - 1:
            self.steps[side.key] += 1
            return True
        kept = self.kept.get(side.key, side.item_count)
        if side.side is not CardSide.BACK or kept == 0:
            return False
        size = side.steps[-1]
        target = side.height(size, kept if side.key in self.kept else None) * room / needed
        self.kept[side.key] = side.items_within(size, kept, target)
        return True

    def html(self, bank: Bank, options: RenderOptions) -> str:
        """Return the document's HTML at the planned sizes."""
        sheet = self.sheet
        by_key = {side.key: side for side in self.sides}
        colours = {c.slug: pdf.safe_colour(c.colour) for c in bank.categories}
        cards = []
        for q in bank.questions:
            back = f"{q.id}:back"
            kept = self.kept.get(back)
            cards.append(
                {
                    "question": q,
                    "category": bank.category(q.category),
                    "colour": colours[q.category],
                    "ink": pdf.ink_on(colours[q.category]),
                    "front_pt": self.size(by_key[f"{q.id}:front"]),
                    "back_pt": self.size(by_key[back]),
                    "groups": _kept_groups(q, kept),
                    "figures": by_key[back].figures,
                    "more": MORE if kept is not None else "",
                }
            )
        chunks = [cards[i : i + sheet.per_page] for i in range(0, len(cards), sheet.per_page)] or [[]]
        fronts = [_page(sheet, chunk, CardSide.FRONT, options) for chunk in chunks]
        backs = [_page(sheet, chunk, CardSide.BACK, options) for chunk in chunks]
        if options.duplex == Duplex.NONE:
            pages = fronts + backs
        else:
            pages = [page for pair in zip(fronts, backs, strict=True) for page in pair]
        return pdf.render_template(
            options.templates,
            TEMPLATE,
            bank=bank,
            sheet=sheet,
            pages=pages,
            bleed=BLEED_MM,
            created=pdf.w3c_date(options.epoch),
        )


def _kept_groups(question: Question, kept: int | None) -> list[tuple[str, tuple[str, ...]]]:
    """Return the key-point groups a back shows: all, or the first ``kept`` items in order."""
    groups = []
    left = kept if kept is not None else sum(len(g.items) for g in question.key_points)
    for group in question.key_points:
        if left <= 0:
            break
        groups.append((group.title, group.items[:left]))
        left -= len(group.items)
    return groups


def _page(sheet: Sheet, chunk: list[dict], side: CardSide, options: RenderOptions) -> dict:
    """Return one page for the template: its side, its cards placed in their slots, its cut marks."""
    placed = []
    for index, card in enumerate(chunk):
        left, top = sheet.slot(index, side, Duplex.of(options.duplex), options.back_offset)
        placed.append({**card, "left": round(left, 3), "top": round(top, 3)})
    return {"side": side.value, "cards": placed, "marks": cut_marks(sheet) if side is CardSide.FRONT else []}


def cut_marks(sheet: Sheet) -> list[dict]:
    """Return short lines in the page margin extending every card edge of the grid.

    Each mark is a dict of ``left``, ``top``, ``width``, ``height`` in mm (one
    of the last two is zero: the line's direction).
    """
    card = sheet.card
    right = sheet.left + sheet.grid_width
    bottom = sheet.top + sheet.grid_height
    marks = []
    length = min(MARK_MAX_MM, sheet.top - MARK_GAP_MM - MARK_EDGE_MM)
    for column in range(sheet.columns):
        x = sheet.left + column * (card.width + GUTTER_MM)
        for edge in (x, x + card.width):
            marks.append(
                {"left": edge, "top": sheet.top - MARK_GAP_MM - length, "width": 0, "height": length}
            )
            marks.append({"left": edge, "top": bottom + MARK_GAP_MM, "width": 0, "height": length})
    length = min(MARK_MAX_MM, sheet.left - MARK_GAP_MM - MARK_EDGE_MM)
    for row in range(sheet.rows):
        y = sheet.top + row * (card.height + GUTTER_MM)
        for edge in (y, y + card.height):
            marks.append(
                {"left": sheet.left - MARK_GAP_MM - length, "top": edge, "width": length, "height": 0}
            )
            marks.append({"left": right + MARK_GAP_MM, "top": edge, "width": length, "height": 0})
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
# band and footer, the back's footer (top and bottom of .front .fit and .back .fit
# in css/flashcards.css, less the padding; tests/test_stylesheet_numbers.py compares).
_CHROME_MM = {"front": 9.0 + 7.6 - 2 * PADDING_MM, "back": 3.0 + 6.8 - 2 * PADDING_MM}
_GROUP_GAP_EM = 0.25  # .points margin-bottom


@dataclass(frozen=True, slots=True)
class _Side:
    """One face of one card, whose type size is being chosen."""

    question: Question
    side: CardSide
    card: CardFormat
    metrics: fonts.Metrics = field(compare=False, repr=False)
    # the answer's formulas and images a back shows (pdf.figures)
    figures: dict[str, list[dict]] = field(compare=False, repr=False)

    @property
    def key(self) -> str:
        return f"{self.question.id}:{self.side}"

    @property
    def steps(self) -> tuple[float, ...]:
        return self.card.front_steps if self.side is CardSide.FRONT else self.card.back_steps

    @property
    def item_count(self) -> int:
        return sum(len(group.items) for group in self.question.key_points)

    def paragraphs(self, kept: int | None = None) -> list[list[float]]:
        """Return the side's paragraphs, each a list of word widths in em (``kept`` key points)."""
        if self.side is CardSide.FRONT:
            return [self.metrics.word_widths(self.question.question, bold=True)]
        paragraphs = [self.metrics.word_widths(self.question.summary)]
        paragraphs += [
            self.metrics.key_point_words(title, items) for title, items in _kept_groups(self.question, kept)
        ]
        if kept is not None:
            paragraphs.append(self.metrics.word_widths(MORE))
        return paragraphs

    def height(self, size: float, kept: int | None = None) -> float:
        """Return the estimated height in pt of the side's text at ``size`` (``kept`` key points).

        Line breaks fall only at spaces here, while WeasyPrint also breaks
        after hyphens and slashes, so the estimate errs towards more height.
        """
        width = (self.card.width - 2 * PADDING_MM) * pdf.PT_PER_MM
        paragraphs = self.paragraphs(kept)
        gaps = _GROUP_GAP_EM * len(paragraphs) if self.side is CardSide.BACK else 0.0
        lines = sum(self.metrics.wrapped_lines(words, width / size) for words in paragraphs)
        return (lines * _LINE_HEIGHT[self.side] + gaps) * size + self.figures_height(size)

    def figures_height(self, size: float) -> float:
        """Return the estimated height in pt of the back's formulas and images at ``size``."""
        formulas, images = self.figures["formulas"], self.figures["images"]
        height = 0.0
        if formulas:  # side by side, wrapped like words; each line as tall as its tallest formula
            widths = [f["width"] + 0.5 for f in formulas]
            tallest = max(f["height"] for f in formulas)
            width = (self.card.width - 2 * PADDING_MM) * pdf.PT_PER_MM
            rows = self.metrics.wrapped_lines(widths, width / size)
            height += (rows * (tallest + 0.2) + _GROUP_GAP_EM) * size
        for start in range(0, len(images), FIGURES_PER_ROW):
            row = images[start : start + FIGURES_PER_ROW]
            height += max(image["height"] for image in row) * pdf.PT_PER_MM + _GROUP_GAP_EM * size
        return height

    def room(self) -> float:
        """Return the height in pt the side has for its text."""
        return _room_mm(self.card, self.side) * pdf.PT_PER_MM

    def fits(self, size: float) -> bool:
        """Return True when the whole side is estimated to fit its room at ``size``."""
        return self.height(size) <= self.room()

    def items_within(self, size: float, most: int, target: float) -> int:
        """Return the most key points, below ``most``, that fit ``target`` pt at ``size`` by the estimate."""
        fewer = most - 1
        while fewer > 0 and self.height(size, fewer) > target:
            fewer -= 1
        return fewer

    def estimate(self) -> int:
        """Return the index of the largest step at which the whole side is estimated to fit."""
        for index, size in enumerate(self.steps):
            if self.fits(size):
                return index
        return len(self.steps) - 1


def _room_mm(card: CardFormat, side: CardSide) -> float:
    """Return the height in mm a card's side has for its text: the card less its padding and chrome."""
    return card.height - 2 * PADDING_MM - _CHROME_MM[side]


def _sides(question: Question, card: CardFormat, metrics: fonts.Metrics, root: Path) -> tuple[_Side, _Side]:
    """Return a question's front and back; the back shows the answer's figures at the card's width."""
    room_mm = _room_mm(card, CardSide.BACK)
    width_mm = card.width - 2 * PADDING_MM
    figures = pdf.figures(question.answer, root, width_mm, FIGURE_SHARE * room_mm, FIGURES_PER_ROW)
    none: dict[str, list[dict]] = {"formulas": [], "images": []}
    return (
        _Side(question, CardSide.FRONT, card, metrics, none),
        _Side(question, CardSide.BACK, card, metrics, figures),
    )


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
    """Return the height ``box``'s text spans, from the top of its first line to the bottom of its last.

    Lines, not children: a flex item (the front's centred question) shrinks to
    its container and lets its lines overflow it, and may start above the box.
    """
    lines = [d for d in pdf.descendants(box) if isinstance(d, boxes.LineBox)]
    if not lines:
        return 0.0
    top = min(line.position_y for line in lines)
    bottom = max(line.position_y + line.margin_height() for line in lines)
    return bottom - top


# -- duplex calibration --------------------------------------------------------------------------

#: The calibration page reads offsets from -CALIBRATION_RANGE_MM to +CALIBRATION_RANGE_MM ...
CALIBRATION_RANGE_MM = 5.0
#: ... in steps of this many millimetres (the vernier's resolution).
CALIBRATION_STEP_MM = 0.5
CALIBRATION_NAME = "flashcards-calibration.pdf"
CALIBRATION_TEMPLATE = "calibration.html.j2"
_ROW_MM = 4.0  # between the X scale's rows
_COLUMN_MM = 6.0  # between the Y scale's columns


def calibration_marks(sheet: Sheet, duplex: Duplex, offset: tuple[float, float]) -> dict[str, list[dict]]:
    """Return the calibration sheet's lines (front and back page) and the front's labels, in mm.

    One staircase per axis. For X, the back draws one long vertical line; the
    front has a row per reading, each with a short vertical line
    ``CALIBRATION_STEP_MM`` further right than the row above. Once the sheet is
    flipped, the back's line meets exactly one row's line, and that row's
    label is the offset that cancels the printer's shift (in the back page's
    own axes, as ``--back-offset`` counts it, so a flip over the vertical axis
    turns a shift to the right into one to the left as seen from the front).
    Y is the same, turned. The back is drawn with ``offset`` applied, like
    every back page, and the labels include it: a reading is always the whole
    offset to use.
    """
    if Duplex.of(duplex) is Duplex.NONE:
        raise ValueError("a calibration page needs a duplex printer: choose --duplex long or short")
    mirror_x = (duplex == Duplex.LONG) != sheet.landscape
    cx, cy = sheet.width / 2, sheet.height / 2
    count = round(CALIBRATION_RANGE_MM / CALIBRATION_STEP_MM)
    x_base, x_top = cx - 45.0, cy - 50.0  # the X staircase: its line, its first row
    y_base, y_left = cy + 58.0, cx - count * _COLUMN_MM  # the Y staircase: its line, its first column
    rows = (2 * count + 1) * _ROW_MM
    columns = (2 * count + 1) * _COLUMN_MM
    marks: dict[str, list[dict]] = {"front": [], "back": [], "labels": []}
    for index, i in enumerate(range(-count, count + 1)):
        top = x_top + index * _ROW_MM
        x = x_base + i * CALIBRATION_STEP_MM
        marks["front"].append({"left": x, "top": top + 0.6, "width": 0, "height": _ROW_MM - 1.2})
        value = offset[0] + (1 if mirror_x else -1) * i * CALIBRATION_STEP_MM
        marks["labels"].append({"left": x_base - 19, "top": top + 0.7, "width": 10, "text": _reading(value)})
        left = y_left + index * _COLUMN_MM
        y = y_base + i * CALIBRATION_STEP_MM
        marks["front"].append({"left": left + 0.8, "top": y, "width": _COLUMN_MM - 1.6, "height": 0})
        value = offset[1] + (-1 if mirror_x else 1) * i * CALIBRATION_STEP_MM
        marks["labels"].append({"left": left - 2, "top": y_base - 11, "width": 10, "text": _reading(value)})
    # The back's two long lines, placed where they land behind x_base and y_base, then offset.
    back = [
        {"left": x_base, "top": x_top - 3, "width": 0, "height": rows + 6},
        {"left": y_left - 3, "top": y_base, "width": columns + 6, "height": 0},
    ]
    for line in back:
        if mirror_x:
            line["left"] = sheet.width - line["left"] - line["width"]
        else:
            line["top"] = sheet.height - line["top"] - line["height"]
        line["left"] += offset[0]
        line["top"] += offset[1]
    marks["back"] = back
    return {
        key: [{k: round(v, 3) if isinstance(v, float) else v for k, v in m.items()} for m in items]
        for key, items in marks.items()
    }


def _reading(value: float) -> str:
    return f"{value:+g}" if round(value, 3) else "0"


def render_calibration(options: RenderOptions) -> Rendered:
    """Render the duplex calibration sheet for the options' paper, card size, duplex mode and offset.

    Printed duplex and held against a light, each of its two verniers shows one
    pair of lines that meet in a straight line; the front's number there is the
    ``--back-offset`` value for that axis that puts backs behind their fronts.
    """
    sheet = sheet_layout(options.paper, options.card_size)
    marks = calibration_marks(sheet, options.duplex, options.back_offset)
    html = pdf.render_template(
        options.templates,
        CALIBRATION_TEMPLATE,
        sheet=sheet,
        duplex=options.duplex,
        offset=options.back_offset,
        marks=marks,
        range_mm=CALIBRATION_RANGE_MM,
        step_mm=CALIBRATION_STEP_MM,
        created=pdf.w3c_date(options.epoch),
    )
    document = pdf.layout(html, templates=options.templates, content=options.templates)
    return Rendered((Artifact(CALIBRATION_NAME, pdf.pdf_bytes(document, options.epoch)),))
