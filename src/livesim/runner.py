"""Replications: the pre-flight, seeding, a backend, and assembling the tables.

A run is checked once (`preflight`: the request and the engine `auto` stands for,
as a `RunRequest`) and then executed (`execute`) on a backend (`livesim.backends`:
local processes or a Dask cluster). Each replication r of seed s runs with random
streams keyed by (s, r, stream, source) (see `livesim.model.rng`), so the tables are
identical for any backend, any number of workers and any order in which workers
finish. The replications go to the backend in chunks, each finished chunk
optionally kept on disk (`livesim.checkpoint`); a progress bar appears when a run
lasts more than a second.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from livesim import __version__
from livesim.assemble import assemble
from livesim.engines import ENGINES, choose_engine, engine_runner, ensure_compiled
from livesim.engines.output import TIMESERIES_COLUMNS, SessionOutput
from livesim.errors import ConfigError
from livesim.model import traffic
from livesim.model.posterior import posterior_record
from livesim.model.traffic import expected_viewers
from livesim.model.uncertainty import realize, row_values
from livesim.pool import MAX_WORKERS, LocalBackend, closed_after
from livesim.results import SimulationResult, campaign_totals
from livesim.scenario import Campaign, Scenario

if TYPE_CHECKING:
    from livesim.backends import Backend
    from livesim.checkpoint import RunStore

MAX_REPLICATIONS = 100_000
#: Pre-flight limit on expected viewers x replications per engine, about half an hour
#: on a 2-core machine (override with force=True).
MAX_WORK = {"agent": 2e8, "cohort": 2e9}
#: The per-viewer event log is kept only for runs up to this many expected viewers.
MAX_EVENT_LOG_VIEWERS = 200_000
#: The per-minute time series are held in memory for their percentile bands: refuse
#: runs whose arrays (replications x strategies x minutes x columns x 8 bytes) pass it.
MAX_TIMESERIES_BYTES = 4e9

#: (strategy, campaign, seed, replications, event log, engine, inner replications,
#: priors at their medians)
Task = tuple[str, Campaign, int, list[int], bool, str, int, bool]


def expected_work(scenario: Scenario, strategies: list[str] | None = None) -> float:
    """Expected room entries of one replication of the strategies (pre-flight)."""
    campaigns = scenario.campaigns()
    chosen = [campaigns[n] for n in strategies or campaigns if n in campaigns]
    return sum(expected_viewers(c, s) for c in chosen for s in c.streams)


def upfront(campaign: Campaign) -> float:
    """Up-front outlay of a campaign (RMB): host fees and gifts (per stream, as in
    the cost column) and ad spend; commissions (a share of net GMV) and the fixed
    cost come on top, in the cost and ROI columns."""
    return float(
        sum(
            campaign.hosts[s.host].fee + campaign.hosts[s.host].gift_value + s.ad_spend
            for s in campaign.streams
        )
    )


def campaign_minutes(scenario: Scenario, strategies: list[str] | None = None) -> int:
    """Stream and campaign minutes of the strategies: the time series' length."""
    campaigns = scenario.campaigns()
    return sum(
        (campaigns[n].horizon + sum(s.duration for s in campaigns[n].streams))
        for n in strategies or campaigns
        if n in campaigns
    )


@dataclass(frozen=True)
class RunRequest:
    """A run `preflight` has checked: the strategies' campaigns and the concrete
    engine; `execute` runs it on a backend."""

    scenario: Scenario
    campaigns: dict[str, Campaign]
    replications: int
    seed: int
    engine: str
    engine_requested: str
    event_log: bool = False
    #: Replications per parameter draw (the inner level; docs/model.md, section 16).
    inner: int = 1
    #: Every prior at its median: the noise-only run beside a run with priors.
    medians: bool = False


def check_request(
    scenario: Scenario,
    replications: int,
    workers: int,
    engine: str,
    event_log: bool,
    force: bool,
    seed: int = 0,
    strategies: list[str] | None = None,
) -> None:
    """Refuse a run that cannot or should not start, with every reason found."""
    chosen = choose_engine(engine, event_log)
    problems = request_problems(
        scenario,
        replications,
        workers,
        engine,
        chosen,
        event_log,
        force,
        seed,
        strategies,
    )
    if problems:
        raise ConfigError(problems)


def request_problems(
    scenario: Scenario,
    replications: int,
    workers: int,
    engine: str,
    chosen: str,
    event_log: bool,
    force: bool,
    seed: int,
    strategies: list[str] | None,
) -> list[str]:
    """Every reason not to start a run of the `chosen` engine (`check_request`)."""
    problems = []
    if not 0 <= seed < 2**63:
        problems.append(f"seed: {seed} is outside 0..2**63-1")
    if not 1 <= replications <= MAX_REPLICATIONS:
        problems.append(
            f"replications: {replications} is outside 1..{MAX_REPLICATIONS}"
        )
    if not 1 <= workers <= MAX_WORKERS:
        problems.append(f"workers: {workers} is outside 1..{MAX_WORKERS}")
    if engine not in ENGINES:
        problems.append(f"engine: {engine!r} is not one of {', '.join(ENGINES)}")
    per_replication = expected_work(scenario, strategies)
    work = per_replication * max(replications, 1)
    limit = MAX_WORK.get(chosen, MAX_WORK["agent"])
    minutes = campaign_minutes(scenario, strategies)
    memory = max(replications, 1) * minutes * len(TIMESERIES_COLUMNS) * 8
    if memory > MAX_TIMESERIES_BYTES:
        problems.append(
            f"replications: {replications} replications of {minutes:,} stream and "
            f"campaign minutes need {memory / 1e9:,.1f} GB for the time series, "
            f"past the limit of {MAX_TIMESERIES_BYTES / 1e9:g} GB; use fewer "
            "replications or a shorter campaign"
        )
    if not force and work > limit:
        problems.append(
            f"replications: {replications} replications x {per_replication:,.0f} "
            f"expected viewers = {work:,.3g} viewer-visits is past the limit of "
            f"{limit:,.3g} for the {chosen} engine (a long run); use fewer "
            "replications, the cohort engine, or --force"
        )
    if event_log and engine == "cohort":
        problems.append("events: the per-viewer event log needs --engine agent")
    if event_log and work > MAX_EVENT_LOG_VIEWERS:
        problems.append(
            f"events: the event log is for small runs: {work:,.0f} expected viewers "
            f"is past {MAX_EVENT_LOG_VIEWERS:,}"
        )
    return problems


def make_request(
    scenario: Scenario,
    replications: int,
    seed: int,
    engine: str,
    strategies: Iterable[str] | None = None,
    event_log: bool = False,
    engine_requested: str | None = None,
    inner: int = 1,
) -> RunRequest:
    """The request of a run, with no check but that the strategies exist: for a
    caller that ran its own pre-flight (`compare`, `calibrate`) or `preflight`."""
    campaigns = scenario.campaigns()
    if strategies is not None:
        names = list(strategies)
        unknown = [n for n in names if n not in campaigns]
        if unknown:
            raise ConfigError(f"strategies: {unknown} not in {list(campaigns)}")
        campaigns = {n: campaigns[n] for n in names}
    chosen = choose_engine(engine, event_log)
    return RunRequest(
        scenario=scenario,
        campaigns=campaigns,
        replications=replications,
        seed=seed,
        engine=chosen,
        engine_requested=engine if engine_requested is None else engine_requested,
        event_log=event_log,
        inner=inner,
    )


def preflight(
    scenario: Scenario,
    replications: int = 100,
    seed: int = 0,
    workers: int = 1,
    engine: str = "auto",
    strategies: Iterable[str] | None = None,
    event_log: bool = False,
    force: bool = False,
    inner: int = 1,
) -> RunRequest:
    """The checked request of a run (`simulate`'s arguments), or a ConfigError with
    every reason not to start it; the engine is chosen here, once."""
    request = make_request(
        scenario, replications, seed, engine, strategies, event_log, inner=inner
    )
    names = list(strategies) if strategies is not None else None
    problems = request_problems(
        scenario,
        replications,
        workers,
        engine,
        request.engine,
        event_log,
        force,
        seed,
        names,
    )
    problems += inner_problems(replications, inner)
    if problems:
        raise ConfigError(problems)
    return request


def inner_problems(replications: int, inner: int) -> list[str]:
    """Why `inner` replications per parameter draw do not fit the run, if they do
    not: a whole number of draws, each with the same number of replications."""
    if not 1 <= inner <= MAX_REPLICATIONS:
        return [f"inner: {inner} is outside 1..{MAX_REPLICATIONS}"]
    if replications % inner:
        return [
            f"inner: {replications} replications are not a whole number of "
            f"parameter draws of {inner} replications each; use a multiple of {inner}"
        ]
    return []


def simulate(
    scenario: Scenario,
    replications: int = 100,
    seed: int = 0,
    workers: int = 1,
    engine: str = "auto",
    strategies: Iterable[str] | None = None,
    event_log: bool = False,
    force: bool = False,
    progress: bool = False,
    store: RunStore | None = None,
    part: str = "",
    backend: Backend | None = None,
    inner: int = 1,
) -> SimulationResult:
    """Run `replications` of every strategy (or the named ones) and return the tables.

    The same scenario and seed give identical tables whatever the backend and
    `workers` are. The replications run on `backend` (`livesim.backends`), by
    default local processes, `workers` of them. `engine="auto"` runs the agent
    engine for event logs, the cohort engine otherwise; the manifest records the
    engine used.

    With a `store` (`livesim.checkpoint`), every finished chunk of replications is
    written to it as it comes (under the name prefix `part`), the replications
    already kept there are not run again, and the tables are assembled from the
    store: how `livesim run --resume` continues a killed run.

    A scenario with priors (`[[uncertainty]]`) runs both levels of the Monte
    Carlo: replication r simulates parameter draw r // `inner` (docs/model.md,
    section 16), and the draws are columns `param.<name>` of the tables.
    """
    request = preflight(
        scenario,
        replications,
        seed,
        workers,
        engine,
        strategies,
        event_log,
        force,
        inner,
    )
    if backend is None:
        backend = LocalBackend(workers)
    return execute(request, backend, progress, store, part)


def execute(
    request: RunRequest,
    backend: Backend,
    progress: bool = False,
    store: RunStore | None = None,
    part: str = "",
) -> SimulationResult:
    """Run a checked request on `backend` and assemble its tables (see `simulate`)."""
    campaigns, replications = request.campaigns, request.replications
    compiling = ensure_compiled(progress) if request.engine == "cohort" else 0.0
    started = time.perf_counter()
    kept: dict[str, dict[int, SessionOutput]] = {}
    save = None
    if store is not None:
        store.open()
        kept = store.load(part)
        save = functools.partial(store.save, part)
    tasks = _tasks(request, backend.workers, kept)
    total = replications * len(campaigns)
    resumed = total - sum(len(task[3]) for task in tasks)
    outputs = _execute(tasks, backend, progress, total, save)
    if store is not None:  # fresh and resumed runs read the same files
        outputs = store.load(part)
        for name in campaigns:
            if sorted(outputs.get(name, {})) != list(range(replications)):
                raise RuntimeError(
                    f"the kept replications of {name!r} in {store.folder} are not "
                    f"exactly 0..{replications - 1}; remove the folder and run again"
                )
    elapsed = time.perf_counter() - started
    scenario = request.scenario
    result = assemble(
        outputs, campaigns, scenario.target_gmv, request.event_log, request.inner
    )
    viewers = float(result.replications["viewers"].sum())
    result.manifest = {
        "scenario": scenario.name,
        "scenario_sha256": scenario.digest(),
        "seed": request.seed,
        "replications": replications,
        "strategies": list(campaigns),
        "engine": request.engine,
        "engine_requested": request.engine_requested,
        "awareness": {
            name: traffic.awareness_summary(c.awareness) if c.awareness else None
            for name, c in campaigns.items()
        },
        "budgets": {name: upfront(c) for name, c in campaigns.items()},
        "fixed_costs": {name: c.costs.fixed for name, c in campaigns.items()},
        "backend": backend.name,
        "workers": backend.workers,
        "livesim_version": __version__,
        "numpy_version": np.__version__,
        "run_seconds": round(elapsed, 3),
        # the first run after an install compiles the cohort engine first
        # (`engines.warmup`): not counted in run_seconds
        "compile_seconds": round(compiling, 3),
        "viewers_simulated": viewers,
        "viewers_per_second": round(viewers / elapsed, 1) if elapsed > 0 else None,
        # replications x strategies taken from an earlier, interrupted run (resume):
        # run_seconds and viewers_per_second then cover only the rest
        "resumed_replications": resumed,
        **uncertainty_manifest(request),
    }
    result.scenario = scenario
    return result


#: Replications of the noise-only run beside a run with priors (for its figure).
NOISE_ONLY_REPLICATIONS = 200


def execute_with_noise_only(
    request: RunRequest,
    backend: Backend,
    progress: bool = False,
    store: RunStore | None = None,
) -> SimulationResult:
    """`execute`, and with priors the same run with each at its median (noise only,
    as `noise_only`, for the report's figure): what `livesim run` does."""
    result = execute(request, backend, progress, store)
    if request.scenario.uncertainty:
        fixed = dataclasses.replace(
            request,
            medians=True,
            inner=1,
            replications=min(request.replications, NOISE_ONLY_REPLICATIONS),
        )
        noise = execute(fixed, backend, progress, store, "noise-")
        result.noise_only = noise.campaign
        result.manifest["noise_only_run_seconds"] = noise.manifest["run_seconds"]
    return result


def uncertainty_manifest(request: RunRequest) -> dict[str, Any]:
    """What the run's distributions cover: simulation noise alone, or parameter
    uncertainty (the priors, drawn `parameter_draws` times) and simulation noise."""
    priors = request.scenario.uncertainty
    cover = "parameter uncertainty and simulation noise"
    if not priors:
        cover = "simulation noise only (every parameter fixed)"
    elif request.medians:
        cover = "simulation noise only (every prior at its median)"
    post = request.scenario.posterior
    if post is not None and not request.medians:
        cover += f" ({', '.join(post.names)} drawn from the posterior {post.source})"
    return {
        "distributions_cover": cover,
        "priors": [p.name for p in priors],
        "posterior": posterior_record(post),
        "parameter_draws": request.replications // request.inner if priors else 0,
        "inner_replications": request.inner,
    }


def campaign_rows(
    scenario: Scenario,
    replications: Iterable[int],
    seed: int,
    engine: str,
    strategies: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Campaign totals of the given replication numbers, in this process.

    The building block of experiments (`livesim.backends`): `engine` is a concrete
    engine chosen by the caller, so every chunk of an experiment uses the same one.
    """
    campaigns = scenario.campaigns()
    names = list(strategies) if strategies is not None else list(campaigns)
    reps = list(replications)
    rows: list[dict[str, Any]] = []
    for name in names:
        task = (name, campaigns[name], seed, reps, False, engine, 1, False)
        _, done = run_task(task)
        for r, output in done:
            rows += [{"replication": r, "strategy": name} | row for row in output.rows]
    return campaign_totals(pd.DataFrame(rows))


def _tasks(
    request: RunRequest,
    workers: int,
    kept: dict[str, dict[int, SessionOutput]] | None = None,
) -> list[Task]:
    """Chunks of the replications not yet `kept`, per strategy."""
    # small chunks: a smooth progress bar and no worker left alone at the end;
    # large enough that sending a campaign to a worker is a small share of the work
    replications = request.replications
    chunk = max(1, math.ceil(replications / (workers * 25))) if workers > 1 else 1
    tasks: list[Task] = []
    for name, campaign in request.campaigns.items():
        have = (kept or {}).get(name, {})
        todo = [r for r in range(replications) if r not in have]
        for lo in range(0, len(todo), chunk):
            reps = todo[lo : lo + chunk]
            tasks.append(
                (
                    name,
                    campaign,
                    request.seed,
                    reps,
                    request.event_log,
                    request.engine,
                    request.inner,
                    request.medians,
                )
            )
    return tasks


def run_task(task: Task) -> tuple[str, list[tuple[int, SessionOutput]]]:
    """Run one chunk of replications of one strategy (in a worker process)."""
    name, campaign, seed, reps, event_log, engine, inner, medians = task
    run = engine_runner(engine)
    return name, [
        (r, replicate(run, campaign, seed, r, event_log, inner, medians)) for r in reps
    ]


def replicate(
    run: Any,
    campaign: Campaign,
    seed: int,
    r: int,
    event_log: bool,
    inner: int = 1,
    medians: bool = False,
) -> SessionOutput:
    """Replication r: with priors, parameter draw r // inner (or every prior at its
    median) written into the campaign first (the outer level), its values added
    to the rows."""
    if not campaign.priors:
        return run(campaign, seed, r, event_log)
    drawn, values = realize(campaign, seed, r // inner, medians)
    out: SessionOutput = run(drawn, seed, r, event_log)
    out.rows = [
        row | row_values(campaign, values, row["stream"], row["host"])
        for row in out.rows
    ]
    return out


def _execute(
    tasks: list[Task],
    backend: Backend,
    progress: bool,
    total: int,
    save: Callable[[str, list[tuple[int, SessionOutput]]], None] | None = None,
) -> dict[str, dict[int, SessionOutput]]:
    """Run the tasks on the backend; each finished one is passed to `save` (and
    then not kept in memory) or returned."""
    from livesim.progress import progress_bar

    todo = sum(len(task[3]) for task in tasks)
    bar = progress_bar(
        total=total,
        initial=total - todo,
        unit=" rep",
        desc="replications",
        disable=not progress,
    )
    outputs: dict[str, dict[int, SessionOutput]] = {}
    try:
        with closed_after(backend.map_unordered(run_task, tasks)) as results:
            for _, (name, done) in results:
                if save is not None:  # kept on disk only: read back once at the end
                    save(name, done)
                else:
                    outputs.setdefault(name, {}).update(done)
                bar.update(len(done))
    finally:
        bar.close()
    return outputs
