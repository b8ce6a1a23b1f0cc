"""The study site: built by ``prepdeck build``, the cards exactly as Anki shows them, and, in
headless Chromium from ``file://``, the index, filters, search, reveal, quiz and phone layout.

CI always runs the browser tests: there (``CI=true``) a missing Chromium is a failure.
On a machine without it they are reported as skipped, never passed.
"""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from anki_support import import_package, open_collection, write_package
from bank_support import EPOCH, write_bank
from browser_support import browser, require_chromium
from click.testing import CliRunner
from factories import CONTENT, TEMPLATES
from test_hostile import CASES, CODE_PAYLOAD, case_question, expand

from generator.build import BuildRequest, build, check
from generator.cli import main
from generator.model import OutputKind
from generator.render import RenderOptions
from generator.render.site import plain_text, render_site

SITE = frozenset({OutputKind.SITE})
STEM = "senior-ml-engineer"


@pytest.fixture(scope="module")
def shipped_site(tmp_path_factory) -> Path:
    """The shipped bank's sites, built once through the CLI."""
    out = tmp_path_factory.mktemp("site") / "build"
    result = CliRunner().invoke(
        main, ["build", "--content", str(CONTENT), "--out", str(out), "--only", "site"]
    )
    assert result.exit_code == 0, result.output
    return out


class _Refs(HTMLParser):
    """Collect every URL a page refers to (href, src) and every script element."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[dict] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        self.urls += [v for k, v in attrs if k in ("href", "src") and v is not None]
        if tag == "script":
            self.scripts.append(values)


def test_build_writes_a_site_for_the_bank_and_each_subset(shipped_site: Path):
    bank = check(CONTENT).bank
    stems = [STEM] + [f"{STEM}-{s.name}" for s in bank.subsets]
    written = sorted(p.name for p in shipped_site.iterdir() if not p.name.startswith("."))  # not the manifest
    assert written == sorted(f"{s}-site" for s in stems)
    site = shipped_site / f"{STEM}-site"
    pages = sorted(p.stem for p in (site / "q").glob("*.html"))
    assert pages == sorted(q.id for q in bank.questions)
    hard = shipped_site / f"{STEM}-hard-site"
    assert len(list((hard / "q").glob("*.html"))) == 8
    for name in ("index.html", "quiz.html", "assets/card.css", "assets/site.js", "assets/search-index.js"):
        assert (site / name).is_file(), name


def test_every_reference_is_a_file_of_the_site(shipped_site: Path):
    """No page loads or links anything outside its own folder, except links the content writes."""
    site = shipped_site / f"{STEM}-site"
    for page in site.rglob("*.html"):
        parser = _Refs()
        parser.feed(page.read_text())
        for script in parser.scripts:
            assert "src" in script, f"{page.name}: an inline script"
            assert (page.parent / script["src"]).resolve().is_file(), script["src"]
        for url in parser.urls:
            if url.startswith(("http://", "https://")):
                continue  # links in the content are kept; the CSP stops anything loading them
            assert ":" not in url and not url.startswith("/"), f"{page.name}: {url}"
            target = (page.parent / url.split("#")[0]).resolve()
            assert target.is_file() and target.is_relative_to(site), f"{page.name}: {url}"
        assert "Content-Security-Policy" in page.read_text()


def test_question_pages_show_the_cards_as_anki_renders_them(tmp_path: Path):
    """Each side on the page is the HTML the real Anki library renders for that card."""
    bank = check(CONTENT).bank
    package = write_package(bank, tmp_path, EPOCH, TEMPLATES)
    rendered = render_site(bank, "x", RenderOptions(templates=TEMPLATES, epoch=EPOCH))
    pages = {a.name: a.data.decode() for a in rendered.artifacts}
    compared = 0
    with open_collection(tmp_path / "collection.anki2") as col:
        import_package(col, package)
        for cid in col.find_cards("card:1 -tag:card::cloze"):
            card = col.get_card(cid)
            page = pages[f"x-site/q/{card.note()['Id']}.html"]
            for side, html in (("front", card.question()), ("back", card.answer())):
                html = re.sub(r"<style>.*?</style>", "", html, flags=re.S).strip()
                assert html, "Anki rendered an empty side"
                assert html in page, f"{card.note()['Id']} {side} differs from Anki's"
                compared += 1
    assert compared == 2 * len(bank.questions)
    css = pages["x-site/assets/card.css"]
    assert css.strip() and "nightMode" in css


def test_two_renders_are_byte_identical():
    bank = check(CONTENT).bank
    options = RenderOptions(templates=TEMPLATES, epoch=EPOCH)
    first, second = render_site(bank, "x", options), render_site(bank, "x", options)
    assert [(a.name, a.data) for a in first.artifacts] == [(a.name, a.data) for a in second.artifacts]


# --- in the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium():
    """Yield a Chromium browser; skip (fail under CI) when Chromium is not installed."""
    require_chromium("the site browser tests")
    with browser() as instance:
        yield instance


class Watched:
    """A page whose console errors, uncaught exceptions, dialogs and requests are recorded."""

    def __init__(self, browser, width: int = 1000) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 800})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.on("request", lambda r: self.requests.append(r.url))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def outside(self) -> list[str]:
        return [u for u in self.requests if not u.startswith("file://")]


@pytest.fixture
def watched(chromium):
    page = Watched(chromium)
    yield page
    page.context.close()


def visible_ids(page) -> list[str]:
    return page.eval_on_selector_all(".question-item:not([hidden])", "els => els.map(e => e.dataset.id)")


@pytest.mark.slow
def test_index_lists_filters_and_searches(shipped_site: Path, watched: Watched):
    page = watched.page
    page.goto((shipped_site / f"{STEM}-site" / "index.html").as_uri())
    bank = check(CONTENT).bank
    assert len(visible_ids(page)) == 13
    assert page.inner_text("#count") == "13 questions"

    page.select_option("#filter-difficulty", "hard")
    hard = sorted(q.id for q in bank.questions if q.difficulty.value == "hard")
    assert sorted(visible_ids(page)) == hard and len(hard) == 8
    page.select_option("#filter-difficulty", "")

    word, owner = unique_answer_word(bank)
    page.fill("#search", word)
    assert visible_ids(page) == [owner]
    page.fill("#search", word.upper() + "  ")
    assert visible_ids(page) == [owner]
    page.fill("#search", "zzzz-no-such-word")
    assert visible_ids(page) == [] and page.is_visible("#empty")
    assert watched.errors == [] and watched.outside() == []


def unique_answer_word(bank) -> tuple[str, str]:
    """Return a word of some answer that no other question's text contains, and that question's id."""
    texts = {}
    for q in bank.questions:
        parts = [q.question, q.summary, q.answer, *[i for g in q.key_points for i in (g.title, *g.items)]]
        parts += [p for f in q.follow_ups for p in (f.question, f.answer)] + list(q.pitfalls)
        parts += [e.title for e in q.examples]
        texts[q.id] = " " + " ".join(re.split(r"[\W_]+", " ".join(plain_text(p) for p in parts).lower()))
    for q in bank.questions:
        for word in sorted(set(re.findall(r"[a-z]{7,}", plain_text(q.answer).lower()))):
            if [i for i, text in texts.items() if f" {word}" in text] == [q.id]:
                return word, q.id
    raise AssertionError("no word is unique to one answer")


@pytest.mark.slow
def test_space_reveals_the_back_and_arrows_move(shipped_site: Path, watched: Watched):
    page = watched.page
    bank = check(CONTENT).bank
    first, second = bank.questions[0].id, bank.questions[1].id
    page.goto((shipped_site / f"{STEM}-site" / "q" / f"{first}.html").as_uri())
    assert page.is_visible("#card .front") and not page.is_visible("#card .back")
    page.keyboard.press(" ")
    assert page.is_visible("#card .back") and not page.is_visible("#card .front")
    assert page.is_visible("#card .back .answer")
    page.keyboard.press("ArrowRight")
    page.wait_for_url(f"**/q/{second}.html")
    assert watched.errors == [] and watched.outside() == []


# True when the shown side of cloze card ``index`` on the page is, node for node, the HTML Anki rendered.
_SAME_SIDE = """([index, side, html]) => {
  const card = document.querySelectorAll('.cloze-card')[index];
  const shown = card.querySelector('.side.' + side);
  if (shown.hidden) return false;
  const anki = document.createElement('div');
  anki.innerHTML = html;
  const page = document.createElement('div');
  page.append(...shown.cloneNode(true).childNodes);
  return anki.isEqualNode(page);
}"""


@pytest.mark.slow
def test_every_cloze_card_shows_as_anki_renders_it(shipped_site: Path, watched: Watched, tmp_path: Path):
    """The page holds one front and back per cloze note; each card it shows is Anki's, both sides."""
    bank = check(CONTENT).bank
    package = write_package(bank, tmp_path, EPOCH, TEMPLATES)
    page = watched.page
    compared = 0
    with open_collection(tmp_path / "collection.anki2") as col:
        import_package(col, package)
        for question in bank.questions:
            notes = sorted(
                col.find_notes(f"Id:{question.id} tag:card::cloze"), key=lambda n: col.get_note(n)["Sort"]
            )
            if not notes:
                continue
            page.goto((shipped_site / f"{STEM}-site" / "q" / f"{question.id}.html").as_uri())
            for index, nid in enumerate(notes):
                cards = sorted(col.get_note(nid).cards(), key=lambda c: c.ord)
                article = page.locator(".cloze-card").nth(index)
                for position, card in enumerate(cards):
                    sides = {
                        side: re.sub(r"<style>.*?</style>", "", html, flags=re.S)
                        for side, html in (("front", card.question()), ("back", card.answer()))
                    }
                    assert page.evaluate(_SAME_SIDE, [index, "front", sides["front"]]), (
                        question.id,
                        card.ord,
                    )
                    article.locator(".reveal-cloze").click()
                    assert page.evaluate(_SAME_SIDE, [index, "back", sides["back"]]), (question.id, card.ord)
                    compared += 1
                    if len(cards) > 1:
                        article.locator(".next-cloze").click()
                        assert article.locator(".cloze-position").inner_text() == str(
                            (position + 1) % len(cards) + 1
                        )
    assert compared == sum(len(g.items) for q in bank.questions for g in q.key_points if g.cloze)
    assert compared > 13
    assert watched.errors == [] and watched.outside() == []


@pytest.mark.slow
def test_quiz_result_survives_a_reload(shipped_site: Path, watched: Watched):
    page = watched.page
    site = shipped_site / f"{STEM}-site"
    page.goto((site / "index.html").as_uri())
    page.select_option("#filter-rarity", "very-common")
    shown = visible_ids(page)
    assert len(shown) == 2
    page.click("#quiz-start")
    page.wait_for_url(f"**/q/{shown[0]}.html")
    assert "question 1 of 2" in page.inner_text("#quiz-progress")
    page.keyboard.press(" ")
    page.click("#missed")
    page.wait_for_url(f"**/q/{shown[1]}.html")
    page.keyboard.press(" ")
    page.keyboard.press("k")
    page.wait_for_url("**/quiz.html")
    page.reload()
    assert "knew 1, missed 1" in page.inner_text("#quiz-summary")
    assert page.eval_on_selector_all("#quiz-missed a", "a => a.map(e => e.href)")[0].endswith(
        f"{shown[0]}.html"
    )
    page.goto((site / "index.html").as_uri())
    assert page.inner_text(f'[data-result-for="{shown[0]}"]') == "didn't know"
    assert page.inner_text(f'[data-result-for="{shown[1]}"]') == "knew it"
    page.goto((site / "quiz.html").as_uri())
    page.click("#quiz-review")
    page.wait_for_url(f"**/q/{shown[0]}.html")
    assert "question 1 of 1" in page.inner_text("#quiz-progress")
    assert watched.errors == [] and watched.outside() == []


_OVERFLOW = """() => {
  const doc = document.documentElement;
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('.code')) continue;  // code blocks scroll inside their own box
    if (el.clientWidth > 0 && el.scrollWidth - el.clientWidth > 1) wide.push(el.tagName + '.' + el.className);
  }
  return {page: doc.scrollWidth - doc.clientWidth, wide};
}"""


@pytest.mark.slow
def test_nothing_scrolls_sideways_at_375_px(shipped_site: Path, chromium):
    phone = Watched(chromium, width=375)
    site = shipped_site / f"{STEM}-site"
    try:
        for path in [site / "index.html", site / "quiz.html", *sorted((site / "q").glob("*.html"))]:
            phone.page.goto(path.as_uri())
            for night in (False, True):
                phone.page.emulate_media(color_scheme="dark" if night else "light")
                if path.parent.name == "q":
                    phone.page.evaluate("document.querySelectorAll('.side').forEach(s => s.hidden = false)")
                measured = phone.page.evaluate(_OVERFLOW)
                assert measured == {"page": 0, "wide": []}, f"{path.name} night={night}: {measured}"
        assert phone.errors == [] and phone.outside() == []
    finally:
        phone.context.close()


@pytest.mark.slow
def test_night_mode_follows_the_system(shipped_site: Path, watched: Watched):
    page = watched.page
    page.emulate_media(color_scheme="dark")
    page.goto((shipped_site / f"{STEM}-site" / "index.html").as_uri())
    assert page.evaluate("document.documentElement.classList.contains('nightMode')")
    page.emulate_media(color_scheme="light")  # the page follows the change without a reload
    # Poll from Python: wait_for_function evaluates a string, which the site's CSP forbids.
    night = "document.documentElement.classList.contains('nightMode')"
    deadline = time.monotonic() + 10  # generous: a busy machine, not a speed test
    while page.evaluate(night) and time.monotonic() < deadline:
        page.wait_for_timeout(20)
    assert not page.evaluate(night)
    page.keyboard.press("t")  # auto -> light -> night: the reader's choice wins
    page.keyboard.press("t")
    page.reload()
    assert page.evaluate("document.documentElement.classList.contains('nightMode')")


@pytest.mark.slow
def test_hostile_content_is_inert_in_the_browser(tmp_path: Path, watched: Watched):
    """Script tags, javascript: links and event handlers from the hostile corpus never run.

    Every page is opened, every card side revealed, and every link, button and
    element with content hovered or clicked: no dialog opens, no script error
    or CSP violation is logged, and nothing is requested outside ``file://``.
    """
    url, secret = "http://127.0.0.1:9", (tmp_path / "secret.txt").as_uri()
    questions = [
        case_question(n, f"h-{case.name}", expand(case.payload, f"{url}/{case.name}", secret))
        for n, case in enumerate(CASES, start=1)
    ]
    code = expand(CODE_PAYLOAD, f"{url}/code", secret)
    questions.append(case_question(len(CASES) + 1, "h-code", code))
    content = write_bank(tmp_path, questions)
    out = tmp_path / "out"
    build(BuildRequest(content=content, out=out, outputs=SITE, epoch=EPOCH))
    site = out / "test-site"
    page = watched.page
    for path in [site / "index.html", *sorted((site / "q").glob("*.html"))]:
        page.goto(path.as_uri())
        page.evaluate("document.querySelectorAll('[hidden]').forEach(e => e.hidden = false)")
        # The cards fold their long sections into <details>: open them, so every link is hoverable.
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        for element in page.query_selector_all(
            "main a[href^='javascript'], main [onclick], main [onmouseover]"
        ):
            raise AssertionError(f"{path.name}: a live handler: {element.evaluate('e => e.outerHTML')}")
        for link in page.query_selector_all(".card a"):
            link.hover()
        assert page.evaluate("typeof window.alert") == "function"
    assert watched.dialogs == []
    assert watched.errors == []
    assert watched.outside() == []


def test_a_cloze_front_is_left_to_the_page_script_only_when_it_is_the_back_less_its_extra():
    from generator.render.reviewer import Card
    from generator.render.site import front_in_back

    card = '<div class="prepdeck"><p>Q</p>\n<ul><li>{}</li></ul>\n</div>'
    front = card.format('<span class="cloze" data-cloze="a" data-ordinal="1">[…]</span>')
    back = card.format('<span class="cloze" data-ordinal="1">a</span>')
    extra = back.replace("\n</div>", '\n<section class="extra">More</section></div>')
    assert front_in_back(Card(1, front, back))
    assert front_in_back(Card(1, front, extra))
    # A theme whose front shows something its back does not keeps the front on the page.
    assert not front_in_back(Card(1, front.replace("<p>Q</p>", "<p>Q</p><p>Hint</p>"), back))
    assert not front_in_back(Card(1, front, back.replace("<p>Q</p>", "<p>Q!</p>")))
