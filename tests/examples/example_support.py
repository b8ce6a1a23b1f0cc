"""Shared helpers for the companion-example tests: load an example module, read a region."""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from generator.build import check

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "content" / "examples"
CARD_MAX_LINES = 40  # hard limit for a region shown on a flash card


def load_example(name: str) -> ModuleType:
    """Import ``content/examples/<name>.py`` by path (once) and return the module.

    The examples directory also goes on ``sys.path`` and the module is registered
    under its plain name, so processes started with ``spawn`` can import it too.
    """
    path = EXAMPLES_DIR / f"{name}.py"
    loaded = sys.modules.get(name)
    if loaded is not None and Path(loaded.__file__ or "") == path:
        return loaded
    if str(EXAMPLES_DIR) not in sys.path:
        sys.path.insert(0, str(EXAMPLES_DIR))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def read_region(relative_path: str, region: str) -> str:
    """Return the code the cards show for ``examples/<relative_path>``'s region.

    It comes from the validated shipped bank, through the same reader the build
    uses, so a test that runs a module checks exactly what the learner reads.
    """
    file = f"examples/{relative_path}"
    for question in shipped_bank().questions:
        for example in question.examples:
            if example.file == file and example.region == region:
                return example.code
    raise AssertionError(f"no question shows region '{region}' of {file}")


@functools.cache
def shipped_bank():
    """The bank under content/, validated as the build does (once per session)."""
    return check(EXAMPLES_DIR.parent).bank


def assert_fits_on_card(relative_path: str, region: str) -> None:
    """The region is shown by a question, is non-empty and short enough for a flash card."""
    code = read_region(relative_path, region)
    n_lines = len(code.strip("\n").splitlines())
    assert 0 < n_lines <= CARD_MAX_LINES, f"{relative_path}#{region}: {n_lines} lines"
