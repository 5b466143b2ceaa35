"""Local worker processes: a function over items, results as each finishes.

`map_unordered` runs in this process for one worker, else in a
`ProcessPoolExecutor` that keeps only a few items queued per worker (so a kill loses
little and results can be written while the rest are still being sent). Workers
leave Ctrl-C to the parent, and when the parent is interrupted or fails, the
workers are stopped at once rather than left to finish what is queued. The local
backend of experiments and `livesim run` both use it.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when used: the command line imports this module early
    from concurrent.futures import Future, ProcessPoolExecutor

#: prctl(2) option: the signal a process gets when its parent ends (Linux).
PR_SET_PDEATHSIG = 1


def map_unordered(
    fn: Callable[[Any], Any], items: Sequence[Any], workers: int
) -> Iterator[tuple[int, Any]]:
    """(index, fn(item)) for every item, in the order they finish."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    workers = min(workers, os.cpu_count() or 1)
    if workers == 1 or len(items) <= 1:
        for i, item in enumerate(items):
            yield i, fn(item)
        return
    pool = ProcessPoolExecutor(
        max_workers=workers, initializer=ignore_interrupts, initargs=(os.getpid(),)
    )
    try:
        pending: dict[Future[Any], int] = {}
        queue = iter(enumerate(items))
        # the workers start (fork) on the first submits: hold Ctrl-C meanwhile, so
        # that it reaches this process after they exist, never a half-made worker
        with interrupts_held():
            for i, item in queue:
                pending[pool.submit(fn, item)] = i
                if len(pending) >= 2 * workers:
                    break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                i = pending.pop(future)
                yield i, future.result()
                nxt = next(queue, None)
                if nxt is not None:
                    pending[pool.submit(fn, nxt[1])] = nxt[0]
        pool.shutdown()  # inside: an interrupt while it waits stops the workers too
    except BaseException:
        # interrupted, failed, or the caller stopped reading: what finished has
        # been handed over; stop the workers now
        stop_workers(pool)
        raise


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
