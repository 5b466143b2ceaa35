"""The search of an optimization: racing rounds, the fresh re-evaluation, the run.

* **Common random numbers.** Every candidate runs the same replication numbers
  with the same seed and on one engine (chosen from the largest candidate), so
  candidates are compared on paired replications.
* **Screening.** `search = "exhaustive"` evaluates every candidate with
  `replications`; `search = "racing"` runs successive halving (`schedule`): the
  best `racing.keep` share of each round gets more replications, the same new
  replication numbers for every survivor, so each ranking is paired.
* **Final re-evaluation.** The top `finalists` run again with
  `final_replications` on a fresh seed and the winner is the best on those, since
  the screening maximum is optimistically biased (the winner's curse).

Every evaluation is a job of `livesim.backends` (keys ``cand-00012-r00000`` and
``final-00012-r00000``), written to ``out/points/`` as it finishes, so `resume`
continues a killed run and the Dask backend works unchanged.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from livesim import __version__
from livesim.backends import Backend, Job, LocalBackend, chunk_jobs, chunks, run_jobs
from livesim.errors import ConfigError
from livesim.model.posterior import posterior_record
from livesim.optimize.candidates import OptimizePlan
from livesim.optimize.config import OptimizeConfig
from livesim.optimize.objectives import rank
from livesim.optimize.reporting import write_results
from livesim.optimize.tables import OptimizeResult, candidate_table, finalist_table
from livesim.scenario import Scenario

#: Campaign metrics kept per replication (the objectives and the tables need these).
COLUMNS = ("net_gmv", "gross_gmv", "orders", "unique_viewers", "cost", "roi")


def schedule(config: OptimizeConfig, candidates: int) -> list[tuple[int, int]]:
    """(candidates evaluated, replications each so far) per screening round."""
    rounds = [(candidates, config.replications)]
    if config.search == "exhaustive":
        return rounds
    cap = config.racing.max_replications or 8 * config.replications
    size, reps = rounds[0]
    while True:
        keep = max(config.finalists, math.ceil(config.racing.keep * size))
        more = min(cap, math.ceil(reps * config.racing.growth))
        if keep <= config.finalists or keep >= size or more <= reps:
            return rounds
        size, reps = keep, more
        rounds.append((size, reps))


def choose_plan_engine(plan: OptimizePlan) -> str:
    """One concrete engine for every candidate (common random numbers need one)."""
    from livesim.engines import choose_engine

    return choose_engine(plan.config.engine)


def expected_total_work(plan: OptimizePlan, rounds: list[tuple[int, int]]) -> float:
    """Expected viewer-visits of the whole search, an upper estimate for racing
    (later rounds are charged with the heaviest candidates)."""
    from livesim.runner import expected_work

    loads = sorted((expected_work(c.scenario) for c in plan.candidates), reverse=True)
    total, done = 0.0, 0
    for size, reps in rounds:
        total += sum(loads[:size]) * (reps - done)
        done = reps
    finalists = min(plan.config.finalists, len(loads))
    return total + sum(loads[:finalists]) * plan.config.final_replications


def preflight(
    plan: OptimizePlan, engine: str, rounds: list[tuple[int, int]], force: bool
) -> None:
    """Refuse a search past the work limit (unless `force`) or any candidate that
    `livesim run` would refuse at the most replications it may get."""
    from livesim.runner import MAX_WORK, check_request

    config = plan.config
    most = max(rounds[-1][1], config.final_replications)
    problems: list[str] = []
    for c in plan.candidates:
        try:
            check_request(c.scenario, most, 1, engine, False, True, config.seed)
        except ConfigError as exc:
            problems += [f"candidate {c.index}: {e}" for e in exc.errors]
            break
    work = expected_total_work(plan, rounds)
    limit = MAX_WORK[engine]
    if not force and work > limit:
        problems.append(
            f"replications: the search needs about {work:,.3g} viewer-visits "
            f"({len(plan.candidates)} candidates, rounds {rounds}, "
            f"{config.finalists} finalists x {config.final_replications}), past the "
            f"limit of {limit:,.3g} for the {engine} engine; use fewer candidates, "
            'fewer replications, search = "racing", or --force'
        )
    if problems:
        raise ConfigError(problems)


def _jobs(
    key: str,
    scenario: Scenario,
    first: int,
    last: int,
    seed: int,
    engine: str,
    chunk: int,
) -> list[Job]:
    """Jobs of replications first..last-1, keyed by their first replication."""
    template = chunk_jobs(key, scenario, last, seed, engine, COLUMNS, last, None)
    return [
        replace(
            template[0],
            key=f"{key}-r{reps[0] + first:05d}",
            replications=tuple(r + first for r in reps),
        )
        for reps in chunks(last - first, chunk)
    ]


def screen(
    plan: OptimizePlan,
    engine: str,
    rounds: list[tuple[int, int]],
    folder: Path,
    backend: Backend,
    progress: bool,
) -> tuple[dict[int, pd.DataFrame], dict[int, int], list[int]]:
    """Run the screening rounds: (rows per candidate, last round per candidate,
    the candidates of the last round best first)."""
    rows: dict[int, pd.DataFrame] = {}
    reached: dict[int, int] = {}
    alive = list(range(len(plan.candidates)))
    done = 0
    for k, (size, reps) in enumerate(rounds):
        alive = alive[:size]
        jobs = _round_jobs(plan, engine, alive, done, reps)
        flat = [job for i in alive for job in jobs[i]]
        label = "screening" if len(rounds) == 1 else f"round {k + 1}/{len(rounds)}"
        got = run_jobs(flat, folder, backend, progress, label)
        for i in alive:
            parts = [rows[i]] if i in rows else []
            rows[i] = pd.concat(
                parts + [got[job.key] for job in jobs[i]], ignore_index=True
            )
            reached[i] = k + 1
        done = reps
        alive = rank(alive, rows, plan)
    return rows, reached, alive


def _round_jobs(
    plan: OptimizePlan, engine: str, alive: list[int], done: int, reps: int
) -> dict[int, list[Job]]:
    """Each surviving candidate's jobs of replications done..reps-1."""
    config = plan.config
    return {
        i: _jobs(
            f"cand-{i:05d}",
            plan.candidates[i].scenario,
            done,
            reps,
            config.seed,
            engine,
            config.chunk,
        )
        for i in alive
    }


def run_optimization(
    plan: OptimizePlan,
    out: Path,
    backend: Backend | None = None,
    resume: bool = False,
    progress: bool = False,
    force: bool = False,
    fmt: str = "both",
) -> OptimizeResult:
    """Screen every candidate, re-evaluate the finalists on a fresh seed, and write
    experiment.json, points/, candidates and finalists (CSV and/or Parquet, `fmt`),
    optimize.md and optimize.png into `out`."""
    from livesim.sweep import start_experiment

    started = time.perf_counter()
    config = plan.config
    engine = choose_plan_engine(plan)
    rounds = schedule(config, len(plan.candidates))
    preflight(plan, engine, rounds, force)
    manifest = _manifest(plan, engine, rounds)
    folder = start_experiment(out, plan.digest, resume, manifest)
    backend = backend or LocalBackend()
    rows, reached, ranked = screen(plan, engine, rounds, folder, backend, progress)
    chosen = ranked[: config.finalists]
    fresh = reevaluate(plan, engine, chosen, folder, backend, progress)
    order = rank(chosen, fresh, plan)
    candidates = candidate_table(plan, rows, reached, chosen)
    finalists = finalist_table(plan, rows, fresh, order)
    result = OptimizeResult(
        plan=plan,
        candidates=candidates,
        finalists=finalists,
        winner=order[0],
        engine=engine,
        rounds=rounds,
        seconds=0.0,
        out=out,
    )
    result.seconds = round(time.perf_counter() - started, 3)
    write_results(result, fmt)
    return result


def reevaluate(
    plan: OptimizePlan,
    engine: str,
    chosen: list[int],
    folder: Path,
    backend: Backend,
    progress: bool,
) -> dict[int, pd.DataFrame]:
    """The finalists' rows on the fresh seed (`final_replications` each)."""
    config = plan.config
    jobs = {
        i: chunk_jobs(
            f"final-{i:05d}",
            plan.candidates[i].scenario,
            config.final_replications,
            config.fresh_seed,
            engine,
            COLUMNS,
            config.chunk,
            None,
        )
        for i in chosen
    }
    flat = [job for i in chosen for job in jobs[i]]
    got = run_jobs(flat, folder, backend, progress, "final")
    return {
        i: pd.concat([got[j.key] for j in jobs[i]], ignore_index=True) for i in chosen
    }


def _manifest(
    plan: OptimizePlan, engine: str, rounds: list[tuple[int, int]]
) -> dict[str, Any]:
    config = plan.config
    return {
        "kind": "optimize",
        "digest": plan.digest,
        "scenario": plan.scenario.name,
        "scenario_sha256": plan.scenario.digest(),
        "posterior": posterior_record(plan.scenario.posterior),
        "candidates": len(plan.candidates),
        "rounds": [{"candidates": s, "replications": r} for s, r in rounds],
        "seed": config.seed,
        "final_seed": config.fresh_seed,
        "engine": engine,
        "engine_requested": config.engine,
        "target": plan.target,
        "livesim_version": __version__,
        "config": config.model_dump(),
    }
