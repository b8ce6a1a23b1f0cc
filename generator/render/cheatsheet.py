"""Render the printable cheat sheet: every question of a bank on two pages.

Questions are grouped by category in bank order, each group under a band in
the category's colour that names it in text, so the sheet reads in greyscale.
The layout is two CSS columns with ``column-fill: auto``: WeasyPrint's
balanced columns lay a page out many times over and are an order of magnitude
slower. So that columns fill, a question may break between its key-point
groups (never inside one, nor between its heading and summary); the part in
the next column starts with the question's number and "(cont.)". Every part of
a question has room for that label at its top, which its first part's heading
covers (see templates/css/cheatsheet.css), so one layout places every break.
The labels that layout needs are then laid out on their own, a few lines, and
moved into that room.

Each question's first code example is shown, as its author marked it for the
sheet or else its first lines without docstrings, only when a cheap estimate
says the sheet stays well within two pages with them (smaller selections),
and only if it then really does. Long lines wrap at the column's width with a
continuation mark and a hanging indent.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence

from weasyprint.formatting_structure import boxes

from generator.errors import Problem, Severity
from generator.model import Artifact, Bank, Paper, Question
from generator.render import Rendered, RenderOptions, fonts, pdf

log = logging.getLogger(__name__)

TEMPLATE = "cheatsheet.html.j2"

#: The cheat sheet of a whole bank should fit on this many pages.
TARGET_PAGES = 2

#: At most this many lines of a question's first example appear on the sheet, unless its author marked them.
CODE_LINES = 6
#: An answer's image is at most this tall on the sheet (mm); it scales to the column's width.
FIGURE_MM = 27.0
#: A question's part after a column or page break is labelled with its number and this.
CONTINUED = "(cont.)"

# Geometry of templates/css/cheatsheet.css, for the estimate (mm and pt); tests/test_stylesheet_numbers.py
# reads each from the stylesheet and compares.
_MARGINS_MM = (15.0, 10.0, 14.5, 10.0)  # @page margin: top right bottom left
_COLUMNS = 2
_GAP_MM = 5.0
_INDENT_MM = 1.4 + 1.2 / pdf.PT_PER_MM  # .question padding-left and its 1.2 pt border-left
_BODY_PT, _HEADING_PT, _CODE_PT = 7.0, 9.0, 6.5
_BAND_MM = 9.5 * 1.25 / pdf.PT_PER_MM + 2 * 0.5 + 1.2  # .band: a 9.5 pt line of 1.25, padding, margin
_LINE = 1.15
_QUESTION_GAP_MM = 2.0 + 0.4 + 0.6  # margins below the question, its heading and summary
_GROUP_GAP_MM = 0.3
_CODE_PAD_MM = 0.6 + 2 * 0.6  # .code margin-top, padding-top and padding-bottom
_CODE_SIDE_MM = 1.2  # .code padding-left and padding-right
# Use code only if the estimated sheet, code included, fills at most this
# share of the target pages: columns end early because questions do not split.
_CODE_FILL = 0.7


def render_cheatsheet(bank: Bank, stem: str, options: RenderOptions) -> Rendered:
    """Render ``{stem}-cheatsheet.pdf`` for ``bank``; warn if it runs past two pages."""
    snippets = _snippets(bank, options)
    document = _layout(bank, options, snippets)
    if snippets and len(document.pages) > TARGET_PAGES:
        log.debug("cheat sheet with code has %d pages; leaving the code out", len(document.pages))
        del document  # before the next layout, not after it: a large sheet's boxes take hundreds of MB
        pdf.release()
        document = _layout(bank, options, {})
    _label_continued(document, bank, options)  # only the layout that is kept
    name = f"{stem}-cheatsheet.pdf"
    pages = len(document.pages)
    warnings: list[Problem] = [*fonts.missing_glyphs(document, bank)]
    if pages > TARGET_PAGES:
        message = (
            f"cheat sheet {name} has {pages} pages (target {TARGET_PAGES}); shorten summaries or key points"
        )
        warnings.append(Problem(message, None, Severity.WARNING))
    log.debug("%s: %d pages", name, pages)
    return Rendered((Artifact(name, pdf.pdf_bytes(document, options.epoch)),), tuple(warnings))


def _layout(bank: Bank, options: RenderOptions, snippets: dict[str, tuple[str, str]]):
    """Lay the sheet out, once: every part of a question already has room for its label."""
    return pdf.layout(_html(bank, options, snippets), templates=options.templates, content=bank.root)


def cheatsheet_html(bank: Bank, options: RenderOptions) -> str:
    """Return the cheat sheet's HTML as laid out (the template filled in; nothing fetched yet)."""
    return _html(bank, options, _snippets(bank, options))


def layout_input(bank: Bank, options: RenderOptions) -> str:
    """Return what the sheet's layouts consume: the layout engine, the HTML with code and without, and labels.

    The page of "(cont.)" labels holds the labels of some questions, as the
    layout decides: with every question's label here, the PDF is a function of
    this text and the files the layouts read (the build's cache keys the sheet by it).
    """
    snippets = _snippets(bank, options)
    html = [_html(bank, options, snippets)]
    if snippets:
        html.append(_html(bank, options, {}))
    html.append(_html(bank, options, {}, labels=[q.number for q in bank.questions]))
    return "\0".join([pdf.engine(), *html])


def _snippets(bank: Bank, options: RenderOptions) -> dict[str, tuple[str, str]]:
    """Return each question's code for the sheet by id, or nothing when the estimate says it would not fit."""
    paper = Paper.of(options.paper)  # a ValueError for anything else
    snippets = {q.id: snippet(q) for q in bank.questions if q.examples}
    return snippets if fits_with_code(bank, snippets, paper, fonts.metrics(options.templates)) else {}


def _html(
    bank: Bank, options: RenderOptions, snippets: dict[str, tuple[str, str]], labels: Sequence[int] = ()
) -> str:
    """Return the sheet's HTML; with ``labels``, a page of only those questions' "(cont.)" labels."""
    count = len(bank.questions)
    page = {
        "bank": bank,
        "continued": CONTINUED,
        "paper": options.paper,
        "created": pdf.w3c_date(options.epoch),
        "header": f"Cheat sheet · {count} question{'' if count == 1 else 's'}",
        "footer": f"Version {bank.version} · built {pdf.build_date(options.epoch)} UTC",
    }
    if labels:
        return pdf.render_template(options.templates, TEMPLATE, labels=labels, **page)
    groups = []
    for category, questions in bank.by_category():
        colour = pdf.safe_colour(category.colour)
        groups.append(
            {"category": category, "colour": colour, "ink": pdf.ink_on(colour), "questions": questions}
        )
    return pdf.render_template(
        options.templates,
        TEMPLATE,
        labels=(),
        groups=groups,
        snippets=snippets,
        figures={q.id: _figures(bank, q, options.paper) for q in bank.questions},
        code_width=code_columns(options.paper, fonts.metrics(options.templates)),
        **page,
    )


def _figures(bank: Bank, question: Question, paper: Paper) -> dict[str, list[dict]]:
    """Return the answer's formulas and images for the sheet, each image at the column's width."""
    return pdf.figures(question.answer, bank.root, _column_text_mm(paper), FIGURE_MM)


def _column_text_mm(paper: Paper) -> float:
    width, _ = pdf.PAPER_MM[paper]
    _, right, _, left = _MARGINS_MM
    return (width - left - right - (_COLUMNS - 1) * _GAP_MM) / _COLUMNS - _INDENT_MM


def code_columns(paper: Paper, metrics: fonts.Metrics) -> int:
    """Return how many characters of code fit one line of a column (code wraps beyond it)."""
    width, _ = pdf.PAPER_MM[paper]
    _, right, _, left = _MARGINS_MM
    column_mm = (width - left - right - (_COLUMNS - 1) * _GAP_MM) / _COLUMNS
    text_mm = column_mm - _INDENT_MM - 2 * _CODE_SIDE_MM
    return int(text_mm * pdf.PT_PER_MM / (_CODE_PT * metrics.mono))


def _label_continued(document, bank: Bank, options: RenderOptions) -> None:
    """Put a "(cont.)" label at the top of every part of a question that follows a break.

    Each part has room for it there (``.question`` in templates/css/cheatsheet.css).
    The labels are laid out apart, as a page of empty questions with the sheet's
    stylesheet and fonts, so the sheet's layout carries none of the labels it
    might have needed (a 1,000-question sheet needs some 90, and would lay out
    1,000); each then moves to the same place in its part.
    """
    numbers = {f"q-{q.id}": q.number for q in bank.questions}
    parts = [
        (numbers[element.get("id")], part)
        for element, fragments in _fragments(document)
        for part in _after_heading(fragments)
    ]
    if not parts:
        return
    html = _html(bank, options, {}, labels=[number for number, _ in parts])
    page = pdf.layout(html, templates=options.templates, content=bank.root, font_config=document.font_config)
    labels = [
        (fragments[0], label)  # an empty question never breaks
        for _, fragments in _fragments(page)
        for label in fragments[0].children
        if _has_class(label, "continued")
    ]
    if len(labels) != len(parts):  # a template without the labels' page
        log.warning('the cheat sheet\'s template laid out %d of %d "(cont.)" labels', len(labels), len(parts))
    for (_, part), (question, label) in zip(parts, labels, strict=False):
        label.translate(
            part.padding_box_x() - question.padding_box_x(), part.padding_box_y() - question.padding_box_y()
        )
        part.children = [label, *part.children]


def _fragments(document) -> Iterable[tuple[object, list]]:
    """Return each question's element and boxes, in reading order: one per column or page it spans."""
    fragments: dict[object, list] = {}  # question element -> its fragments
    for page in document.pages:
        for box in pdf.descendants(page._page_box):
            # An anonymous box shares its parent's element, but not its position.
            question = _has_class(box, "question") and box.style["position"] == "relative"
            if question and isinstance(box, boxes.BlockBox):
                fragments.setdefault(box.element, []).append(box)
    return fragments.items()


def _after_heading(fragments: list) -> Iterator:
    """Yield the fragments of a question after the one that holds its heading."""
    headed = False
    for fragment in fragments:
        if headed:
            yield fragment
        else:
            headed = any(_has_class(child, "head") for child in fragment.children)


def _has_class(box, name: str) -> bool:
    element = getattr(box, "element", None)  # a laid-out box, or the placeholder of one out of flow
    return element is not None and element.get("class") == name


_DOCSTRING = re.compile(r'^\s*[rbuRBU]?("""|\'\'\')(.*?)\1[ \t]*\n', re.S | re.M)


def snippet(question: Question) -> tuple[str, str]:
    """Return the code the sheet shows for a question, and its language.

    The author's choice (``sheet:`` in the example) as it is; else the first
    ``CODE_LINES`` lines of the first example without its docstrings and blank
    lines, so the sheet shows what the code does rather than its signature's
    documentation.
    """
    example = question.examples[0]
    if example.sheet_code:
        return example.sheet_code.rstrip("\n"), example.language
    code = example.code
    if example.language == "python":
        code = _DOCSTRING.sub("", code)
    lines = [line for line in code.rstrip("\n").splitlines() if line.strip()]
    if len(lines) > CODE_LINES:
        lines = [*lines[: CODE_LINES - 1], "..."]
    return "\n".join(lines), example.language


def _figures_mm(figures: dict[str, list[dict]]) -> float:
    """Return the estimated height of a question's figures on the sheet, in mm."""
    height = sum(image["height"] + _GROUP_GAP_MM for image in figures["images"])
    if figures["formulas"]:
        # Formulas sit side by side in one paragraph: estimate one row each (the usual case).
        height += sum(f["height"] * _BODY_PT * _LINE / pdf.PT_PER_MM for f in figures["formulas"])
    return height


def fits_with_code(
    bank: Bank, snippets: dict[str, tuple[str, str]], paper: Paper, metrics: fonts.Metrics
) -> bool:
    """Return True if the sheet with ``snippets`` is estimated to fill at most ``_CODE_FILL`` of two pages."""
    if not snippets:
        return False
    width, height = pdf.PAPER_MM[paper]
    top, right, bottom, left = _MARGINS_MM
    column_mm = (width - left - right - (_COLUMNS - 1) * _GAP_MM) / _COLUMNS
    column_height_mm = height - top - bottom
    text_em = (column_mm - _INDENT_MM) * pdf.PT_PER_MM  # the column's width in pt, per 1 pt of type

    def lines(markdown: str, size: float, bold: bool = False) -> int:
        return metrics.wrapped_lines(metrics.word_widths(markdown, bold), text_em / size)

    total = _BAND_MM * len(bank.by_category())
    for q in bank.questions:
        height_pt = lines(q.question, _HEADING_PT, bold=True) * _HEADING_PT * _LINE
        height_pt += (
            lines(f"{q.difficulty.label} · {q.rarity.label} {q.summary}", _BODY_PT) * _BODY_PT * _LINE
        )
        for group in q.key_points:
            words = metrics.key_point_words(group.title, group.items)
            height_pt += metrics.wrapped_lines(words, text_em / _BODY_PT) * _BODY_PT * _LINE
        total += height_pt / pdf.PT_PER_MM + _QUESTION_GAP_MM + _GROUP_GAP_MM * len(q.key_points)
        total += _figures_mm(_figures(bank, q, paper))
        if q.id in snippets:
            code_em = text_em / _CODE_PT / metrics.mono
            rows = sum(max(1, -(-len(line) // int(code_em))) for line in snippets[q.id][0].splitlines())
            total += rows * _CODE_PT * _LINE / pdf.PT_PER_MM + _CODE_PAD_MM
    capacity = TARGET_PAGES * _COLUMNS * column_height_mm
    log.debug("cheat sheet estimate with code: %.0f of %.0f mm", total, capacity)
    return total <= _CODE_FILL * capacity
