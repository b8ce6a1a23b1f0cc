"""What the Anki cards show: the answer side's order, cloze deletions of key terms, readable code colours."""

from __future__ import annotations

import re

import pytest
from anki_support import import_package, open_collection, write_package
from browser_support import visible_text
from factories import TEMPLATES, make_bank, make_question

from generator.model import KeyPointGroup
from generator.render import markup
from generator.render.anki import FIRST_SCREEN_LINES, open_groups

EPOCH = 1_700_000_000


@pytest.fixture
def imported(tmp_path):
    """Return a function that imports a bank's deck into a fresh collection and returns the collection."""
    with open_collection(tmp_path / "collection.anki2") as col:

        def run(bank):
            import_package(col, write_package(bank, tmp_path, EPOCH, TEMPLATES))
            return col

        yield run


def cards_of(col, note_type: str):
    return [col.get_card(cid) for cid in sorted(col.find_cards(f'"note:Test Bank ({note_type})"'))]


def test_cloze_deletes_the_key_term_with_the_group_as_hint(imported):
    group = KeyPointGroup(
        "strategies",
        "Strategies",
        ("**Data parallelism**: same model, different batches", "plain `torchrun` item", "no term at all"),
        cloze=True,
    )
    col = imported(make_bank([make_question(1, key_points=(group,))]))
    cards = cards_of(col, "cloze")
    assert [card.ord for card in cards] == [0, 1, 2]  # stable numbers: c1, c2, c3 by position
    front = visible_text(cards[0].question())
    # The term is hidden behind its hint; its explanation and the other items stay visible.
    assert "[Strategies]" in front and "Data parallelism" not in front
    assert ": same model, different batches" in front and "no term at all" in front
    back = cards[0].answer()
    revealed = re.findall(r'<span class="cloze"[^>]*>(.*?)</span>', back)
    assert revealed == ["Data parallelism"]  # only the term is styled as the answer
    # Without bold, the first code span is the term; without either, the whole item.
    assert re.findall(r'<span class="cloze"[^>]*>(.*?)</span>', cards[1].answer()) == ["torchrun"]
    assert re.findall(r'<span class="cloze"[^>]*>(.*?)</span>', cards[2].answer()) == ["no term at all"]


def test_answer_side_leads_with_summary_and_key_points_and_folds_the_rest(imported):
    col = imported(make_bank([make_question(1)]))
    (card,) = cards_of(col, "question")
    back = card.answer()
    markers = ('class="summary"', 'class="key-points"', '<details class="answer"')
    order = [back.index(marker) for marker in markers]
    assert order == sorted(order)
    for section in ("answer", "examples", "follow-ups", "pitfalls"):
        assert re.search(rf'<details class="{section}">', back), section  # closed until tapped
    note = card.note()
    assert note["Source"].endswith(".yaml")  # a maintainer still sees it in the browser
    assert note["Source"] not in back and "content/" not in visible_text(back)


def test_groups_past_a_phones_first_screen_fold_to_their_titles():
    long_item = "x" * 70  # two phone lines
    groups = tuple(KeyPointGroup(f"g{i}", f"G{i}", (long_item,) * 3, cloze=False) for i in range(4))
    question = make_question(1, key_points=groups)
    shown = open_groups(question)
    assert shown == 1
    assert open_groups(make_question(1, key_points=groups[:1])) == 1
    small = tuple(KeyPointGroup(f"g{i}", f"G{i}", ("short",), cloze=False) for i in range(3))
    assert open_groups(make_question(1, key_points=small)) == 3
    # The first group and three folded titles fit; two open groups (7 + 7 lines) do not.
    assert 7 + 3 <= FIRST_SCREEN_LINES < 7 + 7 + 2


def _palette_rules(css: str, scope: str) -> tuple[str, dict[str, str]]:
    """Return the code background and each token rule's colour of one palette in a style sheet.

    A rule may serve several scopes at once (``.nightMode .code .k, .night_mode .code .k``).
    """
    prefix = f"{scope} .code".strip()
    background, colours = None, {}
    for selectors, body in re.findall(r"^([^{}\n]+?) ?{([^}]*)}", css, re.M):
        for selector in (part.strip() for part in selectors.split(",")):
            if selector == prefix and background is None:
                found = re.search(r"background: (#[0-9A-Fa-f]+)", body)
                background = found.group(1) if found else None
            elif re.fullmatch(rf"{re.escape(prefix)} \.[\w-]+", selector):
                colour = re.search(r"(?<![-\w])color: (#[0-9A-Fa-f]+)", body)
                own_background = re.search(r"background-color: (#[0-9A-Fa-f]+)", body)
                if colour and selector != f"{prefix} .hll":
                    colours[selector] = (colour.group(1), own_background.group(1) if own_background else None)
    assert background is not None
    return background, {key: (fg, bg or background) for key, (fg, bg) in colours.items()}


@pytest.mark.parametrize("scope", ["", ".nightMode", ".night_mode"])
def test_every_code_colour_in_the_shipped_deck_reads_at_wcag_aa(imported, scope):
    col = imported(make_bank([make_question(1)]))
    css = col.models.by_name("Test Bank (question)")["css"]
    _, colours = _palette_rules(css, scope)
    assert len(colours) > 40  # the whole palette, not a handful of rules
    faint = {
        selector: round(markup.contrast(fg, bg), 2)
        for selector, (fg, bg) in colours.items()
        if markup.contrast(fg, bg) < markup.AA_CONTRAST
    }
    assert not faint


def test_readable_keeps_good_colours_and_darkens_faint_ones():
    assert markup.readable("#000000", "#ffffff") == "#000000"
    faint = "#60a0b0"  # Pygments "friendly" comments: 2.6:1 on its #f0f0f0
    assert markup.contrast(faint, "#f0f0f0") < 3
    fixed = markup.readable(faint, "#f0f0f0")
    assert 4.5 <= markup.contrast(fixed, "#f0f0f0") < 5.0  # just enough, so the hue survives
    assert markup.contrast(markup.readable("#444444", "#272822"), "#272822") >= 4.5  # lightened on dark


def test_print_code_wraps_at_the_width_with_a_mark_and_hanging_indent():
    code = "def f():\n    return compute(alpha_value, beta_value, gamma_value, delta_value)\n"
    html = str(markup.highlight(code, "python", width=30))
    rows = visible_text(html).split("\n")
    assert all(len(row) <= 30 for row in rows)
    assert rows[0] == "def f():" and rows[1].startswith("    return compute(")
    assert all(row.startswith("    ↪ ") for row in rows[2:]) and len(rows) > 2
    # Nothing is lost: the rows put back together are the code.
    joined = rows[1] + "".join(row.removeprefix("    ↪ ") for row in rows[2:])
    assert joined.replace(" ", "") == code.splitlines()[1].replace(" ", "")
