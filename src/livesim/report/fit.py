"""The report of a least-squares calibration (`livesim calibrate --method lsq --out
FIT.json` writes it beside the JSON as FIT.html): a Summary (the question, the
fitted values, what their ranges cover, what could flip them, the cost side), then
the parameter and target tables."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from livesim.report.blocks import Block
from livesim.report.html import to_html

if TYPE_CHECKING:
    from livesim.calibrate import CalibrationResult


def fit_blocks(result: CalibrationResult, covers: str) -> list[Block]:
    """The report's blocks; `covers` says what the scenario's intervals cover."""
    params, targets = result.parameters, result.targets
    return [
        Block("h1", f"Calibration of {result.scenario} (least squares)"),
        Block("h2", "Summary"),
        Block("p", _question(result)),
        Block("p", _answer(params, targets)),
        Block(
            "p",
            "**What it covers:** each value's range is the 95% range of the values "
            "the fit would reach on other random numbers (the medians' simulation "
            f"noise over {result.replications} replications per evaluation, seed "
            f"{result.seed}, engine {result.engine}). It is not a credible interval: "
            f"`--method abc` gives a posterior with parameter uncertainty. {covers}",
        ),
        Block("p", _flip(result)),
        Block(
            "p",
            "**The cost side** does not enter the fit: costs change ROI, not the "
            "medians fitted. Run the scenario with the fitted values to see ROI.",
        ),
        Block("h2", "Fitted parameters"),
        Block("table", frame=params, formats={c: ".4g" for c in params.columns}),
        Block("h2", "Targets"),
        Block("table", frame=targets, formats={"residual": "+.2%"}),
    ]


def _question(result: CalibrationResult) -> str:
    names = ", ".join(f"`{p}`" for p in result.parameters["parameter"])
    metrics = ", ".join(f"`{m}`" for m in result.targets["metric"])
    return (
        f"**The question:** which values of {names} make the medians of {metrics} "
        f"of `{result.scenario}` hit their targets?"
    )


def _answer(params: pd.DataFrame, targets: pd.DataFrame) -> str:
    values = "; ".join(
        f"`{row.parameter}` = {row.value:.4g} "
        f"({_range(float(row.range_low), float(row.range_high))}, "  # type: ignore[arg-type]
        f"bounds {row.bound_low:g} to {row.bound_high:g})"
        for row in params.itertuples()
    )
    fits = "; ".join(
        f"`{row.metric}` median {row.median:,.4g} against {row.target:,.4g} "
        f"({row.residual:+.1%})"
        for row in targets.itertuples()
    )
    return f"**The answer:** {values}. At these values: {fits}."


def _range(low: float, high: float) -> str:
    """A fitted value's noise range, or that the targets do not pin it down."""
    if math.isfinite(low) and math.isfinite(high):
        return f"95% range {low:.4g} to {high:.4g}"
    return "not pinned down by the targets: its range is unbounded"


def _flip(result: CalibrationResult) -> str:
    at_bound = list(result.parameters.loc[result.parameters["at_bound"], "parameter"])
    text = (
        "**What could flip it:** the targets and everything held at the scenario's "
        "values; a parameter the targets do not pin down drifts within its bounds."
    )
    if at_bound:
        text += (
            f" **{', '.join(at_bound)} ended at a bound**: the fit wants a value "
            "outside them; widen the bounds and rerun."
        )
    if not result.converged:
        text += f" **The fit did not converge:** {result.message}."
    return text


def report_path(out: Path) -> Path:
    """Where the report of a fit written to `out` goes: beside it, as .html."""
    page = out.with_suffix(".html")
    return page if page != out else out.with_name(out.name + ".report.html")


def fit_report(result: CalibrationResult, covers: str) -> str:
    """The report as one self-contained HTML page."""
    return to_html(
        fit_blocks(result, covers), f"livesim calibration: {result.scenario}"
    )


__all__ = ["fit_blocks", "fit_report", "report_path"]
