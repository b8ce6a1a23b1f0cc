"""The ``prepdeck`` command line: option parsing and error reporting only.

Each command is one call into ``generator.build``; a ``GeneratorError`` is
printed as compiler-style lines plus a summary, with exit status 1.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from generator import __version__, logs
from generator.build import BuildRequest, build, calibrate, check, select_subset
from generator.cache import DEFAULT_MAX_BYTES
from generator.errors import GeneratorError, Problem, UsageError
from generator.model import CardSize, Difficulty, Duplex, OutputKind, Paper, Rarity, Selection
from generator.scaffold import init_bank
from generator.schema import SCHEMAS
from generator.select import did_you_mean
from generator.validate import CODE_WIDTH
from generator.workers import Terminated, interrupts_raise

log = logging.getLogger("generator")

# Control characters (ESC starts terminal commands: clear the screen, set the title, write the
# clipboard) and bidirectional overrides, which reorder what a reader sees.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Return ``text`` with control and bidi characters as escapes, safe to print to a terminal.

    Messages quote content (ids, file names, values), which may be hostile.
    """
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _report(problems: tuple[Problem, ...] | list[Problem]) -> None:
    for problem in problems:
        click.echo(printable(str(problem)), err=True)


def _count(number: int, noun: str, plural: str = "") -> str:
    """Return e.g. "1 subset" or "4 subsets"."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn GeneratorError into its messages and exit status 1, never a traceback.

    Ctrl-C exits with status 130 and SIGTERM with 143, after cleanup.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        received: list[int] = []
        try:
            with interrupts_raise(received):
                return command(*args, **kwargs)
        except Exception as exc:
            if received:  # e.g. a render worker killed by the same signal, or a library's cleanup
                _interrupted(received[0])
            if isinstance(exc, UsageError):
                ctx = click.get_current_context(silent=True)
                raise click.BadParameter(
                    printable(exc.message), ctx=ctx, param_hint=f"'{exc.option}'"
                ) from None
            if not isinstance(exc, GeneratorError):
                raise
            _report(exc.problems)
            click.echo(f"prepdeck: {exc.summary()}", err=True)
            sys.exit(1)
        except KeyboardInterrupt as exc:
            _interrupted(
                received[0] if received else signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
            )

    return wrapper


def _interrupted(signum: int) -> NoReturn:
    click.echo("prepdeck: interrupted; earlier outputs are unchanged", err=True)
    sys.exit(128 + signum)


def _existing_bank(ctx: click.Context, param: click.Parameter, value: Path) -> Path:
    """Refuse a ``--content`` folder that does not exist, saying how to point at one."""
    if not value.exists():
        source = ctx.get_parameter_source(param.name)
        given = source is not None and source is not click.core.ParameterSource.DEFAULT
        where = f"there is no folder '{printable(str(value))}'" + ("" if given else " here")
        raise click.BadParameter(
            f"{where}; pass --content with the folder that holds bank.yaml, "
            f"or start a bank with 'prepdeck init {printable(str(value))}'"
        )
    if not value.is_dir():
        raise click.BadParameter(f"'{printable(str(value))}' is a file; pass the folder that holds bank.yaml")
    return value


def content_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--content DIR``."""
    return click.option(
        "--content",
        "content",
        type=click.Path(path_type=Path),
        default=Path("content"),
        show_default=True,
        callback=_existing_bank,
        help="The question bank directory (bank.yaml, questions/, examples/).",
    )(command)


class Choice(click.Choice):
    """A choice whose error names the closest value: "did you mean 'hard'?"."""

    def __init__(self, choices: list[str], noun: str):
        super().__init__(choices)
        self.noun = noun

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Return the value when it is one of the choices, else fail with a suggestion."""
        if value in self.choices:
            return value
        self.fail(
            f"unknown {self.noun} '{printable(str(value))}'{did_you_mean(str(value), self.choices)} "
            f"(expected one of {', '.join(self.choices)})",
            param,
            ctx,
        )


def _one_subset(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> str | None:
    """Refuse a repeated ``--subset``: keeping only the last one would build the wrong deck."""
    if len(value) > 1:
        raise click.BadParameter(
            f"given {len(value)} times ({', '.join(printable(v) for v in value)}); a selection takes "
            "one subset: build each subset on its own, or add --category/--tag/--difficulty/--rarity/--id "
            "options to narrow one"
        )
    return value[0] if value else None


def _set_verbose(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        logs.configure(verbose=True)


def verbose_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``-v/--verbose``, accepted before the command name or after it."""
    return click.option(
        "-v",
        "--verbose",
        is_flag=True,
        expose_value=False,
        callback=_set_verbose,
        help="Log each step prepdeck takes (not its libraries' output).",
    )(command)


def selection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the selection options every command shares; OR within one option, AND across."""
    options = [
        click.option(
            "--category", "categories", multiple=True, metavar="SLUG", help="Only this category (repeatable)."
        ),
        click.option(
            "--tag",
            "tags",
            multiple=True,
            metavar="TAG",
            help="Only questions with this tag or one below it, e.g. 'parallelism' (repeatable).",
        ),
        click.option(
            "--difficulty",
            "difficulties",
            multiple=True,
            type=Choice([d.value for d in Difficulty], "difficulty"),
            help="Only this difficulty (repeatable).",
        ),
        click.option(
            "--rarity",
            "rarities",
            multiple=True,
            type=Choice([r.value for r in Rarity], "rarity"),
            help="Only this rarity (repeatable).",
        ),
        click.option("--id", "ids", multiple=True, metavar="ID", help="Only this question id (repeatable)."),
        click.option(
            "--subset",
            metavar="NAME",
            multiple=True,
            callback=_one_subset,
            help="A named subset from bank.yaml (combines with the above).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def make_selection(categories, tags, difficulties, rarities, ids) -> Selection:
    """Return the Selection the shared options describe."""
    return Selection(
        categories=frozenset(categories),
        tags=frozenset(tags),
        difficulties=frozenset(Difficulty(d) for d in difficulties),
        rarities=frozenset(Rarity(r) for r in rarities),
        ids=frozenset(ids),
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="prepdeck")
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Log each step prepdeck takes (also after the command).",
)
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Turn a question bank into Anki decks, cheat sheets and flashcards.

    \b
    Examples:
      prepdeck check --strict
      prepdeck list --difficulty hard --format ids
      prepdeck build --subset last-evening --paper letter
    """
    logs.configure(verbose)
    ctx.call_on_close(logs.reset)


@main.command("check")
@content_option
@selection_options
@click.option(
    "--code-width",
    type=click.IntRange(min=1),
    metavar="N",
    help=f"Warn about shown code lines longer than N characters, which wrap on a phone "
    f"[default: the bank's code_width, else {CODE_WIDTH}].",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@verbose_option
@handle_errors
def check_command(
    content: Path, categories, tags, difficulties, rarities, ids, subset, code_width: int | None, strict: bool
) -> None:
    """Validate the bank and report every problem with its file and line.

    With selection options, also check that the selection names things the
    bank has and matches at least one question.

    \b
    Examples:
      prepdeck check --content content --strict
      prepdeck check --difficulty hard --tag parallelism
      prepdeck check --code-width 80
    """
    checked = check(content, strict=strict, code_width=code_width or 0)
    selection = make_selection(categories, tags, difficulties, rarities, ids)
    if subset is not None or not selection.is_empty():
        chosen = select_subset(checked.bank, selection, subset)
        log.info("the selection matches %s", _count(len(chosen.questions), "question"))
    _report(checked.warnings)
    bank = checked.bank
    used = {q.category for q in bank.questions}
    examples = sum(len(q.examples) for q in bank.questions)
    warned = f", {_count(len(checked.warnings), 'warning')}" if checked.warnings else ""
    click.echo(
        f"{printable(bank.title)}: {_count(len(bank.questions), 'question')} in "
        f"{_count(len(used), 'category', 'categories')}, {_count(examples, 'code example')}, "
        f"{_count(len(bank.subsets), 'subset')}{warned}"
    )


@main.command("list")
@content_option
@selection_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "ids", "json"]),
    default="table",
    show_default=True,
    help="table for people, ids one per line, json for scripts.",
)
@verbose_option
@handle_errors
def list_command(content: Path, categories, tags, difficulties, rarities, ids, subset, fmt: str) -> None:
    """List the questions a selection matches.

    \b
    Examples:
      prepdeck list --difficulty hard --format ids
      prepdeck list --subset last-evening
      prepdeck list --category mlops --rarity common --rarity very-common --format json
    """
    bank = check(content).bank
    selection = make_selection(categories, tags, difficulties, rarities, ids)
    chosen = select_subset(bank, selection, subset).questions
    if fmt == "ids":
        for question in chosen:
            click.echo(question.id)
        return
    rows = [
        {
            "id": q.id,
            "number": q.number,
            "category": q.category,
            "difficulty": q.difficulty.value,
            "rarity": q.rarity.value,
            "tags": list(q.tags),
        }
        for q in chosen
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    headers = ["#", "id", "category", "difficulty", "rarity", "tags"]
    table = [
        [str(r["number"]), r["id"], r["category"], r["difficulty"], r["rarity"], " ".join(r["tags"])]
        for r in rows
    ]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(headers)]
    for row in [headers, *table]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    click.echo(f"{len(rows)} of {len(bank.questions)} questions")


def _back_offset(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, float]:
    try:
        x, y = (float(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter("expected X,Y in millimetres, e.g. 0.5,-1") from None
    if abs(x) > 20 or abs(y) > 20:
        raise click.BadParameter("an offset of more than 20 mm is not a registration error")
    return (x, y)


def _human_size(size: float) -> str:
    """Return e.g. "512 B", "43.2 KB" or "1.5 MB"."""
    if size < 1024:
        return f"{size:.0f} B"
    size /= 1024
    return f"{size:.1f} KB" if size < 1024 else f"{size / 1024:.1f} MB"


@main.command("build")
@content_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build"),
    show_default=True,
    help="Where outputs are written.",
)
@selection_options
@click.option("--name", metavar="NAME", help="File-name label for an ad-hoc selection (default: custom).")
@click.option(
    "--only",
    "only",
    multiple=True,
    type=click.Choice([k.value for k in OutputKind]),
    help="Build only these outputs (repeatable; default: all).",
)
@click.option(
    "--paper",
    type=click.Choice([paper.value for paper in Paper]),
    default=Paper.A4.value,
    show_default=True,
    help="Paper size of the PDFs.",
)
@click.option(
    "--card-size",
    type=click.Choice([size.value for size in CardSize]),
    default=CardSize.STANDARD.value,
    show_default=True,
    help="Flashcard size: 95x65 mm, 3x5 inch index cards, or 85x55 mm business cards.",
)
@click.option(
    "--duplex",
    type=click.Choice([duplex.value for duplex in Duplex]),
    default=Duplex.LONG.value,
    show_default=True,
    help="Flip edge of a duplex printer; 'none' prints all fronts, then all backs.",
)
@click.option(
    "--back-offset",
    default="0,0",
    show_default=True,
    callback=_back_offset,
    metavar="X,Y",
    help="Shift back pages by X,Y mm to correct a printer's front/back registration.",
)
@click.option(
    "--calibrate",
    "calibrate_only",
    is_flag=True,
    help="Write only flashcards-calibration.pdf: print it duplex to measure the --back-offset.",
)
@click.option("--strict", is_flag=True, help="Treat warnings (e.g. overflowing cards) as errors.")
@click.option(
    "--templates",
    "theme",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="A theme: files here replace the built-in templates and stylesheets of the same name "
    "(overrides 'theme:' in bank.yaml).",
)
@click.option(
    "--clean",
    is_flag=True,
    help="Also remove this bank's outputs in OUT that this build did not write "
    "(only files an earlier prepdeck build made and nobody changed since).",
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Keep rendered outputs here and reuse those whose input is unchanged (default: OUT/.cache).",
)
@click.option("--no-cache", is_flag=True, help="Render every output; neither read nor fill the cache.")
@click.option(
    "--cache-size",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_BYTES // 2**20,
    show_default=True,
    metavar="MB",
    help="Bound on the cache; the entries used least recently go first.",
)
@verbose_option
@handle_errors
def build_command(
    content: Path,
    out: Path,
    categories,
    tags,
    difficulties,
    rarities,
    ids,
    subset,
    name,
    only,
    paper,
    card_size,
    duplex,
    back_offset,
    calibrate_only,
    strict,
    theme,
    clean,
    cache_dir,
    no_cache,
    cache_size,
) -> None:
    """Build Anki decks, cheat sheets and flashcards into the output directory.

    With no selection, builds the whole bank and every named subset. Nothing
    in OUT changes unless the whole build succeeds. An output whose input did
    not change since an earlier build is taken from the cache and its file
    left as it is.

    \b
    Examples:
      prepdeck build
      prepdeck build --subset hard --only anki
      prepdeck build --tag parallelism --difficulty hard --name parallel-hard
      prepdeck build --only flashcards --paper letter --duplex short --back-offset 0.5,-1
      prepdeck build --templates mytheme --clean
      prepdeck build --calibrate --paper letter --duplex short
      prepdeck build --no-cache
    """
    request = BuildRequest(
        content=content,
        out=out,
        selection=make_selection(categories, tags, difficulties, rarities, ids),
        subset=subset,
        name=name,
        outputs=frozenset(OutputKind(k) for k in only) or frozenset(OutputKind),
        paper=Paper(paper),
        card_size=CardSize(card_size),
        duplex=Duplex(duplex),
        back_offset=back_offset,
        strict=strict,
        theme=theme,
        clean=clean,
        cache=cache_dir,
        use_cache=not no_cache,
        cache_size=cache_size * 2**20,
    )
    if calibrate_only:
        report = calibrate(request)
        (path,) = report.files
        click.echo(f"  {path}  ({_human_size(path.stat().st_size)})")
        click.echo(
            "print it double-sided at 100 % scale, read X and Y where the lines meet, then build with "
            "--back-offset X,Y"
        )
        return
    progress = None
    if sys.stderr.isatty():

        def progress(message: str) -> None:
            click.echo(f"\r\033[K{message}", err=True, nl=False)

    report = build(request, progress=progress)
    if progress:
        click.echo("\r\033[K", err=True, nl=False)
    _report(report.warnings)
    # A site is one output: its folder is listed once, with its number of files.
    outputs: dict[Path, list[int]] = {}
    for path in report.files:
        parts = path.relative_to(out).parts
        outputs.setdefault(out / parts[0], []).append(path.stat().st_size)
    for path, sizes in outputs.items():
        if len(sizes) == 1 and path.is_file():
            click.echo(f"  {path}  ({_human_size(sizes[0])})")
        else:
            click.echo(f"  {path}/  ({_count(len(sizes), 'file')}, {_human_size(sum(sizes))})")
    total = sum(size for sizes in outputs.values() for size in sizes)
    for path in report.removed:
        click.echo(f"  removed {path}")
    for name in report.damaged:
        click.echo(
            f"prepdeck: warning: the cache entry of {name} was damaged; it was rendered again", err=True
        )
    counts = ", ".join(f"{t.stem}: {len(t.bank.questions)}" for t in report.targets)
    click.echo(
        f"built {_count(len(outputs), 'file')} ({_human_size(total)}) in {report.seconds:.1f} s, "
        f"{len(report.rendered)} rendered, {len(report.reused)} reused [questions per deck: {counts}]"
    )
    for hint in report.hints:
        click.echo(f"prepdeck: hint: {hint}", err=True)


@main.command("release")
@content_option
@click.option("--dry-run", is_flag=True, help="Print what the release would record; write nothing.")
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Exit 1 when the lock is out of date (for CI before tagging); write nothing.",
)
@verbose_option
@handle_errors
def release_command(content: Path, dry_run: bool, check_only: bool) -> None:
    """Record a release: what changed since the last one, in prepdeck.lock and CHANGELOG.md.

    Compares what a build publishes to Anki with the lock beside bank.yaml and
    lists added, changed (with the fields) and retired notes and note-type
    changes; then, under the version in bank.yaml, rewrites the lock and adds
    a section to CHANGELOG.md. Refuses a change to the note types' field or
    template names, which would make Anki import a copy and skip every
    learner's notes.

    \b
    Examples:
      prepdeck release --dry-run
      prepdeck release
      prepdeck release --check --content content
    """
    from generator.release import Mode, release

    if dry_run and check_only:
        raise click.UsageError("--dry-run and --check do not combine")
    mode = Mode.CHECK if check_only else Mode.DRY_RUN if dry_run else Mode.WRITE
    report = release(content, mode)
    for line in report.lines:
        click.echo(printable(line))
    if mode is Mode.CHECK and not report.current:
        sys.exit(1)


@main.command("init")
@click.argument("folder", type=click.Path(path_type=Path))
@verbose_option
@handle_errors
def init_command(folder: Path) -> None:
    """Start a new bank in FOLDER: a small, valid, commented bank to edit.

    Writes bank.yaml, two questions in two categories, a companion example and
    its test, a .gitignore, and JSON Schemas for editors. Refuses to replace
    any file that exists.

    \b
    Example:
      prepdeck init mybank
      prepdeck check --content mybank --strict
      prepdeck build --content mybank --out mybank/build
    """
    written = init_bank(folder)
    shown = printable(str(folder))
    click.echo(f"wrote {_count(len(written), 'file')} to {shown}:")
    for path in written:
        click.echo(f"  {printable(str(path))}")
    click.echo(
        f"next: prepdeck check --content {shown} --strict; prepdeck build --content {shown} "
        f"--out {shown}/build; python -m pytest {shown}/tests"
    )


@main.command("schema")
@click.argument("kind", type=Choice(["bank", "question"], "schema"), required=False)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write bank.schema.json and question.schema.json into this folder instead.",
)
@verbose_option
@handle_errors
def schema_command(kind: str | None, out: Path | None) -> None:
    """Print the JSON Schema of bank.yaml or of a question file, for editors and CI.

    Editors with the YAML language server check and complete a file that starts
    with a line such as '# yaml-language-server: $schema=schema/bank.schema.json'.

    \b
    Examples:
      prepdeck schema bank
      prepdeck schema question > question.schema.json
      prepdeck schema --out mybank/schema
    """
    if out is None:
        if kind is None:
            raise click.UsageError("name a schema (bank or question), or pass --out DIR to write both")
        click.echo(json.dumps(SCHEMAS[f"{kind}.schema.json"](), indent=2))
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, schema in SCHEMAS.items():
        if kind is None or name.startswith(kind):
            (out / name).write_text(json.dumps(schema(), indent=2) + "\n", encoding="utf-8")
            click.echo(f"  {printable(str(out / name))}")


@main.command("serve")
@content_option
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="The port on 127.0.0.1 to serve on; 0 picks a free one.",
)
@verbose_option
@handle_errors
def serve_command(content: Path, port: int) -> None:
    """Preview the study site: build it, serve it on 127.0.0.1 and rebuild it on every edit.

    The site is built into a temporary folder. When a file under the content
    or the templates changes, the edited questions' pages are built again and
    the open page reloads; a problem in the content shows on the page as
    'path:line: error: ...' until it is fixed. Ctrl-C stops the server and
    removes the folder. Nothing listens beyond this machine.

    \b
    Examples:
      prepdeck serve
      prepdeck serve --content mybank --port 8001
    """
    from generator.serve import serve

    def ready(url: str, first) -> None:
        _report(first.problems)
        shown = f"{_count(first.pages, 'page')} in {first.seconds:.2f} s" if not first.problems else "errors"
        click.echo(f"serving {printable(str(content))} at {url} ({shown}); Ctrl-C to stop")
        sys.stdout.flush()

    def rebuilt(report) -> None:
        if report.problems:
            _report(report.problems)
            click.echo(
                f"prepdeck: {GeneratorError(report.problems).summary()}; the page shows them", err=True
            )
        else:
            click.echo(f"rebuilt {_count(report.pages, 'page')} in {report.seconds:.2f} s")
        sys.stdout.flush()

    try:
        serve(content, port, ready=ready, rebuilt=rebuilt)
    except KeyboardInterrupt:
        click.echo("stopped; the temporary site is removed")


if __name__ == "__main__":
    main(prog_name="prepdeck")
