"""The Anki deck, imported into the real Anki library the way a learner's Anki imports it."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import genanki
import pytest
from anki_support import (
    GUI_IMPORT_OPTIONS,
    import_package,
    note_fields,
    open_collection,
    package_database,
    revlog,
    scheduling,
    study,
    write_package,
)
from factories import CONTENT, TEMPLATES, make_bank, make_question

from generator.build import check
from generator.errors import GeneratorError
from generator.model import Category, Difficulty, FollowUp, KeyPointGroup, Rarity
from generator.render import RenderOptions
from generator.render import anki as anki_renderer
from generator.render.anki import (
    CLOZE_FIELDS,
    CLOZE_TEMPLATE,
    QUESTION_FIELDS,
    QUESTION_TEMPLATE,
    deck_id,
    notetype_id,
    render_deck,
)

EPOCH = 1_700_000_000
LATER = EPOCH + 3600
QUESTION_NOTES = '"note:Test Bank (question)"'
CLOZE_NOTES = '"note:Test Bank (cloze)"'

# The frozen names, spelled out: if a change to anki.py breaks one of these, learners' notes
# stop updating (Anki imports a copy of the note type and skips existing notes).
FROZEN_QUESTION_FIELDS = (
    "Sort", "Id", "Number", "Category", "Difficulty", "Rarity", "Question", "Summary", "Answer",
    "KeyPoints", "Code", "FollowUps", "Pitfalls", "Source", "Extra1", "Extra2",
)  # fmt: skip
FROZEN_CLOZE_FIELDS = (
    "Sort", "Id", "Number", "Text", "Question", "Group", "Category", "Difficulty", "Rarity",
    "Source", "Extra1", "Extra2",
)  # fmt: skip


def three_category_bank(**changes):
    """Return a bank of four questions over two of three categories (the third is empty)."""
    questions = [
        make_question(1),
        make_question(2, category="beta", difficulty=Difficulty.HARD, rarity=Rarity.VERY_COMMON),
        make_question(3, key_points=(), follow_ups=(), pitfalls=(), examples=(), tags=()),
        make_question(
            4,
            category="beta",
            key_points=(
                KeyPointGroup("a", "A", ("a1", "a2", "a3"), cloze=True),
                KeyPointGroup("b", "B", ("b1",), cloze=True),
            ),
        ),
    ]
    categories = (
        Category("beta", "Beta", "#b5521b", "Second category, first in the bank."),
        Category("alpha", "Alpha", "#1f5fa8", "First category, second in the bank."),
        Category("gamma", "Gamma", "#1e7d4f", "No questions in this bank."),
    )
    fields = {"questions": questions, "categories": categories, **changes}
    return make_bank(**fields)


def cloze_groups(bank):
    return [(q, g) for q in bank.questions for g in q.key_points if g.cloze]


def nid_for(col, guid: str) -> int:
    return col.db.scalar("SELECT id FROM notes WHERE guid = ?", guid)


@pytest.fixture
def collection(tmp_path: Path):
    with open_collection(tmp_path / "collection.anki2") as col:
        yield col


def test_gui_import_defaults_are_the_ones_tests_use(collection):
    assert collection._backend.get_import_anki_package_presets() == GUI_IMPORT_OPTIONS


def test_frozen_names_never_change():
    assert QUESTION_FIELDS == FROZEN_QUESTION_FIELDS
    assert CLOZE_FIELDS == FROZEN_CLOZE_FIELDS
    assert (QUESTION_TEMPLATE, CLOZE_TEMPLATE) == ("Question", "Cloze")


@pytest.fixture
def fresh_import(collection, tmp_path):
    """Import the three-category bank into an empty collection; return (bank, import log)."""
    bank = three_category_bank()
    return bank, import_package(collection, write_package(bank, tmp_path, EPOCH, TEMPLATES))


def test_fresh_import_has_every_note_card_and_deck_in_bank_order(fresh_import, collection):
    bank, log = fresh_import
    groups = cloze_groups(bank)
    assert len(groups) == 4  # q1, q2: "points"; q4: "a" and "b"
    assert len(log.new) == collection.note_count() == len(bank.questions) + len(groups)
    assert collection.card_count() == len(bank.questions) + sum(len(g.items) for _, g in groups)
    assert not collection.get_empty_cards().notes

    # One parent deck, one subdeck per category that has questions; nothing in the parent.
    names = {d.name for d in collection.decks.all_names_and_ids()} - {"Default"}
    assert names == {"Test Bank", "Test Bank::Beta", "Test Bank::Alpha"}
    assert not collection.find_cards('deck:"Test Bank" -deck:"Test Bank::*"')

    # New cards come in bank order: category order first (beta before alpha), then number.
    # (Anki stores a numeric sort field as a number: "0002.01" is 2.01.)
    by_due = collection.db.list(
        "SELECT n.sfld FROM cards c JOIN notes n ON n.id = c.nid ORDER BY c.due, c.ord"
    )
    assert [int(n) for n in by_due] == [2, 2, 2, 4, 4, 4, 4, 4, 1, 1, 1, 3]
    # The sort field orders notes by question number.
    assert collection.db.list("SELECT sfld FROM notes ORDER BY sfld") == [1, 1.01, 2, 2.01, 3, 4, 4.01, 4.02]


def test_fresh_import_has_both_note_types_with_their_frozen_names(fresh_import, collection):
    bank, _ = fresh_import
    question_type = collection.models.by_name("Test Bank (question)")
    cloze_type = collection.models.by_name("Test Bank (cloze)")
    assert question_type["id"] == notetype_id(bank, "question")
    assert cloze_type["id"] == notetype_id(bank, "cloze")
    assert [f["name"] for f in question_type["flds"]] == list(FROZEN_QUESTION_FIELDS)
    assert [f["name"] for f in cloze_type["flds"]] == list(FROZEN_CLOZE_FIELDS)
    assert [t["name"] for t in question_type["tmpls"]] == ["Question"]
    assert [t["name"] for t in cloze_type["tmpls"]] == ["Cloze"]
    assert question_type["sortf"] == cloze_type["sortf"] == 0
    assert cloze_type["type"] == 1
    assert ".nightMode .code" in question_type["css"] and ".night_mode .code" in question_type["css"]


def test_fresh_import_tags_and_files_every_note_of_a_question_together(fresh_import, collection):
    bank, _ = fresh_import
    for q in bank.questions:
        nid = nid_for(collection, genanki.guid_for(bank.id, q.id, "question"))
        note = collection.get_note(nid)
        expected = {
            f"category::{q.category}",
            f"difficulty::{q.difficulty.value}",
            f"rarity::{q.rarity.value}",
            "card::question",
            *q.tags,
        }
        assert set(note.tags) == expected
        assert note["Sort"] == f"{q.number:04d}"
        assert note["Id"] == q.id
        deck_name = collection.decks.name(note.cards()[0].did)
        assert deck_name == f"Test Bank::{bank.category(q.category).title}"
        for group in q.key_points:
            cloze_nid = nid_for(collection, genanki.guid_for(bank.id, q.id, f"cloze:{group.key}"))
            assert (cloze_nid is not None) == group.cloze
            if cloze_nid is not None:
                cloze = collection.get_note(cloze_nid)
                assert set(cloze.tags) == expected - {"card::question"} | {"card::cloze"}
                assert cloze["Sort"].startswith(note["Sort"] + ".")
                assert [c.ord for c in cloze.cards()] == list(range(len(group.items)))
                assert {collection.decks.name(c.did) for c in cloze.cards()} == {deck_name}


def test_cards_render_question_answer_and_code(collection, tmp_path):
    bank = make_bank([make_question(1)])
    import_package(collection, write_package(bank, tmp_path, EPOCH, TEMPLATES))
    card = collection.get_card(collection.find_cards(QUESTION_NOTES)[0])
    front, back = card.question(), card.answer()
    assert "What is question 1?" in front and "Alpha" in front and "Medium" in front and "Common" in front
    assert "Answer 1 with <code>code</code>" not in front
    assert "Answer 1 with <code>code</code> and <strong>emphasis</strong>" in back
    assert '<span class="k">def</span>' in back and "examples/demo.py" in back and "Demo" in back
    assert "Follow-up 1?" in back and "Pitfall 1." in back and "Points" in back and "note 1" in back
    # A follow-up's answer sits right below its question.
    answer_below = r'Follow-up 1\?</span>\s*<div class="follow-up-answer">Answer to follow-up 1\.</div>'
    assert re.search(answer_below, back)

    first, second = (collection.get_card(c) for c in collection.find_cards(CLOZE_NOTES))
    assert "What is question 1?" in first.question() and "Points" in first.question()
    assert "first 1" not in first.question() and "second 1" in first.question()
    assert "first 1" in first.answer()
    assert "second 1" not in second.question() and "first 1" in second.question()


def test_reimport_updates_edited_note_in_place_and_keeps_history(collection, tmp_path):
    bank = three_category_bank()
    import_package(collection, write_package(bank, tmp_path, EPOCH, TEMPLATES, "v1"))
    studied = study(collection, "Test Bank", 4)
    before_cards, before_revlog = scheduling(collection), revlog(collection)
    assert len(before_revlog) == 4
    assert all(before_cards[cid][3] == 2 and before_cards[cid][6] > 0 for cid in studied)  # review, ivl
    question = bank.questions[1]
    guid = genanki.guid_for(bank.id, question.id, "question")
    nid = nid_for(collection, guid)
    notes_before = collection.note_count()

    edited = dataclasses.replace(question, answer="A **better** answer.", tags=(*question.tags, "edited"))
    bank2 = dataclasses.replace(bank, questions=tuple(edited if q is question else q for q in bank.questions))
    log = import_package(collection, write_package(bank2, tmp_path, LATER, TEMPLATES, "v2"))

    assert nid_for(collection, guid) == nid
    assert note_fields(collection, nid)["Answer"] == "<p>A <strong>better</strong> answer.</p>"
    assert "edited" in collection.get_note(nid).tags
    assert collection.get_note(nid).mod == LATER  # Anki keeps the package's time, so the next epoch wins
    assert not log.new and not log.conflicting
    assert collection.note_count() == notes_before
    assert scheduling(collection) == before_cards
    assert revlog(collection) == before_revlog
    assert collection.models.by_name("Test Bank (question)")["mod"] == LATER


def test_reimport_with_the_same_epoch_keeps_the_old_note(collection, tmp_path):
    """Anki updates only notes newer than its copy: the epoch must rise whenever content changes."""
    bank = make_bank()
    import_package(collection, write_package(bank, tmp_path, EPOCH, TEMPLATES, "v1"))
    question = bank.questions[0]
    edited = dataclasses.replace(question, answer="Edited.")
    bank2 = dataclasses.replace(bank, questions=(edited, *bank.questions[1:]))
    log = import_package(collection, write_package(bank2, tmp_path, EPOCH, TEMPLATES, "v2"))

    nid = nid_for(collection, genanki.guid_for(bank.id, question.id, "question"))
    assert (
        note_fields(collection, nid)["Answer"]
        == "<p>Answer 1 with <code>code</code> and <strong>emphasis</strong>.</p>"
    )
    assert not log.updated and len(log.duplicate) == collection.note_count()


def test_template_change_updates_note_type_in_place(collection, tmp_path):
    bank = make_bank()
    import_package(collection, write_package(bank, tmp_path, EPOCH, TEMPLATES, "v1"))
    notetypes_before = len(collection.models.all_names_and_ids())
    nids_before = sorted(collection.find_notes(""))

    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    css = templates / "anki" / "style.css"
    css.write_text(css.read_text(encoding="utf-8") + "\n.prepdeck { outline: 1px dashed red; }\n")
    front = templates / "anki" / "cards" / "_meta.html"  # the header every card template includes
    front.write_text(front.read_text(encoding="utf-8").replace('class="meta"', 'class="meta v2"'))
    import_package(collection, write_package(bank, tmp_path, LATER, templates, "v2"))

    names = [nt.name for nt in collection.models.all_names_and_ids()]
    assert len(names) == notetypes_before
    assert not [name for name in names if "+" in name]
    question_type = collection.models.get(notetype_id(bank, "question"))
    cloze_type = collection.models.get(notetype_id(bank, "cloze"))
    assert "outline: 1px dashed red" in question_type["css"]
    assert "outline: 1px dashed red" in cloze_type["css"]
    assert 'class="meta v2"' in question_type["tmpls"][0]["qfmt"]
    assert sorted(collection.find_notes("")) == nids_before


def test_subset_deck_then_full_deck_share_notes(collection, tmp_path):
    full = three_category_bank()
    subset = dataclasses.replace(full, questions=tuple(q for q in full.questions if q.number in (2, 3)))
    import_package(collection, write_package(subset, tmp_path, EPOCH, TEMPLATES, "subset"))
    subset_notes = {n: collection.get_note(n).guid for n in collection.find_notes("")}
    subset_decks = {d.name: d.id for d in collection.decks.all_names_and_ids()}
    assert "Test Bank::Beta" in subset_decks and "Test Bank::Alpha" in subset_decks

    import_package(collection, write_package(full, tmp_path, EPOCH, TEMPLATES, "full"))
    full_notes = {n: collection.get_note(n).guid for n in collection.find_notes("")}
    assert subset_notes.items() <= full_notes.items()
    assert len(set(full_notes.values())) == len(full_notes)

    with open_collection(tmp_path / "fresh.anki2") as fresh:
        import_package(fresh, write_package(full, tmp_path, EPOCH, TEMPLATES, "full"))
        assert (collection.note_count(), collection.card_count()) == (fresh.note_count(), fresh.card_count())
    # Same decks, same ids: the full deck's cards joined the subset's decks.
    decks = {d.name: d.id for d in collection.decks.all_names_and_ids()}
    assert {name: decks[name] for name in subset_decks} == subset_decks
    assert len(decks) == len(subset_decks)


def test_render_is_byte_identical_for_the_same_epoch():
    bank = three_category_bank()

    def render(epoch: int, templates: Path = TEMPLATES) -> bytes:
        return render_deck(bank, "deck", RenderOptions(templates=templates, epoch=epoch)).artifacts[0].data

    first, second = render(EPOCH), render(EPOCH)
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()
    assert render(LATER) != first

    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == ["collection.anki2", "media"]
        assert {i.date_time for i in infos} == {(2023, 11, 14, 22, 13, 20)}
        assert archive.read("media") == b"{}"
    with zipfile.ZipFile(io.BytesIO(render(0))) as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}

    db = package_database(first)
    crt, mod, scm = db.execute("SELECT crt, mod, scm FROM col").fetchone()
    assert (crt, mod, scm) == (EPOCH, EPOCH * 1000, EPOCH * 1000)
    assert set(db.execute("SELECT DISTINCT mod FROM notes UNION SELECT DISTINCT mod FROM cards")) == {
        (EPOCH,)
    }
    decks_json, models_json = db.execute("SELECT decks, models FROM col").fetchone()
    assert '"mod": 1425' not in decks_json and f'"mod": {EPOCH}' in models_json


def test_ids_come_from_bank_id_and_slugs_not_titles():
    bank = three_category_bank()
    renamed = dataclasses.replace(
        bank,
        title="Renamed Bank",
        categories=tuple(dataclasses.replace(c, title=c.title + " (renamed)") for c in bank.categories),
    )
    assert deck_id(bank) == deck_id(renamed)
    assert [deck_id(bank, c) for c in bank.categories] == [deck_id(renamed, c) for c in renamed.categories]
    assert notetype_id(bank, "question") != notetype_id(bank, "cloze")
    assert all(1 << 30 <= i < 1 << 31 for i in (deck_id(bank), notetype_id(bank, "cloze")))

    db = package_database(render_deck(renamed, "d", RenderOptions(TEMPLATES, EPOCH)).artifacts[0].data)
    guids = {row[0] for row in db.execute("SELECT guid FROM notes")}
    assert genanki.guid_for(bank.id, "q1", "question") in guids
    assert genanki.guid_for(bank.id, "q1", "cloze:points") in guids


HOSTILE = (
    "<script>alert(1)</script> {{Question}} {{c1::x}} a::b }} {{FrontSide}} [sound:x.mp3]"
    " <img src=x onerror=alert(1)>"
)


@pytest.mark.parametrize("hostile", [False, True])
def test_no_field_has_a_tag_genanki_would_call_unescaped(hostile):
    """genanki's search for unescaped tags is left out of writing the deck: it would find none."""
    bank = check(CONTENT).bank
    if hostile:
        question = make_question(
            1,
            question=HOSTILE + " a < b > c <",
            answer=HOSTILE + "\n\n<b>bold</b> 1 <2 and 3> 2 `<x>`",
            summary=HOSTILE,
            key_points=(KeyPointGroup("hostile", "<t>", (HOSTILE, "a <b", "**<key>** c"), cloze=True),),
            follow_ups=(FollowUp(HOSTILE, HOSTILE),),
            pitfalls=(HOSTILE,),
        )
        bank = make_bank([question])
    plan = anki_renderer.plan_deck(bank, RenderOptions(TEMPLATES, EPOCH))
    fields = [field for deck in plan.decks for note in deck.notes for field in note.fields]
    assert len(fields) >= 28  # a question note and a cloze note at least
    assert [genanki.Note._find_invalid_html_tags_in_field(field) for field in fields] == [[]] * len(fields)


def test_hostile_text_is_escaped_and_cannot_make_clozes(collection, tmp_path):
    question = make_question(
        1,
        question=HOSTILE,
        answer=HOSTILE,
        summary=HOSTILE,
        key_points=(
            KeyPointGroup(
                "hostile", "{{c3::title}} ::", (HOSTILE, "{{c5::five}}", "x::hint", "y}}"), cloze=True
            ),
        ),
        follow_ups=(FollowUp(HOSTILE, HOSTILE),),
        pitfalls=(HOSTILE,),
        tags=("has space", "ok::tag"),
    )
    question = dataclasses.replace(
        question,
        examples=(dataclasses.replace(question.examples[0], code="x = {'{{c9::y}}': 1}\n", title=HOSTILE),),
    )
    bank = make_bank([question])
    rendered = render_deck(bank, "deck", RenderOptions(TEMPLATES, EPOCH))
    assert [w.message for w in rendered.warnings] == [
        "question 'q1': tag 'has space' contains whitespace; Anki gets 'has_space'"
    ]
    path = tmp_path / "deck.apkg"
    path.write_bytes(rendered.artifacts[0].data)
    import_package(collection, path)

    assert collection.note_count() == 2
    assert collection.card_count() == 1 + 4  # the question, one cloze card per item
    cloze = collection.get_note(collection.find_notes(CLOZE_NOTES)[0])
    assert re.findall(r"\{\{c(\d+)::", cloze["Text"]) == ["1", "2", "3", "4"]
    assert cloze["Text"].count("}}") == 4
    for nid in collection.find_notes(""):
        note = collection.get_note(nid)
        assert "has_space" in note.tags and "ok::tag" in note.tags
        for name, value in note.items():
            # Each deletion is {{cN::term::hint}}; none other may exist.
            content = value if name != "Text" else re.sub(r"\{\{c\d+::|::[^:{}]*\}\}", "", value)
            assert "<script" not in content and "<img" not in content, name
            assert "{{" not in content and "}}" not in content and "::" not in content, name
            assert "[sound:" not in content, name
    note = collection.get_note(collection.find_notes(QUESTION_NOTES)[0])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in note["Question"]
    assert "&#123;&#123;Question&#125;&#125;" in note["Question"]

    card = collection.get_card(collection.find_cards(QUESTION_NOTES)[0])
    front, back = card.question(), card.answer()
    assert "<script>alert" not in front + back and "<img" not in front + back
    assert "{{Question}}" not in front  # shown as characters, after the browser decodes the entities
    assert [f["name"] for f in collection.models.get(notetype_id(bank, "question"))["flds"]] == list(
        FROZEN_QUESTION_FIELDS
    )
    assert not collection.get_empty_cards().notes


def test_custom_field_templates_escape_every_expression_however_they_are_written(tmp_path):
    """Macros, ``{% autoescape false %}`` blocks and literals in a field template stay escaped."""
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / "anki" / "fields" / "list.html").write_text(
        "{% macro entry(text) %}<li>{{ text|markdown_inline }} {{ '[sound:m.mp3]' }}</li>{% endmacro %}\n"
        '<ul class="{{ kind }}">{% for item in items %}{{ entry(item) }}{% endfor %}'
        "{% autoescape false %}<li>{{ '<b>{{c1::raw}}</b>' }}{{ items|join(' ') }}</li>{% endautoescape %}"
        "{% set joined = items[0] ~ ' ' ~ '<i>' %}<li>{{ joined }}</li></ul>\n",
        encoding="utf-8",
    )
    bank = make_bank([make_question(1, pitfalls=(HOSTILE,))])
    plan = anki_renderer.plan_deck(bank, RenderOptions(templates, EPOCH))
    question_type = notetype_id(bank, "question")
    (note,) = [n for deck in plan.decks for n in deck.notes if n.model.model_id == question_type]
    pitfalls = note.fields[QUESTION_FIELDS.index("Pitfalls")]

    for raw in ("<script", "<img", "<b>", "<i>", "{{", "}}", "::", "[sound:"):
        assert raw not in pitfalls, raw
    # Once each from the macro, the join and the concatenation.
    assert pitfalls.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3
    assert "&lt;b&gt;&#123;&#123;c1:&#58;raw&#125;&#125;&lt;/b&gt;" in pitfalls
    assert "&lt;i&gt;" in pitfalls and "&#91;sound:m.mp3]" in pitfalls


def test_duplicate_question_ids_are_an_error():
    bank = make_bank([make_question(1), make_question(2, id="q1")])
    with pytest.raises(GeneratorError, match="share a GUID"):
        render_deck(bank, "deck", RenderOptions(TEMPLATES, EPOCH))


def test_titles_with_deck_separators_and_empty_cloze_groups_warn():
    question = make_question(1, key_points=(KeyPointGroup("empty", "Empty", (), cloze=True),))
    bank = make_bank([question], title="Prep::Deck")
    rendered = render_deck(bank, "deck", RenderOptions(TEMPLATES, EPOCH))
    assert [w.message for w in rendered.warnings] == [
        "deck title 'Prep::Deck' contains '::'; Anki gets 'Prep:Deck'",
        "question 'q1': cloze group 'empty' has no items; no cloze note",
    ]
    db = package_database(rendered.artifacts[0].data)
    assert db.execute("SELECT count(*) FROM notes").fetchone() == (1,)
    assert "Prep:Deck::Alpha" in db.execute("SELECT decks FROM col").fetchone()[0]


def test_without_serialize_the_database_goes_through_a_private_temp_file():
    """Python 3.10 has no ``Connection.serialize``; the fallback must give a whole database."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (42)")
    conn.commit()
    data = anki_renderer._database_bytes(SimpleNamespace(backup=conn.backup))
    copy = sqlite3.connect(":memory:")
    copy.deserialize(data)
    assert copy.execute("SELECT x FROM t").fetchall() == [(42,)]


@pytest.mark.slow
def test_bytes_do_not_depend_on_the_process():
    """Hash randomisation changes set and dict orders between processes; the bytes must not change."""
    script = (
        "import hashlib, sys; sys.path.insert(0, sys.argv[1]);"
        "from test_anki import three_category_bank, TEMPLATES, EPOCH, RenderOptions, render_deck;"
        "data = render_deck(three_category_bank(), 'd', RenderOptions(TEMPLATES, EPOCH)).artifacts[0].data;"
        "print(hashlib.sha256(data).hexdigest())"
    )
    tests = str(Path(__file__).parent)
    digests = {
        subprocess.run(
            [sys.executable, "-c", script, tests],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    data = render_deck(three_category_bank(), "d", RenderOptions(TEMPLATES, EPOCH)).artifacts[0].data
    assert digests == {hashlib.sha256(data).hexdigest() + "\n"}
