"""The Summary that opens a run's or a comparison's report.

Four short paragraphs, in the order a reader asks: the question; the answer (for a
comparison: which strategy, by how much, how sure); what the distributions cover
and what could flip the answer (the prior that explains most, a break-even, or,
without priors, that the intervals show simulation noise only); and the cost side
(up-front spend, commissions and fixed costs).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from livesim.report.blocks import Block
from livesim.report.comparison import flips, money, risks, scale_of
from livesim.report.coverage import coverage
from livesim.results import SimulationResult

if TYPE_CHECKING:
    from livesim.compare import Comparison


def summary_blocks(
    result: SimulationResult, comparison: Comparison | None, target: float | None
) -> list[Block]:
    """The Summary section: its heading and paragraphs."""
    m = result.manifest
    if comparison is None:
        texts = [_question(m), *_answers(result, target)]
    else:
        texts = [_compare_question(comparison), _compare_answer(comparison)]
    texts += [_assumes(result), coverage(m, result.summary), _flip(result, comparison)]
    texts.append(_costs(result, comparison))
    return [Block("h2", "Summary"), *(Block("p", t) for t in texts if t)]


def _question(manifest: dict[str, Any]) -> str:
    names = list(manifest.get("strategies", []))
    what = "each strategy" if len(names) > 1 else f"`{manifest.get('scenario')}`"
    return (
        f"**The question:** what does {what} make in net GMV, night by night, and "
        "how often does it lose money?"
    )


def _answers(result: SimulationResult, target: float | None) -> list[str]:
    headline = result.headline()
    scale, unit = scale_of(headline["median_net_gmv"])
    medians = [
        f"{money(value, scale)} {unit} RMB"
        for value in headline["median_net_gmv"].to_numpy(dtype=float)
    ]
    if len(medians) > 1:
        medians = [
            f"`{name}` {m}"
            for name, m in zip(headline["strategy"], medians, strict=True)
        ]
    return [
        f"**The answer:** a median night makes {'; '.join(medians)} of net GMV.",
        *risks(result.campaign, target),
    ]


def _compare_question(comparison: Comparison) -> str:
    first = str(comparison.strategies["strategy"].iloc[0])
    others = len(comparison.strategies) - 1
    return (
        f"**The question:** which of {others + 1} strategies earns the most net GMV "
        f"on the same nights (common random numbers), and by how much against "
        f"`{first}`?"
    )


def _compare_answer(comparison: Comparison) -> str:
    table = comparison.strategies
    first = str(table["strategy"].iloc[0])
    best = _best(table)
    name = str(best["strategy"])
    scale, unit = scale_of(table["mean_net_gmv"])
    if name == first:
        runner_up = _best(table.iloc[1:])
        diff = _pair(comparison, first, str(runner_up["strategy"]))
        return (
            f"**The answer: `{first}`**, the baseline, earns the most: "
            f"{money(float(best['mean_net_gmv']), scale)} {unit} RMB a night on "
            f"average, {money(float(diff['mean_diff']), scale)} {unit} more than the "
            f"next best, `{runner_up['strategy']}` (95% CI "
            f"{money(float(diff['ci_low']), scale)} to "
            f"{money(float(diff['ci_high']), scale)}), which beats it on "
            f"{_nights(runner_up)}."
        )
    diff = _pair(comparison, first, name)
    return (
        f"**The answer: `{name}`** earns the most: "
        f"{money(-float(diff['mean_diff']), scale)} {unit} RMB a night more than "
        f"`{first}` on average (95% CI {money(-float(diff['ci_high']), scale)} to "
        f"{money(-float(diff['ci_low']), scale)}), and more than it on "
        f"{_nights(best)}."
    )


def _nights(row: pd.Series) -> str:
    """The share of nights a strategy beats the baseline, with its 95% interval
    (a 0% of 100 nights is not a probability of 0)."""
    share = float(row["p_beats_first"])
    low = float(row.get("p_beats_first_ci_low", math.nan))
    high = float(row.get("p_beats_first_ci_high", math.nan))
    ci = f" (95% CI {low:.0%} to {high:.0%})" if math.isfinite(high) else ""
    return f"{share:.0%} of nights{ci}"


def _flip(result: SimulationResult, comparison: Comparison | None) -> str:
    """What could flip the answer, from the priors (drivers, break-evens)."""
    priors = result.manifest.get("priors") or []
    if not priors or "noise only" in str(result.manifest.get("distributions_cover")):
        return (
            "**What could flip it:** these intervals show simulation noise only; the "
            "parameters that decide the result (followers, platform traffic, the "
            "purchase rate: docs/model.md, section 6) are taken as known. Add "
            "`[[uncertainty]]` priors to see how far they move it."
        )
    if comparison is not None and len(comparison.breakeven):
        first = str(comparison.strategies["strategy"].iloc[0])
        name = str(_best(comparison.strategies.iloc[1:])["strategy"])
        said = flips(comparison.breakeven, name, first).lstrip("; ")
        if said:
            return f"**What could flip it** (`{name}` against `{first}`): {said}."
    driver = _driver(result.summary)
    return f"**What could flip it:** {driver}." if driver else ""


def _driver(summary: pd.DataFrame) -> str:
    rows = summary[
        (summary["scope"] == "campaign")
        & summary["metric"].str.startswith("net_gmv.explained_by.")
    ].dropna(subset=["mean"])
    if rows.empty:
        return ""
    top = rows.sort_values("mean", ascending=False).iloc[0]
    prior = str(top["metric"]).rsplit(".", 1)[-1]
    return (
        f"the prior `{prior}` explains {float(top['mean']):.0%} of the "
        f"night-to-night variance of net GMV for {top['strategy']}, more than any "
        "other"
    )


def _costs(result: SimulationResult, comparison: Comparison | None) -> str:
    m = result.manifest
    budgets = comparison.budgets if comparison is not None else m.get("budgets", {})
    fixed = {float(v) for v in m.get("fixed_costs", {}).values()}
    spent = result.campaign.groupby("strategy", sort=False)["cost"].mean()
    parts = [
        f"`{name}` {float(budgets.get(str(name), math.nan)):,.0f} / "
        f"{float(total):,.0f} RMB"
        for name, total in spent.items()
    ]
    shared = (
        f" (fixed costs of {fixed.pop():,.0f} RMB included)"
        if len(fixed) == 1 and max(fixed) > 0
        else ""
    )
    return (
        "**The cost side**, up front (host fees, gifts, ads) / in all, a night on "
        f"average, with commissions on net GMV{shared}: " + "; ".join(parts) + "."
    )


def _assumes(result: SimulationResult) -> str:
    """What a comparison assumes of traffic that belongs to the event."""
    scenario = result.scenario
    if scenario is None or scenario.awareness is None:
        return ""
    phase = scenario.awareness
    if not phase.own_kinds:
        return ""
    priors = [p.name for p in scenario.uncertainty if "follow_share" in str(p.paths)]
    drawn = f"; the prior `{priors[0]}` draws it" if priors else ""
    return (
        "**What it assumes:** the event's own audience and push "
        f"({phase.push:g} viewers/min per stream) go to its own kinds of host "
        f"({', '.join(phase.own_kinds)}) in full and to other hosts in the share "
        f"`follow_share` = {phase.follow_share:g}{drawn} (docs/model.md, "
        "section 2). `livesim optimize` on the same scenario makes the same "
        "assumption."
    )


def _best(table: pd.DataFrame) -> pd.Series:
    """The row with the highest mean net GMV."""
    return table.iloc[int(np.argmax(table["mean_net_gmv"].to_numpy(dtype=float)))]


def _pair(comparison: Comparison, first: str, second: str) -> pd.Series:
    pairs = comparison.pairs
    return pairs[
        (pairs["first"] == first)
        & (pairs["second"] == second)
        & (pairs["metric"] == "net_gmv")
    ].iloc[0]


__all__ = ["summary_blocks"]
