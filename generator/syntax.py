"""The Markdown content is written in: CommonMark without raw HTML, plus ``$…$`` and ``$$…$$`` math.

Validation finds the images and formulas of a text with this grammar, and
the renderers (``render/markup.py``) turn the same grammar into HTML, so both
read every text the same way. Nothing here renders.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline


def parser() -> MarkdownIt:
    """Return a parser of the content's Markdown: CommonMark, raw HTML as text, math tokens."""
    found = MarkdownIt("commonmark", {"html": False, "typographer": False})
    found.inline.ruler.before("escape", "math", _math_rule)
    return found


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


# Validation sees every link as written, so it can name the ones a renderer would drop.
_checking = parser()
_checking.validateLink = lambda url: True
_checking.normalizeLink = lambda url: url


def embedded(text: str) -> list[tuple[str, str, str, int]]:
    """Return the images and formulas in Markdown text, for validation.

    Each is ``(kind, value, alt, line)``: kind ``"image"`` (value: its source as
    written) or ``"math"``/``"math-display"`` (value: the LaTeX); ``line`` counts
    from 0 in ``text``.
    """
    found = []
    for block in _checking.parse(text):
        for token in block.children or ():
            line = block.map[0] if block.map else 0
            if token.type == "image":
                alt = "".join(child.content for child in token.children or ())
                found.append(("image", str(token.attrGet("src") or ""), alt, line))
            elif token.type in ("math_inline", "math_display"):
                kind = "math-display" if token.type == "math_display" else "math"
                found.append((kind, token.content, "", line))
    return found
