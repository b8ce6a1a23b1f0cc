"""The shipped deck's images and formulas in headless Chromium, as a learner sees them on a phone.

The deck is imported into the real Anki library, and each card side that shows
an image or a formula is opened from the collection's media folder, as Anki's
reviewer shows it, so the pictures really load. At 375 px, with every folded
section open, no picture may reach past its card; in night mode a formula is
drawn in the card's (light) text colour, not black on the dark card.

Like the other browser tests, these are skipped without Chromium and fail
under CI=true.
"""

from __future__ import annotations

import io

import pytest
from anki_support import import_package, open_collection, write_package
from browser_support import PHONE, SCREEN, browser, card_sides, page_html, require_chromium
from factories import CONTENT, TEMPLATES

from generator.build import check

pytestmark = pytest.mark.slow

EPOCH = 1_700_000_000

# Every picture on the page: loaded or not, its box, and the box of the card it sits in.
_PICTURES = """
() => Array.from(document.querySelectorAll('img.prepdeck-image, img.prepdeck-math'), img => {
  const card = img.closest('.prepdeck');
  const style = getComputedStyle(card);
  const box = card.getBoundingClientRect();
  const r = img.getBoundingClientRect();
  return {
    kind: img.className, src: img.getAttribute('src'),
    loaded: img.complete && img.naturalWidth > 0,
    left: r.left, right: r.right, width: r.width, height: r.height,
    cardLeft: box.left + parseFloat(style.paddingLeft),
    cardRight: box.right - parseFloat(style.paddingRight),
    pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  };
})
"""


@pytest.fixture(scope="module")
def chromium():
    require_chromium("the image and formula browser tests")
    with browser() as instance:
        yield instance.new_page()


@pytest.fixture(scope="module")
def deck(tmp_path_factory):
    """The card sides that show a picture, and the collection's media folder they load from."""
    folder = tmp_path_factory.mktemp("media-browser")
    package = write_package(check(CONTENT).bank, folder, EPOCH, TEMPLATES)
    with open_collection(folder / "collection.anki2") as col:
        import_package(col, package)
        sides = [
            s for s in card_sides(col) if 'class="prepdeck-image"' in s.html or "prepdeck-math" in s.html
        ]
        return sides, folder / "collection.media"


def show(page, side, media_dir, night: bool, width: int = PHONE) -> None:
    """Open one side from the media folder, as Anki's reviewer does, with every section open."""
    path = media_dir / "_page.html"
    path.write_text(page_html(side, night), encoding="utf-8")
    page.set_viewport_size({"width": width, "height": SCREEN})
    page.goto(path.as_uri(), wait_until="load")
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")


@pytest.mark.parametrize("night", [False, True], ids=["light", "night"])
def test_no_image_or_formula_overflows_its_card_on_a_phone(chromium, deck, night):
    sides, media_dir = deck
    seen_images, seen_formulas, problems = set(), 0, []
    for side in sides:
        show(chromium, side, media_dir, night)
        for picture in chromium.evaluate(_PICTURES):
            where = f"{side.label} {side.side}: {picture['src']}"
            if not picture["loaded"] or picture["width"] < 1 or picture["height"] < 1:
                problems.append(f"{where} is not shown")
            if picture["left"] < picture["cardLeft"] - 0.5 or picture["right"] > picture["cardRight"] + 0.5:
                problems.append(
                    f"{where} reaches past its card ({picture['left']:.0f}-{picture['right']:.0f} px)"
                )
            if picture["pageOverflow"] > 0:
                problems.append(f"{where}: the page scrolls sideways")
            if picture["kind"] == "prepdeck-image":
                seen_images.add(picture["src"])
            else:
                seen_formulas += 1
    assert len(seen_images) >= 4 and seen_formulas >= 4  # the shipped diagrams and formulas
    assert not problems, "\n".join(problems[:20])


def _ink(png: bytes, background: tuple[int, int, int]) -> tuple[int, int, int]:
    """Return the colour of the screenshot's pixel farthest from the background: the glyphs' ink."""
    from PIL import Image

    data = Image.open(io.BytesIO(png)).convert("RGB").tobytes()
    pixels = (tuple(data[i : i + 3]) for i in range(0, len(data), 3))
    return max(pixels, key=lambda p: sum(abs(a - b) for a, b in zip(p, background, strict=True)))


def _rgb(css: str) -> tuple[int, int, int]:
    return tuple(int(part) for part in css[css.index("(") + 1 : css.index(")")].split(",")[:3])


@pytest.mark.parametrize("night", [False, True], ids=["light", "night"])
def test_formulas_are_drawn_in_the_text_colour(chromium, deck, night):
    sides, media_dir = deck
    side = next(s for s in sides if s.side == "answer" and "prepdeck-math" in s.html)
    show(chromium, side, media_dir, night)
    formula = chromium.locator("img.prepdeck-math").first
    formula.scroll_into_view_if_needed()
    text, background = chromium.evaluate(
        """() => {
             const img = document.querySelector('img.prepdeck-math');
             let el = img.parentElement, bg = 'rgba(0, 0, 0, 0)';
             for (let up = el; up && bg === 'rgba(0, 0, 0, 0)'; up = up.parentElement) {
               bg = getComputedStyle(up).backgroundColor;
             }
             return [getComputedStyle(el).color, bg];
           }"""
    )
    # The formula's own box, where it sits in the text (its transform only moves its shadow there).
    box = chromium.evaluate(
        """() => {
             const img = document.querySelector('img.prepdeck-math');
             const r = img.getBoundingClientRect(), t = new DOMMatrix(getComputedStyle(img).transform);
             return {x: r.x - t.m41 + scrollX, y: r.y - t.m42 + scrollY, width: r.width, height: r.height};
           }"""
    )
    ink = _ink(chromium.screenshot(clip=box, full_page=True), _rgb(background))
    # The glyphs' darkest (light mode) or brightest (night mode) pixel is the text's colour.
    assert all(abs(a - b) <= 24 for a, b in zip(ink, _rgb(text), strict=True)), (ink, text, background)


def test_a_formula_draws_the_same_glyphs_as_the_typesetter_wrote_them(chromium):
    """The formula pictures are written shorter than ziamath writes them, not drawn differently."""
    import base64

    import ziamath
    from PIL import Image, ImageChops

    from generator.render import math

    chromium.set_viewport_size({"width": 1280, "height": 800})
    for latex, display in [
        (r"\mathrm{PSI} = \sum_{i=1}^{B} (c_i - r_i)\,\ln\frac{c_i}{r_i}", True),
        (r"\delta", False),
    ]:
        ours = math.typeset(latex, display).svg
        theirs = ziamath.Latex(latex, size=20, inline=not display, margin=0.0).svg().encode()
        shots = []
        for svg in (ours, theirs):
            source = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
            chromium.set_content(
                f'<body style="margin:0;background:#fff"><img src="{source}" style="zoom:4"></body>'
            )
            shots.append(Image.open(io.BytesIO(chromium.locator("img").screenshot())).convert("L"))
        assert len(ours) < 0.7 * len(theirs)
        assert shots[0].size == shots[1].size
        # Only the anti-aliasing of a few edge pixels may differ (a tenth of a font unit).
        assert ImageChops.difference(*shots).getextrema()[1] < 64, latex
