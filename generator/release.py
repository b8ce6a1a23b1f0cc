"""Release: compare what the bank publishes with its lock, then record it in the lock and changelog.

``prepdeck release`` is the only writer of ``prepdeck.lock``. It renders the
whole bank's notes as a build would (with the lock: locked times, locked
cloze numbers, tombstones for retired questions), lists what changed, and
refuses what Anki cannot take in place (a note type's field or template names
or order). Then it writes the new lock and a section of ``CHANGELOG.md``,
both beside ``bank.yaml``, each replaced atomically.
"""

from __future__ import annotations

import enum
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from generator.build import DEFAULT_TEMPLATES, check
from generator.epochs import build_epochs
from generator.errors import GeneratorError, Problem
from generator.lock import Changes, Lock, compare, format_lock, lock_path, merge, read_lock
from generator.model import Bank, Location
from generator.render import RenderOptions

log = logging.getLogger(__name__)

CHANGELOG = "CHANGELOG.md"
CHANGELOG_HEADER = (
    "# Changelog\n\n"
    "What each release of this deck changed, newest first. `prepdeck release` writes each section;\n"
    "in Anki, the search `tag:prepdeck::retired` finds the notes of retired questions.\n"
)


class Mode(enum.Enum):
    """What ``release`` does after comparing: write, only report, or only check."""

    WRITE = "write"
    DRY_RUN = "dry-run"
    CHECK = "check"


@dataclass(frozen=True, slots=True)
class ReleaseReport:
    """What a release found and did."""

    version: str
    previous: str  # the lock's version; "" before the first release
    changes: Changes
    lines: tuple[str, ...]  # the report, as ``prepdeck release`` prints it
    written: tuple[Path, ...]  # the lock and changelog, when written
    current: bool  # True when the lock already matches the bank


def release(
    content: Path,
    mode: Mode = Mode.WRITE,
    templates: Path = DEFAULT_TEMPLATES,
    epoch: int | None = None,
) -> ReleaseReport:
    """Compare the bank in ``content`` with its lock; in WRITE mode, record the release.

    Raises GeneratorError (nothing written) for a note-type schema change, in
    every mode, and in WRITE mode for changes under a version the lock already
    released. ``epoch`` replaces ``SOURCE_DATE_EPOCH``/git/now as the time of
    what changed (see ``epochs.build_epochs``).
    """
    content = Path(content)
    bank = check(content).bank
    old = read_lock(content, bank.id)
    new = published(bank, old, templates, epoch, content)
    changes = compare(old, new)
    path = lock_path(content)
    if changes.schema:
        raise GeneratorError(
            [Problem(f"{message}. {SCHEMA_ADVICE}", Location(str(path), 1)) for message in changes.schema]
        )
    lines = describe(changes, bank.version, old)
    if not changes:
        lines.append(f"{path} is current (release {old.version})")
        return ReleaseReport(bank.version, old.version, changes, tuple(lines), (), True)
    same_version = not old.is_empty and old.version == bank.version
    if mode is Mode.CHECK:
        lines.append(f"{path} is out of date: run `prepdeck release` and commit it")
        return ReleaseReport(bank.version, old.version, changes, tuple(lines), (), False)
    if mode is Mode.DRY_RUN:
        if same_version:
            lines.append(f"release {old.version} is already recorded: raise 'version' in bank.yaml first")
        lines.append("dry run: nothing written")
        return ReleaseReport(bank.version, old.version, changes, tuple(lines), (), False)
    if same_version:
        raise GeneratorError(
            [
                Problem(
                    f"version {bank.version} is already released (see {path}); raise 'version' "
                    f"in bank.yaml to release these changes",
                    Location(str(content / "bank.yaml"), 1),
                )
            ]
        )
    written = write_release(content, merge(old, new), changes, bank, old)
    lines.append(f"wrote {written[0]} and {written[1]}")
    return ReleaseReport(bank.version, old.version, changes, tuple(lines), tuple(written), False)


SCHEMA_ADVICE = (
    "Field and template names and order are frozen: put new content in the spare fields "
    "Extra1 and Extra2, or change only the card HTML and CSS"
)


def published(bank: Bank, old: Lock, templates: Path, epoch: int | None, content: Path) -> Lock:
    """Return what a build of the whole bank publishes now, as a lock (not yet merged with ``old``)."""
    from generator.render.anki import plan_deck  # genanki and Jinja: imported when needed

    when, changed = build_epochs(content, epoch, old)
    options = RenderOptions(
        templates=templates,
        epoch=when,
        lock=old,
        changed_epoch=changed,
        bank_ids=frozenset(q.id for q in bank.questions),
    )
    return plan_deck(bank, options).published


def describe(changes: Changes, version: str, old: Lock) -> list[str]:
    """Return the report's lines: a heading, then one line per change, then the counts."""
    previous = f"release {old.version}" if not old.is_empty else "nothing released yet"
    lines = [f"version {version} against {previous}:"]
    lines += [f"  added    {n.question} {n.role}: {_title(n.title)}" for n in changes.added]
    lines += [f"  changed  {n.question} {n.role}: {', '.join(parts)}" for n, parts in changes.changed]
    lines += [f"  retired  {n.question} {n.role}: {_title(n.title)}" for n in changes.retired]
    lines += [f"  cloze    {line}" for line in changes.items]
    lines += [f"  {line}" for line in changes.notetypes]
    counts = [
        f"{len(changes.added)} added",
        f"{len(changes.changed)} changed",
        f"{len(changes.retired)} retired",
    ]
    lines.append(f"{', '.join(counts)} notes")
    return lines


def _title(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def write_release(content: Path, lock: Lock, changes: Changes, bank: Bank, old: Lock) -> list[Path]:
    """Write the lock and prepend the release's section to the changelog; return both paths."""
    day = datetime.fromtimestamp(lock.released, tz=timezone.utc).date().isoformat()
    changelog = content / CHANGELOG
    try:
        existing = changelog.read_text(encoding="utf-8")
    except FileNotFoundError:
        existing = CHANGELOG_HEADER
    except (OSError, UnicodeDecodeError) as exc:
        raise GeneratorError(
            [Problem(f"cannot read the changelog: {exc}", Location(str(changelog), 1))]
        ) from None
    section = changelog_section(changes, bank.version, day, old)
    marker = existing.find("\n## ")
    if marker < 0:
        updated = existing.rstrip("\n") + "\n\n" + section
    else:
        updated = existing[: marker + 1] + section + "\n" + existing[marker + 1 :]
    path = lock_path(content)
    _replace(path, format_lock(lock))
    _replace(changelog, updated)
    log.info("released %s: %s", bank.version, path)
    return [path, changelog]


def changelog_section(changes: Changes, version: str, day: str, old: Lock) -> str:
    """Return the changelog's section for one release, in Markdown."""
    lines = [f"## {version} ({day})", ""]
    if old.is_empty:
        lines += ["First release.", ""]

    def block(title: str, entries: list[str]) -> None:
        if entries:
            lines.extend([f"{title}:", "", *entries, ""])

    block("Added", _by_question(changes.added, lambda n: _title(n.title, 100)))
    changed = {}
    for note, parts in changes.changed:
        changed.setdefault(note.question, []).append(f"{', '.join(parts)} ({_role(note.role)})")
    block("Changed", [f"- `{question}`: {'; '.join(found)}" for question, found in changed.items()])
    block(
        "Retired (tagged `prepdeck::retired`)", _by_question(changes.retired, lambda n: _title(n.title, 100))
    )
    block("Cloze items", [f"- {line}" for line in changes.items])
    block("Card templates", [f"- {line}" for line in changes.notetypes])
    return "\n".join(lines)


def _by_question(notes, label) -> list[str]:
    """Return one changelog entry per question: its text, and its cards when not the question card only."""
    found: dict[str, list] = {}
    for note in notes:
        found.setdefault(note.question, []).append(note)
    entries = []
    for question, group in found.items():
        roles = ", ".join(_role(n.role) for n in group)
        entries.append(f"- `{question}`: {label(group[-1])} ({roles})")
    return entries


def _role(role: str) -> str:
    return f"cloze '{role.removeprefix('cloze:')}'" if role.startswith("cloze:") else "question"


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: all or nothing."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
