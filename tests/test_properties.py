"""Property-based tests: random valid banks build as predicted; random broken YAML never crashes.

Banks are drawn as data, written to a temporary directory as YAML and built
through the real loader (Anki decks only: the properties concern notes,
cards and GUIDs). Note and card counts are predicted from the bank alone:
one question note with one card per question, plus one cloze note per
``cloze: true`` group with one card per item. GUIDs must be unique, and
must not depend on file names or order, nor on any edit of a question's text.
Mutated YAML (lines deleted, duplicated or re-indented, characters flipped,
YAML syntax inserted, files truncated) must give ``prepdeck check`` status 0
or 1, never an uncaught exception.
"""

from __future__ import annotations

import sqlite3
import string
import tempfile
from pathlib import Path
from typing import Any

import pytest
from anki_support import import_package, open_collection, package_database
from bank_support import EPOCH, EXAMPLE, dump, header, question
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from generator.build import BuildRequest, build
from generator.cli import main
from generator.model import Difficulty, OutputKind, Rarity
from generator.validate import RESERVED_TAG_ROOTS

ANKI_ONLY = frozenset({OutputKind.ANKI})
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- Strategies -----------------------------------------------------------------------------------

#: Any printable text: letters, digits, punctuation and symbols (Markdown, HTML and YAML syntax among
#: them) and spaces, from all of Unicode.
TEXT = st.text(
    st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]), min_size=1, max_size=30
).filter(lambda text: text.strip() and "![" not in text and "$" not in text)  # images, math: test_media
SLUG = st.from_regex(r"[a-z][a-z0-9]{0,5}(-[a-z0-9]{1,3})?", fullmatch=True)
TAG = st.from_regex(r"[a-z][a-z0-9]{0,4}(::[a-z][a-z0-9]{0,4}){0,2}", fullmatch=True).filter(
    lambda tag: tag.split("::")[0] not in RESERVED_TAG_ROOTS
)
COLOUR = st.from_regex(r"#[0-9a-fA-F]{6}", fullmatch=True)


@st.composite
def key_point_groups(draw) -> list[dict]:
    groups = []
    for index in range(draw(st.integers(1, 3))):
        group: dict[str, Any] = {"title": f"G{index} {draw(TEXT)}"}
        if draw(st.booleans()):
            group["key"] = f"g{index}"  # else the slug of the title, which starts with g<index> too
        group["items"] = draw(st.lists(TEXT, min_size=1, max_size=4))
        cloze = draw(st.booleans())
        if cloze or draw(st.booleans()):
            group["cloze"] = cloze
        groups.append(group)
    return groups


@st.composite
def banks(draw) -> dict:
    """Return {"bank": bank.yaml mapping, "questions": [question mappings]} of a valid bank."""
    categories = [
        {"slug": f"c{i}", "title": draw(TEXT), "colour": draw(COLOUR)} for i in range(draw(st.integers(1, 3)))
    ]
    count = draw(st.integers(1, 5))
    ids = draw(st.lists(SLUG, min_size=count, max_size=count, unique=True))
    numbers = draw(st.lists(st.integers(1, 100_000), min_size=count, max_size=count, unique=True))
    questions = []
    for question_id, number in zip(ids, numbers, strict=True):
        data: dict[str, Any] = {
            "id": question_id,
            "number": number,
            "category": draw(st.sampled_from([c["slug"] for c in categories])),
            "question": draw(TEXT),
            "summary": draw(TEXT),
            "answer": draw(TEXT),
            "key_points": draw(key_point_groups()),
            "rarity": draw(st.sampled_from([r.value for r in Rarity])),
            "difficulty": draw(st.sampled_from([d.value for d in Difficulty])),
            "tags": draw(st.lists(TAG, max_size=3)),
            "examples": [{"file": "examples/demo.py", "region": "main"}],
        }
        for optional in ("follow_ups", "pitfalls"):
            if draw(st.booleans()):
                data[optional] = draw(st.lists(TEXT, min_size=1, max_size=2))
        questions.append(data)
    bank = header(title=draw(TEXT), description=draw(TEXT), categories=categories)
    return {"bank": bank, "questions": questions}


def write(root: Path, drawn: dict, names: list[str] | None = None) -> Path:
    """Write a drawn bank under ``root/content``; ``names`` gives each question's file path."""
    content = root / "content"
    (content / "examples").mkdir(parents=True)
    (content / "bank.yaml").write_text(dump(drawn["bank"]), encoding="utf-8")
    (content / "examples" / "demo.py").write_text(EXAMPLE, encoding="utf-8")
    names = names or [f"{q['id']}.yaml" for q in drawn["questions"]]
    for name, data in zip(names, drawn["questions"], strict=True):
        path = content / "questions" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump(data), encoding="utf-8")
    return content


def build_deck(content: Path) -> bytes:
    out = content.parent / "out"
    report = build(BuildRequest(content=content, out=out, epoch=EPOCH, jobs=1, outputs=ANKI_ONLY))
    (path,) = report.files
    return path.read_bytes()


def predicted(drawn: dict) -> tuple[int, int]:
    """Return (notes, cards) the deck must hold."""
    cloze = [group for q in drawn["questions"] for group in q["key_points"] if group.get("cloze")]
    questions = len(drawn["questions"])
    return questions + len(cloze), questions + sum(len(group["items"]) for group in cloze)


def guids(apkg: bytes) -> dict[tuple[str, str], str]:
    """Return each note's GUID by (question id, sort key): the role of a note within its question."""
    conn = package_database(apkg)
    try:
        rows = conn.execute("SELECT guid, flds FROM notes").fetchall()
    finally:
        conn.close()
    found = {}
    for guid, flds in rows:
        fields = flds.split("\x1f")
        found[(fields[1], fields[0])] = guid  # Id, Sort: the first two fields of both note types
    assert len(found) == len(rows)
    return found


def counts(apkg: bytes) -> tuple[int, int]:
    conn: sqlite3.Connection = package_database(apkg)
    try:
        return (
            conn.execute("SELECT count(*) FROM notes").fetchone()[0],
            conn.execute("SELECT count(*) FROM cards").fetchone()[0],
        )
    finally:
        conn.close()


# --- Valid banks ----------------------------------------------------------------------------------


@SETTINGS
@given(banks())
def test_a_random_valid_bank_builds_the_predicted_notes_cards_and_unique_guids(drawn):
    with tempfile.TemporaryDirectory() as tmp:
        apkg = build_deck(write(Path(tmp), drawn))

    assert counts(apkg) == predicted(drawn)
    found = guids(apkg)
    assert len(set(found.values())) == len(found) == predicted(drawn)[0]


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(banks())
def test_the_real_anki_imports_the_predicted_notes_and_cards(drawn):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_deck(write(root, drawn))
        with open_collection(root / "collection.anki2") as col:
            import_package(col, root / "out" / "test.apkg")
            assert (col.note_count(), col.card_count()) == predicted(drawn)


@SETTINGS
@given(banks(), st.data())
def test_guids_do_not_depend_on_file_names_or_order(drawn, data):
    count = len(drawn["questions"])
    stems = data.draw(
        st.lists(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True), min_size=count, max_size=count, unique=True)
    )
    folders = data.draw(st.lists(st.sampled_from(["", "a/", "b/c/", "z/"]), min_size=count, max_size=count))
    names = [f"{folder}{stem}.yaml" for folder, stem in zip(folders, stems, strict=True)]
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        plain = build_deck(write(Path(one), drawn))
        renamed = build_deck(write(Path(two), drawn, names))

    assert guids(renamed) == guids(plain)


EDITABLE = ["question", "summary", "answer", "item", "difficulty", "rarity", "tags", "follow_ups"]


@SETTINGS
@given(banks(), st.data())
def test_editing_a_questions_text_changes_no_guid_not_even_its_own(drawn, data):
    index = data.draw(st.integers(0, len(drawn["questions"]) - 1))
    field = data.draw(st.sampled_from(EDITABLE))
    edited = {"bank": drawn["bank"], "questions": [dict(q) for q in drawn["questions"]]}
    target = edited["questions"][index]
    if field == "item":
        groups = [dict(group, items=list(group["items"])) for group in target["key_points"]]
        group = data.draw(st.sampled_from(groups))
        group["items"][data.draw(st.integers(0, len(group["items"]) - 1))] = data.draw(TEXT)
        target["key_points"] = groups
    elif field == "difficulty":
        target["difficulty"] = data.draw(st.sampled_from([d.value for d in Difficulty]))
    elif field == "rarity":
        target["rarity"] = data.draw(st.sampled_from([r.value for r in Rarity]))
    elif field == "tags":
        target["tags"] = data.draw(st.lists(TAG, max_size=3))
    elif field == "follow_ups":
        target["follow_ups"] = data.draw(st.lists(TEXT, min_size=1, max_size=2))
    else:
        target[field] = data.draw(TEXT)
    assume(edited != drawn)
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        before = build_deck(write(Path(one), drawn))
        after = build_deck(write(Path(two), edited))

    assert guids(after) == guids(before)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(banks())
def test_two_builds_of_a_random_bank_are_byte_identical(drawn):
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        assert build_deck(write(Path(one), drawn)) == build_deck(write(Path(two), drawn))


# --- Broken YAML ----------------------------------------------------------------------------------

BASE_BANK = dump(
    header(
        subsets=[
            {"name": "hard", "description": "The hard ones.", "difficulty": ["hard"]},
            {"name": "tagged", "tag": ["topic"]},
        ]
    )
)
BASE_FILES = {
    "bank.yaml": BASE_BANK,
    "questions/q1.yaml": dump(question(1, follow_ups=["Why?"], pitfalls=["Forgetting it."])),
    "questions/q2.yaml": dump(question(2, category="beta", difficulty="hard")),
    "examples/demo.py": EXAMPLE,
}
#: YAML syntax (anchors, aliases, tags, flow collections, block scalars, directives), Anki and
#: Markdown syntax, and characters YAML refuses.
INSERTS = ["&", "*", "!", "{", "}", "[", "]", ":", ": ", "- ", "? ", "|", ">", "#", "'", '"', "%", "@",
           "`", ",", "\t", "  ", "\n", "&a ", "*a", "<<: *a", "!!python/object/apply:os.system ['true'] ",
           "!!binary ", "!!int ", "!!float ", "!!str ", "!!set ", "!!omap ", "!!timestamp ", "--- ",
           "...\n", "%YAML 1.1\n", "{{c1::x}}", "![x](y)", "\x00", "\x1b", "\ufeff", "\x85", "\u2028",
           "1e999", "0x", "~", "null", "no", "9" * 50]  # fmt: skip


@st.composite
def mutations(draw) -> tuple[str, str]:
    """Return (file name, mutated text) of one content file after one to four random edits."""
    name = draw(st.sampled_from(sorted(BASE_FILES)))
    text = BASE_FILES[name]
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        kind = draw(st.sampled_from(["delete", "duplicate", "indent", "flip", "insert", "truncate", "swap"]))
        line = draw(st.integers(0, max(len(lines) - 1, 0)))
        position = draw(st.integers(0, len(text)))
        if kind == "delete":
            del lines[line]
        elif kind == "duplicate":
            lines.insert(line, lines[line])
        elif kind == "indent":
            change = draw(st.sampled_from([" ", "  ", "\t", "-1", "-2"]))
            if change.startswith("-"):
                lines[line] = lines[line][int(change[1:]) :]
            else:
                lines[line] = change + lines[line]
        elif kind == "swap":
            other = draw(st.integers(0, max(len(lines) - 1, 0)))
            lines[line], lines[other] = lines[other], lines[line]
        if kind in ("delete", "duplicate", "indent", "swap"):
            text = "\n".join(lines)
        elif kind == "flip":
            if text:
                position = min(position, len(text) - 1)
                char = draw(st.sampled_from(string.printable + "é€\x00\x1f"))
                text = text[:position] + char + text[position + 1 :]
        elif kind == "insert":
            text = text[:position] + draw(st.sampled_from(INSERTS)) + text[position:]
        else:
            text = text[:position]
    return name, text


def assert_no_traceback(result) -> None:
    assert result.exit_code in (0, 1), (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations())
def test_mutated_yaml_is_reported_never_a_traceback(mutated):
    name, text = mutated
    with tempfile.TemporaryDirectory() as tmp:
        content = Path(tmp) / "content"
        for path, original in BASE_FILES.items():
            (content / path).parent.mkdir(parents=True, exist_ok=True)
            (content / path).write_text(text if path == name else original, encoding="utf-8")

        checked = CliRunner().invoke(main, ["check", "--content", str(content)])
        assert_no_traceback(checked)
        if checked.exit_code == 0:
            # Whatever validation accepts, the deck renders.
            built = CliRunner(env={"SOURCE_DATE_EPOCH": str(EPOCH)}).invoke(
                main, ["build", "--only", "anki", "--content", str(content), "--out", str(Path(tmp) / "out")]
            )
            assert_no_traceback(built)
            assert built.exit_code == 0, built.output


def test_the_unmutated_files_are_a_valid_bank(tmp_path: Path):
    for path, text in BASE_FILES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--strict", "--content", str(tmp_path)])
    assert result.exit_code == 0, result.output
