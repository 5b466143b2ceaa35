"""report.md: the headline numbers, per-stream tables and the figures of a run."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from livesim.results import SimulationResult


def table(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> str:
    """A DataFrame as a GitHub-flavoured markdown table."""
    formats = formats or {}

    def cell(column: str, value: Any) -> str:
        if isinstance(value, float):
            if math.isnan(value):
                return "n/a"
            return format(value, formats.get(column, ",.2f"))
        return str(value)

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = [
        "| "
        + " | ".join(cell(c, v) for c, v in zip(frame.columns, row, strict=True))
        + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


HEADLINE_FORMATS = {
    "median net GMV": ",.0f",
    "median 95% CI low": ",.0f",
    "median 95% CI high": ",.0f",
    "mean net GMV": ",.0f",
    "viewers": ",.0f",
    "conversion": ".2%",
    "ROI": ".2f",
}


def per_stream(result: SimulationResult) -> pd.DataFrame:
    """Mean per stream over replications: viewers, orders, net GMV, conversion."""
    reps = result.replications
    grouped = reps.groupby(["strategy", "stream", "host_kind"], sort=False)
    frame = grouped[
        ["unique_viewers", "orders", "net_gmv", "lost_sales", "cost"]
    ].mean()
    # a ratio of the means (the headline's conversion is a mean of ratios)
    frame["orders per viewer"] = frame["orders"] / frame["unique_viewers"]
    return frame.reset_index()


def write_report(
    result: SimulationResult, folder: Path, figures: list[Path], scenario_text: str
) -> Path:
    """Write report.md into `folder` (figures are linked relative to it)."""
    m = result.manifest
    lines = [
        f"# livesim report: {m.get('scenario', '')}",
        "",
        scenario_text,
        "",
        f"{m.get('replications')} replications per strategy, seed {m.get('seed')}, "
        f"engine `{m.get('engine')}`, livesim {m.get('livesim_version')}; "
        f"scenario SHA-256 `{str(m.get('scenario_sha256', ''))[:12]}`.",
        "",
        "## Headline (campaign totals)",
        "",
        table(result.headline(), HEADLINE_FORMATS),
        "",
        "Net GMV is gross GMV less refunds of returned orders, including purchases "
        "made after a viewer left (within the attribution window). Conversion is "
        "orders per real viewer who entered. ROI = (margin on kept orders - cost) / "
        "cost.",
        "",
    ]
    target = result.summary[result.summary["metric"] == "p_net_gmv_ge_target"]
    if len(target):
        lines += ["## Probability of reaching the target", ""]
        shown = target[["strategy", "mean", "ci_low", "ci_high"]].rename(
            columns={
                "mean": "P(net GMV >= target)",
                "ci_low": "95% CI low",
                "ci_high": "95% CI high",
            }
        )
        lines += [table(shown, {c: ".3f" for c in shown.columns}), ""]
    lines += [
        "## Per stream (means over replications)",
        "",
        table(
            per_stream(result),
            {
                "unique_viewers": ",.0f",
                "orders": ",.0f",
                "net_gmv": ",.0f",
                "lost_sales": ",.1f",
                "cost": ",.0f",
                "orders per viewer": ".2%",
            },
        ),
        "",
        "## Figures",
        "",
    ]
    captions = {
        "gmv_distribution": "Net GMV over replications (histogram and empirical CDF).",
        "funnel_by_kind": "Funnel stages by host kind: reached, entered, engaged, "
        "clicked, ordered, kept.",
        "timeline": "Concurrent viewers and cumulative in-stream GMV over time.",
    }
    for fig in figures:
        lines += [
            f"![{fig.stem}](figures/{fig.name})",
            "",
            captions.get(fig.stem, ""),
            "",
        ]
    lines += [
        "## Files",
        "",
        "- `replications.csv`: one row per replication x strategy x stream",
        "- `summary.csv`: mean, sd, t-based 95% CI, p5/p50/p95 per metric and scope",
        "- `timeseries.csv`: per-minute means (and p5/p95 bands) per scope",
        "- `manifest.json`: scenario hash, seed, engine, version, timings",
        "",
        "The model and its sources: docs/model.md in the livesim repository.",
        "",
    ]
    path = folder / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
