"""PDF safety and reproducibility: nothing is fetched from outside, and equal input gives equal bytes.

A local HTTP server on 127.0.0.1 records every request it gets; hostile
templates and hostile content point at it (and at files outside the allowed
directories), and the tests assert it was never asked for anything.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import shutil
import subprocess
import sys
import threading
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
import weasyprint
from factories import CONTENT, ROOT, TEMPLATES, make_bank, make_question
from pdf_support import (
    document_runs,
    page_text,
    reader,
    shipped_bank,
    squash,
)

from generator.model import Category
from generator.render import RenderOptions, pdf
from generator.render.cheatsheet import cheatsheet_html, render_cheatsheet
from generator.render.flashcards import render_flashcards
from generator.render.pdf import RefusedURL, SafeURLFetcher, css_string

EPOCH = 1_700_000_000
# A 1x1 PNG, served by the test server and written to files outside the allowed directories.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
RENDERERS = [render_cheatsheet, render_flashcards]


@pytest.fixture
def server():
    """Serve a PNG for every GET on 127.0.0.1 and record each request path."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{httpd.server_address[1]}", requests=requests)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """Return a directory outside the templates and content, holding an image and a stylesheet."""
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "secret.png").write_bytes(PNG)
    (directory / "secret.css").write_text("body { color: red; }")
    return directory


def options(templates: Path = TEMPLATES, **changes) -> RenderOptions:
    return RenderOptions(templates=templates, epoch=EPOCH, **changes)


def images(data: bytes) -> int:
    """Return how many image XObjects the PDF holds."""
    count = 0
    for page in reader(data).pages:
        xobjects = page["/Resources"].get("/XObject", {})
        for ref in xobjects.get_object().values():
            if ref.get_object().get("/Subtype") == "/Image":
                count += 1
    return count


def test_the_server_records_requests(server):
    """The control: a real fetch is recorded, so an empty record means nothing was fetched."""
    with urllib.request.urlopen(f"{server.url}/control.png", timeout=5) as response:
        assert response.read() == PNG
    assert server.requests == ["/control.png"]


# -- the fetcher --------------------------------------------------------------------------------


def test_fetcher_reads_files_under_the_allowed_roots_and_data_urls():
    fetcher = SafeURLFetcher((TEMPLATES, CONTENT))
    css = TEMPLATES / "css" / "cheatsheet.css"
    response = fetcher.fetch(css.as_uri())
    assert response.read() == css.read_bytes()
    assert response.content_type == "text/css"
    example = next((CONTENT / "examples").glob("*.py"))
    assert fetcher.fetch(example.as_uri()).read() == example.read_bytes()
    data = fetcher.fetch("data:text/plain;base64," + base64.b64encode(b"hello").decode())
    assert data.read() == b"hello"


def test_fetcher_refuses_every_other_url_without_opening_it(server, outside, tmp_path, caplog):
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / "css" / "escape.png").symlink_to(outside / "secret.png")
    fetcher = SafeURLFetcher((templates, CONTENT))
    refused = [
        f"{server.url}/img.png",
        f"{server.url.replace('http', 'https')}/img.png",
        (outside / "secret.png").as_uri(),
        "file:///etc/passwd",
        (templates / "css" / "escape.png").as_uri(),  # a symlink whose target is outside
        templates.as_uri() + "/../outside/secret.png",  # a path that climbs out
        (templates / "css" / "missing.css").as_uri(),
        "file://example.com" + (templates / "css" / "cheatsheet.css").as_posix(),
        "ftp://127.0.0.1/file.txt",
        "javascript:alert(1)",
    ]
    with caplog.at_level(logging.WARNING, logger="generator.render.pdf"):
        for url in refused:
            with pytest.raises(RefusedURL):
                fetcher.fetch(url)
    assert server.requests == []
    assert sum("refused to fetch" in r.getMessage() for r in caplog.records) == len(refused)


# -- hostile templates --------------------------------------------------------------------------


def hostile_templates(tmp_path: Path, server, outside: Path) -> Path:
    """Return a copy of the templates whose HTML references remote and outside resources every way."""
    templates = tmp_path / "hostile-templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / "css" / "link.png").symlink_to(outside / "secret.png")
    head = f"""
<link rel="stylesheet" href="{server.url}/remote.css">
<link rel="stylesheet" href="{(outside / "secret.css").as_uri()}">
<style>
@import url("{server.url}/import.css");
@font-face {{ font-family: Remote; src: url("{server.url}/font.ttf"); }}
body {{ background-image: url("{server.url}/background.png"); }}
.band {{ background-image: url("{(outside / "secret.png").as_uri()}"); }}
</style>
<base href="{server.url}/base/">
"""
    body = f"""
<img src="{server.url}/img.png" alt="">
<img src="{(outside / "secret.png").as_uri()}" alt="">
<img src="css/link.png" alt="">
<img src="relative-through-base.png" alt="">
<object data="{server.url}/object.svg"></object>
<svg><image href="{server.url}/svg-image.png" width="10" height="10"/></svg>
"""
    for name in ("cheatsheet.html.j2", "flashcards.html.j2"):
        path = templates / name
        text = path.read_text()
        text = text.replace("<head>", "<head>" + head, 1).replace("<body>", "<body>" + body, 1)
        path.write_text(text)
    return templates


@pytest.mark.slow
def test_hostile_templates_do_fetch_without_the_safe_fetcher(server, outside, tmp_path):
    """The control: WeasyPrint's own fetcher, given the same HTML, asks the server for all of it."""
    templates = hostile_templates(tmp_path, server, outside)
    html = cheatsheet_html(make_bank(), options(templates))
    weasyprint.HTML(string=html, base_url=templates.as_uri() + "/").write_pdf()
    assert {"/remote.css", "/img.png", "/background.png", "/base/relative-through-base.png"} <= set(
        server.requests
    )


@pytest.mark.slow
@pytest.mark.parametrize("render", RENDERERS)
def test_hostile_templates_fetch_nothing(render, server, outside, tmp_path, caplog):
    templates = hostile_templates(tmp_path, server, outside)
    with caplog.at_level(logging.WARNING, logger="generator.render.pdf"):
        rendered = render(make_bank(), "deck", options(templates))
    assert server.requests == []
    assert images(rendered.artifacts[0].data) == 0
    refusals = [r.getMessage() for r in caplog.records if "refused to fetch" in r.getMessage()]
    assert any("127.0.0.1" in m for m in refusals)
    assert any("secret.png" in m for m in refusals)
    assert any("/base/" in m for m in refusals)  # relative URLs resolved through <base> are refused too


# -- hostile content ----------------------------------------------------------------------------


def hostile_bank(url: str):
    img = f'<img src="{url}/inline.png">'
    question = make_question(
        1,
        question=f"Is {img} shown? ![pic]({url}/markdown.png)",
        summary=f"[a link]({url}/link) and <link rel=stylesheet href='{url}/x.css'>",
        answer=f"<iframe src='{url}/frame'></iframe>",
    )
    hostile_title = f'Bank"; }} </style><link rel="stylesheet" href="{url}/title.css"><style>'
    categories = (
        Category("alpha", f"Alpha {img}", f"red; background-image: url({url}/colour.png)", "Hostile."),
        Category("beta", "Beta", "#b5521b", "Fine."),
    )
    return make_bank(
        [question, make_question(2, category="beta")], title=hostile_title, categories=categories
    )


@pytest.mark.slow
@pytest.mark.parametrize("render", RENDERERS)
def test_hostile_content_is_printed_as_text_and_fetches_nothing(render, server):
    bank = hostile_bank(server.url)
    rendered = render(bank, "deck", options())
    data = rendered.artifacts[0].data
    assert server.requests == []
    assert images(data) == 0
    text = squash(" ".join(page_text(page) for page in document_runs(data)))
    assert squash(f'<img src="{server.url}/inline.png">') in text
    if render is render_cheatsheet:
        assert squash(bank.title) in text  # the title reaches the running header intact, as text


def test_css_string_cannot_end_the_string_or_the_style_element():
    value = str(css_string('a"b\\c</style><x>\n·'))
    assert value.startswith('"') and value.endswith('"')
    inner = value[1:-1]
    assert '"' not in inner and "<" not in inner and ">" not in inner and "\n" not in inner
    assert inner.startswith("a\\000022 b")


# -- reproducibility ----------------------------------------------------------------------------

_RENDER_SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
if {fonttools!r}:
    import weasyprint.pdf.fonts
    weasyprint.pdf.fonts.harfbuzz_subset = None
from pdf_support import shipped_bank
from generator.render import RenderOptions
from generator.render.cheatsheet import render_cheatsheet
from generator.render.flashcards import render_flashcards
options = RenderOptions(templates=Path({templates!r}), epoch={epoch})
out = Path(sys.argv[1])
for render in (render_cheatsheet, render_flashcards):
    for artifact in render(shipped_bank(), "deck", options).artifacts:
        (out / artifact.name).write_bytes(artifact.data)
"""

HAS_HARFBUZZ_SUBSET = pdf.subsetting_hint() is None


@pytest.fixture(params=["harfbuzz-subset", "fonttools"])
def subsetter(request, monkeypatch) -> str:
    """Subset fonts as a machine with HarfBuzz-Subset does, or as one without it (forced)."""
    if request.param == "fonttools":
        import weasyprint.pdf.fonts

        monkeypatch.setattr(weasyprint.pdf.fonts, "harfbuzz_subset", None)
    elif not HAS_HARFBUZZ_SUBSET:
        pytest.skip("libharfbuzz-subset0 is not installed here; the fonttools case covers this machine")
    return request.param


def embedded_fonts(data: bytes) -> list:
    """Return the fonts embedded in a PDF, read with fontTools."""
    import io

    from fontTools.ttLib import TTFont

    fonts = []
    for page in reader(data).pages:
        for font in page["/Resources"]["/Font"].values():
            descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            fonts.append(TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data())))
    return fonts


@pytest.mark.slow
def test_renders_are_byte_identical_across_calls_and_processes(subsetter, tmp_path):
    """Same input, same bytes: in this process twice, and in a fresh interpreter (new hash seed)."""
    bank = shipped_bank()
    first = {a.name: a.data for r in RENDERERS for a in r(bank, "deck", options()).artifacts}
    second = {a.name: a.data for r in RENDERERS for a in r(bank, "deck", options()).artifacts}
    assert first == second
    script = _RENDER_SCRIPT.format(
        tests=str(ROOT / "tests"), templates=str(TEMPLATES), epoch=EPOCH, fonttools=subsetter == "fonttools"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, cwd=ROOT, timeout=300)
    for name, data in first.items():
        assert (tmp_path / name).read_bytes() == data, name


@pytest.mark.parametrize("render", RENDERERS)
def test_embedded_fonts_record_no_clock(subsetter, render):
    """fontTools would stamp each subset font with the time of the render; it gets the epoch instead."""
    from fontTools.misc.timeTools import timestampSinceEpoch
    from fontTools.ttLib import TTFont

    fonts = embedded_fonts(render(make_bank(), "deck", options()).artifacts[0].data)

    assert len(fonts) >= 2  # prepdeck's own sans and mono, at least
    stamps = {font["head"].modified for font in fonts}
    if subsetter == "fonttools":
        assert stamps == {timestampSinceEpoch(EPOCH)}
    else:  # HarfBuzz keeps each font's own date, from the font file
        shipped = {TTFont(path)["head"].modified for path in (TEMPLATES / "css" / "fonts").glob("*.ttf")}
        assert stamps <= shipped


def test_a_build_hints_at_harfbuzz_subset_exactly_when_it_is_missing(subsetter):
    hint = pdf.subsetting_hint()
    if subsetter == "fonttools":
        assert hint is not None and "libharfbuzz-subset0" in hint
    else:
        assert hint is None


@pytest.mark.parametrize("render", RENDERERS)
def test_metadata_dates_and_id_come_from_the_content_and_epoch(render):
    data = render(make_bank(), "deck", options()).artifacts[0].data
    pdf_reader = reader(data)
    expected = datetime.fromtimestamp(EPOCH, tz=timezone.utc)
    assert pdf_reader.metadata.creation_date == expected
    assert pdf_reader.metadata.modification_date == expected
    file_id = pdf_reader.trailer["/ID"]
    later = (
        render(make_bank(), "deck", dataclasses.replace(options(), epoch=EPOCH + 86_400)).artifacts[0].data
    )
    assert later != data
    assert reader(later).metadata.creation_date == datetime.fromtimestamp(EPOCH + 86_400, tz=timezone.utc)
    assert reader(later).trailer["/ID"] != file_id


def test_dates_are_utc_calendar_dates():
    assert pdf.w3c_date(EPOCH) == "2023-11-14T22:13:20Z"
    assert pdf.build_date(EPOCH) == "2023-11-14"
    assert pdf.build_date(0) == "1970-01-01"


def test_shipped_bank_is_the_one_in_content():
    assert shipped_bank().root.resolve() == CONTENT.resolve()
