"""Tidy tables from replications: per-stream rows, campaign totals, summaries with CIs.

Three levels, as in reproducible simulation pipelines: one row per replication x
strategy x stream (`replications`), campaign totals per replication (`campaign`), and a
long `summary` (mean, sd, t-based 95% CI, p5/p50/p95 per metric, with guards for
n < 2) plus P(net GMV >= target) with an exact binomial CI; the intervals are those
of `livesim.stats`. Nothing here simulates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from livesim.stats import (
    explained_share,
    finite,
    mean_ci,
    median_ci,
    parameter_share,
    proportion_ci,
)

if TYPE_CHECKING:
    from livesim.scenario import Scenario

ID_COLUMNS = ["replication", "strategy", "stream", "host", "host_kind"]
#: Counted per stream, summed to campaign totals.
ADDITIVE = [
    "reached",
    "viewers",
    "unique_viewers",
    "fake_viewers",
    "likes",
    "comments",
    "shares",
    "engaged",
    "clicked",
    "askers",
    "questions_asked",
    "questions_answered",
    "questions_abandoned",
    "orders",
    "delayed_orders",
    "kept_orders",
    "returned_orders",
    "units",
    "gross_gmv",
    "refunds",
    "net_gmv",
    "lost_sales",
    "margin_value",
    "cost",
    "arrivals_follower",
    "arrivals_platform",
    "arrivals_ads",
    "arrivals_wom",
    "arrivals_carryover",
    "arrivals_awareness",
]
#: Funnel stages in order (reached -> entered -> engaged -> clicked -> ordered -> kept).
FUNNEL = [
    ("reached", "reached"),
    ("entered", "unique_viewers"),
    ("engaged", "engaged"),
    ("clicked", "clicked"),
    ("ordered", "orders"),
    ("kept", "kept_orders"),
]
#: The report's funnel per strategy and host kind (viewers who asked, orders that
#: were returned).
REPORT_FUNNEL = [
    ("reached", "reached"),
    ("entered", "unique_viewers"),
    ("engaged", "engaged"),
    ("asked", "askers"),
    ("bought", "orders"),
    ("returned", "returned_orders"),
]
#: The prefix of the parameter draws' columns (`model.uncertainty.row_values`).
PARAM_PREFIX = "param."
#: Metrics whose spread is split into parameters and noise (`uncertainty_rows`).
UNCERTAIN_METRICS = ["net_gmv", "orders", "unique_viewers", "roi"]
SUMMARY_COLUMNS = [
    "strategy",
    "scope",
    "metric",
    "n",
    "mean",
    "sd",
    "ci_low",
    "ci_high",
    "p5",
    "p50",
    "p95",
]


def campaign_totals(replications: pd.DataFrame) -> pd.DataFrame:
    """One row per replication x strategy: sums over streams, ratios recomputed."""
    grouped = replications.groupby(["strategy", "replication"], sort=False)
    totals = grouped[ADDITIVE].sum().reset_index()
    keys = [replications["strategy"], replications["replication"]]
    weighted = {
        name: (replications[mean] * replications[count])
        .groupby(keys, sort=False)
        .sum()
        .to_numpy()
        for name, (mean, count) in WEIGHTED_MEANS.items()
    }
    params = param_columns(replications)
    if params:  # a campaign's draw, or the mean of its hosts' or streams' draws
        totals[params] = grouped[params].mean().to_numpy()
    for column, value in ratios(totals, weighted).items():
        totals[column] = value
    return totals


#: Means over streams weighted by a count: (the stream's mean, its count).
WEIGHTED_MEANS = {
    "mean_watch_minutes": ("mean_watch_minutes", "unique_viewers"),
    "mean_qa_wait": ("mean_qa_wait", "questions_answered"),
}


def ratios(totals: Any, weighted: dict[str, Any]) -> dict[str, Any]:
    """The campaign's ratio metrics from its sums (`totals`: a table or a dict of
    ADDITIVE sums) and the count-weighted sums of the stream means (`weighted`)."""
    out = {
        name: _ratio(weighted[name], totals[count])
        for name, (_, count) in WEIGHTED_MEANS.items()
    }
    out["conversion_rate"] = _ratio(totals["orders"], totals["unique_viewers"])
    cost = np.asarray(totals["cost"], dtype=float)
    margin = np.asarray(totals["margin_value"], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["roi"] = np.where(cost > 0, (margin - cost) / cost, np.nan)
    return out


def row_totals(rows: list[dict[str, Any]]) -> dict[str, float]:
    """One replication's campaign totals from its stream rows (as
    `campaign_totals`, without a table: for calibration's many single runs)."""
    totals: dict[str, Any] = {c: sum(r[c] for r in rows) for c in ADDITIVE}
    weighted = {
        name: sum(r[mean] * r[count] for r in rows)
        for name, (mean, count) in WEIGHTED_MEANS.items()
    }
    totals.update(ratios(totals, weighted))
    return {k: float(v) for k, v in totals.items()}


def param_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of parameter draws (`param.<name>`) of a table."""
    return [c for c in frame.columns if str(c).startswith(PARAM_PREFIX)]


def _ratio(top: Any, bottom: Any) -> np.ndarray:
    top = np.asarray(top, dtype=float)
    bottom = np.asarray(bottom, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bottom > 0, top / bottom, 0.0)


def describe(values: np.ndarray) -> dict[str, float]:
    """n, mean, sd, t-based 95% CI of the mean, p5, p50, p95 of the finite values
    (`livesim.stats.mean_ci`; sd and CI NaN for n < 2)."""
    x = finite(values)
    n = len(x)
    if n == 0:
        return {k: math.nan for k in SUMMARY_COLUMNS[3:]} | {"n": 0}
    low, high = mean_ci(x)
    p5, p50, p95 = np.percentile(x, [5, 50, 95])
    return {
        "n": n,
        "mean": float(x.mean()),
        "sd": float(x.std(ddof=1)) if n > 1 else math.nan,
        "ci_low": low,
        "ci_high": high,
        "p5": float(p5),
        "p50": float(p50),
        "p95": float(p95),
    }


def summarize(
    replications: pd.DataFrame, target_gmv: float | None = None, inner: int = 1
) -> pd.DataFrame:
    """The long summary: per strategy, scope (campaign or a stream id) and metric;
    with parameter draws (`inner` replications per draw), also what the parameters
    explain (`uncertainty_rows`)."""
    rows: list[dict[str, Any]] = []
    totals = campaign_totals(replications)
    metrics = ADDITIVE + [
        "conversion_rate",
        "roi",
        "mean_watch_minutes",
        "mean_qa_wait",
    ]
    for strategy, frame in totals.groupby("strategy", sort=False):
        for metric in metrics:
            rows.append(
                {"strategy": strategy, "scope": "campaign", "metric": metric}
                | describe(frame[metric].to_numpy())
            )
        if target_gmv is not None:
            rows.append(
                _target_row(str(strategy), frame["net_gmv"].to_numpy(), target_gmv)
            )
        rows += uncertainty_rows(str(strategy), frame, inner)
    per_stream = metrics + ["peak_concurrent"]
    for key, frame in replications.groupby(["strategy", "stream"], sort=False):
        name, stream = (str(k) for k in key)
        for metric in per_stream:
            rows.append(
                {"strategy": name, "scope": stream, "metric": metric}
                | describe(frame[metric].to_numpy())
            )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def uncertainty_rows(
    strategy: str, campaign: pd.DataFrame, inner: int
) -> list[dict[str, Any]]:
    """Per metric of UNCERTAIN_METRICS: `<metric>.parameter_share`, the share of its
    variance due to the parameter draws with a bootstrap CI over draws (needs
    `inner` >= 2; docs/model.md, section 16), and `<metric>.explained_by.<name>`,
    the share a straight line in each parameter's draw explains, largest first."""
    params = param_columns(campaign)
    if not params:
        return []
    frame = campaign.sort_values("replication", kind="stable")
    draws = len(frame) // inner
    rows: list[dict[str, Any]] = []
    empty = {k: math.nan for k in SUMMARY_COLUMNS[3:]}
    for metric in UNCERTAIN_METRICS:
        y = frame[metric].to_numpy(dtype=float)
        table = y[: draws * inner].reshape(draws, inner) if draws else y[:0]
        share, low, high = parameter_share(table)
        rows.append(
            {"strategy": strategy, "scope": "campaign"}
            | empty
            | {
                "metric": f"{metric}.parameter_share",
                "n": draws,
                "mean": share,
                "ci_low": low,
                "ci_high": high,
            }
        )
        explained = {p: explained_share(y, frame[p]) for p in params}
        for name in sorted(params, key=lambda p: -np.nan_to_num(explained[p], nan=-1)):
            rows.append(
                {"strategy": strategy, "scope": "campaign"}
                | empty
                | {
                    "metric": f"{metric}.explained_by.{name[len(PARAM_PREFIX) :]}",
                    "n": len(y),
                    "mean": explained[name],
                }
            )
    return rows


def _target_row(strategy: str, net_gmv: np.ndarray, target: float) -> dict[str, Any]:
    """P(net GMV >= target) with a Clopper-Pearson 95% interval."""
    n = len(net_gmv)
    hits = int((net_gmv >= target).sum())
    low, high = proportion_ci(hits, n)
    share = hits / n
    return {
        "strategy": strategy,
        "scope": "campaign",
        "metric": "p_net_gmv_ge_target",
        "n": n,
        "mean": share,
        "sd": math.sqrt(share * (1 - share)),
        "ci_low": low,
        "ci_high": high,
        "p5": math.nan,
        "p50": math.nan,
        "p95": math.nan,
    }


@dataclass
class SimulationResult:
    """The outcome of `simulate`: tidy pandas tables and what produced them."""

    replications: pd.DataFrame
    summary: pd.DataFrame
    timeseries: pd.DataFrame
    events: pd.DataFrame | None
    manifest: dict[str, Any] = field(default_factory=dict)
    #: With priors: the campaign totals of the same run with every prior at its
    #: median (simulation noise only), for the predictive figure.
    noise_only: pd.DataFrame | None = None
    #: The scenario that ran (what `api.write_outputs` reports on).
    scenario: Scenario | None = field(default=None, repr=False, compare=False)

    @property
    def campaign(self) -> pd.DataFrame:
        """Campaign totals per replication and strategy."""
        return campaign_totals(self.replications)

    def headline(self) -> pd.DataFrame:
        """A short per-strategy table: median net GMV (RMB) with its 95% CI (order
        statistics; NaN with too few replications, see `stats.fewest_for_median_ci`),
        mean net GMV, mean unique viewers, conversion and ROI (means), in columns
        `strategy`, `median_net_gmv`, `median_ci_low`, `median_ci_high`,
        `mean_net_gmv`, `viewers`, `conversion`, `roi`."""
        rows = []
        for strategy, frame in self.campaign.groupby("strategy", sort=False):
            gmv = describe(frame["net_gmv"].to_numpy())
            low, high = median_ci(frame["net_gmv"].to_numpy(dtype=float))
            rows.append(
                {
                    "strategy": strategy,
                    "median_net_gmv": gmv["p50"],
                    "median_ci_low": low,
                    "median_ci_high": high,
                    "mean_net_gmv": gmv["mean"],
                    "viewers": frame["unique_viewers"].mean(),
                    "conversion": frame["conversion_rate"].mean(),
                    "roi": frame["roi"].mean(),
                }
            )
        return pd.DataFrame(rows)
