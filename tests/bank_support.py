"""Write small question banks to disk as an author would, so tests run the real loader.

A bank is plain data (dicts of YAML values) dumped with PyYAML; tests change a
field, add a file or write raw text to make it wrong or hostile. Helpers here
also snapshot an output directory byte for byte and find the line of a value,
for ``path:line`` assertions.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from generator.cache import CACHE_DIR

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"

#: The build time every test build records (``BuildRequest(epoch=…)`` or ``SOURCE_DATE_EPOCH``).
EPOCH = 1_700_000_000

EXAMPLE = '''\
"""A companion example for the test bank."""


# region main
def answer():
    return 42
# endregion
'''


def header(**changes: Any) -> dict[str, Any]:
    """Return a valid ``bank.yaml`` mapping of two categories; keyword arguments replace fields."""
    data: dict[str, Any] = {
        "id": "test-bank",
        "slug": "test",
        "title": "Test Bank",
        "version": "1.0",
        "description": "A bank for tests.",
        "categories": [
            {"slug": "alpha", "title": "Alpha", "colour": "#1f5fa8"},
            {"slug": "beta", "title": "Beta", "colour": "#b5521b"},
        ],
    }
    data.update(changes)
    return data


def question(number: int, **changes: Any) -> dict[str, Any]:
    """Return a valid question mapping (id ``q<number>``); keyword arguments replace fields.

    It has one cloze group of two items and one plain group, so it makes one
    question note and one cloze note of two cards.
    """
    data: dict[str, Any] = {
        "id": f"q{number}",
        "number": number,
        "category": "alpha",
        "question": f"What is question {number}?",
        "summary": f"Summary {number}.",
        "answer": f"Answer {number} with `code`.",
        "key_points": [
            {"title": "Points", "cloze": True, "items": [f"first {number}", f"second {number}"]},
            {"title": "Notes", "items": [f"note {number}"]},
        ],
        "rarity": "common",
        "difficulty": "medium",
        "tags": ["topic", "topic::sub"],
        "examples": [{"file": "examples/demo.py", "region": "main"}],
    }
    data.update(changes)
    return data


def dump(data: Any) -> str:
    """Return ``data`` as block-style YAML in the given key order."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000)


@dataclass(frozen=True, slots=True)
class Link:
    """A symbolic link to ``target``, a path relative to the directory that holds ``content/``."""

    target: str


#: What a file of a bank written by ``write_bank`` holds: text, bytes, a link, or None for no file.
FileChange = str | bytes | Link | None


def write_bank(
    root: Path,
    questions: Iterable[Mapping[str, Any]] | None = None,
    bank: Mapping[str, Any] | None = None,
    files: Mapping[str, FileChange] | None = None,
) -> Path:
    """Write ``root/content`` and return it; the one way tests write a bank to disk.

    ``questions`` are mappings written to ``questions/<id>.yaml`` (default: q1
    in alpha, q2 in beta); ``files`` adds or replaces files by path inside the
    content directory, written exactly as given (None: the file is left out).
    """
    if questions is None:
        questions = [question(1), question(2, category="beta", difficulty="hard")]
    written: dict[str, FileChange] = {
        "bank.yaml": dump(dict(bank or header())),
        "examples/demo.py": EXAMPLE,
        **{f"questions/{data['id']}.yaml": dump(dict(data)) for data in questions},
        **(files or {}),
    }
    content = root / "content"
    for folder in ("questions", "examples"):
        (content / folder).mkdir(parents=True, exist_ok=True)
    for name, data in written.items():
        path = content / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, Link):
            os.symlink(root / data.target, path)
        elif isinstance(data, bytes):
            path.write_bytes(data)
        elif isinstance(data, str):
            path.write_text(data, encoding="utf-8", newline="")
    return content


def line_of(path: Path, needle: str) -> int:
    """Return the 1-based number of the first line of ``path`` that contains ``needle``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} is not in {path}")


def snapshot(directory: Path) -> dict[str, bytes]:
    """Return every file below ``directory`` (hidden ones too) by relative path, with its bytes."""
    found = {}
    for dirpath, _, filenames in os.walk(directory):
        for name in filenames:
            path = Path(dirpath) / name
            found[str(path.relative_to(directory))] = path.read_bytes()
    return found


def built(directory: Path) -> dict[str, bytes]:
    """Return every file below ``directory`` with its bytes, but the build cache's (not an output)."""
    return {name: data for name, data in snapshot(directory).items() if not name.startswith(f"{CACHE_DIR}/")}


def leftovers(directory: Path) -> list[str]:
    """Return the names of staging directories or files a build left in ``directory``."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".prepdeck"))
