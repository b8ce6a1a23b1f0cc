"""Outputs a user can trust: sized names, --clean, and themes laid over the built-in templates."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from malformed import write_text_bank

from generator.build import sized_name
from generator.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args), prog_name="prepdeck")


@pytest.fixture
def bank(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    return write_text_bank(tmp_path)


@pytest.mark.parametrize(
    ("paper", "card", "names"),
    [
        ("a4", "95x65", ["x.apkg", "x-cheatsheet.pdf", "x-flashcards.pdf"]),
        ("letter", "95x65", ["x.apkg", "x-cheatsheet-letter.pdf", "x-flashcards-letter.pdf"]),
        ("a4", "business", ["x.apkg", "x-cheatsheet.pdf", "x-flashcards-business.pdf"]),
        ("letter", "index-3x5", ["x.apkg", "x-cheatsheet-letter.pdf", "x-flashcards-letter-index-3x5.pdf"]),
    ],
)
def test_file_names_say_paper_and_card_size_when_not_the_defaults(paper, card, names):
    assert [sized_name(n, paper, card) for n in ["x.apkg", "x-cheatsheet.pdf", "x-flashcards.pdf"]] == names


def test_clean_removes_only_older_outputs_prepdeck_made(bank: Path, tmp_path: Path):
    out = tmp_path / "build"
    assert run("build", "--only", "anki", "--id", "q1", "--name", "old").exit_code == 0
    assert run("build", "--only", "anki", "--id", "q2", "--name", "changed").exit_code == 0
    (out / "test-changed.apkg").write_bytes(b"edited by hand")
    (out / "mine.apkg").write_bytes(b"not prepdeck's")
    kept = run("build", "--only", "anki")
    assert kept.exit_code == 0, kept.output
    assert (out / "test-old.apkg").exists()  # no --clean: nothing removed
    result = run("build", "--only", "anki", "--clean")
    assert result.exit_code == 0, result.output
    assert "  removed build/test-old.apkg\n" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        ".built-by-prepdeck.json",
        ".cache",  # the build cache is not an output: --clean keeps it
        "mine.apkg",
        "test-changed.apkg",
        "test-hard.apkg",
        "test.apkg",
    ]
    assert (out / "test-changed.apkg").read_bytes() == b"edited by hand"


def deck_css(path: Path) -> str:
    import json
    import sqlite3
    import tempfile

    with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "c.anki2"
        db.write_bytes(archive.read("collection.anki2"))
        models = json.loads(sqlite3.connect(db).execute("select models from col").fetchone()[0])
    return "".join(m["css"] for m in models.values())


def test_a_theme_replaces_one_stylesheet_and_keeps_the_rest(bank: Path, tmp_path: Path):
    from generator.theme import builtin_templates

    builtin = (builtin_templates() / "anki" / "style.css").read_text(encoding="utf-8")
    theme = tmp_path / "theme" / "anki"
    theme.mkdir(parents=True)
    (theme / "style.css").write_text(builtin.replace("--warn: #a3361a;", "--warn: #c0392b;", 1))
    assert run("build", "--only", "anki", "--out", "plain").exit_code == 0
    result = run("build", "--only", "anki", "--out", "themed", "--templates", str(tmp_path / "theme"))
    assert result.exit_code == 0, result.output
    plain, themed = deck_css(tmp_path / "plain" / "test.apkg"), deck_css(tmp_path / "themed" / "test.apkg")
    assert "--warn: #a3361a;" in plain
    assert themed == plain.replace("--warn: #a3361a;", "--warn: #c0392b;", 1)


def deck_rows(path: Path) -> list[tuple]:
    """Return every note and card of a package: what a learner's collection receives."""
    import sqlite3
    import tempfile

    with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "c.anki2"
        db.write_bytes(archive.read("collection.anki2"))
        connection = sqlite3.connect(db)
        notes = connection.execute("select guid, mid, mod, tags, flds from notes order by guid").fetchall()
        cards = connection.execute("select nid, did, ord, type, queue, due from cards order by id").fetchall()
        connection.close()
    return notes + cards


_FILL = re.compile(r"^(\d*\.?\d+) (\d*\.?\d+) (\d*\.?\d+) (rg|RG)$")


def drawn_colour(line: str) -> str | None:
    """Return "#rrggbb" if a content-stream line sets a fill or stroke colour, else None."""
    match = _FILL.match(line)
    if match is None:
        return None
    return "#" + "".join(f"{round(float(match.group(i)) * 255):02x}" for i in (1, 2, 3))


def recoloured(plain: bytes, themed: bytes) -> set[tuple[str, str]]:
    """Return the (plain, themed) colour pairs where two PDFs differ; fail on any other difference.

    Every stream (page contents, fonts, images) is compared line by line: a PDF
    that differs in text, layout or anything but a colour-setting operator fails.
    WeasyPrint writes one operator a line.
    """
    import pypdf

    def streams(data: bytes) -> list[bytes]:
        pdf = pypdf.PdfReader(io.BytesIO(data))
        found = []
        for number in range(1, int(pdf.trailer["/Size"])):
            obj = pdf.get_object(number)
            # The cross-reference stream holds byte offsets, which any edit moves.
            if isinstance(obj, pypdf.generic.StreamObject) and obj.get("/Type") != "/XRef":
                found.append(obj.get_data())
        return found

    before, after = streams(plain), streams(themed)
    assert len(before) == len(after)
    pairs = set()
    for old, new in zip(before, after, strict=True):
        if old == new:
            continue
        old_lines, new_lines = old.decode("latin-1").splitlines(), new.decode("latin-1").splitlines()
        assert len(old_lines) == len(new_lines)
        for a, b in zip(old_lines, new_lines, strict=True):
            if a != b:
                pair = (drawn_colour(a), drawn_colour(b))
                assert None not in pair, (a, b)
                pairs.add(pair)
    return pairs


def test_a_theme_of_one_palette_file_recolours_the_deck_both_pdfs_and_the_site(bank: Path, tmp_path: Path):
    from generator.theme import builtin_templates

    palette = (builtin_templates() / "palette.css").read_text(encoding="utf-8")
    assert "--prepdeck-accent: #1f5fa8;" in palette
    (tmp_path / "theme").mkdir()
    (tmp_path / "theme" / "palette.css").write_text(
        palette.replace("--prepdeck-accent: #1f5fa8;", "--prepdeck-accent: #c0392b;")
    )
    outputs = ("--only", "anki", "--only", "cheatsheet", "--only", "flashcards", "--only", "site")
    assert run("build", *outputs, "--out", "plain").exit_code == 0
    result = run("build", *outputs, "--out", "themed", "--templates", "theme", "--strict")
    assert result.exit_code == 0, result.output
    plain, themed = tmp_path / "plain", tmp_path / "themed"

    # The deck: the note types' CSS with the new accent, every note and card the same.
    assert deck_css(themed / "test.apkg") == deck_css(plain / "test.apkg").replace("#1f5fa8", "#c0392b")
    assert "--prepdeck-accent: #c0392b;" in deck_css(themed / "test.apkg")
    assert deck_rows(themed / "test.apkg") == deck_rows(plain / "test.apkg")

    # Both PDFs: the accent's marks are redrawn in the new colour and nothing else moves.
    # (The bank's first category is #1f5fa8 too: its bands keep their colour.)
    for name in ("test-cheatsheet.pdf", "test-flashcards.pdf"):
        pairs = recoloured((plain / name).read_bytes(), (themed / name).read_bytes())
        assert pairs == {("#1f5fa8", "#c0392b")}, name

    # The site: only the cards' stylesheet (which carries the palette) differs.
    def site_files(out: Path) -> list[str]:
        return sorted(p.relative_to(out).as_posix() for p in out.glob("test-site/**/*") if p.is_file())

    site = site_files(plain)
    assert site_files(themed) == site
    changed = [name for name in site if (plain / name).read_bytes() != (themed / name).read_bytes()]
    assert changed == ["test-site/assets/card.css"]
    assert deck_css(themed / "test.apkg") in (themed / changed[0]).read_text(encoding="utf-8")


def test_bank_yaml_names_a_theme_inside_the_bank(bank: Path, tmp_path: Path):
    (bank / "theme").mkdir()
    (bank / "theme" / "cheatsheet.html.j2").write_text("<script>alert(1)</script>\n{{ ''.__class__ }}\n")
    text = (bank / "bank.yaml").read_text()
    (bank / "bank.yaml").write_text(text + "theme: theme\n")
    result = run("build", "--only", "cheatsheet")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "content/theme/cheatsheet.html.j2:1: error: '<script' is not allowed in a theme: "
        "cards and sheets run no script",
        "content/theme/cheatsheet.html.j2:2: error: names with '__' are not allowed in a theme's "
        "template expressions",
        "prepdeck: 2 errors in 1 file",
    ]
    assert not (tmp_path / "build").exists()


def test_a_theme_stylesheet_may_not_fetch_from_outside(bank: Path, tmp_path: Path):
    (tmp_path / "theme" / "css").mkdir(parents=True)
    (tmp_path / "theme" / "css" / "cheatsheet.css").write_text('@import url("https://example.com/x.css");\n')
    (tmp_path / "theme" / "cheatsheet.css").write_text("p { color: red }\n")
    result = run("build", "--only", "cheatsheet", "--templates", "theme")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "theme/css/cheatsheet.css:1: error: 'https://example.com/x.css' is fetched from outside the theme; "
        "put the file in the theme folder and link it by a relative name",
        "prepdeck: 1 error in 1 file",
    ]
    (tmp_path / "theme" / "css" / "cheatsheet.css").unlink()
    warned = run("build", "--only", "cheatsheet", "--templates", "theme", "--strict")
    assert warned.exit_code == 1
    assert warned.stderr.splitlines() == [
        "theme/cheatsheet.css:1: error: theme file 'cheatsheet.css' replaces no built-in file; "
        "did you mean 'css/cheatsheet.css'?",
        "prepdeck: 1 error in 1 file",
    ]
