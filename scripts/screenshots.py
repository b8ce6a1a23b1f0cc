"""Render the README's previews: page 1 of the built cheat sheet and flashcards, as PNG.

Reads ``<build>/<slug>-cheatsheet.pdf`` and ``<build>/<slug>-flashcards.pdf``
(the whole bank's files; ``slug`` comes from the content's ``bank.yaml``) and
writes ``<out>/cheatsheet.png`` and ``<out>/flashcards.png`` with pypdfium2.

    python scripts/screenshots.py --build build --out docs
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.build import check  # noqa: E402

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
