"""Figures of a result (matplotlib, imported lazily, drawn off-screen).

Each function takes a `SimulationResult` and a path, draws one PNG and returns the
path. The figures never touch a simulation environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from livesim.archetypes import HOST_KINDS
from livesim.report import timeline as T
from livesim.results import REPORT_FUNNEL, SimulationResult

COLORS = ["#1f6f8b", "#e07a1f", "#5b8c3a", "#9b4f96", "#c0392b", "#7f8c8d"]
#: The shade of a promotion's window and the colour of its label.
PROMOTION_COLOR, PROMOTION_TEXT = "#8c7a5b", "#4d4030"
#: Entries per row of the timeline's legend.
LEGEND_COLUMNS = 5


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def gmv_distribution(
    result: SimulationResult, path: Path, target: float | None
) -> Path:
    """Histogram and ECDF of campaign net GMV over replications, per strategy."""
    plt = pyplot()
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
        target_line(ax, target)
        ax.set_xlabel("net GMV per campaign (million RMB)")
        ax.grid(alpha=0.3)
    hist.set_ylabel("replications")
    hist.set_title("Distribution of net GMV")
    ecdf.set_ylabel("P(net GMV <= x)")
    ecdf.set_title("Empirical CDF")
    ecdf.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def target_line(ax: Any, target: float | None) -> None:
    """The GMV target as a dashed vertical line (x in million RMB), if there is one."""
    if target is not None:
        ax.axvline(
            target / 1e6,
            color="black",
            linestyle="--",
            linewidth=1,
            label=f"target {target / 1e6:,.2f}M",
        )


def funnel_by_kind(result: SimulationResult, path: Path) -> Path:
    """Mean funnel counts per host kind, one panel per strategy (log scale): reached,
    entered, engaged, asked, bought (orders) and returned (orders)."""
    plt = pyplot()
    reps = result.replications
    strategies = list(dict.fromkeys(reps["strategy"]))[:9]
    cols = min(3, len(strategies))
    rows = -(-len(strategies) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(5.5 * cols, 4.2 * rows), squeeze=False
    )
    for ax in axes.flat[len(strategies) :]:
        ax.set_visible(False)
    columns = [c for _, c in REPORT_FUNNEL]
    for ax, strategy in zip(axes.flat, strategies, strict=False):
        frame = reps[reps["strategy"] == strategy]
        per_rep = frame.groupby(["replication", "host_kind"])[columns].sum()
        means = per_rep.groupby("host_kind").mean()
        x = np.arange(len(REPORT_FUNNEL))
        width = 0.8 / max(len(means), 1)
        for i, (kind, row) in enumerate(means.iterrows()):
            ax.bar(
                x + i * width,
                np.maximum(row.to_numpy(dtype=float), 0.1),
                width,
                color=COLORS[HOST_KINDS.index(str(kind)) % len(COLORS)],
                label=str(kind),
            )
        ax.set_yscale("log")
        ax.set_xticks(x + 0.4 - width / 2, [stage for stage, _ in REPORT_FUNNEL])
        ax.set_title(f"Funnel by host kind: {strategy}")
        ax.set_ylabel("mean count per replication")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, path)


def timeline(result: SimulationResult, path: Path) -> Path:
    """The run report's timeline (`timeline_figure`) as a PNG, its legend's rows
    kept clear above the panels."""
    fig = timeline_figure(result)
    rows = -(-len(fig.legends[0].get_texts()) // LEGEND_COLUMNS)
    return _save(fig, path, top=0.935 - 0.035 * (rows - 1))


def timeline_figure(result: SimulationResult) -> Any:
    """Concurrent viewers and cumulative GMV over campaign time, with p5-p95 bands:
    one column of panels per active stretch (idle time between streams cut out,
    marked //), each as wide as its minutes, and the promotions shaded."""
    series = result.timeseries[result.timeseries["scope"] == "campaign"]
    strategies = list(dict.fromkeys(series["strategy"]))
    campaigns = _campaigns(result, strategies)
    segments = T.panel_segments(T.stream_intervals(campaigns)) or [
        (float(series["minute"].min()), float(series["minute"].max()))
    ]
    fig, axes = pyplot().subplots(
        2,
        len(segments),
        figsize=(11, 6.5),
        sharey="row",
        squeeze=False,
        gridspec_kw={"width_ratios": T.panel_widths(segments)},
    )
    windows = T.promotion_windows(campaigns)
    for column, segment in zip(axes.T, segments, strict=True):
        _timeline_panel(column, series, segment, strategies)
        _shade(column, windows, segment)
    _timeline_axes(fig, axes, segments, windows)
    return fig


def _campaigns(result: SimulationResult, strategies: list[str]) -> list[Any]:
    """The campaigns of the strategies shown (none without the scenario)."""
    if result.scenario is None:
        return []
    every = result.scenario.campaigns()
    return [every[name] for name in strategies if name in every]


def _timeline_panel(
    column: Any, series: Any, segment: tuple[float, float], strategies: list[str]
) -> None:
    """One stretch: viewers on top, cumulative GMV below, a line per strategy."""
    top, bottom = column
    inside = series[series["minute"].between(*segment)]
    for i, strategy in enumerate(strategies):
        frame = inside[inside["strategy"] == strategy]
        color = COLORS[i % len(COLORS)]
        minute = frame["minute"].to_numpy()
        for ax, key, scale in ((top, "concurrent", 1.0), (bottom, "cum_gmv", 1e6)):
            ax.plot(minute, frame[key] / scale, color=color, label=strategy)
            ax.fill_between(
                minute,
                frame[f"{key}_p5"] / scale,
                frame[f"{key}_p95"] / scale,
                color=color,
                alpha=0.2,
            )
    for ax in column:
        ax.set_xlim(*segment)
        ax.grid(alpha=0.3)


def _shade(column: Any, windows: list[tuple[float, float, str]], segment: Any) -> None:
    """Each promotion's window inside the stretch as a light band, labelled on the
    top panel (a label that would run into the one before it is left out)."""
    top = column[0]
    width = top.get_figure().get_size_inches()[0] * top.get_position().width
    minutes_per_char = 0.085 * (segment[1] - segment[0]) / max(width, 0.1)
    free = segment[0]
    for start, end, label in windows:
        if end <= segment[0] or start >= segment[1]:
            continue
        for ax in column:
            ax.axvspan(start, end, color=PROMOTION_COLOR, alpha=0.18, lw=0)
        if start >= free:
            top.text(
                start,
                0.98,
                " " + label,
                transform=top.get_xaxis_transform(),
                fontsize=8,
                va="top",
                color=PROMOTION_TEXT,
                clip_on=True,
            )
            free = start + (len(label) + 2) * minutes_per_char


def _timeline_axes(
    fig: Any,
    axes: Any,
    segments: list[tuple[float, float]],
    windows: list[tuple[float, float, str]],
) -> None:
    """Ticks in campaign time, break marks between stretches, labels, and the
    legend (the strategies, and the promotions' labels when they are few)."""
    from matplotlib.patches import Patch

    days = segments[-1][1] > T.DAY
    inches = fig.get_size_inches()[0]
    for i, (top, bottom) in enumerate(axes.T):
        width = inches * top.get_position().width
        ticks = T.clock_ticks(*segments[i], most=int(width / 0.7))
        shown = [
            T.clock_label(t, days and (k == 0 or t % T.DAY == 0))
            for k, t in enumerate(ticks)
        ]
        bottom.set_xticks(ticks, shown, fontsize=8)
        top.tick_params(labelbottom=False)
        if i > 0:
            _break_marks(axes[:, i - 1], axes[:, i])
    axes[0][0].set_ylabel("concurrent viewers")
    axes[1][0].set_ylabel("cumulative in-stream GMV (million RMB)")
    fig.suptitle(
        "Concurrent viewers and cumulative in-stream GMV (mean; band: 5th-95th "
        "percentile over replications)"
    )
    cut = ", idle stretches cut out (//)" if len(segments) > 1 else ""
    clock = "day and hh:mm" if days else "hh:mm"
    fig.supxlabel(f"campaign time ({clock} from minute 0{cut})", fontsize=10)
    handles, labels = axes[1][0].get_legend_handles_labels()
    if windows:
        names = list(dict.fromkeys(label for _, _, label in windows))
        text = "promotion" + (": " + "; ".join(names) if len(names) <= 3 else "s")
        handles.append(Patch(color=PROMOTION_COLOR, alpha=0.18))
        labels.append(text)
    fig.legend(
        handles,
        labels,
        fontsize=8,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.955),
        ncol=min(len(labels), LEGEND_COLUMNS),
        frameon=False,
    )


def _break_marks(left: Any, right: Any) -> None:
    """The // of a broken axis between two stretches, on both rows."""
    marker = {"marker": [(-1, -2), (1, 2)], "markersize": 8, "linestyle": "none"}
    for a, b in zip(left, right, strict=True):
        a.spines["right"].set_visible(False)
        b.spines["left"].set_visible(False)
        b.tick_params(left=False, labelleft=False)
        for ax, x in ((a, 1), (b, 0)):
            ax.plot(
                [x, x],
                [0, 1],
                transform=ax.transAxes,
                color="k",
                mew=1,
                clip_on=False,
                **marker,
            )


def strategy_distributions(
    result: SimulationResult, path: Path, target: float | None
) -> Path:
    """Violins of net GMV and ROI over replications, one per strategy."""
    plt = pyplot()
    campaign = result.campaign
    names = list(dict.fromkeys(campaign["strategy"]))
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(11, 0.6 * len(names) + 2.6), sharey=True
    )
    for ax, column, scale, label in (
        (left, "net_gmv", 1e6, "net GMV per campaign (million RMB)"),
        (right, "roi", 1.0, "ROI = (margin value - cost) / cost"),
    ):
        data = []
        for name in names:
            values = campaign.loc[campaign["strategy"] == name, column]
            values = values.to_numpy(dtype=float) / scale
            data.append(values[np.isfinite(values)])
        shown = [d if len(d) > 1 else np.r_[d, d, 0.0][:2] for d in data]
        parts = ax.violinplot(
            shown, orientation="horizontal", showmedians=True, showextrema=True
        )
        for i, body in enumerate(parts["bodies"]):
            body.set_facecolor(COLORS[i % len(COLORS)])
            body.set_alpha(0.55)
        ax.set_yticks(np.arange(1, len(names) + 1), names)
        ax.set_xlabel(label)
        ax.grid(axis="x", alpha=0.3)
    if target is not None:
        left.axvline(target / 1e6, color="black", linestyle="--", linewidth=1)
        left.text(
            target / 1e6,
            len(names) + 0.45,
            f" target {target / 1e6:,.2f}M",
            fontsize=8,
            va="top",
        )
    right.axvline(0.0, color="black", linewidth=0.8)
    left.set_title("Net GMV per strategy (violin; line: median)")
    right.set_title("ROI per strategy")
    return _save(fig, path)


def forest(pairs: Any, path: Path, metric: str = "net_gmv") -> Path:
    """Paired differences (first minus second) with 95% bootstrap CIs."""
    plt = pyplot()
    rows = pairs[pairs["metric"] == metric].reset_index(drop=True)
    biggest = float(
        np.nanmax(np.abs(rows[["ci_low", "ci_high"]].to_numpy()), initial=0)
    )
    scale, unit = (1e6, "million RMB") if biggest >= 1e6 else (1e3, "thousand RMB")
    if metric != "net_gmv":
        scale, unit = 1.0, metric
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.6))
    y = np.arange(len(rows))[::-1]
    mean = rows["mean_diff"].to_numpy(dtype=float) / scale
    low = rows["ci_low"].to_numpy(dtype=float) / scale
    high = rows["ci_high"].to_numpy(dtype=float) / scale
    clear = (low > 0) | (high < 0)
    ax.errorbar(
        mean, y, xerr=[mean - low, high - mean], fmt="none", ecolor="#555", capsize=3
    )
    for mask, color, label in (
        (clear, 0, "CI excludes 0"),
        (~clear, 1, "CI includes 0"),
    ):
        if mask.any():
            ax.scatter(mean[mask], y[mask], color=COLORS[color], zorder=3, label=label)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_yticks(
        y, [f"{a} - {b}" for a, b in zip(rows["first"], rows["second"], strict=True)]
    )
    ax.set_xlabel(f"paired difference in {metric} ({unit}), mean and 95% bootstrap CI")
    ax.set_title("Paired differences under common random numbers")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _save(fig, path)


def sensitivity_bars(indices: Any, path: Path) -> Path:
    """Sobol' indices as a tornado: per output, parameters ranked by total index,
    bars for ST and S1 with their bootstrap CIs (first strategy of the table)."""
    plt = pyplot()
    strategy = indices["strategy"].iloc[0]
    rows = indices[indices["strategy"] == strategy]
    outputs = list(dict.fromkeys(rows["output"]))
    d = rows["parameter"].nunique()
    fig, axes = plt.subplots(
        1, len(outputs), figsize=(4.2 * len(outputs), 0.5 * d + 1.8), squeeze=False
    )
    for ax, output in zip(axes[0], outputs, strict=True):
        frame = rows[rows["output"] == output].sort_values("rank", ascending=False)
        y = np.arange(len(frame))
        for offset, (col, low, high, label, color) in zip(
            (0.2, -0.2),
            (
                ("total", "total_low", "total_high", "total (ST)", COLORS[0]),
                (
                    "first_order",
                    "first_low",
                    "first_high",
                    "first order (S1)",
                    COLORS[1],
                ),
            ),
            strict=True,
        ):
            value = frame[col].to_numpy(dtype=float)
            err = [
                np.clip(value - frame[low].to_numpy(dtype=float), 0, None),
                np.clip(frame[high].to_numpy(dtype=float) - value, 0, None),
            ]
            ax.barh(y + offset, value, height=0.38, color=color, label=label)
            ax.errorbar(
                value, y + offset, xerr=err, fmt="none", ecolor="#333", capsize=2
            )
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_yticks(y, frame["parameter"])
        ax.set_title(output)
        ax.set_xlabel("Sobol' index, 95% CI")
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Global sensitivity ({strategy})")
    return _save(fig, path)


def _save(fig: Any, path: Path, top: float = 1.0) -> Path:
    """Write the PNG atomically (the axes laid out below `top`, a share of the
    figure's height), then close the figure."""
    from livesim.atomic import write_atomic

    fig.tight_layout(rect=(0.0, 0.0, 1.0, top))
    try:
        write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    finally:
        pyplot().close(fig)
    return path


def predictive(
    result: SimulationResult, noise: Any, path: Path, target: float | None
) -> Path:
    """Net GMV of the first strategy with parameter uncertainty (the priors drawn)
    and with simulation noise only (every prior at its median), overlaid."""
    plt = pyplot()
    first = result.campaign["strategy"].iloc[0]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    both = [
        ("parameters and noise", result.campaign, COLORS[0]),
        ("noise only (priors at their medians)", noise, COLORS[1]),
    ]
    for label, frame, color in both:
        values = frame.loc[frame["strategy"] == first, "net_gmv"].to_numpy() / 1e6
        bins = max(5, min(40, len(values) // 3))
        ax.hist(values, bins=bins, alpha=0.55, color=color, label=label, density=True)
    target_line(ax, target)
    ax.set_xlabel(f"net GMV of {first} per campaign (million RMB)")
    ax.set_ylabel("density")
    ax.set_title("Predictive distribution of net GMV")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def breakeven(campaign: Any, table: Any, path: Path) -> Path:
    """Per strategy after the first: its paired difference in net GMV against the
    first, night by night, over the draws of the prior with a break-even (the
    strongest; else the one that explains most), the fitted line and the
    break-even with its 95% interval shaded."""
    plt = pyplot()
    first = str(table["against"].iloc[0])
    rows = []
    for _, group in table.groupby("strategy", sort=False):
        crossing = group[group["breakeven"].notna()]
        rows.append((crossing if len(crossing) else group).iloc[0])
    fig, axes = plt.subplots(
        1, len(rows), figsize=(3.6 * len(rows) + 0.6, 3.6), squeeze=False
    )
    by = {n: f.set_index("replication") for n, f in campaign.groupby("strategy")}
    for ax, row, color in zip(axes[0], rows, COLORS * 4, strict=False):
        name, prior = str(row["strategy"]), str(row["parameter"])
        pair = by[name].merge(
            by[first],
            how="inner",
            left_index=True,
            right_index=True,
            suffixes=("", "_first"),
        )
        column = f"param.{prior}"
        x = pair[column].fillna(pair[f"{column}_first"]).to_numpy(dtype=float)
        d = (pair["net_gmv"] - pair["net_gmv_first"]).to_numpy(dtype=float) / 1e6
        ax.scatter(x, d, s=6, alpha=0.4, color=color)
        slope, intercept = np.polyfit(x, d, 1)
        ends = np.array([x.min(), x.max()])
        ax.plot(ends, intercept + slope * ends, color="black", linewidth=1)
        ax.axhline(0.0, color="#555", linewidth=0.8)
        if np.isfinite(row["breakeven"]):
            ax.axvspan(row["ci_low"], row["ci_high"], color=COLORS[4], alpha=0.2)
            ax.axvline(row["breakeven"], color=COLORS[4], linewidth=1.2)
            ax.set_title(f"{name}: breaks even at {row['breakeven']:.3g}", fontsize=9)
        else:
            ax.set_title(f"{name}: no break-even in the draws", fontsize=9)
        ax.set_xlabel(f"{prior} (draw)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"net GMV minus {first}'s (million RMB)")
    fig.suptitle("What could flip it: paired differences against the prior's draws")
    return _save(fig, path)


def draw_all(
    result: SimulationResult, folder: Path, target: float | None
) -> list[Path]:
    """Every figure of the report, into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    figures = [
        gmv_distribution(result, folder / "gmv_distribution.png", target),
        funnel_by_kind(result, folder / "funnel_by_kind.png"),
        timeline(result, folder / "timeline.png"),
    ]
    if result.noise_only is not None:
        path = folder / "predictive.png"
        figures.insert(0, predictive(result, result.noise_only, path, target))
    return figures
