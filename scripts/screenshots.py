"""Render the README's previews from the real outputs, as PNG.

Reads ``<build>/<slug>-cheatsheet.pdf``, ``<build>/<slug>-flashcards.pdf`` and
``<build>/<slug>.apkg`` (the whole bank's files; ``slug`` comes from the
content's ``bank.yaml``) and writes ``<out>/cheatsheet.png`` and
``<out>/flashcards.png`` (page 1, with pypdfium2), ``<out>/calibration.png``
(the duplex calibration sheet, written to ``<build>`` as ``prepdeck build
--calibrate`` does), and ``<out>/card-phone-light.png`` and
``<out>/card-phone-night.png``: the first question's answer side as Anki shows
it on a 375 x 667 phone screen, in Debian's Chromium; ``<out>/card-formula-light.png``
and ``<out>/card-formula-night.png``: the part of a phone card (the first whose
answer shows a diagram) from its first displayed formula to that diagram, with
the pictures loaded from the collection's media folder as in Anki; and
``<out>/cheatsheet-figures.png``: that question's block of a cheat sheet, with
its formulas and diagrams; and ``<out>/site.png``: the study site's index
(``<build>/<slug>-site/``) in a desktop window.

    python scripts/screenshots.py --build build --out docs
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "tests"))

from generator.build import BuildRequest, calibrate, check  # noqa: E402

log = logging.getLogger("screenshots")

#: Output name -> the built PDF's suffix after the bank's slug.
PREVIEWS = {"cheatsheet.png": "-cheatsheet.pdf", "flashcards.png": "-flashcards.pdf"}
DPI = 110


def render_page(pdf: Path, png: Path, dpi: int = DPI, page: int = 0) -> tuple[int, int]:
    """Render one page of ``pdf`` to ``png`` at ``dpi``; return the image's size in pixels."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        image = document[page].render(scale=dpi / 72).to_pil()
    finally:
        document.close()
    png.parent.mkdir(parents=True, exist_ok=True)
    image.save(png, optimize=True)
    return image.size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--build", type=Path, default=ROOT / "build", help="the build directory")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where the PNGs go")
    parser.add_argument("--content", type=Path, default=ROOT / "content", help="the bank, for its slug")
    parser.add_argument("--dpi", type=int, default=DPI)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    try:
        import pypdfium2  # noqa: F401
    except ImportError:
        log.error("screenshots need pypdfium2: .venv/bin/python -m pip install pypdfium2")
        return 1
    slug = check(args.content).bank.slug
    missing = [args.build / f"{slug}{suffix}" for suffix in PREVIEWS.values()]
    missing = [path for path in missing if not path.is_file()]
    if missing:
        log.error("missing %s: run `make build` first", ", ".join(str(p) for p in missing))
        return 1
    for name, suffix in PREVIEWS.items():
        source, target = args.build / f"{slug}{suffix}", args.out / name
        width, height = render_page(source, target, args.dpi)
        log.info("%s -> %s (%d x %d px)", source, target, width, height)
    sheet_block(args.content, args.build, args.out / "cheatsheet-figures.png")
    (sheet,) = calibrate(BuildRequest(out=args.build)).files
    width, height = render_page(sheet, args.out / "calibration.png", args.dpi)
    log.info("%s -> %s (%d x %d px)", sheet, args.out / "calibration.png", width, height)
    site = args.build / f"{slug}-site" / "index.html"
    if not site.is_file():
        log.error("missing %s: run `make build` first", site)
        return 1
    return phone_cards(args.build / f"{slug}.apkg", args.out) or site_index(site, args.out / "site.png")


def site_index(index: Path, target: Path) -> int:
    """Screenshot the study site's index as a desktop browser shows it (light mode)."""
    from browser_support import browser

    with browser() as instance:
        page = instance.new_page(viewport={"width": 1000, "height": 720}, color_scheme="light")
        page.goto(index.resolve().as_uri())
        page.screenshot(path=str(target))
    log.info("%s -> %s", index, target)
    return 0


def _with_diagram(content: Path) -> str:
    """Return the id of the first question whose answer shows a diagram and a displayed formula."""
    from generator.render import markup

    bank = check(content).bank
    for question in bank.questions:
        kinds = {figure.kind for figure in markup.figures(question.answer, bank.root)}
        if kinds == {"image", "math"}:
            return question.id
    raise SystemExit("no question's answer shows both a diagram and a formula")


def sheet_block(content: Path, build_dir: Path, png: Path, dpi: int = 220) -> None:
    """Render one question's cheat-sheet block (its column, trimmed) to ``png``."""
    from PIL import Image as PILImage
    from PIL import ImageChops

    from generator.build import build
    from generator.model import OutputKind, Selection
    from generator.render.cheatsheet import _MARGINS_MM, _column_text_mm

    qid = _with_diagram(content)
    out = build_dir / "screenshots"
    request = BuildRequest(
        content=content,
        out=out,
        selection=Selection(ids=frozenset({qid})),
        name="figures",
        outputs=frozenset({OutputKind.CHEATSHEET}),
    )
    (pdf,) = build(request).files
    render_page(pdf, png, dpi)
    with PILImage.open(png) as image:
        px = dpi / 25.4
        top, _, bottom, left = _MARGINS_MM
        box = (
            int(left * px) - 4,
            int(top * px),
            int((left + _column_text_mm("a4") + 2.5) * px),
            image.height - int(bottom * px),
        )
        block = image.crop(box)
        ink = ImageChops.difference(block.convert("RGB"), PILImage.new("RGB", block.size, "white")).getbbox()
        block = block.crop((0, 0, block.width, min(block.height, ink[3] + 12))) if ink else block
        block.save(png, optimize=True)
    log.info("%s (%s) -> %s (%d x %d px)", pdf, qid, png, block.width, block.height)


_FIGURE_CLIP = """
() => {
  const formula = document.querySelector('.prepdeck-answer img.prepdeck-math[alt*="frac"]')
               || document.querySelector('img.prepdeck-math');
  const picture = document.querySelector('img.prepdeck-image');
  const a = formula.closest('p').getBoundingClientRect(), b = picture.getBoundingClientRect();
  const top = Math.max(0, Math.min(a.top, b.top) + window.scrollY - 8);
  const bottom = Math.max(a.bottom, b.bottom) + window.scrollY + 12;
  return {x: 0, y: top, width: document.documentElement.clientWidth, height: bottom - top};
}
"""


def phone_cards(package: Path, out: Path) -> int:
    """Screenshot the first question's answer side on a phone screen, light and night."""
    import tempfile

    from anki_support import import_package, open_collection
    from browser_support import PHONE, SCREEN, browser, card_sides, chromium_available, page_html

    if not chromium_available():
        log.error("phone previews need Debian's chromium and playwright (apt-get install chromium)")
        return 1
    qid = _with_diagram(ROOT / "content")
    with (
        tempfile.TemporaryDirectory(prefix="prepdeck-screens-") as tmp,
        open_collection(Path(tmp) / "collection.anki2") as col,
    ):
        import_package(col, package)
        sides = card_sides(col)
        side = next(s for s in sides if s.side == "answer" and "(question)" in s.label)
        figured = next(
            s
            for s in sides
            if s.side == "answer" and s.label.startswith(f"{qid} ") and "(question)" in s.label
        )
        media_page = Path(tmp) / "collection.media" / "_preview.html"
        with browser() as instance:
            page = instance.new_page(viewport={"width": PHONE, "height": SCREEN}, device_scale_factor=2)
            for mode, night in (("light", False), ("night", True)):
                target = out / f"card-phone-{mode}.png"
                page.set_content(page_html(side, night))
                page.screenshot(path=str(target))
                log.info("%s (%s) -> %s", side.label, mode, target)
                # A card with a formula and a diagram, loaded from the media folder as in Anki.
                media_page.write_text(page_html(figured, night), encoding="utf-8")
                page.goto(media_page.as_uri(), wait_until="load")
                page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
                target = out / f"card-formula-{mode}.png"
                page.screenshot(path=str(target), clip=page.evaluate(_FIGURE_CLIP), full_page=True)
                log.info("%s (%s) -> %s", figured.label, mode, target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
