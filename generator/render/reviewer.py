"""Show a note's cards as Anki's reviewer does: its card templates filled with its fields.

The study site shows the very HTML Anki shows, so it renders the note types'
own card templates (Anki's ``{{Field}}`` syntax) with the deck's field HTML,
the subset of Anki's template language the note types use: field references,
``{{#Field}}``/``{{^Field}}`` sections, ``{{FrontSide}}`` and ``{{cloze:Field}}``.
The rules follow Anki's renderer:
https://github.com/ankitects/anki/blob/main/rslib/src/template.rs (sections,
empty fields) and rslib/src/cloze.rs (the ``<span class="cloze">`` markup).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import genanki

from generator.errors import GeneratorError

_TAG = re.compile(r"\{\{\s*([#^/]?)\s*([^}]*?)\s*\}\}")
_CLOZE = re.compile(r"\{\{c(\d+)::(.*?)(?:::(.*?))?\}\}", re.S)
# Anki treats a field as empty when nothing but whitespace and empty markup is left.
_EMPTY_MARKUP = re.compile(r"<br\s*/?>|<div>\s*</div>|&nbsp;|\s", re.I)


@dataclass(frozen=True, slots=True)
class Card:
    """One card of a note as Anki shows it: the question side and the answer side."""

    ordinal: int  # 1-based: the cloze number of a cloze card, 1 for a question card
    front: str
    back: str


def note_cards(note: genanki.Note, first: bool = False) -> list[Card]:
    """Return every card Anki makes from ``note``, each side rendered from the note type's templates.

    A front/back note has one card per template; a cloze note one per cloze number used.
    With ``first``, only the first of them.
    """
    fields = dict(zip((f["name"] for f in note.model.fields), note.fields, strict=True))
    template = note.model.templates[0]
    if note.model.model_type == genanki.Model.CLOZE:
        ordinals = sorted({int(n) for value in fields.values() for n, _, _ in _CLOZE.findall(value)})
    else:
        ordinals = [1]
    cards = []
    for ordinal in ordinals[:1] if first else ordinals:
        front = render_side(template["qfmt"], fields, ordinal, answer=False)
        back = render_side(template["afmt"], {**fields, "FrontSide": front}, ordinal, answer=True)
        cards.append(Card(ordinal, front, back))
    return cards


def cloze_questions(note: genanki.Note) -> list[tuple[int, list[tuple[str, str]]]]:
    """Return what each card of a cloze note asks, as its front shows it, in card order.

    For each cloze number: each of its deletions, in the order the front shows them,
    as (answer, shown): the deletion's HTML (which the front keeps in ``data-cloze``)
    and the text in its place ("[hint]", else "[...]"). Fronts differ only there, so
    the first card and these describe every card (the site shows them so).
    """
    fields = dict(zip((f["name"] for f in note.model.fields), note.fields, strict=True))
    asked: dict[int, list[tuple[str, str]]] = {}
    for kind, name in _TAG.findall(note.model.templates[0]["qfmt"]):
        filters, _, field = name.rpartition(":")
        if kind or filters != "cloze":
            continue
        for number, body, hint in _CLOZE.findall(_field(fields, field)):
            asked.setdefault(int(number), []).append((body, html.unescape(f"[{hint}]" if hint else "[...]")))
    return sorted(asked.items())


def render_side(template: str, fields: dict[str, str], ordinal: int, answer: bool) -> str:
    """Return one side of a card: ``template`` with its sections resolved and fields substituted."""
    output: list[str] = []
    skipping: list[tuple[str, bool]] = []  # open sections: (field, shown)
    position = 0
    for match in _TAG.finditer(template):
        if all(shown for _, shown in skipping):
            output.append(template[position : match.start()])
        position = match.end()
        kind, name = match.groups()
        if kind in ("#", "^"):
            present = not _is_empty(_field(fields, name))
            skipping.append((name, present if kind == "#" else not present))
        elif kind == "/":
            if not skipping or skipping[-1][0] != name:
                raise GeneratorError(f"card template: '{{{{/{name}}}}}' closes no open section")
            skipping.pop()
        elif all(shown for _, shown in skipping):
            output.append(_replacement(fields, name, ordinal, answer))
    if skipping:
        raise GeneratorError(f"card template: section '{skipping[-1][0]}' is never closed")
    output.append(template[position:])
    return "".join(output)


def _replacement(fields: dict[str, str], name: str, ordinal: int, answer: bool) -> str:
    filters, _, field = name.rpartition(":")
    value = _field(fields, field)
    if filters == "cloze":
        return _cloze(value, ordinal, answer)
    if filters:
        raise GeneratorError(f"card template: filter '{filters}' is not supported by the site")
    return value


def _field(fields: dict[str, str], name: str) -> str:
    try:
        return fields[name]
    except KeyError:
        raise GeneratorError(f"card template: no field named '{name}'") from None


def _is_empty(value: str) -> bool:
    return not _EMPTY_MARKUP.sub("", value)


def _cloze(text: str, ordinal: int, answer: bool) -> str:
    """Return a cloze field for card ``ordinal``: its deletion hidden (front) or shown (back)."""

    def replace(match: re.Match) -> str:
        number, body, hint = int(match.group(1)), match.group(2), match.group(3)
        if number != ordinal:
            return f'<span class="cloze-inactive" data-ordinal="{number}">{body}</span>'
        if answer:
            return f'<span class="cloze" data-ordinal="{number}">{body}</span>'
        shown = f"[{hint}]" if hint else "[...]"
        return (
            f'<span class="cloze" data-cloze="{html.escape(body, quote=True)}" '
            f'data-ordinal="{number}">{shown}</span>'
        )

    return _CLOZE.sub(replace, text)
