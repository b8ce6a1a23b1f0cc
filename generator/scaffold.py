"""Start a new bank: ``prepdeck init DIR`` copies the starter bank shipped in the package.

The starter (``generator/starter/``) is a small, valid, commented bank: two
categories, two questions (one with a cloze group), a companion example with
its regions, a test that runs it, a ``.gitignore`` and the JSON Schemas that
let an editor check both kinds of file as they are typed.
"""

from __future__ import annotations

import json
import logging
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from generator.errors import GeneratorError
from generator.load import display_path
from generator.schema import BANK_SCHEMA_FILE, QUESTION_SCHEMA_FILE, bank_schema, question_schema

log = logging.getLogger(__name__)

#: Starter files stored under another name, because packaging tools drop dotfiles.
_RENAMED = {"gitignore": ".gitignore"}


def _starter_files() -> dict[str, bytes]:
    """Return the starter bank's files by their path in the new bank."""
    files: dict[str, bytes] = {}

    def walk(folder: Traversable, prefix: str) -> None:
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name == "__pycache__":
                continue
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            else:
                files[prefix + _RENAMED.get(entry.name, entry.name)] = entry.read_bytes()

    walk(resources.files("generator") / "starter", "")
    for name, schema in ((BANK_SCHEMA_FILE, bank_schema()), (QUESTION_SCHEMA_FILE, question_schema())):
        files[f"schema/{name}"] = (json.dumps(schema, indent=2) + "\n").encode("utf-8")
    return files


def init_bank(folder: Path) -> list[Path]:
    """Write the starter bank into ``folder`` and return the files written.

    Refuses, writing nothing, when any of those files already exists.
    """
    files = _starter_files()
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise GeneratorError(f"'{display_path(folder)}' is a file; choose a new folder for the bank")
    taken = sorted(name for name in files if (folder / name).exists() or (folder / name).is_symlink())
    if taken:
        shown = ", ".join(taken[:5]) + (", ..." if len(taken) > 5 else "")
        raise GeneratorError(
            f"'{display_path(folder)}' already has {shown}; nothing was written "
            "(choose a new folder, or move those files away first)"
        )
    written = []
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "xb") as handle:  # never replace a file that appeared meanwhile
            handle.write(data)
        written.append(path)
    log.info("wrote %d files to %s", len(written), folder)
    return written
