"""WeasyPrint and Jinja2 plumbing shared by the PDF renderers.

Three things every PDF output needs, kept in one place so the cheat sheet and
the flashcards cannot drift apart:

- a URL fetcher that reads only the project's templates, the bank's content
  directory and ``data:`` URLs, so no content (or a ``<base>`` element slipped
  into it) can make a build reach the network or read other local files;
- the Jinja2 environment: autoescaping on, strict undefined, and the Markdown
  filters from :mod:`generator.render.markup`;
- deterministic PDF bytes: metadata dates come from the build epoch, the
  file identifier is a hash of the content, and so is the date inside each
  embedded font, so two builds are byte-identical with or without HarfBuzz-Subset.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import io
import logging
import mimetypes
import os
import re
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import jinja2
from fontTools import subset as font_subset
from fontTools.misc import timeTools
from fontTools.ttLib.tables import _h_e_a_d
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.document import Document
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from generator.model import COLOUR, Paper
from generator.render import markup, media, note_read

log = logging.getLogger(__name__)

#: Paper sizes in millimetres, portrait: (width, height).
PAPER_MM: dict[Paper, tuple[float, float]] = {Paper.A4: (210.0, 297.0), Paper.LETTER: (215.9, 279.4)}

#: Points (1/72 in) per millimetre.
PT_PER_MM = 72 / 25.4

_CSS_SAFE = re.compile(r"[A-Za-z0-9 .,:;!?()+=_-]")


class RefusedURL(ValueError):
    """Raised by :class:`SafeURLFetcher` for a URL it will not fetch.

    WeasyPrint catches it, logs that the resource could not be loaded and
    renders without it.
    """


class SafeURLFetcher(URLFetcher):
    """Fetch ``data:`` URLs and files under allowed directories; refuse everything else.

    A file is allowed when its real path (symlinks resolved) lies inside one of
    ``roots``. Every refused URL is logged as a warning and never opened, so an
    ``http://`` image or a ``file:///etc/…`` stylesheet costs nothing and leaks
    nothing.
    """

    def __init__(self, roots: Iterable[Path], images: tuple[Path, Path] | None = None):
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False)
        self.roots = tuple(Path(root).resolve() for root in roots)
        # (base, bank): ``media/…`` under the base URL's folder is the bank's checked image
        # or a typeset formula, served from memory (see generator.render.media).
        self.images = (images[0].resolve() / media.MEDIA_DIR, images[1]) if images else None

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        """Return the resource at ``url``, or raise :class:`RefusedURL`."""
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            # urllib's DataHandler decodes it in memory; nothing is opened.
            return super().fetch(url, headers)
        found = self.read(url) if scheme == "file" else None
        if found is not None:
            name, data, content_type = found
            note_read(name, hashlib.sha256(data).hexdigest())
            return URLFetcherResponse(url, data, {"Content-Type": content_type})
        missing = self._name(url) if scheme == "file" else None
        if missing is not None:
            note_read(missing, "")  # a file that may appear later, and change the output
        log.warning(
            "refused to fetch %s: only data: URLs and files under %s are allowed",
            url,
            ", ".join(str(root) for root in self.roots),
        )
        raise RefusedURL(f"refused to fetch {url}")

    def read(self, url: str) -> tuple[str, bytes, str] | None:
        """Return a ``file:`` URL's name (for ``render.note_read``), bytes and content type, or None.

        The name does not depend on where the roots are: ``media:<path>`` for a
        bank image or formula (below the base URL's ``media/``), else
        ``<n>:<path>`` for a file below the ``n``-th root.
        """
        parts = urlsplit(url)
        if self.images is not None and parts.netloc in ("", "localhost"):
            path = Path(url2pathname(unquote(parts.path)))
            if path.is_relative_to(self.images[0]):
                relative = path.relative_to(self.images[0].parent).as_posix()
                found = media.fetch(self.images[1], relative)
                if found is not None:
                    return f"media:{relative}", found[0], found[1]
        path = self._allowed_path(url)
        if path is None:
            return None
        index, root = next((n, root) for n, root in enumerate(self.roots) if path.is_relative_to(root))
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return f"{index}:{path.relative_to(root).as_posix()}", path.read_bytes(), content_type

    def _name(self, url: str) -> str | None:
        """Return the name a ``file:`` URL below a root would have, whether or not the file exists."""
        parts = urlsplit(url)
        path = Path(os.path.normpath(url2pathname(unquote(parts.path))))
        for index, root in enumerate(self.roots):
            if parts.netloc in ("", "localhost") and path.is_relative_to(root):
                return f"{index}:{path.relative_to(root).as_posix()}"
        return None

    def url(self, name: str) -> str:
        """Return the ``file:`` URL of a name :meth:`read` gave."""
        where, _, relative = name.partition(":")
        if where == "media":
            assert self.images is not None
            return (self.images[0].parent / relative).as_uri()
        return (self.roots[int(where)] / relative).as_uri()

    def _allowed_path(self, url: str) -> Path | None:
        """Return the real path of a ``file:`` URL if it is an existing file under a root."""
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            return None
        try:
            path = Path(url2pathname(unquote(parts.path))).resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not path.is_file():
            return None
        if any(path.is_relative_to(root) for root in self.roots):
            return path
        return None


@functools.lru_cache(maxsize=8)
def template_environment(templates: Path) -> jinja2.Environment:
    """Return the Jinja2 environment for HTML templates under ``templates``.

    Autoescaping is on for every template: content reaches HTML only through
    the ``markdown``/``markdown_inline`` filters (which escape raw HTML) or as
    escaped text. Undefined variables are errors, not empty strings.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["markdown"] = markup.markdown
    env.filters["markdown_inline"] = markup.markdown_inline
    env.filters["highlight"] = markup.highlight
    env.filters["css_string"] = css_string
    env.globals["highlight_css"] = markup.highlight_css
    return env


def render_template(templates: Path, name: str, **context) -> str:
    """Render the template ``name`` from ``templates`` with ``context``."""
    return template_environment(templates).get_template(name).render(**context)


def css_string(text: str) -> Markup:
    """Return ``text`` as a quoted CSS string, safe inside a ``<style>`` element.

    Everything but letters, digits, spaces and harmless punctuation becomes a
    six-digit CSS escape, so neither a quote nor ``</style>`` can end the string.
    Each escape ends with a space, which CSS consumes as its terminator.
    """
    escaped = "".join(ch if _CSS_SAFE.fullmatch(ch) else f"\\{ord(ch):06x} " for ch in str(text))
    return Markup(f'"{escaped}"')


def w3c_date(epoch: int) -> str:
    """Return the epoch as a W3C date-time in UTC, for ``dcterms`` meta tags."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_date(epoch: int) -> str:
    """Return the UTC calendar date of the epoch, e.g. ``2025-03-01``."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d")


def safe_colour(colour: str, fallback: str = "#555555") -> str:
    """Return ``colour`` if it is ``#rrggbb``, else ``fallback``.

    Colours go into ``style`` attributes; anything but a plain hex colour
    could smuggle CSS (a ``url()``) into the page.
    """
    return colour if COLOUR.fullmatch(colour) else fallback


def ink_on(colour: str) -> str:
    """Return black or white, whichever reads better on the background ``colour``."""
    red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "#000000" if luminance > 0.55 else "#ffffff"


def figures(
    text: str, root: Path, width_mm: float, max_height_mm: float, per_row: int = 1
) -> dict[str, list[dict]]:
    """Return the answer's figures sized for print: ``{"formulas": [...], "images": [...]}``.

    Each is a dict of ``source``, ``alt``, ``width`` and ``height`` with their
    ``unit``: a formula keeps its size in em of the type around it; an image
    scales to the column or card (``width_mm`` shared by ``per_row`` images side
    by side), no taller than ``max_height_mm``, keeping its shape.
    """
    found = markup.figures(text, root)
    images = [f for f in found if f.kind == "image"]
    slot = (width_mm - 2.0 * (min(per_row, len(images)) - 1)) / max(1, min(per_row, len(images)))
    sized: dict[str, list[dict]] = {"formulas": [], "images": []}
    for figure in found:
        if figure.kind == "math":
            size = {"width": figure.width_em, "height": figure.height_em, "unit": "em"}
            sized["formulas"].append({"source": figure.source, "alt": figure.alt, **size})
            continue
        width = min(slot, max_height_mm / figure.aspect)
        size = {"width": round(width, 2), "height": round(width * figure.aspect, 2), "unit": "mm"}
        sized["images"].append({"source": figure.source, "alt": figure.alt, **size})
    return sized


def current_reads(names: Iterable[str], *, templates: Path, content: Path) -> dict[str, str]:
    """Return the SHA-256 of what a layout would read now under each name (see ``render.recording_reads``).

    "" for a file it would not get.
    """
    fetcher = _fetcher(templates, content)
    found: dict[str, str] = {}
    for name in names:
        try:
            read = fetcher.read(fetcher.url(name))
        except (OSError, ValueError):
            read = None
        found[name] = "" if read is None or read[0] != name else hashlib.sha256(read[1]).hexdigest()
    return found


def _fetcher(templates: Path, content: Path) -> SafeURLFetcher:
    return SafeURLFetcher((templates, content), images=(templates, content))


def layout(
    html: str, *, templates: Path, content: Path, font_config: FontConfiguration | None = None
) -> Document:
    """Lay out ``html`` with WeasyPrint, fetching only from ``templates`` and ``content``.

    Relative URLs resolve against the templates directory, so a template links
    its stylesheet as ``css/name.css``. A document whose boxes go into another
    one is laid out with that one's ``font_config``, so both set text in the same fonts.
    """
    fetcher = _fetcher(templates, content)
    base_url = templates.resolve().as_uri() + "/"
    return HTML(string=html, base_url=base_url, url_fetcher=fetcher).render(font_config=font_config)


def release() -> None:
    """Free a dropped layout now, so the next one reuses its memory instead of adding to it.

    A laid-out document holds cycles (WeasyPrint's boxes, styles and fonts refer
    to each other), which only the cycle collector frees; left to its own
    schedule it runs late, while the next layout is already growing the heap.
    """
    gc.collect()


def pdf_bytes(document: Document, epoch: int) -> bytes:
    """Return the PDF of a laid-out document, identical for identical input and ``epoch``.

    WeasyPrint takes the dates from the ``dcterms.created``/``dcterms.modified``
    meta tags (templates set them from the build epoch); the ``/ID`` is the MD5
    of the file's objects (pydyf's ``identifier=True``), so it changes only
    when the content does. Embedded fonts are subset here: with HarfBuzz-Subset
    a font keeps its own ``head.modified``; with fontTools (WeasyPrint's
    fallback when the library is missing) it records ``epoch``, not the clock.

    The document is spent after: its pages keep their count and sizes, not their boxes.
    """
    for page in document.pages:
        _drop_after_painting(page)
    token = _FONT_EPOCH.set(epoch)
    try:
        return document.write_pdf(pdf_identifier=True)
    finally:
        _FONT_EPOCH.reset(token)


def _drop_after_painting(page) -> None:
    """Make ``page`` let go of its boxes once WeasyPrint has painted it (the only time it does).

    Writing a long document then frees each page's layout as its PDF page is
    made, instead of holding every box to the end: a 1,000-question cheat
    sheet's render peaked at 440 MB instead of 462, with the same bytes.
    """
    paint = page.paint

    def paint_and_drop(stream, scale=1):
        paint(stream, scale)
        page._page_box = None

    page.paint = paint_and_drop


def join(parts: list[bytes], order: Iterable[tuple[int, int]]) -> bytes:
    """Return one PDF of the pages ``order`` names, each ``(part, page)``, of the PDFs ``parts``.

    For a document laid out in batches (see ``flashcards.BATCH_PAGES``): the
    first part's metadata (title, dates from the epoch) and language are the
    whole file's, and its ``/ID`` is the MD5 of the parts, so the same parts
    always join into the same bytes.
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, ByteStringObject, NameObject

    readers = [PdfReader(io.BytesIO(part)) for part in parts]
    writer = PdfWriter()
    for part, page in order:
        writer.add_page(readers[part].pages[page])
    writer.add_metadata(dict(readers[0].metadata or {}))
    language = readers[0].trailer["/Root"].get("/Lang")
    if language is not None:
        writer.root_object[NameObject("/Lang")] = language
    identifier = ByteStringObject(hashlib.md5(b"".join(parts), usedforsecurity=False).digest())
    writer._ID = ArrayObject([identifier, identifier])  # pypdf's own is random
    writer.compress_identical_objects()
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


# fontTools stamps every font it writes with the current time (``head.modified``,
# ``timestampNow()``; only ``SOURCE_DATE_EPOCH`` in the environment overrides it), and
# WeasyPrint's fontTools subsetting cannot ask it not to. While ``pdf_bytes`` writes a
# PDF, its fonts' clock is the build epoch instead; elsewhere fontTools behaves as
# shipped. A context variable rather than the environment: nothing the process or its
# other threads see changes.
_FONT_EPOCH: ContextVar[int | None] = ContextVar("prepdeck_font_epoch", default=None)


def _font_timestamp() -> int:
    """Return fontTools' "now": the epoch of the PDF being written, else fontTools' own."""
    epoch = _FONT_EPOCH.get()
    if epoch is None:
        return timeTools.timestampNow()
    return timeTools.timestampSinceEpoch(epoch)


_h_e_a_d.timestampNow = _font_timestamp

#: The layout tables that fontTools' ``Subsetter.subset`` reads in full before anything else.
_LAYOUT_TABLES = ("GSUB", "GPOS")
_subset_font = font_subset.Subsetter.subset


def _subset_without_dropped_layout(self: font_subset.Subsetter, font) -> None:
    """Subset ``font`` as fontTools does, without first reading the layout tables it then drops.

    ``Subsetter.subset`` starts by loading GSUB and GPOS (to lay them out compactly
    in memory), then drops every table its options name. WeasyPrint's fontTools
    subsetting names both (a PDF's fonts need no shaping rules), so loading them
    is wasted: for Fira Sans, most of a subset's time. Here they are dropped
    before, by the very rule fontTools applies after: the same fonts, the same
    bytes. (Its rule that drops ``kern`` when GPOS is there runs before GPOS
    goes, so ``kern`` goes first here too.)
    """
    options = self.options
    dropped = [tag for tag in _LAYOUT_TABLES if tag in font and tag in options.drop_tables]
    if dropped:
        if "GPOS" in dropped and "kern" in font and not options.legacy_kern:
            del font["kern"]
        for tag in dropped:
            del font[tag]
    _subset_font(self, font)


font_subset.Subsetter.subset = _subset_without_dropped_layout


def subsetting_hint() -> str | None:
    """Return advice for a machine where WeasyPrint subsets fonts with fontTools (slower), else None."""
    from weasyprint.pdf import fonts

    if fonts.harfbuzz_subset is not None and fonts.harfbuzz.hb_version_atleast(4, 1, 0):
        return None
    return (
        "PDFs build faster with the HarfBuzz-Subset library: install libharfbuzz-subset0 "
        "(Debian, Ubuntu) or harfbuzz (Homebrew); the files stay reproducible without it"
    )


def engine() -> str:
    """Return what, beside WeasyPrint's own version, decides a PDF's bytes on this machine.

    Pango lays the text out; HarfBuzz-Subset, when present, subsets the fonts
    instead of fontTools, and the two write different bytes.
    """
    from weasyprint.text.ffi import pango

    return f"pango {pango.pango_version()}; harfbuzz-subset {subsetting_hint() is None}"


def descendants(box) -> Iterator:
    """Yield ``box`` and every box below it in WeasyPrint's layout tree."""
    yield box
    for child in getattr(box, "children", ()):
        yield from descendants(child)
