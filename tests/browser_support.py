"""Show Anki cards in headless Chromium as Anki does, and measure what a learner sees.

Cards come from the real Anki library (a package imported into a collection,
then ``card.question()``/``card.answer()``), so the HTML is exactly what Anki
renders, cloze deletions and conditional sections included. Each side goes into
a page like Anki's reviewer: the note type's CSS, ``<body class="card card1">``,
and ``nightMode night_mode`` on the body in night mode (Anki desktop and
AnkiMobile use the first class, AnkiDroid the second).

Chromium is Debian's ``chromium`` package driven by Playwright; Playwright's
own browser download is never used.
"""

from __future__ import annotations

import html
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("PREPDECK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: The widths the cards are checked at: a 375 px phone and a desktop window.
PHONE, DESKTOP = 375, 1000
#: The height of a 375 x 667 phone screen: the first screen of a side.
SCREEN = 667


@dataclass(frozen=True, slots=True)
class CardSide:
    """One side of one card as Anki renders it."""

    label: str  # e.g. "distributed-training question/answer"
    side: str  # "question" | "answer"
    html: str  # the side's HTML, as card.question()/card.answer() returns it
    css: str  # the note type's CSS


def chromium_available() -> bool:
    """Return True when the Chromium binary and Playwright are both installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)


def card_sides(collection) -> list[CardSide]:
    """Return both sides of every card of an Anki collection, in card order."""
    sides = []
    for cid in sorted(collection.find_cards("")):
        card = collection.get_card(cid)
        note = card.note()
        label = f"{note['Id']} {note.note_type()['name']} card {card.ord + 1}"
        css = card.note_type()["css"]
        sides.append(CardSide(label, "question", card.question(), css))
        sides.append(CardSide(label, "answer", card.answer(), css))
    return sides


def page_html(side: CardSide, night: bool) -> str:
    """Return a whole page showing one card side as Anki's reviewer does."""
    body_class = "card card1" + (" nightMode night_mode" if night else "")
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>html,body{{margin:0}}{side.css}</style></head>"
        f'<body class="{body_class}"><div id="qa">{side.html}</div></body></html>'
    )


def require_chromium(what: str) -> None:
    """Skip the calling test when Chromium is missing; under CI=true, fail it instead."""
    if chromium_available():
        return
    message = f"Chromium and Playwright are needed for {what} (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI must run them")
    pytest.skip(f"not run: {message}")


@contextmanager
def browser() -> Iterator[object]:
    """Yield a Playwright Chromium browser (Debian's binary)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


# Measures one side in the page; returns plain numbers and lists the tests assert on.
_MEASURE = """
() => {
  const doc = document.documentElement;
  const result = {height: doc.scrollHeight, pageOverflow: doc.scrollWidth - doc.clientWidth};
  // Any element whose content is wider than its box: it scrolls or clips sideways.
  result.wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const over = el.scrollWidth - el.clientWidth;
    if (el.clientWidth > 0 && over > 1) {
      result.wide.push({tag: el.tagName.toLowerCase(), cls: el.className, over});
    }
  }
  result.codeOverflow = Math.max(0, ...Array.from(document.querySelectorAll('.code, .code pre'),
                                                  el => el.scrollWidth - el.clientWidth));
  const bottom = sel => {
    const el = document.querySelector(sel);
    if (!el) return null;
    const r = el.getBoundingClientRect();
    return r.height > 0 ? r.bottom + window.scrollY : null;
  };
  result.summaryBottom = bottom('.prepdeck-answer .summary');
  result.keyPointsBottom = bottom('.prepdeck-answer .key-points');
  // Every line box of every visible text node; two of different nodes must not overlap.
  const rects = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node, index = 0;
  while ((node = walker.nextNode())) {
    index += 1;
    if (!node.textContent.trim()) continue;
    const shown = {contentVisibilityAuto: true, visibilityProperty: true};
    if (!node.parentElement.checkVisibility(shown)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width > 0.5 && r.height > 0.5) {
        rects.push({node: index, text: node.textContent.trim().slice(0, 30),
                    l: r.left, t: r.top, r: r.right, b: r.bottom});
      }
    }
  }
  result.overlaps = [];
  for (let i = 0; i < rects.length; i++) {
    for (let j = i + 1; j < rects.length; j++) {
      const a = rects[i], b = rects[j];
      if (a.node === b.node) continue;
      const w = Math.min(a.r, b.r) - Math.max(a.l, b.l), h = Math.min(a.b, b.b) - Math.max(a.t, b.t);
      if (w > 1 && h > 2) result.overlaps.push([a.text, b.text]);
    }
  }
  return result;
}
"""


def measure(page, side: CardSide, width: int, night: bool, opened: bool = False) -> dict:
    """Lay out one side at ``width`` px and return its measurements (see ``_MEASURE``).

    With ``opened``, every ``<details>`` is opened first, as a learner who taps them all.
    """
    page.set_viewport_size({"width": width, "height": SCREEN})
    page.set_content(page_html(side, night), wait_until="load")
    if opened:
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    return page.evaluate(_MEASURE)


def visible_text(fragment: str) -> str:
    """Return the text of an HTML fragment, tags removed."""
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", fragment))
