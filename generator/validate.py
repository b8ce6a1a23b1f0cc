"""Validate stage: turn loaded YAML values into a frozen ``Bank``.

Every problem is recorded with its ``path:line`` and validation goes on, so one
run reports all of them. The schema lives here, field by field, because each
message must point at the line an author has to change.
"""

from __future__ import annotations

import difflib
import enum
import logging
import re
import textwrap
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from pathlib import Path, PurePosixPath
from typing import TypeVar

from generator.errors import Problems
from generator.load import Content, ExampleFiles, Raw, RawFile, Region, display_path, inside
from generator.model import (
    COLOUR,
    Bank,
    Category,
    Difficulty,
    Example,
    FollowUp,
    KeyPointGroup,
    Location,
    Question,
    Rarity,
    Selection,
    Subset,
)
from generator.render import math, media
from generator.select import matches
from generator.syntax import embedded

log = logging.getLogger(__name__)

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_EXPECTED = "a slug (lowercase letters, digits, hyphens)"
TAG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:::[a-z0-9]+(?:-[a-z0-9]+)*)*$")
#: Tag roots the deck writes itself; content may not use them.
RESERVED_TAG_ROOTS = ("category", "difficulty", "rarity", "card")
SUMMARY_WARN_LENGTH = 140

LANGUAGES = {
    ".py": "python",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".sh": "bash",
    ".sql": "sql",
    ".json": "json",
    ".toml": "toml",
    ".txt": "text",
}
E = TypeVar("E", bound=enum.Enum)


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def _one_of(choices: Iterable[str]) -> str:
    return ", ".join(choices)


class Fields:
    """Typed access to one YAML mapping; each problem is recorded at its line.

    ``what`` names the object in messages (``question 'feature-store'``).
    """

    def __init__(
        self, raw: Raw, what: str, problems: Problems, allowed: Iterable[str], required: Iterable[str]
    ):
        self.raw = raw
        self.what = what
        self.problems = problems
        self.ok = True
        self.values: dict[str, Raw] = raw.value if isinstance(raw.value, dict) else {}
        if not isinstance(raw.value, dict):
            self.fail(f"expected a mapping, found {raw.kind}", raw.location)
            return
        allowed = list(allowed)
        for key, where in raw.keys.items():
            if key not in allowed:
                self.fail(f"unknown field '{key}'{_did_you_mean(key, allowed)}", where)
        for key in required:
            if key not in self.values:
                self.fail(f"missing field '{key}'", raw.location)

    def fail(self, message: str, location: Location) -> None:
        """Record an error about this object."""
        self.ok = False
        self.problems.error(f"{self.what}: {message}", location)

    def get(self, name: str) -> Raw | None:
        """Return the raw value of a field, or None when absent."""
        return self.values.get(name)

    def text(
        self, name: str, default: str = "", pattern: re.Pattern[str] | None = None, expected: str = ""
    ) -> str:
        """Return a field as non-empty text (numbers and booleans keep their source text)."""
        raw = self.get(name)
        if raw is None:
            return default
        return self.text_of(raw, f"'{name}'", pattern, expected) or default

    def text_of(
        self, raw: Raw, label: str, pattern: re.Pattern[str] | None = None, expected: str = ""
    ) -> str:
        """Check one scalar as text and return it (stripped), or "" after recording why not."""
        if isinstance(raw.value, (dict, list)) or raw.value is None:
            self.fail(f"{label} must be text, found {raw.kind}", raw.location)
            return ""
        value = raw.text.strip()
        if not value:
            self.fail(f"{label} must not be empty", raw.location)
            return ""
        if pattern is not None and not pattern.match(value):
            self.fail(f"{label} '{value}' is not {expected}", raw.location)
            return ""
        if ("$" in value or "![" in value) and not _check_embedded(value, raw, self):
            return ""
        return value

    def slug(self, name: str, default: str = "") -> str:
        """Return a field that must be a slug: lowercase letters and digits, joined by single hyphens."""
        return self.text(name, default=default, pattern=SLUG, expected=SLUG_EXPECTED)

    def integer(self, name: str) -> int:
        """Return a field as a positive integer."""
        raw = self.get(name)
        if raw is None:
            return 0
        if not isinstance(raw.value, int) or isinstance(raw.value, bool) or raw.value < 1:
            self.fail(
                f"'{name}' must be a positive whole number, found {raw.kind} '{raw.text}'", raw.location
            )
            return 0
        return raw.value

    def boolean(self, name: str, default: bool) -> bool:
        """Return a field as true/false."""
        raw = self.get(name)
        if raw is None:
            return default
        if not isinstance(raw.value, bool):
            self.fail(f"'{name}' must be true or false, found {raw.kind} '{raw.text}'", raw.location)
            return default
        return raw.value

    def choice(self, name: str, kind: type[E]) -> E | None:
        """Return a field as a member of an enum, naming the choices when it is not one."""
        raw = self.get(name)
        if raw is None:
            return None
        values = [member.value for member in kind]
        text = self.text_of(raw, f"'{name}'")
        if not text:
            return None
        if text not in values:
            self.fail(
                f"unknown {name} '{text}'{_did_you_mean(text, values)} (expected one of {_one_of(values)})",
                raw.location,
            )
            return None
        return kind(text)

    def items(self, name: str) -> list[Raw]:
        """Return a field that must be a list (a single scalar counts as a list of one)."""
        raw = self.get(name)
        if raw is None:
            return []
        if isinstance(raw.value, list):
            return raw.value
        if isinstance(raw.value, dict) or raw.value is None:
            self.fail(f"'{name}' must be a list, found {raw.kind}", raw.location)
            return []
        return [raw]

    def texts(self, name: str, pattern: re.Pattern[str] | None = None, expected: str = "") -> list[str]:
        """Return a field as a list of texts."""
        found = []
        for item in self.items(name):
            value = self.text_of(item, f"item in '{name}'", pattern, expected)
            if value:
                found.append(value)
        return found


class _Media:
    """Check each image file of a bank once; report its problems at its own lines."""

    def __init__(self, root: Path, problems: Problems):
        self.root = root
        self.problems = problems
        self.checked: dict[str, bool] = {}

    def check(self, target: str, where: Location) -> str:
        """Return "" if the image at ``target`` is fine, else the reason to report at ``where``."""
        try:
            path = media.check_reference(target)
        except media.MediaError as error:
            return str(error)
        if path not in self.checked:
            try:
                media.load_image(self.root, path)
                self.checked[path] = True
            except media.MediaError as error:
                self.checked[path] = False
                if error.line:
                    self.problems.error(
                        f"image '{path}' (used at {where}): {error}",
                        Location(display_path(self.root / path), error.line),
                    )
                    return "the image is refused (see above)"
                return str(error)
        return "" if self.checked[path] else "the image is refused (see above)"


#: The bank being validated, for the images its Markdown refers to.
_MEDIA: ContextVar[_Media | None] = ContextVar("media", default=None)


def _check_embedded(value: str, raw: Raw, fields: Fields) -> bool:
    """Check the images and formulas of Markdown text; record each problem at its line."""
    ok = True
    block = "\n" in value and raw.block
    for kind, target, alt, line in embedded(value):
        where = Location(raw.location.path, raw.location.line + line + (1 if block else 0))
        if kind == "image":
            reason = (
                "" if alt.strip() else f"image '{target}' has no alt text; write ![what it shows]({target})"
            )
            checker = _MEDIA.get()
            reason = reason or (checker.check(target, where) if checker else "")
            if not reason:
                try:
                    media.check_reference(target)
                except media.MediaError as error:
                    reason = str(error)
        else:
            delimiter = "$$" if kind == "math-display" else "$"
            try:
                math.typeset(target, kind == "math-display")
                reason = ""
            except math.MathError as error:
                shown = target if len(target) <= 60 else target[:57] + "..."
                reason = f"math {delimiter}{shown}{delimiter}: {error} (write \\$ for a dollar sign)"
        if reason:
            fields.fail(reason, where)
            ok = False
    return ok


def slugify(text: str) -> str:
    """Return a lowercase slug of ``text`` (``"Key Points"`` -> ``key-points``)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "group"


def validate_content(content: Content, problems: Problems) -> Bank | None:
    """Return the bank for loaded content, recording every problem; None if unusable."""
    if content.bank is None:
        return None
    token = _MEDIA.set(_Media(content.root, problems))
    try:
        return _validate(content, problems)
    finally:
        _MEDIA.reset(token)


def _validate(content: Content, problems: Problems) -> Bank | None:
    header = _bank_header(content.bank, problems)
    if header is None:
        return None
    categories = header["categories"]
    questions = _questions(content, categories, problems)
    subsets = _subsets(content.bank, header["subsets"], categories, questions, problems)
    if not questions and not content.questions:
        where = Location(content.bank.display, 1)
        problems.error(
            f"the bank has no questions: add YAML files under {display_path(content.root / 'questions')}",
            where,
        )
    if problems.errors:
        return None
    return Bank(
        id=header["id"],
        slug=header["slug"],
        title=header["title"],
        version=header["version"],
        description=header["description"],
        code_width=header["code_width"],
        categories=tuple(categories.values()),
        subsets=tuple(subsets),
        questions=tuple(sorted(questions, key=lambda q: q.number)),
        root=content.root,
        theme=header["theme"],
    )


BANK_REQUIRED = ["id", "slug", "title", "version", "categories"]
BANK_FIELDS = [*BANK_REQUIRED, "description", "theme", "code_width", "subsets"]
CATEGORY_REQUIRED = ["slug", "title", "colour"]
CATEGORY_FIELDS = [*CATEGORY_REQUIRED, "description"]


def _bank_header(file: RawFile, problems: Problems) -> dict | None:
    fields = Fields(
        file.data,
        "bank",
        problems,
        allowed=BANK_FIELDS,
        required=BANK_REQUIRED,
    )
    if not isinstance(file.data.value, dict):
        return None
    header = {
        "id": fields.slug("id"),
        "slug": fields.slug("slug"),
        "title": fields.text("title"),
        "version": fields.text("version"),
        "description": fields.text("description"),
        "subsets": fields.items("subsets"),
        "theme": _theme(fields, file),
        "code_width": fields.integer("code_width") or CODE_WIDTH,
    }
    categories: dict[str, Category] = {}
    for raw in fields.items("categories"):
        category = _category(raw, problems)
        if category is None:
            continue
        if category.slug in categories:
            problems.error(f"bank: duplicate category '{category.slug}'", raw.location)
            continue
        categories[category.slug] = category
    if "categories" in fields.values and not fields.items("categories") and fields.ok:
        fields.fail("'categories' must list at least one category", fields.values["categories"].location)
    header["categories"] = categories
    return header


def _theme(fields: Fields, file: RawFile) -> str:
    """Return ``theme``: a folder inside the content directory (a theme is content too)."""
    theme = fields.text("theme")
    if not theme:
        return ""
    where = fields.values["theme"].location
    path = PurePosixPath(theme)
    root = file.path.parent
    if path.is_absolute() or ".." in path.parts or "\\" in theme or not inside(root / theme, root):
        fields.fail(f"theme '{theme}' must be a folder inside the content directory", where)
        return ""
    if not (root / theme).is_dir():
        fields.fail(f"theme folder '{theme}' does not exist; create it or remove 'theme'", where)
        return ""
    return theme


def _category(raw: Raw, problems: Problems) -> Category | None:
    fields = Fields(
        raw,
        "category",
        problems,
        allowed=CATEGORY_FIELDS,
        required=CATEGORY_REQUIRED,
    )
    if not isinstance(raw.value, dict):
        return None
    slug = fields.slug("slug")
    if slug:
        fields.what = f"category '{slug}'"
    category = Category(
        slug=slug,
        title=fields.text("title"),
        colour=fields.text("colour", pattern=COLOUR, expected='a colour like "#1f5fa8"').lower(),
        description=fields.text("description"),
    )
    return category if fields.ok else None


QUESTION_REQUIRED = [
    "id",
    "number",
    "category",
    "question",
    "summary",
    "answer",
    "key_points",
    "rarity",
    "difficulty",
]
QUESTION_FIELDS = [*QUESTION_REQUIRED, "tags", "follow_ups", "pitfalls", "examples"]


def _questions(content: Content, categories: dict[str, Category], problems: Problems) -> list[Question]:
    by_id: dict[str, Question] = {}
    by_number: dict[int, Question] = {}
    for file in content.questions:
        question = _question(file, categories, content.examples, problems)
        if question is None:
            continue
        first = by_id.get(question.id)
        if first is not None:
            problems.error(
                f"question '{question.id}': duplicate id (first defined at {first.location})",
                question.location,
            )
            continue
        other = by_number.get(question.number)
        if other is not None:
            problems.error(
                f"question '{question.id}': number {question.number} is already used by "
                f"question '{other.id}' ({other.location})",
                question.location,
            )
            continue
        by_id[question.id] = question
        by_number[question.number] = question
    return list(by_id.values())


def _question(
    file: RawFile, categories: dict[str, Category], examples: ExampleFiles, problems: Problems
) -> Question | None:
    raw = file.data
    fields = Fields(raw, _question_name(raw), problems, allowed=QUESTION_FIELDS, required=QUESTION_REQUIRED)
    if not isinstance(raw.value, dict):
        return None
    question_id = fields.slug("id")
    _check_file_name(file, question_id, fields)
    category = _category_of(fields, categories)
    summary = _summary(fields)
    tags = _tags(fields)
    key_points = _key_points(fields)
    if "key_points" in fields.values and not key_points and fields.ok:
        fields.fail("'key_points' must list at least one group", fields.values["key_points"].location)
    found = [_example(item, fields, examples) for item in fields.items("examples")]
    question = Question(
        id=question_id,
        number=fields.integer("number"),
        category=category,
        question=fields.text("question"),
        answer=fields.text("answer"),
        summary=summary,
        key_points=key_points,
        rarity=fields.choice("rarity", Rarity) or Rarity.COMMON,
        difficulty=fields.choice("difficulty", Difficulty) or Difficulty.MEDIUM,
        tags=tags,
        follow_ups=_follow_ups(fields),
        pitfalls=tuple(fields.texts("pitfalls")),
        examples=tuple(example for example in found if example is not None),
        location=raw.location,
        file=file.relative,
    )
    if fields.ok and not question.examples:
        problems.warning(f"{fields.what}: no code example; add one under 'examples'", raw.location)
    return question if fields.ok else None


def _question_name(raw: Raw) -> str:
    """Return how messages name a question: by its id when it has a textual one."""
    if isinstance(raw.value, dict) and "id" in raw.value and isinstance(raw.value["id"].value, str):
        return f"question '{raw.value['id'].text}'"
    return "question"


def _check_file_name(file: RawFile, question_id: str, fields: Fields) -> None:
    """Warn when a question file is not named after its id (rename the file, never the id)."""
    stem = file.path.name.rsplit(".", 1)[0]
    if question_id and stem != question_id:
        fields.problems.warning(
            f"{fields.what}: the file is named '{file.path.name}' but the id is '{question_id}'; "
            f"rename the file to '{question_id}{file.path.suffix}' (never the id: Anki knows the note by it)",
            fields.values["id"].location,
        )


def _category_of(fields: Fields, categories: dict[str, Category]) -> str:
    """Return the question's category slug, which must be one of the bank's."""
    category = fields.text("category")
    if category and category not in categories:
        fields.fail(
            f"unknown category '{category}'{_did_you_mean(category, categories)} "
            + (
                f"(expected one of {_one_of(categories)})"
                if categories
                else "(bank.yaml defines no valid category; fix its 'categories' first)"
            ),
            fields.values["category"].location,
        )
    return category


def _summary(fields: Fields) -> str:
    """Return the one-line summary, with a warning when the cheat sheet cannot print it on one line."""
    summary = fields.text("summary")
    if summary and len(summary) > SUMMARY_WARN_LENGTH:
        fields.problems.warning(
            f"{fields.what}: 'summary' is {len(summary)} characters; the cheat sheet prints "
            f"one line, keep it under {SUMMARY_WARN_LENGTH}",
            fields.values["summary"].location,
        )
    return summary


def _tags(fields: Fields) -> tuple[str, ...]:
    """Return the question's own tags, each once; the deck's reserved roots are refused."""
    tags = []
    for item in fields.items("tags"):
        tag = fields.text_of(item, "tag", TAG, "a tag (lowercase slugs joined by '::')")
        if tag and tag.split("::")[0] in RESERVED_TAG_ROOTS:
            fields.fail(
                f"tag '{tag}' uses a reserved root; the deck adds "
                f"{', '.join(r + '::' for r in RESERVED_TAG_ROOTS)} tags itself",
                item.location,
            )
        elif tag:
            tags.append(tag)
    return tuple(dict.fromkeys(tags))


def _follow_ups(parent: Fields) -> tuple[FollowUp, ...]:
    """Read 'follow_ups': each item is a question as text, or a mapping of 'question' and 'answer'."""
    found: list[FollowUp] = []
    for number, raw in enumerate(parent.items("follow_ups"), start=1):
        if not isinstance(raw.value, dict):
            text = parent.text_of(raw, "item in 'follow_ups'")
            if text:
                found.append(FollowUp(text))
            continue
        fields = Fields(
            raw,
            f"{parent.what}, follow-up {number}",
            parent.problems,
            allowed=["question", "answer"],
            required=["question", "answer"],
        )
        follow_up = FollowUp(fields.text("question"), fields.text("answer"))
        if fields.ok:
            found.append(follow_up)
        else:
            parent.ok = False
    return tuple(found)


def _key_points(parent: Fields) -> tuple[KeyPointGroup, ...]:
    groups: list[KeyPointGroup] = []
    for raw in parent.items("key_points"):
        fields = Fields(
            raw,
            parent.what,
            parent.problems,
            allowed=["title", "key", "items", "cloze"],
            required=["title", "items"],
        )
        if not isinstance(raw.value, dict):
            parent.ok = False
            continue
        title = fields.text("title")
        key = fields.slug("key", default=slugify(title))
        items, item_keys = _items(fields)
        if "items" in fields.values and not items and fields.ok:
            fields.fail(f"key point group '{title}' has no items", fields.values["items"].location)
        if any(group.key == key for group in groups):
            fields.fail(f"two key point groups have the key '{key}'; give one a distinct 'key'", raw.location)
        cloze = fields.boolean("cloze", default=False)
        if not fields.ok:
            parent.ok = False
            continue
        keys = tuple(item_keys) if any(item_keys) else ()
        groups.append(KeyPointGroup(key=key, title=title, items=tuple(items), cloze=cloze, item_keys=keys))
    return tuple(groups)


def _items(fields: Fields) -> tuple[list[str], list[str]]:
    """Return a group's item texts and keys; an item is text, or a mapping of ``text`` and ``key``.

    A key names a cloze item for good: it keeps its cloze number (and learners'
    review history) through any rewording, and a key the group never used
    marks a new item.
    """
    texts: list[str] = []
    keys: list[str] = []
    for raw in fields.items("items"):
        if not isinstance(raw.value, dict):
            value = fields.text_of(raw, "item in 'items'")
            if value:
                texts.append(value)
                keys.append("")
            continue
        item = Fields(raw, fields.what, fields.problems, allowed=["text", "key"], required=["text", "key"])
        text = item.text("text")
        key = item.slug("key")
        if key and key in keys:
            item.fail(f"two items have the key '{key}'", raw.location)
        if not item.ok:
            fields.ok = False
            continue
        texts.append(text)
        keys.append(key)
    return texts, keys


def _example(raw: Raw, parent: Fields, examples: ExampleFiles) -> Example | None:
    fields = Fields(
        raw,
        parent.what,
        parent.problems,
        allowed=["file", "region", "title", "language", "sheet"],
        required=["file", "region"],
    )
    if not isinstance(raw.value, dict):
        parent.ok = False
        return None
    file = fields.text("file")
    region = fields.text("region")
    title = fields.text("title")
    if not (file and region and fields.ok):
        parent.ok = False
        return None
    where = fields.values["file"].location
    path = PurePosixPath(file)
    if path.is_absolute() or ".." in path.parts or "\\" in file:
        fields.fail(f"example file '{file}' must be a relative path inside the content directory", where)
        parent.ok = False
        return None
    language = fields.text("language", default=LANGUAGES.get(path.suffix, "text"))
    found = _region(examples, file, region, fields, where)
    if found is None:
        parent.ok = False
        return None
    code, start_line = found
    sheet_code = _sheet_code(fields, file, code, examples) if "sheet" in fields.values else ""
    if not fields.ok:
        parent.ok = False
        return None
    return Example(
        file=file,
        region=region,
        code=code,
        title=title or region,
        language=language,
        start_line=start_line,
        location=raw.location,
        sheet_code=sheet_code,
    )


_LINE_RANGE = re.compile(r"(\d+)(?:-(\d+))?")


def _sheet_code(fields: Fields, file: str, code: str, examples: ExampleFiles) -> str:
    """Return the code an example's ``sheet:`` marks for the cheat sheet, or record why not.

    ``sheet: 4-11`` is lines 4 to 11 of the example's region as the card shows
    it (counting from 1); ``sheet: NAME`` is another region of the same file.
    """
    where = fields.values["sheet"].location
    value = fields.text("sheet")
    if not value:
        return ""
    lines = code.rstrip("\n").splitlines()
    match = _LINE_RANGE.fullmatch(value)
    if match:
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if not 1 <= first <= last <= len(lines):
            fields.fail(
                f"sheet lines '{value}' are not within the region's {len(lines)} lines (e.g. 1-{len(lines)})",
                where,
            )
            return ""
        return textwrap.dedent("\n".join(lines[first - 1 : last])).strip("\n") + "\n"
    found = _region(examples, file, value, fields, where)
    return found[0] if found else ""


def _region(examples: ExampleFiles, file: str, region: str, fields: Fields, where: Location) -> Region | None:
    """Return a region's dedented code and first line, or record at ``where`` why there is none."""
    found = examples.regions(file)
    if isinstance(found, str):
        fields.fail(f"example file '{file}' {found}", where)
        return None
    if found is None:  # unreadable, and already reported
        fields.ok = False
        return None
    if region not in found:
        known = ", ".join(sorted(found)) or "none"
        suggestion = _did_you_mean(region, found)
        fields.fail(f"example file '{file}' has no region '{region}'{suggestion} (regions: {known})", where)
        return None
    return found[region]


def _subsets(
    file: RawFile,
    items: list[Raw],
    categories: dict[str, Category],
    questions: list[Question],
    problems: Problems,
) -> list[Subset]:
    subsets: list[Subset] = []
    ids = {q.id for q in questions}
    for raw in items:
        fields = Fields(
            raw, "subset", problems, allowed=["name", "description", *SELECTION_FIELDS], required=["name"]
        )
        if not isinstance(raw.value, dict):
            continue
        name = fields.slug("name")
        if name:
            fields.what = f"subset '{name}'"
        selection = selection_from(fields, categories, ids)
        if any(s.name == name for s in subsets):
            fields.fail("a subset of this name is already defined", raw.location)
        if not fields.ok:
            continue
        if selection.is_empty():
            fields.fail(f"no criteria; give at least one of {', '.join(SELECTION_FIELDS)}", raw.location)
            continue
        subset = Subset(
            name=name, description=fields.text("description"), selection=selection, location=raw.location
        )
        if questions and not problems.errors and not any(matches(q, selection) for q in questions):
            fields.fail("matches no question", raw.location)
            continue
        subsets.append(subset)
    return subsets


SELECTION_FIELDS = ["category", "tag", "difficulty", "rarity", "id"]


def selection_from(fields: Fields, categories: Iterable[str], ids: Iterable[str]) -> Selection:
    """Read selection criteria (category, tag, difficulty, rarity, id) from a subset mapping."""
    categories, ids = list(categories), set(ids)

    def known(name: str, allowed: Iterable[str], convert: Callable[[str], object] = str) -> frozenset:
        values = []
        allowed = list(allowed)
        for item in fields.items(name):
            text = fields.text_of(item, f"'{name}'")
            if not text:
                continue
            if allowed and text not in allowed:
                fields.fail(f"unknown {name} '{text}'{_did_you_mean(text, allowed)}", item.location)
                continue
            values.append(convert(text))
        return frozenset(values)

    return Selection(
        categories=known("category", categories),
        tags=frozenset(fields.texts("tag", pattern=TAG, expected="a tag")),
        difficulties=known("difficulty", [d.value for d in Difficulty], Difficulty),
        rarities=known("rarity", [r.value for r in Rarity], Rarity),
        ids=known("id", sorted(ids)),
    )


#: Code lines longer than this wrap on a phone; ``prepdeck check`` warns about them.
CODE_WIDTH = 72


def check_code_width(bank: Bank, width: int, problems: Problems) -> None:
    """Warn about every code line a card or the cheat sheet shows that is longer than ``width``.

    Cards and sheets wrap such lines (with a continuation mark), but a line that
    fits reads better: one warning per example, at its longest line.
    """
    seen: set[tuple[str, str]] = set()
    for question in bank.questions:
        for example in question.examples:
            if (example.file, example.region) in seen:
                continue
            seen.add((example.file, example.region))
            lengths = [len(line) for line in example.code.splitlines()]
            over = [n for n in lengths if n > width]
            if not over:
                continue
            longest = lengths.index(max(lengths))
            where = Location(display_path(bank.root / example.file), example.start_line + longest)
            problems.warning(
                f"example region '{example.region}': {len(over)} shown line{'s' if len(over) > 1 else ''} "
                f"longer than {width} characters (longest {max(lengths)}); they wrap on a phone",
                where,
            )
