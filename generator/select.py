"""Select stage: a pure function from a bank and a selection to a smaller bank."""

from __future__ import annotations

import dataclasses

from generator.errors import GeneratorError
from generator.model import Bank, Question, Selection


def tag_matches(tag: str, wanted: str) -> bool:
    """Return True when ``tag`` is ``wanted`` or lies below it (``a::b`` is below ``a``)."""
    return tag == wanted or tag.startswith(wanted + "::")


def matches(question: Question, selection: Selection) -> bool:
    """Return True when the question meets every criterion (OR within one, AND across)."""
    return (
        (not selection.categories or question.category in selection.categories)
        and (not selection.difficulties or question.difficulty in selection.difficulties)
        and (not selection.rarities or question.rarity in selection.rarities)
        and (not selection.ids or question.id in selection.ids)
        and (
            not selection.tags
            or any(tag_matches(tag, wanted) for tag in question.tags for wanted in selection.tags)
        )
    )


def select_questions(bank: Bank, selection: Selection) -> Bank:
    """Return the bank with only the questions the selection matches.

    Raises GeneratorError when nothing matches: an empty deck is never what
    anyone asked for.
    """
    if selection.is_empty():
        return bank
    chosen = tuple(q for q in bank.questions if matches(q, selection))
    if not chosen:
        raise GeneratorError(f"the selection ({describe(selection)}) matches no question")
    return dataclasses.replace(bank, questions=chosen)


def describe(selection: Selection) -> str:
    """Describe a selection as its command-line options, e.g. ``--difficulty hard``."""
    parts = []
    for option, values in (
        ("category", selection.categories),
        ("tag", selection.tags),
        ("difficulty", {d.value for d in selection.difficulties}),
        ("rarity", {r.value for r in selection.rarities}),
        ("id", selection.ids),
    ):
        parts.extend(f"--{option} {value}" for value in sorted(values))
    return " ".join(parts) or "everything"
