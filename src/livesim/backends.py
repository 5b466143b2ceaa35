"""Where work runs: local processes or a Dask cluster; experiments' chunks on disk.

A `Backend` runs a function over items and yields each result as it finishes.
Every command runs its work on one: `livesim run`, `compare` and `calibrate` send
chunks of replications through `runner.execute`, the experiments send jobs through
`run_jobs`, and the interactive page keeps a local backend of spawned processes.
`LocalBackend` (defined in `livesim.pool`, re-exported here) runs local processes,
with their handling of Ctrl-C and of workers that die; `DaskBackend` a Dask
distributed cluster. Results depend only on what is run (scenario, replication
numbers, seed, engine), never on where or when, so every backend gives the same
tables.

An experiment (a sweep, a sensitivity analysis, an optimization) is cut into jobs:
one job runs a chunk of replications of one scenario and returns their campaign
rows. The request is checked once per experiment and the engine chosen once per
scenario (`experiment_jobs`), not again for every job.

Each finished job is written to its own chunk file at once (`livesim.chunks`:
atomic, synced to disk, with its row count and checksum); jobs whose file is already
there and whole are not run again, which is how `--resume` continues a killed
experiment, and a damaged file is reported and run again. The final table is always
read back from those files, so a resumed run and an uninterrupted one give identical
tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from livesim.chunks import SUFFIX as CHUNK_SUFFIX
from livesim.chunks import DamagedChunk, read_table, write_table
from livesim.errors import ConfigError, note
from livesim.pool import LocalBackend, closed_after
from livesim.scenario import Scenario

__all__ = [
    "BACKENDS",
    "DEFAULT_CHUNK",
    "Backend",
    "DaskBackend",
    "Job",
    "LocalBackend",
    "check_work",
    "chunk_jobs",
    "chunks",
    "experiment_jobs",
    "kept_chunks",
    "make_backend",
    "run_job",
    "run_jobs",
    "scenario_jobs",
]

BACKENDS = ("local", "dask")
#: Replications per job unless an experiment says otherwise: large enough that
#: sending a scenario to a worker is a small share of a job, small enough that a
#: killed run loses little and two workers stay busy to the end.
DEFAULT_CHUNK = 25
#: Seconds to wait for a Dask scheduler before giving up.
CONNECT_TIMEOUT = 20


@dataclass(frozen=True)
class Job:
    """A chunk of replications of one scenario; `key` names its file."""

    key: str
    scenario: Scenario
    replications: tuple[int, ...]
    seed: int
    engine: str
    columns: tuple[str, ...]
    strategies: tuple[str, ...] | None = None

    @property
    def size(self) -> int:
        """Replications x strategies: the job's share of a progress bar."""
        n = len(self.strategies or ()) or 1 + len(self.scenario.strategies)
        return len(self.replications) * n


def run_job(job: Job) -> pd.DataFrame:
    """Campaign rows (strategy, replication, *columns) of one job (in a worker)."""
    from livesim.runner import campaign_rows

    rows = campaign_rows(
        job.scenario, job.replications, job.seed, job.engine, job.strategies
    )
    return rows[["strategy", "replication", *job.columns]]


def chunks(replications: int, size: int) -> list[tuple[int, ...]]:
    """Replication numbers 0..replications-1 cut into runs of `size`."""
    return [
        tuple(range(lo, min(lo + size, replications)))
        for lo in range(0, replications, size)
    ]


class Backend(Protocol):
    """Runs a function over items and yields (index, result) as each finishes.

    `fn` must be a module-level function (it is sent to other processes or
    machines) and `workers` is how many items run at once.
    """

    name: str
    workers: int

    def map_unordered(
        self, fn: Callable[[Any], Any], items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]: ...

    def close(self) -> None: ...


class DaskBackend:
    """The work on a Dask distributed cluster (the `[dask]` extra).

    The cluster's workers must have the same livesim installed (they import the
    functions sent, `livesim.backends.run_job` or `livesim.runner.run_task`);
    results are identical to the local backend's.
    """

    name = "dask"

    def __init__(self, scheduler: str) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError(
                "--backend: 'dask' needs the dask extra: pip install 'livesim[dask]'"
            ) from None
        try:
            self.client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(
                f"--scheduler: cannot reach a Dask scheduler at {scheduler!r} "
                f"within {CONNECT_TIMEOUT} s ({type(exc).__name__}: {exc})"
            ) from None
        self.workers = max(1, sum(self.client.nthreads().values()))

    def map_unordered(
        self, fn: Callable[[Any], Any], items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        if not items:
            return
        futures = self.client.map(fn, list(items), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for future, result in as_completed(futures, with_results=True):
                yield index[future.key], result
        finally:
            self.client.cancel(futures)

    def close(self) -> None:
        self.client.close()


def make_backend(name: str, workers: int = 1, scheduler: str | None = None) -> Backend:
    """The backend a command line asks for, or a one-line error."""
    if name not in BACKENDS:
        raise ConfigError(f"--backend: {name!r} is not one of {', '.join(BACKENDS)}")
    if name == "local":
        if scheduler is not None:
            raise ConfigError("--scheduler: only the dask backend takes a scheduler")
        return LocalBackend(workers)
    if not scheduler:
        raise ConfigError(
            "--scheduler: the dask backend needs a scheduler address, "
            "e.g. tcp://10.0.0.5:8786"
        )
    return DaskBackend(scheduler)


def run_jobs(
    jobs: Sequence[Job],
    folder: Path,
    backend: Backend,
    progress: bool = False,
    desc: str = "replications",
) -> dict[str, pd.DataFrame]:
    """Run the jobs not yet on disk, writing each as it finishes; every job's rows.

    A chunk already on disk is verified (`livesim.chunks`): a damaged one is
    reported by name and run again. Rows are read back from the files, so resumed
    and uninterrupted runs agree.
    """
    from livesim.progress import progress_bar

    keys = [job.key for job in jobs]
    if len(set(keys)) != len(keys):
        raise ValueError("job keys must be unique")
    folder.mkdir(parents=True, exist_ok=True)
    done = kept_chunks(folder, [_job_file(folder, job) for job in jobs])
    todo = [job for job in jobs if _job_file(folder, job) not in done]
    total = sum(job.size for job in jobs)
    if any(job.engine == "cohort" for job in todo):
        from livesim.engines import ensure_compiled

        ensure_compiled(progress)
    bar = progress_bar(
        total=total,
        initial=total - sum(job.size for job in todo),
        desc=desc,
        unit=" rep",
        disable=not progress,
    )
    try:
        with closed_after(backend.map_unordered(run_job, todo)) as results:
            for i, rows in results:
                path = _job_file(folder, todo[i])
                write_table(path, rows)
                done[path] = read_table(path)
                bar.update(todo[i].size)
    finally:
        bar.close()
    return {job.key: done[_job_file(folder, job)] for job in jobs}


def kept_chunks(folder: Path, paths: Sequence[Path]) -> dict[Path, pd.DataFrame]:
    """The tables of the chunk files already written; a damaged one is reported by
    name on stderr, removed, and left out (so it runs again)."""
    kept = {}
    for path in paths:
        if not path.is_file():
            continue
        try:
            kept[path] = read_table(path)
        except DamagedChunk as exc:
            note(f"{exc}; running that chunk again")
            path.unlink(missing_ok=True)
    return kept


def _job_file(folder: Path, job: Job) -> Path:
    return folder / f"{job.key}{CHUNK_SUFFIX}"


def check_work(jobs: Sequence[Job], force: bool, what: str) -> None:
    """Refuse an experiment whose jobs together are past the work limit (unless
    `force`), with the estimate in the message.

    Each job counts its expected viewer-visits against the limit of its own engine
    (points of a sweep may run on different engines), so the experiment is refused
    when the shares add up to more than one whole limit.
    """
    from livesim.runner import MAX_WORK, expected_work

    if force or not jobs:
        return
    per_scenario: dict[int, float] = {}
    work, share = 0.0, 0.0
    for job in jobs:
        key = id(job.scenario)
        if key not in per_scenario:
            names = list(job.strategies) if job.strategies is not None else None
            per_scenario[key] = expected_work(job.scenario, names)
        visits = per_scenario[key] * len(job.replications)
        work += visits
        share += visits / MAX_WORK[job.engine]
    if share > 1.0:
        engines = sorted({job.engine for job in jobs})
        limits = ", ".join(f"{MAX_WORK[e]:,.3g} for the {e} engine" for e in engines)
        replications = sum(len(job.replications) for job in jobs)
        raise ConfigError(
            f"replications: the {what} needs about {work:,.3g} viewer-visits "
            f"({replications:,} replications of its points in all), past the "
            f"limit of {limits} ({share:.1f} times it; a long run); use fewer "
            "points or replications, or --force"
        )


def scenario_jobs(
    key: str,
    scenario: Scenario,
    replications: int,
    seed: int,
    engine: str,
    columns: Sequence[str],
    chunk: int = DEFAULT_CHUNK,
    strategies: Sequence[str] | None = None,
) -> list[Job]:
    """The jobs of `replications` of one scenario, keyed `{key}-r{first:05d}`,
    after its pre-flight (`experiment_jobs` with one point)."""
    return experiment_jobs(
        [(key, scenario)], replications, seed, engine, columns, chunk, strategies
    )


def experiment_jobs(
    points: Sequence[tuple[str, Scenario]],
    replications: int,
    seed: int,
    engine: str,
    columns: Sequence[str],
    chunk: int = DEFAULT_CHUNK,
    strategies: Sequence[str] | None = None,
) -> list[Job]:
    """The jobs of every (key, scenario) point of an experiment, after one
    pre-flight.

    The request is checked once, as `livesim run` checks it, on the point with the
    most stream and campaign minutes (the points share replications, seed, engine
    and strategies; the work limit is for the whole experiment: `check_work`).
    `auto` then stands for one engine, for every chunk of every point.
    """
    from livesim.engines import choose_engine
    from livesim.runner import campaign_minutes, check_request

    if not points:
        return []
    names = list(strategies) if strategies is not None else None
    largest = max((sc for _, sc in points), key=lambda sc: campaign_minutes(sc, names))
    check_request(largest, replications, 1, engine, False, True, seed, names)
    jobs: list[Job] = []
    chosen = choose_engine(engine)
    for key, scenario in points:
        jobs += chunk_jobs(
            key, scenario, replications, seed, chosen, columns, chunk, names
        )
    return jobs


def chunk_jobs(
    key: str,
    scenario: Scenario,
    replications: int,
    seed: int,
    engine: str,
    columns: Sequence[str],
    chunk: int = DEFAULT_CHUNK,
    strategies: Sequence[str] | None = None,
) -> list[Job]:
    """The jobs of `replications` of a scenario on a concrete `engine`, keyed
    `{key}-r{first:05d}`, with no checks (for a caller that ran its pre-flight)."""
    names = tuple(strategies) if strategies is not None else None
    return [
        Job(
            key=f"{key}-r{reps[0]:05d}",
            scenario=scenario,
            replications=reps,
            seed=seed,
            engine=engine,
            columns=tuple(columns),
            strategies=names,
        )
        for reps in chunks(replications, chunk)
    ]
