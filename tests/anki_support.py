"""Drive the real Anki library the way a learner does: import packages, study cards, read back."""

from __future__ import annotations

import io
import sqlite3
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition, ImportResponse

from generator.model import Bank
from generator.render import RenderOptions
from generator.render.anki import render_deck

#: What Anki's import dialog starts with (``get_import_anki_package_presets`` of a new
#: collection): update notes and note types only "if newer", no scheduling, no merging.
GUI_IMPORT_OPTIONS = ImportAnkiPackageOptions(
    merge_notetypes=False,
    update_notes=ImportAnkiPackageUpdateCondition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
    update_notetypes=ImportAnkiPackageUpdateCondition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
    with_scheduling=False,
    with_deck_configs=False,
)


@contextmanager
def open_collection(path: Path) -> Iterator[Collection]:
    """Create (or open) a collection file and close it afterwards."""
    col = Collection(str(path))
    try:
        yield col
    finally:
        col.close()


def write_package(bank: Bank, directory: Path, epoch: int, templates: Path, name: str = "deck") -> Path:
    """Render the bank's deck and write it as ``<directory>/<name>.apkg``."""
    rendered = render_deck(bank, name, RenderOptions(templates=templates, epoch=epoch))
    (artifact,) = rendered.artifacts
    path = directory / artifact.name
    path.write_bytes(artifact.data)
    return path


def import_package(col: Collection, path: Path) -> ImportResponse:
    """Import an .apkg exactly as Anki's import dialog does with its default options."""
    request = ImportAnkiPackageRequest(package_path=str(path), options=GUI_IMPORT_OPTIONS)
    return col.import_anki_package(request).log


def study(col: Collection, deck_name: str, count: int) -> list[int]:
    """Answer ``count`` cards of a deck (and its subdecks) "Easy"; return their ids."""
    col.decks.select(col.decks.id_for_name(deck_name))
    answered = []
    for _ in range(count):
        card = col.sched.getCard()
        assert card is not None, "no card left to study"
        card.start_timer()
        col.sched.answerCard(card, 4)
        answered.append(card.id)
    return answered


def scheduling(col: Collection) -> dict[int, tuple]:
    """Return every card's note, deck, template and scheduling state, by card id."""
    rows = col.db.all("SELECT id, nid, did, ord, type, queue, due, ivl, factor, reps FROM cards")
    return {row[0]: tuple(row[1:]) for row in rows}


def revlog(col: Collection) -> list[tuple]:
    """Return the review log, oldest first."""
    return [tuple(row) for row in col.db.all("SELECT id, cid, ease, ivl, type FROM revlog ORDER BY id")]


def note_fields(col: Collection, nid: int) -> dict[str, str]:
    """Return a note's fields by name."""
    return dict(col.get_note(nid).items())


def package_database(data: bytes) -> sqlite3.Connection:
    """Open the collection inside an .apkg's bytes as an in-memory SQLite database."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        database = archive.read("collection.anki2")
    conn = sqlite3.connect(":memory:")
    conn.deserialize(database)
    return conn
