"""Compile the cohort engine once, in the open.

numba compiles the cohort engine's kernels on their first call and caches the
machine code on disk (`kernels.jit`, `cache=True`; `jitcache` drops it when the
sources change). Left to itself, that first call happens inside the first chunk of
the first run after an install or an upgrade, in every worker at once, with nothing
said. `ensure_compiled` does it beforehand, in the calling process, on one tiny
replication of the bundled teaching scenario: it says so in one line, shows the
seconds passing, and returns how long it took, so that callers report compile time
apart from simulation time. Afterwards a stamp (tagged with the sources' digest,
in numba's cache folder: `stamp_folder`) says the cache is warm, and later runs
skip all of this. The line is said when the compile starts, after a command has
checked its inputs, so that a bad input gets its one error line and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from pathlib import Path

from livesim.atomic import write_text_atomic
from livesim.engines import jitcache

#: Seconds the first compile took on the development machine (docs/performance.md):
#: what the notice announces before this machine has measured its own.
EXPECTED_SECONDS = 80
STAMP_PREFIX = "cohort-compiled-"
#: A warm-up shorter than this loaded cached code: not a compile time to announce.
MIN_ESTIMATE = 5.0


_announced = False


def stamp_folder() -> Path:
    """Where numba caches the engine's code, as its locators choose it, without
    importing numba: `NUMBA_CACHE_DIR` if set, else the package's `__pycache__`
    if it can be written, else the user's cache folder."""
    chosen = os.environ.get("NUMBA_CACHE_DIR")
    if chosen:
        return Path(chosen)
    tree = Path(__file__).resolve().parent / "__pycache__"
    probe = tree if tree.is_dir() else tree.parent
    if os.access(probe, os.W_OK):
        return tree
    return Path.home() / ".cache" / "livesim"


def _cache_folder() -> Path | None:
    return stamp_folder()


def _stamp(folder: Path) -> Path:
    """The stamp of this install's compiled code: its sources and numba's version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        numba = version("numba")
    except PackageNotFoundError:
        numba = "unknown"
    return folder / f"{STAMP_PREFIX}{jitcache.sources_digest()[:16]}-numba{numba}"


def announce() -> bool:
    """Say on stderr, once, that the cohort engine is about to be compiled (when it
    is not yet); True when it was said."""
    global _announced
    if _announced or is_compiled():
        return False
    _announced = True
    print(
        "livesim: compiling the cohort engine first, once per install, about "
        f"{expected_seconds():.0f} s",
        file=sys.stderr,
        flush=True,
    )
    return True


def is_compiled() -> bool:
    """True when this install's cohort engine code is already on disk."""
    folder = _cache_folder()
    return folder is not None and _stamp(folder).is_file()


def expected_seconds() -> float:
    """About how long a compile takes here: the last one measured on this machine
    (a stamp of earlier sources), else `EXPECTED_SECONDS`."""
    folder = _cache_folder()
    for stamp in sorted(folder.glob(f"{STAMP_PREFIX}*")) if folder else []:
        try:
            return float(stamp.read_text())
        except (OSError, ValueError):
            continue
    return EXPECTED_SECONDS


def compile_now() -> None:
    """Run one tiny replication with the cohort engine: every kernel it calls is
    compiled (or loaded from numba's cache)."""
    from livesim.engines.cohort import run_replication
    from livesim.scenario import load_scenario
    from livesim.scenarios import bundled_scenario

    scenario = load_scenario(bundled_scenario("teaching_tiny"))
    for campaign in scenario.campaigns().values():
        run_replication(campaign, 0, 0)


def ensure_compiled(progress: bool = True) -> float:
    """Compile the cohort engine unless this install already has: the seconds
    spent (0.0 when there was nothing to do). With `progress`, a line on stderr
    first and a ticking counter of seconds while it compiles."""
    if is_compiled():
        return 0.0
    started = time.perf_counter()
    if progress:
        announce()  # (after the inputs were checked: a bad input is one line)
    with _ticking(progress):
        compile_now()
    seconds = time.perf_counter() - started
    folder = _cache_folder()
    # what the next announcement says: a real compile's time (a few seconds or
    # less means numba's cache was there already)
    estimate = seconds if seconds >= MIN_ESTIMATE else expected_seconds()
    if folder is not None:
        for old in folder.glob(f"{STAMP_PREFIX}*"):
            old.unlink(missing_ok=True)
        # a cache we cannot write to: compiled again next time
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
            write_text_atomic(_stamp(folder), f"{estimate:.1f}\n")
    return seconds


class _ticking:
    """A bar that counts the seconds of a step of unknown length (when shown)."""

    def __init__(self, shown: bool) -> None:
        self.shown = shown
        self.done = threading.Event()
        self.bar = None
        self.thread: threading.Thread | None = None

    def __enter__(self) -> _ticking:
        if self.shown:
            from livesim.progress import progress_bar

            self.bar = progress_bar(desc="compiling", bar_format="{desc}: {elapsed}")
            self.thread = threading.Thread(target=self._tick, daemon=True)
            self.thread.start()
        return self

    def _tick(self) -> None:
        from livesim.progress import LOG_INTERVAL, is_terminal

        every = 1.0 if is_terminal(sys.stderr) else LOG_INTERVAL
        while not self.done.wait(every):
            if self.bar is not None:
                self.bar.refresh()

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        if self.thread is not None:
            self.thread.join()
        if self.bar is not None:
            self.bar.close()


__all__ = [
    "EXPECTED_SECONDS",
    "announce",
    "compile_now",
    "ensure_compiled",
    "is_compiled",
    "stamp_folder",
]
