"""The tables of an optimization: candidates.csv and finalists.csv.

`candidate_table` has one row per candidate (its allocation, cost, screening
objective, net GMV and ROI over its screening replications, its rank);
`finalist_table` one row per finalist, best first on the fresh seed, with the
objective's 95% CI and the paired differences of the winner to each finalist.
`OptimizeResult` holds both with what produced them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from livesim.optimize.candidates import OptimizePlan
from livesim.optimize.objectives import (
    objective_difference,
    objective_estimate,
    objective_interval,
    rank,
    regrets,
)
from livesim.stats import finite, paired_mean_difference


@dataclass
class OptimizeResult:
    """What `run_optimization` found and wrote."""

    plan: OptimizePlan
    candidates: pd.DataFrame
    finalists: pd.DataFrame
    winner: int
    engine: str
    rounds: list[tuple[int, int]]
    seconds: float
    out: Path
    files: list[str] = field(default_factory=list)


def _allocation(plan: OptimizePlan, i: int) -> dict[str, Any]:
    c = plan.candidates[i]
    return {
        "candidate": i,
        **dict(zip(plan.names, c.counts, strict=True)),
        "depth": c.depth,
        "hosts": c.hosts,
        "cost": c.cost,
    }


def _gmv_stats(frame: pd.DataFrame, target: float | None) -> dict[str, float]:
    gmv = frame["net_gmv"].to_numpy(dtype=float)
    roi = finite(frame["roi"])
    p5, p50, p95 = np.percentile(gmv, [5, 50, 95])
    out = {
        "mean_net_gmv": float(gmv.mean()),
        "p5_net_gmv": float(p5),
        "p50_net_gmv": float(p50),
        "p95_net_gmv": float(p95),
        "mean_roi": float(roi.mean()) if len(roi) else math.nan,
    }
    if target is not None:
        out["p_target"] = float((gmv >= target).mean())
    return out


def candidate_table(
    plan: OptimizePlan,
    rows: dict[int, pd.DataFrame],
    reached: dict[int, int],
    chosen: list[int],
) -> pd.DataFrame:
    """One row per candidate: allocation, cost, screening objective, net GMV and
    ROI over its screening replications; `screening_rank` orders candidates that
    reached later racing rounds first."""
    records = []
    among = regrets(rows, list(rows))  # on the first round's nights, run by all
    for i in range(len(plan.candidates)):
        frame = rows[i]
        records.append(
            {
                **_allocation(plan, i),
                "replications": len(frame),
                "round": reached[i],
                "objective": objective_estimate(
                    frame, plan.config, plan.target, among[i][0]
                ),
                **_gmv_stats(frame, plan.target),
                "finalist": i in chosen,
            }
        )
    table = pd.DataFrame(records)
    by_round: list[int] = []
    for k in sorted(set(reached.values()), reverse=True):
        ids = [i for i in range(len(plan.candidates)) if reached[i] == k]
        by_round += rank(ids, rows, plan)
    table["screening_rank"] = 0
    table.loc[by_round, "screening_rank"] = np.arange(1, len(by_round) + 1)
    return table


def finalist_table(
    plan: OptimizePlan,
    screening: dict[int, pd.DataFrame],
    fresh: dict[int, pd.DataFrame],
    order: list[int],
) -> pd.DataFrame:
    """One row per finalist, best first on the fresh seed: the objective with its
    95% CI, net GMV, the paired difference winner minus finalist, and over the
    fresh nights (each its own parameter draw) the expected regret and how often
    it is the best finalist (`p_best`)."""
    winner = fresh[order[0]].sort_values("replication")
    among = regrets(fresh, order)
    before = regrets(screening, list(screening))  # as in candidates.csv
    records = [
        {
            "final_rank": place,
            **_allocation(plan, i),
            **_finalist_stats(
                plan,
                (screening[i], before[i][0]),
                winner,
                fresh[i],
                (among[order[0]][0], among[i][0]),
            ),
            "expected_regret": float(among[i][0].mean()),
            "p_best": float(among[i][1].mean()),
            "winner": place == 1,
        }
        for place, i in enumerate(order, start=1)
    ]
    return pd.DataFrame(records)


def _finalist_stats(
    plan: OptimizePlan,
    screening: tuple[pd.DataFrame, np.ndarray],
    winner: pd.DataFrame,
    fresh: pd.DataFrame,
    regret: tuple[np.ndarray, np.ndarray],
) -> dict[str, Any]:
    """A finalist's objective (screening, fresh with CI), net GMV and its paired
    differences to the winner on the fresh replications; `screening` is its rows
    and regrets there, `regret` the winner's and its regrets on the fresh nights."""
    config, target = plan.config, plan.target
    frame = fresh.sort_values("replication")
    value, low, high = objective_interval(frame, config, target, True, regret[1])
    diff = objective_difference(winner, frame, config, target, regret)
    gmv = paired_mean_difference(
        winner["net_gmv"].to_numpy(dtype=float),
        frame["net_gmv"].to_numpy(dtype=float),
        config.seed,
    )
    return {
        "screening_objective": objective_estimate(
            screening[0], config, target, screening[1]
        ),
        "replications": len(frame),
        "objective": value,
        "objective_ci_low": low,
        "objective_ci_high": high,
        **_gmv_stats(frame, target),
        "diff_objective": diff["mean_diff"],
        "diff_objective_ci_low": diff["ci_low"],
        "diff_objective_ci_high": diff["ci_high"],
        "diff_net_gmv": gmv["mean_diff"],
        "diff_net_gmv_ci_low": gmv["ci_low"],
        "diff_net_gmv_ci_high": gmv["ci_high"],
        "p_winner_higher": gmv["p_first_higher"],
    }
