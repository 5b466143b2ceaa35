"""The objective of an optimization: its estimate, interval, paired difference, rank.

Per candidate, over its replications of the campaign's net GMV and ROI:
`mean_net_gmv` and `mean_roi` (t interval), `p_target` = P(net GMV >= target)
(exact Clopper-Pearson interval), `quantile`, the `quantile` quantile of net
GMV (distribution-free interval from order statistics), and `cvar`, the mean net
GMV of the worst `quantile` share of nights (expected shortfall; percentile
bootstrap interval), and `expected_regret`, the mean over nights of the best
candidate's net GMV minus this one's, on the nights every candidate compared ran
(common random numbers and parameter draws: `regrets`; t interval; lower is
better). The intervals and the
paired differences are those of `livesim.stats`. Ties in the ranking are broken
by mean net GMV, then by the lower cost, then by the candidate's number.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from livesim.optimize.candidates import OptimizePlan
from livesim.optimize.config import OptimizeConfig
from livesim.stats import (
    finite,
    mean_ci,
    paired_mean_difference,
    paired_quantile_difference,
    paired_statistic_difference,
    proportion_ci,
    quantile_ci,
    shortfall,
    shortfall_ci,
)

#: Per candidate, on common nights: (its regret per night, its share of being best).
Regrets = dict[int, tuple[np.ndarray, np.ndarray]]


def regrets(rows: dict[int, pd.DataFrame], ids: list[int]) -> Regrets:
    """Per candidate of `ids`, over the replications all of them ran (so the same
    parameter draws and random numbers): each night's regret, the best
    candidate's net GMV minus its own, and its share of being the best that
    night (1, or split among tied candidates)."""
    common = sorted(set.intersection(*(set(rows[i]["replication"]) for i in ids)))
    values = np.vstack(
        [
            rows[i].set_index("replication").loc[common, "net_gmv"].to_numpy(float)
            for i in ids
        ]
    )
    best = values.max(axis=0)
    top = (values == best).astype(float)
    share = top / top.sum(axis=0)
    return {i: (best - values[k], share[k]) for k, i in enumerate(ids)}


def objective_estimate(
    rows: pd.DataFrame,
    config: OptimizeConfig,
    target: float | None,
    regret: np.ndarray | None = None,
) -> float:
    """The objective over a candidate's replications (NaN if undefined);
    `expected_regret` needs the candidate's `regret` per night (`regrets`)."""
    return objective_interval(rows, config, target, False, regret)[0]


def objective_interval(
    rows: pd.DataFrame,
    config: OptimizeConfig,
    target: float | None,
    interval: bool = True,
    regret: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """(estimate, 95% CI low, high) of the objective over a candidate's
    replications: t interval for means and the expected regret, exact binomial
    for P(target), order statistics for a quantile, a bootstrap for the CVaR. The
    CI is NaN when `interval` is false."""
    gmv = rows["net_gmv"].to_numpy(dtype=float)
    low, high = math.nan, math.nan
    if config.objective == "expected_regret":
        if regret is None:
            raise ValueError("expected_regret needs the candidates' regrets")
        estimate = float(regret.mean()) if len(regret) else math.nan
        if interval:
            low, high = mean_ci(regret)
    elif config.objective in ("mean_net_gmv", "mean_roi"):
        values = finite(rows[_mean_column(config)])
        estimate = float(values.mean()) if len(values) else math.nan
        if interval:
            low, high = mean_ci(values)
    elif config.objective == "p_target":
        assert target is not None
        hits, n = int((gmv >= target).sum()), len(gmv)
        estimate = hits / n
        if interval:
            low, high = proportion_ci(hits, n)
    elif config.objective == "cvar":
        estimate = float(shortfall(gmv, config.quantile))
        if interval:
            low, high = shortfall_ci(gmv, config.quantile, config.seed)
    else:
        estimate = float(np.quantile(gmv, config.quantile))
        if interval:
            low, high = quantile_ci(gmv, config.quantile)
    return estimate, low, high


def objective_difference(
    a: pd.DataFrame,
    b: pd.DataFrame,
    config: OptimizeConfig,
    target: float | None,
    regret: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, float]:
    """Paired difference of the objective, a minus b, with a 95% CI.

    Means, P(target) (a mean of hits) and the expected regret (from `regret`, the
    two candidates' regrets per night) are the BCa bootstrap of the mean paired
    difference; a quantile's difference is a paired percentile bootstrap of the
    difference of the two quantiles (`livesim.stats`).
    """
    x, y = a.sort_values("replication"), b.sort_values("replication")
    first = x["net_gmv"].to_numpy(dtype=float)
    second = y["net_gmv"].to_numpy(dtype=float)
    if config.objective == "expected_regret":
        if regret is None:
            raise ValueError("expected_regret needs the candidates' regrets")
        first, second = regret
    elif config.objective == "quantile":
        diff, low, high = paired_quantile_difference(
            first, second, config.quantile, config.seed
        )
        return {"mean_diff": diff, "ci_low": low, "ci_high": high}
    if config.objective == "cvar":

        def worst(values: np.ndarray, axis: int = -1) -> np.ndarray:
            return shortfall(values, config.quantile, axis)

        diff, low, high = paired_statistic_difference(first, second, worst, config.seed)
        return {"mean_diff": diff, "ci_low": low, "ci_high": high}
    if config.objective == "p_target":
        assert target is not None
        first = (first >= target).astype(float)
        second = (second >= target).astype(float)
    elif config.objective != "expected_regret":
        column = _mean_column(config)
        first = x[column].to_numpy(dtype=float)
        second = y[column].to_numpy(dtype=float)
    out = paired_mean_difference(first, second, config.seed)
    return {k: out[k] for k in ("mean_diff", "ci_low", "ci_high")}


def _mean_column(config: OptimizeConfig) -> str:
    return "net_gmv" if config.objective == "mean_net_gmv" else "roi"


def rank(
    ids: list[int], rows: dict[int, pd.DataFrame], plan: OptimizePlan
) -> list[int]:
    """Candidates best first: objective (the expected regret among `ids`, lowest
    first), then mean net GMV, lower cost, number."""
    lower = plan.config.objective == "expected_regret"
    among = regrets(rows, ids) if lower and ids else {}

    def key(i: int) -> tuple[float, float, float, int]:
        regret = among[i][0] if lower else None
        value = objective_estimate(rows[i], plan.config, plan.target, regret)
        mean = float(rows[i]["net_gmv"].mean())
        return (
            (value if lower else -value) if math.isfinite(value) else math.inf,
            -mean,
            plan.candidates[i].cost,
            i,
        )

    return sorted(ids, key=key)


def objective_label(config: OptimizeConfig, target: float | None) -> str:
    """The objective in words, for tables, reports and figures."""
    if config.objective == "mean_net_gmv":
        return "mean net GMV (RMB)"
    if config.objective == "mean_roi":
        return "mean ROI"
    if config.objective == "p_target":
        return f"P(net GMV >= {target:,.0f} RMB)"
    if config.objective == "cvar":
        return f"mean net GMV of the worst {config.quantile * 100:g}% of nights (RMB)"
    if config.objective == "expected_regret":
        return "expected regret: the best candidate's net GMV minus this one's (RMB)"
    return f"{config.quantile:g} quantile of net GMV (RMB)"


def format_objective(config: OptimizeConfig, value: float) -> str:
    """A value of the objective in its unit."""
    if not math.isfinite(value):
        return "n/a"
    if config.objective == "mean_roi":
        return f"{value:.3f}"
    if config.objective == "p_target":
        return f"{value:.1%}"
    return f"{value:,.0f}"
