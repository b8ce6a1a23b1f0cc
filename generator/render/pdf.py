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
import logging
import math
import mimetypes
import re
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import jinja2
from fontTools.misc import timeTools
from fontTools.ttLib.tables import _h_e_a_d
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.document import Document
from weasyprint.urls import URLFetcher, URLFetcherResponse

from generator.model import COLOUR, Paper
from generator.render import markup, media

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
        if scheme == "file" and self.images is not None:
            parts = urlsplit(url)
            path = Path(url2pathname(unquote(parts.path)))
            if parts.netloc in ("", "localhost") and path.is_relative_to(self.images[0]):
                found = media.fetch(self.images[1], path.relative_to(self.images[0].parent).as_posix())
                if found is not None:
                    return URLFetcherResponse(url, found[0], {"Content-Type": found[1]})
        if scheme == "file":
            path = self._allowed_path(url)
            if path is not None:
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})
        log.warning(
            "refused to fetch %s: only data: URLs and files under %s are allowed",
            url,
            ", ".join(str(root) for root in self.roots),
        )
        raise RefusedURL(f"refused to fetch {url}")

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


def layout(html: str, *, templates: Path, content: Path) -> Document:
    """Lay out ``html`` with WeasyPrint, fetching only from ``templates`` and ``content``.

    Relative URLs resolve against the templates directory, so a template links
    its stylesheet as ``css/name.css``.
    """
    fetcher = SafeURLFetcher((templates, content), images=(templates, content))
    base_url = templates.resolve().as_uri() + "/"
    return HTML(string=html, base_url=base_url, url_fetcher=fetcher).render()


def pdf_bytes(document: Document, epoch: int) -> bytes:
    """Return the PDF of a laid-out document, identical for identical input and ``epoch``.

    WeasyPrint takes the dates from the ``dcterms.created``/``dcterms.modified``
    meta tags (templates set them from the build epoch); the ``/ID`` is the MD5
    of the file's objects (pydyf's ``identifier=True``), so it changes only
    when the content does. Embedded fonts are subset here: with HarfBuzz-Subset
    a font keeps its own ``head.modified``; with fontTools (WeasyPrint's
    fallback when the library is missing) it records ``epoch``, not the clock.
    """
    token = _FONT_EPOCH.set(epoch)
    try:
        return document.write_pdf(pdf_identifier=True)
    finally:
        _FONT_EPOCH.reset(token)


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


def subsetting_hint() -> str | None:
    """Return advice for a machine where WeasyPrint subsets fonts with fontTools (slower), else None."""
    from weasyprint.pdf import fonts

    if fonts.harfbuzz_subset is not None and fonts.harfbuzz.hb_version_atleast(4, 1, 0):
        return None
    return (
        "PDFs build faster with the HarfBuzz-Subset library: install libharfbuzz-subset0 "
        "(Debian, Ubuntu) or harfbuzz (Homebrew); the files stay reproducible without it"
    )


def descendants(box) -> Iterator:
    """Yield ``box`` and every box below it in WeasyPrint's layout tree."""
    yield box
    for child in getattr(box, "children", ()):
        yield from descendants(child)


# -- text metrics, for estimating how much room text takes before laying it out ---------------

# Advance widths in 1/1000 em of ASCII 32-126 in DejaVu Sans Condensed (what the
# templates' "DejaVu Sans" with font-stretch: semi-condensed selects), regular
# and bold, read from the fonts with fontTools. Other characters count as
# _OTHER_EM; code is DejaVu Sans Mono, 0.602 em a character.
# fmt: off
_ADVANCE = {
    False: (
        286, 360, 414, 754, 572, 855, 702, 247, 351, 351, 450, 754, 286, 325, 286, 303, 572, 572, 572,
        572, 572, 572, 572, 572, 572, 572, 303, 303, 754, 754, 754, 478, 900, 615, 617, 628, 693, 568,
        518, 697, 677, 265, 265, 590, 501, 776, 673, 708, 542, 708, 625, 571, 549, 659, 615, 890, 616,
        549, 616, 351, 303, 351, 754, 450, 450, 551, 571, 495, 571, 554, 316, 571, 570, 250, 250, 521,
        250, 876, 570, 550, 571, 571, 370, 469, 353, 570, 532, 736, 532, 532, 472, 572, 303, 572, 754,
    ),
    True: (
        313, 410, 469, 754, 626, 901, 785, 275, 411, 411, 470, 754, 342, 374, 342, 329, 626, 626, 626,
        626, 626, 626, 626, 626, 626, 626, 360, 360, 754, 754, 754, 522, 900, 696, 686, 660, 747, 615,
        615, 738, 753, 334, 334, 697, 573, 896, 753, 765, 659, 765, 693, 648, 614, 730, 696, 993, 694,
        651, 652, 411, 329, 411, 754, 450, 450, 607, 644, 533, 644, 610, 391, 644, 641, 308, 308, 598,
        308, 938, 641, 618, 644, 644, 444, 536, 430, 641, 586, 831, 580, 586, 523, 641, 329, 641, 754,
    ),
}
# fmt: on
_OTHER_EM = 0.62
MONO_EM = 0.602  # every character of DejaVu Sans Mono
SPACE_EM = 0.286
BULLET_EM = 0.61  # "▪", which the templates put before each key point
_SPANS = re.compile(r"`([^`]*)`|\*\*(.+?)\*\*")


def word_widths(markdown: str, bold: bool = False) -> list[float]:
    """Return the widths in em of the words of one line of inline Markdown.

    ``**strong**`` counts as bold and ```code``` as monospace (its spaces do
    not break, which errs towards more lines).
    """
    styled: list[tuple[str, bool | None]] = []  # (text, bold); None for code
    position = 0
    for match in _SPANS.finditer(markdown):
        styled.append((markdown[position : match.start()], bold))
        styled.append((match.group(1), None) if match.group(1) is not None else (match.group(2), True))
        position = match.end()
    styled.append((markdown[position:], bold))
    words, current = [], 0.0
    for text, weight in styled:
        for char in text:
            if char == " " and weight is not None:
                if current:
                    words.append(current)
                current = 0.0
            elif weight is None:
                current += MONO_EM
            elif 32 <= ord(char) <= 126:
                current += _ADVANCE[weight][ord(char) - 32] / 1000
            else:
                current += _OTHER_EM
    if current:
        words.append(current)
    return words


def key_point_words(title: str, items: tuple[str, ...]) -> list[float]:
    """Return the word widths of a key-point group set as one paragraph.

    The templates print the group's title in bold capitals, then each item
    after a "▪" and a space.
    """
    words = word_widths(title.upper(), bold=True)
    for item in items:
        words += [BULLET_EM, *word_widths(item)]
    return words


def wrapped_lines(words: list[float], width: float) -> int:
    """Return how many lines ``width`` em wide the words fill when wrapped greedily.

    Breaks fall only at spaces, while WeasyPrint also breaks after hyphens and
    slashes, so this errs towards more lines. A word wider than the line is
    broken anywhere, as ``overflow-wrap: break-word`` does.
    """
    lines, line = 1, 0.0
    for word in words:
        if line and line + SPACE_EM + word <= width:
            line += SPACE_EM + word
            continue
        if line:
            lines += 1
        if word > width:
            lines += math.ceil(word / width) - 1
            word %= width
        line = word
    return lines
