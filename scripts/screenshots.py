"""Render the README's previews from the real outputs, as PNG.

Reads ``<build>/<slug>-cheatsheet.pdf``, ``<build>/<slug>-flashcards.pdf`` and
``<build>/<slug>.apkg`` (the whole bank's files; ``slug`` comes from the
content's ``bank.yaml``) and writes ``<out>/cheatsheet.png`` and
``<out>/flashcards.png`` (page 1, with pypdfium2), ``<out>/calibration.png``
(the duplex calibration sheet, written to ``<build>`` as ``prepdeck build
--calibrate`` does), and ``<out>/card-phone-light.png`` and
``<out>/card-phone-night.png``: the first question's answer side as Anki shows
it on a 375 x 667 phone screen, in Debian's Chromium.

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
    (sheet,) = calibrate(BuildRequest(out=args.build)).files
    width, height = render_page(sheet, args.out / "calibration.png", args.dpi)
    log.info("%s -> %s (%d x %d px)", sheet, args.out / "calibration.png", width, height)
    return phone_cards(args.build / f"{slug}.apkg", args.out)


def phone_cards(package: Path, out: Path) -> int:
    """Screenshot the first question's answer side on a phone screen, light and night."""
    import tempfile

    from anki_support import import_package, open_collection
    from browser_support import PHONE, SCREEN, browser, card_sides, chromium_available, page_html

    if not chromium_available():
        log.error("phone previews need Debian's chromium and playwright (apt-get install chromium)")
        return 1
    with (
        tempfile.TemporaryDirectory(prefix="prepdeck-screens-") as tmp,
        open_collection(Path(tmp) / "collection.anki2") as col,
    ):
        import_package(col, package)
        sides = card_sides(col)
    side = next(s for s in sides if s.side == "answer" and "(question)" in s.label)
    with browser() as instance:
        page = instance.new_page(viewport={"width": PHONE, "height": SCREEN}, device_scale_factor=2)
        for mode, night in (("light", False), ("night", True)):
            target = out / f"card-phone-{mode}.png"
            page.set_content(page_html(side, night))
            page.screenshot(path=str(target))
            log.info("%s (%s) -> %s", side.label, mode, target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
