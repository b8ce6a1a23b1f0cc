"""Build times: a release re-stamps only the notes whose content changed, from any working directory.

Note times come from the lock; the build's own time from git (``source_epoch``),
tested directly with relative and absolute paths, then through the command line
run from a checkout's root with relative paths, as ``make build`` runs it, with
the deck imported into real Anki.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from anki_support import import_package, open_collection, package_database, revlog, scheduling, study
from bank_support import ROOT, question, snapshot, write_bank
from factories import TEMPLATES

from generator.build import BuildRequest, build
from generator.epochs import source_epoch
from generator.errors import GeneratorError
from generator.model import OutputKind
from generator.release import release
from generator.write import MANIFEST

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


# --- source_epoch -------------------------------------------------------------------------------


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
    """A git checkout of a two-question bank and its templates, committed at T1; the tests work in it."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.chdir(tmp_path)
    write_bank(tmp_path)
    shutil.copytree(TEMPLATES, tmp_path / "templates")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    commit(tmp_path, T1, "first release")
    return tmp_path


def edit_q1(root: Path) -> None:
    write_bank(
        root,
        questions=[question(1, answer="A better answer."), question(2, category="beta", difficulty="hard")],
    )


def now_between(call) -> tuple[int, int, int]:
    """Return (seconds before, call(), seconds after), to check that a result is "now"."""
    before = int(time.time())
    result = call()
    return before, result, int(time.time())


def test_a_clean_tree_records_its_last_commit_from_any_folder(repo: Path, monkeypatch):
    assert source_epoch([Path("content"), Path("templates")]) == T1  # relative, from the root
    assert source_epoch([repo / "content", repo / "templates"]) == T1
    monkeypatch.chdir(repo / "content" / "questions")
    assert source_epoch([Path(".."), Path("../../templates")]) == T1
    monkeypatch.chdir("/")
    assert source_epoch([repo / "content", repo / "templates"]) == T1


def test_the_latest_commit_of_any_path_counts(repo: Path):
    css = repo / "templates" / "anki" / "style.css"
    css.write_text(css.read_text() + "\n/* darker */\n")
    commit(repo, T2, "restyle")
    assert source_epoch([Path("content")]) == T1
    assert source_epoch([Path("content"), Path("templates")]) == T2


@pytest.mark.parametrize("change", ["edited", "untracked"])
def test_a_dirty_tree_records_now_with_relative_or_absolute_paths(repo: Path, change: str, monkeypatch):
    if change == "edited":
        edit_q1(repo)
    else:
        (repo / "content" / "questions" / "draft.yaml").write_text("id: draft\n")
    for paths in ([Path("content")], [repo / "content"]):
        before, epoch, after = now_between(lambda paths=paths: source_epoch(paths))
        assert before <= epoch <= after
    # Only the paths given count: the templates are still as committed.
    assert source_epoch([Path("templates")]) == T1


def test_outside_a_checkout_or_without_git_it_records_now(repo: Path, tmp_path: Path, monkeypatch):
    shutil.rmtree(repo / ".git")
    before, epoch, after = now_between(lambda: source_epoch([Path("content")]))
    assert before <= epoch <= after
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    commit(repo, T1, "again")
    monkeypatch.setenv("PATH", str(tmp_path / "no-such-bin"))  # no git at all
    before, epoch, after = now_between(lambda: source_epoch([Path("content")]))
    assert before <= epoch <= after


def test_source_date_epoch_overrides_git(repo: Path, monkeypatch):
    edit_q1(repo)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234567890")
    assert source_epoch([Path("content")]) == 1_234_567_890
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "soon")
    with pytest.raises(GeneratorError, match="SOURCE_DATE_EPOCH must be whole seconds, not 'soon'"):
        source_epoch([Path("content")])


# --- Through the command line, from a checkout's root, as ``make build`` runs it ----------------


@pytest.fixture
def clone(tmp_path: Path, monkeypatch) -> Path:
    """A checkout as a maintainer has it: a bank released at T1, templates and generator, all committed."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    root = tmp_path / "clone"
    write_bank(root)
    shutil.copytree(TEMPLATES, root / "templates")
    shutil.copytree(ROOT / "generator", root / "generator", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".gitignore", root / ".gitignore")
    release(root / "content", templates=root / "templates", epoch=T1)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    commit(root, T1, "first release")
    return root


def prepdeck(clone: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``prepdeck`` in ``cwd`` with the clone's own generator (so its commits date the renderers)."""
    environment = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    return subprocess.run(
        [sys.executable, "-c", "from generator.cli import main; main()", *args],
        cwd=cwd,
        env={**environment, "PYTHONPATH": str(clone)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def ids_of(col, entries) -> list[str]:
    """Return the question ids of an import log's notes, sorted."""
    return sorted(col.get_note(entry.id.nid)["Id"] for entry in entries)


@pytest.mark.slow
def test_an_uncommitted_edit_built_from_the_root_updates_exactly_its_notes(clone: Path, tmp_path: Path):
    first = prepdeck(clone, clone, "build", "--content", "content", "--out", "build", "--only", "anki")
    assert first.returncode == 0, first.stderr
    with open_collection(tmp_path / "learner.anki2") as col:
        import_package(col, clone / "build" / "test.apkg")
        study(col, "Test Bank", 3)
        (q2,) = col.find_notes('"Id:q2" tag:card::question')
        note = col.get_note(q2)
        note["Extra1"] = "my own mnemonic"
        col.update_note(note)
        cards, history = scheduling(col), revlog(col)
        assert len(history) == 3

        edit_q1(clone)  # not committed
        second = prepdeck(clone, clone, "build", "--content", "content", "--out", "build", "--only", "anki")
        assert second.returncode == 0, second.stderr
        log = import_package(col, clone / "build" / "test.apkg")

        # The answer is on the question note only; q1's cloze note and q2's notes are not newer.
        assert ids_of(col, log.updated) == ["q1"]
        assert ids_of(col, log.duplicate) == ["q1", "q2", "q2"]
        assert not log.new and not log.conflicting
        (q1,) = col.find_notes('"Id:q1" tag:card::question')
        assert "A better answer." in col.get_note(q1)["Answer"]
        assert col.get_note(q2)["Extra1"] == "my own mnemonic"
        assert scheduling(col) == cards
        assert revlog(col) == history


@pytest.mark.slow
def test_builds_from_any_working_directory_are_byte_identical(clone: Path, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    runs = {
        "root, relative": (clone, ["--content", "content", "--out", "build"]),
        "elsewhere, absolute": (
            elsewhere,
            ["--content", str(clone / "content"), "--out", str(elsewhere / "o")],
        ),
        "in the bank": (clone / "content", ["--content", ".", "--out", "../in-bank"]),
    }
    outputs = {}
    for name, (cwd, args) in runs.items():
        result = prepdeck(clone, cwd, "build", *args)
        assert result.returncode == 0, f"{name}: {result.stderr}"
        out = Path(args[-1]) if Path(args[-1]).is_absolute() else cwd / args[-1]
        outputs[name] = snapshot(out)
    first = outputs["root, relative"]
    assert {MANIFEST, "test-cheatsheet.pdf", "test-flashcards.pdf", "test.apkg"} <= set(first)
    for name, files in outputs.items():
        assert files == first, name
