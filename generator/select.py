"""Select stage: a pure function from a bank and a selection to a smaller bank."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable

from generator.errors import GeneratorError, UsageError
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


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return "; did you mean 'x'?" for the closest choice, or "" when none is close."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def check_selection(bank: Bank, selection: Selection, subset: str | None = None) -> None:
    """Raise UsageError when an option names a category, tag, id or subset the bank lacks.

    A typo then says what it is and what was meant, instead of "matches no question".
    """
    known_tags = sorted({part for q in bank.questions for tag in q.tags for part in _tag_roots(tag)})
    checks = [
        ("--category", "category", "categories", selection.categories, [c.slug for c in bank.categories]),
        ("--tag", "tag", "tags", selection.tags, known_tags),
        ("--id", "question id", "ids", selection.ids, [q.id for q in bank.questions]),
    ]
    if subset is not None:
        checks.append(("--subset", "subset", "subsets", {subset}, [s.name for s in bank.subsets]))
    for option, noun, plural, wanted, known in checks:
        for value in sorted(wanted):
            if value not in known:
                listed = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "") if known else "none"
                raise UsageError(
                    option,
                    f"unknown {noun} '{value}'{did_you_mean(value, known)} (this bank's {plural}: {listed})",
                )


def _tag_roots(tag: str) -> list[str]:
    """Return ``a``, ``a::b``, ``a::b::c`` for ``a::b::c``: every tag --tag can name."""
    parts = tag.split("::")
    return ["::".join(parts[: n + 1]) for n in range(len(parts))]
