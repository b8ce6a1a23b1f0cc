"""Every card of the shipped deck in headless Chromium, as a learner sees it on a phone and a desktop.

The cards are rendered by the real Anki library and laid out by Debian's
Chromium (Anki's own engine on desktop and, through the system WebView, on
Android), at 375 px and 1,000 px, in light and night mode. Nothing may scroll
sideways, no two lines of text may overlap, and the answer side's summary and
key points must be on its first 667 px screen.

CI always runs these tests: there (``CI=true``) a missing Chromium is a
failure. On a machine without it they are reported as skipped, never passed.
"""

from __future__ import annotations

import pytest
from anki_support import import_package, open_collection, write_package
from browser_support import (
    DESKTOP,
    PHONE,
    SCREEN,
    browser,
    card_sides,
    measure,
    page_html,
    require_chromium,
)
from factories import CONTENT, TEMPLATES

from generator.build import check

pytestmark = pytest.mark.slow

EPOCH = 1_700_000_000


@pytest.fixture(scope="module")
def chromium():
    """Yield a Chromium page; skip (fail under CI) when Chromium is not installed."""
    require_chromium("the card browser tests")
    with browser() as instance:
        yield instance.new_page()


@pytest.fixture(scope="module")
def sides(tmp_path_factory):
    """Both sides of every card of the shipped deck, as Anki renders them."""
    folder = tmp_path_factory.mktemp("browser")
    package = write_package(check(CONTENT).bank, folder, EPOCH, TEMPLATES)
    with open_collection(folder / "collection.anki2") as col:
        import_package(col, package)
        return card_sides(col)


MODES = [(width, night) for width in (PHONE, DESKTOP) for night in (False, True)]
IDS = [f"{width}px-{'night' if night else 'light'}" for width, night in MODES]


@pytest.mark.parametrize(("width", "night"), MODES, ids=IDS)
def test_no_card_scrolls_sideways_or_overlaps_even_with_every_section_open(chromium, sides, width, night):
    assert len(sides) > 100  # every card of the deck, both sides
    problems = []
    for side in sides:
        seen = [measure(chromium, side, width, night)]
        if side.side == "answer":
            seen.append(measure(chromium, side, width, night, opened=True))
        for found in seen:
            if found["pageOverflow"] > 0 or found["wide"]:
                problems.append(f"{side.label} {side.side}: scrolls sideways {found['wide'][:3]}")
            if found["overlaps"]:
                problems.append(f"{side.label} {side.side}: text overlaps {found['overlaps'][:3]}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("width", "night"), MODES, ids=IDS)
def test_summary_and_key_points_are_on_the_answers_first_screen(chromium, sides, width, night):
    answers = [s for s in sides if s.side == "answer" and "(question)" in s.label]
    assert len(answers) == len(check(CONTENT).bank.questions)
    late = []
    for side in answers:
        found = measure(chromium, side, width, night)
        assert found["summaryBottom"] is not None and found["keyPointsBottom"] is not None, side.label
        if max(found["summaryBottom"], found["keyPointsBottom"]) > SCREEN:
            late.append(f"{side.label}: key points end at {found['keyPointsBottom']:.0f} px")
    assert not late, "\n".join(late)


def test_code_wraps_with_a_marked_hanging_indent_on_a_phone(chromium, sides):
    # A line too long for a phone wraps inside the code box: its continuation rows start right
    # of the line's own indentation, and a continuation mark is drawn in front of them.
    side = next(s for s in sides if s.side == "answer" and 'class="code"' in s.html)
    chromium.set_viewport_size({"width": PHONE, "height": SCREEN})
    chromium.set_content(page_html(side, night=False))
    chromium.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    lines = chromium.evaluate(
        """() => Array.from(document.querySelectorAll('.code .line')).map(line => {
             const probe = document.createElement('span');
             probe.textContent = '0'.repeat(10);
             line.parentElement.appendChild(probe);
             const ch = probe.getBoundingClientRect().width / 10;
             probe.remove();
             const range = document.createRange();
             range.selectNodeContents(line);
             const rects = Array.from(range.getClientRects()).filter(r => r.width > 0);
             const top = Math.min(...rects.map(r => r.top));
             const later = rects.filter(r => r.top > top + 1);
             const mark = getComputedStyle(line, '::before');
             return {start: line.getBoundingClientRect().left, ch,
                     indent: line.textContent.length - line.textContent.trimStart().length,
                     continuation: later.length ? Math.min(...later.map(r => r.left)) : null,
                     mark: mark.content, markHeight: parseFloat(mark.height)};
           })"""
    )
    wrapped = [line for line in lines if line["continuation"] is not None]
    assert wrapped, "no code line wraps at 375 px"
    for line in lines:
        if line["continuation"] is None:
            assert line["markHeight"] <= 0.5  # no mark on a line that fits
            continue
        assert line["mark"] == '"\u21aa"' and line["markHeight"] > 0
        # Continuation rows hang right of the line's own indentation, past the mark.
        assert line["continuation"] >= line["start"] + (line["indent"] + 2.5) * line["ch"]
