"""Benchmark: a 100-point sweep x 50 replications on each experiment backend.

The scenario is the bundled teaching_tiny campaign (a KOL warm-up stream, then a
KOS stream; about 7,600 room entries per replication, the agent engine), swept over
a 10 x 10 factorial of platform push and the KOS purchase rate: 100 points x 50
replications = 5,000 replications in 200 chunks of 25. It runs the same sweep

1. on the local backend with one worker (this process),
2. on the local backend with two worker processes,
3. on a Dask `LocalCluster` of two single-threaded worker processes (start-up
   timed separately),

checks that the three tables are identical, and reports the speed-ups over one
worker and the overhead per task: (wall time x workers - one-worker time) / tasks,
plus the round trip of an empty task on each backend.

Usage: python benchmarks/bench_sweep.py [--out benchmarks/sweep.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from livesim.backends import Backend, DaskBackend, LocalBackend
from livesim.scenarios import bundled_scenario
from livesim.sweep import Experiment, plan, run_sweep

AIM = 1.8  # speed-up on 2 cores, the aim
EMPTY_TASKS = 200


def experiment(levels: int = 10, replications: int = 50) -> Experiment:
    return Experiment.model_validate(
        {
            "scenario": "teaching_tiny",
            "parameters": [
                {
                    "name": "push",
                    "paths": ["hosts.*.recommendation_rate"],
                    "low": 5.0,
                    "high": 50.0,
                    "levels": levels,
                },
                {
                    "name": "kos_purchase",
                    "paths": ["hosts.kos.purchase_rate"],
                    "low": 0.02,
                    "high": 0.04,
                    "levels": levels,
                },
            ],
            "design": {"kind": "factorial"},
            "replications": replications,
            "chunk": 25,
            "strategies": ["baseline"],
            "outputs": ["net_gmv", "orders", "conversion_rate", "roi"],
            "engine": "agent",
        }
    )


def timed_sweep(backend: Backend, folder: Path, exp: Experiment) -> tuple[float, str]:
    sweep = plan(exp, bundled_scenario("teaching_tiny"))
    started = time.perf_counter()
    run_sweep(sweep, folder, backend, progress=True)
    return time.perf_counter() - started, (folder / "sweep.csv").read_text()


def empty_round_trip(backend: Backend) -> float:
    """Seconds per task of a task that does nothing, wall time / tasks."""
    started = time.perf_counter()
    done = sum(1 for _ in backend.map_unordered(len, [()] * EMPTY_TASKS))
    assert done == EMPTY_TASKS
    return (time.perf_counter() - started) / EMPTY_TASKS


def main() -> None:
    from distributed import LocalCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/sweep.json"))
    parser.add_argument(
        "--quick", action="store_true", help="a 3 x 3 x 4 smoke test of the script"
    )
    args = parser.parse_args()
    exp = experiment(3, 4) if args.quick else experiment()
    points = exp.parameters[0].levels * exp.parameters[1].levels
    tasks = points * -(-exp.replications // exp.chunk)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        one, table_one = timed_sweep(LocalBackend(1), root / "one", exp)
        two, table_two = timed_sweep(LocalBackend(2), root / "two", exp)
        started = time.perf_counter()
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        dask = DaskBackend(cluster.scheduler_address)
        startup = time.perf_counter() - started
        try:
            on_dask, table_dask = timed_sweep(dask, root / "dask", exp)
            empty_dask = empty_round_trip(dask)
        finally:
            dask.close()
            cluster.close()
        empty_local = empty_round_trip(LocalBackend(2))
    assert table_one == table_two == table_dask, "backends gave different tables"
    figures = {
        "sweep": "teaching_tiny baseline, push x KOS purchase rate factorial",
        "points": points,
        "replications_per_point": exp.replications,
        "tasks": tasks,
        "local_1_worker_seconds": round(one, 1),
        "local_2_workers_seconds": round(two, 1),
        "dask_2_workers_seconds": round(on_dask, 1),
        "dask_cluster_startup_seconds": round(startup, 1),
        "speedup_local_2_workers": round(one / two, 2),
        "speedup_dask_2_workers": round(one / on_dask, 2),
        "overhead_per_task_local_seconds": round((2 * two - one) / tasks, 4),
        "overhead_per_task_dask_seconds": round((2 * on_dask - one) / tasks, 4),
        "empty_task_local_seconds": round(empty_local, 5),
        "empty_task_dask_seconds": round(empty_dask, 5),
        "tables_identical": True,
        "aim_speedup": AIM,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    if not args.quick:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    for key, value in figures.items():
        print(f"{key:36s} {value}")
    worst = min(figures["speedup_local_2_workers"], figures["speedup_dask_2_workers"])
    print(
        f"\nsweep backends: {worst:.2f}x on 2 workers at worst "
        f"({'meets' if worst >= AIM else 'MISSES'} the {AIM}x aim)"
    )


if __name__ == "__main__":
    main()
