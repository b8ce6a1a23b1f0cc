"""Write stage: move rendered files into the output directory, all or nothing.

Everything is rendered in memory before this stage runs. Files are then
written to a staging directory inside the output directory (same file
system), flushed to disk, and renamed over their targets; a rename is atomic,
so every output is either the old file or the new one, never a partial write.
A lock on the output directory itself (no lock file is left behind) keeps two
builds from writing it at once, and staging left by a killed build is removed
by the next one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from generator.errors import GeneratorError
from generator.model import Artifact

log = logging.getLogger(__name__)

STAGING_PREFIX = ".prepdeck-staging-"


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on the directory ``out``, or fail at once if a build holds it."""
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
        yield
    finally:
        os.close(handle)


def remove_stale_staging(out: Path) -> None:
    """Remove staging directories that an interrupted build left behind."""
    for stale in out.glob(STAGING_PREFIX + "*"):
        shutil.rmtree(stale, ignore_errors=True)


def write_artifacts(out: Path, artifacts: Sequence[Artifact]) -> list[Path]:
    """Write every artifact under ``out`` atomically; return the paths written.

    The caller holds ``locked(out)``.
    """
    names = [artifact.name for artifact in artifacts]
    if len(set(names)) != len(names):
        raise GeneratorError("two outputs have the same file name: " + ", ".join(sorted(names)))
    remove_stale_staging(out)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
    try:
        for artifact in artifacts:
            target = staging / artifact.name
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as handle:
                handle.write(artifact.data)
                handle.flush()
                os.fsync(handle.fileno())
        written = []
        for artifact in artifacts:
            final = out / artifact.name
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / artifact.name, final)
            written.append(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.debug("wrote %d files to %s", len(written), out)
    return written
