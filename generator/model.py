"""The question bank as immutable values.

Everything the renderers see is defined here. The loader and validator turn
YAML into these objects; selection returns smaller banks of the same type;
renderers read them and never change them.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

#: A category's colour, ``#rrggbb``. Validation requires it (the JSON Schema uses the same
#: pattern), and renderers that put a colour in a ``style`` attribute check it again with
#: ``fullmatch``: anything else could smuggle CSS into a page.
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class _Ordered(enum.Enum):
    """An enum whose members compare by their declaration order."""

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        members = list(type(self))
        return members.index(self) < members.index(other)

    @property
    def label(self) -> str:
        """Return the value as a person reads it: ``very-common`` -> ``Very common``."""
        return self.value.replace("-", " ").capitalize()


class Difficulty(_Ordered):
    """How hard a question is to answer well: easy < medium < hard."""

    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"


class Rarity(_Ordered):
    """How often a question comes up in interviews: rare < medium < common < very-common."""

    RARE = "rare"
    MEDIUM = "medium"
    COMMON = "common"
    VERY_COMMON = "very-common"


C = TypeVar("C", bound="Choice")


class Choice(str, enum.Enum):
    """A closed set of option values; a member equals its value and prints as it ("a4")."""

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of(cls: type[C], value: str) -> C:
        """Return the member for ``value``; a ValueError naming the choices for anything else."""
        try:
            return cls(value)
        except ValueError:
            noun = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", cls.__name__).lower()  # CardSize: "card size"
            raise ValueError(f"unknown {noun} {value!r}; choose from {', '.join(cls)}") from None


class Paper(Choice):
    """The paper the PDFs are laid out for."""

    A4 = "a4"
    LETTER = "letter"


class Duplex(Choice):
    """How flashcard backs print: duplex, flipped on the long or short edge, or after all fronts."""

    LONG = "long"
    SHORT = "short"
    NONE = "none"


class CardSize(Choice):
    """A flashcard preset (its geometry: ``render.flashcards.CARD_FORMATS``)."""

    STANDARD = "95x65"
    INDEX_CARD = "index-3x5"
    BUSINESS = "business"


class CardSide(Choice):
    """A face of a flashcard: the question in front, the summary and key points on the back."""

    FRONT = "front"
    BACK = "back"


class OutputKind(enum.Enum):
    """The kinds of file a build writes for each deck stem."""

    ANKI = "anki"
    CHEATSHEET = "cheatsheet"
    FLASHCARDS = "flashcards"
    SITE = "site"  # a static study site: a folder <stem>-site/


@dataclass(frozen=True, slots=True)
class Location:
    """Where a value stands in the content, for messages: a path as the user sees it and a 1-based line.

    The path depends on the working directory; nothing that ends up in an
    output may use it (see ``Question.file``).
    """

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class Category:
    """A group of questions; categories keep the order the bank file gives them."""

    slug: str
    title: str
    colour: str  # "#rrggbb" (COLOUR)
    description: str


@dataclass(frozen=True, slots=True)
class KeyPointGroup:
    """A titled list of key points, e.g. "Strategies" with three items.

    ``key`` is the group's stable identity (Anki cloze GUIDs derive from it);
    it defaults to the slug of the title, so set it explicitly before renaming
    a group whose cloze cards learners already review. ``cloze`` says whether
    the group becomes a cloze note with one card per item. ``item_keys`` holds
    each item's optional explicit key ("" for none; empty when no item has one):
    a cloze item keeps its cloze number across edits by its key, else by its text.
    """

    key: str
    title: str
    items: tuple[str, ...]
    cloze: bool
    item_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A follow-up question an interviewer may ask next, with its short answer.

    ``answer`` is empty when the bank gives the question alone; both are Markdown.
    """

    question: str
    answer: str = ""


@dataclass(frozen=True, slots=True)
class Example:
    """A named region of a companion code file, shown exactly as the tests ran it."""

    file: str  # path relative to the content directory, with forward slashes
    region: str
    code: str  # the region's lines, dedented, without the marker comments
    title: str
    language: str
    start_line: int  # first line of the region's code in ``file`` (1-based)
    location: Location
    # What the cheat sheet shows of it, as the author marked it (``sheet:`` in the YAML:
    # some lines of the region or another region of the file); empty: a default excerpt.
    sheet_code: str = ""


@dataclass(frozen=True, slots=True)
class Question:
    """One interview question with its answer; text fields are Markdown."""

    id: str
    number: int
    category: str  # a Category slug
    question: str
    answer: str
    summary: str  # the answer in one line, for the cheat sheet
    key_points: tuple[KeyPointGroup, ...]
    rarity: Rarity
    difficulty: Difficulty
    tags: tuple[str, ...]
    follow_ups: tuple[FollowUp, ...]
    pitfalls: tuple[str, ...]
    examples: tuple[Example, ...]
    location: Location  # where messages point; relative to the working directory
    file: str  # the question's file relative to the content directory, with forward slashes


@dataclass(frozen=True, slots=True)
class Selection:
    """Criteria for a subset: OR within one criterion, AND across criteria.

    An empty criterion does not restrict. A tag matches itself and every tag
    below it in the ``::`` hierarchy.
    """

    categories: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    difficulties: frozenset[Difficulty] = frozenset()
    rarities: frozenset[Rarity] = frozenset()
    ids: frozenset[str] = frozenset()

    def is_empty(self) -> bool:
        """Return True when no criterion is set, so every question matches."""
        return not (self.categories or self.tags or self.difficulties or self.rarities or self.ids)


@dataclass(frozen=True, slots=True)
class Subset:
    """A named selection defined in the bank file, built as its own deck and sheets."""

    name: str
    description: str
    selection: Selection
    location: Location


@dataclass(frozen=True, slots=True)
class Bank:
    """A validated question bank; questions are ordered by number."""

    id: str  # stable identity: Anki deck, model and note ids derive from it
    slug: str  # used in output file names
    title: str
    version: str
    description: str
    categories: tuple[Category, ...]
    subsets: tuple[Subset, ...]
    questions: tuple[Question, ...]
    root: Path = field(compare=False)  # the content directory
    theme: str = ""  # a folder relative to root whose files replace built-in templates; "" for none
    # Shown code lines longer than this are a warning of ``prepdeck check`` (``code_width:``).
    code_width: int = 72

    def category(self, slug: str) -> Category:
        """Return the category with this slug."""
        for category in self.categories:
            if category.slug == slug:
                return category
        raise KeyError(slug)

    def subset(self, name: str) -> Subset:
        """Return the named subset."""
        for subset in self.subsets:
            if subset.name == name:
                return subset
        raise KeyError(name)

    def by_category(self) -> list[tuple[Category, list[Question]]]:
        """Return the categories in bank order, each with its questions; empty ones are left out."""
        groups = []
        for category in self.categories:
            questions = [q for q in self.questions if q.category == category.slug]
            if questions:
                groups.append((category, questions))
        return groups


@dataclass(frozen=True, slots=True)
class Artifact:
    """A rendered output: a file name relative to the output directory and its bytes."""

    name: str
    data: bytes
