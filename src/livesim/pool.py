"""Local worker processes: a function over items, results as each finishes.

`map_unordered` runs in this process for one worker, else in a
`ProcessPoolExecutor` that keeps only a few items queued per worker (so a kill loses
little and results can be written while the rest are still being sent). Workers
leave Ctrl-C to the parent, and when the parent is interrupted or fails, the
workers are stopped at once rather than left to finish what is queued.

`KeptPool` keeps its worker processes from one map to the next (the interactive
page, which runs a few replications after every slider move): it sends the first
items as soon as it is asked, so the caller can do other work before it reads the
results.

`LocalBackend` offers either as the local backend of `livesim.backends` (which
re-exports it): every command's work runs on it unless a Dask cluster is asked
for. It is defined here, below the runner, so that `livesim.runner` can default
to it without importing the experiments' machinery.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from livesim.errors import ConfigError

if TYPE_CHECKING:  # imported when used: the command line imports this module early
    from concurrent.futures import Future, ProcessPoolExecutor

#: The most worker processes a run may ask for.
MAX_WORKERS = 256
#: prctl(2) option: the signal a process gets when its parent ends (Linux).
PR_SET_PDEATHSIG = 1
#: Items sent ahead per worker: enough to keep each busy, few enough to lose little.
QUEUED_PER_WORKER = 2

Pending = dict["Future[Any]", int]


def map_unordered(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    workers: int,
    start_method: str | None = None,
) -> Iterator[tuple[int, Any]]:
    """(index, fn(item)) for every item, in the order they finish.

    `start_method` is the multiprocessing start method (None: the platform's).
    """
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    workers = min(workers, os.cpu_count() or 1)
    if workers == 1 or len(items) <= 1:
        yield from in_process(fn, items)
        return
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context(start_method),
        initializer=ignore_interrupts,
        initargs=(os.getpid(),),
    )
    try:
        pending: Pending = {}
        queue = iter(enumerate(items))
        # the workers start (fork) on the first submits: hold Ctrl-C meanwhile, so
        # that it reaches this process after they exist, never a half-made worker
        with interrupts_held():
            send(pool, fn, queue, pending, QUEUED_PER_WORKER * workers)
        yield from finished(pool, fn, queue, pending)
        pool.shutdown()  # inside: an interrupt while it waits stops the workers too
    except BaseException:
        # interrupted, failed, or the caller stopped reading: what finished has
        # been handed over; stop the workers now
        stop_workers(pool)
        raise


def in_process(
    fn: Callable[[Any], Any], items: Sequence[Any]
) -> Iterator[tuple[int, Any]]:
    """(index, fn(item)) for every item, one after the other in this process."""
    for i, item in enumerate(items):
        yield i, fn(item)


def send(
    pool: ProcessPoolExecutor,
    fn: Callable[[Any], Any],
    queue: Iterator[tuple[int, Any]],
    pending: Pending,
    most: int,
) -> None:
    """Submit items from `queue` until `most` are pending (or it is empty)."""
    if len(pending) >= most:
        return
    for i, item in queue:
        pending[pool.submit(fn, item)] = i
        if len(pending) >= most:
            break


def finished(
    pool: ProcessPoolExecutor,
    fn: Callable[[Any], Any],
    queue: Iterator[tuple[int, Any]],
    pending: Pending,
) -> Iterator[tuple[int, Any]]:
    """(index, result) of the pending items as each finishes, one more item from
    `queue` submitted for every one done."""
    from concurrent.futures import FIRST_COMPLETED, wait

    while pending:
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            i = pending.pop(future)
            yield i, future.result()
            send(pool, fn, queue, pending, len(pending) + 1)


class KeptPool:
    """Worker processes kept for many maps, started on the first one.

    `start_method` is the multiprocessing start method ("spawn" where the caller
    runs threads, as the page's server does: a forked child would copy their
    locks). The workers ignore Ctrl-C, but they get no parent-death signal: Linux
    sends it when the *thread* that started them ends, and the page starts them
    from a script thread that ends after each run. An error or an early stop in
    the caller's loop cancels what is still queued; a worker that died, or an
    interrupt, stops the workers, and the next map starts new ones.
    """

    def __init__(self, workers: int, start_method: str | None = None) -> None:
        self.workers = min(workers, os.cpu_count() or 1)
        self.start_method = start_method
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def map_unordered(
        self, fn: Callable[[Any], Any], items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        """(index, fn(item)) as each finishes; the first items are sent now."""
        if self.workers == 1 or len(items) <= 1:
            return in_process(fn, items)
        pool = self.start()
        pending: Pending = {}
        queue = iter(enumerate(items))
        try:
            with interrupts_held():
                send(pool, fn, queue, pending, QUEUED_PER_WORKER * self.workers)
        except BaseException:
            self.stop(pool)
            raise
        return self._results(pool, fn, queue, pending)

    def _results(
        self,
        pool: ProcessPoolExecutor,
        fn: Callable[[Any], Any],
        queue: Iterator[tuple[int, Any]],
        pending: Pending,
    ) -> Iterator[tuple[int, Any]]:
        from concurrent.futures.process import BrokenProcessPool

        try:
            yield from finished(pool, fn, queue, pending)
        except (BrokenProcessPool, KeyboardInterrupt, SystemExit):
            self.stop(pool)
            raise
        except BaseException:  # the caller's error or early stop: keep the workers
            for future in pending:
                future.cancel()
            raise

    def start(self) -> ProcessPoolExecutor:
        """The pool, started if it is not running."""
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        with self._lock:  # the page's sessions run in threads of their own
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=get_context(self.start_method),
                    initializer=ignore_ctrl_c,
                )
            return self._pool

    def stop(self, pool: ProcessPoolExecutor | None = None) -> None:
        """End the workers (of `pool`, if it is still the one kept) at once; the
        next map starts new ones."""
        with self._lock:
            if self._pool is None or (pool is not None and pool is not self._pool):
                return
            stopping, self._pool = self._pool, None
        stop_workers(stopping)

    def close(self) -> None:
        """Let the workers finish what they hold and end."""
        with self._lock:
            closing, self._pool = self._pool, None
        if closing is not None:
            closing.shutdown(cancel_futures=True)


class LocalBackend:
    """The work in this process (one worker) or in a pool of local processes: the
    local backend of `livesim.backends`.

    By default every map starts its own processes and ends them (`map_unordered`:
    a Ctrl-C or an error stops them at once). `keep=True` keeps them from one map
    to the next until `close` (`KeptPool`: the interactive page), and sends a
    map's first items at once; `start_method` ("spawn" under threads) is
    multiprocessing's.
    """

    name = "local"

    def __init__(
        self, workers: int = 1, keep: bool = False, start_method: str | None = None
    ) -> None:
        if not 1 <= workers <= MAX_WORKERS:
            raise ConfigError(f"workers: {workers} is outside 1..{MAX_WORKERS}")
        self.workers = min(workers, os.cpu_count() or 1)
        self.start_method = start_method
        self.kept = KeptPool(self.workers, start_method) if keep else None

    def map_unordered(
        self, fn: Callable[[Any], Any], items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        """(index, fn(item)) for every item, in the order they finish."""
        if self.kept is not None:
            return self.kept.map_unordered(fn, items)
        return map_unordered(fn, items, self.workers, self.start_method)

    def close(self) -> None:
        """End kept worker processes (nothing to do otherwise)."""
        if self.kept is not None:
            self.kept.close()


@contextlib.contextmanager
def closed_after(results: Iterator[Any]) -> Iterator[Iterator[Any]]:
    """Use `results` (a `map_unordered`) in a with block and close it when the
    block ends: an error or Ctrl-C in the caller's loop then stops the workers at
    once, not when (or if) the suspended generator is collected."""
    try:
        yield results
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold a Ctrl-C until the block ends, then raise KeyboardInterrupt.

    For work that an interrupt must not cut in two: a library's import (cut, it
    can turn into an ImportError), or starting worker processes (cut, a worker may
    be left running without its parent). The Python handler only notes the
    signal meanwhile; blocking the signal would not do, as another thread (numpy's
    BLAS threads) would then receive it.
    """
    caught: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda n, f: caught.append(n))
    except ValueError:  # not the main thread (an embedding program): no change
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def ignore_interrupts(parent: int) -> None:
    """In a worker process of `parent`: leave Ctrl-C to the parent, which stops
    the workers (so an interrupt prints one line, not a traceback per worker), and
    end with the parent, however it ends (Linux: the parent-death signal)."""
    import ctypes

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent went before the signal was set
        os._exit(1)


def ignore_ctrl_c() -> None:
    """In a kept worker process: leave Ctrl-C to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """End a pool's worker processes at once and drop its queued work."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    # (read before shutdown, which drops the pool's reference to the queue)
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5)
    # a worker ended while sending its result leaves the pool's thread waiting for
    # the rest of it, and the interpreter's exit waiting for that thread: close this
    # process's copy of the writing end, so that the thread sees the pipe end
    with contextlib.suppress(Exception):
        writer.close()  # type: ignore[union-attr]
