"""Benchmark: this tree's engines against another commit's, in one run.

    python benchmarks/bench_versions.py --ref 3ff07d0 [--rounds 5]

The ~1M-viewer session of bench_agent.py (the KOS101 night, platform traffic x 4.2),
one replication per engine, run in fresh processes that alternate between the commit
at `--ref` (a temporary git worktree) and this tree, `--rounds` times each, so both
see the same machine. Each process loads its engine first (the cohort engine's
compiled code from numba's cache) and then times one replication. Prints, per
engine, the median viewers per second of each version and their ratio
(this tree / ref): a refactor that must not cost speed keeps both ratios near 1.
Writes benchmarks/versions.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from worktree import tree_at

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import sys, time
sys.path.insert(0, {bench!r})
from bench_agent import scaled
from livesim.engines import engine_runner
run = engine_runner({engine!r})
if {engine!r} == "cohort":
    run(scaled(0.05).campaigns()["baseline"], 1, 0)  # load the compiled code
campaign = scaled(4.2).campaigns()["baseline"]
start = time.perf_counter()
rows = run(campaign, 1, 0).rows
seconds = time.perf_counter() - start
print(sum(r["viewers"] for r in rows) / seconds)
"""


def rate(src: Path, engine: str) -> float:
    """Viewers per second of one replication, with the livesim in `src`."""
    env = os.environ | {"PYTHONPATH": str(src)}
    code = CHILD.format(bench=str(ROOT / "benchmarks"), engine=engine)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(done.stderr)
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", required=True, help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--engines", nargs="+", default=["agent", "cohort"], choices=["agent", "cohort"]
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/versions.json")
    args = parser.parse_args()
    figures: dict[str, object] = {"ref": args.ref, "rounds": args.rounds}
    with tree_at(args.ref) as tree:
        for engine in args.engines:
            rate(tree / "src", engine)  # compile both once, untimed
            rate(ROOT / "src", engine)
            before, after = [], []
            for _ in range(args.rounds):
                before.append(rate(tree / "src", engine))
                after.append(rate(ROOT / "src", engine))
            b, a = statistics.median(before), statistics.median(after)
            figures[engine] = {
                "ref_viewers_per_second": round(b),
                "this_viewers_per_second": round(a),
                "ratio_this_over_ref": round(a / b, 3),
            }
            print(f"{engine:7s} ref {b:12,.0f}  this {a:12,.0f}  ratio {a / b:.3f}")
    args.out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
