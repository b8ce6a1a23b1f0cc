"""Images and math in Markdown: refused when hostile, shipped in every output when not.

A bank shows ``![alt](media/x.svg)`` and ``$…$``/``$$…$$``; every refusal is an
error at ``path:line`` and nothing is built; a good image reaches the deck
under a flat, content-hashed name, sorted, and the PDFs draw it from the
bank's checked bytes; formulas are SVG pictures whose alt text is the LaTeX.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from bank_support import EPOCH, line_of, question, write_bank
from click.testing import CliRunner
from PIL import Image
from pypdf import PdfReader

from generator.build import BuildRequest, build
from generator.cli import main
from generator.errors import GeneratorError
from generator.render import markup

GOOD_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 100" width="200" height="100">\n'
    '  <rect x="10" y="10" width="180" height="80" fill="#1f5fa8"/>\n'
    '  <text x="20" y="55" font-size="20" fill="white">ring</text>\n'
    "</svg>\n"
)


def svg(body: str, head: str = "") -> str:
    """Return an SVG whose hostile ``body`` stands on line 3 (``head`` goes before the root)."""
    return f'{head}<svg xmlns="http://www.w3.org/2000/svg"\n     xmlns:xlink="http://www.w3.org/1999/xlink">\n{body}\n</svg>\n'


def png(width: int, height: int) -> bytes:
    """Return a PNG header claiming ``width`` x ``height`` pixels, with valid checksums."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def real_png(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), colour).save(buffer, "PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class Hostile:
    """An answer and the files it uses; the error names ``where`` (a file and a needle) and ``message``."""

    name: str
    answer: str
    message: str
    files: tuple[tuple[str, str | bytes], ...] = ()
    where: tuple[str, str] = ("questions/q1.yaml", "answer:")


def at_svg(line: int = 3) -> tuple[str, str]:
    return ("media/bad.svg", f"#{line}")


HOSTILE = [
    Hostile("http-url", "![a](http://127.0.0.1:9/x.png)", "image 'http://127.0.0.1:9/x.png' is a http: URL"),
    Hostile("file-url", "![a](file:///etc/passwd)", "image 'file:///etc/passwd' is a file: URL"),
    Hostile("network-path", "![a](//example.invalid/x.png)", "is a network path"),
    Hostile("dot-dot", "![a](media/../../secret.png)", "leads out of the bank with '..'"),
    Hostile("absolute", "![a](/etc/x.png)", "is an absolute path"),
    Hostile("outside-media", "![a](examples/x.png)", "must be under the bank's media/ folder"),
    Hostile("no-alt", "![](media/ok.svg)", "has no alt text", (("media/ok.svg", GOOD_SVG),)),
    Hostile("missing", "![a](media/none.svg)", "image 'media/none.svg' does not exist"),
    Hostile("gif", "![a](media/x.gif)", "is not PNG, JPEG or SVG"),
    Hostile("percent", "![a](media/%2e%2e/x.svg)", "must be a plain relative path"),
    Hostile(
        "script",
        "![a](media/bad.svg)",
        "element <script> is not allowed",
        (("media/bad.svg", svg("<script>alert(1)</script>")),),
        at_svg(),
    ),
    Hostile(
        "onload",
        "![a](media/bad.svg)",
        "event handler 'onload' on <rect>",
        (("media/bad.svg", svg('<rect width="1" height="1" onload="alert(1)"/>')),),
        at_svg(),
    ),
    Hostile(
        "use-http",
        "![a](media/bad.svg)",
        "<use> refers to 'http://127.0.0.1:9/x.svg#a'",
        (("media/bad.svg", svg('<use href="http://127.0.0.1:9/x.svg#a"/>')),),
        at_svg(),
    ),
    Hostile(
        "xlink-file",
        "![a](media/bad.svg)",
        "<use> refers to 'file:///etc/passwd'",
        (("media/bad.svg", svg('<use xlink:href="file:///etc/passwd"/>')),),
        at_svg(),
    ),
    Hostile(
        "image-element",
        "![a](media/bad.svg)",
        "element <image> is not allowed",
        (("media/bad.svg", svg('<image href="file:///etc/passwd"/>')),),
        at_svg(),
    ),
    Hostile(
        "foreign-object",
        "![a](media/bad.svg)",
        "element <foreignObject> is not allowed",
        (("media/bad.svg", svg("<foreignObject><p>x</p></foreignObject>")),),
        at_svg(),
    ),
    Hostile(
        "link",
        "![a](media/bad.svg)",
        "element <a> is not allowed",
        (("media/bad.svg", svg('<a href="javascript:alert(1)"><rect/></a>')),),
        at_svg(),
    ),
    Hostile(
        "css-import",
        "![a](media/bad.svg)",
        "<style> uses @import",
        (("media/bad.svg", svg("<style>@import 'http://127.0.0.1:9/x.css';</style>")),),
        at_svg(),
    ),
    Hostile(
        "fill-url",
        "![a](media/bad.svg)",
        "refers to url(http://127.0.0.1:9/p)",
        (("media/bad.svg", svg('<rect fill="url(http://127.0.0.1:9/p)"/>')),),
        at_svg(),
    ),
    Hostile(
        "entity-bomb",
        "![a](media/bad.svg)",
        "SVG has a DOCTYPE or entity declaration",
        (
            (
                "media/bad.svg",
                svg(
                    "<text>&lol9;</text>",
                    head='<!DOCTYPE svg [\n<!ENTITY lol "lol">\n'
                    '<!ENTITY lol9 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n',
                ),
            ),
        ),
        ("media/bad.svg", "#1"),
    ),
    Hostile(
        "stylesheet-pi",
        "![a](media/bad.svg)",
        "processing instruction <?xml-stylesheet?>",
        (("media/bad.svg", '<?xml-stylesheet href="http://127.0.0.1:9/x.css"?>\n' + svg("")),),
        ("media/bad.svg", "#1"),
    ),
    Hostile(
        "not-xml",
        "![a](media/bad.svg)",
        "SVG is not well-formed XML",
        (("media/bad.svg", svg("<rect>")),),
        ("media/bad.svg", "#4"),
    ),
    Hostile(
        "huge-png",
        "![a](media/huge.png)",
        "image 'media/huge.png' is 50000x50000 pixels",
        (("media/huge.png", png(50_000, 50_000)),),
    ),
    Hostile(
        "html-as-jpeg",
        "![a](media/photo.jpg)",
        "is not a JPEG file (its bytes say otherwise)",
        (("media/photo.jpg", "<html><script>alert(1)</script></html>"),),
    ),
    Hostile(
        "broken-png", "![a](media/broken.png)", "is not a valid PNG", (("media/broken.png", real_png()[:40]),)
    ),
    Hostile(
        "too-large",
        "![a](media/big.svg)",
        "KiB; the limit is 2048 KiB",
        (("media/big.svg", svg("<!--" + "x" * (2 * 1024 * 1024) + "-->")),),
    ),
    Hostile("href-javascript", r"See $\href{javascript:alert(1)}{x}$.", r"command \href is not allowed"),
    Hostile("input-passwd", r"See $\input{/etc/passwd}$.", r"command \input is not allowed"),
    Hostile("define-macro", r"See $\def\x{y} \x$.", r"command \def is not allowed"),
    Hostile("unclosed-brace", r"See $\frac{a}{b$.", "unbalanced braces: 1 '{' never closed"),
    Hostile("stray-brace", r"See $a}}b$.", "unbalanced braces: '}' without a matching '{'"),
    Hostile("unknown-command", r"See $\foo x$.", r"unknown command \foo"),
    Hostile("no-operand", r"See $$\frac{a}$$.", "does not parse"),
]


def test_the_hostile_corpus_is_large_and_distinct():
    assert len(HOSTILE) >= 20
    assert len({case.name for case in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize("case", HOSTILE, ids=[case.name for case in HOSTILE])
def test_a_hostile_image_or_formula_is_refused_at_its_line_and_nothing_is_built(
    case: Hostile, tmp_path: Path, monkeypatch
):
    outside = tmp_path / "secret.png"
    outside.write_bytes(real_png())
    content = write_bank(
        tmp_path, [question(1, answer=case.answer), question(2, category="beta")], files=dict(case.files)
    )
    monkeypatch.chdir(tmp_path)
    file, needle = case.where
    line = int(needle[1:]) if needle.startswith("#") else line_of(content / file, needle)

    result = CliRunner().invoke(main, ["check", "--content", "content"])

    assert result.exit_code == 1
    errors = [text for text in result.stderr.splitlines() if ": error: " in text]
    assert any(
        text.startswith(f"content/{file}:{line}: error: ") and case.message in text for text in errors
    ), errors
    with pytest.raises(GeneratorError):
        build(BuildRequest(content=Path("content"), out=tmp_path / "out", epoch=EPOCH, jobs=1))
    assert not (tmp_path / "out").exists()


def test_a_symlink_out_of_the_bank_is_refused(tmp_path: Path, monkeypatch):
    secret = tmp_path / "secret.svg"
    secret.write_text(GOOD_SVG, encoding="utf-8")
    content = write_bank(tmp_path, [question(1, answer="![a](media/link.svg)"), question(2, category="beta")])
    (content / "media").mkdir()
    (content / "media" / "link.svg").symlink_to(secret)
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(main, ["check", "--content", "content"])

    assert result.exit_code == 1
    line = line_of(content / "questions" / "q1.yaml", "answer:")
    assert (
        f"content/questions/q1.yaml:{line}: error: question 'q1': image 'media/link.svg' is a link that "
        "leads out of the bank's media/ folder"
    ) in result.stderr


def test_math_in_a_block_answer_is_reported_at_its_own_line(tmp_path: Path, monkeypatch):
    content = write_bank(tmp_path, [question(1), question(2, category="beta")])
    path = content / "questions" / "q1.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "answer: Answer 1 with `code`.", "answer: |\n  First line.\n\n  Then $\\oops$ here.\n"
    )
    path.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(main, ["check", "--content", "content"])

    assert f"content/questions/q1.yaml:{line_of(path, 'Then')}: error: question 'q1': math $\\oops$: " in (
        result.stderr
    )


# --- What the outputs hold ---------------------------------------------------------------------------

ANSWER = "Ring cost $\\frac{2(N-1)}{N}M$ per GPU.\n\n![Ring of four GPUs](media/ring.svg)\n"
ITEMS = ["bubble $\\frac{p-1}{m+p-1}$ with }} in text", "![Flow](media/flow.png)"]


def media_bank(tmp_path: Path, colour=(200, 30, 30)) -> Path:
    groups = [{"title": "Points", "cloze": True, "items": ITEMS}, {"title": "Notes", "items": ["a note"]}]
    return write_bank(
        tmp_path,
        [question(1, answer=ANSWER, key_points=groups), question(2, category="beta")],
        files={"media/ring.svg": GOOD_SVG, "media/flow.png": real_png(colour)},
    )


def package_media(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        index = json.loads(archive.read("media"))
        return {name: archive.read(number) for number, name in index.items()}


def test_the_deck_ships_each_picture_once_under_a_sorted_content_hashed_name(tmp_path: Path):
    content = media_bank(tmp_path)
    out = tmp_path / "out"
    build(BuildRequest(content=content, out=out, epoch=EPOCH, jobs=1))
    data = (out / "test.apkg").read_bytes()

    files = package_media(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        index = json.loads(archive.read("media"))
    assert [index[str(i)] for i in range(len(index))] == sorted(files)
    assert files[next(n for n in files if n.startswith("ring-"))] == GOOD_SVG.encode()
    assert [n for n in files if n.startswith("flow-") and n.endswith(".png")]
    assert len([n for n in files if n.startswith("math-")]) == 2
    assert all("/" not in name for name in files)

    again = tmp_path / "again"
    build(BuildRequest(content=content, out=again, epoch=EPOCH, jobs=1))
    assert (again / "test.apkg").read_bytes() == data


def test_a_changed_image_gets_a_new_name(tmp_path: Path):
    first = package_media(_deck(media_bank(tmp_path / "a")))
    second = package_media(_deck(media_bank(tmp_path / "b", colour=(30, 200, 30))))
    flow = {n for n in first if n.startswith("flow-")}
    assert flow and flow.isdisjoint(second)
    assert {n for n in first if not n.startswith("flow-")} == {n for n in second if not n.startswith("flow-")}


def _deck(content: Path) -> bytes:
    out = content.parent / "out"
    build(BuildRequest(content=content, out=out, epoch=EPOCH, jobs=1))
    return (out / "test.apkg").read_bytes()


def test_the_cheat_sheet_draws_the_bank_png_scaled_to_its_column(tmp_path: Path):
    content = media_bank(tmp_path)
    out = tmp_path / "out"
    build(BuildRequest(content=content, out=out, epoch=EPOCH, jobs=1))

    page = PdfReader(out / "test-cheatsheet.pdf").pages[0]
    images = list(page.images)
    assert len(images) == 1
    assert images[0].image.size == (64, 32)


def test_math_is_an_svg_picture_whose_alt_is_the_latex_and_dollar_escapes():
    html = str(markup.markdown(r"Costs \$5 and \$10; $x^{2}$ and $$\sum_i x_i$$"))

    assert "Costs $5 and $10;" in html
    alts = re.findall(r'<img class="prepdeck-math" src="media/math-[0-9a-f]{16}\.svg" alt="([^"]*)"', html)
    assert alts == ["x^{2}", r"\sum_i x_i"]
    assert '<span class="math-display"' in html


def test_prices_with_dollars_stay_text():
    assert "<img" not in str(markup.markdown("It cost $5 and then $10."))


def test_the_site_pages_find_every_picture_their_cards_show(tmp_path: Path):
    content = media_bank(tmp_path)
    out = tmp_path / "out"
    build(BuildRequest(content=content, out=out, epoch=EPOCH, jobs=1))
    site = out / "test-site"

    page = (site / "q" / "q1.html").read_text(encoding="utf-8")
    sources = set(re.findall(r'<img class="prepdeck-(?:image|math)"[^>]* src="([^"]+)"', page))
    assert len(sources) == 4
    assert all((site / "q" / name).is_file() for name in sources)
    # The index and the quiz show no card: the pictures are not copied beside them.
    assert not any((site / name).exists() for name in sources)


def wide_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 100), (30, 30, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def drawn(pdf: Path, page: int) -> tuple[list[tuple[float, float]], int]:
    """Return the (width, height) in mm of each raster image on a page, and how many paths it draws."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        images, paths = [], 0
        for obj in document[page].get_objects(max_depth=8):
            if obj.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE:
                left, bottom, right, top = obj.get_bounds()
                images.append(((right - left) / MM_PT, (top - bottom) / MM_PT))
            elif obj.type == pypdfium2.raw.FPDF_PAGEOBJ_PATH:
                paths += 1
        return images, paths
    finally:
        document.close()


MM_PT = 72 / 25.4


@pytest.mark.slow
def test_an_answers_image_and_displayed_formula_reach_both_pdfs_at_the_column_and_card_width(tmp_path: Path):
    from generator.model import CardSize, Paper
    from generator.render import cheatsheet, flashcards

    def built(answer: str) -> Path:
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        content = write_bank(folder, [question(1, answer=answer)], files={"media/wide.png": wide_png()})
        build(BuildRequest(content=content, out=folder / "out", epoch=EPOCH, jobs=1))
        return folder / "out"

    prose = "The schedule:\n\n![A wide schedule](media/wide.png)\n\nidles for"
    shown = built(f"{prose} $$\\frac{{p-1}}{{m+p-1}}$$ of the time.")
    plain = built(f"{prose} a share of the time.")  # the same, without the formula

    (sheet_image,), sheet_paths = drawn(shown / "test-cheatsheet.pdf", 0)
    column = cheatsheet._column_text_mm(Paper.A4)
    assert sheet_image[0] == pytest.approx(column, abs=0.2)  # scaled to the column's width
    assert sheet_image[1] == pytest.approx(column / 4, abs=0.2)  # keeping its shape
    (back_image,), back_paths = drawn(shown / "test-flashcards.pdf", 1)
    card = flashcards.CARD_FORMATS[CardSize.STANDARD]
    room = card.height - 2 * flashcards.PADDING_MM - flashcards._CHROME_MM["back"]
    assert back_image[0] <= card.width - 2 * flashcards.PADDING_MM + 0.1  # within the card
    assert back_image[1] == pytest.approx(flashcards.FIGURE_SHARE * room, abs=0.2)
    assert back_image[0] == pytest.approx(4 * back_image[1], abs=0.2)
    # The formula's glyphs are drawn as paths on the sheet and on the card's back.
    assert sheet_paths > drawn(plain / "test-cheatsheet.pdf", 0)[1]
    assert back_paths > drawn(plain / "test-flashcards.pdf", 1)[1]


def test_a_formulas_tag_names_its_picture_and_holds_no_copy_of_it(tmp_path: Path):
    from generator.render import media

    files: dict[str, bytes] = {}
    html = media.flatten(tmp_path, str(markup.markdown(r"Cost $\frac{2(N-1)}{N}\,M$ per step")), files)

    tag = re.search(r"<img [^>]*>", html).group()
    (name,) = files
    assert f'src="{name}"' in tag and "data:" not in tag
    # The card's stylesheet lifts the picture's shadow by its own height: the two must agree.
    height = re.search(r"height:([\d.]+)em;--math-height:([\d.]+)em", tag)
    assert height is not None and height.group(1) == height.group(2)
    assert len(tag) < 400  # each card showing it carries the tag, never the picture
