"""Render a bank as a static study site: ``<stem>-site/`` with an index, a page per question and a quiz.

The site is a plain folder that works from ``file://`` and on any static host:
no server-side code, and every asset (CSS, JavaScript, the search index) is a
file beside the pages, so nothing is ever fetched from elsewhere. Each question
page shows the cards exactly as Anki renders them: the notes come from the
deck's own ``plan_deck`` and their sides from the note types' card templates
(``generator.render.reviewer``), styled by the deck's CSS.

Content stays data: every page carries a Content-Security-Policy that allows
scripts from the site's own files only, the card HTML is the deck's escaped
field HTML, and the search index is JSON that the site's script reads as text.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import json
import logging
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import genanki
import jinja2
from markupsafe import Markup

from generator.model import Artifact, Bank, Category, Question
from generator.render import Rendered, RenderOptions, markup
from generator.render.anki import QUESTION_FIELDS, DeckPlan, plan_deck
from generator.render.reviewer import Card, cloze_questions, note_cards

log = logging.getLogger(__name__)

#: Files copied as they are from ``templates/site/`` into ``assets/``.
STATIC_ASSETS = ("site.css", "site.js", "theme.js")
#: The Content-Security-Policy of every page: own scripts only, no requests elsewhere
#: (``prepdeck serve`` lets its pages connect to the server, to reload on a rebuild).
#: Inline styles stay allowed: the deck's category badge sets its colour in a style attribute.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'none'; base-uri 'none'; form-action 'none'"
)
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
# What separates words for the search; site.js splits a query the same way.
_WORD_BREAK = re.compile(r"[\W_]+")


@dataclass(frozen=True, slots=True)
class Entry:
    """One question as the site shows it: its cards and the values the index filters by."""

    question: Question
    category: Category
    card: Card  # the question card
    # Each cloze note, in key-point order: its first card, and what each of its cards asks.
    clozes: tuple[tuple[Card, list[tuple[int, list[tuple[str, str]]]]], ...]
    tags: tuple[str, ...]  # its own tags and every ancestor (``a::b`` gives ``a`` too)
    search: str  # lowercased plain text of the question and its answer


def site_dir(stem: str) -> str:
    """Return the folder name of a target's site, relative to the output directory."""
    return f"{stem}-site"


def render_site(
    bank: Bank, stem: str, options: RenderOptions, only: Collection[str] | None = None
) -> Rendered:
    """Render the site of ``bank`` as ``<stem>-site/``: index, quiz, one page per question, assets.

    Reads ``options.templates / "site"`` and the deck's templates; writes nothing and
    reads no clock, so two renders give the same bytes. With ``only`` (question ids),
    the question pages of just those questions are rendered, with the index, the quiz
    and the assets: ``prepdeck serve`` rebuilds an edited question this way.
    """
    carded = (
        bank
        if only is None
        else dataclasses.replace(bank, questions=tuple(q for q in bank.questions if q.id in only))
    )
    plan = plan_deck(carded, options)
    entries, card_css = _entries(bank, plan)
    env = _environment(options.templates / "site")
    folder = site_dir(stem)
    context = {"bank": bank, "stem": stem, "csp": CSP, "storage_key": f"prepdeck:{bank.id}:{stem}"}
    files: list[tuple[str, bytes]] = []
    index_entries = sorted(entries, key=lambda e: e.question.number)
    files.append(
        (
            "index.html",
            _page(
                env,
                "index.html",
                context,
                root="",
                entries=index_entries,
                filters=_filters(bank, index_entries),
            ),
        )
    )
    files.append(("quiz.html", _page(env, "quiz.html", context, root="", entries=index_entries)))
    for position, entry in enumerate(index_entries):
        if only is not None and entry.question.id not in only:
            continue
        previous = index_entries[position - 1] if position else None
        following = index_entries[position + 1] if position + 1 < len(index_entries) else None
        files.append(
            (
                f"q/{entry.question.id}.html",
                _page(
                    env,
                    "question.html",
                    context,
                    root="../",
                    entry=entry,
                    previous=previous,
                    next=following,
                    position=position + 1,
                    total=len(index_entries),
                ),
            )
        )
    if card_css:  # the same for every question: absent only when ``only`` names none
        files.append(("assets/card.css", card_css.encode()))
    # The cards name their images and formulas flat, as Anki's media folder does, so a
    # page finds them beside itself: every one in q/, beside the question pages that show
    # the cards, and one beside the index and the quiz only if they show it too (each file
    # once where it can: pictures are most of a site's weight). With ``only``, the media
    # of just those questions.
    top = b"".join(data for name, data in files if "/" not in name)
    for name, data in sorted(plan.media.items()):
        if name.encode() in top:
            files.append((name, data))
        files.append((f"q/{name}", data))
    for name in STATIC_ASSETS:
        files.append((f"assets/{name}", _static(options.templates / "site", name)))
    files.append(("assets/search-index.js", _search_index(index_entries)))
    artifacts = tuple(Artifact(f"{folder}/{name}", data) for name, data in files)
    log.debug("%s: %d pages", folder, sum(name.endswith(".html") for name, _ in files))
    return Rendered(artifacts)


def _entries(bank: Bank, plan: DeckPlan) -> tuple[list[Entry], str]:
    """Return each question's index entry with its cards from ``plan``, and the cards' CSS.

    A question whose notes are not in the plan (a page not rendered this time) gets
    an entry without cards: the index needs none. A retired question has no page.
    """
    by_id: dict[str, list[genanki.Note]] = {}
    card_css = ""
    for deck in plan.decks:
        for note in deck.notes:
            if note.guid not in plan.tombstones:
                by_id.setdefault(html.unescape(note.fields[QUESTION_FIELDS.index("Id")]), []).append(note)
                card_css = note.model.css  # both note types share the deck's CSS
    entries: list[Entry] = []
    for question in bank.questions:
        notes = by_id.get(question.id)  # the question note first, then its cloze notes
        if notes is None:
            card, clozes = Card(1, "", ""), ()
        else:
            card = note_cards(notes[0])[0]
            clozes = tuple((note_cards(note, first=True)[0], cloze_questions(note)) for note in notes[1:])
        entries.append(
            Entry(
                question,
                bank.category(question.category),
                card,
                clozes,
                _tag_closure(question.tags),
                _search_text(question),
            )
        )
    return entries, card_css


def _page(env: jinja2.Environment, name: str, context: dict, **values: object) -> bytes:
    return env.get_template(name).render(**context, **values).encode()


@functools.lru_cache(maxsize=32)
def _static_cached(path: Path, mtime: int) -> bytes:
    return path.read_bytes()


def _static(folder: Path, name: str) -> bytes:
    path = folder / name
    return _static_cached(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _environment(folder: Path) -> jinja2.Environment:
    """Return the site's template environment; it reloads a template whose file changed."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["markdown_inline"] = markup.markdown_inline
    env.filters["trusted"] = Markup  # the deck's card HTML, escaped when its fields were made
    env.filters["cloze_deletions"] = cloze_deletions
    env.filters["front_in_back"] = front_in_back
    return env


#: A cloze back's extra section, last in its card (templates/anki/cards/cloze-back.html).
_EXTRA = re.compile(r'<section class="extra">.*</section>(?=</div>\s*\Z)', re.S)
#: A cloze deletion, asked or shown (Anki's ``cloze`` and ``cloze-inactive`` spans).
_DELETION = re.compile(r'<span class="cloze(?:-inactive)?"[^>]*>.*?</span>', re.S)


def front_in_back(card: Card) -> bool:
    """Return True when a cloze card's front is its back without the extra section, but for deletions.

    Then the page leaves the front out and site.js makes it from the back (which
    it does for each deletion anyway): a cloze note's sides repeat the question,
    its group and every key point, and the page would carry them twice. Any
    other difference (a theme's own templates) keeps the front on the page.
    """
    return _DELETION.sub("", _EXTRA.sub("", card.back)) == _DELETION.sub("", card.front)


def cloze_deletions(asked: Sequence[tuple[int, Sequence[tuple[str, str]]]]) -> str:
    """Return ``cloze_questions`` of one note as JSON: ``[[ordinal, [[answer, shown], …]], …]``.

    With the first card's sides, that is all site.js needs to show every card of the note.
    """
    return json.dumps(
        [[n, [list(d) for d in found]] for n, found in asked], ensure_ascii=False, separators=(",", ":")
    )


def _tag_closure(tags: Sequence[str]) -> tuple[str, ...]:
    """Return the tags with every ancestor, so filtering by ``a`` finds ``a::b`` as the CLI does."""
    closure: list[str] = []
    for tag in tags:
        parts = tag.split("::")
        for depth in range(1, len(parts) + 1):
            ancestor = "::".join(parts[:depth])
            if ancestor not in closure:
                closure.append(ancestor)
    return tuple(closure)


def _filters(bank: Bank, entries: Sequence[Entry]) -> dict[str, list[tuple[str, str]]]:
    """Return the filter menus: (value, label) pairs of the values the questions use."""
    used = {e.question.category for e in entries}
    difficulties = sorted({e.question.difficulty for e in entries})
    rarities = sorted({e.question.rarity for e in entries})
    tags = sorted({tag for e in entries for tag in e.tags})
    return {
        "category": [(c.slug, c.title) for c in bank.categories if c.slug in used],
        "difficulty": [(d.value, d.label) for d in difficulties],
        "rarity": [(r.value, r.label) for r in rarities],
        "tag": [(t, t) for t in tags],
    }


def plain_text(text: str) -> str:
    """Return Markdown as the plain text a reader sees."""
    return _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", str(markup.markdown(text))))).strip()


def _search_text(question: Question) -> str:
    """Return what the search matches: the question, its answer and every part of the answer."""
    parts = [question.question, question.summary, question.answer]
    for group in question.key_points:
        parts += [group.title, *group.items]
    for follow_up in question.follow_ups:
        parts += [follow_up.question, follow_up.answer]
    parts += list(question.pitfalls)
    parts += [example.title for example in question.examples]
    text = " ".join(plain_text(part) for part in parts if part).lower()
    # Each word once, in order: the search matches word prefixes, so repeats add nothing.
    return " ".join(dict.fromkeys(word for word in _WORD_BREAK.split(text) if word))


def _search_index(entries: Sequence[Entry]) -> bytes:
    """Return the search index as a script that defines data only (file:// forbids fetching JSON).

    ``<``, ``>`` and ``&`` are escaped, so no text can close a script or start markup.
    """
    data = {entry.question.id: entry.search for entry in entries}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"window.prepdeckSearch = {text};\n".encode()
