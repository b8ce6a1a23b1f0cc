"""The PDFs' own fonts: the same bytes on any machine, widths read from the files, missing glyphs named.

prepdeck ships the faces its PDFs are set in (``templates/css/fonts/``). A
machine whose fontconfig knows no font at all prints the same PDFs as one with
DejaVu and friends; a character that no font can draw is prepdeck's own warning,
once per question, naming its file, its id and the characters.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
import tinycss2
from bank_support import EPOCH, header, question, write_bank
from click.testing import CliRunner
from factories import CONTENT, TEMPLATES, make_bank, make_question
from fontTools.ttLib import TTFont
from pdf_support import document_runs, reader, squash
from weasyprint.formatting_structure import boxes

from generator.build import BuildRequest, build
from generator.cli import main
from generator.model import OutputKind
from generator.render import RenderOptions, fonts, pdf
from generator.render.cheatsheet import render_cheatsheet
from generator.render.flashcards import render_flashcards

PDFS = frozenset({OutputKind.CHEATSHEET, OutputKind.FLASHCARDS})
STYLESHEETS = ("css/cheatsheet.css", "css/flashcards.css", "css/calibration.css")
CHINESE = "什么是梯度累积"


@pytest.fixture
def no_system_fonts(tmp_path: Path, monkeypatch) -> None:
    """Point fontconfig at a configuration with no font folders: no system font exists."""
    config = tmp_path / "fontconfig" / "fonts.conf"
    config.parent.mkdir()
    config.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        f"<fontconfig><cachedir>{config.parent / 'cache'}</cachedir></fontconfig>\n"
    )
    monkeypatch.setenv("FONTCONFIG_FILE", str(config))


def embedded_font_names(data: bytes) -> set[str]:
    """Return the embedded fonts' names without their subset prefix (``ABCDEF+``)."""
    return {
        str(font.get_object()["/BaseFont"]).split("+", 1)[-1]
        for page in reader(data).pages
        for font in page["/Resources"]["/Font"].values()
    }


def has_cjk_font() -> bool:
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return False
    listed = subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True, check=False).stdout
    return bool(listed.strip())


# -- the shipped faces ---------------------------------------------------------------------------


def test_every_face_ships_with_its_licence_and_every_pdf_embeds_only_shipped_faces():
    faces = fonts.faces(TEMPLATES)
    assert {face.family for face in faces} == {
        *fonts.TEXT_STACK,
        *fonts.CODE_STACK,
        "Prepdeck Serif",
        "Prepdeck Serif Symbols",
    }
    folder = TEMPLATES / "css" / "fonts"
    for face in faces:
        assert face.path.parent == folder and face.path.is_file()
        name = TTFont(face.path)["name"]
        assert "Open Font License" in (name.getDebugName(13) or "OFL") or face.path.name.startswith("Noto")
    licences = sorted(p.name for p in folder.glob("OFL-*.txt"))
    assert licences == ["OFL-FiraSans.txt", "OFL-JetBrainsMono.txt", "OFL-Noto.txt"]
    assert all("SIL OPEN FONT LICENSE Version 1.1" in (folder / n).read_text() for n in licences)

    options = RenderOptions(templates=TEMPLATES, epoch=EPOCH)
    for render in (render_cheatsheet, render_flashcards):
        names = embedded_font_names(render(make_bank(), "t", options).artifacts[0].data)
        assert names and all(name.startswith("Prepdeck-") for name in names), names


def _declarations(stylesheet: str) -> list[tuple[str, str, str]]:
    """Return (selector, property, value) of every declaration in a stylesheet, @page margin boxes too."""
    found = []

    def walk(rules, selector):
        for rule in rules:
            if rule.type in ("qualified-rule", "at-rule") and rule.content is not None:
                prelude = tinycss2.serialize(rule.prelude).strip()
                name = prelude if rule.type == "qualified-rule" else f"@{rule.at_keyword} {prelude}".strip()
                inner = tinycss2.parse_blocks_contents(rule.content, True, True)
                walk(inner, f"{selector} {name}".strip())
            elif rule.type == "declaration":
                found.append((selector, rule.lower_name, tinycss2.serialize(rule.value).strip()))

    walk(tinycss2.parse_stylesheet((TEMPLATES / stylesheet).read_text(), True, True), "")
    return found


@pytest.mark.parametrize("stylesheet", STYLESHEETS)
def test_the_pdf_stylesheets_set_text_and_code_in_the_shipped_stacks(stylesheet: str):
    text = ", ".join(f'"{family}"' for family in fonts.TEXT_STACK)
    code = ", ".join(f'"{family}"' for family in fonts.CODE_STACK)
    families = []
    for selector, name, value in _declarations(stylesheet):
        if name == "font-family":
            families.append((selector, value))
        elif name == "font":
            families.append((selector, value[value.index('"') :]))
    assert families
    for selector, value in families:
        assert value == (code if "code" in selector else text), selector
    assert '@import "fonts.css"' in (TEMPLATES / stylesheet).read_text()


@pytest.mark.parametrize(
    ("markdown", "style", "bold"),
    [
        ("Data parallelism: all-reduce the gradients (NCCL), 16 bytes/param", "", False),
        ("STRATEGIES ▪ Quantization", "font-weight: bold", True),
        ("`torch.distributed.checkpoint` ↪", "", False),
    ],
)
def test_the_estimates_measure_text_as_wide_as_it_prints(markdown: str, style: str, bold: bool):
    """The widths the shrink-to-fit and code estimates use are the laid-out widths, within kerning."""
    metrics = fonts.metrics(TEMPLATES)
    html = (
        '<link rel="stylesheet" href="css/cheatsheet.css"><style>@page { @bottom-right { content: none } }'
        '</style><p style="font-size: 100px; '
        f'white-space: nowrap; {style}">{markdown.replace("`", "<code>", 1).replace("`", "</code>", 1)}</p>'
    )
    document = pdf.layout(html, templates=TEMPLATES, content=TEMPLATES)
    page = document.pages[0]._page_box
    printed = sum(box.width for box in pdf.descendants(page) if isinstance(box, boxes.TextBox))
    words = metrics.word_widths(markdown, bold)
    estimated = (sum(words) + metrics.space * (len(words) - 1)) * 100
    if "`" in markdown:  # code is set at 0.93 em inside text (css/cheatsheet.css)
        code = markdown.split("`")[1]
        estimated -= sum(metrics.advance(c, code=True) for c in code) * 100 * (1 - 0.93)
    assert printed == pytest.approx(estimated, rel=0.02)


def test_metrics_are_read_once_and_follow_a_replaced_face(tmp_path: Path):
    assert fonts.metrics(TEMPLATES) is fonts.metrics(TEMPLATES)
    themed = tmp_path / "templates"
    shutil.copytree(TEMPLATES, themed)
    mono = themed / "css" / "fonts" / "JetBrainsMono-Regular.ttf"
    mono.write_bytes((themed / "css" / "fonts" / "FiraSansCondensed-Regular.ttf").read_bytes())
    assert fonts.metrics(themed).mono < fonts.metrics(TEMPLATES).mono == 0.6


# -- the same bytes on every machine --------------------------------------------------------------


@pytest.mark.slow
def test_a_machine_without_any_system_font_builds_the_same_pdfs(tmp_path: Path, monkeypatch, request):
    normal = build(BuildRequest(content=CONTENT, out=tmp_path / "normal", outputs=PDFS, epoch=EPOCH))
    assert not [w for w in normal.warnings if isinstance(w, fonts.MissingGlyphs)]
    request.getfixturevalue("no_system_fonts")
    bare = build(BuildRequest(content=CONTENT, out=tmp_path / "bare", outputs=PDFS, epoch=EPOCH))

    assert not [w for w in bare.warnings if isinstance(w, fonts.MissingGlyphs)]
    names = sorted(p.name for p in normal.files)
    assert len(names) == 10 and names == sorted(p.name for p in bare.files)
    for name in names:
        assert (tmp_path / "bare" / name).read_bytes() == (tmp_path / "normal" / name).read_bytes(), name


def _weasyprint_subset(path: Path, subset_font, text: str, kern: bool = False) -> tuple[bytes, set[str]]:
    """Subset a face as WeasyPrint's fontTools fallback does, with ``subset_font`` as ``Subsetter.subset``.

    Return the font's bytes and the tables the subsetting read. With ``kern``, the
    face gets a legacy ``kern`` table first, which fontTools drops while GPOS is there.
    """
    from fontTools import subset
    from fontTools.ttLib import newTable
    from fontTools.ttLib.tables._k_e_r_n import KernTable_format_0

    font = TTFont(path)
    if kern:
        table = KernTable_format_0()
        table.version, table.coverage, table.format, table.kernTable = 0, 1, 0, {("A", "V"): -80}
        font["kern"] = newTable("kern")
        font["kern"].version, font["kern"].kernTables = 0, [table]
    data = io.BytesIO()
    font.save(data)
    font = TTFont(io.BytesIO(data.getvalue()))
    read: set[str] = set()
    get = font.__class__.__getitem__
    font.__class__ = type(
        "Spied", (font.__class__,), {"__getitem__": lambda f, tag: read.add(tag) or get(f, tag)}
    )
    options = subset.Options(
        retain_gids=True,
        passthrough_tables=True,
        ignore_missing_glyphs=True,
        hinting=True,
        desubroutinize=True,
    )
    options.drop_tables += ["GSUB", "GPOS", "SVG"]  # WeasyPrint's options (weasyprint/pdf/fonts.py)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in text])
    subset_font(subsetter, font)
    output = io.BytesIO()
    font.save(output)
    return output.getvalue(), read


@pytest.mark.parametrize("kern", [False, True], ids=["shipped", "with-kern"])
def test_fonttools_subsetting_skips_the_layout_tables_it_drops_and_writes_the_same_font(kern: bool):
    face = TEMPLATES / "css" / "fonts" / "FiraSansCondensed-Regular.ttf"
    text = "Ring all-reduce: 2(N−1)/N · M, AV fi"
    clock = pdf._FONT_EPOCH.set(EPOCH)  # fontTools stamps the time into each font it writes
    try:
        ours, read = _weasyprint_subset(face, pdf.font_subset.Subsetter.subset, text, kern)
        theirs, read_before = _weasyprint_subset(face, pdf._subset_font, text, kern)
    finally:
        pdf._FONT_EPOCH.reset(clock)
    assert ours == theirs
    assert {"GSUB", "GPOS"} <= read_before and not {"GSUB", "GPOS"} & read
    assert "kern" not in TTFont(io.BytesIO(ours))


# -- missing glyphs ---------------------------------------------------------------------------------


def cjk_bank(tmp_path: Path) -> Path:
    """A bank whose q2 asks in Chinese; q2 is in the whole bank and in its subset ``hard``."""
    subsets = [{"name": "hard", "description": "Hard ones.", "difficulty": ["hard"]}]
    return write_bank(
        tmp_path,
        [question(1), question(2, category="beta", difficulty="hard", question=f"{CHINESE}?")],
        bank=header(subsets=subsets),
    )


def test_a_question_no_font_can_draw_is_named_once_and_is_an_error_when_strict(
    tmp_path: Path, monkeypatch, no_system_fonts
):
    cjk_bank(tmp_path)
    monkeypatch.chdir(tmp_path)
    chars = ", ".join(f"'{c}' (U+{ord(c):04X})" for c in sorted(set(CHINESE)))
    warning = (
        "content/questions/q2.yaml:1: {}: question 'q2': no font can draw "
        f"{chars}; it prints empty boxes: install a font that has them"
    )

    built = CliRunner().invoke(
        main, ["build", "--content", "content", "--out", "out", "--only", "cheatsheet"]
    )
    assert built.exit_code == 0, built.output
    assert [line for line in built.stderr.splitlines() if "no font can draw" in line] == [
        warning.format("warning")
    ]
    assert {p.name for p in (tmp_path / "out").glob("*.pdf")} == {
        "test-cheatsheet.pdf",
        "test-hard-cheatsheet.pdf",
    }

    before = {p.name: p.read_bytes() for p in (tmp_path / "out").glob("*.pdf")}
    strict = CliRunner().invoke(main, ["build", "--strict", "--content", "content", "--out", "out"])
    assert strict.exit_code == 1
    assert warning.format("error") in strict.stderr.splitlines()
    assert strict.stderr.count("no font can draw") == 1
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").glob("*.pdf")} == before


def test_the_bank_title_is_named_when_no_font_can_draw_it(no_system_fonts):
    bank = make_bank(title=f"{CHINESE} bank")
    rendered = render_cheatsheet(bank, "t", RenderOptions(templates=TEMPLATES, epoch=EPOCH))
    [warning] = rendered.warnings
    assert warning.location.path.endswith("bank.yaml") and warning.location.line == 1
    assert str(warning).split(": ", 1)[1].startswith("warning: the bank's title or a category title")
    assert warning.chars == "".join(sorted(set(CHINESE)))


@pytest.mark.skipif(not has_cjk_font(), reason="no CJK font installed (Debian: fonts-noto-cjk)")
def test_with_a_cjk_font_installed_the_characters_are_drawn_and_nothing_warns():
    bank = make_bank(questions=[make_question(1, question=f"{CHINESE}?")])
    options = RenderOptions(templates=TEMPLATES, epoch=EPOCH)
    for render in (render_cheatsheet, render_flashcards):
        rendered = render(bank, "t", options)
        assert rendered.warnings == ()
        data = rendered.artifacts[0].data
        assert CHINESE in squash("".join(run.text for page in document_runs(data) for run in page))
        assert any(not name.startswith("Prepdeck-") for name in embedded_font_names(data))


def test_a_templates_folder_without_fonts_css_is_measured_with_the_built_in_faces(tmp_path: Path):
    own = tmp_path / "templates"
    shutil.copytree(TEMPLATES, own, ignore=shutil.ignore_patterns("fonts", "fonts.css"))
    assert fonts.metrics(own) is fonts.metrics(TEMPLATES)
    rendered = render_flashcards(make_bank(), "t", RenderOptions(templates=own, epoch=EPOCH))
    assert rendered.artifacts[0].data.startswith(b"%PDF")
