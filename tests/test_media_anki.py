"""Images and formulas in real Anki: imported into the media folder, checked, updated on change."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from anki_support import import_package, open_collection
from bank_support import EPOCH
from test_media import media_bank

from generator.build import BuildRequest, build

pytestmark = pytest.mark.slow


def deck(content: Path, out: Path, epoch: int) -> Path:
    build(BuildRequest(content=content, out=out, epoch=epoch, jobs=1))
    return out / "test.apkg"


def shown(col) -> set[str]:
    """Return every file name the collection's notes show in an <img>."""
    names = set()
    for nid in col.find_notes(""):
        for value in col.get_note(nid).fields:
            names.update(re.findall(r'<img[^>]* src="([^"]+)"', value))
    return names


def test_import_puts_every_picture_in_the_media_folder_and_media_check_is_clean(tmp_path: Path):
    package = deck(media_bank(tmp_path / "bank"), tmp_path / "out", EPOCH)

    (tmp_path / "col").mkdir()
    with open_collection(tmp_path / "col" / "collection.anki2") as col:
        import_package(col, package)
        folder = Path(col.media.dir())
        names = shown(col)
        check = col.media.check()

        assert len(names) == 4  # the SVG, the PNG and two formulas
        assert all((folder / name).is_file() for name in names)
        assert list(check.missing) == []
        assert list(check.unused) == []
        cloze = [col.get_note(n) for n in col.find_notes("card:Cloze")]
        assert cloze and all(len(col.get_note(n).cards()) >= 2 for n in col.find_notes("card:Cloze"))
        # The formula's "}}" lives only in an alt text escaped for Anki: both cloze cards render.
        answers = [card.answer() for note in cloze for card in note.cards()]
        assert any("with }} in text" in html or "with &#125;&#125; in text" in html for html in answers)


def test_reimport_after_an_image_changes_shows_the_new_image(tmp_path: Path):
    first = deck(media_bank(tmp_path / "a"), tmp_path / "out-a", EPOCH)
    second = deck(media_bank(tmp_path / "b", colour=(30, 200, 30)), tmp_path / "out-b", EPOCH + 86_400)

    (tmp_path / "col").mkdir()
    with open_collection(tmp_path / "col" / "collection.anki2") as col:
        import_package(col, first)
        before = {n for n in shown(col) if n.startswith("flow-")}
        import_package(col, second)
        after = {n for n in shown(col) if n.startswith("flow-")}
        folder = Path(col.media.dir())
        check = col.media.check()

        assert before and after and before.isdisjoint(after)
        assert all((folder / name).is_file() for name in after)
        assert (folder / next(iter(after))).read_bytes() != (folder / next(iter(before))).read_bytes()
        assert list(check.missing) == []
        assert set(check.unused) == before  # the old picture is left over, referenced by nothing
