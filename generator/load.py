"""Load stage: read the content directory into YAML values that know their line.

The loader reads bytes, decodes UTF-8 (a byte-order mark is allowed), and
builds values from libyaml's event stream rather than PyYAML's constructors:
that keeps a line for every value, sees duplicate keys (PyYAML keeps the last
one silently), refuses anchors, aliases and tags (so neither an alias bomb nor
object construction is possible), and bounds depth, string length and list
size without recursion. Companion code files are read here too, on demand
(:class:`ExampleFiles`), once validation knows which ones the bank uses.
Nothing here knows the bank's schema; see validate.py.
"""

from __future__ import annotations

import codecs
import logging
import os
import re
import stat
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from generator.errors import Problems
from generator.model import Location

log = logging.getLogger(__name__)

#: libyaml's parser when PyYAML was built with it: several times faster, same marks.
Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

BANK_FILE = "bank.yaml"
QUESTIONS_DIR = "questions"
YAML_SUFFIXES = (".yaml", ".yml")

# Bounds that keep a hostile or broken file from exhausting time or memory.
MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 16
MAX_STRING = 20_000
MAX_ITEMS = 500
#: Duplicate keys are reported and parsing goes on; past this many, the file is not read further.
MAX_DUPLICATES = 20

_resolver = yaml.resolver.Resolver()
_constructor = yaml.constructor.SafeConstructor()
_ALLOWED_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")
)


@dataclass(frozen=True, slots=True)
class Raw:
    """A YAML value and where it starts.

    ``value`` is a ``str``, ``int``, ``float``, ``bool``, ``None``, a ``dict``
    of ``str`` to ``Raw`` or a ``list`` of ``Raw``. ``text`` is a scalar's source
    text (``1.0`` stays ``"1.0"`` where a string is wanted); ``keys`` gives each
    mapping key's location, for errors about the key itself.
    """

    value: Any
    location: Location
    text: str = ""
    keys: dict[str, Location] = field(default_factory=dict)
    block: bool = False  # a ``|`` or ``>`` block scalar, whose text starts on the line below

    @property
    def kind(self) -> str:
        """Return the YAML kind: mapping, sequence, string, integer, number, boolean or null."""
        return _KINDS.get(type(self.value), "string")


_KINDS = {
    dict: "mapping",
    list: "sequence",
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
_TAG_KINDS = {"int": "integer", "float": "number", "bool": "boolean"}


@dataclass(frozen=True, slots=True)
class RawFile:
    """One parsed content file."""

    path: Path  # the file on disk
    display: str  # the path as messages show it
    data: Raw
    relative: str  # the path below the content directory, with forward slashes: the same from any folder


#: A region of an example file: its code (dedented) and the line number of its first line.
Region = tuple[str, int]

REGION_START = re.compile(r"^\s*#\s*region\s+(\S+)\s*$")
REGION_END = re.compile(r"^\s*#\s*endregion\b.*$")


class ExampleFiles:
    """Read companion code files on demand, once each, within the content directory's bounds.

    Which files a bank uses is known only once its questions are validated, so
    validation asks; the reading, its limits and the region markers
    (``# region NAME`` … ``# endregion``) belong to this stage.
    """

    def __init__(self, root: Path, problems: Problems):
        self.root = root
        self.problems = problems
        self._read: dict[str, dict[str, Region] | None] = {}

    def regions(self, file: str) -> dict[str, Region] | str | None:
        """Return the regions of ``file`` (relative to the content directory) by name.

        When it cannot be read: the first time, why (e.g. "does not exist"), for
        the caller to report where the file is named; after that, or when the
        problem is in the file itself (recorded here, at its line), None.
        """
        if file in self._read:
            return self._read[file]
        self._read[file] = None
        path = self.root / file
        if not path.exists():
            return "does not exist"
        if not inside(path, self.root):
            return "leads outside the content directory"
        if not path.is_file():  # a directory, FIFO or device: never opened
            return "is not a regular file"
        if path.stat().st_size > MAX_FILE_BYTES:
            return f"is larger than {MAX_FILE_BYTES // 1024} KiB"
        text = read_text(path, self.problems, self.root)
        if text is not None:
            self._read[file] = _regions(text, display_path(path), self.problems)
        return self._read[file]


def _regions(text: str, display: str, problems: Problems) -> dict[str, Region]:
    """Return every region of a file by name: (dedented code, first code line)."""
    found: dict[str, Region] = {}
    open_name, open_line, lines = None, 0, []
    for number, line in enumerate(text.splitlines(), start=1):
        start = REGION_START.match(line)
        if start:
            if open_name is not None:
                problems.error(
                    f"region '{start.group(1)}' starts inside region '{open_name}'; regions do not nest",
                    Location(display, number),
                )
            open_name, open_line, lines = start.group(1), number, []
        elif REGION_END.match(line) and open_name is not None:
            if open_name in found:
                problems.error(f"region '{open_name}' is defined twice", Location(display, open_line))
            code = textwrap.dedent("\n".join(lines)).strip("\n")
            found[open_name] = (code + "\n", open_line + 1)
            open_name = None
        elif open_name is not None:
            lines.append(line)
    if open_name is not None:
        problems.error(f"region '{open_name}' has no '# endregion'", Location(display, open_line))
    return found


@dataclass(frozen=True, slots=True)
class Content:
    """Everything read from a content directory, before validation; example files on demand."""

    root: Path
    bank: RawFile | None
    questions: tuple[RawFile, ...]
    examples: ExampleFiles


def display_path(path: Path) -> str:
    """Return ``path`` relative to the working directory when it is below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def inside(path: Path, root: Path) -> bool:
    """Return True when ``path``'s real location (links resolved) is inside ``root``'s."""
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def read_text(path: Path, problems: Problems, root: Path) -> str | None:
    """Read a UTF-8 content file within the bounds, or record why it cannot be read."""
    display = display_path(path)
    if not inside(path, root):
        problems.error("file links outside the content directory", Location(display, 1))
        return None
    try:
        # O_NONBLOCK: opening a FIFO named like a content file must not wait for a writer.
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        problems.error(f"cannot read file: {exc.strerror or exc}", Location(display, 1))
        return None
    with open(handle, "rb") as file:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            problems.error("not a regular file", Location(display, 1))
            return None
        try:
            data = file.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            problems.error(f"cannot read file: {exc.strerror or exc}", Location(display, 1))
            return None
    if len(data) > MAX_FILE_BYTES:
        problems.error(
            f"file is larger than {MAX_FILE_BYTES // 1024} KiB; split it into smaller files",
            Location(display, 1),
        )
        return None
    # Strip the byte-order mark here rather than decode "utf-8-sig": that codec
    # counts an error's offset from after the mark, which misplaced the bad byte.
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        start = bom + exc.start
        line = data[:start].count(b"\n") + 1
        problems.error(
            f"file is not valid UTF-8 (byte 0x{data[start]:02x} at offset {start})",
            Location(display, line),
        )
        return None


def parse_yaml(text: str, display: str, problems: Problems) -> Raw | None:
    """Parse one YAML document into ``Raw`` values, recording every problem found."""
    try:
        return _build(yaml.parse(text, Loader=Parser), display, problems)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        message = " ".join(filter(None, [exc.context, exc.problem])) or "invalid YAML"
        problems.error(f"invalid YAML: {message}", Location(display, line))
    except yaml.reader.ReaderError as exc:
        # No mark, and its text spans two lines; the loaders count ``position`` differently
        # (characters or UTF-8 bytes), but both stop at the first such character.
        line = text.count("\n", 0, max(text.find(chr(exc.character)), 0)) + 1
        problems.error(
            f"invalid YAML: character U+{exc.character:04X} is not allowed; remove it",
            Location(display, line),
        )
    except yaml.YAMLError as exc:
        problems.error(f"invalid YAML: {exc}", Location(display, 1))
    return None


class _Stop(Exception):
    """A problem after which the rest of the file is not worth reading."""


def _build(events, display: str, problems: Problems) -> Raw | None:
    """Build values from parser events with an explicit stack (no recursion)."""
    # Each frame: [container, location, pending key, key locations]
    stack: list[list[Any]] = []
    root: Raw | None = None
    documents = duplicates = 0
    try:
        for event in events:
            if isinstance(event, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    line = event.start_mark.line + 1
                    problems.error("expected one YAML document, found several", Location(display, line))
                    raise _Stop
                continue
            where = Location(display, event.start_mark.line + 1)
            _refuse_yaml_features(event, where, problems)
            if isinstance(event, ScalarEvent):
                value = _scalar(event, where, problems)
            elif isinstance(event, (MappingStartEvent, SequenceStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    problems.error(f"nesting is deeper than {MAX_DEPTH} levels", where)
                    raise _Stop
                container: Any = {} if isinstance(event, MappingStartEvent) else []
                stack.append([container, where, None, {}])
                continue
            elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
                container, location, _, keys = stack.pop()
                value = Raw(container, location, keys=keys)
            else:
                continue
            if not stack:
                root = value
                continue
            duplicates += _attach(stack[-1], value, problems)
            if duplicates > MAX_DUPLICATES:
                message = f"more than {MAX_DUPLICATES} duplicate keys; the rest of the file is not read"
                problems.error(message, value.location)
                raise _Stop
    except _Stop:
        return None
    return root


def _refuse_yaml_features(event: Any, where: Location, problems: Problems) -> None:
    """Stop at an alias, an anchor or a tag: content is plain data (no alias bombs, no objects)."""
    if isinstance(event, AliasEvent):
        problems.error("YAML aliases (*name) are not allowed in content", where)
        raise _Stop
    if isinstance(event, (ScalarEvent, MappingStartEvent, SequenceStartEvent)):
        if event.anchor is not None:
            problems.error("YAML anchors (&name) are not allowed in content", where)
            raise _Stop
        if event.tag not in (None, "!") and event.tag not in _ALLOWED_TAGS:
            problems.error(f"YAML tag '{event.tag}' is not allowed in content", where)
            raise _Stop


def _scalar(event: ScalarEvent, where: Location, problems: Problems) -> Raw:
    text = event.value
    if len(text) > MAX_STRING:
        problems.error(f"text is longer than {MAX_STRING:,} characters", where)
        raise _Stop
    if event.tag and event.tag != "!":
        tag = event.tag
    else:
        tag = _resolver.resolve(yaml.ScalarNode, text, event.implicit)
    node = yaml.ScalarNode(tag, text)
    if tag.endswith((":int", ":float", ":bool", ":null")):
        # Call the constructor directly: construct_object() would keep every node in
        # the shared constructor's cache for the life of the process.
        construct = _constructor.yaml_constructors[tag]
        try:
            value = construct(_constructor, node)
        except (ValueError, KeyError, IndexError):  # "!!int abc", "!!bool maybe", "!!int ''", 5,000 digits
            shown = text if len(text) <= 40 else text[:40] + "…"
            problems.error(f"'{shown}' is not a valid {_TAG_KINDS[tag.rsplit(':', 1)[1]]}", where)
            raise _Stop from None
    else:
        value = text  # strings, and timestamps or binary kept as written
    return Raw(value, where, text=text, block=event.style in ("|", ">"))


def _attach(frame: list[Any], value: Raw, problems: Problems) -> int:
    """Add ``value`` to the open container; return 1 if it was a duplicate key (reported), else 0."""
    container, location, pending, keys = frame
    if isinstance(container, list):
        if len(container) >= MAX_ITEMS:
            problems.error(f"list has more than {MAX_ITEMS} items", location)
            raise _Stop
        container.append(value)
        return 0
    if pending is None:
        if isinstance(value.value, (dict, list)) or value.value is None:
            problems.error("mapping keys must be plain text", value.location)
            raise _Stop
        key = value.text
        if key in container:
            first = keys[key]
            problems.error(f"duplicate key '{key}' (first given on line {first.line})", value.location)
            frame[2] = _Duplicate(key)
            return 1
        if len(container) >= MAX_ITEMS:
            problems.error(f"mapping has more than {MAX_ITEMS} keys", location)
            raise _Stop
        keys[key] = value.location
        frame[2] = key
        return 0
    if not isinstance(pending, _Duplicate):
        container[pending] = value
    frame[2] = None
    return 0


@dataclass(frozen=True, slots=True)
class _Duplicate:
    """A repeated key whose value is read but dropped (the first one stands)."""

    key: str


def load_file(path: Path, root: Path, problems: Problems) -> RawFile | None:
    """Read and parse one content file."""
    text = read_text(path, problems, root)
    if text is None:
        return None
    display = display_path(path)
    data = parse_yaml(text, display, problems)
    if data is None:
        if not any(p.location and p.location.path == display for p in problems.items):
            problems.error("file is empty", Location(display, 1))
        return None
    return RawFile(path, display, data, path.relative_to(root).as_posix())


def question_paths(root: Path, problems: Problems | None = None) -> list[Path]:
    """Return the question files below ``root/questions`` in a stable order.

    Links to directories are not followed; with ``problems``, each one is
    reported (an error when it leads outside ``root``), so no question goes
    missing unnoticed.
    """
    folder = root / QUESTIONS_DIR
    if not folder.is_dir():
        return []
    found = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames.sort()
        for name in dirnames:
            link = Path(dirpath) / name
            if problems is None or not link.is_symlink():
                continue
            where = Location(display_path(link), 1)
            if not inside(link, root):
                problems.error("directory links outside the content directory", where)
            else:
                problems.warning("a link to a directory is not followed; its files are not read", where)
        for name in sorted(filenames):
            if name.endswith(YAML_SUFFIXES) and not name.startswith("."):
                found.append(Path(dirpath) / name)
    return found


def load_content(root: Path, problems: Problems) -> Content:
    """Read the bank file and every question file under ``root``."""
    bank_path = root / BANK_FILE
    bank = None
    if bank_path.is_file():
        bank = load_file(bank_path, root, problems)
    else:
        shown = display_path(root)
        problems.error(
            f"no {BANK_FILE} in '{shown}': pass --content with the folder that holds {BANK_FILE}, "
            f"or start a bank with 'prepdeck init {shown}'"
        )
    questions = []
    for path in question_paths(root, problems):
        loaded = load_file(path, root, problems)
        if loaded is not None:
            questions.append(loaded)
    log.debug("loaded %d question files from %s", len(questions), root)
    return Content(root, bank, tuple(questions), ExampleFiles(root, problems))
