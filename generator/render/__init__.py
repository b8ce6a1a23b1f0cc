"""Renderers: pure functions from a bank to output files, one per output kind.

Each renderer is ``render_x(bank, stem, options) -> Rendered``. It reads
templates but never writes to disk or reads the clock: every date comes from
``options.epoch``, so two builds of the same input are byte-identical.
:data:`RENDERERS` says which renderer makes which output, and what its input
is (what the build's cache keys it by); a new kind is a new row there.
"""

from __future__ import annotations

import contextlib
import importlib
import warnings
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from generator.errors import Problem
from generator.lock import Lock
from generator.model import Artifact, Bank, CardSize, Duplex, OutputKind, Paper

# WeasyPrint warns, on import, when fontconfig finds no fonts at all. Every PDF's faces
# ship with prepdeck (css/fonts.css), so such a machine prints the same sheets as any other.
warnings.filterwarnings("ignore", message="No fonts configured in FontConfig", category=UserWarning)


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """Settings shared by every renderer in one build."""

    templates: Path  # the templates directory
    epoch: int  # seconds since 1970-01-01 UTC; the only time any output records
    paper: Paper = Paper.A4
    card_size: CardSize = CardSize.STANDARD
    duplex: Duplex = Duplex.LONG
    back_offset: tuple[float, float] = (0.0, 0.0)  # mm, applied to back pages
    # What the last release published (prepdeck.lock). A note or note type whose content
    # matches it keeps its locked time, so re-importing a release leaves the notes it did
    # not change, and a learner's own edits to them, alone; cloze items keep their
    # locked numbers; locked notes of questions no longer in ``bank_ids`` become
    # tombstones. None: every note is dated ``epoch`` and numbered by position.
    lock: Lock | None = None
    # The time of a note that differs from the lock (always later than every locked
    # time); None: ``epoch``.
    changed_epoch: int | None = None
    # Every question id of the whole bank: a deck of all of them carries the tombstones.
    bank_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Rendered:
    """What a renderer produced: files, and warnings about the content (e.g. overflow)."""

    artifacts: tuple[Artifact, ...]
    warnings: tuple[Problem, ...] = ()


Renderer = Callable[[Bank, str, RenderOptions], Rendered]


@dataclass(frozen=True, slots=True)
class RendererEntry:
    """Where the renderer of one output kind lives, imported on first use (WeasyPrint takes ~0.6 s)."""

    module: str
    function: str
    slow: bool  # seconds per file (a PDF layout): worth a worker process
    # A function of the module, ``(bank, options) -> str | bytes``, giving exactly what the
    # renderer turns into bytes (a PDF's HTML, a deck's notes); None: the output is cheap,
    # and is its own key.
    input: str | None = None


#: The one table from output kind to renderer.
RENDERERS: dict[OutputKind, RendererEntry] = {
    OutputKind.ANKI: RendererEntry("generator.render.anki", "render_deck", slow=False, input="deck_input"),
    OutputKind.CHEATSHEET: RendererEntry(
        "generator.render.cheatsheet", "render_cheatsheet", slow=True, input="layout_input"
    ),
    OutputKind.FLASHCARDS: RendererEntry(
        "generator.render.flashcards", "render_flashcards", slow=True, input="layout_input"
    ),
    OutputKind.SITE: RendererEntry("generator.render.site", "render_site", slow=False),
}


def renderer(kind: OutputKind) -> Renderer:
    """Return the render function for an output kind, importing its module on first use."""
    entry = RENDERERS[kind]
    return getattr(importlib.import_module(entry.module), entry.function)


def renderer_input(kind: OutputKind) -> Callable[[Bank, RenderOptions], str | bytes] | None:
    """Return the function giving what the renderer of ``kind`` consumes, or None (see ``RendererEntry``)."""
    entry = RENDERERS[kind]
    return None if entry.input is None else getattr(importlib.import_module(entry.module), entry.input)


#: While :func:`recording_reads` runs: the name and SHA-256 of every file a renderer read beside its input.
_READS: ContextVar[dict[str, str] | None] = ContextVar("prepdeck_reads", default=None)


@contextlib.contextmanager
def recording_reads() -> Iterator[dict[str, str]]:
    """Collect what the renders inside read beside their input: stylesheets, images, fonts.

    Yields a dict of name to SHA-256 ("" for a file that was missing), filled
    through :func:`note_read` (the PDF renderers' URL fetcher calls it).
    """
    reads: dict[str, str] = {}
    token = _READS.set(reads)
    try:
        yield reads
    finally:
        _READS.reset(token)


def note_read(name: str, digest: str) -> None:
    """Record that a render read the file ``name`` with SHA-256 ``digest`` ("": missing), if recording."""
    reads = _READS.get()
    if reads is not None:
        reads[name] = digest
