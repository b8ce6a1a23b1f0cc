"""Renderers: pure functions from a bank to output files, one per output kind.

Each renderer is ``render_x(bank, stem, options) -> Rendered``. It reads
templates but never writes to disk or reads the clock: every date comes from
``options.epoch``, so two builds of the same input are byte-identical.
:data:`RENDERERS` says which renderer makes which output; a new kind is a new row there.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from generator.errors import Problem
from generator.lock import Lock
from generator.model import Artifact, Bank, CardSize, Duplex, OutputKind, Paper


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


#: The one table from output kind to renderer.
RENDERERS: dict[OutputKind, RendererEntry] = {
    OutputKind.ANKI: RendererEntry("generator.render.anki", "render_deck", slow=False),
    OutputKind.CHEATSHEET: RendererEntry("generator.render.cheatsheet", "render_cheatsheet", slow=True),
    OutputKind.FLASHCARDS: RendererEntry("generator.render.flashcards", "render_flashcards", slow=True),
    OutputKind.SITE: RendererEntry("generator.render.site", "render_site", slow=False),
}


def renderer(kind: OutputKind) -> Renderer:
    """Return the render function for an output kind, importing its module on first use."""
    entry = RENDERERS[kind]
    return getattr(importlib.import_module(entry.module), entry.function)
