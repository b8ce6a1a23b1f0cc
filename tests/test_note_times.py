"""Note times come from the lock: a release re-stamps only the notes whose content changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from anki_support import package_database
from bank_support import question, write_bank
from factories import TEMPLATES

from generator.build import BuildRequest, build
from generator.model import OutputKind
from generator.release import release

T1, T2 = 1_700_000_000, 1_800_000_000


@pytest.fixture
def bank(tmp_path: Path, monkeypatch) -> Path:
    """A released two-question bank (T1) and a copy of the templates, worked on from its folder."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.chdir(tmp_path)
    write_bank(tmp_path)
    shutil.copytree(TEMPLATES, tmp_path / "templates")
    release(Path("content"), templates=tmp_path / "templates", epoch=T1)
    return Path("content")


def times(tmp_path: Path, epoch: int | None = T2) -> tuple[dict[str, int], dict[str, int]]:
    """Build the deck; return each note's time by its Id and role, and each note type's time."""
    out = tmp_path / "out"
    request = BuildRequest(
        content=Path("content"),
        out=out,
        outputs=frozenset({OutputKind.ANKI}),
        templates=tmp_path / "templates",
        epoch=epoch,
    )
    build(request)
    db = package_database((out / "test.apkg").read_bytes())
    notes = {}
    for flds, tags, mod in db.execute("SELECT flds, tags, mod FROM notes"):
        role = "cloze" if "card::cloze" in tags else "question"
        notes[f"{flds.split(chr(31))[1]} {role}"] = mod
    models = json.loads(db.execute("SELECT models FROM col").fetchone()[0])
    return notes, {m["name"]: m["mod"] for m in models.values()}


def test_only_the_edited_question_gets_the_new_time(bank: Path, tmp_path: Path):
    write_bank(
        tmp_path, questions=[question(1, answer="Better."), question(2, category="beta", difficulty="hard")]
    )
    notes, notetypes = times(tmp_path)
    assert notes == {"q1 question": T2, "q1 cloze": T1, "q2 question": T1, "q2 cloze": T1}
    assert set(notetypes.values()) == {T1}


def test_a_template_change_restamps_the_note_types_and_no_note(bank: Path, tmp_path: Path):
    css = tmp_path / "templates" / "anki" / "style.css"
    css.write_text(css.read_text() + "\n/* darker */\n")
    notes, notetypes = times(tmp_path)
    assert set(notes.values()) == {T1}
    assert set(notetypes.values()) == {T2}


def test_a_changed_note_is_always_later_than_the_lock(bank: Path, tmp_path: Path):
    write_bank(
        tmp_path, questions=[question(1, answer="Better."), question(2, category="beta", difficulty="hard")]
    )
    notes, _ = times(tmp_path, epoch=T1 - 1_000)  # e.g. an older commit time than the release
    assert notes["q1 question"] == T1 + 1 and notes["q2 question"] == T1


def test_without_a_lock_every_note_uses_the_epoch(bank: Path, tmp_path: Path):
    (bank / "prepdeck.lock").unlink()
    notes, notetypes = times(tmp_path)
    assert set(notes.values()) == set(notetypes.values()) == {T2}


def test_without_git_or_epoch_an_unchanged_bank_is_dated_by_its_last_release(bank: Path, tmp_path: Path):
    notes, notetypes = times(tmp_path, epoch=None)  # tmp_path is in no git repository
    assert set(notes.values()) == set(notetypes.values()) == {T1}
    db = package_database((tmp_path / "out" / "test.apkg").read_bytes())
    assert db.execute("SELECT crt FROM col").fetchone()[0] == T1
