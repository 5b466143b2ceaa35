"""The figure of a budget optimization (matplotlib, imported lazily, off-screen).

One panel: every candidate's screening objective against its up-front cost (a
colour per flash-sale depth; faded if a racing round dropped it early), and the
finalists' objective on the fresh seed with its 95% CI beside their screening
points, the winner starred. The gap between a finalist's screening point and its
fresh estimate shows the screening's optimistic bias.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from livesim.report.figures import COLORS, pyplot

if TYPE_CHECKING:
    import pandas as pd


def _scale(money: bool, values: np.ndarray) -> tuple[float, str]:
    """Divide money by a million or a thousand RMB; ROI and P as they are."""
    if not money:
        return 1.0, ""
    biggest = float(np.nanmax(np.abs(values), initial=0.0))
    return (1e6, " (million RMB)") if biggest >= 1e6 else (1e3, " (thousand RMB)")


def optimize_figure(
    table: pd.DataFrame,
    fin: pd.DataFrame,
    path: Path,
    *,
    label: str,
    money: bool,
    budget: float,
    title: str,
) -> Path:
    """Screening objective against cost per candidate (`table`: candidates.csv's
    rows); finalists (`fin`: finalists.csv's) with fresh CIs. `label` names the
    objective, `money` says whether it is in RMB (then scaled to thousands or
    millions), `budget` (RMB) is drawn as a line."""
    plt = pyplot()
    scale, unit = _scale(money, table["objective"].to_numpy(dtype=float))
    label = label.replace(" (RMB)", "") + unit
    fig, ax = plt.subplots(figsize=(9.5, 5.2))
    _candidates(ax, table, scale)
    _finalists(ax, fin, scale, table["cost"])
    ax.set_xlabel("up-front cost: fees + gifts + ad spend (thousand RMB)")
    ax.set_ylabel(label)
    ax.set_title(title, fontsize=10)
    ax.axvline(
        budget / 1e3,
        color="black",
        linestyle="--",
        linewidth=1,
        label=f"budget {budget / 1e3:,.1f}k",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
    return path


def _candidates(ax: Any, table: pd.DataFrame, scale: float) -> None:
    """Every candidate's screening point, a colour per depth; faded if a racing
    round dropped it before the last."""
    last = table["round"].max()
    depths = sorted(table["depth"].unique())
    for k, depth in enumerate(depths):
        for final_round, alpha in ((False, 0.25), (True, 0.8)):
            mask = (table["depth"] == depth) & ((table["round"] == last) == final_round)
            if not mask.any():
                continue
            ax.scatter(
                table.loc[mask, "cost"] / 1e3,
                table.loc[mask, "objective"] / scale,
                s=22,
                color=COLORS[k % len(COLORS)],
                alpha=alpha,
                label=f"flash sale {depth:.0%}" if final_round else None,
            )


def _finalists(ax: Any, fin: Any, scale: float, costs: Any) -> None:
    """Each finalist's fresh-seed estimate and 95% CI, offset right of its point."""
    span = float(costs.max() - costs.min()) / 1e3 or 1.0
    x = fin["cost"].to_numpy(dtype=float) / 1e3 + 0.012 * span
    y = fin["objective"].to_numpy(dtype=float) / scale
    low = fin["objective_ci_low"].to_numpy(dtype=float) / scale
    high = fin["objective_ci_high"].to_numpy(dtype=float) / scale
    err = np.nan_to_num(np.vstack([y - low, high - y]), nan=0.0)
    ax.errorbar(
        x,
        y,
        yerr=err,
        fmt="D",
        color="black",
        markersize=5,
        capsize=3,
        label="finalist on fresh seed (95% CI)",
    )
    ax.scatter(
        fin["cost"] / 1e3,
        fin["screening_objective"] / scale,
        s=70,
        facecolors="none",
        edgecolors="black",
        label="finalist at screening",
    )
    best = fin[fin["winner"]]
    ax.scatter(
        best["cost"] / 1e3 + 0.012 * span,
        best["objective"] / scale,
        marker="*",
        s=200,
        color=COLORS[4],
        zorder=2,
        label="winner (fresh seed)",
    )
    for xi, yi, place in zip(x, y, fin["final_rank"], strict=True):
        ax.annotate(
            f" {place}", (xi, yi), fontsize=8, xytext=(4, 0), textcoords="offset points"
        )
