"""Orchestration: load → validate → select → render → write.

Every command of the CLI is one call into this module, and so is every use of
prepdeck as a library. Nothing is written until all of the bank has loaded,
validated and rendered (mkdocs: "gather all data, then write"). Which renderer
makes which output is ``render.RENDERERS``; the dates come from ``epochs``;
worker processes and signals are ``workers``; atomic writes are ``write``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from generator.cache import CACHE_DIR, DEFAULT_MAX_BYTES, ActionCache, Outcome, engine_version, render_output
from generator.epochs import build_epochs, source_epoch
from generator.errors import GeneratorError, Problem, Problems
from generator.load import load_content
from generator.lock import read_lock
from generator.model import Artifact, Bank, CardSize, Duplex, OutputKind, Paper, Selection
from generator.render import RENDERERS, Rendered, RenderOptions, renderer
from generator.select import check_selection, describe, select_questions
from generator.theme import builtin_templates, themed
from generator.validate import check_code_width, validate_content
from generator.workers import checkpoint, run_all
from generator.write import locked, record_outputs, write_artifacts

log = logging.getLogger(__name__)

DEFAULT_TEMPLATES = builtin_templates()
ALL_OUTPUTS = frozenset(OutputKind)
#: A PDF of more questions is laid out alone, in a process of its own (``workers.run_all``):
#: a cheat sheet holds about 0.4 MB per question while it is laid out.
HEAVY_QUESTIONS = 250


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


@dataclass(frozen=True, slots=True)
class BuildRequest:
    """What to build; every field has the CLI's default."""

    content: Path = Path("content")
    out: Path = Path("build")
    selection: Selection = field(default_factory=Selection)
    subset: str | None = None
    name: str | None = None
    outputs: frozenset[OutputKind] = ALL_OUTPUTS
    paper: Paper = Paper.A4
    card_size: CardSize = CardSize.STANDARD
    duplex: Duplex = Duplex.LONG
    back_offset: tuple[float, float] = (0.0, 0.0)
    strict: bool = False
    templates: Path = DEFAULT_TEMPLATES
    theme: Path | None = None  # files that replace templates of the same name; None: bank.yaml's
    clean: bool = False  # remove this bank's outputs in ``out`` that this build did not write
    epoch: int | None = None  # None: see build_epochs()
    jobs: int | None = None  # parallel renders; None: one per core
    cache: Path | None = None  # the action cache's folder; None: ``out/.cache``
    use_cache: bool = True  # False: render every output, and neither read nor fill the cache
    cache_size: int = DEFAULT_MAX_BYTES  # bytes; the least recently used entries go beyond it

    @property
    def cache_dir(self) -> Path | None:
        """Return the cache folder this build uses, or None without a cache."""
        if not self.use_cache:
            return None
        return Path(self.out) / CACHE_DIR if self.cache is None else Path(self.cache)


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
    # Each output (a file, or a site's folder) by name, as rendered by this build or taken from the cache.
    rendered: tuple[str, ...] = ()
    reused: tuple[str, ...] = ()
    damaged: tuple[str, ...] = ()  # outputs whose cache entry failed its checksum, and were rendered


def build(request: BuildRequest, progress: Callable[[str], None] | None = None) -> BuildReport:
    """Build every requested output, or raise GeneratorError and leave ``out`` as it was."""
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
        report = _build(request, checked, targets, templates, problems, progress or (lambda message: None))
    return dataclasses.replace(report, seconds=time.perf_counter() - started)


def _build(
    request: BuildRequest,
    checked: Checked,
    targets: list[Target],
    templates: Path,
    theme_problems: Problems,
    progress: Callable[[str], None],
) -> BuildReport:
    started = time.perf_counter()
    options = render_options(request, checked.bank, templates)
    kinds = [kind for kind in OutputKind if kind in request.outputs]
    cache = request.cache_dir
    store = None if cache is None else (cache, request.cache_size)
    jobs = [Job(kind, target, options, store) for target in targets for kind in kinds]
    progress(
        f"validated {len(checked.bank.questions)} questions in {time.perf_counter() - started:.1f} s; "
        f"rendering {len(jobs)} files"
    )
    checkpoint("validated")
    with locked(Path(request.out)) as lock:
        outcomes = render_all(jobs, request.jobs, progress, inherited=(lock,))
        results = [outcome.rendered for outcome in outcomes]
        checkpoint("rendered")
        artifacts: list[Artifact] = [
            dataclasses.replace(a, name=sized_name(a.name, request.paper, request.card_size))
            for rendered in results
            for a in rendered.artifacts
        ]
        warnings = _warnings(checked, theme_problems, results, jobs, strict=request.strict)
        files = write_artifacts(Path(request.out), artifacts)
        removed = record_outputs(Path(request.out), checked.bank.id, artifacts, clean=request.clean)
        if cache is not None:
            keep(ActionCache(cache, request.cache_size), outcomes)
    rendered, reused, damaged = _reuse(request, outcomes)
    log.info("wrote %d files to %s", len(files), request.out)
    log.info("rendered %d outputs, reused %d from the cache", len(rendered), len(reused))
    log.debug("rendered: %s", ", ".join(rendered) or "nothing")
    for name in damaged:
        log.info("the cache entry of %s was damaged; it was rendered again", name)
    seconds = time.perf_counter() - started
    return BuildReport(
        tuple(files),
        tuple(targets),
        tuple(warnings),
        options.epoch,
        seconds,
        tuple(removed),
        hints(jobs),
        rendered=rendered,
        reused=reused,
        damaged=damaged,
    )


def _warnings(
    checked: Checked, theme_problems: Problems, results: list[Rendered], jobs: list[Job], strict: bool
) -> list[Problem]:
    """Return the build's warnings, each once; raise them as errors under ``strict``.

    A question in several subsets would repeat its warning once per subset, and
    its missing glyphs once per PDF: each is said once.
    """
    warnings = list(
        dict.fromkeys(
            [
                *checked.warnings,
                *theme_problems.warnings,
                *(w for rendered in results for w in rendered.warnings),
            ]
        )
    )
    if any(RENDERERS[job.kind].slow for job in jobs):
        from generator.render.fonts import merge_missing

        warnings = merge_missing(warnings)
    if strict and warnings:
        problems = Problems()
        problems.items.extend(warnings)
        problems.raise_if_errors(strict=True)
    return warnings


def _reuse(request: BuildRequest, outcomes: list[Outcome]) -> tuple[tuple[str, ...], ...]:
    """Return the output names that were rendered, reused from the cache, and found damaged there."""
    names = [sized_name(outcome.name, request.paper, request.card_size) for outcome in outcomes]
    pairs = list(zip(names, outcomes, strict=True))
    return (
        tuple(name for name, outcome in pairs if not outcome.reused),
        tuple(name for name, outcome in pairs if outcome.reused),
        tuple(name for name, outcome in pairs if outcome.damaged),
    )


def render_options(request: BuildRequest, bank: Bank, templates: Path) -> RenderOptions:
    """Return what every renderer of this build gets: the templates, the dates, the print options."""
    released = read_lock(request.content, bank.id)
    epoch, changed_epoch = build_epochs(request.content, request.epoch, released)
    return RenderOptions(
        templates=templates,
        epoch=epoch,
        lock=None if released.is_empty else released,
        changed_epoch=changed_epoch,
        bank_ids=frozenset(q.id for q in bank.questions),
        paper=request.paper,
        card_size=request.card_size,
        duplex=request.duplex,
        back_offset=request.back_offset,
    )


@dataclass(frozen=True, slots=True)
class Job:
    """One output to render: an output kind for one target, and the cache (folder, size bound) if any."""

    kind: OutputKind
    target: Target
    options: RenderOptions
    cache: tuple[Path, int] | None = None


def render_job(job: Job) -> Outcome:
    """Render one job, or take it from the cache (in this process or a worker)."""
    cache = None if job.cache is None else ActionCache(*job.cache)
    return render_output(job.kind, renderer(job.kind), job.target.bank, job.target.stem, job.options, cache)


def keep(cache: ActionCache, outcomes: list[Outcome]) -> None:
    """Store what this build rendered in ``cache``, then bring the cache within its bound.

    Only a build that wrote its outputs gets here: a failed build leaves the
    cache as it was (but for damaged entries, which are gone).
    """
    for outcome in outcomes:
        if outcome.entry is not None:
            cache.put(*outcome.entry)
    cache.evict()


def render_all(
    jobs: list[Job], workers: int | None, progress: Callable[[str], None], inherited: tuple[int, ...] = ()
) -> list[Outcome]:
    """Render every job, the slow ones (PDFs) in worker processes when there is more than one core.

    The renderers are imported here, once, so forked workers inherit them, and
    so is the cache's engine version. ``inherited`` are descriptors the workers
    must close (the output directory's lock).
    """
    for kind in {job.kind for job in jobs}:
        renderer(kind)
    if any(job.cache is not None for job in jobs):
        engine_version()
    finished = reused = 0

    def done(index: int, outcome: Outcome) -> None:
        nonlocal finished, reused
        finished += 1
        reused += outcome.reused
        counts = f"{finished - reused} rendered, {reused} reused"
        progress(f"{finished}/{len(jobs)} files ({counts}): {outcome.name}")

    return run_all(
        jobs,
        render_job,
        slow=lambda job: RENDERERS[job.kind].slow,
        workers=workers or os.cpu_count() or 1,
        done=done,
        inherited=inherited,
        heavy=lambda job: RENDERERS[job.kind].slow and len(job.target.bank.questions) > HEAVY_QUESTIONS,
    )


def hints(jobs: list[Job]) -> tuple[str, ...]:
    """Return advice about this machine for the jobs that ran (e.g. a library that makes PDFs faster)."""
    if not any(RENDERERS[job.kind].slow for job in jobs):
        return ()
    from generator.render.pdf import subsetting_hint

    hint = subsetting_hint()
    return (hint,) if hint else ()


def sized_name(name: str, paper: Paper, card_size: CardSize) -> str:
    """Return an output's file name with its paper and card size when they are not the defaults.

    ``x-flashcards.pdf`` built on Letter with index cards is ``x-flashcards-letter-index-3x5.pdf``,
    so it never overwrites (or passes for) the default build's file.
    """
    stem, dot, suffix = name.rpartition(".")
    if suffix != "pdf":
        return name
    parts = [str(paper)] if paper != Paper.A4 else []
    if stem.endswith("-flashcards") and card_size != CardSize.STANDARD:
        parts.append(str(card_size))
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
