"""What an optimization writes and prints: files, optimize.md, the terminal lines.

`write_results` writes candidates.csv, finalists.csv, optimize.png (the figure of
`livesim.report.optimize_figure`, given plain tables and labels) and optimize.md
(`report`), each atomically; `summary_lines` is the terminal's short version.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from livesim.atomic import write_text_atomic
from livesim.optimize.objectives import format_objective, objective_label
from livesim.optimize.tables import OptimizeResult
from livesim.report.blocks import Block

#: Finalist columns in the objective's unit.
OBJECTIVE_COLUMNS = [
    "screening_objective",
    "objective",
    "objective_ci_low",
    "objective_ci_high",
    "diff_objective",
    "diff_objective_ci_low",
    "diff_objective_ci_high",
]


def write_results(result: OptimizeResult, fmt: str = "both") -> None:
    """candidates and finalists (CSV and/or Parquet, `fmt`), optimize.md and
    optimize.png, each atomic."""
    from livesim.formats import write_tables

    out = result.out
    tables = {"candidates": result.candidates, "finalists": result.finalists}
    own = {
        name: ("count", f"hosts of option `{name}` in the candidate's allocation")
        for name in result.plan.names
    }
    write_tables(out, tables, fmt, own)
    fd, tmp = tempfile.mkstemp(dir=out, prefix=".optimize.png.", suffix=".png")
    os.close(fd)
    try:
        figure(result, Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, out / "optimize.png")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    write_text_atomic(out / "optimize.md", report(result))
    from livesim.report.html import to_html

    title = f"Budget optimization: {result.plan.scenario.name}"
    write_text_atomic(out / "report.html", to_html(report_blocks(result), title))
    result.files = [
        "experiment.json",
        "points/",
        "candidates.csv",
        "finalists.csv",
        "optimize.md",
        "report.html",
        "optimize.png",
    ]


def figure(result: OptimizeResult, path: Path) -> Path:
    """optimize.png: the candidates and finalists against cost, with labels."""
    from livesim.report.optimize_figure import optimize_figure

    plan, config = result.plan, result.plan.config
    title = (
        f"Budget optimization of {plan.scenario.name}: {len(result.candidates)} "
        f"candidates (screening, seed {config.seed}) and finalists (fresh seed "
        f"{config.fresh_seed})"
    )
    return optimize_figure(
        result.candidates,
        result.finalists,
        path,
        label=objective_label(config, plan.target),
        money=config.objective not in ("mean_roi", "p_target"),
        budget=config.budget,
        title=title,
        names=[
            plan.describe(plan.candidates[int(c)])
            for c in result.finalists["candidate"]
        ],
    )


#: The finalists table of optimize.md: column -> heading.
REPORT_HEADINGS = {
    "final_rank": "rank",
    "depth": "flash sale",
    "cost": "cost (RMB)",
    "screening_objective": "screening",
    "objective": "fresh seed",
    "objective_ci_low": "95% CI low",
    "objective_ci_high": "95% CI high",
    "diff_objective": "winner minus",
    "diff_objective_ci_low": "diff CI low",
    "diff_objective_ci_high": "diff CI high",
    "mean_net_gmv": "mean net GMV",
    "mean_roi": "mean ROI",
    "expected_regret": "regret (RMB)",
    "p_best": "best on",
}


HEADING_FORMATS = {
    "cost (RMB)": ",.0f",
    "mean net GMV": ",.0f",
    "mean ROI": ".2f",
    "regret (RMB)": ",.0f",
    "best on": ".0%",
}


def report(result: OptimizeResult) -> str:
    """optimize.md: the Summary with the winner, the finalists, the search and its
    assumptions (the same blocks as report.html)."""
    from livesim.report.markdown import to_markdown

    return to_markdown(report_blocks(result), result.out)


def report_blocks(result: OptimizeResult) -> list[Block]:
    """The optimization's report: Summary first, then the figure and tables."""
    plan = result.plan
    label = objective_label(plan.config, plan.target)
    return [
        Block("h1", f"Budget optimization: {plan.scenario.name}"),
        Block("h2", "Summary"),
        Block(
            "p",
            f"**The question:** which allocation of {plan.config.budget:,.0f} RMB over "
            f"host kinds, counts and sale depth maximises {label}?",
        ),
        Block("p", "**The answer:** " + _winner_text(result, label)),
        Block("p", covers_text(plan.scenario)),
        Block("p", _flip_text(result)),
        Block(
            "p",
            "**The cost side:** cost is the up-front outlay (host fees, gifts, ads); "
            "commissions on net GMV and the scenario's fixed cost "
            f"({plan.scenario.costs.fixed:,.0f} RMB) come on top and are in ROI.",
        ),
        Block("h2", "Figure"),
        Block(
            "figure",
            "The screening objective of every candidate against its "
            "cost; the finalists on the fresh seed.",
            path=result.out / "optimize.png",
        ),
        Block("h2", "Finalists"),
        Block(
            "p",
            f"Objective: {label}. *screening* is the value that chose the finalists; "
            "*fresh seed* and its 95% CI come from the fresh replications only; "
            "*winner minus* is the winner's objective minus the finalist's on the "
            "same fresh random numbers (paired), with its 95% bootstrap CI: a CI "
            "that includes 0 means the data cannot tell the two apart. *regret* is "
            "the mean over fresh nights of the night's best finalist's net GMV minus "
            "this one's; *best on* the share of fresh nights on which it is the best "
            "finalist.",
        ),
        Block("table", frame=_finalists_frame(result), formats=HEADING_FORMATS),
        Block("h2", "How it was searched"),
        Block("p", _search_text(result)),
        Block("h2", "Assumptions"),
        *(Block("p", line) for line in _assumptions(plan.scenario.name)),
    ]


def covers_text(scenario: Any) -> str:
    """What the optimization's intervals cover, and what it assumes of the event's
    traffic (as compare's Summary says)."""
    names = [p.name for p in scenario.uncertainty]
    text = (
        f"**What it covers:** the priors ({', '.join(names)}) are drawn afresh on "
        "every night, so the objective's intervals include parameter uncertainty."
        if names
        else "**What it covers:** these intervals show simulation noise only: every "
        "parameter is at the scenario's value."
    )
    phase = scenario.awareness
    if phase is not None and phase.own_kinds:
        text += (
            " **What it assumes:** the event's own audience and push go to its own "
            f"kinds of host ({', '.join(phase.own_kinds)}) in full and to others in "
            f"the share `follow_share` = {phase.follow_share:g} (or as its prior "
            "draws it); `livesim compare` on the strategies file of the same night "
            "makes the same assumption and reports the share at which it would flip."
        )
    return text


def _winner_text(result: OptimizeResult, label: str) -> str:
    plan, config = result.plan, result.plan.config
    best = result.finalists.iloc[0]
    winner = plan.candidates[result.winner]

    def f(key: str) -> str:
        return format_objective(config, float(best[key]))

    return (
        f"**Winner: {plan.describe(winner)}** for {winner.cost:,.0f} RMB up front "
        f"(budget {config.budget:,.0f} RMB). Objective, {label}: {f('objective')} "
        f"(95% CI {f('objective_ci_low')} to {f('objective_ci_high')}) on "
        f"{config.final_replications} fresh replications (seed {config.fresh_seed}); "
        f"mean net GMV {float(best['mean_net_gmv']):,.0f} RMB, mean ROI "
        f"{float(best['mean_roi']):.2f}. It is the best finalist on "
        f"{float(best['p_best']):.0%} of the fresh nights (each with its own draw "
        "of the scenario's priors, if it has any), and choosing it costs "
        f"{float(best['expected_regret']):,.0f} RMB of net GMV a night on average "
        "against picking each night's best finalist (expected regret)."
    )


def _flip_text(result: OptimizeResult) -> str:
    """What could flip the choice: the runner-up, when the fresh nights cannot
    tell it from the winner, and the budget and the scenario's values."""
    config = result.plan.config
    text = (
        "**What could flip it:** the budget and the values the candidates' hosts "
        "take (their kind's archetype, docs/model.md section 6, with the options' "
        "overrides)"
    )
    if len(result.finalists) < 2:
        return text + "."
    second = result.finalists.iloc[1]
    name = result.plan.describe(result.plan.candidates[int(second["candidate"])])
    # the winner minus the runner-up: positive is better, except for regret
    sign = -1.0 if config.objective == "expected_regret" else 1.0
    diff, low, high = (
        sign * float(second[k])
        for k in ("diff_objective", "diff_objective_ci_low", "diff_objective_ci_high")
    )
    low, high = min(low, high), max(low, high)
    ahead = math.isfinite(low) and low > 0.0
    verdict = (
        "the winner is ahead beyond noise"
        if ahead
        else "the interval includes 0 (or is undefined), so the fresh nights cannot "
        "tell the two apart"
    )

    def f(value: float) -> str:
        return format_objective(config, value)

    return (
        f"{text}. The winner is {f(diff)} better than the runner-up, {name} (95% "
        f"CI {f(low)} to {f(high)}, paired): {verdict}."
    )


def _finalists_frame(result: OptimizeResult) -> pd.DataFrame:
    """The finalists table, the objective's columns in its unit."""
    plan, config = result.plan, result.plan.config
    columns = ["final_rank", *plan.names, *list(REPORT_HEADINGS)[1:]]
    shown = result.finalists[columns].copy()
    for column in OBJECTIVE_COLUMNS:
        shown[column] = shown[column].map(lambda v: format_objective(config, v))
    shown["depth"] = shown["depth"].map(lambda v: f"{v:.0%}")
    return shown.rename(columns=REPORT_HEADINGS)


def _assumptions(scenario: str) -> list[str]:
    return [
        "- Cost is the up-front outlay: host fees, gifts and ad spend per stream "
        "(as `livesim compare`'s budget); commissions (a share of net GMV) and the "
        "scenario's fixed cost come on top and are in ROI only.",
        "- Every bought host streams once, as the config's stream template says; "
        "hosts take their kind's archetype defaults with the option's overrides.",
        f"- Products, platform and costs are those of scenario "
        f"`{scenario}`; its own hosts, streams and strategies are not used.",
        "- The winner is chosen on fresh replications because the screening "
        "maximum is optimistically biased: among many noisy estimates the largest "
        "is, on average, above its true value (the winner's curse).",
    ]


def _search_text(result: OptimizeResult) -> str:
    plan, config = result.plan, result.plan.config
    text = (
        f"{len(plan.candidates)} candidates (every allocation of at least one host "
        f"costing {config.min_spend:,.0f}-{config.budget:,.0f} RMB with at most "
        f"{config.host_limit} hosts"
        + (", x each flash-sale depth" if config.promotion else "")
        + f"), screened on the {result.engine} engine with common random numbers "
        f"(seed {config.seed}, the same replication numbers for every candidate). "
    )
    if len(result.rounds) == 1:
        text += f"Each candidate ran {config.replications} replications. "
    else:
        steps = "; ".join(
            f"{s} candidates x {r} replications" for s, r in result.rounds
        )
        text += (
            "Racing (successive halving): "
            + steps
            + f", keeping the best {config.racing.keep:.0%} after each round. "
        )
    text += (
        f"The best {len(result.finalists)} ran {config.final_replications} fresh "
        f"replications on seed {config.fresh_seed}. Run time {result.seconds:,.0f} s."
    )
    return text


def summary_lines(result: OptimizeResult) -> list[str]:
    """A few lines for the terminal: the search, the winner, the finalists."""
    plan, config = result.plan, result.plan.config
    rounds = " -> ".join(f"{s} x {r}" for s, r in result.rounds)
    lines = [
        f"{plan.scenario.name}: {len(plan.candidates)} candidates, screening "
        f"{rounds} replications (seed {config.seed}), engine {result.engine}; "
        f"{len(result.finalists)} finalists x {config.final_replications} "
        f"replications on seed {config.fresh_seed}",
        f"objective: {objective_label(config, plan.target)}",
    ]
    for row in result.finalists.to_dict(orient="records"):
        lines.append(_finalist_line(result, row))
    return lines


def _finalist_line(result: OptimizeResult, row: dict[Any, Any]) -> str:
    plan, config = result.plan, result.plan.config
    candidate = plan.candidates[int(row["candidate"])]

    def f(key: str) -> str:
        return format_objective(config, float(row[key]))

    mark = "winner" if row["winner"] else f"#{row['final_rank']}    "
    text = (
        f"  {mark} {plan.describe(candidate)}; {candidate.cost:,.0f} RMB: "
        f"{f('objective')} (95% CI {f('objective_ci_low')} to "
        f"{f('objective_ci_high')})"
    )
    if not row["winner"]:
        text += (
            f"; winner minus this {f('diff_objective')} (95% CI "
            f"{f('diff_objective_ci_low')} to {f('diff_objective_ci_high')})"
        )
    return text
