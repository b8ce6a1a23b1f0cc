"""Rebuilds that redo only what changed: the action cache seen through whole builds of the shipped bank.

One cold build of a copy of the shipped bank (with a theme that replaces the
cheat sheet's stylesheet by an identical copy, so a test can edit it) is
copied for each test. A test edits the content or the theme, builds again,
and checks which outputs were rendered, which files in the output folder
were replaced (a new inode or time), and that every output's bytes are what
a build without a cache makes.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from bank_support import EPOCH, TEMPLATES
from click.testing import CliRunner
from factories import CONTENT

from generator.build import BuildReport, BuildRequest, build
from generator.cache import CACHE_DIR
from generator.cli import main
from generator.model import OutputKind
from generator.write import MANIFEST

SLUG = "senior-ml-engineer"
#: In the whole bank and the ``hard`` subset only.
EDITED = "recommendation-system"
KINDS = ("{stem}.apkg", "{stem}-cheatsheet.pdf", "{stem}-flashcards.pdf", "{stem}-site")
TARGETS = (SLUG, *(f"{SLUG}-{name}" for name in ("last-evening", "mlops", "hard", "core")))
ALL_OUTPUTS = {kind.format(stem=stem) for stem in TARGETS for kind in KINDS}


def files(out: Path) -> dict[str, tuple[bytes, int, int]]:
    """Return every output file below ``out`` (not the cache) with its bytes, inode and time in ns."""
    found = {}
    for path in out.rglob("*"):
        name = path.relative_to(out).as_posix()
        if path.is_file() and not name.startswith(f"{CACHE_DIR}/"):
            info = path.stat()
            found[name] = (path.read_bytes(), info.st_ino, info.st_mtime_ns)
    return found


def request(content: Path, out: Path, theme: Path, **changes) -> BuildRequest:
    return BuildRequest(
        **{"content": content, "out": out, "theme": theme, "epoch": EPOCH, "jobs": 2, **changes}
    )


@pytest.fixture(scope="module")
def cold(tmp_path_factory) -> tuple[Path, BuildReport]:
    """Build the shipped bank once without a cache into ``reference``, and once with one into ``out``."""
    root = tmp_path_factory.mktemp("cold")
    shutil.copytree(CONTENT, root / "content")
    (root / "theme" / "css").mkdir(parents=True)
    shutil.copy(TEMPLATES / "css" / "cheatsheet.css", root / "theme" / "css" / "cheatsheet.css")
    content, theme = root / "content", root / "theme"
    build(request(content, root / "reference", theme, use_cache=False))
    report = build(request(content, root / "out", theme))
    return root, report


@pytest.fixture
def earlier(cold, tmp_path: Path) -> tuple[Path, Path, Path, dict]:
    """Return (content, theme, out, files of out): private copies of the cold build and its input."""
    root, _ = cold
    for name in ("content", "theme", "out"):
        shutil.copytree(root / name, tmp_path / name)
    out = tmp_path / "out"
    return tmp_path / "content", tmp_path / "theme", out, files(out)


def reference(cold, content: Path, theme: Path, tmp_path: Path) -> dict[str, bytes]:
    """Return the outputs of a build of ``content`` and ``theme`` without any cache."""
    out = tmp_path / "reference"
    build(request(content, out, theme, use_cache=False))
    return {name: data for name, (data, _, _) in files(out).items()}


def replaced(before: dict, after: dict) -> set[str]:
    """Return the files whose inode or time changed, or that came or went."""
    return {
        name for name in before.keys() | after.keys() if before.get(name, ())[1:] != after.get(name, ())[1:]
    }


def test_the_cold_build_rendered_everything_and_matches_a_build_without_cache(cold):
    root, report = cold
    assert set(report.rendered) == ALL_OUTPUTS and report.reused == ()
    assert {n: d for n, (d, _, _) in files(root / "out").items()} == {
        n: d for n, (d, _, _) in files(root / "reference").items()
    }
    assert any((root / "out" / CACHE_DIR).iterdir())
    assert not (root / "reference" / CACHE_DIR).exists()


def test_an_unchanged_rebuild_renders_nothing_and_touches_no_file(earlier):
    content, theme, out, before = earlier
    report = build(request(content, out, theme))
    assert report.rendered == () and set(report.reused) == ALL_OUTPUTS
    assert files(out) == before


def test_a_one_answer_edit_renders_only_the_outputs_of_the_targets_that_hold_the_question(
    cold, earlier, tmp_path: Path
):
    content, theme, out, before = earlier
    path = next(content.glob(f"questions/*/{EDITED}.yaml"))
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("careful metric choices", "careful metric picks", 1), encoding="utf-8")

    report = build(request(content, out, theme))

    # The answer shows in the deck and the site, not on the sheets: those stay cached too.
    touched = {f"{stem}{kind}" for stem in (SLUG, f"{SLUG}-hard") for kind in (".apkg", "-site")}
    assert set(report.rendered) == touched
    assert set(report.reused) == ALL_OUTPUTS - touched
    after = files(out)
    changed = replaced(before, after)
    assert changed and {name.split("/")[0] for name in changed} <= touched | {MANIFEST}  # new hashes
    assert {f"{SLUG}.apkg", f"{SLUG}-hard.apkg", f"{SLUG}-site/q/{EDITED}.html"} <= changed
    assert all(before[name] == after[name] for name in before.keys() - changed)
    assert {n: d for n, (d, _, _) in after.items()} == reference(cold, content, theme, tmp_path)


def test_a_whitespace_only_edit_renders_nothing(earlier):
    content, theme, out, before = earlier
    path = next(content.glob(f"questions/*/{EDITED}.yaml"))
    text = path.read_text(encoding="utf-8")
    path.write_text("\n\n" + text.replace(": ", ":   ", 3) + "\n\n", encoding="utf-8")

    report = build(request(content, out, theme))

    assert report.rendered == () and set(report.reused) == ALL_OUTPUTS
    assert files(out) == before


def test_a_stylesheet_edit_renders_exactly_the_outputs_that_use_it(cold, earlier, tmp_path: Path):
    content, theme, out, before = earlier
    with (theme / "css" / "cheatsheet.css").open("a", encoding="utf-8") as css:
        css.write("\n.question { color: #202020; }\n")

    report = build(request(content, out, theme))

    sheets = {f"{stem}-cheatsheet.pdf" for stem in TARGETS}
    assert set(report.rendered) == sheets
    after = files(out)
    assert replaced(before, after) == {*sheets, MANIFEST}
    assert {n: d for n, (d, _, _) in after.items()} == reference(cold, content, theme, tmp_path)


def test_an_edit_to_the_sheets_labels_alone_renders_the_sheets_again(cold, earlier, tmp_path: Path):
    """The "(cont.)" labels are laid out after the sheet, from its template: the sheet's key covers them."""
    content, theme, out, before = earlier
    template = (TEMPLATES / "cheatsheet.html.j2").read_text(encoding="utf-8")
    label = '<span class="number">{{ number }}</span>'
    assert template.count(label) == 1  # in the labels' page only: the sheet's own HTML stays the same
    edited = template.replace(label, '<span class="number">#{{ number }}</span>')
    (theme / "cheatsheet.html.j2").write_text(edited, encoding="utf-8")

    report = build(request(content, out, theme))

    assert set(report.rendered) == {f"{stem}-cheatsheet.pdf" for stem in TARGETS}
    after = {n: d for n, (d, _, _) in files(out).items()}
    assert after == reference(cold, content, theme, tmp_path)
    # The whole bank's sheet has a label (a question continues in the next column): it changed.
    sheet = f"{SLUG}-cheatsheet.pdf"
    assert after[sheet] != before[sheet][0]


def test_cold_cached_and_partly_cached_builds_are_byte_identical(cold, tmp_path: Path):
    root, _ = cold
    content, theme = root / "content", root / "theme"
    expected = {n: d for n, (d, _, _) in files(root / "reference").items()}
    cache = tmp_path / "cache"
    shutil.copytree(root / "out" / CACHE_DIR, cache)

    cached = build(request(content, tmp_path / "cached", theme, cache=cache))
    assert cached.rendered == ()
    entries = sorted(p for p in cache.rglob("*") if p.is_file())
    for path in entries[::2]:
        path.unlink()
    partly = build(request(content, tmp_path / "partly", theme, cache=cache))
    assert partly.rendered and partly.reused

    for out in ("cached", "partly"):
        assert {n: d for n, (d, _, _) in files(tmp_path / out).items()} == expected, out


def damage(entry: Path, how: str) -> None:
    data = entry.read_bytes()
    if how == "truncated":
        entry.write_bytes(data[: len(data) // 2])
    else:
        flipped = bytearray(data)
        flipped[len(data) - 100] ^= 0x01
        entry.write_bytes(bytes(flipped))


@pytest.mark.parametrize("how", ["truncated", "flipped"])
def test_a_damaged_cache_entry_is_found_rendered_again_and_reported_once(cold, earlier, how: str):
    root, _ = cold
    content, theme, out, _ = earlier
    entries = sorted(
        (p for p in (out / CACHE_DIR).rglob("*") if p.is_file()), key=lambda p: -p.stat().st_size
    )
    damage(entries[0], how)  # the largest: a PDF's or a deck's
    damage(entries[1], how)
    args = ["build", "--content", str(content), "--out", str(out), "--templates", str(theme)]

    runner = CliRunner()
    first = runner.invoke(main, args, env={"SOURCE_DATE_EPOCH": str(EPOCH)})
    again = runner.invoke(main, args, env={"SOURCE_DATE_EPOCH": str(EPOCH)})

    assert first.exit_code == 0, first.output
    reports = [line for line in first.stderr.splitlines() if "cache entry" in line]
    assert len(reports) == 2, first.stderr
    assert all(line.endswith("was damaged; it was rendered again") for line in reports)
    assert "2 rendered, 18 reused" in first.stdout
    assert "cache entry" not in again.stderr and "0 rendered, 20 reused" in again.stdout
    expected = {n: d for n, (d, _, _) in files(root / "reference").items()}
    assert {n: d for n, (d, _, _) in files(out).items()} == expected


def test_no_cache_renders_everything_and_leaves_the_cache_alone(earlier):
    content, theme, out, before = earlier
    cache = {p: p.read_bytes() for p in (out / CACHE_DIR).rglob("*") if p.is_file()}
    report = build(request(content, out, theme, use_cache=False, outputs=frozenset({OutputKind.ANKI})))
    assert set(report.rendered) == {f"{stem}.apkg" for stem in TARGETS} and report.reused == ()
    after = files(out)
    assert replaced(before, after) <= {MANIFEST}  # rendered to the same bytes: no output is replaced
    assert {p: p.read_bytes() for p in (out / CACHE_DIR).rglob("*") if p.is_file()} == cache


def test_the_cache_keeps_to_its_size_bound_dropping_the_least_recently_used(earlier):
    content, theme, out, _ = earlier
    decks = frozenset({OutputKind.ANKI})
    bound = 150_000  # two or three decks' entries
    build(request(content, out, theme, epoch=EPOCH + 1, outputs=decks, cache_size=bound))
    entries = [p for p in (out / CACHE_DIR).rglob("*") if p.is_file()]
    assert entries and sum(p.stat().st_size for p in entries) <= bound
    # What is left is what this build stored last; the cold build's entries went first.
    again = build(request(content, out, theme, epoch=EPOCH + 1, outputs=decks, cache_size=bound))
    assert again.reused and again.rendered


def test_make_clean_removes_the_cache():
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text(encoding="utf-8")
    clean = makefile.split("\nclean:", 1)[1].split("\n\n", 1)[0]
    assert "rm -rf $(OUT)" in clean  # the build's output folder, and the cache inside it
    assert BuildRequest(out=Path("build")).cache_dir == Path("build") / CACHE_DIR


def test_a_template_edited_between_two_builds_in_one_process_is_compiled_again(tmp_path: Path):
    from factories import make_bank

    from generator.render import RenderOptions
    from generator.render.anki import render_deck

    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    bank = make_bank()

    def collection() -> bytes:
        options = RenderOptions(templates=templates, epoch=EPOCH)  # each build makes its own
        with zipfile.ZipFile(io.BytesIO(render_deck(bank, "deck", options).artifacts[0].data)) as archive:
            return archive.read("collection.anki2")

    before = collection()
    key_points = templates / "anki" / "fields" / "key-points.html"
    key_points.write_text(key_points.read_text(encoding="utf-8").replace("<details", "<details data-edited"))
    after = collection()
    assert b"data-edited" in after and b"data-edited" not in before
