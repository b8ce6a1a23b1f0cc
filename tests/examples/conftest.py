"""Shared helpers for the companion-example tests: load an example module, read a region."""

from __future__ import annotations

import importlib.util
import re
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "content" / "examples"
CARD_MAX_LINES = 40  # hard limit for a region shown on a flash card

_REGION = re.compile(r"^\s*# region (\S+)\s*$")
_ENDREGION = re.compile(r"^\s*# endregion\s*$")


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
    """Return the dedented lines between ``# region NAME`` and ``# endregion``, as a card shows them."""
    lines = (EXAMPLES_DIR / relative_path).read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if (m := _REGION.match(line)) and m.group(1) == region]
    assert len(starts) == 1, f"{relative_path}: expected one '# region {region}', found {len(starts)}"
    start = starts[0] + 1
    end = next(i for i in range(start, len(lines)) if _ENDREGION.match(lines[i]) or _REGION.match(lines[i]))
    assert _ENDREGION.match(lines[end]), (
        f"{relative_path}: region {region} is not closed (regions do not nest)"
    )
    return textwrap.dedent("\n".join(lines[start:end]))


def assert_fits_on_card(relative_path: str, region: str) -> None:
    """The region exists, is non-empty and short enough for a flash card."""
    code = read_region(relative_path, region)
    n_lines = len(code.strip("\n").splitlines())
    assert 0 < n_lines <= CARD_MAX_LINES, f"{relative_path}#{region}: {n_lines} lines"


@pytest.fixture(autouse=True, scope="session")
def _modest_torch_threads():
    """Keep intra-op parallelism small: the suite must run quickly on two cores."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)
