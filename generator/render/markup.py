"""Markdown and code highlighting shared by every renderer.

Content is data, not markup: raw HTML in Markdown is escaped, and markdown-it's
link validation drops ``javascript:``, ``vbscript:``, ``file:`` and ``data:``
links. An image (``![alt](media/x.svg)``) becomes an ``<img>`` whose source is
the bank-relative path, which each output maps (see :mod:`generator.render.media`);
validation has refused every other image before anything renders. ``$…$`` and
``$$…$$`` are LaTeX math, typeset to SVG (see :mod:`generator.render.math`);
``\\$`` is a literal dollar sign. The grammar itself is :mod:`generator.syntax`'s,
which validation reads the same text with.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt
from markupsafe import Markup, escape
from pygments import token as pygments_token
from pygments.formatters import HtmlFormatter
from pygments.formatters.html import _get_ttype_class
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from generator import syntax
from generator.render import math, media


def _render_math(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    display = token.type == "math_display"
    try:
        found = math.formula(token.content, display)
    except math.MathError:  # validation reports it; a renderer shows the source
        return f"<code>{escape(token.markup + token.content + token.markup)}</code>"
    style = (
        f"width:{found.width_em}em;height:{found.height_em}em;--math-height:{found.height_em}em;max-width:100%;"
        f"vertical-align:-{found.depth_em}em"
    )
    img = (
        f'<img class="prepdeck-math" src="{media.MEDIA_DIR}/{found.name}" '
        f'alt="{escape(token.content.strip())}" style="{style}">'
    )
    if display:
        return (
            f'<span class="math-display" style="display:block;text-align:center;margin:0.3em 0">{img}</span>'
        )
    return img


def _render_image(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    try:
        source = media.check_reference(str(token.attrGet("src") or ""))
    except media.MediaError:  # validation reports it; a renderer shows the alt text only
        return str(escape(alt))
    return (
        f'<img class="prepdeck-image" src="{escape(source)}" alt="{escape(alt)}" '
        'style="max-width:100%;height:auto">'
    )


def _parser() -> MarkdownIt:
    """Return the content's Markdown grammar (``syntax.parser``) rendering math and images as here."""
    parser = syntax.parser()
    parser.add_render_rule("math_inline", _render_math)
    parser.add_render_rule("math_display", _render_math)
    parser.add_render_rule("image", _render_image)
    return parser


_md = _parser()

#: The class on the element that wraps highlighted code; its CSS is scoped by it.
CODE_CLASS = "code"


#: How many texts each Markdown cache keeps: every text of a 5,000-question bank (some
#: 50,000, about 10 MB), so a target's site reuses all that its deck rendered. At
#: 16,384 the site of such a bank rendered every text again: 7.1 s against 5.4 s.
_CACHED_TEXTS = 65_536


# Renderers format the same text more than once (a key point appears on its
# question's card and on its cloze card); caching makes the second time free.
@functools.lru_cache(maxsize=_CACHED_TEXTS)
def markdown(text: str) -> Markup:
    """Render block Markdown (paragraphs, lists, code) to safe HTML."""
    return Markup(_md.render(text).strip())


@functools.lru_cache(maxsize=_CACHED_TEXTS)
def markdown_inline(text: str) -> Markup:
    """Render one line of Markdown (emphasis, inline code, links) without a paragraph."""
    return Markup(_md.renderInline(text).strip())


_TAG = re.compile(r"<[^>]+>")


def plain_text(text: str) -> str:
    """Return the text a reader sees of one line of inline Markdown (for length estimates)."""
    return html.unescape(_TAG.sub("", str(markdown_inline(text))))


@dataclass(frozen=True, slots=True)
class Figure:
    """An image or display formula of a text, for a printed output that leaves the text out."""

    kind: str  # "image" | "math"
    source: str  # its ``media/…`` path: the bank's image, or the formula's typeset picture
    alt: str
    aspect: float  # height / width
    width_em: float  # a formula's width in em of the type around it; 0 for an image
    height_em: float


@functools.lru_cache(maxsize=1024)
def figures(text: str, root: Path) -> tuple[Figure, ...]:
    """Return the images and display formulas of Markdown ``text`` (of the bank at ``root``), in order.

    The printed outputs show a question's summary and key points, not its
    answer's prose; the answer's pictures and displayed formulas are what they
    show of it. An image or formula that is refused is left out: validation
    reports it, and a build never gets this far with one.
    """
    found = []
    for block in _md.parse(text):
        for token in block.children or ():
            if token.type == "image":
                try:
                    image = media.load_image(root, str(token.attrGet("src") or ""))
                except media.MediaError:
                    continue
                alt = "".join(child.content for child in token.children or ())
                found.append(Figure("image", image.path, alt, image.aspect, 0.0, 0.0))
            elif token.type == "math_display":
                try:
                    typeset = math.formula(token.content, True)
                except math.MathError:
                    continue
                source = f"{media.MEDIA_DIR}/{typeset.name}"
                aspect = typeset.height_em / typeset.width_em
                latex = token.content.strip()
                found.append(Figure("math", source, latex, aspect, typeset.width_em, typeset.height_em))
    return tuple(found)


@functools.lru_cache(maxsize=64)
def _lexer(language: str):
    # Keep blank first and last lines, so the rows match the code's lines one to one.
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return get_lexer_by_name("text", stripnl=False, ensurenl=False)


#: The mark at the start of a row that continues the line above it.
CONTINUATION = "\u21aa"
#: Continuation rows start this many columns right of their line's own indentation.
HANG = 2
# A continuation row is never narrower than this many columns, however deep the indent.
_MIN_ROW = 16

Token = tuple[str, str]  # (Pygments CSS class, text)


def code_lines(code: str, language: str) -> list[list[Token]]:
    """Return the code's lines, each a list of (CSS class, text) tokens, newlines dropped.

    Neighbours of one class become one token, and whitespace carries no class
    (its palette gives it a colour only, which a space never shows): each token
    is a ``<span>`` on every card that shows the code, so fewer draw the same.
    """
    lines: list[list[Token]] = [[]]
    for ttype, value in _lexer(language).get_tokens(code.rstrip("\n")):
        css = _get_ttype_class(ttype)
        for index, part in enumerate(value.split("\n")):
            if index:
                lines.append([])
            if not part:
                continue
            if css == _WHITESPACE and not part.strip():
                css = ""
            line = lines[-1]
            if line and line[-1][0] == css:
                line[-1] = (css, line[-1][1] + part)
            else:
                line.append((css, part))
    return lines


#: Pygments' class for whitespace between tokens.
_WHITESPACE = _get_ttype_class(pygments_token.Whitespace)


def _indent(tokens: list[Token]) -> int:
    text = "".join(text for _, text in tokens)
    return len(text) - len(text.lstrip(" "))


def _spans(tokens: list[Token]) -> str:
    return "".join(
        f'<span class="{css}">{escape(text)}</span>' if css else str(escape(text)) for css, text in tokens
    )


def _break_at(text: str, limit: int) -> int:
    """Return where to break ``text`` so the first part is at most ``limit`` characters.

    After the last space, comma or opening parenthesis in the last two thirds of
    the row if there is one (so a name or an f-string's ``{…}`` stays whole where
    it can), else at the limit.
    """
    for index in range(limit, limit // 3, -1):
        if text[index - 1] in " ,;(" and text[:index].strip():
            return index
    return limit


def _split(tokens: list[Token], at: int) -> tuple[list[Token], list[Token]]:
    head: list[Token] = []
    tail: list[Token] = []
    position = 0
    for css, text in tokens:
        if position + len(text) <= at:
            head.append((css, text))
        elif position >= at:
            tail.append((css, text))
        else:
            head.append((css, text[: at - position]))
            tail.append((css, text[at - position :]))
        position += len(text)
    return head, tail


def wrap_rows(tokens: list[Token], width: int) -> list[list[Token]]:
    """Return one line's rows at most ``width`` columns wide: the line, then its continuations.

    A continuation row starts ``HANG`` columns right of the line's indentation; the
    renderer puts ``CONTINUATION`` in that gap.
    """
    hang = min(_indent(tokens) + HANG, max(0, width - _MIN_ROW))
    rows = []
    limit = width
    rest = tokens
    while sum(len(text) for _, text in rest) > limit:
        text = "".join(t for _, t in rest)
        head, rest = _split(rest, _break_at(text, limit))
        rows.append(head)
        # The break's own spaces would only push the continuation right.
        stripped = "".join(t for _, t in rest)
        rest = _split(rest, len(stripped) - len(stripped.lstrip(" ")))[1]
        limit = width - hang
    rows.append(rest)
    return rows


@functools.lru_cache(maxsize=4096)  # the deck and the site show the same code
def highlight(code: str, language: str, width: int | None = None) -> Markup:
    """Highlight code as ``<div class="code"><pre>`` with one ``<span class="line">`` per line.

    Without ``width`` (cards a browser shows at any width), each line carries its
    indentation as ``--indent`` and the CSS wraps it with a hanging indent and a
    continuation mark. With ``width`` (print, whose font and column are fixed),
    lines longer than ``width`` columns are wrapped here: each continuation row
    starts with the mark under the line's indentation.
    """
    rows = []
    for tokens in code_lines(code, language):
        indent = _indent(tokens)
        if width is None:
            style = f' style="--indent: {indent}ch"' if indent else ""
            # The newline ends a block, so it adds no row; it keeps the text's lines for copying.
            rows.append(f'<span class="line"{style}>{_spans(tokens)}\n</span>')
            continue
        first, *more = wrap_rows(tokens, width)
        rows.append(f'<span class="line">{_spans(first)}</span>')
        pad = " " * min(indent, max(0, width - _MIN_ROW))
        for row in more:
            mark = f'<span class="more">{CONTINUATION}</span>'
            rows.append(f'<span class="line cont">{pad}{mark} {_spans(row)}</span>')
    separator = "" if width is None else "\n"
    return Markup(f'<div class="{CODE_CLASS}"><pre>{separator.join(rows)}</pre></div>')


#: WCAG 2 AA: the least contrast between text and its background.
AA_CONTRAST = 4.5
_CSS_COLOUR = re.compile(r"(?<![-\w])color:\s*(#[0-9A-Fa-f]{3,6})\b")
_CSS_COMMENT = re.compile(r"\s*/\*.*?\*/")
_CSS_BACKGROUND = re.compile(r"background(?:-color)?:\s*(#[0-9A-Fa-f]{3,6})\b")


def _rgb(colour: str) -> tuple[float, float, float]:
    hex_digits = colour.lstrip("#")
    if len(hex_digits) == 3:
        hex_digits = "".join(c * 2 for c in hex_digits)
    return tuple(int(hex_digits[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def luminance(colour: str) -> float:
    """Return the relative luminance of ``#rgb``/``#rrggbb`` (WCAG 2)."""

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in _rgb(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(foreground: str, background: str) -> float:
    """Return the WCAG 2 contrast ratio of two colours, from 1 to 21."""
    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def readable(colour: str, background: str, minimum: float = AA_CONTRAST) -> str:
    """Return ``colour``, mixed towards black or white just enough to reach ``minimum`` contrast.

    The hue stays, so a palette keeps its look; only the too-faint colours move.
    """
    if contrast(colour, background) >= minimum:
        return colour
    target = (0.0, 0.0, 0.0) if luminance(background) > 0.18 else (1.0, 1.0, 1.0)
    start = _rgb(colour)
    for step in range(1, 101):
        mix = step / 100
        rgb = [round(255 * (c + (t - c) * mix)) for c, t in zip(start, target, strict=True)]
        candidate = "#{:02x}{:02x}{:02x}".format(*rgb)
        if contrast(candidate, background) >= minimum:
            return candidate
    return "#000000" if target == (0.0, 0.0, 0.0) else "#ffffff"


def highlight_css(style: str, *scopes: str) -> str:
    """Return the Pygments CSS for one palette, every rule prefixed by each of ``scopes``.

    Anki's night mode puts ``.nightMode`` (or ``.night_mode``) on an ancestor of
    the card, so the deck ships two palettes: the default one and one scoped by
    both names, each rule once with both selectors. Every token colour too faint
    for its background (WCAG AA, ``AA_CONTRAST``) is darkened (light palettes)
    or lightened (dark ones) until it reads. Pygments' comment naming each
    token type is left out: the stylesheet travels with every card.
    """
    selectors = [f"{scope} .{CODE_CLASS}".strip() for scope in scopes or ("",)]
    formatter = HtmlFormatter(style=style, cssclass=CODE_CLASS)
    background = formatter.style.background_color or "#ffffff"
    rules = formatter.get_background_style_defs(selectors) + formatter.get_token_style_defs(selectors)

    def fix(rule: str) -> str:
        own = _CSS_BACKGROUND.search(rule)
        behind = own.group(1) if own else background
        rule = _CSS_COMMENT.sub("", rule)
        return _CSS_COLOUR.sub(lambda m: f"color: {readable(m.group(1), behind)}", rule)

    return "\n".join(fix(rule) for rule in rules)
