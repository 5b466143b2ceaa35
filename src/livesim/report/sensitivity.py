"""The sensitivity report (sensitivity.md and report.html): a Summary first (the
question, which parameter drives each output, what the indices cover, what could
change the ranking, the cost side), then the figure, then a ranked table per
strategy and output."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from livesim.report.blocks import Block

INDEX_FORMATS = {c: ".3f" for c in ("ST", "S1")}


@dataclass
class SensitivityFacts:
    """What the report says of the design, apart from the indices."""

    parameters: list[str]
    design: str  # the design in one paragraph
    ranges: pd.DataFrame  # one row per parameter: how it varies, what it sets
    replications: int
    confidence: float
    from_priors: bool
    drawn: list[str] = field(default_factory=list)  # other priors, drawn as usual
    costs: str = ""  # the cost side, one sentence


def sensitivity_blocks(
    indices: pd.DataFrame, facts: SensitivityFacts, figure: Path
) -> list[Block]:
    """The whole report as blocks."""
    title = "Global sensitivity (Sobol' indices)"
    blocks = [Block("h1", title), Block("h2", "Summary")]
    texts = [
        _question(indices, facts),
        *_answers(indices, facts),
        _covers(indices, facts),
        _flip(indices, facts),
        facts.costs,
    ]
    blocks += [Block("p", t) for t in texts if t]
    blocks += [
        Block("h2", "Figure"),
        Block(
            "figure",
            "Total (ST) and first-order (S1) index of each parameter, with their "
            f"{facts.confidence:.0%} bootstrap intervals.",
            path=figure,
        ),
        Block("h2", "Design"),
        Block("p", facts.design),
        Block("table", frame=facts.ranges),
        Block(
            "p",
            "S1 (first order) is the share of the output's variance the parameter "
            "explains alone; ST (total) the share it takes part in, interactions "
            "included. ST - S1 is the interaction share.",
        ),
    ]
    for (strategy, output), frame in indices.groupby(
        ["strategy", "output"], sort=False
    ):
        blocks += [Block("h2", f"{output} ({strategy})"), _table(frame, facts)]
    return blocks


def _table(frame: pd.DataFrame, facts: SensitivityFacts) -> Block:
    ci = f"{facts.confidence:.0%} CI"
    shown = pd.DataFrame(
        {
            "rank": frame["rank"].astype(int).astype(str),
            "parameter": frame["parameter"],
            "ST": frame["total"].astype(float),
            f"ST {ci}": _intervals(frame["total_low"], frame["total_high"]),
            "S1": frame["first_order"].astype(float),
            f"S1 {ci}": _intervals(frame["first_low"], frame["first_high"]),
        }
    )
    return Block("table", frame=shown, formats=INDEX_FORMATS)


def _intervals(low: pd.Series, high: pd.Series) -> list[str]:
    return [f"{lo:.3f} to {hi:.3f}" for lo, hi in zip(low, high, strict=True)]


def _question(indices: pd.DataFrame, facts: SensitivityFacts) -> str:
    outputs = ", ".join(f"`{o}`" for o in indices["output"].unique())
    over = "their priors" if facts.from_priors else "the ranges below"
    names = ", ".join(f"`{p}`" for p in facts.parameters)
    if len(facts.parameters) == 1:
        return (
            f"**The question:** how much of the variation of {outputs} does {names} "
            f"explain as it varies over {over.replace('their', 'its')}?"
        )
    return (
        f"**The question:** which of the {len(facts.parameters)} parameters "
        f"({names}) moves {outputs} most when they vary together over {over}?"
    )


def _answers(indices: pd.DataFrame, facts: SensitivityFacts) -> list[str]:
    """One sentence per strategy and output: the top parameter, and the next."""
    lines = []
    for (strategy, output), frame in indices.groupby(
        ["strategy", "output"], sort=False
    ):
        ranked = frame.sort_values("rank")
        top = ranked.iloc[0]
        where = f"`{output}`" + (
            f" ({strategy})" if indices["strategy"].nunique() > 1 else ""
        )
        if not float(top["output_variance"]) > 0.0:
            lines.append(
                f"**The answer** for {where}: it does not vary over these "
                f"{'priors' if facts.from_priors else 'ranges'}; no parameter "
                "moves it."
            )
            continue
        text = (
            f"**The answer** for {where}: `{top['parameter']}` drives it most, "
            f"{_share(top)}"
        )
        if len(ranked) > 1:
            second = ranked.iloc[1]
            text += f"; next `{second['parameter']}`, {_share(second)}"
            if float(top["total_low"]) <= float(second["total_high"]):
                text += (
                    ". Their intervals overlap: the design cannot rank these two "
                    "(more `samples` narrows them)"
                )
        lines.append(text + ".")
    return lines


def _share(row: pd.Series) -> str:
    return (
        f"ST {float(row['total']):.2f} ({float(row['total_low']):.2f} to "
        f"{float(row['total_high']):.2f}), alone S1 {float(row['first_order']):.2f}"
    )


def _covers(indices: pd.DataFrame, facts: SensitivityFacts) -> str:
    drawn = (
        f" The scenario's other priors ({', '.join(facts.drawn)}) are drawn in "
        "every replication as usual, so their effect is part of the noise."
        if facts.drawn
        else ""
    )
    return (
        "**What it covers:** each design point's output is the mean of "
        f"{facts.replications} replications (common random numbers); the indices "
        "share out the variance of those means across the parameters as they "
        "vary. Noise left in the means is variance no parameter explains. "
        f"{_rest(indices)}{drawn} Everything else is at the scenario's values."
    )


def _rest(indices: pd.DataFrame) -> str:
    """What the first-order indices leave of the first output that varies."""
    varies = indices[indices["output_variance"] > 0.0]
    if varies.empty:
        return "No output varies over the design."
    output, strategy = varies["output"].iloc[0], varies["strategy"].iloc[0]
    rows = varies[(varies["output"] == output) & (varies["strategy"] == strategy)]
    total = float(rows["first_order"].sum())
    if total > 1.0:
        return (
            f"For `{output}` the first-order indices sum to {total:.2f}, above 1: "
            "that is the indices' estimation error at this many samples, and "
            "interactions cannot be told from it."
        )
    return (
        f"For `{output}`, 1 - sum of S1 = {1.0 - total:.0%} of the variance is "
        "interactions or noise."
    )


def _flip(indices: pd.DataFrame, facts: SensitivityFacts) -> str:
    over = "priors" if facts.from_priors else "ranges"
    interacting = indices.assign(gap=indices["total"] - indices["first_order"])
    top = interacting.sort_values("gap", ascending=False, na_position="last").iloc[0]
    text = (
        f"**What could flip it:** the {over}. An index is a share of the "
        "variance over the space given, so widening one parameter's range raises "
        "its index and lowers the others'."
    )
    if float(top["gap"]) >= 0.05:
        text += (
            f" The largest interaction is `{top['parameter']}`'s on "
            f"`{top['output']}` (ST - S1 = {float(top['gap']):.2f}): that much of "
            "its effect depends on where the other parameters are."
        )
    return text


__all__ = ["SensitivityFacts", "sensitivity_blocks"]
