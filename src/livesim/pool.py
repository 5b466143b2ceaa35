"""Local worker processes: a function over items, results as each finishes.

`map_unordered` runs in this process for one worker, else in a
`ProcessPoolExecutor` that keeps only a few items queued per worker (so a kill loses
little and results can be written while the rest are still being sent). Workers
leave Ctrl-C to the parent, and when the parent is interrupted or fails, the
workers are stopped at once rather than left to finish what is queued. The local
backend of experiments and `livesim run` both use it.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any


def map_unordered(
    fn: Callable[[Any], Any], items: Sequence[Any], workers: int
) -> Iterator[tuple[int, Any]]:
    """(index, fn(item)) for every item, in the order they finish."""
    workers = min(workers, os.cpu_count() or 1)
    if workers == 1 or len(items) <= 1:
        for i, item in enumerate(items):
            yield i, fn(item)
        return
    pool = ProcessPoolExecutor(max_workers=workers, initializer=ignore_interrupts)
    try:
        pending: dict[Future[Any], int] = {}
        queue = iter(enumerate(items))
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
    except BaseException:
        # interrupted, failed, or the caller stopped reading: what finished has
        # been handed over; stop the workers now
        stop_workers(pool)
        raise
    pool.shutdown()


def ignore_interrupts() -> None:
    """In a worker process: leave Ctrl-C to the parent, which stops the workers
    (so an interrupt prints one line, not a traceback per worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_workers(pool: ProcessPoolExecutor) -> None:
    """End a pool's worker processes at once and drop its queued work."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=5)
