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
    table: pd.DataFrame, fin: pd.DataFrame, path: Path, **kw: Any
) -> Path:
    """optimize.png: `draw` saved to `path`."""
    plt = pyplot()
    fig = draw(table, fin, **kw)
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
    return path


def draw(
    table: pd.DataFrame,
    fin: pd.DataFrame,
    *,
    label: str,
    money: bool,
    budget: float,
    title: str,
    names: list[str] | None = None,
) -> Any:
    """Screening objective against cost per candidate (`table`: candidates.csv's
    rows); finalists (`fin`: finalists.csv's) with fresh CIs, numbered by rank and
    named below the axes (`names`, in the finalists' order). `label` names the
    objective, `money` says whether it is in RMB (then scaled to thousands or
    millions), `budget` (RMB) is drawn as a line. The matplotlib Figure."""
    plt = pyplot()
    scale, unit = _scale(money, table["objective"].to_numpy(dtype=float))
    label = label.replace(" (RMB)", "") + unit
    rows = len(names or [])
    key_inches = 0.16 * rows + 0.1 if rows else 0.0  # the finalists' names
    fig, ax = plt.subplots(figsize=(9.5, 5.2 + key_inches))
    _candidates(ax, table, scale)
    _finalists(ax, fin, scale, table["cost"])
    if names:
        ranks = fin["final_rank"].tolist()
        key = "\n".join(f"#{r}: {n}" for r, n in zip(ranks, names, strict=True))
        fig.text(0.01, 0.01, key, fontsize=8, va="bottom", ha="left")
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
    ax.margins(y=0.12)  # room for the finalists' numbers above their CIs
    fig.tight_layout(rect=(0, key_inches / (5.2 + key_inches), 1, 1))
    return fig


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


def _dodged(cost: np.ndarray, step: float) -> np.ndarray:
    """x of each finalist: right of its screening point, one more `step` for each
    earlier finalist of the same cost, so that none hides another."""
    seen: dict[float, int] = {}
    out = np.empty_like(cost)
    for i, c in enumerate(cost):
        seen[c] = seen.get(c, 0) + 1
        out[i] = c + step * seen[c]
    return out


def _finalists(ax: Any, fin: Any, scale: float, costs: Any) -> None:
    """Each finalist's fresh-seed estimate and 95% CI, offset right of its point
    (dodged when finalists share a cost), numbered by rank."""
    span = float(costs.max() - costs.min()) / 1e3 or 1.0
    x = _dodged(fin["cost"].to_numpy(dtype=float) / 1e3, 0.03 * span)
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
    winner = fin["winner"].to_numpy(dtype=bool)
    ax.scatter(
        x[winner],
        y[winner],
        marker="*",
        s=200,
        color=COLORS[4],
        zorder=3,
        label="winner (fresh seed)",
    )
    for xi, yi, top, place in zip(x, y, high, fin["final_rank"], strict=True):
        ax.annotate(
            f"#{place}",
            (xi, top if np.isfinite(top) else yi),
            fontsize=8,
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
        )
