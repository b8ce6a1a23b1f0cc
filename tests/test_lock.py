"""The lock file and cloze numbering as functions: format round trip, errors at their line, matching."""

from __future__ import annotations

import pytest
from bank_support import line_of, question, write_bank
from click.testing import CliRunner

from generator.cli import main
from generator.errors import GeneratorError
from generator.lock import (
    MAGIC,
    ItemRecord,
    Lock,
    NoteRecord,
    NoteTypeRecord,
    cloze_numbers,
    digest,
    digests,
    format_lock,
    parse_lock,
    read_lock,
)


def locked(*texts: str, keys: tuple[str, ...] = (), retired: tuple[int, ...] = ()) -> Lock:
    """Return a lock whose group (q1, points) holds ``texts`` as items 1, 2, …"""
    keys = keys or ("",) * len(texts)
    items = tuple(
        ItemRecord("q1", "points", n, text, key, "1.0" if n in retired else "")
        for n, (text, key) in enumerate(zip(texts, keys, strict=True), start=1)
    )
    return Lock("b", "1.0", 1, items={("q1", "points"): items})


def numbers(lock: Lock | None, *texts: str, keys: tuple[str, ...] = ()) -> tuple[int, ...]:
    return cloze_numbers(lock, "q1", "points", texts, keys or ("",) * len(texts))


def test_without_a_locked_group_items_are_numbered_by_position():
    assert numbers(None, "a", "b", "c") == (1, 2, 3)
    assert numbers(Lock.empty("b"), "a", "b") == (1, 2)


def test_reorder_insert_delete_and_typo_fix_keep_each_items_number():
    lock = locked("alpha item", "beta item", "gamma item with a tpyo", "delta item")
    assert numbers(lock, "delta item", "new thing entirely", "Gamma item with a typo", "**alpha** item") == (
        4,
        5,
        3,
        1,
    )


def test_deleted_numbers_are_never_reused():
    lock = locked("one", "two", "three", retired=(3,))
    assert numbers(lock, "one", "something else") == (1, 4)


def test_keys_match_by_key_and_a_new_key_marks_a_new_item():
    lock = locked("first text", "second text", keys=("first", ""))
    assert numbers(lock, "reworded completely", "second text", keys=("first", "")) == (1, 2)
    assert numbers(lock, "second texts", keys=("fresh",)) == (3,)  # similar, but a new key: new
    assert numbers(lock, "second text", keys=("adopted",)) == (2,)  # same text: the key is adopted


def test_the_lock_survives_a_round_trip_through_its_text():
    lock = Lock(
        bank="b",
        version="2.0",
        released=42,
        notetypes={"question": NoteTypeRecord("question", 7, 40, "abcd0123", ("Sort", "Id"), ("Question",))},
        notes={
            "g!#{}": NoteRecord("q1", "question", "g!#{}", "question", 41, "aa.bb", "t", "d", 'Why "x"?\n'),
            "h": NoteRecord("q2", "cloze:p", "h", "cloze", 42, "cc", "t", "d", "Gone", retired="2.0"),
        },
        items={("q2", "p"): (ItemRecord("q2", "p", 1, "an item: with \u00e9", "k"),)},
    )
    text = format_lock(lock)
    assert text.splitlines()[2] == MAGIC
    assert parse_lock(text, "x.lock", "b") == lock
    assert format_lock(parse_lock(text, "x.lock", "b")) == text


def test_texts_with_unicode_line_breaks_stay_on_their_record_line(tmp_path):
    odd = "two\u2028lines\u2029and a NEL\x85, a form feed\x0c and a tab\t"
    lock = Lock(
        bank="b",
        version="1.0",
        released=1,
        notes={"g": NoteRecord("q1", "cloze:p", "g", "cloze", 1, "aa", "t", "d", odd)},
        items={("q1", "p"): (ItemRecord("q1", "p", 1, odd),)},
    )
    (tmp_path / "prepdeck.lock").write_text(format_lock(lock), encoding="utf-8")
    assert read_lock(tmp_path, "b") == lock


NOTE = 'note q1 question guid=g type=question time=1 deck=d tags=t fields=aa "Why?"'


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("version 1\n", 1, "not a prepdeck lock (expected 'prepdeck-lock 1')"),
        (
            f"{MAGIC}\nbank b\nversion 1\nreleased 1\nnote q1\n",
            5,
            "malformed lock record: 'note' needs a question id and a role",
        ),
        (f'{MAGIC}\nbank b\nversion 1\nreleased 1\nitem q1 p x "t"\n', 5, "malformed lock record: invalid"),
        (f"{MAGIC}\nbank b\nversion 1\nreleased 1\nfrobnicate\n", 5, "malformed lock record: unknown record"),
        (f"{MAGIC}\nbank other\nversion 1\nreleased 1\n", 1, "the lock belongs to bank 'other', not 'b'"),
        (f"# a comment\n{NOTE}\n{MAGIC}\nbank b\nversion 1\nreleased 1\n", 2, "not a prepdeck lock"),
        (
            f"{MAGIC}\nbank b\nversion 1\nreleased 1\n{NOTE}\n{NOTE.replace('q1', 'q2')}\n",
            6,
            "malformed lock record: GUID g is listed twice",
        ),
    ],
)
def test_a_malformed_lock_names_its_line(text: str, line: int, message: str):
    with pytest.raises(GeneratorError) as error:
        parse_lock(text, "x.lock", "b")
    (problem,) = error.value.problems
    assert str(problem).startswith(f"x.lock:{line}: error: {message}")


def test_an_item_key_must_be_a_unique_slug(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    items = [{"text": "a", "key": "Not A Slug"}, {"text": "b", "key": "k"}, {"text": "c", "key": "k"}]
    q = question(1, key_points=[{"title": "Points", "cloze": True, "items": items}])
    write_bank(tmp_path, questions=[q])
    path = tmp_path / "content" / "questions" / "q1.yaml"
    result = CliRunner().invoke(main, ["check", "--content", "content"])
    assert result.exit_code == 1
    assert (
        f"content/questions/q1.yaml:{line_of(path, 'Not A Slug')}: error: question 'q1': 'key' 'Not A Slug' "
        "is not a slug (lowercase letters, digits, hyphens)"
    ) in result.output
    duplicate = line_of(path, "text: c")
    assert f"content/questions/q1.yaml:{duplicate}: error: question 'q1': two items have the key 'k'" in (
        result.output
    )


def test_a_note_record_without_its_values_names_the_missing_one():
    with pytest.raises(GeneratorError) as error:
        parse_lock(f"{MAGIC}\nbank b\nversion 1\nreleased 1\nnote q1 question guid=x\n", "x.lock", "b")
    assert [str(p) for p in error.value.problems] == [
        "x.lock:5: error: malformed lock record: missing 'type'"
    ]


def test_field_digests_compared_with_the_locked_ones_are_each_field_s_own():
    fields = ["<p>What is q1?</p>", "", "a {{c1::term}}", "é\u2028"]
    own = ".".join(digest(text) for text in fields)
    assert digests(fields) == own
    assert digests(fields, own) is own  # unchanged: the locked digests themselves
    stale = ".".join([digest(fields[0]), digest(fields[1]), digest("a {{c1::other}}"), digest(fields[3])])
    assert digests(fields, stale) == own  # one field changed: its new digest, not the locked one
    assert digests(fields, own[:26]) == own  # a locked note with fewer fields
