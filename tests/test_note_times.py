"""A release re-stamps only the notes it changed, so a learner's edits to the others survive."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from anki_support import import_package, open_collection
from bank_support import question, write_bank
from factories import TEMPLATES

from generator.build import check, note_epochs

# The second release comes after the learner's edit (made while the test runs).
T1, T2 = 1_700_000_000, int(time.time()) + 86_400


def commit(repo: Path, when: int, message: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_DATE": f"@{when} +0000", "GIT_COMMITTER_DATE": f"@{when} +0000"}
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message],
        cwd=repo,
        check=True,
        env=env,
    )


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    """A git checkout holding a two-question bank and its templates, committed at T1."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.chdir(tmp_path)
    write_bank(tmp_path)
    shutil.copytree(TEMPLATES, tmp_path / "templates")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    commit(tmp_path, T1, "first release")
    return tmp_path


def times(repo: Path, epoch: int) -> dict[str, int]:
    return note_epochs(check(repo / "content").bank, [repo / "templates"], epoch)


def edit_q1(repo: Path) -> None:
    write_bank(
        repo,
        questions=[question(1, answer="A better answer."), question(2, category="beta", difficulty="hard")],
    )


def test_each_question_keeps_the_time_of_its_last_commit(repo: Path):
    assert times(repo, T1) == {"q1": T1, "q2": T1}
    edit_q1(repo)
    assert times(repo, T2) == {"q1": T2, "q2": T1}  # uncommitted: changed "now"
    commit(repo, T2, "edit q1")
    assert times(repo, T2) == {"q1": T2, "q2": T1}


def test_a_template_change_restamps_every_note(repo: Path):
    css = repo / "templates" / "anki" / "style.css"
    css.write_text(css.read_text() + "\n/* darker */\n")
    commit(repo, T2, "restyle")
    assert times(repo, T2) == {"q1": T2, "q2": T2}


def test_without_git_or_with_source_date_epoch_every_note_uses_the_epoch(repo: Path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(T2))
    assert times(repo, T2) == {}
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    shutil.rmtree(repo / ".git")
    assert times(repo, T2) == {}


@pytest.mark.parametrize("per_note", [True, False])
def test_reimport_updates_the_edited_question_and_keeps_a_learners_edit_elsewhere(repo: Path, per_note: bool):
    from generator.render import RenderOptions
    from generator.render.anki import render_deck

    def release(epoch: int, name: str) -> Path:
        bank = check(repo / "content").bank
        stamps = times(repo, epoch) if per_note else {}
        options = RenderOptions(templates=repo / "templates", epoch=epoch, note_epochs=stamps)
        (artifact,) = render_deck(bank, name, options).artifacts
        path = repo / artifact.name
        path.write_bytes(artifact.data)
        return path

    first = release(T1, "first")
    with open_collection(repo / "learner.anki2") as col:
        import_package(col, first)
        (q2,) = col.find_notes('"Id:q2" tag:card::question')
        note = col.get_note(q2)
        note["Extra1"] = "my own mnemonic"  # the learner's edit, made now (after T1 and T2)
        col.update_note(note)

        edit_q1(repo)
        commit(repo, T2, "improve q1")
        import_package(col, release(T2, "second"))

        (q1,) = col.find_notes('"Id:q1" tag:card::question')
        assert "A better answer." in col.get_note(q1)["Answer"]
        kept = col.get_note(q2)["Extra1"]
        # Stamped per question, the unchanged note is not newer than the learner's copy.
        assert kept == ("my own mnemonic" if per_note else "")
