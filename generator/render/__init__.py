"""Renderers: pure functions from a bank to output files.

Each renderer is ``render_x(bank, stem, options) -> Rendered``. It reads
templates but never writes to disk or reads the clock: every date comes from
``options.epoch``, so two builds of the same input are byte-identical.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import Problem
from generator.model import Artifact


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """Settings shared by every renderer in one build."""

    templates: Path  # the templates directory
    epoch: int  # seconds since 1970-01-01 UTC; the only time any output records
    paper: str = "a4"  # "a4" | "letter"
    card_size: str = "95x65"  # a flashcard preset name
    duplex: str = "long"  # "long" | "short" | "none"
    back_offset: tuple[float, float] = (0.0, 0.0)  # mm, applied to back pages
    # When each question last changed (question id -> seconds), at most ``epoch``. A
    # deck stamps a note with its question's time, so re-importing a release leaves
    # the notes it did not change, and a learner's own edits to them, alone.
    # Questions not listed use ``epoch``.
    note_epochs: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rendered:
    """What a renderer produced: files, and warnings about the content (e.g. overflow)."""

    artifacts: tuple[Artifact, ...]
    warnings: tuple[Problem, ...] = ()
