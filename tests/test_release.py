"""Releases as a maintainer makes them and a learner meets them: the lock, tombstones, stable clozes.

Each test drives ``prepdeck release`` and ``prepdeck build`` and imports the
decks into the real Anki library the way Anki's import dialog does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from anki_support import import_package, open_collection, revlog, scheduling, study
from bank_support import built, header, question, write_bank
from click.testing import CliRunner
from factories import TEMPLATES

from generator.build import BuildRequest, build
from generator.cli import main
from generator.model import OutputKind
from generator.release import Mode, release

T1 = 1_700_000_000
#: Later than the learner's edits, which happen while the test runs.
T2 = int(time.time()) + 86_400
T3 = T2 + 86_400
DECK = "Test Bank"


def run(*args: str, epoch: int | None = None):
    env = {"SOURCE_DATE_EPOCH": str(epoch) if epoch is not None else None}
    return CliRunner().invoke(main, list(args), prog_name="prepdeck", env=env)


def three(**changes) -> list[dict]:
    """Questions A (q1), B (q2) and C (q3); keyword arguments replace questions by id."""
    found = {
        "q1": question(1),
        "q2": question(2, category="beta", difficulty="hard"),
        "q3": question(3),
    }
    found.update(changes)
    return [q for q in found.values() if q is not None]


def release_ok(content: Path, epoch: int, *extra: str) -> list[str]:
    result = run("release", "--content", str(content), *extra, epoch=epoch)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def build_deck(content: Path, out: Path, epoch: int | None) -> Path:
    result = run("build", "--content", str(content), "--out", str(out), "--only", "anki", epoch=epoch)
    assert result.exit_code == 0, result.output
    return out / "test.apkg"


@pytest.fixture
def bank(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    monkeypatch.chdir(tmp_path)
    write_bank(tmp_path, questions=three())
    return Path("content")


def test_builds_after_a_release_are_byte_identical_in_a_separate_repository_and_without_git(
    tmp_path: Path, monkeypatch
):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    repo = tmp_path / "my-deck"
    content = write_bank(repo, questions=three())
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    env = {**os.environ, "GIT_AUTHOR_DATE": f"@{T1} +0000", "GIT_COMMITTER_DATE": f"@{T1} +0000"}
    subprocess.run([*git, "commit", "-qm", "bank"], cwd=repo, check=True, env=env)
    monkeypatch.chdir(repo)  # prepdeck and its templates live in another repository

    assert run("release", "--content", "content").exit_code == 0
    copy = tmp_path / "tarball"
    shutil.copytree(content, copy / "content")  # no .git anywhere above it

    def outputs(root: Path, name: str) -> dict[str, bytes]:
        monkeypatch.chdir(root)
        out = tmp_path / name
        # The deck only: WeasyPrint's font subsetting (fontTools) stamps the clock into PDFs
        # unless SOURCE_DATE_EPOCH is set, whatever the build's epoch.
        result = run("build", "--content", "content", "--out", str(out), "--only", "anki")
        assert result.exit_code == 0, result.output
        return built(out)  # the outputs, not the build cache beside them

    first, second = outputs(repo, "repo-1"), outputs(repo, "repo-2")
    assert first == second and set(first) == {"test.apkg", ".built-by-prepdeck.json"}
    assert outputs(copy, "copy-1") == outputs(copy, "copy-2") == first
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "release"], cwd=repo, check=True)
    assert outputs(repo, "committed-1") == outputs(repo, "committed-2")


def _anki_fields(col, query: str) -> dict[str, str]:
    (nid,) = col.find_notes(query)
    return dict(col.get_note(nid).items())


def test_an_update_reaches_the_changed_note_and_spares_a_learners_edit_and_history(
    bank: Path, tmp_path: Path
):
    assert release_ok(bank, T1)[-1] == "wrote content/prepdeck.lock and content/CHANGELOG.md"
    first = build_deck(bank, tmp_path / "v1", T1)
    with open_collection(tmp_path / "learner.anki2") as col:
        import_package(col, first)
        study(col, DECK, 9)  # 3 question cards and 3 cloze notes of 2 cards
        (b_id,) = col.find_notes('"Id:q2" tag:card::question')
        note = col.get_note(b_id)
        note["Extra1"] = "my own mnemonic"
        col.update_note(note)
        before_cards, before_log = scheduling(col), revlog(col)
        notetypes = sorted(n.name for n in col.models.all_names_and_ids())

        write_bank(
            tmp_path, questions=three(q1=question(1, answer="A better answer.")), bank=header(version="1.1")
        )
        templates = tmp_path / "templates"
        shutil.copytree(TEMPLATES, templates)
        css = templates / "anki" / "style.css"
        css.write_text(css.read_text() + "\n.prepdeck { letter-spacing: 0.01em; }\n")

        report = release(bank, Mode.DRY_RUN, templates=templates, epoch=T2)
        assert report.lines == (
            "version 1.1 against release 1.0:",
            "  changed  q1 question: Answer",
            "  note type 'cloze': card templates or styling changed",
            "  note type 'question': card templates or styling changed",
            "0 added, 1 changed, 0 retired notes",
            "dry run: nothing written",
        )
        build(
            BuildRequest(
                content=bank,
                out=tmp_path / "v2",
                outputs=frozenset({OutputKind.ANKI}),
                templates=templates,
                epoch=T2,
            )
        )
        import_package(col, tmp_path / "v2" / "test.apkg")

        assert "A better answer." in _anki_fields(col, '"Id:q1" tag:card::question')["Answer"]
        assert _anki_fields(col, '"Id:q2" tag:card::question')["Extra1"] == "my own mnemonic"
        assert sorted(n.name for n in col.models.all_names_and_ids()) == notetypes  # no "+" copy
        assert scheduling(col) == before_cards and revlog(col) == before_log
    with open_collection(tmp_path / "learner.anki2") as col:  # a fresh look past the note-type cache
        assert "letter-spacing: 0.01em" in col.models.by_name("Test Bank (question)")["css"]


def test_a_retired_question_is_tagged_for_learners_and_brings_no_card_to_a_new_one(
    bank: Path, tmp_path: Path
):
    release_ok(bank, T1)
    first = build_deck(bank, tmp_path / "v1", T1)
    write_bank(tmp_path, questions=three(q3=None), bank=header(version="2.0.0"))
    (bank / "questions" / "q3.yaml").unlink()

    assert release_ok(bank, T2, "--dry-run") == [
        "version 2.0.0 against release 1.0:",
        "  retired  q3 cloze:points: What is question 3?",
        "  retired  q3 question: What is question 3?",
        "0 added, 0 changed, 2 retired notes",
        "dry run: nothing written",
    ]
    assert run("release", "--check", "--content", str(bank), epoch=T2).exit_code == 1
    release_ok(bank, T2)
    assert run("release", "--check", "--content", str(bank), epoch=T3).exit_code == 0
    changelog = (bank / "CHANGELOG.md").read_text()
    assert "## 2.0.0 (" in changelog and "- `q3`: What is question 3? (cloze 'points', question)" in changelog
    second = build_deck(bank, tmp_path / "v2", T2)

    with open_collection(tmp_path / "learner.anki2") as col:
        import_package(col, first)
        study(col, DECK, 9)
        cards, history = scheduling(col), revlog(col)
        import_package(col, second)
        retired = col.find_notes("tag:prepdeck::retired")
        assert sorted(col.get_note(n)["Id"] for n in retired) == ["q3", "q3"]
        assert all("Retired in v2.0.0" in col.get_note(n)["Question"] for n in retired)
        assert len(col.find_cards('"Id:q3"')) == 3  # the learner's cards stay, with their history
        assert scheduling(col) == cards and revlog(col) == history

    with open_collection(tmp_path / "newcomer.anki2") as col:
        import_package(col, second)
        assert len(col.find_notes("tag:prepdeck::retired")) == 2
        assert col.find_cards('"Id:q3"') == []
        col.decks.select(col.decks.id_for_name(DECK))
        assert col.sched.counts()[0] == 6  # q1 and q2 only: no card due for the retired question
        col.fix_integrity()  # Tools > Check Database, as the README warns, gives them cards
        assert len(col.find_cards('"Id:q3"')) == 3


def _cards_by_item(col, question_id: str) -> dict[str, int]:
    """Return the card id of each cloze item of a question's cloze note, by the item's text."""
    (nid,) = col.find_notes(f'"Id:{question_id}" tag:card::cloze')
    text = col.get_note(nid)["Text"]
    # Each deletion is {{cN::term::hint}}; these items have no bold part, so the term is the item.
    numbers = {int(n): item for n, item in re.findall(r"\{\{c(\d+)::(.*?)(?:::[^:{}]*)?\}\}", text)}
    by_ord = {col.get_card(cid).ord: cid for cid in col.card_ids_of_note(nid)}
    return {item: by_ord[number - 1] for number, item in numbers.items()}


def test_cloze_items_keep_their_cards_through_reorder_insert_delete_and_a_typo_fix(
    bank: Path, tmp_path: Path
):
    items = ["alpha keeps its place", "beta will be deleted", "gamma has a tpyo here", "delta moves first"]
    points = [{"title": "Points", "cloze": True, "items": items}]
    write_bank(tmp_path, questions=three(q1=question(1, key_points=points)))
    release_ok(bank, T1)
    with open_collection(tmp_path / "learner.anki2") as col:
        import_package(col, build_deck(bank, tmp_path / "v1", T1))
        study(col, DECK, 11)
        before = _cards_by_item(col, "q1")
        history = revlog(col)

        edited = ["delta moves first", "a brand new item", "alpha keeps its place", "gamma has a typo here"]
        points = [{"title": "Points", "cloze": True, "items": edited}]
        write_bank(tmp_path, questions=three(q1=question(1, key_points=points)), bank=header(version="1.1"))
        assert release_ok(bank, T2, "--dry-run") == [
            "version 1.1 against release 1.0:",
            "  changed  q1 cloze:points: Text",
            "  changed  q1 question: KeyPoints",
            '  cloze    q1 points: deleted cloze item c2 "beta will be deleted"',
            '  cloze    q1 points: new cloze item c5 "a brand new item"',
            "0 added, 2 changed, 0 retired notes",
            "dry run: nothing written",
        ]
        release_ok(bank, T2)
        import_package(col, build_deck(bank, tmp_path / "v2", T2))
        after = _cards_by_item(col, "q1")
        assert revlog(col) == history
        # The deleted item's card stays until the learner runs Tools > Empty Cards, which lists it.
        empty = {cid for note in col.get_empty_cards().notes for cid in note.card_ids}
        assert empty == {before["beta will be deleted"]}

    assert after["alpha keeps its place"] == before["alpha keeps its place"]
    assert after["delta moves first"] == before["delta moves first"]
    assert after["gamma has a typo here"] == before["gamma has a tpyo here"]
    assert after["a brand new item"] not in before.values()  # a new card, with no history
    lock = (bank / "prepdeck.lock").read_text()
    assert 'item q1 points 2 retired=1.1 "beta will be deleted"' in lock
    assert 'item q1 points 5 "a brand new item"' in lock


def test_an_explicit_item_key_marks_a_new_item_even_with_similar_text(bank: Path, tmp_path: Path):
    points = [{"title": "Points", "cloze": True, "items": ["warm up the cache first", "b"]}]
    write_bank(tmp_path, questions=three(q1=question(1, key_points=points)))
    release_ok(bank, T1)
    items = [{"text": "warm up the caches first", "key": "caches"}, "b"]
    points = [{"title": "Points", "cloze": True, "items": items}]
    write_bank(tmp_path, questions=three(q1=question(1, key_points=points)), bank=header(version="1.1"))
    lines = release_ok(bank, T2, "--dry-run")
    assert '  cloze    q1 points: new cloze item c3 "warm up the caches first"' in lines


def test_a_stale_lock_fails_the_check_until_released(bank: Path, tmp_path: Path):
    result = run("release", "--check", "--content", str(bank), epoch=T1)
    assert result.exit_code == 1
    assert (
        result.output.splitlines()[-1]
        == "content/prepdeck.lock is out of date: run `prepdeck release` and commit it"
    )
    release_ok(bank, T1)
    assert release_ok(bank, T1, "--check")[-1] == "content/prepdeck.lock is current (release 1.0)"
    write_bank(tmp_path, questions=three(q2=question(2, category="beta", summary="New.")))
    assert run("release", "--check", "--content", str(bank), epoch=T2).exit_code == 1
    result = run("release", "--content", str(bank), epoch=T2)
    assert result.exit_code == 1
    assert "version 1.0 is already released" in result.output


def test_adding_a_field_to_a_note_type_is_refused_with_what_anki_would_do(bank: Path, monkeypatch):
    from generator.render import anki

    release_ok(bank, T1)
    before = (bank / "prepdeck.lock").read_bytes()
    monkeypatch.setattr(anki, "QUESTION_FIELDS", (*anki.QUESTION_FIELDS, "Hint"))
    ordered = anki._ordered
    monkeypatch.setattr(
        anki,
        "_ordered",
        lambda fields, names: ordered({**fields, "Hint": ""} if "Hint" in names else fields, names),
    )
    result = run("release", "--content", str(bank), epoch=T2)
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        "content/prepdeck.lock:1: error: note type 'question' adds field 'Hint': Anki would import a copy "
        "of the note type (named with a '+') and skip every note learners already have, so no later "
        "update would reach them. Field and template names and order are frozen: put new content in "
        "the spare fields Extra1 and Extra2, or change only the card HTML and CSS"
    )
    assert (bank / "prepdeck.lock").read_bytes() == before


def test_a_malformed_lock_is_reported_at_its_line(bank: Path, tmp_path: Path):
    release_ok(bank, T1)
    lock = bank / "prepdeck.lock"
    lines = lock.read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line.startswith("note "))
    lines[number - 1] = lines[number - 1].replace(" time=", " tme=")
    lock.write_text("\n".join(lines) + "\n")
    result = run("build", "--content", str(bank), "--out", str(tmp_path / "out"), epoch=T1)
    assert result.exit_code == 1
    assert f"content/prepdeck.lock:{number}: error: malformed lock record: missing 'time'" in result.output
    assert not (tmp_path / "out").exists()


def test_a_cloze_group_that_stops_being_one_is_retired_like_a_question(bank: Path, tmp_path: Path):
    release_ok(bank, T1)
    points = [{"title": "Points", "items": ["first 1", "second 1"]}]
    write_bank(tmp_path, questions=three(q1=question(1, key_points=points)), bank=header(version="1.1"))
    lines = release_ok(bank, T2, "--dry-run")
    assert lines[1:4] == [
        "  changed  q1 question: KeyPoints",
        "  retired  q1 cloze:points: What is question 1?",
        "0 added, 1 changed, 1 retired notes",
    ]
