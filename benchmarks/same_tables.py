"""Are the tables bit for bit what they were at another commit?

    python benchmarks/same_tables.py --ref 3ff07d0

runs a set of cases (the bundled scenarios and variants that switch on each part of
the model: promotions, stock, Q&A with and without reneging, exponential dwell,
carry-over, word of mouth, an awareness phase, the event log) on both engines, with
this tree's livesim and with the one at `--ref` (checked out into a temporary git
worktree), and compares a SHA-256 of every table (replications, summary, time
series, events; floats written with 17 significant digits). Exit 0 when every
table is identical, 1 with the differing ones listed.

`--digest FILE` only writes this interpreter's digests (the livesim it imports).
A refactor that must not change results (issue 16) is checked with this script.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from worktree import tree_at

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ROOT / "experiments"


def _toml(name: str) -> dict[str, Any]:
    return tomllib.loads((EXPERIMENTS / name).read_text())


def variants() -> dict[str, dict[str, Any]]:
    """Scenario dicts that switch on each part of the model."""
    tiny = _toml("teaching_tiny.toml")
    tiny.pop("strategies", None)
    out: dict[str, dict[str, Any]] = {"tiny": _toml("teaching_tiny.toml")}
    qa = copy.deepcopy(tiny)
    for host in qa["hosts"]:
        host.update(qa_capacity=1, question_rate=0.3, qa_service_minutes=2.0)
    qa["hosts"][1]["reneging"] = False
    out["qa"] = qa
    dwell = copy.deepcopy(tiny)
    for host in dwell["hosts"]:
        host.update(dwell_distribution="exponential", arrival_profile="uniform")
    out["exponential"] = dwell
    wom = copy.deepcopy(tiny)
    for host in wom["hosts"]:
        host.update(share_prob=0.05, carryover_share=0.3, delayed_purchase_prob=0.2)
    wom["platform"] = {"wom_viewers_per_share": 4.0}
    out["wom_carry_late"] = wom
    scarce = copy.deepcopy(tiny)
    scarce["products"][0]["stock"] = 20
    scarce["products"][1]["stock"] = 40
    scarce["streams"][0]["promotions"] = [
        {"start": 5, "duration": 20, "discount": 0.3, "urgency": 0.5},
        {"start": 10, "duration": 20, "discount": 0.3, "products": ["lipstick"]},
    ]
    out["promotions_stock"] = scarce
    return out


def cases() -> list[tuple[str, Any, str, int, bool]]:
    """(name, scenario, engine, replications, event log)."""
    from livesim import load_scenario
    from livesim.scenario import scenario_from_dict

    found: list[tuple[str, Any, str, int, bool]] = []
    for name, data in variants().items():
        scenario = scenario_from_dict(data)
        for engine in ("agent", "cohort"):
            found.append((f"{name}-{engine}", scenario, engine, 4, False))
    tiny = load_scenario(EXPERIMENTS / "teaching_tiny.toml")
    found.append(("tiny-events", tiny, "agent", 2, True))
    kos101 = load_scenario(EXPERIMENTS / "mac_kos101.toml")
    found.append(("kos101-cohort", kos101, "cohort", 3, False))
    found.append(("kos101-agent", kos101, "agent", 1, False))
    strategies = load_scenario(EXPERIMENTS / "kos101_strategies.toml")
    found.append(("kos101_strategies-cohort", strategies, "cohort", 2, False))
    return found


def digest(frame: Any) -> str:
    text = frame.to_csv(index=False, float_format="%.17g")
    return hashlib.sha256(text.encode()).hexdigest()


def digests() -> dict[str, str]:
    from livesim import simulate

    out = {}
    for name, scenario, engine, reps, events in cases():
        result = simulate(
            scenario, replications=reps, seed=7, engine=engine, event_log=events
        )
        tables = {
            "replications": result.replications,
            "summary": result.summary,
            "timeseries": result.timeseries,
        }
        if result.events is not None:
            tables["events"] = result.events
        for table, frame in tables.items():
            out[f"{name}/{table}"] = digest(frame)
        print(f"  {name}", file=sys.stderr, flush=True)
    return out


def run_at(src: Path, target: Path) -> dict[str, str]:
    """Digests computed by the livesim in `src` (a fresh interpreter)."""
    env = os.environ | {"PYTHONPATH": str(src)}
    subprocess.run(
        [sys.executable, __file__, "--digest", str(target)], check=True, env=env
    )
    result: dict[str, str] = json.loads(target.read_text())
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", default="HEAD", help="the commit to compare with")
    parser.add_argument("--digest", type=Path, help="write this livesim's digests")
    args = parser.parse_args()
    if args.digest:
        args.digest.write_text(json.dumps(digests(), indent=1))
        return 0
    with tree_at(args.ref) as tree, tempfile.TemporaryDirectory() as tmp:
        print(f"tables at {args.ref}:", file=sys.stderr)
        before = run_at(tree / "src", Path(tmp) / "before.json")
        print("tables of this tree:", file=sys.stderr)
        after = run_at(ROOT / "src", Path(tmp) / "after.json")
    differ = sorted(
        k for k in before.keys() | after.keys() if before.get(k) != after.get(k)
    )
    for key in differ:
        print(f"DIFFERENT {key}")
    print(
        f"{len(before) - len(differ)} of {len(before)} tables identical to {args.ref}"
    )
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
