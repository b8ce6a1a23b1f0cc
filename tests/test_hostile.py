"""Hostile content: every payload is shown as text, in the deck and in the PDFs, and never acts.

One bank holds every case as its own question, with the payload in each text
field (question, summary, answer, key points, follow-ups, pitfalls), and is
built once through the real pipeline (PDFs in worker processes). Each case
then checks:

* the deck: every field of its notes, read from the package's SQLite, and
  every card as the real Anki library renders it (``card.question()`` and
  ``card.answer()``) holds only harmless HTML (allow-listed tags, no event
  handlers, no ``src``, links only to http(s)/mailto, no CSS but the note
  type's), shows the payload as literal text, plays no media, and keeps its
  note type's field count and card count;
* both PDFs: the payload is printed literally; nothing is fetched (a local
  HTTP server records every request); no JavaScript, launch action, embedded
  file or image, and nothing from the secret file beside the content.

Markup the validator refuses (Markdown images, CSS in a colour, slugs that
would leave the output directory, Python tags) is checked separately, each
with its exact ``path:line`` message.
"""

from __future__ import annotations

import html
import io
import json
import re
import threading
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pdf_support
import pypdf
import pytest
from anki_support import import_package, open_collection, package_database
from bank_support import EPOCH, dump, header, line_of, question, write_bank
from click.testing import CliRunner

from generator.build import BuildRequest, build, check
from generator.cli import main
from generator.errors import GeneratorError
from generator.render.anki import CLOZE_FIELDS, QUESTION_FIELDS

SECRET = "SECRET-7d1f-do-not-embed"


@dataclass(frozen=True, slots=True)
class Hostile:
    """A payload (``{url}`` is this case's address on the local server, ``{secret}`` the secret file).

    ``shown`` is the text a learner must see instead (default: the payload);
    ``printed`` the same for the PDFs (default: ``shown``).
    """

    name: str
    payload: str
    shown: str | None = None
    printed: str | None = None


CASES = [
    Hostile("script", "<script>alert(1)</script>"),
    Hostile("script-split", "<scr<script>ipt>alert(1)</script>"),
    Hostile("img-onerror", "<img src=x onerror=alert(1)>"),
    Hostile("svg-onload", "<svg onload=alert(1)></svg>"),
    Hostile("event-attribute", '<p onclick="alert(1)" onmouseover=alert(2)>hover</p>'),
    Hostile("base-href", '<base href="{url}/">'),
    Hostile("iframe", '<iframe src="{url}/frame"></iframe>'),
    Hostile("object-embed", '<object data="{url}/object"></object><embed src="{url}/embed">'),
    Hostile("meta-refresh", '<meta http-equiv="refresh" content="0;url={url}/refresh">'),
    Hostile("link-stylesheet", '<link rel="stylesheet" href="{url}/style.css">'),
    Hostile("raw-img-http", '<img src="{url}/pixel.png">'),
    Hostile("raw-img-file", '<img src="{secret}">'),
    Hostile("style-element", "<style>body { display: none; background: url({url}/css-bg) }</style>"),
    Hostile("style-attribute", '<span style="background-image: url({url}/inline-bg)">styled</span>'),
    Hostile("css-import", "<style>@import url({url}/import.css);</style>"),
    Hostile("javascript-link", "[x](javascript:alert(1))"),
    Hostile("javascript-link-uppercase", "[x](JaVaScRiPt:alert(1))"),
    Hostile("javascript-link-entity", "[x](&#106;avascript:alert(1))", shown="[x](javascript:alert(1))"),
    Hostile("javascript-reference-link", "[x][evil] and [evil]: javascript:alert(1)"),
    Hostile("javascript-autolink", "<javascript:alert(1)>"),
    Hostile("vbscript-link", "[x](vbscript:msgbox(1))"),
    Hostile("data-link", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"),
    Hostile("file-link", "[x]({secret})"),
    Hostile("raw-anchor-javascript", '<a href="javascript:alert(1)">click</a>'),
    Hostile("http-link-kept", "[docs]({url}/docs)", shown="docs", printed="docs"),
    Hostile("html-comment", "<!-- hidden --> visible <![CDATA[ x ]]>"),
    Hostile("anki-field-reference", "{{Question}} and {{FrontSide}} and {{text:Answer}}"),
    Hostile("anki-section", "{{#Answer}}shown{{/Answer}} {{^Answer}}hidden{{/Answer}}"),
    Hostile("anki-cloze", "{{c1::secret}} and {{c2::more::hint}}"),
    Hostile("anki-hint-separator", "a::b:: c ::"),
    Hostile("anki-braces", "}} {{ }}} {{{"),
    Hostile("anki-sound", "[sound:x.mp3] [sound:{url}/remote.mp3]"),
    Hostile("anki-field-separator", "one\x1ftwo", shown="one\ufffdtwo", printed="onetwo"),
]


def expand(text: str, url: str, secret: str) -> str:
    return text.replace("{url}", url).replace("{secret}", secret)


CODE_PAYLOAD = "</pre></div><script>alert(1)</script>{{Question}} <img src={url}/code.png>"
CATEGORY_TITLE = "<b onmouseover=alert(1)>Evil</b> {{Question}} a::b"
BANK_TITLE = "Bank <script>alert(1)</script> {{Question}}"


class Recorder(BaseHTTPRequestHandler):
    """Record every request; answer with a tiny valid response so a fetch would succeed."""

    requests: list[str]

    def do_GET(self):
        self.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"fetched")

    do_POST = do_HEAD = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    """Serve on 127.0.0.1 in a thread; yield (base URL, the list of request paths)."""
    handler = type("Handler", (Recorder,), {"requests": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        # A control: a real fetch is recorded, so an empty record means nothing was fetched.
        with urllib.request.urlopen(f"{url}/control", timeout=10) as response:
            assert response.read() == b"fetched"
        assert handler.requests == ["/control"]
        handler.requests.clear()
        yield url, handler.requests
    finally:
        httpd.shutdown()
        httpd.server_close()


@dataclass
class Built:
    """The hostile bank's outputs, read back once."""

    url: str
    secret_uri: str
    requests: list[str]
    fields: dict[str, list[tuple[str, list[str]]]]  # question id -> [(note type, fields)]
    cards: dict[str, list[dict]]  # question id -> [{"question", "answer", "av"}]
    decks: list[str]
    deck_descriptions: list[str]
    pdfs: dict[str, bytes]
    texts: dict[str, str]  # PDF name -> text without whitespace
    apkg: bytes
    warnings: list[str]


def case_question(number: int, case_id: str, payload: str, **changes) -> dict:
    cloze_title = f"Group {payload}"
    data = question(
        number,
        id=case_id,
        question=f"Q {payload}",
        summary=f"S {payload}",
        answer=f"A {payload}",
        key_points=[
            {"title": cloze_title, "key": "cloze", "cloze": True, "items": [f"I {payload}", "plain"]},
            {"title": "Notes", "items": [f"N {payload}"]},
        ],
        follow_ups=[f"F {payload}"],
        pitfalls=[f"P {payload}"],
    )
    data.update(changes)
    return data


@pytest.fixture(scope="module")
def built(server, tmp_path_factory) -> Built:
    url, requests = server
    root = tmp_path_factory.mktemp("hostile")
    secret = root / "secret.txt"
    secret.write_text(SECRET)
    secret_uri = secret.as_uri()
    questions = [
        case_question(n, f"h-{case.name}", expand(case.payload, f"{url}/{case.name}", secret_uri))
        for n, case in enumerate(CASES, start=1)
    ]
    n = len(CASES)
    code = expand(CODE_PAYLOAD, f"{url}/code", secret_uri)
    questions.append(
        case_question(
            n + 1,
            "h-code",
            code,
            examples=[
                {
                    "file": "examples/evil.py",
                    "region": "evil",
                    "title": code,
                    "language": 'python" onmouseover="alert(1)',
                }
            ],
        )
    )
    questions.append(case_question(n + 2, "h-category", "in a hostile category", category="evil"))
    bank = header(
        title=BANK_TITLE,
        description=f"Description <iframe src='{url}/bank-description'></iframe> {{{{Question}}}}",
        categories=[
            *header()["categories"],
            {
                "slug": "evil",
                "title": CATEGORY_TITLE,
                "colour": "#123456",
                "description": f"<script src='{url}/category-description'></script>",
            },
        ],
    )
    evil_file = "# region evil\n" + f"X = '''{code}'''\n" + "# endregion\n"
    content = write_bank(root, questions, bank=bank, files={"examples/evil.py": evil_file})
    # The Source field shows this file's path.
    (content / "questions" / "{{Question}}<b onmouseover=alert(1)>name.yaml").write_text(
        dump(case_question(n + 3, "h-file-name", "from a hostile file name")), encoding="utf-8"
    )

    out = root / "out"
    report = build(BuildRequest(content=content, out=out, epoch=EPOCH, jobs=2))

    apkg = (out / "test.apkg").read_bytes()
    conn = package_database(apkg)
    models = {
        int(mid): model["name"]
        for mid, model in json.loads(conn.execute("SELECT models FROM col").fetchone()[0]).items()
    }
    fields: dict[str, list] = {}
    for mid, flds in conn.execute("SELECT mid, flds FROM notes"):
        values = flds.split("\x1f")
        kind = "cloze" if models[mid].endswith("(cloze)") else "question"
        fields.setdefault(html.unescape(values[1]), []).append((kind, values))
    conn.close()

    cards: dict[str, list[dict]] = {}
    with open_collection(root / "collection.anki2") as col:
        import_package(col, out / "test.apkg")
        for nid in col.find_notes(""):
            note = col.get_note(nid)
            for card in note.cards():
                cards.setdefault(html.unescape(note["Id"]), []).append(
                    {
                        "kind": "cloze" if note.note_type()["name"].endswith("(cloze)") else "question",
                        "question": card.question(),
                        "answer": card.answer(),
                        "av": [*card.question_av_tags(), *card.answer_av_tags()],
                    }
                )
        decks = sorted(d.name for d in col.decks.all_names_and_ids())
        descriptions = [col.decks.get(d.id)["desc"] for d in col.decks.all_names_and_ids()]

    pdfs = {p.name: p.read_bytes() for p in out.glob("*.pdf")}
    texts = {name: re.sub(r"\s+", "", pdf_text(data)) for name, data in pdfs.items()}
    return Built(
        url,
        secret_uri,
        requests,
        fields,
        cards,
        decks,
        descriptions,
        pdfs,
        texts,
        apkg,
        [str(w) for w in report.warnings],
    )


# --- What harmless HTML is --------------------------------------------------------------------

#: Tags the templates and Markdown produce; everything else in a card is a failure.
ALLOWED_TAGS = {
    "div", "span", "header", "footer", "section", "p", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "br", "figure", "figcaption", "pre", "code", "strong", "em", "a", "blockquote", "style",
    "details", "summary",
}  # fmt: skip
#: The only style attributes any template writes: a category's colour, a code line's indentation.
TEMPLATE_STYLE = re.compile(r"--category-colour: #[0-9a-f]{6}|--indent: \d+ch")


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if not self._in_style:
            self.text.append(data)


def parse(markup: str) -> _Elements:
    parser = _Elements()
    parser.feed(markup)
    parser.close()
    return parser


def assert_harmless(markup: str, styles: int = 0) -> None:
    """Fail unless ``markup`` is allow-listed tags with harmless attributes and ``styles`` <style>s."""
    elements = parse(markup).elements
    tags = [tag for tag, _ in elements]
    assert set(tags) <= ALLOWED_TAGS, set(tags) - ALLOWED_TAGS
    assert tags.count("style") == styles
    for tag, attrs in elements:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, value)
            assert name not in {"src", "srcset", "data", "action", "formaction", "background", "poster"}
            if name == "href":
                assert tag == "a" and re.match(r"(https?|mailto):", value or ""), (tag, value)
            if name == "style":
                assert TEMPLATE_STYLE.fullmatch(value or ""), value


@pytest.mark.parametrize(
    "markup",
    [
        "<script>alert(1)</script>",
        "<img src=x>",
        '<p onclick="x()">',
        '<a href="javascript:x()">a</a>',
        '<span style="background: url(http://x/)">',
        "<style>p {}</style>",
        "<iframe></iframe>",
        '<a href="file:///etc/passwd">a</a>',
        "<base href=http://x/>",
    ],
)
def test_the_harmless_html_check_rejects_what_it_must(markup: str):
    with pytest.raises(AssertionError):
        assert_harmless(markup)


def visible(markup: str) -> str:
    """Return the text a reader sees (entities decoded, CSS left out)."""
    return "".join(parse(markup).text)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --- The cases ------------------------------------------------------------------------------------


def check_deck(built: Built, case_id: str, shown: str) -> None:
    notes = built.fields[case_id]
    assert sorted(kind for kind, _ in notes) == ["cloze", "question"]
    for kind, values in notes:
        assert len(values) == len(CLOZE_FIELDS if kind == "cloze" else QUESTION_FIELDS)
        for value in values:
            assert_harmless(value)
    cards = built.cards[case_id]
    assert sorted(card["kind"] for card in cards) == ["cloze", "cloze", "question"]
    for card in cards:
        for side in ("question", "answer"):
            assert_harmless(card[side], styles=1)  # the note type's own CSS
        assert card["av"] == []
        assert shown in visible(card["answer"])


def reader(data: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(data))


def pdf_text(data: bytes) -> str:
    """Return the text of every page, glyph by glyph through the fonts' Unicode maps."""
    return " ".join(pdf_support.page_text(runs) for runs in pdf_support.document_runs(data))


def check_pdfs(built: Built, printed: str, casefold: bool = False) -> None:
    for name in ("test-cheatsheet.pdf", "test-flashcards.pdf"):
        text = built.texts[name].casefold() if casefold else built.texts[name]
        assert squeeze(printed.casefold() if casefold else printed) in text, name


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_text_is_inert_in_the_deck_and_literal_in_the_pdfs(case: Hostile, built: Built):
    def filled(text: str) -> str:
        return expand(text, f"{built.url}/{case.name}", built.secret_uri)

    shown = filled(case.shown if case.shown is not None else case.payload)
    check_deck(built, f"h-{case.name}", shown)
    check_pdfs(built, f"Q {filled(case.printed) if case.printed is not None else shown}")
    assert [r for r in built.requests if r.startswith(f"/{case.name}")] == []


@pytest.mark.slow
def test_hostile_code_and_example_title_are_inert(built: Built):
    code = expand(CODE_PAYLOAD, f"{built.url}/code", "")
    check_deck(built, "h-code", code)
    (question_note,) = [values for kind, values in built.fields["h-code"] if kind == "question"]
    code_field = question_note[QUESTION_FIELDS.index("Code")]
    assert code in visible(code_field)  # the code as written, and its title
    assert visible(code_field).count("alert(1)") >= 2
    check_pdfs(built, f"Q {code}")


@pytest.mark.slow
def test_hostile_category_title_stays_one_deck_level_and_prints_literally(built: Built):
    check_deck(built, "h-category", "in a hostile category")
    flat = CATEGORY_TITLE.replace("::", ":")
    assert f"{BANK_TITLE}::{flat}" in built.decks
    assert all(name.count("::") <= 1 for name in built.decks)
    assert any("contains '::'" in warning for warning in built.warnings)
    for kind, values in built.fields["h-category"]:
        fields = CLOZE_FIELDS if kind == "cloze" else QUESTION_FIELDS
        assert visible(values[fields.index("Category")]) == CATEGORY_TITLE
    check_pdfs(built, CATEGORY_TITLE, casefold=True)  # category bands are set in capitals


@pytest.mark.slow
def test_hostile_bank_title_and_descriptions_are_inert(built: Built):
    assert BANK_TITLE in built.decks
    for description in built.deck_descriptions:
        assert_harmless(description)
    assert any("{{Question}}" in visible(d) and "<iframe" in visible(d) for d in built.deck_descriptions)
    for name in ("test-cheatsheet.pdf", "test-flashcards.pdf"):
        # The cheat sheet prints the title in its page header; both carry it as the PDF's title.
        assert reader(built.pdfs[name]).metadata.title.startswith(BANK_TITLE)
    assert squeeze(BANK_TITLE) in built.texts["test-cheatsheet.pdf"]


@pytest.mark.slow
def test_hostile_file_name_is_shown_as_text(built: Built):
    check_deck(built, "h-file-name", "from a hostile file name")
    (question_note,) = [values for kind, values in built.fields["h-file-name"] if kind == "question"]
    source = visible(question_note[QUESTION_FIELDS.index("Source")])
    assert source.endswith("{{Question}}<b onmouseover=alert(1)>name.yaml")


@pytest.mark.slow
def test_http_links_stay_links_and_nothing_at_all_was_fetched(built: Built):
    (question_note,) = [v for kind, v in built.fields["h-http-link-kept"] if kind == "question"]
    assert f'href="{built.url}/http-link-kept/docs"' in question_note[QUESTION_FIELDS.index("Answer")]
    assert built.requests == []


@pytest.mark.slow
def test_no_pdf_carries_script_actions_attachments_images_or_outside_files(built: Built):
    for name, data in built.pdfs.items():
        document = reader(data)
        assert document.attachments == {}, name
        for marker in (b"/JavaScript", b"/JS ", b"/JS(", b"/Launch", b"/EmbeddedFile", b"/SubmitForm"):
            assert marker not in data, (name, marker)
        uris = []
        for page in document.pages:
            resources = page["/Resources"].get_object()
            for xobject in (resources.get("/XObject") or {}).values():
                assert xobject.get_object().get("/Subtype") != "/Image", name
            for annotation in page.get("/Annots") or []:
                action = annotation.get_object().get("/A")
                if action is not None and "/URI" in action.get_object():
                    uris.append(str(action.get_object()["/URI"]))
        assert all(re.match(r"(https?|mailto):", uri) for uri in uris), uris
        streams = b"".join(_decoded_streams(document))
        assert SECRET.encode() not in streams and SECRET.encode() not in data, name
    assert SECRET.encode() not in built.apkg


def _decoded_streams(document: pypdf.PdfReader):
    """Yield the decoded data of every stream object in the file (fonts, content, metadata)."""
    for number in range(1, int(document.trailer["/Size"])):
        try:
            obj = document.get_object(number)
        except (KeyError, ValueError, pypdf.errors.PdfReadError):  # a free object number
            continue
        if isinstance(obj, pypdf.generic.StreamObject):
            try:
                yield obj.get_data()
            except (NotImplementedError, ValueError, pypdf.errors.PdfReadError):  # a filter pypdf lacks
                continue


@pytest.mark.slow
def test_cloze_syntax_in_items_adds_no_cards(built: Built):
    # Each case question has one cloze group of two items: two cloze cards, however the text reads.
    for case_id, cards in built.cards.items():
        assert sum(card["kind"] == "cloze" for card in cards) == 2, case_id


# --- Refused at validation ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refused:
    """Content the validator refuses; ``where`` finds the line, ``message`` is the error after it."""

    name: str
    file: str  # "bank" or "question"
    change: dict
    where: str
    message: str
    raw: str | None = None  # replace the whole file with this text


MEDIA_ONLY = "only files under media/ in the bank are allowed"
REFUSED = [
    Refused(
        "markdown-image-http",
        "question",
        {"answer": "See ![x]({url}/image.png)"},
        "answer:",
        f"question 'q1': image '{{url}}/image.png' is a http: URL; {MEDIA_ONLY}",
    ),
    Refused(
        "markdown-image-file",
        "question",
        {"question": "Look ![x](file:///etc/passwd)"},
        "question:",
        f"question 'q1': image 'file:///etc/passwd' is a file: URL; {MEDIA_ONLY}",
    ),
    Refused(
        "markdown-image-data",
        "question",
        {"summary": "![x](data:image/png;base64,iVBORw0KGgo=)"},
        "summary:",
        f"question 'q1': image 'data:image/png;base64,iVBORw0KGgo=' is a data: URL; {MEDIA_ONLY}",
    ),
    Refused(
        "markdown-image-reference",
        "question",
        {"answer": "![x][logo]\n\n[logo]: {url}/logo.png\n"},
        "![x][logo]",
        f"question 'q1': image '{{url}}/logo.png' is a http: URL; {MEDIA_ONLY}",
    ),
    Refused(
        "markdown-image-in-link",
        "question",
        {"key_points": [{"title": "T", "items": ["[![x]({url}/in-link.png)]({url}/link)"]}]},
        "[![x]",
        f"question 'q1': image '{{url}}/in-link.png' is a http: URL; {MEDIA_ONLY}",
    ),
    Refused(
        "css-in-colour",
        "bank",
        {"categories": [{"slug": "alpha", "title": "Alpha", "colour": "red; background: url({url}/c)"}]},
        "url(",
        "category 'alpha': 'colour' 'red; background: url({url}/c)' is not a colour like \"#1f5fa8\"",
    ),
    Refused(
        "html-tag",
        "question",
        {"tags": ["<script>"]},
        "<script>",
        "question 'q1': tag '<script>' is not a tag (lowercase slugs joined by '::')",
    ),
    Refused(
        "html-id",
        "question",
        {"id": "<img src=x onerror=alert(1)>"},
        "id:",
        "question '<img src=x onerror=alert(1)>': 'id' '<img src=x onerror=alert(1)>' is not a slug "
        "(lowercase letters, digits, hyphens)",
    ),
    Refused(
        "slug-leaves-output-directory",
        "bank",
        {"slug": "../../escaped"},
        "slug:",
        "bank: 'slug' '../../escaped' is not a slug (lowercase letters, digits, hyphens)",
    ),
    Refused(
        "subset-leaves-output-directory",
        "bank",
        {"subsets": [{"name": "../escaped", "difficulty": ["hard"]}]},
        "name:",
        "subset: 'name' '../escaped' is not a slug (lowercase letters, digits, hyphens)",
    ),
    Refused(
        "anki-syntax-in-group-key",
        "question",
        {"key_points": [{"title": "T", "key": "{{c1::x}}", "items": ["a"]}]},
        "key:",
        "question 'q1': 'key' '{{c1::x}}' is not a slug (lowercase letters, digits, hyphens)",
    ),
    Refused(
        "python-object-tag",
        "question",
        {},
        "!!python",
        "YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed in content",
        raw="id: q1\nnumber: !!python/object/apply:os.system ['touch {pwned}']\n",
    ),
    Refused(
        "binary-tag",
        "question",
        {},
        "!!binary",
        "YAML tag 'tag:yaml.org,2002:binary' is not allowed in content",
        raw="id: q1\nanswer: !!binary PHNjcmlwdD4=\n",
    ),
]


def _filled(value, url: str):
    """Return ``value`` (text, or lists and mappings of it) with ``{url}`` replaced."""
    if isinstance(value, str):
        return value.replace("{url}", url)
    if isinstance(value, list):
        return [_filled(v, url) for v in value]
    if isinstance(value, dict):
        return {k: _filled(v, url) for k, v in value.items()}
    return value


@pytest.mark.parametrize("case", REFUSED, ids=[case.name for case in REFUSED])
def test_refused_markup_is_an_error_at_its_line_and_nothing_is_built(
    case: Refused, server, tmp_path, monkeypatch
):
    base, requests = server
    url = f"{base}/{case.name}"
    pwned = tmp_path / "pwned"
    change = _filled(case.change, url)
    if case.file == "bank":
        content = write_bank(tmp_path, bank=header(**change))
        path = content / "bank.yaml"
    else:
        content = write_bank(tmp_path, [question(1, **change), question(2, category="beta")])
        path = content / "questions" / f"{change.get('id', 'q1')}.yaml"
        if case.raw is not None:
            path.write_text(case.raw.replace("{pwned}", str(pwned)), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    where = f"{path.relative_to(tmp_path)}:{line_of(path, case.where)}"
    expected = f"{where}: error: {_filled(case.message, url)}"

    result = CliRunner().invoke(main, ["check", "--content", "content"])

    assert result.exit_code == 1
    assert expected in result.stderr.splitlines()
    with pytest.raises(GeneratorError):
        build(BuildRequest(content=Path("content"), out=tmp_path / "out", epoch=EPOCH, jobs=1))
    assert not (tmp_path / "out").exists()
    assert not pwned.exists()
    assert [r for r in requests if r.startswith(f"/{case.name}")] == []


def test_the_corpus_has_forty_distinct_hostile_cases():
    # Besides these: hostile code, category, bank title and file name, and terminal escapes below.
    assert len(CASES) + len(REFUSED) >= 40
    assert len({c.name for c in CASES}) == len(CASES)
    assert len({c.name for c in REFUSED}) == len(REFUSED)


def test_the_validated_bank_keeps_the_payloads_as_data(tmp_path: Path):
    # Nothing is stripped or rewritten before rendering: escaping happens at the edge.
    content = write_bank(tmp_path, [case_question(1, "h-x", "<script>{{c1::x}}</script> a::b")])
    (q,) = check(content).bank.questions
    assert q.answer == "A <script>{{c1::x}}</script> a::b"


TERMINAL_ATTACK = "\x1b]0;pwned\x07\x1b[2J\u202e"  # set the window title, clear the screen, reverse text


@pytest.mark.parametrize("where", ["error-message", "summary-line"])
def test_terminal_escapes_in_content_are_printed_as_escapes(where: str, tmp_path: Path, monkeypatch):
    if where == "error-message":
        write_bank(tmp_path, [question(1, id=f"x{TERMINAL_ATTACK}"), question(2, category="beta")])
    else:
        write_bank(tmp_path, bank=header(title=f"Bank {TERMINAL_ATTACK}"))
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(main, ["check"])

    output = result.stdout + result.stderr
    assert result.exit_code == (1 if where == "error-message" else 0)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", output)
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\u202e" in output
