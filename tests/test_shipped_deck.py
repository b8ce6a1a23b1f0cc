"""The shipped bank's deck, imported into real Anki: every card shows the code the tests ran."""

from __future__ import annotations

import html
import re

import pytest
from anki_support import import_package, note_fields, open_collection, write_package
from factories import CONTENT, TEMPLATES

from generator.build import check

EPOCH = 1_700_000_000


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The shipped bank and its full deck imported into a fresh collection."""
    bank = check(CONTENT).bank
    folder = tmp_path_factory.mktemp("shipped")
    package = write_package(bank, folder, EPOCH, TEMPLATES)
    with open_collection(folder / "collection.anki2") as col:
        import_package(col, package)
        notes = {}
        for nid in col.find_notes("tag:card::question"):
            fields = note_fields(col, nid)
            notes[fields["Id"]] = fields
        yield bank, notes


def visible_text(fragment: str) -> str:
    """Return the text a reader sees in an HTML fragment."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def test_every_question_has_a_note_and_an_example(shipped):
    bank, notes = shipped
    assert sorted(notes) == sorted(q.id for q in bank.questions)
    assert all(q.examples for q in bank.questions)


def test_each_back_shows_exactly_the_example_regions_the_tests_run(shipped):
    bank, notes = shipped
    for question in bank.questions:
        shown = visible_text(notes[question.id]["Code"])
        for example in question.examples:
            source = (bank.root / example.file).read_text(encoding="utf-8").splitlines()
            region = source[example.start_line - 1 : example.start_line - 1 + len(example.code.splitlines())]
            # The region is the file's own lines (dedented), so what the card shows is what ran.
            assert [line.strip() for line in region] == [line.strip() for line in example.code.splitlines()]
            assert example.code.strip() in shown, f"{question.id}: {example.file}#{example.region} not shown"
