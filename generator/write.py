"""Write stage: move rendered files into the output directory, all or nothing.

Everything is rendered in memory before this stage runs. Files are then
written to a staging directory inside the output directory (same file
system), flushed to disk, and renamed over their targets; a rename is atomic,
so every output is either the old file or the new one, never a partial write.
Each replaced file is first hard-linked into the staging directory, so when a
later rename fails (or a signal interrupts the renames) the earlier ones are
undone and the directory is as it was. A lock on the output directory itself
(no lock file is left behind) keeps two builds from writing it at once, and
staging left by a killed build is removed by the next one. A file that
already holds its output's bytes is not written at all: it keeps its inode and
its time, so whatever watches the folder sees only what changed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from generator.errors import GeneratorError
from generator.model import Artifact
from generator.workers import checkpoint, hold_interrupts

log = logging.getLogger(__name__)

STAGING_PREFIX = ".prepdeck-staging-"


@contextlib.contextmanager
def locked(out: Path) -> Iterator[int]:
    """Hold an exclusive lock on the directory ``out``, or fail at once if a build holds it.

    Yields the locked descriptor, which processes forked while it is held must close
    (flock locks belong to the open file, which a fork shares). Staging that a killed
    build left behind is removed once the lock is held. If the build fails and ``out``
    did not exist before, the (empty) directory is removed again.
    """
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise GeneratorError(f"cannot use output directory {out}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise GeneratorError(
                    f"another prepdeck build is writing to {out}; wait for it to finish"
                ) from None
            raise
        remove_stale_staging(out)
        try:
            yield handle
        except BaseException:
            if created:
                with contextlib.suppress(OSError):
                    out.rmdir()  # only if still empty
            raise
    finally:
        os.close(handle)


def remove_stale_staging(out: Path) -> None:
    """Remove staging directories that an interrupted build left behind."""
    for stale in out.glob(STAGING_PREFIX + "*"):
        log.debug("removing %s, left by an interrupted build", stale)
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def write_artifacts(out: Path, artifacts: Sequence[Artifact]) -> list[Path]:
    """Write every artifact under ``out`` atomically; return the paths of all of them.

    A file that already holds an artifact's bytes is not written again.

    The caller holds ``locked(out)``. Raises GeneratorError, with ``out`` unchanged,
    when a file cannot be written. Once every file is staged, signals are held
    (``workers.hold_interrupts``): the renames take milliseconds, and finishing
    them beats leaving old and new outputs mixed.
    """
    names = [artifact.name for artifact in artifacts]
    if len(set(names)) != len(names):
        raise GeneratorError("two outputs have the same file name: " + ", ".join(sorted(names)))
    for name in names:
        if (out / name).is_dir() and not (out / name).is_symlink():
            raise GeneratorError(f"cannot write {out / name}: a directory of that name is in the way")
    changed = [artifact for artifact in artifacts if not _holds(out / artifact.name, artifact.data)]
    try:
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
    except OSError as exc:
        raise GeneratorError(f"cannot write to {out}: {exc.strerror or exc}") from None
    try:
        new, old = staging / "new", staging / "old"
        for artifact in changed:
            _write_file(new / artifact.name, artifact.data)
        checkpoint("staged")
        hold_interrupts()
        _replace_all(out, new, old, [artifact.name for artifact in changed])
    except OSError as exc:
        where = exc.filename or out
        raise GeneratorError(f"cannot write {where}: {exc.strerror or exc}; {out} is unchanged") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.debug("wrote %d files to %s; %d were unchanged", len(changed), out, len(artifacts) - len(changed))
    return [out / name for name in names]


def _holds(path: Path, data: bytes) -> bool:
    """Return True if ``path`` is a regular file holding exactly ``data``.

    Such a file is left alone (same inode, same time), as make leaves a target
    that is up to date: a tool watching ``out`` sees only what changed.
    """
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file and flush it to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _replace_all(out: Path, new: Path, old: Path, names: Sequence[str]) -> list[Path]:
    """Rename every staged file over its target; on any failure, put every earlier target back.

    Before a target is replaced, it is hard-linked (or copied) to ``old``, which
    costs no space and lets a rename be undone with another rename.
    """
    done: list[tuple[Path, Path | None]] = []
    try:
        for name in names:
            final = out / name
            backup = None
            if os.path.lexists(final):
                backup = old / name
                backup.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(final, backup, follow_symlinks=False)
                except OSError:  # a file system without hard links
                    shutil.copy2(final, backup, follow_symlinks=False)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(new / name, final)
            done.append((final, backup))
            checkpoint("renaming")
        _sync_directory(out)
        checkpoint("written")
    except BaseException:
        for final, backup in reversed(done):
            if backup is None:
                final.unlink(missing_ok=True)
            else:
                os.replace(backup, final)
        raise
    return [final for final, _ in done]


def _sync_directory(path: Path) -> None:
    """Flush a directory's entries (the renames) to disk."""
    handle = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


#: What prepdeck wrote to an output directory, per bank: file name -> SHA-256 of its bytes.
MANIFEST = ".built-by-prepdeck.json"


def _read_manifest(out: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def record_outputs(out: Path, bank: str, artifacts: Sequence[Artifact], clean: bool = False) -> list[Path]:
    """Note the files a build of ``bank`` wrote; with ``clean``, remove its older ones.

    The caller holds ``locked(out)``. An older output is removed only when the
    manifest says prepdeck wrote it for this bank and its bytes are still the
    ones written: a file anyone else made or changed is never touched.
    Returns the paths removed.
    """
    manifest = _read_manifest(out)
    entries = dict(manifest.get(bank, {}))
    written = {a.name: hashlib.sha256(a.data).hexdigest() for a in artifacts}
    removed = []
    for name, digest in sorted(entries.items()):
        if name in written:
            continue
        path = out / name
        if "/" in name or name.startswith(".") or path.is_symlink() or _digest(path) != digest:
            del entries[name]  # gone, changed or not ours: forget it, never delete it
        elif clean:
            path.unlink()
            log.info("removed %s, which this build did not write", path)
            removed.append(path)
            del entries[name]
    entries.update(written)
    if manifest.get(bank) == dict(sorted(entries.items())) and (out / MANIFEST).is_file():
        return removed  # unchanged: left alone, like the outputs it lists
    manifest[bank] = dict(sorted(entries.items()))
    staged = out / (MANIFEST + ".tmp")
    staged.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(staged, out / MANIFEST)
    return removed
