"""Where log records go when prepdeck runs as a command: prepdeck's own, never its libraries'.

WeasyPrint and fontTools log freely (one "Using fontTools instead of
HarfBuzz-Subset" warning per font per PDF on a machine without that library,
about 45 per build); what they mean for a user, prepdeck says once, in its own
words (a build's hints). So the command shows prepdeck's warnings, and with
``-v`` its steps too. A library user who never calls :func:`configure` keeps
their own logging set-up. Render workers call :func:`configure` again with the
parent's choice, so a worker that was not forked (spawn, forkserver) logs as
its parent does.
"""

from __future__ import annotations

import logging
import sys

FORMAT = "%(levelname)s: %(name)s: %(message)s"

#: The handler :func:`configure` installed, and whether it was verbose; None before.
_installed: tuple[logging.Handler, bool] | None = None


def _own(record: logging.LogRecord) -> bool:
    return record.name == "generator" or record.name.startswith("generator.")


def configure(verbose: bool) -> None:
    """Send prepdeck's log records to stderr: its warnings, and with ``verbose`` every step."""
    global _installed
    root = logging.getLogger()
    reset()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(_own)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("generator").setLevel(logging.DEBUG if verbose else logging.NOTSET)
    _installed = (handler, verbose)


def reset() -> None:
    """Remove what :func:`configure` installed (the command is over)."""
    global _installed
    if _installed is not None:
        logging.getLogger().removeHandler(_installed[0])
        logging.getLogger("generator").setLevel(logging.NOTSET)
        _installed = None


def configured() -> bool | None:
    """Return the ``verbose`` :func:`configure` was given, or None when it has not run."""
    return None if _installed is None else _installed[1]
