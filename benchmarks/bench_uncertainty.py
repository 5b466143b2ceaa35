"""Benchmark: what drawing and applying priors costs a KOS101 replication.

The bundled KOS101 night with eight priors of every scope (the audition's turnout
and frequency, the event push, each host's purchase rate and followers, return
rates, and the night's form per stream): the median time of one parameter draw
(`model.uncertainty.realize`: the uniforms, the inverse CDFs, the campaign copied
with the values) against the median time of one cohort-engine replication of the
same campaign, in one process. Target: at most 5%. Then 40 replications of the
campaign with and without the priors (`simulate`, one worker): their time ratio,
and the ratio of viewers simulated per second (the priors change how many viewers
come, so the time alone mixes the overhead with a different workload).

Usage: python benchmarks/bench_uncertainty.py [--out benchmarks/uncertainty.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from livesim import load_scenario, simulate
from livesim.engines.cohort import run_replication
from livesim.model.uncertainty import realize
from livesim.scenario import scenario_from_dict
from livesim.scenarios import bundled_scenario

TARGET_SHARE = 0.05
PRIORS: list[dict[str, Any]] = [
    {
        "name": "turnout",
        "paths": ["awareness.turnout"],
        "dist": "beta",
        "mean": 0.002,
        "sd": 0.0008,
    },
    {
        "name": "frequency",
        "paths": ["awareness.frequency"],
        "dist": "uniform",
        "low": 1.5,
        "high": 4.0,
    },
    {
        "name": "push",
        "paths": ["hosts.*.recommendation_rate"],
        "dist": "lognormal",
        "median": 1.0,
        "log_sd": 0.3,
        "mode": "scale",
    },
    {
        "name": "purchase",
        "paths": ["hosts.*.purchase_rate"],
        "dist": "lognormal",
        "median": 1.0,
        "log_sd": 0.2,
        "mode": "scale",
        "scope": "host",
    },
    {
        "name": "followers",
        "paths": ["hosts.*.followers"],
        "dist": "triangular",
        "low": 0.7,
        "peak": 1.0,
        "high": 1.3,
        "mode": "scale",
        "scope": "host",
    },
    {
        "name": "returns",
        "paths": ["products.*.return_rate"],
        "dist": "beta",
        "mean": 0.08,
        "sd": 0.02,
    },
    {
        "name": "form",
        "paths": ["hosts.*.trust_rate"],
        "dist": "lognormal",
        "median": 1.0,
        "log_sd": 0.15,
        "mode": "scale",
        "scope": "stream",
    },
    {
        "name": "sale_depth",
        "paths": ["platform.scarcity_lift"],
        "dist": "uniform",
        "low": 0.1,
        "high": 0.5,
    },
]


def with_priors() -> Any:
    data = load_scenario(bundled_scenario("mac_kos101")).model_dump(exclude_none=True)
    data["uncertainty"] = [p | {"source": "benchmark"} for p in PRIORS]
    return scenario_from_dict(data)


def median_seconds(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/uncertainty.json"))
    args = parser.parse_args()
    plain = load_scenario(bundled_scenario("mac_kos101"))
    priors = with_priors()
    campaign = priors.campaigns()["baseline"]
    run_replication(campaign, 0, 0)  # load the compiled code
    draws = iter(range(10**6))
    draw = median_seconds(lambda: realize(campaign, 0, next(draws)), 200)
    replication = median_seconds(lambda: run_replication(campaign, 0, 1), 7)
    runs, rates = {}, {}
    for name, scenario in (("without", plain), ("with", priors)):
        start = time.perf_counter()
        result = simulate(scenario, replications=40, engine="cohort", workers=1)
        runs[name] = time.perf_counter() - start
        rates[name] = float(result.replications["viewers"].sum()) / runs[name]
    figures = {
        "priors": len(PRIORS),
        "draw_seconds": round(draw, 6),
        "cohort_replication_seconds": round(replication, 4),
        "draw_share_of_replication": round(draw / replication, 4),
        "runs_40_without_priors_seconds": round(runs["without"], 2),
        "runs_40_with_priors_seconds": round(runs["with"], 2),
        "time_ratio_with_over_without": round(runs["with"] / runs["without"], 3),
        "viewers_per_second_ratio_with_over_without": round(
            rates["with"] / rates["without"], 3
        ),
        "target_share": TARGET_SHARE,
    }
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    for key, value in figures.items():
        print(f"{key:34s} {value}")
    met = draw / replication <= TARGET_SHARE
    print(f"\npriors: {'meet' if met else 'MISS'} their target")
    if not met:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
