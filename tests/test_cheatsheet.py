"""The cheat sheet, read back from the PDF: page box and count, text, sizes, margins, header and footer."""

from __future__ import annotations

import dataclasses
import functools
import html
import re

import pytest
from factories import TEMPLATES, make_bank, make_question
from pdf_support import (
    MM,
    document_runs,
    glyphs,
    overlapping_runs,
    own_glyphs,
    page_size,
    page_text,
    reader,
    shipped_bank,
    squash,
)

from generator.errors import Severity
from generator.model import Category
from generator.render import RenderOptions, fonts, markup, pdf
from generator.render.cheatsheet import CONTINUED, TARGET_PAGES, fits_with_code, render_cheatsheet, snippet

EPOCH = 1_700_000_000  # 2023-11-14 22:13:20 UTC
PAGE_PT = {"a4": (595.28, 841.89), "letter": (612.0, 792.0)}


def options(**changes) -> RenderOptions:
    return RenderOptions(templates=TEMPLATES, epoch=EPOCH, **changes)


@functools.cache
def shipped(paper="a4"):
    """Render the shipped bank's cheat sheet once per paper: (pdf bytes, warnings)."""
    rendered = render_cheatsheet(shipped_bank(), "deck", options(paper=paper))
    return rendered.artifacts[0].data, rendered.warnings


def plain(markdown: str) -> str:
    """Return inline Markdown as the text a reader sees."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup.markdown_inline(markdown)))


def is_code(glyph) -> bool:
    return "Mono" in glyph.font


@pytest.mark.slow
@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_shipped_bank_fits_two_exact_pages(paper):
    data, warnings = shipped(paper)
    pages = reader(data).pages
    assert len(shipped_bank().questions) == 13
    assert 1 <= len(pages) <= TARGET_PAGES
    for page in pages:
        assert page_size(page) == pytest.approx(PAGE_PT[paper], abs=0.01)
    assert warnings == ()


@pytest.mark.slow
@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_every_question_appears_exactly_once_with_its_summary_and_key_points(paper):
    data, _ = shipped(paper)
    text = squash(" ".join(page_text(page) for page in document_runs(data)))
    for question in shipped_bank().questions:
        assert text.count(squash(plain(question.question))) == 1, question.id
        assert squash(plain(question.summary)) in text
        for group in question.key_points:
            assert squash(group.title.upper()) in text
            for item in group.items:
                assert squash(plain(item)) in text


@pytest.mark.slow
@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_type_sizes_stay_at_or_above_the_floors(paper):
    data, _ = shipped(paper)
    everything = [g for page in document_runs(data) for g in own_glyphs(page) if g.text.strip()]
    body = [g.size for g in everything if not is_code(g)]
    code = [g.size for g in everything if is_code(g)]
    assert min(body) >= 7 - 0.01
    assert code and min(code) >= 6.5 - 0.01
    # Question headings are at least 9 pt: find each question's glyphs in the page's glyph stream
    # (a ligature is one glyph of several characters, so map characters to glyphs).
    found = 0
    for page in document_runs(data):
        owners = [g for g in glyphs(page) if g.text.strip() for _ in g.text]
        joined = "".join(g.text for g in glyphs(page) if g.text.strip())
        for question in shipped_bank().questions:
            wanted = squash(plain(question.question))
            start = joined.find(wanted)
            if start >= 0:
                found += 1
                assert min(g.size for g in owners[start : start + len(wanted)]) >= 9 - 0.01
    assert found == len(shipped_bank().questions)


@pytest.mark.slow
@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_nothing_is_printed_within_10mm_of_the_paper_edge(paper):
    data, _ = shipped(paper)
    width, height = PAGE_PT[paper]
    margin = 10 * MM - 0.05  # pt: text set flush with the page area ends a rounding error past it
    for page in document_runs(data):
        for g in glyphs(page):
            if g.text.strip():
                assert margin <= g.x0 and g.x1 <= width - margin, g
                assert margin <= g.top and g.bottom <= height - margin, g


@pytest.mark.slow
def test_header_and_footer_carry_title_version_build_date_and_page_x_of_y():
    data, _ = shipped()
    bank = shipped_bank()
    pages = document_runs(data)
    for number, page in enumerate(pages, start=1):
        text = page_text(page)
        assert bank.title in text
        assert f"Page {number} of {len(pages)}" in text
        assert f"Version {bank.version}" in text
        assert "built 2023-11-14 UTC" in text
        top = min(g.top for g in glyphs(page) if g.text.strip())
        title = next(run for run in page if run.text == bank.title)
        assert title.top == pytest.approx(top, abs=0.5)  # the title heads the page


@pytest.mark.slow
def test_categories_appear_in_bank_order_as_named_bands_before_their_questions():
    data, _ = shipped()
    bank = shipped_bank()
    text = squash(" ".join(page_text(page) for page in document_runs(data)))
    positions = []
    for category, questions in bank.by_category():
        band = text.find(squash(category.title.upper()))
        assert band >= 0, category.title
        for question in questions:
            assert text.find(squash(plain(question.question))) > band
        positions.append(band)
    assert positions == sorted(positions)


def test_small_selections_show_the_start_of_their_code_and_the_whole_bank_does_not():
    small = make_bank()
    rendered = render_cheatsheet(small, "small", options())
    assert rendered.artifacts[0].name == "small-cheatsheet.pdf"
    text = squash(page_text(document_runs(rendered.artifacts[0].data)[0]))
    assert "defanswer():" in text and "return1" in text
    bank = shipped_bank()
    snippets = {q.id: snippet(q) for q in bank.questions if q.examples}
    metrics = fonts.metrics(TEMPLATES)
    assert not fits_with_code(bank, snippets, "a4", metrics)
    assert not fits_with_code(bank, snippets, "letter", metrics)


def test_snippets_keep_at_most_the_first_lines():
    code = "".join(f"line_{n} = {n}\n" for n in range(20))
    question = make_question(1)
    example = dataclasses.replace(question.examples[0], code=code)
    text, language = snippet(dataclasses.replace(question, examples=(example,)))
    assert language == "python"
    assert text.splitlines()[:5] == [f"line_{n} = {n}" for n in range(5)]
    assert text.splitlines()[-1] == "..." and len(text.splitlines()) == 6


def test_markup_in_content_is_printed_as_text_not_html():
    question = make_question(1, question="Why is <b>this</b> & `that` safe?", summary="A <i>summary</i>.")
    rendered = render_cheatsheet(make_bank([question]), "deck", options())
    text = squash(page_text(document_runs(rendered.artifacts[0].data)[0]))
    assert squash("Why is <b>this</b> & that safe?") in text
    assert squash("A <i>summary</i>.") in text


def test_a_bank_too_long_for_two_pages_is_warned_about():
    long_items = tuple(f"Key point {n}: " + "words that keep on going " * 12 for n in range(6))
    base = make_question(1)
    groups = tuple(dataclasses.replace(g, items=long_items) for g in base.key_points)
    questions = [make_question(n, key_points=groups) for n in range(1, 13)]
    rendered = render_cheatsheet(make_bank(questions), "deck", options())
    pages = len(reader(rendered.artifacts[0].data).pages)
    assert pages > TARGET_PAGES
    (warning,) = rendered.warnings
    assert warning.severity is Severity.WARNING
    assert f"{pages} pages" in warning.message


def test_unreadable_category_colours_fall_back_and_light_ones_get_dark_text():
    categories = (
        Category("alpha", "Alpha", "#ffee55", "Light."),
        Category("beta", "Beta", "red; background: url(x)", "Hostile."),
    )
    bank = make_bank(categories=categories)
    rendered = render_cheatsheet(bank, "deck", options())
    assert rendered.warnings == ()
    text = page_text(document_runs(rendered.artifacts[0].data)[0])
    assert "ALPHA" in text and "BETA" in text


def test_unknown_paper_is_refused():
    with pytest.raises(ValueError, match="unknown paper 'a3'; choose from a4, letter"):
        render_cheatsheet(make_bank(), "deck", options(paper="a3"))


# -- filling the columns --------------------------------------------------------------------------

MARGINS_MM = {"top": 15.0, "bottom": 14.5}


@functools.cache
def subset_sheet(subset: str | None, paper: str):
    """Render the cheat sheet of the shipped bank or one of its subsets: its PDF bytes."""
    from generator.build import select_subset
    from generator.model import Selection

    bank = shipped_bank()
    if subset:
        bank = select_subset(bank, Selection(), subset)
    return render_cheatsheet(bank, "deck", options(paper=paper)).artifacts[0].data, bank


def column_fill(page_runs, paper: str) -> list[float]:
    """Return how much of each column's height a page's text uses, from the top margin down (0-1)."""
    width, height = (PAGE_PT[paper][0] / MM, PAGE_PT[paper][1] / MM)
    top, bottom = MARGINS_MM["top"], height - MARGINS_MM["bottom"]
    columns: dict[int, float] = {0: top, 1: top}
    for glyph in glyphs(page_runs):
        y = glyph.bottom / MM
        if glyph.text.strip() and top - 0.5 < glyph.top / MM and y < bottom + 0.5:
            column = 0 if glyph.x0 / MM < width / 2 else 1
            columns[column] = max(columns[column], y)
    return [(used - top) / (bottom - top) for used in columns.values()]


SHEETS = [(subset, paper) for subset in (None, "hard", "core", "mlops") for paper in ("a4", "letter")]


@pytest.mark.slow
@pytest.mark.parametrize(("subset", "paper"), SHEETS)
def test_columns_fill_every_page_but_the_last(subset, paper):
    data, _ = subset_sheet(subset, paper)
    pages = document_runs(data)
    assert len(pages) <= TARGET_PAGES
    for number, page in enumerate(pages[:-1], start=1):
        fill = column_fill(page, paper)
        # A key-point group never splits, and the longest (9 lines) is a tenth of a column.
        assert sum(fill) / len(fill) >= 0.88, f"page {number}: columns {fill}"
    for number, page in enumerate(pages, start=1):
        assert not overlapping_runs(page), f"page {number}: {overlapping_runs(page)[:3]}"
        assert min(g.size for g in own_glyphs(page) if g.text.strip()) >= 6.5 - 0.01


def column_of(run, paper: str) -> int:
    return 0 if run.glyphs[0].x0 / MM < PAGE_PT[paper][0] / MM / 2 else 1


def first_lines(page_runs, paper: str) -> dict[int, list]:
    """Return the runs of each column's first line of text on a page, by column (0 or 1)."""
    top, bottom = MARGINS_MM["top"], PAGE_PT[paper][1] / MM - MARGINS_MM["bottom"]
    lines: dict[int, list] = {}
    for run in page_runs:
        if not run.text.strip() or not top - 0.5 < run.top / MM < bottom:
            continue  # the running header and footer
        line = lines.setdefault(column_of(run, paper), [run])
        if run.top < line[0].top - 1:
            lines[column_of(run, paper)] = [run]
        elif abs(run.top - line[0].top) <= 1 and run is not line[0]:
            line.append(run)
    return lines


@pytest.mark.slow
@pytest.mark.parametrize(("subset", "paper"), SHEETS)
def test_a_question_continued_in_the_next_column_says_so(subset, paper):
    data, bank = subset_sheet(subset, paper)
    numbers = {str(q.number) for q in bank.questions}
    starts = {}  # question number -> (page, column) of its heading
    labels = 0
    for index, page in enumerate(document_runs(data)):
        previous = ""
        for run in page:
            text = run.text.strip()
            column = column_of(run, paper)
            if text in numbers and run.glyphs[0].size == pytest.approx(9.0):  # a heading's number
                starts[text] = (index, column)
            if text.endswith("(cont.)"):
                labels += 1
                number = (text.split()[0] if text != "(cont.)" else previous).strip()
                assert number in starts and starts[number] != (index, column)
                # The label is the first line of its column.
                assert run.top / MM < MARGINS_MM["top"] + 4
            previous = text
        # So a column starts with a category's band (9.5 pt), a question's heading (9 pt) or a label.
        for column, line in first_lines(page, paper).items():
            text = " ".join(run.text.strip() for run in line)
            starts_a_question = max(g.size for run in line for g in run.glyphs) >= 9.0 - 0.01
            assert starts_a_question or "(cont.)" in text, (index, column, text)
    assert len(starts) == len(bank.questions)
    if subset is None:  # the whole bank breaks questions across columns on both papers
        assert labels > 0


@pytest.mark.slow
@pytest.mark.parametrize("paper", ["a4", "letter"])
def test_the_sheet_is_laid_out_once_with_its_labels(paper, monkeypatch):
    """Every part of a question has room for its label, so one layout places every break.

    The labels it needs are laid out after it, on a page of their own.
    """
    sheets, pages_of_labels = [], []
    real_layout = pdf.layout

    def counting(html, **kwargs):
        (sheets if 'id="q-' in html else pages_of_labels).append(html.count(CONTINUED))
        return real_layout(html, **kwargs)

    monkeypatch.setattr(pdf, "layout", counting)
    data = render_cheatsheet(shipped_bank(), "deck", options(paper=paper)).artifacts[0].data
    shown = squash(" ".join(page_text(page) for page in document_runs(data))).count(CONTINUED)
    assert len(sheets) == 1 and sheets[0] == 0  # the sheet itself holds no label
    assert pages_of_labels == [shown] and shown > 0


@pytest.mark.slow
def test_sheet_code_wraps_within_its_column_with_a_mark_and_a_hanging_indent():
    data, bank = subset_sheet("mlops", "a4")  # a selection small enough to show its code
    assert any(q.id for q in bank.questions)
    width = PAGE_PT["a4"][0] / MM
    marks = 0
    for page in document_runs(data):
        for run in page:
            # The mark may come from the symbols face, in a run of its own.
            if run.text.lstrip().startswith(markup.CONTINUATION):
                marks += 1
            code = [g for g in run.glyphs if is_code(g) and g.text.strip()]
            if not code:
                continue
            left = min(g.x0 for g in code) / MM
            right = max(g.x1 for g in code) / MM
            # Inside the column that holds it (10 mm margins, 5 mm gap).
            assert right <= (width / 2 - 2.5 if left < width / 2 else width - 10) + 0.2, run.text
    assert marks > 0


def test_an_author_chooses_what_the_sheet_shows():
    question = make_question(1)
    code = "def answer():\n    '''Explain.'''\n    x = 1\n    return x\n"
    example = dataclasses.replace(question.examples[0], code=code)
    default, _ = snippet(dataclasses.replace(question, examples=(example,)))
    assert default == "def answer():\n    x = 1\n    return x"  # docstrings and blank lines left out
    marked = dataclasses.replace(example, sheet_code="    x = 1\n")
    chosen, _ = snippet(dataclasses.replace(question, examples=(marked,)))
    assert chosen == "    x = 1"
