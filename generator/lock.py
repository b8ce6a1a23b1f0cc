"""The lock: what each release published to Anki, so notes keep their times and clozes their numbers.

``prepdeck.lock`` sits beside ``bank.yaml`` and only ``prepdeck release`` writes
it. It records, for every note ever released, its GUID, question id and role,
digests of everything Anki receives for it (each field, the tags, the deck and
the note type) and the time that content was first released; for every cloze
item, the cloze number it holds; and the note types' schema (field and
template names in order). A build reads it: a note whose digests match keeps
the locked time, so re-importing a release changes only what the release
changed, and a learner's own edits to the other notes survive (Anki updates a
note only when the package's copy is newer).

The file is plain text, one record a line, sorted by question, so a release
shows up in ``git diff`` as the notes it added, changed and retired::

    prepdeck-lock 1
    bank my-bank
    version 1.1.0
    released 1718000000
    notetype cloze id=1234567890 time=1718000000 digest=9f3a01bc fields=Sort,Id,Text templates=Cloze
    note q1 cloze:points guid=Ab3!x type=cloze time=1718000000 deck=… tags=… fields=… "What is q1?"
    item q1 points 1 "first item"
    item q1 points 2 retired=1.1.0 "a deleted item: its number is never used again"
"""

from __future__ import annotations

import difflib
import json
import logging
import re
import struct
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

from generator.errors import GeneratorError, Problem
from generator.model import Location

log = logging.getLogger(__name__)

LOCK_FILE = "prepdeck.lock"
MAGIC = "prepdeck-lock 1"
HEADER = (
    "# What each release of this bank published to Anki: note GUIDs, content digests and times,\n"
    "# cloze numbers and note-type schemas. Written by `prepdeck release`; commit it, never edit it.\n"
)

#: Two item texts at least this similar (difflib ratio, after normalizing) are the same item
#: reworded, so a typo fix keeps the item's cloze number and review history.
SIMILAR = 0.8

_MARKUP = re.compile(r"[*_`~\\]+")
_SPACE = re.compile(r"\s+")


def digest(text: str) -> str:
    """Return a short digest of ``text``: 8 hex digits, enough to notice any edit to one field.

    CRC-32 detects changes, which is all the lock needs (no one forges a field to
    match), and costs a tenth of a cryptographic hash: a build digests every field.
    """
    return f"{zlib.crc32(text.encode('utf-8')):08x}"


def digests(texts: Sequence[str], before: str = "") -> str:
    """Return ``digest`` of each text, joined by dots, in one pass: a build digests every field of every note.

    When they equal ``before`` (the locked digests: the usual case), returns
    ``before`` itself, found by one comparison of strings, not one per field.
    """
    sums = tuple(map(zlib.crc32, map(str.encode, texts)))
    packed = struct.pack(f">{len(sums)}I", *sums).hex(".", 4)
    return before if packed == before else packed


@dataclass(frozen=True, slots=True)
class NoteTypeRecord:
    """A released note type: its id, schema (names in order) and a digest of its HTML and CSS."""

    kind: str  # the frozen key: "question" or "cloze"
    id: int
    time: int  # when its templates or CSS last changed in a release
    digest: str
    fields: tuple[str, ...]
    templates: tuple[str, ...]

    def same_content(self, other: NoteTypeRecord) -> bool:
        """Return True when Anki would see no difference between the two note types."""
        return (self.id, self.digest, self.fields, self.templates) == (
            other.id,
            other.digest,
            other.fields,
            other.templates,
        )


class NoteRecord(NamedTuple):
    """A released note: identity, digests of what Anki receives, and when that was released.

    A named tuple, not a frozen dataclass, as immutable and a fifth of the cost to
    make: a build reads one per note from the lock and makes one for each note.
    """

    question: str  # the question id
    role: str  # "question" or "cloze:<group key>"
    guid: str
    kind: str  # the note type's key
    time: int
    fields: str  # one digest per field, in the note type's field order, joined by "."
    tags: str  # digest of the tags, in order
    deck: str  # digest of the deck name
    title: str  # the question's text, for tombstones and release notes
    retired: str = ""  # the version that retired it; empty while the question exists

    def same_content(self, other: NoteRecord) -> bool:
        """Return True when Anki would see no difference between the two notes."""
        return (self.kind, self.fields, self.tags, self.deck) == (
            other.kind,
            other.fields,
            other.tags,
            other.deck,
        )

    def field_digests(self) -> tuple[str, ...]:
        """Return the digest of each field, in the note type's field order."""
        return tuple(self.fields.split(".")) if self.fields else ()


class ItemRecord(NamedTuple):
    """A cloze item: the cloze number it holds in its group's note, for good (a named tuple, as above)."""

    question: str
    group: str  # the key-point group's key
    number: int
    text: str  # the item's source text (Markdown)
    key: str = ""  # the author's explicit item key, if any
    retired: str = ""  # the version that deleted it; its number is never reused


@dataclass(frozen=True, slots=True)
class Lock:
    """The whole lock file; an empty lock (``Lock.empty``) stands for "nothing released yet"."""

    bank: str
    version: str
    released: int
    notetypes: Mapping[str, NoteTypeRecord] = field(default_factory=dict)  # by kind
    notes: Mapping[str, NoteRecord] = field(default_factory=dict)  # by GUID
    items: Mapping[tuple[str, str], tuple[ItemRecord, ...]] = field(
        default_factory=dict
    )  # by (question, group)

    @classmethod
    def empty(cls, bank: str) -> Lock:
        """Return the lock of a bank that was never released."""
        return cls(bank=bank, version="", released=0)

    @property
    def is_empty(self) -> bool:
        """Return True when nothing was ever released."""
        return not self.notes and not self.notetypes

    def latest(self) -> int:
        """Return the latest time the lock records (0 when empty)."""
        times = [self.released, *(n.time for n in self.notes.values())]
        times += [t.time for t in self.notetypes.values()]
        return max(times)


# --- Cloze numbers ----------------------------------------------------------------------------


def _normal(text: str) -> str:
    return _SPACE.sub(" ", _MARKUP.sub("", text)).strip().lower()


def cloze_numbers(
    lock: Lock | None, question: str, group: str, texts: Sequence[str], keys: Sequence[str]
) -> tuple[int, ...]:
    """Return the cloze number of each item of a key-point group, stable across edits.

    Without a locked record of the group, items are numbered by position. Otherwise
    each item takes the number of the locked item it is, tried in this order:
    the same explicit ``key``; the same text (ignoring case, spacing and Markdown
    emphasis), unless both carry different keys; a text at least ``SIMILAR`` alike
    (a reworded item), between items without keys. Any other item is new and
    gets the next number never used in the group; a deleted item's number is
    never given out again. So an author marks a new item by giving it a ``key``
    the group has not used before.
    """
    locked = lock.items.get((question, group), ()) if lock is not None else ()
    if not locked:
        return tuple(range(1, len(texts) + 1))
    live = [item for item in locked if not item.retired]
    if not any(keys) and [item.text for item in live] == list(texts):
        return tuple(item.number for item in live)  # unchanged, the usual case
    numbers: list[int | None] = [None] * len(texts)
    free = {item.number: item for item in live}
    normal = [_normal(t) for t in texts]
    _match_keys(numbers, keys, free)
    _match_texts(numbers, normal, keys, free)
    _match_similar(numbers, normal, keys, free)
    following = max(item.number for item in locked) + 1
    for index, number in enumerate(numbers):
        if number is None:
            numbers[index] = following
            following += 1
    return tuple(n for n in numbers if n is not None)


def _match_keys(numbers: list[int | None], keys: Sequence[str], free: dict[int, ItemRecord]) -> None:
    """Give each item with a key the number of the locked item with that key."""
    by_key = {item.key: item for item in free.values() if item.key}
    for index, key in enumerate(keys):
        if key and key in by_key:
            numbers[index] = by_key[key].number
            del free[by_key[key].number]


def _match_texts(
    numbers: list[int | None], normal: Sequence[str], keys: Sequence[str], free: dict[int, ItemRecord]
) -> None:
    """Give each unnumbered item the number of a locked item with the same text, unless their keys differ."""
    for index, text in enumerate(normal):
        if numbers[index] is not None:
            continue
        for number, item in free.items():
            if _normal(item.text) == text and not (keys[index] and item.key and keys[index] != item.key):
                numbers[index] = number
                del free[number]
                break


def _match_similar(
    numbers: list[int | None], normal: Sequence[str], keys: Sequence[str], free: dict[int, ItemRecord]
) -> None:
    """Give reworded items (no key, at least ``SIMILAR`` alike) their locked numbers, best match first."""
    pairs = []
    for index, text in enumerate(normal):
        if numbers[index] is not None or keys[index]:
            continue
        for number, item in free.items():
            if not item.key:
                ratio = _similarity(text, _normal(item.text))
                if ratio >= SIMILAR:
                    pairs.append((-ratio, index, number))
    for _, index, number in sorted(pairs):
        if numbers[index] is None and number in free:
            numbers[index] = number
            del free[number]


def _similarity(a: str, b: str) -> float:
    """Return difflib's ratio of two texts, or 0 when the quick upper bounds rule ``SIMILAR`` out."""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < SIMILAR or matcher.quick_ratio() < SIMILAR:
        return 0.0
    return matcher.ratio()


# --- Reading ----------------------------------------------------------------------------------


def lock_path(content: Path) -> Path:
    """Return where the lock of the bank in ``content`` lives."""
    return Path(content) / LOCK_FILE


def read_lock(content: Path, bank_id: str) -> Lock:
    """Return the lock beside ``bank.yaml``, or an empty one; GeneratorError with path:line if malformed."""
    path = lock_path(content)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Lock.empty(bank_id)
    except (OSError, UnicodeDecodeError) as exc:
        raise GeneratorError([Problem(f"cannot read the lock: {exc}", Location(str(path), 1))]) from None
    return parse_lock(text, str(path), bank_id)


def parse_lock(text: str, path: str, bank_id: str) -> Lock:
    """Return the lock that ``text`` holds; ``path`` is for messages."""
    found = _Records(path)
    # Lines end at "\n" alone: a quoted text may hold U+2028 or NEL, which JSON leaves as they are.
    lines = ((n, line) for n, line in enumerate(text.split("\n"), start=1) if line and line[0] != "#")
    first = next(lines, None)
    if first is None or first[1] != MAGIC:
        number = first[0] if first is not None else 1
        raise GeneratorError([Problem(f"not a prepdeck lock (expected '{MAGIC}')", Location(path, number))])
    for number, line in lines:
        found.add(number, line)
    problems = found.problems or _header_problems(found.header, path, bank_id)
    if problems:
        raise GeneratorError(problems)
    return Lock(
        bank=found.header["bank"],
        version=found.header["version"],
        released=int(found.header["released"]),
        notetypes=found.notetypes,
        notes=found.notes,
        items={key: tuple(sorted(items, key=lambda i: i.number)) for key, items in found.items.items()},
    )


class _Records:
    """The records of a lock as they are read, line by line, and the problems found on the way."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.header: dict[str, str] = {}
        self.notetypes: dict[str, NoteTypeRecord] = {}
        self.notes: dict[str, NoteRecord] = {}
        self.items: dict[tuple[str, str], list[ItemRecord]] = {}
        self.problems: list[Problem] = []

    def add(self, number: int, line: str) -> None:
        """Read one line after the magic one: a record, or a problem at ``number``."""
        # Nearly every line is a note or an item as format_lock wrote it: one regular expression
        # each, chosen by the first word; any other line (or one with escapes) goes the long way.
        fast = _FAST_LINES.get(line[:5])
        match = fast[0].fullmatch(line) if fast is not None else None
        try:
            record = fast[1](match) if match is not None else _record(line)
        except (KeyError, IndexError, ValueError) as exc:
            reason = f"missing '{exc.args[0]}'" if isinstance(exc, KeyError) else str(exc)
            self.problem(number, f"malformed lock record: {reason}")
            return
        if isinstance(record, NoteRecord):
            if record.guid in self.notes:
                self.problem(number, f"malformed lock record: GUID {record.guid} is listed twice")
            self.notes[record.guid] = record
        elif isinstance(record, NoteTypeRecord):
            self.notetypes[record.kind] = record
        elif isinstance(record, ItemRecord):
            self.items.setdefault((record.question, record.group), []).append(record)
        else:
            self.header[record[0]] = record[1]

    def problem(self, number: int, message: str) -> None:
        self.problems.append(Problem(message, Location(self.path, number)))


def _record(line: str) -> NoteTypeRecord | NoteRecord | ItemRecord | tuple[str, str]:
    """Return the record one line of a lock holds, or a header line as (key, value).

    Raises KeyError (a missing value), IndexError or ValueError for a malformed line.
    """
    words, quoted = _split(line)
    kind = words[0]
    if len(words) < len(_WORDS.get(kind, ())) + 1:
        raise ValueError(f"'{kind}' needs {' and '.join(_WORDS[kind])}")
    if kind in ("bank", "version", "released") and len(words) == 2 and quoted is None:
        return kind, words[1]
    if kind == "notetype":
        values = _values(words[2:])
        return NoteTypeRecord(
            kind=words[1],
            id=int(values["id"]),
            time=int(values["time"]),
            digest=values["digest"],
            fields=tuple(values["fields"].split(",")),
            templates=tuple(values["templates"].split(",")),
        )
    if kind == "note":
        values = _values(words[3:])
        return NoteRecord(
            question=words[1],
            role=words[2],
            guid=values["guid"],
            kind=values["type"],
            time=int(values["time"]),
            fields=values["fields"],
            tags=values["tags"],
            deck=values["deck"],
            title=quoted or "",
            retired=values.get("retired", ""),
        )
    if kind == "item":
        values = _values(words[4:])
        return ItemRecord(
            question=words[1],
            group=words[2],
            number=int(words[3]),
            text=quoted or "",
            key=values.get("key", ""),
            retired=values.get("retired", ""),
        )
    raise ValueError(f"unknown record '{printable_word(kind)}'")


def _note_record(match: re.Match[str]) -> NoteRecord:
    """Return the note record of a line that ``_NOTE_LINE`` matched."""
    question, role, guid, kind, time, deck, tags, fields, retired, title = match.groups()
    return NoteRecord(question, role, guid, kind, int(time), fields, tags, deck, title, retired or "")


def _item_record(match: re.Match[str]) -> ItemRecord:
    """Return the item record of a line that ``_ITEM_LINE`` matched."""
    question, group, number, key, retired, title = match.groups()
    return ItemRecord(question, group, int(number), title, key or "", retired or "")


def _header_problems(header: dict[str, str], path: str, bank_id: str) -> list[Problem]:
    """Return what is wrong with a lock's header lines: a missing one, or another bank's id."""
    for key in ("bank", "version", "released"):
        if key not in header:
            return [Problem(f"the lock has no '{key}' line", Location(path, 1))]
    if header["bank"] != bank_id:
        message = f"the lock belongs to bank '{header['bank']}', not '{bank_id}'; a bank's id never changes"
        return [Problem(message, Location(path, 1))]
    return []


# A note or item record as ``format_lock`` writes it, with a title that needs no JSON escape.
_NOTE_LINE = re.compile(
    r"note (\S+) (\S+) guid=(\S+) type=(\S+) time=(\d+) deck=(\S+) tags=(\S+) fields=(\S+)"
    r'(?: retired=(\S+))? "([^"\\\x00-\x1f]*)"'
)
_ITEM_LINE = re.compile(r'item (\S+) (\S+) (\d+)(?: key=(\S+))?(?: retired=(\S+))? "([^"\\\x00-\x1f]*)"')

#: A line's first word -> the pattern of that record as ``format_lock`` writes it, and its reader.
_FAST_LINES: dict[str, tuple[re.Pattern[str], Callable[[re.Match[str]], NoteRecord | ItemRecord]]] = {
    "note ": (_NOTE_LINE, _note_record),
    "item ": (_ITEM_LINE, _item_record),
}

#: The words each record starts with, before its name=value pairs.
_WORDS = {
    "notetype": ("a kind",),
    "note": ("a question id", "a role"),
    "item": ("a question id", "a group key", "a number"),
}


def printable_word(word: str) -> str:
    """Return at most 40 characters of ``word`` with control characters escaped."""
    return word[:40].encode("unicode_escape").decode("ascii")


def _split(line: str) -> tuple[list[str], str | None]:
    """Split a record into its space-separated words and its final quoted text, if any."""
    start = line.find(' "')
    if start < 0:
        return line.split(" "), None
    quoted = json.loads(line[start + 1 :])
    if not isinstance(quoted, str):
        raise ValueError("the quoted text is not a string")
    return line[:start].split(" "), quoted


def _values(words: Iterable[str]) -> dict[str, str]:
    values = {}
    for word in words:
        name, sep, value = word.partition("=")
        if not sep:
            raise ValueError(f"expected name=value, found '{printable_word(word)}'")
        values[name] = value
    return values


# --- Writing ----------------------------------------------------------------------------------


def format_lock(lock: Lock) -> str:
    """Return the lock's text: the header, then every record sorted by question."""
    lines = [
        HEADER.rstrip("\n"),
        MAGIC,
        f"bank {lock.bank}",
        f"version {lock.version}",
        f"released {lock.released}",
    ]
    for kind in sorted(lock.notetypes):
        t = lock.notetypes[kind]
        lines.append(
            f"notetype {kind} id={t.id} time={t.time} digest={t.digest} "
            f"fields={','.join(t.fields)} templates={','.join(t.templates)}"
        )
    body: list[tuple[tuple, str]] = []
    for n in lock.notes.values():
        retired = f" retired={n.retired}" if n.retired else ""
        body.append(
            (
                (n.question, n.role, 0, 0),
                f"note {n.question} {n.role} guid={n.guid} type={n.kind} time={n.time} deck={n.deck} "
                f"tags={n.tags} fields={n.fields}{retired} {_quote(n.title)}",
            )
        )
    for found in lock.items.values():
        for i in found:
            extra = (f" key={i.key}" if i.key else "") + (f" retired={i.retired}" if i.retired else "")
            body.append(
                (
                    (i.question, f"cloze:{i.group}", 1, i.number),
                    f"item {i.question} {i.group} {i.number}{extra} {_quote(i.text)}",
                )
            )
    lines += [line for _, line in sorted(body)]
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


# --- Comparing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Changes:
    """What a release changes against the lock, in the order release notes list it."""

    added: tuple[NoteRecord, ...] = ()
    changed: tuple[tuple[NoteRecord, tuple[str, ...]], ...] = ()  # the note, the changed parts' names
    retired: tuple[NoteRecord, ...] = ()
    notetypes: tuple[str, ...] = ()  # e.g. "note type 'cloze': templates or styling changed"
    schema: tuple[str, ...] = ()  # changes Anki cannot take in place; a release refuses them
    items: tuple[str, ...] = ()  # cloze items added, deleted or renumbered

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.retired or self.notetypes or self.schema or self.items)


def compare(old: Lock, new: Lock) -> Changes:
    """Return what changed from ``old`` (the lock) to ``new`` (what this build publishes)."""
    added, changed, retired = [], [], []
    for guid, note in new.notes.items():
        before = old.notes.get(guid)
        if before is None:
            added.append(note)
        elif note.retired and not before.retired:
            retired.append(note)
        elif not note.retired and before.retired:
            added.append(note)  # a retired question brought back
        elif not note.same_content(before):
            changed.append((note, _changed_parts(before, note, new)))
    notetypes, schema = [], []
    for kind, after in sorted(new.notetypes.items()):
        before = old.notetypes.get(kind)
        if before is None:
            notetypes.append(f"note type '{kind}' added")
            continue
        schema += schema_changes(before, after)
        if before.digest != after.digest:
            notetypes.append(f"note type '{kind}': card templates or styling changed")
    items = []
    for key, found in sorted(new.items.items()):
        before = {i.number: i for i in old.items.get(key, ())}
        question, group = key
        for item in found:
            was = before.get(item.number)
            if was is None and not item.retired and old.items.get(key):
                items.append(f"{question} {group}: new cloze item c{item.number} {_short(item.text)}")
            elif was is not None and item.retired and not was.retired:
                items.append(f"{question} {group}: deleted cloze item c{item.number} {_short(was.text)}")
    order = lambda n: (n.question, n.role)  # noqa: E731
    return Changes(
        added=tuple(sorted(added, key=order)),
        changed=tuple(sorted(changed, key=lambda c: order(c[0]))),
        retired=tuple(sorted(retired, key=order)),
        notetypes=tuple(notetypes),
        schema=tuple(schema),
        items=tuple(items),
    )


def _short(text: str, width: int = 50) -> str:
    text = _SPACE.sub(" ", text).strip()
    return json.dumps(text if len(text) <= width else text[: width - 1] + "…", ensure_ascii=False)


def _changed_parts(before: NoteRecord, after: NoteRecord, new: Lock) -> tuple[str, ...]:
    names = new.notetypes[after.kind].fields if after.kind in new.notetypes else ()
    parts = []
    was, now = before.field_digests(), after.field_digests()
    if before.kind != after.kind:
        parts.append("note type")
    elif len(was) == len(now):
        for index, (a, b) in enumerate(zip(was, now, strict=True)):
            if a != b:
                parts.append(names[index] if index < len(names) else f"field {index + 1}")
    else:
        parts.append("fields")
    if before.deck != after.deck:
        parts.append("deck")
    if before.tags != after.tags:
        parts.append("tags")
    return tuple(parts)


def schema_changes(before: NoteTypeRecord, after: NoteTypeRecord) -> list[str]:
    """Return the changes to a note type's field or template names that Anki cannot apply in place."""
    found = []
    for what, old, new in (
        ("field", before.fields, after.fields),
        ("template", before.templates, after.templates),
    ):
        if old == new:
            continue
        added = [name for name in new if name not in old]
        removed = [name for name in old if name not in new]
        detail = []
        if added:
            detail.append(f"adds {what} {', '.join(repr(n) for n in added)}")
        if removed:
            detail.append(f"removes {what} {', '.join(repr(n) for n in removed)}")
        if not detail:
            detail.append(f"reorders its {what}s ({', '.join(old)} -> {', '.join(new)})")
        found.append(
            f"note type '{after.kind}' {' and '.join(detail)}: Anki would import a copy of the note "
            f"type (named with a '+') and skip every note learners already have, so no later update "
            f"would reach them"
        )
    if before.id != after.id:
        found.append(
            f"note type '{after.kind}' changes its id ({before.id} -> {after.id}): Anki would add a second "
            f"note type and skip every note learners already have"
        )
    return found


def merge(old: Lock, new: Lock) -> Lock:
    """Return the lock a release writes: ``new``, with the history ``old`` keeps (retired records)."""
    notes = dict(new.notes)
    for guid, note in old.notes.items():
        notes.setdefault(guid, note)
    items = dict(new.items)
    for key, found in old.items.items():
        if key not in items:
            items[key] = found
    return replace(new, notes=notes, items=items)
