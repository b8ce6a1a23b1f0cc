"""Orchestration: load → validate → select → render → write.

Every command of the CLI is one call into this module, and so is every use of
prepdeck as a library. Nothing is written until all of the bank has loaded,
validated and rendered (mkdocs: "gather all data, then write").
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from generator import logs
from generator.errors import GeneratorError, Problem, Problems
from generator.load import load_content
from generator.lock import Lock, read_lock
from generator.model import Artifact, Bank, OutputKind, Selection
from generator.render import Rendered, RenderOptions
from generator.select import check_selection, describe, select_questions
from generator.theme import builtin_templates, themed
from generator.validate import check_code_width, validate_content
from generator.write import locked, record_outputs, write_artifacts

log = logging.getLogger(__name__)

DEFAULT_TEMPLATES = builtin_templates()
ALL_OUTPUTS = frozenset(OutputKind)
#: Outputs rendered in the build's own process: quick ones, not worth a worker.
IN_PROCESS = frozenset({OutputKind.ANKI, OutputKind.SITE})


@dataclass(frozen=True, slots=True)
class Checked:
    """A validated bank and the warnings found on the way."""

    bank: Bank
    warnings: tuple[Problem, ...]


def check(content: Path, strict: bool = False, code_width: int | None = None) -> Checked:
    """Load and validate the bank in ``content``; raise GeneratorError on any error.

    With ``code_width`` (``prepdeck check`` passes it; builds wrap long lines
    and do not), every shown code line longer than that is a warning too; 0
    means the bank's own ``code_width``. With ``strict``, warnings are errors too.
    """
    problems = Problems()
    loaded = load_content(Path(content), problems)
    bank = validate_content(loaded, problems)
    if bank is not None and code_width is not None:
        check_code_width(bank, code_width or bank.code_width, problems)
    problems.raise_if_errors(strict=strict)
    assert bank is not None  # no errors means validation produced a bank
    return Checked(bank, tuple(problems.warnings))


def select_subset(bank: Bank, selection: Selection, subset: str | None) -> Bank:
    """Return the questions that meet a named subset's criteria and the ad-hoc ones (both must hold).

    The subset is applied first, then the ad-hoc criteria: one merged Selection cannot say
    "a tag below ``parallelism`` and a tag below ``pytorch``", and intersecting two criteria
    that share no value left an empty set, which restricts nothing.
    """
    check_selection(bank, selection, subset)
    if subset is None:
        return select_questions(bank, selection)
    chosen = select_questions(bank, bank.subset(subset).selection)
    try:
        return select_questions(chosen, selection)
    except GeneratorError:
        raise GeneratorError(
            f"the selection (--subset {subset} {describe(selection)}) matches no question"
        ) from None


@dataclass(frozen=True, slots=True)
class Target:
    """One set of outputs: a file stem and the bank it is rendered from."""

    stem: str
    bank: Bank


def plan_targets(bank: Bank, selection: Selection, subset: str | None, name: str | None) -> list[Target]:
    """Return the stems to build.

    With no selection: the whole bank and each named subset. With a subset
    only: that subset. With ad-hoc criteria: one target named ``name``.
    """
    if subset is None and selection.is_empty():
        targets = [Target(bank.slug, bank)]
        targets += [
            Target(f"{bank.slug}-{s.name}", select_questions(bank, s.selection)) for s in bank.subsets
        ]
        return targets
    chosen = select_subset(bank, selection, subset)
    label = name or (subset if selection.is_empty() else "custom")
    return [Target(f"{bank.slug}-{label}", chosen)]


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


def build_epochs(request: BuildRequest, lock: Lock | None) -> tuple[int, int]:
    """Return the build's epoch and the time of notes that differ from the lock.

    Both are ``request.epoch`` when given, else ``source_epoch`` of the bank's
    own directory. Where that falls back to now (no git, a dirty checkout, a
    bank outside any repository), the outputs' dates are the last release's
    time instead, so two builds of a released bank are byte-identical
    anywhere; only a note that differs from the lock is dated now.
    """
    if request.epoch is not None:
        return request.epoch, request.epoch
    found = source_epoch([Path(request.content).resolve()], fallback=-1)
    if found != -1:
        return found, found
    now = int(time.time())
    return (lock.released if lock is not None and not lock.is_empty else now), now


Renderer = Callable[[Bank, str, RenderOptions], Rendered]


def renderer(kind: OutputKind) -> Renderer:
    """Return the render function for an output kind (imported on first use)."""
    if kind is OutputKind.ANKI:
        from generator.render.anki import render_deck

        return render_deck
    if kind is OutputKind.CHEATSHEET:
        from generator.render.cheatsheet import render_cheatsheet

        return render_cheatsheet
    if kind is OutputKind.SITE:
        from generator.render.site import render_site

        return render_site
    from generator.render.flashcards import render_flashcards

    return render_flashcards


def _render_job(job: tuple[OutputKind, Target, RenderOptions]) -> Rendered:
    kind, target, options = job
    return renderer(kind)(target.bank, target.stem, options)


@dataclass(frozen=True, slots=True)
class BuildRequest:
    """What to build; every field has the CLI's default."""

    content: Path = Path("content")
    out: Path = Path("build")
    selection: Selection = field(default_factory=Selection)
    subset: str | None = None
    name: str | None = None
    outputs: frozenset[OutputKind] = ALL_OUTPUTS
    paper: str = "a4"
    card_size: str = "95x65"
    duplex: str = "long"
    back_offset: tuple[float, float] = (0.0, 0.0)
    strict: bool = False
    templates: Path = DEFAULT_TEMPLATES
    theme: Path | None = None  # files that replace templates of the same name; None: bank.yaml's
    clean: bool = False  # remove this bank's outputs in ``out`` that this build did not write
    epoch: int | None = None  # None: see build_epochs()
    jobs: int | None = None  # parallel renders; None: one per core


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a build wrote, for the summary the CLI prints."""

    files: tuple[Path, ...]
    targets: tuple[Target, ...]
    warnings: tuple[Problem, ...]
    epoch: int
    seconds: float
    removed: tuple[Path, ...] = ()
    hints: tuple[str, ...] = ()  # advice about the machine, e.g. a library that makes builds faster


def build(
    request: BuildRequest,
    progress: Callable[[str], None] | None = None,
    on_commit: Callable[[], None] | None = None,
) -> BuildReport:
    """Build every requested output, or raise GeneratorError and leave ``out`` as it was.

    ``on_commit`` is called when every output is rendered and staged, just before
    they replace the old ones (see ``write_artifacts``).
    """
    started = time.perf_counter()
    checked = check(request.content, strict=request.strict)
    log.info("validated %d questions from %s", len(checked.bank.questions), request.content)
    targets = plan_targets(checked.bank, request.selection, request.subset, request.name)
    theme = request.theme
    if theme is None and checked.bank.theme:
        theme = Path(request.content) / checked.bank.theme
    problems = Problems()
    with themed(request.templates, theme, problems) as templates:
        problems.raise_if_errors(strict=request.strict)
        report = _build(request, checked, targets, templates, problems, progress, on_commit)
    return dataclasses.replace(report, seconds=time.perf_counter() - started)


def _build(
    request: BuildRequest,
    checked: Checked,
    targets: list[Target],
    templates: Path,
    theme_problems: Problems,
    progress: Callable[[str], None] | None,
    on_commit: Callable[[], None] | None,
) -> BuildReport:
    started = time.perf_counter()
    released = read_lock(request.content, checked.bank.id)
    epoch, changed_epoch = build_epochs(request, released)
    options = RenderOptions(
        templates=templates,
        epoch=epoch,
        lock=None if released.is_empty else released,
        changed_epoch=changed_epoch,
        bank_ids=frozenset(q.id for q in checked.bank.questions),
        paper=request.paper,
        card_size=request.card_size,
        duplex=request.duplex,
        back_offset=request.back_offset,
    )
    jobs = [(kind, target, options) for target in targets for kind in OutputKind if kind in request.outputs]
    if progress:
        progress(
            f"validated {len(checked.bank.questions)} questions in {time.perf_counter() - started:.1f} s; "
            f"rendering {len(jobs)} files"
        )
    with locked(Path(request.out)) as lock:
        results = _render_all(jobs, request.jobs, progress, inherited=(lock,))
        artifacts: list[Artifact] = [
            dataclasses.replace(a, name=sized_name(a.name, request.paper, request.card_size))
            for rendered in results
            for a in rendered.artifacts
        ]
        # A question in several subsets would repeat its warning once per subset: say it once.
        warnings = list(
            dict.fromkeys(
                [
                    *checked.warnings,
                    *theme_problems.warnings,
                    *(w for rendered in results for w in rendered.warnings),
                ]
            )
        )
        if request.strict and warnings:
            problems = Problems()
            problems.items.extend(warnings)
            problems.raise_if_errors(strict=True)
        files = write_artifacts(Path(request.out), artifacts, on_commit)
        removed = record_outputs(Path(request.out), checked.bank.id, artifacts, clean=request.clean)
    log.info("wrote %d files to %s", len(files), request.out)
    hints = []
    if any(kind not in IN_PROCESS for kind, _, _ in jobs):  # PDFs
        from generator.render.pdf import subsetting_hint

        hints = [hint for hint in [subsetting_hint()] if hint]
    seconds = time.perf_counter() - started
    return BuildReport(
        tuple(files), tuple(targets), tuple(warnings), epoch, seconds, tuple(removed), tuple(hints)
    )


DEFAULT_PAPER = "a4"
DEFAULT_CARD_SIZE = "95x65"


def sized_name(name: str, paper: str, card_size: str) -> str:
    """Return an output's file name with its paper and card size when they are not the defaults.

    ``x-flashcards.pdf`` built on Letter with index cards is ``x-flashcards-letter-index-3x5.pdf``,
    so it never overwrites (or passes for) the default build's file.
    """
    stem, dot, suffix = name.rpartition(".")
    if suffix != "pdf":
        return name
    parts = [paper] if paper != DEFAULT_PAPER else []
    if stem.endswith("-flashcards") and card_size != DEFAULT_CARD_SIZE:
        parts.append(card_size)
    return "-".join([stem, *parts]) + dot + suffix


def calibrate(request: BuildRequest) -> BuildReport:
    """Write the duplex calibration sheet for the request's paper, card size, duplex mode and offset.

    The sheet does not depend on the bank, which is not read. Its readings go
    straight into ``--back-offset`` (see ``render.flashcards.render_calibration``).
    """
    from generator.render.flashcards import render_calibration

    started = time.perf_counter()
    epoch = request.epoch
    if epoch is None:
        epoch = source_epoch([Path(request.templates)])
    options = RenderOptions(
        templates=request.templates,
        epoch=epoch,
        paper=request.paper,
        card_size=request.card_size,
        duplex=request.duplex,
        back_offset=request.back_offset,
    )
    try:
        rendered = render_calibration(options)
    except ValueError as exc:
        raise GeneratorError(str(exc)) from None
    Path(request.out).mkdir(parents=True, exist_ok=True)
    with locked(Path(request.out)):
        files = write_artifacts(Path(request.out), list(rendered.artifacts))
    return BuildReport(tuple(files), (), rendered.warnings, epoch, time.perf_counter() - started)


def _render_all(
    jobs: list, workers: int | None, progress: Callable[[str], None] | None, inherited: tuple[int, ...] = ()
) -> list[Rendered]:
    """Render every job; PDFs go to worker processes when there is more than one core.

    ``inherited`` are descriptors the workers must close (the output directory's lock).
    If anything fails or a signal interrupts the build, queued renders are cancelled
    and running ones stopped, so the build ends now rather than after them.
    """
    workers = workers or os.cpu_count() or 1
    pdf_jobs = [job for job in jobs if job[0] not in IN_PROCESS]
    results: dict[int, Rendered] = {}

    def done(index: int, rendered: Rendered) -> None:
        results[index] = rendered
        if progress:
            names = ", ".join(dict.fromkeys(a.name.split("/")[0] for a in rendered.artifacts))
            progress(f"rendered {len(results)}/{len(jobs)} files: {names}")

    if workers > 1 and len(pdf_jobs) > 1:
        # Import the PDF renderers (WeasyPrint: ~0.6 s) once, here, so that the
        # forked workers inherit them instead of each importing them again.
        for kind in {job[0] for job in pdf_jobs}:
            renderer(kind)
        stats = [(handle, os.fstat(handle)) for handle in inherited]
        shared = tuple((handle, info.st_dev, info.st_ino) for handle, info in stats)
        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(pdf_jobs)),
            mp_context=worker_context(),
            initializer=_start_worker,
            initargs=(os.getpid(), shared, logs.configured()),
        )
        try:
            futures = {
                index: pool.submit(_render_job, job)
                for index, job in enumerate(jobs)
                if job[0] not in IN_PROCESS
            }
            for index, job in enumerate(jobs):
                if job[0] in IN_PROCESS:
                    done(index, _render_job(job))
            for index, future in futures.items():
                done(index, future.result())
        except BrokenProcessPool:
            _stop(pool)
            raise GeneratorError(
                "a PDF render process ended unexpectedly (out of memory, or killed); nothing was written"
            ) from None
        except BaseException:
            _stop(pool)
            raise
        finally:
            pool.shutdown(wait=True)
    else:
        for index, job in enumerate(jobs):
            done(index, _render_job(job))
    return [results[index] for index in range(len(jobs))]


def worker_context() -> multiprocessing.context.BaseContext:
    """Return how render workers start: the application's choice if it made one, else fork on Linux.

    Forked workers inherit the imported renderers (WeasyPrint takes ~0.6 s to
    import) and start at once. Python 3.14 made forkserver the default on Linux,
    and macOS defaults to spawn (fork is unsafe there); both work too, only
    slower to start, and so does whatever ``multiprocessing.set_start_method``
    chose. Nothing about the outputs depends on the method.
    """
    method = multiprocessing.get_start_method(allow_none=True)
    if method is None and sys.platform == "linux":
        method = "fork"
    return multiprocessing.get_context(method)


def _start_worker(parent: int, inherited: tuple[tuple[int, int, int], ...], verbose: bool | None) -> None:
    """Set up a render worker: no lock, no signal handling of its own, no life after its parent.

    A forked worker shares the parent's open files, and with them the flock on
    the output directory; closing its copy leaves the lock to the parent alone
    (``inherited`` is (descriptor, device, inode): a worker that was not forked
    has no such descriptor, and must not close whatever has its number). Ctrl-C
    reaches the whole process group, and the parent stops the workers itself.
    ProcessPoolExecutor's workers outlive a parent killed with SIGKILL (they
    wait for work forever), so each one watches for that and exits. Logging is
    set up as the parent's (``verbose``; None: left alone).
    """
    for handle, device, inode in inherited:
        with contextlib.suppress(OSError):
            info = os.fstat(handle)
            if (info.st_dev, info.st_ino) == (device, inode):
                os.close(handle)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if verbose is not None:
        logs.configure(verbose)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """Exit the worker as soon as the build process ``parent`` is gone, however the worker was started.

    ``parent_process().sentinel`` is a pipe whose other end only the starting
    process holds (under fork, workers forked later hold it too, and so each
    notices once they are gone); a forked worker also sees its parent id change
    at once. The parent id alone is not enough: under forkserver the worker's
    parent is the fork server, not the build.
    """
    starter = multiprocessing.parent_process()
    sentinels = [starter.sentinel] if starter is not None else []
    forked = os.getppid() == parent
    while not multiprocessing.connection.wait(sentinels, timeout=0.2):
        if forked and os.getppid() != parent:
            break
    os._exit(1)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued jobs and terminate the running workers of ``pool``.

    Before Python 3.14 there is no public way to stop a running job, and
    ``shutdown()`` forgets the workers: take them first and terminate them.
    Then wait for the pool's manager thread, which ends at once without
    workers: left running, its cleanup races the interpreter's exit hook,
    which prints "OSError: Bad file descriptor" (``_python_exit`` in
    concurrent/futures/process.py wakes it without the pool's lock).
    """
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)
