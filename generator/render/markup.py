"""Markdown and code highlighting shared by every renderer.

Content is data, not markup: raw HTML in Markdown is escaped, and markdown-it's
link validation drops ``javascript:``, ``vbscript:``, ``file:`` and ``data:``
links. An image (``![alt](media/x.svg)``) becomes an ``<img>`` whose source is
the bank-relative path, which each output maps (see :mod:`generator.render.media`);
validation has refused every other image before anything renders. ``$…$`` and
``$$…$$`` are LaTeX math, typeset to SVG (see :mod:`generator.render.math`);
``\\$`` is a literal dollar sign.
"""

from __future__ import annotations

import functools

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markupsafe import Markup, escape
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from generator.render import math, media


def _math_rule(state: StateInline, silent: bool) -> bool:
    """Parse ``$…$`` (inline) or ``$$…$$`` (display) math at the current position.

    As in Pandoc, an inline formula starts with ``$`` before a non-space and ends
    with ``$`` after a non-space and not before a digit, so "$5 and $10" stays
    text. ``\\$`` before a formula is markdown-it's escape rule's (a literal ``$``);
    inside one, ``\\$`` is LaTeX's dollar sign.
    """
    src, start = state.src, state.pos
    if src[start] != "$":
        return False
    display = src.startswith("$$", start)
    opener = 2 if display else 1
    body = start + opener
    if body >= state.posMax or (not display and src[body].isspace()):
        return False
    position = body
    while position < state.posMax:
        char = src[position]
        if char == "\\":
            position += 2
            continue
        if char == "$":
            if display:
                if src.startswith("$$", position):
                    break
            elif not src[position - 1].isspace() and not src[position + 1 : position + 2].isdigit():
                break
        position += 1
    else:
        return False
    latex = src[body:position]
    if not latex.strip():
        return False
    if not silent:
        token = state.push("math_display" if display else "math_inline", "img", 0)
        token.content = latex
        token.markup = "$$" if display else "$"
    state.pos = position + opener
    return True


def _render_math(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    display = token.type == "math_display"
    try:
        found = math.formula(token.content, display)
    except math.MathError:  # validation reports it; a renderer shows the source
        return f"<code>{escape(token.markup + token.content + token.markup)}</code>"
    style = (
        f"width:{found.width_em}em;height:{found.height_em}em;max-width:100%;"
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


def _parser(check: bool) -> MarkdownIt:
    """Return the Markdown parser; ``check`` accepts every link, so validation sees refused ones."""
    parser = MarkdownIt("commonmark", {"html": False, "typographer": False})
    parser.inline.ruler.before("escape", "math", _math_rule)
    parser.add_render_rule("math_inline", _render_math)
    parser.add_render_rule("math_display", _render_math)
    parser.add_render_rule("image", _render_image)
    if check:
        parser.validateLink = lambda url: True
        parser.normalizeLink = lambda url: url
    return parser


_md = _parser(check=False)
_check_md = _parser(check=True)

#: The class on the element that wraps highlighted code; its CSS is scoped by it.
CODE_CLASS = "code"


# Renderers format the same text more than once (a key point appears on its
# question's card and on its cloze card); caching makes the second time free.
@functools.lru_cache(maxsize=16_384)
def markdown(text: str) -> Markup:
    """Render block Markdown (paragraphs, lists, code) to safe HTML."""
    return Markup(_md.render(text).strip())


@functools.lru_cache(maxsize=16_384)
def markdown_inline(text: str) -> Markup:
    """Render one line of Markdown (emphasis, inline code, links) without a paragraph."""
    return Markup(_md.renderInline(text).strip())


def embedded(text: str) -> list[tuple[str, str, str, int]]:
    """Return the images and formulas in Markdown text, for validation.

    Each is ``(kind, value, alt, line)``: kind ``"image"`` (value: its source as
    written) or ``"math"``/``"math-display"`` (value: the LaTeX); ``line`` counts
    from 0 in ``text``.
    """
    found = []
    for block in _check_md.parse(text):
        for token in block.children or ():
            line = block.map[0] if block.map else 0
            if token.type == "image":
                alt = "".join(child.content for child in token.children or ())
                found.append(("image", str(token.attrGet("src") or ""), alt, line))
            elif token.type in ("math_inline", "math_display"):
                kind = "math-display" if token.type == "math_display" else "math"
                found.append((kind, token.content, "", line))
    return found


@functools.lru_cache(maxsize=64)
def _lexer(language: str):
    try:
        return get_lexer_by_name(language)
    except ClassNotFound:
        return get_lexer_by_name("text")


# A formatter builds a style sheet when it is made (about 0.5 ms); one serves every call.
_formatter = HtmlFormatter(cssclass=CODE_CLASS, wrapcode=False)


@functools.lru_cache(maxsize=4096)  # the deck and the site show the same code; a rebuild most of it again
def highlight(code: str, language: str) -> Markup:
    """Highlight code as ``<div class="code"><pre>…</pre></div>`` with Pygments CSS classes."""
    return Markup(pygments_highlight(code, _lexer(language), _formatter).strip())


def highlight_css(style: str, scope: str = "") -> str:
    """Return the Pygments CSS for one palette, every rule prefixed by ``scope``.

    Anki's night mode puts ``.nightMode`` on an ancestor of the card, so the deck
    ships two palettes: the default one and one scoped by ``.nightMode``.
    """
    selector = f"{scope} .{CODE_CLASS}".strip()
    formatter = HtmlFormatter(style=style, cssclass=CODE_CLASS)
    rules = formatter.get_background_style_defs(selector) + formatter.get_token_style_defs(selector)
    return "\n".join(rules)
