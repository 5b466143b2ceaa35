"""Benchmark: ABC-SMC calibration (`livesim calibrate --method abc`) end to end.

Two cases, each to the documented default tolerance (temperature 1: the exact
posterior under the observation errors), on local worker processes:

- recovery: the one-stream scenario of tests/test_bayes.py (two free priors, a
  host-scope nuisance prior) calibrated to one replication's viewers and
  orders, 100 particles, 5 generations. Target: under 1 minute.
- KOS101: the bundled night's [calibration] as it stands: turnout, push and
  conversion given "nearly 5.88 million" (rel_sd 0.01), with its population and
  generations, the other seven priors as nuisances. Target: at most 10 minutes on
  the 2-core machine (`--recovery-only` skips it).

Each records its wall time, simulations, simulations per second and the
posterior's 90% credible intervals.

Usage: python benchmarks/bench_calibration.py [--workers 2] [--recovery-only]
       [--out benchmarks/calibration.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from livesim import load_scenario, simulate
from livesim.bayes import calibrate_abc
from livesim.bayes.report import correlations, marginals
from livesim.scenarios import bundled_scenario

TARGETS = {"recovery": 60.0, "kos101": 600.0}


def recovery_scenario() -> Any:
    """The recovery case of tests/test_bayes.py (rate 15, buy 1.2, seed 7)."""
    tests = Path(__file__).resolve().parents[1] / "tests"
    sys.path.insert(0, str(tests))
    from test_bayes import recovery_scenario as case

    return case()[0]


def measure(name: str, scenario: Any, workers: int, **options: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = calibrate_abc(
            scenario, out, workers=workers, progress=print, **options
        )
        seconds = time.perf_counter() - start
    table = marginals(result)
    record = {
        "seconds": round(seconds, 1),
        "target_seconds": TARGETS[name],
        "met": seconds <= TARGETS[name],
        "simulations": result.simulations,
        "simulations_per_second": round(result.simulations / seconds, 1),
        "generations": len(result.generations),
        "final_temperature": float(result.generations["temperature"].iloc[-1]),
        "posterior": table[
            ["parameter", "posterior_median", "ci90_low", "ci90_high", "width_vs_prior"]
        ].to_dict(orient="records"),
        "correlations": correlations(result).to_dict(orient="records"),
    }
    print(f"{name}: {json.dumps(record, indent=2)}")
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--recovery-only", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/calibration.json"))
    args = parser.parse_args()
    simulate(recovery_scenario(), replications=1, engine="cohort")  # compile first
    results = {"workers": args.workers}
    results["recovery"] = measure("recovery", recovery_scenario(), args.workers)
    if not args.recovery_only:
        kos101 = load_scenario(bundled_scenario("mac_kos101"))
        spec = kos101.calibration
        assert spec is not None and spec.method == "abc"
        results["kos101"] = measure("kos101", kos101, args.workers)
        results["kos101"].update(
            population=spec.population, free=spec.free_names(), engine="cohort"
        )
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
