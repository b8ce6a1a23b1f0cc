"""The dates a build records: one epoch for every output, and later ones for changed notes.

Anki updates a note on re-import only when the package's modification time is
newer than its own, so the epoch must grow whenever the bank changes, yet stay
fixed for unchanged input so that builds are reproducible. It comes from
``SOURCE_DATE_EPOCH``, else git, else the last release in the lock
(``lock.py``), and never from the working directory.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from generator.errors import GeneratorError
from generator.lock import Lock


def source_epoch(paths: Sequence[Path], fallback: int | None = None) -> int:
    """Return the time every build output records, in seconds since 1970.

    Anki updates a note on re-import only when the package's modification
    time is newer than its own, so this must grow whenever the content or the
    templates change, yet stay fixed for unchanged input so builds are
    reproducible: ``SOURCE_DATE_EPOCH`` when set; else the latest commit time of
    ``paths`` when git tracks each of them (each in its own checkout) with no
    uncommitted change; else ``fallback``, or now. Relative paths are taken
    from the working directory, and mean the same from any.
    """
    env = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if env:
        try:
            return int(env)
        except ValueError:
            raise GeneratorError(f"SOURCE_DATE_EPOCH must be whole seconds, not '{env}'") from None
    stamps = [_commit_time(Path(path).resolve()) for path in paths if Path(path).exists()]
    if stamps and None not in stamps:
        return max(stamps)
    return int(time.time()) if fallback is None else fallback


def _commit_time(path: Path) -> int | None:
    """Return the time of the last commit to ``path``; None unless git tracks all of it as committed."""
    cwd = path if path.is_dir() else path.parent
    try:
        status = _git(["status", "--porcelain", "--untracked-files=all", "--", str(path)], cwd)
        if status is None or status.strip():
            return None
        stamp = _git(["log", "-1", "--format=%ct", "--", str(path)], cwd)
    except OSError:  # no git
        return None
    return int(stamp.strip()) if stamp and stamp.strip().isdigit() else None


def _git(args: list[str], cwd: Path) -> str | None:
    """Run git in ``cwd``; return its output, or None when it fails (e.g. not a checkout)."""
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    return result.stdout if result.returncode == 0 else None


def build_epochs(content: Path, epoch: int | None, lock: Lock | None) -> tuple[int, int]:
    """Return the build's epoch and the time of notes that differ from the lock.

    Both are ``epoch`` when given, else ``source_epoch`` of the bank's
    own directory. Where that falls back to now (no git, a dirty checkout, a
    bank outside any repository), the outputs' dates are the last release's
    time instead, so two builds of a released bank are byte-identical
    anywhere; only a note that differs from the lock is dated now.
    """
    if epoch is not None:
        return epoch, epoch
    found = source_epoch([Path(content).resolve()], fallback=-1)
    if found != -1:
        return found, found
    now = int(time.time())
    return (lock.released if lock is not None and not lock.is_empty else now), now
