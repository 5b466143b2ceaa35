"""A comparison of strategies in plain words: one line per strategy against the
baseline (`verdicts`) and one paragraph per strategy (`paragraphs`), from the
numbers of `livesim compare` (its strategy, pair and break-even tables)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from livesim.compare import Comparison


def money(value: float, scale: float) -> str:
    """An amount in the paragraph's unit (million or thousand RMB)."""
    return f"{value / scale:,.2f}" if scale == 1e6 else f"{value / scale:,.1f}"


def scale_of(values: Any) -> tuple[float, str]:
    """The unit amounts are said in: million RMB from a million up, else thousand."""
    finite = np.abs(np.asarray(values, dtype=float))
    finite = finite[np.isfinite(finite)]
    biggest = float(finite.max()) if len(finite) else 0.0
    return (1e6, "million") if biggest >= 1e6 else (1e3, "thousand")


def risks(campaign: pd.DataFrame, target: float | None) -> list[str]:
    """Per strategy, its nights in words: the middle 90%, the mean of the worst
    5%, the chance of an ROI below 0 and of reaching the target."""
    from livesim.stats import expected_shortfall

    out = []
    for name, frame in campaign.groupby("strategy", sort=False):
        gmv = frame["net_gmv"].to_numpy(dtype=float)
        roi = frame["roi"].to_numpy(dtype=float)
        roi = roi[np.isfinite(roi)]
        scale, unit = scale_of(gmv)
        low, high = (money(float(v), scale) for v in np.percentile(gmv, [5, 95]))
        text = (
            f"**{name}**: on 90% of nights net GMV lies between {low} and {high} "
            f"{unit} RMB; the worst 5% of nights average "
            f"{money(expected_shortfall(gmv, 0.05), scale)} {unit}"
        )
        if len(roi):
            text += f"; ROI is below 0 on {_count(roi < 0)}"
        if target is not None:
            text += (
                f"; net GMV reaches the target of {target:,.0f} RMB on "
                f"{_count(gmv >= target)}"
            )
        out.append(text + ".")
    return out


def _count(hits: np.ndarray) -> str:
    """A share of nights with the count it rests on ("0% of 20 nights" is not a
    probability of 0)."""
    return f"{float(hits.mean()):.0%} of {len(hits)} nights"


def verdicts(comparison: Comparison) -> list[str]:
    """One line per strategy after the first: its mean paired difference in net
    GMV against the first, the share of nights it wins, and what would flip it."""
    rows = comparison.strategies.to_dict(orient="records")
    first = str(rows[0]["strategy"])
    pairs = comparison.pairs
    out = []
    for row in rows[1:]:
        name = str(row["strategy"])
        gmv = pairs[
            (pairs["first"] == first)
            & (pairs["second"] == name)
            & (pairs["metric"] == "net_gmv")
        ].iloc[0]
        line = (
            f"{name} against {first}: {-float(gmv['mean_diff']):+,.0f} RMB net GMV "
            f"on average (95% CI {-float(gmv['ci_high']):+,.0f} to "
            f"{-float(gmv['ci_low']):+,.0f}); it earns more on "
            f"{float(row['p_beats_first']):.0%} of nights"
        )
        out.append(line + flips(comparison.breakeven, name, first) + ".")
    return out


def flips(breakeven: pd.DataFrame, name: str, first: str) -> str:
    """What could flip a comparison, in words: the prior that explains most of the
    paired difference, and the strongest prior with a break-even inside its draws
    (or that none has one)."""
    rows = breakeven[breakeven["strategy"] == name].to_dict(orient="records")
    if not rows:
        return ""
    top = rows[0]
    text = (
        f"; {top['parameter']} explains {float(top['explained']):.0%} of the "
        "night-to-night spread of the difference"
    )
    crossing = [r for r in rows if math.isfinite(float(r["breakeven"]))]
    if not crossing:
        turn = "fall behind" if bool(top["ahead"]) else "beat"
        return text + (
            f", and no prior has a value within its draws at which {name} would "
            f"{turn} {first} on average (a line in each)"
        )
    return text + ", " + _break_even(crossing[0], name, first)


def _break_even(row: dict[Any, Any], name: str, first: str) -> str:
    """One break-even in words."""
    return (
        f"{name} would beat {first} on average with {row['parameter']} "
        f"{row['wins']} {float(row['breakeven']):.3g} (95% CI "
        f"{float(row['ci_low']):.3g} to {float(row['ci_high']):.3g}; its draws span "
        f"{float(row['draws_low']):.3g} to {float(row['draws_high']):.3g})"
    )


def paragraphs(comparison: Comparison, target: float | None) -> list[str]:
    """One plain-language paragraph per strategy, from the numbers."""
    rows = comparison.strategies.to_dict(orient="records")
    first = str(rows[0]["strategy"])
    pairs = comparison.pairs
    scale, unit = scale_of([r["median_net_gmv"] for r in rows])
    out = []
    for row in rows:
        name = str(row["strategy"])

        def m(key: str, row: dict[Any, Any] = row) -> str:
            return money(float(row[key]), scale)

        text = (
            f"**{name}** spends {float(row['budget']):,.0f} RMB up front and "
            f"{float(row['mean_cost']):,.0f} RMB in all on average. Its median net "
            f"GMV is {m('median_net_gmv')} {unit} RMB (95% CI {m('median_ci_low')} to "
            f"{m('median_ci_high')}); in 90% of replications it lies between "
            f"{m('p5_net_gmv')} and {m('p95_net_gmv')} {unit}. About "
            f"{float(row['mean_viewers']):,.0f} viewers enter and "
            f"{float(row['conversion']):.1%} of them order; the mean ROI is "
            f"{float(row['mean_roi']):.2f}."
        )
        if target is not None:
            text += (
                f" It reaches the target of {target:,.0f} RMB in "
                f"{float(row['p_net_gmv_ge_target']):.0%} of replications."
            )
        text += _risk(row, scale, unit)
        if name != first:
            gmv = pairs[
                (pairs["first"] == first)
                & (pairs["second"] == name)
                & (pairs["metric"] == "net_gmv")
            ].iloc[0]
            diff, low, high = (
                float(gmv["mean_diff"]),
                float(gmv["ci_low"]),
                float(gmv["ci_high"]),
            )
            sign = "more" if diff < 0 else "less"
            clear = low > 0 or high < 0
            text += (
                f" Against {first} on the same random numbers it earns "
                f"{money(abs(diff), scale)} {unit} RMB {sign} net GMV on average (95% "
                f"CI of {first} minus {name}: {money(low, scale)} to "
                f"{money(high, scale)} {unit}"
                f"{'' if clear else ', which includes no difference'}) and "
                f"earns more than {first} in "
                f"{1.0 - float(gmv['p_first_higher']):.0%} of replications"
            )
            text += _chances(row) + flips(comparison.breakeven, name, first) + "."
        out.append(text)
    return out


def _risk(row: dict[Any, Any], scale: float, unit: str) -> str:
    """The bad nights in words: their mean, and the chance of a loss."""
    if "cvar5_net_gmv" not in row:
        return ""
    return (
        f" Its worst 5% of nights average {money(float(row['cvar5_net_gmv']), scale)} "
        f"{unit} RMB; on {float(row['p_roi_negative']):.0%} of all nights its ROI "
        "is below 0."
    )


def _chances(row: dict[Any, Any]) -> str:
    """The interval of the share of nights it wins, and with inner replications
    the chance that it is the better strategy given the parameters."""
    if "p_beats_first_ci_low" not in row:
        return ""
    ties = float(row.get("p_ties_first", 0.0))
    if ties > 0.01:  # a share with ties counted half has no honest interval here
        text = f" (ties, on {ties:.0%} of them, count half)"
    else:
        text = (
            f" (95% CI {float(row['p_beats_first_ci_low']):.0%} to "
            f"{float(row['p_beats_first_ci_high']):.0%})"
        )
    given = float(row.get("p_better_given_parameters", math.nan))
    if math.isfinite(given):
        text += (
            f", and it is the better strategy in {given:.0%} of the parameter "
            "draws (its mean over each draw's nights against the first's)"
        )
    return text
