"""All-or-nothing builds: a failed, interrupted or concurrent build never touches earlier outputs.

Every test starts from the outputs of a real earlier build (plus a learner's
own file) and then runs a build whose outputs would differ (a later epoch or
edited content), so "unchanged" cannot pass by accident: every earlier file
must keep its bytes and its inode (it was never replaced), and no staging
directory may remain. Builds are interrupted in process (a renderer, a worker
process or a rename fails) and from outside (SIGTERM and SIGKILL sent to a
running ``prepdeck build``).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import multiprocessing
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from bank_support import EPOCH, ROOT, built, header, leftovers, question, write_bank
from click.testing import CliRunner

import generator.build as build_module
import generator.write as write_module
from generator.build import BuildRequest, build
from generator.cli import main
from generator.errors import GeneratorError
from generator.model import OutputKind
from generator.workers import CHECKPOINTS, PAUSE_VARIABLE

LATER = EPOCH + 86_400
PREPDECK = Path(sys.executable).with_name("prepdeck")

#: The learner's own file in the output directory; no build may touch it.
NOTES = "my-notes.txt"


def two_target_bank(root: Path) -> Path:
    """Write a bank of two questions and one subset: two targets, six outputs."""
    return write_bank(root, bank=header(subsets=[{"name": "hard", "difficulty": ["hard"]}]))


def state(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Return every output below ``directory`` with its bytes and inode."""
    return {name: (data, (directory / name).stat().st_ino) for name, data in built(directory).items()}


@pytest.fixture(scope="module")
def first_build(tmp_path_factory) -> tuple[Path, Path]:
    """Build the two-target bank once; return (content, outputs)."""
    root = tmp_path_factory.mktemp("first")
    content = two_target_bank(root)
    out = root / "out"
    build(BuildRequest(content=content, out=out, epoch=EPOCH, jobs=1))
    (out / NOTES).write_text("my own notes\n")
    return content, out


@pytest.fixture
def earlier(first_build, tmp_path: Path) -> tuple[Path, Path, dict]:
    """Return (content, out, state of out): a private copy of the first build's outputs."""
    content, out = first_build
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    return content, copy, state(copy)


EXPECTED_FILES = sorted(
    [
        NOTES,
        ".built-by-prepdeck.json",  # what prepdeck wrote, for --clean
        "test.apkg",
        "test-cheatsheet.pdf",
        "test-flashcards.pdf",
        "test-hard.apkg",
        "test-hard-cheatsheet.pdf",
        "test-hard-flashcards.pdf",
        *(
            f"{stem}-site/{name}"
            for stem, ids in (("test", ("q1", "q2")), ("test-hard", ("q2",)))
            for name in (
                "index.html",
                "quiz.html",
                *(f"q/{i}.html" for i in ids),
                *(f"assets/{a}" for a in ("card.css", "search-index.js", "site.css", "site.js", "theme.js")),
            )
        ),
    ]
)


def test_earlier_build_wrote_every_output(earlier):
    _, _, before = earlier
    assert sorted(before) == EXPECTED_FILES


def failing_renderer(monkeypatch, kind: OutputKind, error: BaseException, stem: str = "test-hard") -> None:
    """Make the renderer of ``kind`` raise ``error`` for ``stem`` (by default the last target)."""
    real = build_module.renderer

    def patched(asked: OutputKind):
        render = real(asked)
        if asked is not kind:
            return render

        def fail(bank, target_stem, options):
            if target_stem == stem:
                raise error
            return render(bank, target_stem, options)

        return fail

    # Forked render workers inherit the patched module, so this reaches them too.
    monkeypatch.setattr(build_module, "renderer", patched)


@pytest.mark.parametrize("jobs", [1, 2], ids=["in-process", "parallel"])
@pytest.mark.parametrize("kind", list(OutputKind), ids=[k.value for k in OutputKind])
def test_a_failing_renderer_leaves_earlier_outputs_unchanged(kind, jobs, earlier, monkeypatch):
    content, out, before = earlier
    failing_renderer(monkeypatch, kind, RuntimeError("renderer bug"))

    with pytest.raises(RuntimeError, match="renderer bug"):
        build(BuildRequest(content=content, out=out, epoch=LATER, jobs=jobs))

    assert state(out) == before
    assert leftovers(out) == []


@pytest.mark.parametrize(
    "error",
    [GeneratorError("two notes would share a GUID"), KeyboardInterrupt(), SystemExit(143), MemoryError()],
    ids=["generator-error", "keyboard-interrupt", "system-exit", "memory-error"],
)
@pytest.mark.parametrize("jobs", [1, 2], ids=["in-process", "parallel"])
def test_any_exception_while_rendering_leaves_earlier_outputs_unchanged(error, jobs, earlier, monkeypatch):
    content, out, before = earlier
    failing_renderer(monkeypatch, OutputKind.FLASHCARDS, error)

    with pytest.raises(type(error)):
        build(BuildRequest(content=content, out=out, epoch=LATER, jobs=jobs))

    assert state(out) == before
    assert leftovers(out) == []


def test_a_render_worker_that_dies_is_a_clear_error(earlier, monkeypatch):
    content, out, before = earlier
    parent = os.getpid()
    real = build_module.renderer

    def patched(kind):
        render = real(kind)

        def die(bank, stem, options):
            if os.getpid() != parent and kind is OutputKind.FLASHCARDS:
                os._exit(9)  # as if the OOM killer had struck
            return render(bank, stem, options)

        return die

    monkeypatch.setattr(build_module, "renderer", patched)

    with pytest.raises(GeneratorError, match="render process ended unexpectedly"):
        build(BuildRequest(content=content, out=out, epoch=LATER, jobs=2))

    assert state(out) == before
    assert leftovers(out) == []


def wait_until(condition, what: str, timeout: float = 60) -> None:
    """Poll ``condition`` until it holds; fail, naming ``what``, if it does not within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.02)


def test_an_interrupted_parallel_build_stops_its_running_renders_at_once(earlier, monkeypatch, tmp_path):
    content, out, before = earlier
    started, finished = tmp_path / "started", tmp_path / "finished"
    parent = os.getpid()
    real = build_module.renderer

    def patched(kind):
        render = real(kind)

        def run(bank, stem, options):
            if os.getpid() != parent:  # a PDF in a worker, which would take a long time
                started.touch()
                threading.Event().wait(120)  # ended by the build, long before this
                finished.write_text("a render of an interrupted build ran to its end")
            elif stem == "test-hard":  # the second deck: interrupt once a worker is rendering
                wait_until(started.exists, "a worker to start rendering")
                raise KeyboardInterrupt
            return render(bank, stem, options)

        return run

    monkeypatch.setattr(build_module, "renderer", patched)

    with pytest.raises(KeyboardInterrupt):
        build(BuildRequest(content=content, out=out, epoch=LATER, jobs=2))

    # Had the build waited for its running renders, they would have finished.
    assert multiprocessing.active_children() == []
    assert not finished.exists()
    assert state(out) == before
    assert leftovers(out) == []


def test_a_large_banks_pdfs_render_one_at_a_time(earlier, monkeypatch, tmp_path):
    """Heavy PDFs (a large bank's, hundreds of MB each) never lay out side by side, even with two workers.

    They render first, one after another, each in a process of its own that
    ends with it (and so frees its memory), while the build itself renders
    nothing: its decks and sites follow, so they never sit in its heap beside
    a layout. Each render logs when it starts and ends, and in which process.
    """
    content, out, _ = earlier
    log = tmp_path / "log"
    real = build_module.renderer

    def patched(kind):
        render = real(kind)

        def run(bank, stem, options):
            with log.open("a") as stream:
                stream.write(f"start {stem} {kind.value} {os.getpid()}\n")
            rendered = render(bank, stem, options)
            with log.open("a") as stream:
                stream.write(f"end {stem} {kind.value} {os.getpid()}\n")
            return rendered

        return run

    monkeypatch.setattr(build_module, "renderer", patched)
    monkeypatch.setattr(build_module, "HEAVY_QUESTIONS", 0)

    report = build(BuildRequest(content=content, out=out, epoch=LATER, jobs=2, use_cache=False))

    events = [line.split() for line in log.read_text().splitlines()]
    pdfs = [e for e in events if e[2] in (OutputKind.CHEATSHEET.value, OutputKind.FLASHCARDS.value)]
    assert len(pdfs) == 8  # four PDFs, each started and ended
    assert events[:8] == pdfs  # before anything else
    assert [e[0] for e in pdfs] == ["start", "end"] * 4  # never two at once
    assert all(start[1:] == end[1:] for start, end in zip(pdfs[::2], pdfs[1::2], strict=True))
    assert len({e[3] for e in pdfs} | {str(os.getpid())}) == 5  # four processes, none of them the build
    assert {e[3] for e in events[8:]} == {str(os.getpid())}  # decks and sites, here, after
    assert len(report.rendered) == 8  # two targets' decks, sheets, flashcards and sites
    assert report.reused == ()


def test_the_same_failure_through_the_cli_is_a_message_and_status_1(earlier, monkeypatch):
    content, out, before = earlier
    failing_renderer(
        monkeypatch, OutputKind.CHEATSHEET, GeneratorError("cheat sheet cannot be laid out"), stem="test"
    )
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(LATER))

    result = CliRunner().invoke(main, ["build", "--content", str(content), "--out", str(out)])

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-2:] == ["error: cheat sheet cannot be laid out", "prepdeck: 1 error"]
    assert state(out) == before


@pytest.mark.parametrize("fail_at", [1, 3, 6], ids=["first-rename", "middle-rename", "last-rename"])
@pytest.mark.parametrize(
    "error",
    [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()],
    ids=["disk-full", "interrupted"],
)
def test_a_failure_among_the_renames_puts_every_earlier_output_back(fail_at, error, earlier, monkeypatch):
    content, out, before = earlier
    real_replace = os.replace
    calls = []

    def replace(source, target):
        calls.append(target)
        if len(calls) == fail_at:
            raise error
        return real_replace(source, target)

    monkeypatch.setattr(write_module.os, "replace", replace)

    with pytest.raises(GeneratorError if isinstance(error, OSError) else KeyboardInterrupt) as caught:
        build(BuildRequest(content=content, out=out, epoch=LATER, jobs=1))

    # The renames before the failing one happened, and each was undone by one more.
    assert len(calls) == fail_at + (fail_at - 1)
    if isinstance(error, OSError):
        assert "No space left on device" in str(caught.value)
        assert f"{out} is unchanged" in str(caught.value)
    assert built(out) == {name: data for name, (data, _) in before.items()}
    assert leftovers(out) == []


def test_a_directory_in_the_way_fails_before_anything_is_replaced(earlier):
    content, out, before = earlier
    (out / "test-hard.apkg").unlink()
    (out / "test-hard.apkg").mkdir()
    before = state(out)

    with pytest.raises(GeneratorError, match="a directory of that name is in the way"):
        build(BuildRequest(content=content, out=out, epoch=LATER, jobs=1))

    assert state(out) == before
    assert leftovers(out) == []


def test_invalid_content_never_creates_or_touches_the_output_directory(tmp_path: Path):
    content = write_bank(tmp_path, [question(1, category="gamma")])
    out = tmp_path / "out"

    with pytest.raises(GeneratorError, match="unknown category 'gamma'"):
        build(BuildRequest(content=content, out=out, epoch=EPOCH, jobs=1))

    assert not out.exists()


def test_a_failed_build_removes_the_output_directory_it_created(tmp_path: Path, monkeypatch):
    content = write_bank(tmp_path)
    out = tmp_path / "new" / "out"
    failing_renderer(monkeypatch, OutputKind.FLASHCARDS, RuntimeError("late failure"), stem="test")

    with pytest.raises(RuntimeError):
        build(BuildRequest(content=content, out=out, epoch=EPOCH, jobs=1))

    assert not out.exists()


def test_stale_staging_is_removed_by_the_next_build_even_a_failing_one(earlier, monkeypatch):
    content, out, before = earlier
    stale = out / ".prepdeck-staging-k1ll3d"
    (stale / "new").mkdir(parents=True)
    (stale / "new" / "test.apkg").write_bytes(b"half a deck")
    failing_renderer(monkeypatch, OutputKind.ANKI, RuntimeError("still broken"))

    with pytest.raises(RuntimeError):
        build(BuildRequest(content=content, out=out, epoch=LATER, jobs=1))

    assert leftovers(out) == []
    assert state(out) == before


def test_a_successful_build_replaces_outputs_and_keeps_the_learners_files(earlier):
    content, out, before = earlier

    report = build(BuildRequest(content=content, out=out, epoch=LATER, jobs=2))

    after = state(out)
    assert sorted(after) == EXPECTED_FILES
    assert after[NOTES] == before[NOTES]
    # The epoch is in every deck and PDF (a site records no date).
    dated = [p for p in report.files if p.parent == out]
    assert len(dated) == 6 and all(after[p.name][0] != before[p.name][0] for p in dated)
    assert leftovers(out) == []


# --- The lock -----------------------------------------------------------------------------------


def test_a_build_fails_fast_while_another_holds_the_output_directory(earlier):
    content, out, before = earlier
    handle = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # Waiting for the lock would hang here: the lock is released only after this returns.
        result = CliRunner().invoke(main, ["build", "--content", str(content), "--out", str(out)])
    finally:
        os.close(handle)

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: another prepdeck build is writing to {out}; wait for it to finish",
        "prepdeck: 1 error",
    ]
    assert state(out) == before
    assert leftovers(out) == []


# --- Strict mode --------------------------------------------------------------------------------


def test_strict_check_turns_a_warning_into_an_error(tmp_path: Path, monkeypatch):
    write_bank(tmp_path, [question(1), question(2, examples=[])])
    monkeypatch.chdir(tmp_path)
    warning = "content/questions/q2.yaml:1: {}: question 'q2': no code example; add one under 'examples'"

    lenient = CliRunner().invoke(main, ["check"])
    strict = CliRunner().invoke(main, ["check", "--strict"])

    assert lenient.exit_code == 0
    assert lenient.stderr.splitlines() == [warning.format("warning")]
    assert strict.exit_code == 1
    assert strict.stdout == ""
    assert strict.stderr.splitlines() == [warning.format("error"), "prepdeck: 1 error in 1 file"]


def test_strict_build_fails_on_a_warning_and_leaves_outputs_unchanged(earlier, tmp_path, monkeypatch):
    _, out, before = earlier
    warned = write_bank(tmp_path / "strict", [question(1), question(2, examples=[])])
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(LATER))

    result = CliRunner().invoke(main, ["build", "--strict", "--content", str(warned), "--out", str(out)])

    assert result.exit_code == 1
    assert "error: question 'q2': no code example" in result.stderr
    assert state(out) == before


def test_ci_runs_the_strict_check():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^test:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe is not None
    assert "prepdeck check --strict --content content" in recipe.group(1)
    workflow = (ROOT / ".github" / "workflows" / "build.yml").read_text(encoding="utf-8")
    assert "run: make test" in workflow


# --- Real processes: signals and a concurrent build ----------------------------------------------


#: Runs the CLI after choosing how multiprocessing starts processes, as an application may
#: (Python 3.14 defaults to forkserver on Linux, macOS to spawn).
WITH_START_METHOD = (
    "import multiprocessing, sys; multiprocessing.set_start_method(sys.argv[1]); "
    "from generator.cli import main; main(sys.argv[2:], prog_name='prepdeck')"
)


class Running:
    """A ``prepdeck build`` in its own session, its stderr on a terminal so it prints progress.

    With ``start_method``, the program first sets multiprocessing's start method;
    with ``pause_at``, the build stops at that checkpoint (``workers.CHECKPOINTS``)
    until it gets a signal.
    """

    def __init__(
        self,
        content: Path,
        out: Path,
        epoch: int,
        start_method: str | None = None,
        pause_at: str | None = None,
    ):
        self.master, slave = pty.openpty()
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch), "COLUMNS": "200"}
        if pause_at is not None:
            env[PAUSE_VARIABLE] = pause_at
        program = [str(PREPDECK)]
        if start_method is not None:
            program = [sys.executable, "-c", WITH_START_METHOD, start_method]
        self.process = subprocess.Popen(
            [*program, "build", "--content", str(content), "--out", str(out)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.output = ""

    def wait_for(self, pattern: str, timeout: float = 120) -> None:
        """Read the terminal until ``pattern`` appears."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.output):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {pattern!r} in {self.output!r}"
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the terminal closed: the process ended
                    chunk = b""
                assert chunk, f"ended before {pattern!r}: {self.output!r}"
                self.output += chunk.decode(errors="replace")

    def finish(self, timeout: float = 60) -> int:
        """Wait for the build to end; return its status and keep the rest of its terminal output."""
        code = self.process.wait(timeout=timeout)
        while select.select([self.master], [], [], 0.1)[0]:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                break
            if not chunk:
                break
            self.output += chunk.decode(errors="replace")
        return code

    def session(self) -> list[int]:
        """Return the live (not zombie) processes of the build's session: it and its workers."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            state_, session = fields[0], int(fields[3])
            if session == self.process.pid and state_ != "Z":
                found.append(int(entry.name))
        return found

    def close(self) -> None:
        """Stop whatever is left of the session (only on a failed test) and release the terminal."""
        for pid in self.session():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        os.close(self.master)


def wait_until_gone(running: Running, timeout: float = 10) -> list[int]:
    deadline = time.monotonic() + timeout
    while running.session() and time.monotonic() < deadline:
        time.sleep(0.05)
    return running.session()


@dataclass(frozen=True)
class Busy:
    """A bank of two targets (8 outputs, 4 PDFs for two render workers), edited since its outputs were built.

    Checkpoints, not timing, choose when a test signals a build, so the bank
    needs no size of its own to be caught in the middle of rendering.
    """

    content: Path
    out: Path  # a private copy of the earlier outputs, with the learner's file
    before: dict[str, tuple[bytes, int]]  # state(out)
    completed: dict[str, bytes]  # what out holds once a build of the edited content completes


@pytest.fixture(scope="module")
def busy_bank(tmp_path_factory) -> tuple[Path, Path, dict[str, bytes]]:
    """Return (content, earlier outputs, the bytes a build of the edited content writes)."""
    root = tmp_path_factory.mktemp("busy")
    subsets = [{"name": "alpha", "category": ["alpha"]}]
    questions = [
        question(n, category="alpha" if n % 2 else "beta", difficulty=("easy", "medium", "hard")[n % 3])
        for n in range(1, 7)
    ]
    content = write_bank(root, questions, bank=header(subsets=subsets))
    build(BuildRequest(content=content, out=root / "earlier", epoch=EPOCH, jobs=2))
    (root / "earlier" / NOTES).write_text("my own notes\n")
    questions[0]["answer"] = "An edited answer, so every deck and sheet would change."
    write_bank(root, questions, bank=header(subsets=subsets))
    subprocess.run(
        [str(PREPDECK), "build", "--content", str(content), "--out", str(root / "expected")],
        check=True, capture_output=True, env={**os.environ, "SOURCE_DATE_EPOCH": str(LATER)}, timeout=300,
    )  # fmt: skip
    return content, root / "earlier", built(root / "expected")


@pytest.fixture
def busy(busy_bank, tmp_path: Path) -> Busy:
    content, earlier, expected = busy_bank
    out = tmp_path / "out"
    shutil.copytree(earlier, out)
    before = state(out)
    return Busy(content, out, before, {**expected, NOTES: before[NOTES][0]})


def interrupt(busy: Busy, point: str, signum: int, group: bool = False, start_method: str | None = None):
    """Run a build of ``busy`` paused at ``point``, send it ``signum``; return (status, output)."""
    running = Running(busy.content, busy.out, LATER, start_method=start_method, pause_at=point)
    try:
        running.wait_for(f"prepdeck: paused at {point}")
        if group:
            os.killpg(running.process.pid, signum)  # the build and its render workers
        else:
            running.process.send_signal(signum)
        code = running.finish()
        # Killed, the build cannot stop its workers: they notice they are orphans and exit.
        assert wait_until_gone(running) == [], running.output
    finally:
        running.close()
    return code, running.output


#: SIGTERM at each checkpoint, and what it must give. Before the renames the build stops and
#: nothing changes; from the first rename on the signal waits and the build completes.
SIGTERM_OUTCOMES = {
    "validated": (143, "unchanged"),
    "rendering": (143, "unchanged"),
    "rendered": (143, "unchanged"),
    "staged": (143, "unchanged"),
    "renaming": (0, "completed"),
    "written": (0, "completed"),
}


def test_every_checkpoint_has_one_expected_outcome():
    assert tuple(SIGTERM_OUTCOMES) == CHECKPOINTS


@pytest.mark.slow
@pytest.mark.parametrize("point", CHECKPOINTS)
def test_sigterm_at_each_checkpoint_leaves_all_old_or_all_new_outputs(point: str, busy: Busy):
    code, output = interrupt(busy, point, signal.SIGTERM)

    expected_code, outcome = SIGTERM_OUTCOMES[point]
    assert code == expected_code, output
    assert "Traceback" not in output
    if outcome == "unchanged":
        assert "prepdeck: interrupted; earlier outputs are unchanged" in output
        assert state(busy.out) == busy.before
    else:
        assert "interrupted" not in output
        assert built(busy.out) == busy.completed
    assert leftovers(busy.out) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "group"),
    [(signal.SIGTERM, True), (signal.SIGINT, True)],
    ids=["sigterm-to-group", "ctrl-c-to-group"],  # a container stopping; Ctrl-C in a terminal
)
def test_a_signal_to_the_whole_group_while_rendering_changes_nothing(signum, group, busy: Busy):
    code, output = interrupt(busy, "rendering", signum, group=group)

    # The workers may die first; the build still reports the interruption.
    assert code == 128 + signum, output
    assert "prepdeck: interrupted; earlier outputs are unchanged" in output
    assert "Traceback" not in output
    assert state(busy.out) == busy.before
    assert leftovers(busy.out) == []


@pytest.mark.slow
@pytest.mark.parametrize("point", ["validated", "rendering", "staged", "renaming"])
def test_sigkill_at_a_checkpoint_loses_nothing_and_the_next_build_recovers(point: str, busy: Busy):
    code, _ = interrupt(busy, point, signal.SIGKILL)

    assert code == -signal.SIGKILL
    after = built(busy.out)
    outputs = {name for name in after if not name.startswith(".prepdeck")}
    assert outputs == set(busy.before)
    changed = {name for name in outputs if after[name] != busy.before[name][0]}
    # Every file is whole, old or new; killed between two renames, only the first is new.
    assert changed == ({"test.apkg"} if point == "renaming" else set())
    assert all(after[name] == busy.completed[name] for name in changed)
    assert bool(leftovers(busy.out)) == (point in ("staged", "renaming"))

    build(BuildRequest(content=busy.content, out=busy.out, epoch=LATER, jobs=2))

    assert leftovers(busy.out) == []
    assert built(busy.out) == busy.completed


@pytest.mark.slow
def test_a_second_build_into_the_same_directory_fails_fast_and_the_first_completes(busy: Busy):
    content, out, completed = busy.content, busy.out, busy.completed
    first = Running(content, out, LATER, pause_at="rendered")
    try:
        first.wait_for("prepdeck: paused at rendered")  # it holds the lock until written
        second = subprocess.run(
            [str(PREPDECK), "build", "--content", str(content), "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "SOURCE_DATE_EPOCH": str(LATER)},
        )
        first.process.send_signal(signal.SIGUSR1)  # resume
        code = first.finish()
    finally:
        first.close()

    assert second.returncode == 1
    assert second.stdout == ""
    assert second.stderr.splitlines() == [
        f"error: another prepdeck build is writing to {out}; wait for it to finish",
        "prepdeck: 1 error",
    ]
    assert code == 0, first.output
    assert built(out) == completed
    assert leftovers(out) == []


# --- Other ways of starting the render workers -------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_a_build_under_another_start_method_writes_the_same_bytes(method: str, busy: Busy):
    running = Running(busy.content, busy.out, LATER, start_method=method)
    try:
        code = running.finish(timeout=300)
        assert wait_until_gone(running) == []
    finally:
        running.close()

    assert code == 0, running.output
    assert "Traceback" not in running.output
    assert built(busy.out) == busy.completed
    assert leftovers(busy.out) == []


@pytest.mark.slow
@pytest.mark.parametrize("method", ["forkserver", "spawn"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_build_under_another_start_method_cleans_up_after_a_signal(method: str, signum: int, busy: Busy):
    code, output = interrupt(busy, "rendering", signum, start_method=method)

    if signum == signal.SIGTERM:
        assert code == 128 + signum, output
        assert "prepdeck: interrupted; earlier outputs are unchanged" in output
        assert "Traceback" not in output
    else:
        assert code == -signal.SIGKILL
    assert state(busy.out) == busy.before
    assert leftovers(busy.out) == []


@pytest.mark.slow
def test_a_warning_about_a_question_in_several_subsets_is_reported_once(tmp_path: Path):
    # kubernetes-deployment is in the whole bank and three subsets; on business cards its back
    # is shortened in each.
    request = BuildRequest(
        content=ROOT / "content",
        out=tmp_path / "out",
        outputs=frozenset({OutputKind.FLASHCARDS}),
        card_size="business",
        epoch=EPOCH,
    )
    report = build(request)
    assert len(report.files) == 5
    shortened = [w for w in report.warnings if "'kubernetes-deployment'" in w.message]
    assert len(shortened) == 1 and "more in the deck" in shortened[0].message
