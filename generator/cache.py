"""The action cache: an output whose renderer input is unchanged is not rendered again.

Each output has a key: a hash of exactly what its renderer consumes (the
rendered HTML of a PDF, the note set of a deck, the page set of a site), the
options that reach the renderer, the epoch, and the version of the renderer
and the libraries it drives (:func:`engine_version`). An entry also lists the
files the render read beside its input (a stylesheet, an image, a font) with
the hash of each; the entry is used only while every one of them is
unchanged, the way ccache's direct mode trusts a compiler's include list.

Entries live in one folder (``<out>/.cache`` unless told otherwise), one file
per key. Each file carries the SHA-256 of its own bytes, so a truncated or
damaged entry is found, reported once, removed and rendered again; it is never
shipped. Entries are written to a temporary file and renamed into place, so a
reader sees a whole entry or none, and the folder stays consistent when builds
share it; the output folder's build lock serialises builds of one output
folder. The folder is bounded in size: after a build, the entries used least
recently are removed until it fits (a hit renews an entry's time).
Removing the folder costs nothing but time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import os
import sqlite3
import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from generator.errors import Problem, Severity
from generator.model import Artifact, Bank, Location, OutputKind
from generator.render import Rendered, Renderer, RenderOptions, recording_reads, renderer_input
from generator.render.fonts import MissingGlyphs

log = logging.getLogger(__name__)

#: Raise when a renderer's output changes for the same input in a way the source digest
#: cannot see (e.g. a data file the renderers read that is not Python).
RENDERER_VERSION = 1

#: The default folder, inside the output folder.
CACHE_DIR = ".cache"

#: The default size bound in bytes.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024

_MAGIC = b"prepdeck-cache\x00\x01"
_HEADER = struct.Struct(">32sQ")  # SHA-256 of the body, length of the body
_TEMP_PREFIX = ".tmp-"
#: A temporary file older than this was left by a build that was killed while storing.
_STALE_TEMP_SECONDS = 3600

#: The libraries whose code turns a renderer's input into bytes.
_LIBRARIES = ("weasyprint", "pydyf", "fonttools", "genanki", "tinycss2", "cssselect2", "Pillow")


def digest(*parts: bytes | str) -> str:
    """Return the SHA-256 (hex) of ``parts``, each length-prefixed so no two sequences collide."""
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        hasher.update(struct.pack(">Q", len(data)))
        hasher.update(data)
    return hasher.hexdigest()


@functools.lru_cache(maxsize=1)
def engine_version() -> str:
    """Return a hash of the renderer version, prepdeck's code and the versions of its libraries.

    prepdeck's own Python source is hashed too, so a changed renderer never
    serves an entry its older code made, even when nobody raised
    ``RENDERER_VERSION``. SQLite and zlib make the deck's bytes; Python's
    version covers its standard library.
    """
    parts = [f"renderer {RENDERER_VERSION}", f"python {sys.version_info[:2]}"]
    for name in _LIBRARIES:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} -")
    parts += [f"sqlite {sqlite3.sqlite_version}", f"zlib {zlib.ZLIB_RUNTIME_VERSION}"]
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        parts += [path.relative_to(package).as_posix(), path.read_bytes()]
    return digest(*parts)


@dataclass(frozen=True, slots=True)
class Entry:
    """What one render produced, as the cache keeps it.

    ``inputs`` are the files the render read beside its keyed input, each as
    ``(name, SHA-256)``: the entry holds only while every one is unchanged.
    ``warnings`` are the renderer's, with a question's location kept as its id
    (a location's path depends on the working directory; see :func:`store_warnings`).
    """

    artifacts: tuple[Artifact, ...]
    inputs: tuple[tuple[str, str], ...] = ()
    warnings: tuple[dict, ...] = ()


@dataclass
class ActionCache:
    """A folder of entries by key, bounded to ``max_bytes``.

    ``damaged`` lists the keys of entries found corrupt in this process, each
    once; they were removed, and their outputs rendered again.
    """

    root: Path
    max_bytes: int = DEFAULT_MAX_BYTES
    damaged: list[str] = field(default_factory=list)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / key[2:]

    def get(self, key: str) -> Entry | None:
        """Return the entry of ``key``, or None when there is none or it is damaged."""
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cannot read cache entry %s: %s; rendering again", path, exc.strerror or exc)
            return None
        entry = _decode(key, data)
        if entry is None:
            self.damaged.append(key)
            log.debug("cache entry %s is damaged; removing it", path)
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # used now: the last to be evicted
        return entry

    def put(self, key: str, entry: Entry) -> None:
        """Store ``entry`` under ``key``, replacing any older one; a failure to write is only logged."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=self.root)
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(_encode(key, entry))
                os.replace(temp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        except OSError as exc:
            log.warning("cannot store cache entry %s: %s", path, exc.strerror or exc)

    def entries(self) -> list[tuple[Path, os.stat_result]]:
        """Return every entry file with its status."""
        found = []
        for folder in self.root.glob("??"):
            for path in folder.iterdir():
                with contextlib.suppress(OSError):
                    found.append((path, path.stat()))
        return found

    def size(self) -> int:
        """Return the bytes the entries take."""
        return sum(info.st_size for _, info in self.entries())

    def evict(self) -> int:
        """Remove the least recently used entries until the folder fits its bound; return how many."""
        if not self.root.is_dir():
            return 0
        now = time.time()
        for temp in self.root.glob(_TEMP_PREFIX + "*"):
            with contextlib.suppress(OSError):
                if now - temp.stat().st_mtime > _STALE_TEMP_SECONDS:
                    temp.unlink()
        entries = sorted(self.entries(), key=lambda item: (item[1].st_mtime_ns, item[0].name))
        total = sum(info.st_size for _, info in entries)
        removed = 0
        for path, info in entries:
            if total <= self.max_bytes:
                break
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            total -= info.st_size
            removed += 1
        if removed:
            log.debug("evicted %d cache entries from %s", removed, self.root)
        for folder in self.root.glob("??"):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty
        return removed


def _encode(key: str, entry: Entry) -> bytes:
    meta = json.dumps(
        {
            "key": key,
            "files": [[a.name, len(a.data)] for a in entry.artifacts],
            "inputs": [list(pair) for pair in entry.inputs],
            "warnings": list(entry.warnings),
        },
        sort_keys=True,
    ).encode("utf-8")
    body = b"".join([struct.pack(">I", len(meta)), meta, *(a.data for a in entry.artifacts)])
    return _MAGIC + _HEADER.pack(hashlib.sha256(body).digest(), len(body)) + body


def _decode(key: str, data: bytes) -> Entry | None:
    """Return the entry in ``data``, or None unless every byte is as written for ``key``."""
    start = len(_MAGIC) + _HEADER.size
    if len(data) < start or not data.startswith(_MAGIC):
        return None
    checksum, length = _HEADER.unpack_from(data, len(_MAGIC))
    body = data[start:]
    if len(body) != length or hashlib.sha256(body).digest() != checksum:
        return None
    try:
        (size,) = struct.unpack_from(">I", body)
        meta = json.loads(body[4 : 4 + size])
        if meta["key"] != key:
            return None
        artifacts, position = [], 4 + size
        for name, length in meta["files"]:
            artifacts.append(Artifact(name, body[position : position + length]))
            position += length
        if position != len(body):
            return None
        inputs = tuple((str(name), str(value)) for name, value in meta["inputs"])
        return Entry(tuple(artifacts), inputs, tuple(meta["warnings"]))
    except (ValueError, KeyError, TypeError, struct.error):
        return None


def store_warnings(warnings: Iterable[Problem], locations: dict[Location, str]) -> tuple[dict, ...]:
    """Return ``warnings`` as an entry keeps them: a location becomes its question's id (``locations``).

    A location's path is how the user named the content folder, and its line
    moves when lines are added above the question; the id finds the question
    wherever it is now (:func:`load_warnings`).
    """
    kept = []
    for problem in warnings:
        item: dict = {"message": problem.message, "severity": problem.severity.value}
        if problem.location is not None:
            question = locations.get(problem.location)
            if question is None:
                item["path"], item["line"] = problem.location.path, problem.location.line
            else:
                item["question"] = question
        if isinstance(problem, MissingGlyphs):  # merged with other outputs' by question
            item["missing"] = {"question": problem.question, "chars": problem.chars}
        kept.append(item)
    return tuple(kept)


def load_warnings(kept: Sequence[dict], locations: dict[str, Location]) -> tuple[Problem, ...]:
    """Return the warnings an entry kept, each question's location as it is now (``locations`` by id)."""
    problems = []
    for item in kept:
        location = None
        if "question" in item:
            location = locations.get(item["question"])
        elif "path" in item:
            location = Location(item["path"], item["line"])
        severity = Severity(item["severity"])
        if "missing" in item:
            question, chars = item["missing"]["question"], item["missing"]["chars"]
            problems.append(MissingGlyphs(item["message"], location, severity, question, chars))
        else:
            problems.append(Problem(item["message"], location, severity))
    return tuple(problems)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One output of a build: what its renderer gave, and what the cache did for it.

    ``reused``: taken from the cache, not rendered. ``damaged``: the cache held an
    entry for it that failed its checksum (removed, and the output rendered again).
    ``entry``: (key, entry) to store once the build has succeeded; a failed build
    leaves the cache as it was, but for the damaged entries it removed.
    """

    rendered: Rendered
    reused: bool = False
    damaged: bool = False
    entry: tuple[str, Entry] | None = None

    @property
    def name(self) -> str:
        """Return the output's file name, or its folder's for a site."""
        return self.rendered.artifacts[0].name.split("/")[0]


def render_output(
    kind: OutputKind,
    render: Renderer,
    bank: Bank,
    stem: str,
    options: RenderOptions,
    cache: ActionCache | None,
) -> Outcome:
    """Return one output of ``kind``: from ``cache`` when its key and inputs hold, else from ``render``.

    The key is what the renderer consumes (``render.renderer_input``: a PDF's
    layout HTML, a deck's note set), the output's name, options and epoch, and
    :func:`engine_version`; an entry also holds only while every file the
    render read is unchanged. An output without such an input (the site, which
    renders in milliseconds) is rendered, and keyed by its own bytes: an
    unchanged one counts as reused. Without a cache, the output is rendered.
    """
    if cache is None:
        return Outcome(render(bank, stem, options))
    damaged_before = len(cache.damaged)
    common = (
        kind.value,
        stem,
        str(options.epoch),
        str(options.paper),
        str(options.card_size),
        str(options.duplex),
        repr(options.back_offset),
        engine_version(),
    )
    consumed = renderer_input(kind)
    if consumed is None:
        rendered = render(bank, stem, options)
        key = digest(*common, *(part for a in rendered.artifacts for part in (a.name, a.data)))
        reused = cache.get(key) is not None
        outcome = Outcome(rendered, reused=reused, entry=None if reused else (key, Entry(())))
    else:
        outcome = _keyed(render, bank, stem, options, cache, digest(*common, consumed(bank, options)))
    return dataclasses.replace(outcome, damaged=len(cache.damaged) > damaged_before)


def _keyed(
    render: Renderer, bank: Bank, stem: str, options: RenderOptions, cache: ActionCache, key: str
) -> Outcome:
    entry = cache.get(key)
    if entry is not None and _reads_hold(entry, options.templates, bank.root):
        locations = {q.id: q.location for q in bank.questions}
        return Outcome(Rendered(entry.artifacts, load_warnings(entry.warnings, locations)), reused=True)
    with recording_reads() as reads:
        rendered = render(bank, stem, options)
    kept = store_warnings(rendered.warnings, {q.location: q.id for q in bank.questions})
    return Outcome(rendered, entry=(key, Entry(rendered.artifacts, tuple(sorted(reads.items())), kept)))


def _reads_hold(entry: Entry, templates: Path, content: Path) -> bool:
    """Return True if every file the entry's render read is still what it read."""
    if not entry.inputs:
        return True
    from generator.render.pdf import current_reads  # only layouts read files (and need WeasyPrint)

    return current_reads(dict(entry.inputs), templates=templates, content=content) == dict(entry.inputs)
