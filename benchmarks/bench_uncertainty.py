"""Benchmark: what drawing and applying priors costs a KOS101 replication.

The bundled KOS101 night with its ten priors of every scope (the audition's
turnout, frequency and memory, the event push, the night's conversion and each
host's purchase rate, followers, return rates, the night's form per stream and
the event's share):
the median time of one parameter draw (`model.uncertainty.realize`: the
uniforms, the inverse CDFs, the campaign copied with the values) against the
median time of one cohort-engine replication of the same campaign, in one
process. Target: at most 5%. Then 40 replications of the campaign with and
without the priors (switched off as `--fixed` does; `simulate`, one worker):
their time ratio, and the ratio of viewers simulated per second (the priors
change how many viewers come, so the time alone mixes the overhead with a
different workload).

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
from livesim.scenarios import bundled_scenario

TARGET_SHARE = 0.05


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
    priors = load_scenario(bundled_scenario("mac_kos101"))
    plain = priors.model_copy(update={"uncertainty": []})
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
        "priors": len(priors.uncertainty),
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
