"""Markdown and code highlighting shared by every renderer.

Content is data, not markup: raw HTML in Markdown is escaped, images are not
parsed (so no renderer ever fetches one), and markdown-it's link validation
drops ``javascript:``, ``vbscript:``, ``file:`` and ``data:`` links.
"""

from __future__ import annotations

import functools
import re

from markdown_it import MarkdownIt
from markupsafe import Markup
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

_md = MarkdownIt("commonmark", {"html": False, "typographer": False}).disable("image")

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


_IMAGE = re.compile(r"!\[[^\]]*\]\s*[(\[]")


def has_image(text: str) -> bool:
    """Return True when Markdown text uses image syntax, which content may not use."""
    return bool(_IMAGE.search(text))


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
