"""Figures of a result (matplotlib, imported lazily, drawn off-screen).

Each function takes a `SimulationResult` and a path, draws one PNG and returns the
path. The figures never touch a simulation environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from livesim.results import FUNNEL, SimulationResult

COLORS = ["#1f6f8b", "#e07a1f", "#5b8c3a", "#9b4f96", "#c0392b", "#7f8c8d"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def gmv_distribution(
    result: SimulationResult, path: Path, target: float | None
) -> Path:
    """Histogram and ECDF of campaign net GMV over replications, per strategy."""
    plt = _pyplot()
    campaign = result.campaign
    fig, (hist, ecdf) = plt.subplots(1, 2, figsize=(11, 4.2))
    for i, (strategy, frame) in enumerate(campaign.groupby("strategy", sort=False)):
        values = np.sort(frame["net_gmv"].to_numpy() / 1e6)
        color = COLORS[i % len(COLORS)]
        bins = max(5, min(40, len(values) // 3))
        hist.hist(values, bins=bins, alpha=0.55, color=color, label=str(strategy))
        ecdf.step(
            values,
            np.arange(1, len(values) + 1) / len(values),
            where="post",
            color=color,
            label=str(strategy),
        )
    for ax in (hist, ecdf):
        if target is not None:
            ax.axvline(
                target / 1e6,
                color="black",
                linestyle="--",
                linewidth=1,
                label=f"target {target / 1e6:,.2f}M",
            )
        ax.set_xlabel("net GMV per campaign (million RMB)")
        ax.grid(alpha=0.3)
    hist.set_ylabel("replications")
    hist.set_title("Distribution of net GMV")
    ecdf.set_ylabel("P(net GMV <= x)")
    ecdf.set_title("Empirical CDF")
    ecdf.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def funnel_by_kind(result: SimulationResult, path: Path) -> Path:
    """Mean funnel stage counts per host kind (one panel per strategy, log scale)."""
    plt = _pyplot()
    reps = result.replications
    strategies = list(dict.fromkeys(reps["strategy"]))[:6]
    fig, axes = plt.subplots(
        1, len(strategies), figsize=(5.5 * len(strategies), 4.2), squeeze=False
    )
    columns = [c for _, c in FUNNEL]
    for ax, strategy in zip(axes[0], strategies, strict=False):
        frame = reps[reps["strategy"] == strategy]
        per_rep = frame.groupby(["replication", "host_kind"])[columns].sum()
        means = per_rep.groupby("host_kind").mean()
        x = np.arange(len(FUNNEL))
        width = 0.8 / max(len(means), 1)
        for i, (kind, row) in enumerate(means.iterrows()):
            ax.bar(
                x + i * width,
                np.maximum(row.to_numpy(dtype=float), 0.1),
                width,
                color=COLORS[i % len(COLORS)],
                label=str(kind),
            )
        ax.set_yscale("log")
        ax.set_xticks(x + 0.4 - width / 2, [stage for stage, _ in FUNNEL])
        ax.set_title(f"Funnel by host kind: {strategy}")
        ax.set_ylabel("mean count per replication")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, path)


def timeline(result: SimulationResult, path: Path) -> Path:
    """Concurrent viewers and cumulative GMV per campaign minute, with p5-p95 bands."""
    plt = _pyplot()
    series = result.timeseries[result.timeseries["scope"] == "campaign"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True)
    for i, (strategy, frame) in enumerate(series.groupby("strategy", sort=False)):
        color = COLORS[i % len(COLORS)]
        minute = frame["minute"].to_numpy()
        top.plot(minute, frame["concurrent"], color=color, label=str(strategy))
        top.fill_between(
            minute,
            frame["concurrent_p5"],
            frame["concurrent_p95"],
            color=color,
            alpha=0.2,
        )
        bottom.plot(minute, frame["cum_gmv"] / 1e6, color=color, label=str(strategy))
        bottom.fill_between(
            minute,
            frame["cum_gmv_p5"] / 1e6,
            frame["cum_gmv_p95"] / 1e6,
            color=color,
            alpha=0.2,
        )
    top.set_ylabel("concurrent viewers")
    top.set_title(
        "Concurrent viewers (mean; band: 5th-95th percentile over replications)"
    )
    bottom.set_ylabel("cumulative in-stream GMV (million RMB)")
    bottom.set_xlabel("campaign minute")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


def draw_all(
    result: SimulationResult, folder: Path, target: float | None
) -> list[Path]:
    """Every figure of the report, into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        gmv_distribution(result, folder / "gmv_distribution.png", target),
        funnel_by_kind(result, folder / "funnel_by_kind.png"),
        timeline(result, folder / "timeline.png"),
    ]
