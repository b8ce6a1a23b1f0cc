"""Worker processes and signals: parallel renders that stop at once, interrupts that never half-write.

The whole interrupt protocol lives here:

- The command line runs a command inside :func:`interrupts_raise`: Ctrl-C
  raises ``KeyboardInterrupt`` and SIGTERM raises :class:`Terminated` wherever
  the main thread is, so every ``finally`` runs (staging is removed, the lock
  released) before the program exits 130 or 143.
- :func:`run_all` sends the slow jobs (PDFs) to worker processes and runs the
  others in this process. On any exception (a failed job, a signal) it
  terminates the running workers and cancels the queued jobs, so the build
  ends now rather than after them. Workers ignore Ctrl-C (the build stops
  them), die on SIGTERM, and exit by themselves when the build process is gone
  (SIGKILL), however they were started.
- The write stage calls :func:`hold_interrupts` once every output is staged:
  the renames that follow take milliseconds, and a signal then waits for them
  rather than leave old and new outputs mixed.
- :func:`checkpoint` marks the moments of a build (:data:`CHECKPOINTS`). With
  ``PREPDECK_PAUSE_AT=<name>`` in the environment a build stops at that one and
  says so, so a test signals it at a known moment instead of after a guessed delay.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from generator import logs
from generator.errors import GeneratorError

log = logging.getLogger(__name__)

#: The named moments of a build, in order; ``PREPDECK_PAUSE_AT`` stops a build at one of them.
CHECKPOINTS = (
    "validated",  # the bank is checked; nothing is locked or rendered yet
    "rendering",  # as the first slow render starts (in each worker process, if any)
    "rendered",  # every output is in memory and the output directory locked
    "staged",  # every output is in the staging directory; nothing is replaced yet
    "renaming",  # one output has replaced its old file; signals now wait
    "written",  # every output is in place; signals still wait
)
PAUSE_VARIABLE = "PREPDECK_PAUSE_AT"

_holding = threading.Event()
_passed: set[str] = set()


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is so that cleanup runs as it does for Ctrl-C."""


@contextlib.contextmanager
def interrupts_raise(received: list[int]) -> Iterator[None]:
    """Raise on Ctrl-C and SIGTERM while the block runs, so ``finally`` blocks remove staging.

    Python's default for SIGTERM ends the process on the spot; here it raises
    :class:`Terminated`, and SIGINT raises KeyboardInterrupt as usual, except
    once :func:`hold_interrupts` was called. Each signal is appended to
    ``received``: the exception lands wherever the program is, and a library's
    cleanup may raise another one on the way out (zipfile does), which must
    still be reported as an interruption. Only the main thread can set
    handlers; elsewhere (e.g. a test runner's thread) the defaults stay.
    """
    _holding.clear()
    _passed.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    owner = os.getpid()

    def handler(signum: int, frame: object) -> None:
        if os.getpid() != owner:
            # A worker just forked, before its own set-up replaced this handler:
            # behave as workers do (ignore Ctrl-C, die on SIGTERM), never raise there.
            if signum == signal.SIGTERM:
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
            return
        received.append(signum)
        if _holding.is_set():
            return  # the outputs are being renamed into place; let that finish
        raise Terminated(signum) if signum == signal.SIGTERM else KeyboardInterrupt

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler_before in previous.items():
            signal.signal(signum, handler_before if handler_before is not None else signal.SIG_DFL)


def hold_interrupts() -> None:
    """Let signals wait until the command ends: the outputs are being renamed into place."""
    _holding.set()


def checkpoint(name: str) -> None:
    """Mark the moment ``name`` of a build; pause there if ``PREPDECK_PAUSE_AT`` names it.

    A paused process writes "prepdeck: paused at NAME" to stderr and waits for
    a signal: SIGUSR1 resumes it, SIGINT or SIGTERM is then handled as it would
    have been at that moment. Each point pauses once per command.
    """
    if os.environ.get(PAUSE_VARIABLE) != name or name in _passed:
        return
    assert name in CHECKPOINTS, name
    _passed.add(name)
    # Block the signals first, so that none can arrive between the message and the wait.
    waited = {signal.SIGINT, signal.SIGTERM, signal.SIGUSR1}
    before = signal.pthread_sigmask(signal.SIG_BLOCK, waited)
    try:
        os.write(2, f"prepdeck: paused at {name}\n".encode())
        signum = signal.sigwait(waited)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
    if signum != signal.SIGUSR1:
        signal.raise_signal(signum)  # to its handler, as if it had come a moment later


def worker_context() -> multiprocessing.context.BaseContext:
    """Return how workers start: the application's choice if it made one, else fork on Linux.

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


def run_all(
    jobs: Sequence[Any],
    run: Callable[[Any], Any],
    slow: Callable[[Any], bool],
    workers: int,
    done: Callable[[int, Any], None],
    inherited: tuple[int, ...] = (),
    heavy: Callable[[Any], bool] = lambda job: False,
) -> list[Any]:
    """Return ``run(job)`` for every job, in order; ``slow`` jobs go to worker processes.

    With more than one worker and more than one slow job, the slow ones run in
    a pool while the others run here; else all run here, in order. ``heavy``
    slow jobs (a large bank's PDFs, hundreds of MB each) run first instead,
    alone, one after another, each in a process of its own that exits when it
    is done (see :func:`_run_heavy`); the others follow. ``done`` is called with each
    job's index and result as it finishes. ``inherited`` are descriptors the
    workers must close (the output directory's lock). ``run`` and the jobs must
    pickle (the function by name) for workers that are not forked.
    """
    results: dict[int, Any] = {}

    def finish(index: int, result: Any) -> None:
        results[index] = result
        done(index, result)

    parallel = [index for index, job in enumerate(jobs) if slow(job)]
    local = [index for index in range(len(jobs)) if index not in parallel]
    if workers > 1 and len(parallel) > 1:
        chain = [index for index in parallel if heavy(jobs[index])]
        light = [index for index in parallel if index not in chain]
        if chain:
            _run_heavy(jobs, run, chain, finish, inherited)
        _run_pooled(jobs, run, light, local, min(workers, max(1, len(light))), finish, inherited)
    else:
        for index, job in enumerate(jobs):
            if slow(job):
                checkpoint("rendering")
            finish(index, run(job))
    return [results[index] for index in range(len(jobs))]


def _run_pooled(
    jobs: Sequence[Any],
    run: Callable[[Any], Any],
    pooled: list[int],
    local: list[int],
    size: int,
    finish: Callable[[int, Any], None],
    inherited: tuple[int, ...],
) -> None:
    """Run the ``pooled`` jobs in a pool of ``size`` workers and, meanwhile, the ``local`` ones here."""
    if not pooled:
        for index in local:
            finish(index, run(jobs[index]))
        return
    with _Pool(size, inherited) as pool:
        futures = {index: pool.submit(run, jobs[index]) for index in pooled}
        for index in local:
            finish(index, run(jobs[index]))
        for index, future in futures.items():
            finish(index, future.result())


def _run_heavy(
    jobs: Sequence[Any],
    run: Callable[[Any], Any],
    chain: list[int],
    finish: Callable[[int, Any], None],
    inherited: tuple[int, ...],
) -> None:
    """Run the ``chain`` jobs one at a time, each in a new process, while this one waits.

    A pool's worker keeps the heap its largest job grew (CPython seldom hands
    memory back), so an idle worker that laid out a large cheat sheet would
    hold hundreds of MB while the next PDF grows in another. A pool of one,
    shut down after its job, ends its process and frees all of it. This
    process renders nothing meanwhile: a large bank's deck and site would stay
    in its heap beside the layout (27 MB less at the peak of a 1,000-question
    build, for the few seconds those renders would have overlapped).
    """
    for index in chain:
        _run_pooled(jobs, run, [index], [], 1, finish, inherited)


class _Pool:
    """A process pool whose workers are stopped, not waited for, when the block raises."""

    def __init__(self, size: int, inherited: tuple[int, ...]):
        stats = [(handle, os.fstat(handle)) for handle in inherited]
        shared = tuple((handle, info.st_dev, info.st_ino) for handle, info in stats)
        self._context = _TrackingContext(worker_context())
        self._executor = ProcessPoolExecutor(
            max_workers=size,
            mp_context=self._context,  # type: ignore[arg-type]
            initializer=_start_worker,
            initargs=(os.getpid(), shared, logs.configured()),
        )

    def submit(self, function: Callable[[Any], Any], job: Any) -> Future:
        return self._executor.submit(_in_worker, function, job)

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        try:
            if error is not None:
                self._stop()
        finally:
            self._executor.shutdown(wait=True)
        if isinstance(error, BrokenProcessPool):
            raise GeneratorError(
                "a PDF render process ended unexpectedly (out of memory, or killed); nothing was written"
            ) from None

    def _stop(self) -> None:
        """Cancel the queued jobs and terminate the running workers.

        Before Python 3.14 an executor cannot stop a running job, and
        ``shutdown()`` waits for it: terminate the workers this pool started
        first. Then ``shutdown`` ends at once, and waiting for its manager
        thread keeps it from racing the interpreter's exit hook, which would
        print "OSError: Bad file descriptor".
        """
        for process in self._context.started:
            if process.is_alive():
                process.terminate()
        self._executor.shutdown(wait=True, cancel_futures=True)


class _TrackingContext:
    """A multiprocessing context that remembers the processes it starts (the pool's workers)."""

    def __init__(self, context: multiprocessing.context.BaseContext):
        self._context = context
        self.started: list[multiprocessing.process.BaseProcess] = []

    def Process(self, *args: Any, **kwargs: Any) -> multiprocessing.process.BaseProcess:
        process = self._context.Process(*args, **kwargs)
        self.started.append(process)
        return process

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def _in_worker(function: Callable[[Any], Any], job: Any) -> Any:
    checkpoint("rendering")
    return function(job)


def _start_worker(parent: int, inherited: tuple[tuple[int, int, int], ...], verbose: bool | None) -> None:
    """Set up a worker: no lock, no signal handling of its own, no life after its parent.

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
    """Exit the worker as soon as the build process ``parent`` is gone, however the worker started.

    ``parent_process().sentinel`` is a pipe whose other end only the starting
    process holds (under fork, workers forked later hold it too, and each
    notices once those are gone); a forked worker also sees its parent id
    change at once. The parent id alone is not enough: under forkserver the
    worker's parent is the fork server, not the build.
    """
    starter = multiprocessing.parent_process()
    sentinels = [starter.sentinel] if starter is not None else []
    forked = os.getppid() == parent
    while not multiprocessing.connection.wait(sentinels, timeout=0.2):
        if forked and os.getppid() != parent:
            break
    os._exit(1)
