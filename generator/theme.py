"""Templates: the built-in ones shipped inside the package, and a theme laid over them.

The wheel carries the repository's top-level ``templates/`` as the package data
``generator/templates`` (see pyproject.toml), read through ``importlib.resources``;
a checkout or an editable install reads ``templates/`` itself. A theme is a
directory whose files replace the built-in files of the same name; every other
file stays built in (mkdocs' ``custom_dir``).
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import tempfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from generator.errors import GeneratorError, Problems
from generator.load import MAX_FILE_BYTES, display_path, inside
from generator.model import Location

log = logging.getLogger(__name__)


def builtin_templates() -> Path:
    """Return the directory of the built-in templates, installed or in a checkout."""
    packaged = resources.files("generator") / "templates"
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / "templates"
    if checkout.is_dir():
        return checkout
    raise GeneratorError(
        "the built-in templates are missing from this installation of prepdeck; reinstall it "
        "(pip install --force-reinstall prepdeck)"
    )


#: Files a theme may hold besides templates: what a stylesheet can link to.
ASSET_SUFFIXES = (".css", ".png", ".jpg", ".jpeg", ".svg", ".woff", ".woff2", ".ttf", ".otf")
_TEMPLATE_SUFFIXES = (".html", ".j2")
# What would run or fetch in a card: Anki shows cards in a web view.
_UNSAFE_HTML = re.compile(
    r"<\s*(script|iframe|object|embed|base)\b|\bon[a-z]+\s*=|javascript\s*:", re.IGNORECASE
)
# Jinja lets a template reach Python objects through dunder attributes; a theme has no need to.
_JINJA_DUNDER = re.compile(r"(\{\{|\{%|\{=)[^}]*__")
_CSS_URL = re.compile(r"""(?:@import\s+(?:url\(\s*)?|url\(\s*)(['"]?)([^'")\s;]+)\1""", re.IGNORECASE)
_LOCAL_URL = re.compile(r"^(data:|[^:/\\]+(/[^:/\\]+)*$)", re.IGNORECASE)


def check_theme(theme: Path, builtin: Path, problems: Problems) -> dict[str, Path]:
    """Return the theme's files by name relative to ``theme``, recording every unsafe one.

    A theme is held to the rules content is held to: its files stay inside it,
    its stylesheets fetch only files next to them (or ``data:`` URLs), and its
    templates hold no script, event handler or Python attribute access.
    """
    known = sorted(p.relative_to(builtin).as_posix() for p in builtin.rglob("*") if p.is_file())
    found: dict[str, Path] = {}
    for path in sorted(theme.rglob("*")):
        name = path.relative_to(theme).as_posix()
        if any(part.startswith(".") for part in path.relative_to(theme).parts) or path.is_dir():
            continue
        where = Location(display_path(path), 1)
        if not inside(path, theme):
            problems.error("theme file links outside the theme folder", where)
            continue
        if not path.is_file():
            problems.error("theme file is not a regular file", where)
            continue
        if path.stat().st_size > MAX_FILE_BYTES:
            problems.error(f"theme file is larger than {MAX_FILE_BYTES // 1024} KiB", where)
            continue
        hint = did_you_mean_path(name, known) if name not in known else ""
        # An unknown template or a misplaced stylesheet is a typo; other files are assets.
        if name not in known and (hint or not name.endswith(ASSET_SUFFIXES)):
            problems.warning(f"theme file '{name}' replaces no built-in file{hint}", where)
            continue
        if name.endswith((*_TEMPLATE_SUFFIXES, ".css")):
            _check_text(path, name, problems)
        found[name] = path
    return found


def did_you_mean_path(name: str, known: list[str]) -> str:
    """Return "; did you mean 'css/cheatsheet.css'?" for a misspelt or misplaced theme file."""
    import difflib

    match = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    if not match:
        same = [k for k in known if k.rsplit("/", 1)[-1] == name.rsplit("/", 1)[-1]]
        match = same[:1]
    return f"; did you mean '{match[0]}'?" if match else ""


def _check_text(path: Path, name: str, problems: Problems) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.error(f"cannot read theme file: {exc}", Location(display_path(path), 1))
        return
    for number, line in enumerate(text.splitlines(), start=1):
        where = Location(display_path(path), number)
        if name.endswith(_TEMPLATE_SUFFIXES):
            unsafe = _UNSAFE_HTML.search(line)
            if unsafe:
                problems.error(
                    f"'{unsafe.group().strip()}' is not allowed in a theme: cards and sheets run no script",
                    where,
                )
            if _JINJA_DUNDER.search(line):
                problems.error("names with '__' are not allowed in a theme's template expressions", where)
        for match in _CSS_URL.finditer(line):
            url = match.group(2)
            if not _LOCAL_URL.match(url) or ".." in url.split("/"):
                problems.error(
                    f"'{url}' is fetched from outside the theme; put the file in the theme folder "
                    "and link it by a relative name",
                    where,
                )


@contextlib.contextmanager
def themed(builtin: Path, theme: Path | None, problems: Problems) -> Iterator[Path]:
    """Yield a templates folder: ``builtin`` with the theme's files laid over it.

    Without a theme, ``builtin`` itself. With one, a temporary folder that holds
    both, so renderers (and WeasyPrint's fetcher) see one templates directory.
    Raises GeneratorError, before anything is rendered, when the theme is unsafe.
    """
    if theme is None:
        yield builtin
        return
    theme = Path(theme)
    if not theme.is_dir():
        raise GeneratorError(f"theme folder '{display_path(theme)}' does not exist")
    files = check_theme(theme, builtin, problems)
    problems.raise_if_errors()
    with tempfile.TemporaryDirectory(prefix="prepdeck-theme-") as folder:
        merged = Path(folder) / "templates"
        shutil.copytree(builtin, merged, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for name, path in files.items():
            target = merged / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
        log.info("theme %s replaces %s", display_path(theme), ", ".join(files) or "nothing")
        yield merged
