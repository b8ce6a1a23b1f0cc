"""Flashcard sheets, read back from the PDF: page boxes, card grid, duplex registration, fit."""

from __future__ import annotations

import functools
import itertools

import pytest
from factories import TEMPLATES, make_bank, make_question
from pdf_support import (
    MM,
    Run,
    document_runs,
    glyphs,
    overlapping_runs,
    own_glyphs,
    page_rects,
    page_size,
    page_text,
    reader,
    shipped_bank,
    squash,
)

from generator.errors import GeneratorError, Severity
from generator.model import KeyPointGroup
from generator.render import RenderOptions, markup, pdf
from generator.render.flashcards import (
    BLEED_MM,
    CARD_FORMATS,
    GUTTER_MM,
    MIN_FONT_PT,
    MIN_MARGIN_MM,
    MORE,
    PADDING_MM,
    cut_marks,
    render_calibration,
    render_flashcards,
    sheet_layout,
)

EPOCH = 1_700_000_000
PAGE_PT = {"a4": (595.28, 841.89), "letter": (612.0, 792.0)}


def options(**changes) -> RenderOptions:
    return RenderOptions(templates=TEMPLATES, epoch=EPOCH, **changes)


@functools.cache
def shipped(paper="a4", card_size="95x65", duplex="long", back_offset=(0.0, 0.0)):
    """Render the shipped bank's flashcards once per combination: (pdf bytes, warnings)."""
    rendered = render_flashcards(
        shipped_bank(),
        "deck",
        options(paper=paper, card_size=card_size, duplex=duplex, back_offset=back_offset),
    )
    return rendered.artifacts[0].data, rendered.warnings


def id_runs(page_runs, ids) -> dict[str, Run]:
    """Return the run printing each question id on a page, by id."""
    found = {}
    for run in page_runs:
        text = run.text.strip()
        if text in ids:
            assert text not in found, f"id {text} printed twice on one page"
            found[text] = run
    return found


def anchor(run: Run) -> tuple[float, float]:
    """Return the bottom-right corner of an id's glyphs, in mm."""
    return max(g.x1 for g in run.glyphs) / MM, max(g.bottom for g in run.glyphs) / MM


def slot_rects(sheet, side, duplex, offset) -> list[tuple[float, float, float, float]]:
    """Return every slot's card rectangle (left, top, right, bottom) in mm on a page of ``side``."""
    card = sheet.card
    rects = []
    for index in range(sheet.per_page):
        left, top = sheet.slot(index, side, duplex, offset)
        rects.append((left, top, left + card.width, top + card.height))
    return rects


def sides(page_count: int, duplex: str) -> list[str]:
    if duplex == "none":
        return ["front"] * (page_count // 2) + ["back"] * (page_count // 2)
    return ["front", "back"] * (page_count // 2)


# -- layout presets (no rendering) ---------------------------------------------------------------


def test_card_size_presets_are_the_cli_choices():
    assert list(CARD_FORMATS) == ["95x65", "index-3x5", "business"]
    assert (CARD_FORMATS["95x65"].width, CARD_FORMATS["95x65"].height) == (95, 65)
    assert (CARD_FORMATS["index-3x5"].width, CARD_FORMATS["index-3x5"].height) == pytest.approx((127, 76.2))
    assert (CARD_FORMATS["business"].width, CARD_FORMATS["business"].height) == (85, 55)


@pytest.mark.parametrize(
    ("paper", "card_size", "grid"),
    [
        ("a4", "95x65", (2, 4, False)),
        ("letter", "95x65", (2, 3, False)),
        ("a4", "index-3x5", (2, 2, True)),
        ("letter", "index-3x5", (2, 2, True)),
        ("a4", "business", (3, 3, True)),
        ("letter", "business", (3, 3, True)),
    ],
)
def test_grid_holds_the_most_cards_that_fit_with_gutters_and_8mm_margins(paper, card_size, grid):
    sheet = sheet_layout(paper, card_size)
    assert (sheet.columns, sheet.rows, sheet.landscape) == grid
    card = sheet.card
    assert sheet.left >= MIN_MARGIN_MM and sheet.top >= MIN_MARGIN_MM
    assert sheet.left + sheet.grid_width <= sheet.width - MIN_MARGIN_MM + 1e-9
    assert sheet.top + sheet.grid_height <= sheet.height - MIN_MARGIN_MM + 1e-9
    # Neighbouring cards are GUTTER_MM apart.
    rects = slot_rects(sheet, "front", "long", (0.0, 0.0))
    if sheet.columns > 1:
        assert rects[1][0] - rects[0][2] == pytest.approx(GUTTER_MM)
    assert rects[sheet.columns][1] - rects[0][3] == pytest.approx(GUTTER_MM)
    # No orientation holds more.
    short, long = sorted((sheet.width, sheet.height))
    for width, height in ((short, long), (long, short)):
        across = int((width - 16 + GUTTER_MM) // (card.width + GUTTER_MM))
        down = int((height - 16 + GUTTER_MM) // (card.height + GUTTER_MM))
        assert across * down <= sheet.per_page


@pytest.mark.parametrize(("paper", "card_size"), list(itertools.product(["a4", "letter"], CARD_FORMATS)))
def test_cut_marks_extend_every_card_edge_in_the_margin(paper, card_size):
    sheet = sheet_layout(paper, card_size)
    grid = (
        sheet.left - BLEED_MM,
        sheet.top - BLEED_MM,
        sheet.left + sheet.grid_width + BLEED_MM,
        sheet.top + sheet.grid_height + BLEED_MM,
    )
    marks = cut_marks(sheet)
    assert len(marks) == 4 * sheet.columns + 4 * sheet.rows  # both edges of every card, both ends
    rects = slot_rects(sheet, "front", "long", (0.0, 0.0))
    for x in {edge for rect in rects for edge in (rect[0], rect[2])}:
        vertical = [m for m in marks if m["width"] == 0 and m["left"] == pytest.approx(x, abs=1e-3)]
        assert len(vertical) == 2  # one above the grid, one below
    for y in {edge for rect in rects for edge in (rect[1], rect[3])}:
        horizontal = [m for m in marks if m["height"] == 0 and m["top"] == pytest.approx(y, abs=1e-3)]
        assert len(horizontal) == 2
    for m in marks:
        assert m["width"] + m["height"] >= 2  # visible
        assert in_the_margin(m, sheet, grid), m


def in_the_margin(mark: dict, sheet, grid: tuple[float, float, float, float]) -> bool:
    """Return True when a mark is on the paper, clear of its edge, and outside ``grid`` and its bleed."""
    left, top = mark["left"], mark["top"]
    right, bottom = left + mark["width"], top + mark["height"]
    on_paper = left >= 3.9 and top >= 3.9 and right <= sheet.width - 3.9 and bottom <= sheet.height - 3.9
    return on_paper and (bottom <= grid[1] or top >= grid[3] or right <= grid[0] or left >= grid[2])


# -- the shipped bank ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_shipped_bank_pages_are_exact_paper_and_even(paper):
    data, warnings = shipped(paper)
    pdf_reader = reader(data)
    bank = shipped_bank()
    per_page = sheet_layout(paper, "95x65").per_page
    assert per_page == {"a4": 8, "letter": 6}[paper]
    assert len(pdf_reader.pages) == 2 * -(-len(bank.questions) // per_page)
    assert len(pdf_reader.pages) % 2 == 0
    for page in pdf_reader.pages:
        assert page_size(page) == pytest.approx(PAGE_PT[paper], abs=0.01)
    # Every back of the shipped bank fits whole, the 17 key points of kubernetes-deployment too,
    # but for backs that also print their answer's diagrams: those may be shortened, with a marker.
    with_images = [
        q.id for q in bank.questions if any(f.kind == "image" for f in markup.figures(q.answer, bank.root))
    ]
    assert len(with_images) >= 3
    assert {w.message.split(":")[0] for w in warnings} <= {f"question '{qid}'" for qid in with_images}


@pytest.mark.slow
def test_landscape_preset_pages_are_landscape():
    data, warnings = shipped("a4", "index-3x5")
    assert warnings == ()
    for page in reader(data).pages:
        assert page_size(page) == pytest.approx(PAGE_PT["a4"][::-1], abs=0.01)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("paper", "card_size"),
    [("a4", "95x65"), ("letter", "95x65"), ("a4", "index-3x5"), ("letter", "business")],
)
def test_no_text_leaves_its_card_padding(paper, card_size):
    data, _ = shipped(paper, card_size)
    sheet = sheet_layout(paper, card_size)
    pages = document_runs(data)
    # Glyph boxes span the font's ascent and descent (1.2 em in Fira Sans), a hair taller than
    # the 1.12-1.18 em line boxes: half the difference sticks out above and below. An italic
    # "f" hangs its hook about 0.06 em left of where its line starts.
    tolerance = 0.08  # em
    for page, side in zip(pages, sides(len(pages), "long"), strict=True):
        rects = slot_rects(sheet, side, "long", (0.0, 0.0))
        for glyph in glyphs(page):
            if not glyph.text.strip():
                continue
            slack = tolerance * glyph.size
            inside = any(
                glyph.x0 >= (left + PADDING_MM) * MM - slack
                and glyph.x1 <= (right - PADDING_MM) * MM + slack
                and glyph.top >= (top + PADDING_MM) * MM - slack
                and glyph.bottom <= (bottom - PADDING_MM) * MM + slack
                for left, top, right, bottom in rects
            )
            assert inside, f"{glyph} outside every card on a {side} page"


def marked_backs(data: bytes, sheet, ids: set[str]) -> dict[str, bool]:
    """Return, for every back card of a PDF, its question id and whether it shows the ``MORE`` marker.

    A card is the slot rectangle that holds the run printing a question's id;
    its text is every glyph whose centre lies in that rectangle.
    """
    found = {}
    pages = document_runs(data)
    for page, side in zip(pages, sides(len(pages), "long"), strict=True):
        if side != "back":
            continue
        rects = slot_rects(sheet, side, "long", (0.0, 0.0))
        for qid, run in id_runs(page, ids).items():
            x, y = (run.glyphs[0].x0 + run.glyphs[0].x1) / 2, (run.glyphs[0].top + run.glyphs[0].bottom) / 2
            (rect,) = [r for r in rects if r[0] * MM <= x <= r[2] * MM and r[1] * MM <= y <= r[3] * MM]
            left, top, right, bottom = (edge * MM for edge in rect)
            text = "".join(
                g.text
                for g in glyphs(page)
                if left <= (g.x0 + g.x1) / 2 <= right and top <= (g.top + g.bottom) / 2 <= bottom
            )
            assert qid not in found, f"{qid} has two backs"
            found[qid] = squash(MORE) in squash(text)
    return found


@pytest.mark.slow
def test_exactly_the_shortened_business_cards_are_warned_about_and_marked():
    data, warnings = shipped("letter", "business")
    bank = shipped_bank()
    by_id = {q.id: q for q in bank.questions}
    marked = marked_backs(data, sheet_layout("letter", "business"), set(by_id))
    assert sorted(marked) == sorted(by_id)  # every question has its back, each found once
    shortened = {qid for qid, has_marker in marked.items() if has_marker}
    warned = {qid: w for w in warnings for qid in by_id if f"question '{qid}':" in w.message}
    assert len(warned) == len(warnings)  # each warning names one question
    assert shortened and set(warned) == shortened
    for qid, warning in warned.items():
        assert warning.severity is Severity.WARNING
        assert warning.location == by_id[qid].location
        assert MORE in warning.message


@pytest.mark.slow
def test_text_sizes_stay_at_or_above_the_floor():
    data, _ = shipped()
    sizes = [g.size for page in document_runs(data) for g in own_glyphs(page)]
    assert min(sizes) >= MIN_FONT_PT - 0.01


@pytest.mark.slow
def test_fronts_show_number_category_question_difficulty_and_backs_the_key_points():
    data, _ = shipped()
    pages = document_runs(data)
    bank = shipped_bank()
    front_text, back_text = page_text(pages[0]), page_text(pages[1])
    for question in bank.questions[:8]:
        category = bank.category(question.category)
        assert squash(question.question) in squash(front_text)
        assert f"#{question.number}" in squash(front_text)
        assert squash(category.title.upper()) in squash(front_text)
        assert question.difficulty.label in front_text
        assert squash(question.key_points[0].title.upper()) in squash(back_text)
        assert squash(question.question) not in squash(back_text)
        assert question.id in front_text and question.id in back_text


@pytest.mark.slow
def test_one_layout_suffices_for_the_shipped_bank(monkeypatch):
    """Shrink-to-fit estimates well enough that the default build lays the document out once."""
    calls = []
    real_layout = pdf.layout

    def counting(*args, **kwargs):
        calls.append(1)
        return real_layout(*args, **kwargs)

    monkeypatch.setattr(pdf, "layout", counting)
    rendered = render_flashcards(shipped_bank(), "deck", options())
    # The one back too long for the card at the smallest type is shortened by the estimate,
    # not by a second layout: it is still warned about, and shows the marker.
    assert len(calls) == 1
    (warning,) = rendered.warnings
    assert "'serving-at-scale'" in warning.message and MORE in warning.message


ALL_SIZES = list(itertools.product(["a4", "letter"], CARD_FORMATS))


@pytest.mark.slow
@pytest.mark.parametrize(("paper", "card_size"), ALL_SIZES)
def test_no_text_overlaps_and_every_back_keeps_its_summary(paper, card_size):
    data, _ = shipped(paper, card_size)
    pages = document_runs(data)
    for number, page in enumerate(pages, start=1):
        assert not overlapping_runs(page), f"page {number}: {overlapping_runs(page)[:3]}"
    backs = squash(" ".join(page_text(page) for page in pages[1::2]))
    for question in shipped_bank().questions:
        assert squash(markup.plain_text(question.summary)) in backs, question.id


@pytest.mark.slow
@pytest.mark.parametrize(("paper", "card_size"), [("a4", "95x65"), ("letter", "business")])
def test_type_snaps_to_the_card_sizes_steps(paper, card_size):
    data, _ = shipped(paper, card_size)
    card = CARD_FORMATS[card_size]
    pages = document_runs(data)
    footer = {6.0, 7.0, 7.5}  # ids, numbers and difficulty; the band's category
    back_sizes = {round(g.size, 2) for page in pages[1::2] for g in own_glyphs(page)}
    front_sizes = {round(g.size, 2) for page in pages[0::2] for g in own_glyphs(page)}
    assert back_sizes <= set(card.back_steps) | footer
    assert front_sizes <= set(card.front_steps) | footer
    assert 2 <= len(card.back_steps) <= 3 and 2 <= len(card.front_steps) <= 3


@pytest.mark.slow
def test_backs_print_no_border_and_front_bands_bleed_into_the_gutter_only():
    data, _ = shipped()
    sheet = sheet_layout("a4", "95x65")
    # A back page draws no line of its own: nothing to show drift. Only the answers' diagrams and
    # formulas draw there, inside the cards' padding.
    backs = slot_rects(sheet, "back", "long", (0.0, 0.0))
    for rect in page_rects(data, 1):
        assert any(
            c[0] + PADDING_MM - 0.1 <= rect[0]
            and rect[2] <= c[2] - PADDING_MM + 0.1
            and c[1] + PADDING_MM - 0.1 <= rect[1]
            and rect[3] <= c[3] - PADDING_MM + 0.1
            for c in backs
        ), rect
    cards = slot_rects(sheet, "front", "long", (0.0, 0.0))
    bands = [r for r in page_rects(data, 0) if r[2] - r[0] > 10 and r[3] - r[1] > 3]
    assert len(bands) == sheet.per_page
    for band in bands:
        (card,) = [c for c in cards if c[0] - 2 < band[0] < c[2] and c[1] - 2 < band[1] < c[3]]
        # Past the cut line by BLEED_MM on the top and both sides, never past half the gutter.
        assert band[0] == pytest.approx(card[0] - BLEED_MM, abs=0.05)
        assert band[2] == pytest.approx(card[2] + BLEED_MM, abs=0.05)
        assert band[1] == pytest.approx(card[1] - BLEED_MM, abs=0.05)
        assert BLEED_MM <= GUTTER_MM / 2


# -- duplex registration ------------------------------------------------------------------------


def registration(data, paper, card_size, duplex, offset=(0.0, 0.0)):
    """Yield (question id, front rect, back rect) in mm, locating each card by its printed id.

    The id is printed at the same place on both sides of a card (bottom right,
    inside the padding), so the card's rectangle follows from the id's
    position: on a front page the grid is known, which gives the id's offset
    from its card's corner; that offset places the back card.
    """
    sheet = sheet_layout(paper, card_size)
    pages = document_runs(data)
    ids = {q.id for q in shipped_bank().questions}
    labels = sides(len(pages), duplex)
    fronts = [p for p, side in zip(pages, labels, strict=True) if side == "front"]
    backs = [p for p, side in zip(pages, labels, strict=True) if side == "back"]
    card = sheet.card
    for front, back in zip(fronts, backs, strict=True):
        front_ids, back_ids = id_runs(front, ids), id_runs(back, ids)
        assert set(front_ids) == set(back_ids)
        rects = slot_rects(sheet, "front", duplex, offset)
        for qid, run in front_ids.items():
            x, y = anchor(run)
            (rect,) = [r for r in rects if r[0] < x < r[2] and r[1] < y < r[3]]
            dx, dy = rect[2] - x, rect[3] - y
            assert dx == pytest.approx(PADDING_MM, abs=0.1)  # the id sits in the padding corner
            bx, by = anchor(back_ids[qid])
            back = (bx + dx - card.width, by + dy - card.height, bx + dx, by + dy)
            yield qid, rect, back, sheet


@pytest.mark.slow
@pytest.mark.parametrize("paper", ["a4", "letter"])
@pytest.mark.parametrize("duplex", ["long", "short"])
def test_backs_sit_at_the_mirrored_position_of_their_fronts(paper, duplex):
    data, _ = shipped(paper, duplex=duplex)
    seen = 0
    for _qid, front, back, sheet in registration(data, paper, "95x65", duplex):
        if duplex == "long":  # portrait page, flipped on its long edge: columns mirror
            expected = (sheet.width - front[2], front[1], sheet.width - front[0], front[3])
        else:  # flipped on the short edge: rows mirror
            expected = (front[0], sheet.height - front[3], front[2], sheet.height - front[1])
        assert back == pytest.approx(expected, abs=0.5)
        seen += 1
    assert seen == len(shipped_bank().questions)


@pytest.mark.slow
def test_long_edge_flip_of_a_landscape_page_mirrors_rows():
    """Index cards print on landscape pages, whose long edge runs along the rows."""
    data, _ = shipped("a4", "index-3x5", "long")
    for _qid, front, back, sheet in registration(data, "a4", "index-3x5", "long"):
        expected = (front[0], sheet.height - front[3], front[2], sheet.height - front[1])
        assert back == pytest.approx(expected, abs=0.5)


@pytest.mark.slow
def test_duplex_none_prints_every_front_then_every_back_in_the_same_slots():
    data, _ = shipped(duplex="none")
    pages = document_runs(data)
    bank = shipped_bank()
    ids = [q.id for q in bank.questions]
    half = len(pages) // 2
    assert len(pages) == 4 and half == 2  # 13 cards, 8 per A4 page
    for index in range(half):
        expected = ids[8 * index : 8 * (index + 1)]
        front_text = page_text(pages[index])
        assert bank.questions[8 * index].question.split()[0] in front_text  # a front: questions
        assert set(id_runs(pages[index], set(ids))) == set(expected)
        assert set(id_runs(pages[half + index], set(ids))) == set(expected)
    for _qid, front, back, _sheet in registration(data, "a4", "95x65", "none"):
        assert back == pytest.approx(front, abs=0.5)


@pytest.mark.slow
def test_back_offset_shifts_only_back_pages():
    offset = (1.5, -2.0)
    plain, _ = shipped()
    shifted, _ = shipped(back_offset=offset)
    ids = {q.id for q in shipped_bank().questions}
    for index, (page, moved) in enumerate(zip(document_runs(plain), document_runs(shifted), strict=True)):
        before, after = id_runs(page, ids), id_runs(moved, ids)
        shift = offset if index % 2 else (0.0, 0.0)
        for qid, run in before.items():
            (x, y), (x2, y2) = anchor(run), anchor(after[qid])
            assert (x2 - x, y2 - y) == pytest.approx(shift, abs=0.05)


def test_back_offset_beyond_the_margin_warns():
    rendered = render_flashcards(make_bank(), "deck", options(back_offset=(12.0, 0.0)))
    assert [w.severity for w in rendered.warnings] == [Severity.WARNING]
    assert "back offset" in rendered.warnings[0].message


# -- small banks --------------------------------------------------------------------------------


def test_artifact_name_and_even_page_count_for_a_partial_page():
    questions = [make_question(n) for n in range(1, 10)]  # 9 cards: two sheets of 8 slots
    rendered = render_flashcards(make_bank(questions), "custom", options(paper="a4"))
    (artifact,) = rendered.artifacts
    assert artifact.name == "custom-flashcards.pdf"
    pages = document_runs(artifact.data)
    assert len(pages) == 4
    last_back = id_runs(pages[3], {"q9"})
    assert set(last_back) == {"q9"}
    # q9 is the first slot of its front page; on the long-edge back it moves to the right column.
    assert anchor(id_runs(pages[2], {"q9"})["q9"])[0] < 105 < anchor(last_back["q9"])[0]


def test_an_overflowing_card_warns_naming_the_question():
    long_item = "A key point that goes on and on about gradients, shards and replicas " * 4
    groups = tuple(KeyPointGroup(f"g{i}", f"Group {i}", (long_item,) * 6, cloze=False) for i in range(4))
    wordy = make_question(2, id="wordy-question", key_points=groups)
    rendered = render_flashcards(make_bank([make_question(1), wordy]), "deck", options())
    (warning,) = rendered.warnings
    assert warning.severity is Severity.WARNING
    assert "'wordy-question'" in warning.message and "back" in warning.message
    assert warning.location == wordy.location
    # The back is shortened, never overprinted: the summary stays, a marker says more exists.
    back = document_runs(rendered.artifacts[0].data)[1]
    assert squash(MORE) in squash(page_text(back)) and squash(wordy.summary) in squash(page_text(back))
    assert not overlapping_runs(back)


def test_a_front_that_cannot_fit_fails_the_render():
    endless = make_question(1, question="How " + "and then what " * 120 + "?")
    with pytest.raises(GeneratorError, match="front of its flashcard does not fit"):
        render_flashcards(make_bank([endless]), "deck", options())


def test_long_text_shrinks_but_never_below_the_floor():
    item = "Shards, replicas and buckets overlap communication with computation"
    groups = (
        KeyPointGroup("g", "Group", (item,) * 8, cloze=False),
        KeyPointGroup("h", "More", (item,) * 8, cloze=False),
    )
    bank = make_bank([make_question(1, key_points=groups), make_question(2)])
    rendered = render_flashcards(bank, "deck", options(card_size="business"))
    assert rendered.warnings == ()
    back = document_runs(rendered.artifacts[0].data)[1]
    assert min(g.size for g in glyphs(back)) >= MIN_FONT_PT - 0.01
    size = {run.text.strip(): run.glyphs[0].size for run in back}
    assert MIN_FONT_PT <= size["GROUP"] < size["POINTS"]  # the wordy back shrank, the short one did not


def test_unknown_options_are_refused():
    with pytest.raises(
        ValueError, match="unknown card size 'poster'; choose from 95x65, index-3x5, business"
    ):
        render_flashcards(make_bank(), "deck", options(card_size="poster"))
    with pytest.raises(ValueError, match="unknown duplex 'sideways'; choose from long, short, none"):
        render_flashcards(make_bank(), "deck", options(duplex="sideways"))


# -- duplex calibration -------------------------------------------------------------------------


def seen_from_front(rect, sheet, duplex, shift):
    """Return where a back page's rectangle lands, seen from the front, when the printer shifts backs."""
    left, top, right, bottom = rect[0] + shift[0], rect[1] + shift[1], rect[2] + shift[0], rect[3] + shift[1]
    if (duplex == "long") != sheet.landscape:  # flipped over the vertical axis
        return sheet.width - right, top, sheet.width - left, bottom
    return left, sheet.height - bottom, right, sheet.height - top


def calibration_reading(data, sheet, duplex, shift) -> tuple[float, float]:
    """Read the calibration sheet as a person would: the labels of the rows the back's lines meet."""
    labels = []
    for run in document_runs(data)[0]:
        text = run.text.strip()
        if text.lstrip("+-").replace(".", "").isdigit():
            x = sum(g.x0 + g.x1 for g in run.glyphs) / 2 / len(run.glyphs) / MM
            y = sum(g.top + g.bottom for g in run.glyphs) / 2 / len(run.glyphs) / MM
            labels.append((float(text), x, y))
    fronts = page_rects(data, 0)
    backs = [seen_from_front(r, sheet, duplex, shift) for r in page_rects(data, 1)]
    reading = []
    for axis in (0, 1):  # 0: vertical lines, read across x; 1: horizontal lines, read across y
        other = 1 - axis

        def along(rect, axis=axis):
            return (rect[axis] + rect[axis + 2]) / 2

        def length(rect, other=other):
            return rect[other + 2] - rect[other]

        def thin(rect, axis=axis):
            return rect[axis + 2] - rect[axis] < 0.5

        (back,) = [r for r in backs if thin(r) and length(r) > 50]
        rows = [r for r in fronts if thin(r) and 2 < length(r) < 6]
        assert len(rows) == 21
        met = min(rows, key=lambda r: abs(along(r) - along(back)))
        assert abs(along(met) - along(back)) < 0.1  # a line meets exactly
        # Its label: in the same row (X) or column (Y), before the staircase.
        centre = (met[other] + met[other + 2]) / 2
        before = [label for label in labels if label[1 + axis] < along(met) - 3]
        value = min(before, key=lambda label: abs(label[1 + other] - centre))
        reading.append(value[0])
    return reading[0], reading[1]


@pytest.mark.parametrize(
    ("paper", "card_size", "duplex"),
    [("a4", "95x65", "long"), ("letter", "95x65", "short"), ("a4", "index-3x5", "long")],
)
@pytest.mark.parametrize("shift", [(1.5, -2.0), (-3.0, 0.5)])
def test_calibration_sheet_reads_the_offset_that_cancels_the_printers_shift(paper, card_size, duplex, shift):
    sheet = sheet_layout(paper, card_size)
    data = render_calibration(options(paper=paper, card_size=card_size, duplex=duplex)).artifacts[0].data
    assert len(reader(data).pages) == 2
    reading = calibration_reading(data, sheet, duplex, shift)
    assert reading == (-shift[0], -shift[1])
    # Printed again with that offset, the sheet reads the same offset: the backs now sit right.
    fixed = render_calibration(options(paper=paper, card_size=card_size, duplex=duplex, back_offset=reading))
    assert calibration_reading(fixed.artifacts[0].data, sheet, duplex, shift) == reading


def test_calibration_needs_a_duplex_mode():
    with pytest.raises(ValueError, match="duplex"):
        render_calibration(options(duplex="none"))


def _drawn(data: bytes) -> list[list[tuple]]:
    """Return each page's glyphs as (text, box, size, face), the face without its subset's tag."""
    return [
        [
            (g.text, g.x0, g.x1, g.top, g.bottom, g.size, g.font.split("+")[-1])
            for run in page
            for g in run.glyphs
        ]
        for page in document_runs(data)
    ]


@pytest.mark.parametrize("duplex", ["long", "none"])
def test_a_sheet_laid_out_in_batches_prints_the_same_pages_as_one_layout(duplex, monkeypatch):
    """A large bank's sheet is laid out a few pages at a time (its memory stays that of one batch).

    Here one sheet (a front page and its back) per batch: the joined PDF has
    every page in the whole layout's order, each drawn alike, the same page
    sizes and metadata, and the same bytes each time.
    """
    from generator.render import flashcards

    whole, _ = shipped(duplex=duplex)
    monkeypatch.setattr(flashcards, "BATCH_PAGES", 2)
    batched = render_flashcards(shipped_bank(), "deck", options(duplex=duplex)).artifacts[0].data
    again = render_flashcards(shipped_bank(), "deck", options(duplex=duplex)).artifacts[0].data

    assert batched != whole  # joined from separate layouts, not laid out at once
    assert batched == again
    assert len(reader(whole).pages) == len(reader(batched).pages) == 4
    assert _drawn(batched) == _drawn(whole)
    assert [page_size(p) for p in reader(batched).pages] == [page_size(p) for p in reader(whole).pages]
    assert reader(batched).metadata == reader(whole).metadata
