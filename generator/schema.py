"""JSON Schemas of ``bank.yaml`` and of a question file, for editors and for ``prepdeck schema``.

Built from the validator's own field lists, enums and patterns, so the two
cannot drift apart; a test checks them against every shipped file and the
malformed corpus. The schema is the shape of a file; what it cannot express
(an unknown category, a missing example region, duplicate ids) stays with
``prepdeck check``.
"""

from __future__ import annotations

from typing import Any

from generator.model import COLOUR, Difficulty, Rarity
from generator.validate import (
    BANK_FIELDS,
    BANK_REQUIRED,
    CATEGORY_FIELDS,
    CATEGORY_REQUIRED,
    QUESTION_FIELDS,
    QUESTION_REQUIRED,
    RESERVED_TAG_ROOTS,
    SELECTION_FIELDS,
    SLUG,
    TAG,
)

BANK_SCHEMA_FILE = "bank.schema.json"
QUESTION_SCHEMA_FILE = "question.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: Non-empty text; numbers and booleans count as their source text (version: 1.0).
TEXT: dict[str, Any] = {"type": ["string", "number", "boolean"], "pattern": r"\S"}
SLUG_TEXT: dict[str, Any] = {"type": "string", "pattern": SLUG.pattern}
TAG_TEXT: dict[str, Any] = {
    "type": "string",
    "pattern": TAG.pattern,
    "not": {"pattern": f"^({'|'.join(RESERVED_TAG_ROOTS)})(::|$)"},
}


def _described(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {**schema, "description": description}


def _list_of(item: dict[str, Any], description: str, *, at_least: int = 0) -> dict[str, Any]:
    """A list; a single value counts as a list of one, as the validator reads it."""
    many: dict[str, Any] = {"type": "array", "items": item}
    if at_least:
        many["minItems"] = at_least
    return {"description": description, "anyOf": [many, item]}


def _list_of_mappings(item: dict[str, Any], description: str, *, at_least: int = 0) -> dict[str, Any]:
    schema: dict[str, Any] = {"description": description, "type": "array", "items": item}
    if at_least:
        schema["minItems"] = at_least
    return schema


def _mapping(properties: dict[str, Any], required: list[str], fields: list[str]) -> dict[str, Any]:
    assert list(properties) == list(fields), (list(properties), fields)  # derive, don't copy
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def _selection_properties() -> dict[str, Any]:
    difficulty = {"enum": [d.value for d in Difficulty]}
    rarity = {"enum": [r.value for r in Rarity]}
    return {
        "category": _list_of(SLUG_TEXT, "Only these categories (slugs)."),
        "tag": _list_of(TAG_TEXT, "Only questions with these tags or a tag below one of them."),
        "difficulty": _list_of(difficulty, "Only these difficulties."),
        "rarity": _list_of(rarity, "Only these rarities."),
        "id": _list_of(TEXT, "Only these question ids."),
    }


def bank_schema() -> dict[str, Any]:
    """Return the JSON Schema of ``bank.yaml``."""
    category = _mapping(
        {
            "slug": _described(SLUG_TEXT, "Permanent name; questions refer to it; the Anki subdeck's key."),
            "title": _described(TEXT, "Shown as the subdeck's name and on sheets."),
            "colour": _described(
                {"type": "string", "pattern": COLOUR.pattern}, 'The category\'s colour, "#rrggbb".'
            ),
            "description": _described(TEXT, "A sentence about the category."),
        },
        CATEGORY_REQUIRED,
        CATEGORY_FIELDS,
    )
    selection = _selection_properties()
    assert list(selection) == SELECTION_FIELDS
    subset = {
        "type": "object",
        "properties": {
            "name": _described(SLUG_TEXT, "Used in file names and in --subset NAME."),
            "description": _described(TEXT, "What the subset is for."),
            **selection,
        },
        "required": ["name"],
        "anyOf": [{"required": [name]} for name in SELECTION_FIELDS],
        "additionalProperties": False,
    }
    properties = {
        "id": _described(
            SLUG_TEXT, "Permanent identity: the Anki deck, note types and notes derive from it."
        ),
        "slug": _described(SLUG_TEXT, "The first part of every output file name."),
        "title": _described(TEXT, "The deck's and the sheets' title."),
        "version": _described(TEXT, 'The bank\'s version, e.g. "1.2" (quote it to keep "1.10").'),
        "categories": _list_of_mappings(category, "The categories, in deck order.", at_least=1),
        "description": _described(TEXT, "A sentence about the bank."),
        "theme": _described(TEXT, "A folder inside the bank whose files replace built-in templates."),
        "code_width": _described(
            {"type": "integer", "minimum": 1},
            "prepdeck check warns about shown code lines longer than this (default 72).",
        ),
        "subsets": _list_of_mappings(subset, "Named selections; each builds its own deck and sheets."),
    }
    return {
        "$schema": DIALECT,
        "$id": f"prepdeck:{BANK_SCHEMA_FILE}",
        "title": "prepdeck bank.yaml",
        **_mapping(properties, BANK_REQUIRED, BANK_FIELDS),
    }


def question_schema() -> dict[str, Any]:
    """Return the JSON Schema of a question file (``questions/<category>/<id>.yaml``)."""
    group = {
        "type": "object",
        "properties": {
            "title": _described(TEXT, "The group's heading."),
            "key": _described(
                SLUG_TEXT, "Permanent key of the group's cloze note (default: from the title)."
            ),
            "items": _list_of(TEXT, "The points, Markdown.", at_least=1),
            "cloze": _described({"type": "boolean"}, "Make one Anki cloze card per item (default false)."),
        },
        "required": ["title", "items"],
        "additionalProperties": False,
    }
    example = {
        "type": "object",
        "properties": {
            "file": _described(
                {"type": "string", "pattern": r"\S", "not": {"pattern": r"(^/|\\|(^|/)\.\.(/|$))"}},
                "The example's file, relative to the bank folder.",
            ),
            "region": _described(TEXT, "The lines between '# region NAME' and '# endregion'."),
            "title": _described(TEXT, "Caption (default: the region's name)."),
            "language": _described(TEXT, "Highlighting language (default: from the file's suffix)."),
            "sheet": _described(
                {"type": ["string", "integer"]},
                "What the cheat sheet shows: lines of the region ('4-11', from 1) or another "
                "region's name (default: its first lines without docstrings).",
            ),
        },
        "required": ["file", "region"],
        "additionalProperties": False,
    }
    follow_up = {
        "type": "object",
        "properties": {
            "question": _described(TEXT, "The follow-up question, Markdown."),
            "answer": _described(TEXT, "Its answer, Markdown."),
        },
        "required": ["question", "answer"],
        "additionalProperties": False,
    }
    properties = {
        "id": _described(SLUG_TEXT, "Permanent: Anki identifies the note by it; the file is named after it."),
        "number": _described({"type": "integer", "minimum": 1}, "Order in decks and sheets; unique."),
        "category": _described(TEXT, "A category slug from bank.yaml."),
        "question": _described(TEXT, "The question, Markdown."),
        "summary": _described(TEXT, "One line for the cheat sheet (under 140 characters)."),
        "answer": _described(TEXT, "The answer, Markdown."),
        "key_points": _list_of_mappings(group, "Groups of key points.", at_least=1),
        "rarity": {"description": "How often it is asked.", "enum": [r.value for r in Rarity]},
        "difficulty": {"description": "How hard it is.", "enum": [d.value for d in Difficulty]},
        "tags": _list_of(TAG_TEXT, "Topic tags; '::' nests them (training::batch-size)."),
        "follow_ups": _list_of(
            {"anyOf": [TEXT, follow_up]}, "Follow-up questions: text, or a question with its answer."
        ),
        "pitfalls": _list_of(TEXT, "Common mistakes, Markdown."),
        "examples": _list_of_mappings(example, "Companion code examples a test runs."),
    }
    return {
        "$schema": DIALECT,
        "$id": f"prepdeck:{QUESTION_SCHEMA_FILE}",
        "title": "prepdeck question",
        **_mapping(properties, QUESTION_REQUIRED, QUESTION_FIELDS),
    }


SCHEMAS = {BANK_SCHEMA_FILE: bank_schema, QUESTION_SCHEMA_FILE: question_schema}
