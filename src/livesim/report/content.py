"""What the report of a run or a comparison says: its blocks (`report.blocks`),
written as report.md and as a self-contained report.html."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from livesim.model.traffic import describe_awareness
from livesim.report.blocks import Block
from livesim.report.comparison import paragraphs, verdicts
from livesim.report.html import to_html
from livesim.report.markdown import to_markdown
from livesim.report.summary import summary_blocks
from livesim.results import SimulationResult
from livesim.stats import undefined_interval_note

#: `SimulationResult.headline()`'s columns as the report and the terminal show
#: them, with their number formats.
HEADLINE_LABELS = {
    "strategy": ("strategy", "s"),
    "median_net_gmv": ("median net GMV", ",.0f"),
    "median_ci_low": ("median 95% CI low", ",.0f"),
    "median_ci_high": ("median 95% CI high", ",.0f"),
    "mean_net_gmv": ("mean net GMV", ",.0f"),
    "viewers": ("viewers", ",.0f"),
    "conversion": ("conversion", ".2%"),
    "roi": ("ROI", ".2f"),
}
HEADLINE_FORMATS = {label: fmt for label, fmt in HEADLINE_LABELS.values()}


def headline_shown(frame: pd.DataFrame) -> pd.DataFrame:
    """The headline table with its columns' display labels."""
    return frame.rename(columns={k: v[0] for k, v in HEADLINE_LABELS.items()})


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


CAPTIONS = {
    "predictive": "Net GMV with parameter uncertainty (the priors drawn) and with "
    "simulation noise only (every prior at its median): what an interval that "
    "assumes the parameters known leaves out.",
    "gmv_distribution": "Net GMV over replications (histogram and empirical CDF).",
    "funnel_by_kind": "Funnel stages per strategy and host kind: reached, entered, "
    "engaged, asked (viewers with a question), bought (orders) and returned (orders).",
    "timeline": "Concurrent viewers and cumulative in-stream GMV over campaign time, "
    "with the 5th-95th percentile band over replications; promotions shaded, and "
    "idle stretches between streams cut out (marked //).",
    "strategy_distributions": "Net GMV and ROI per strategy over replications.",
    "breakeven": "What could flip each comparison: every night's paired difference "
    "in net GMV against the baseline over the draw of the prior that has a "
    "break-even (or explains most), with the fitted line; the vertical line and band "
    "are the break-even and its 95% bootstrap interval.",
    "forest": "Paired differences in net GMV, the baseline minus each strategy, "
    "with 95% bootstrap confidence intervals; common random numbers pair "
    "replication r of one strategy with replication r of the other (every pair: "
    "pairs.csv).",
}


def run_blocks(
    result: SimulationResult,
    figures: list[Path],
    scenario_text: str,
    comparison: Any = None,
    target: float | None = None,
) -> list[Block]:
    """The report's content, for both renderings."""
    m = result.manifest
    blocks = [
        Block("h1", f"livesim report: {m.get('scenario', '')}"),
        *summary_blocks(result, comparison, target),
        Block("h2", "Figures"),
        *(Block("figure", CAPTIONS.get(f.stem, ""), path=f) for f in figures),
        Block("h2", "About this run"),
        Block("p", scenario_text),
        Block(
            "p",
            f"{m.get('replications')} replications per strategy, seed {m.get('seed')}, "
            f"engine `{m.get('engine')}`, livesim {m.get('livesim_version')}; "
            f"scenario SHA-256 `{str(m.get('scenario_sha256', ''))[:12]}`.",
        ),
        *(
            Block(
                "p",
                (f"{name}: " if len(m.get("strategies", [])) > 1 else "")
                + describe_awareness(phase)
                + " (docs/model.md, section 2).",
            )
            for name, phase in (m.get("awareness") or {}).items()
            if phase is not None
        ),
        *_headline_blocks(result),
    ]
    if comparison is not None:
        blocks += _comparison_blocks(comparison, target)
    blocks += _target_blocks(result)
    blocks += [
        Block("h2", "Per stream (means over replications)"),
        Block(
            "table",
            "every stream's means",
            frame=per_stream(result),
            formats={
                "unique_viewers": ",.0f",
                "orders": ",.0f",
                "net_gmv": ",.0f",
                "lost_sales": ",.1f",
                "cost": ",.0f",
                "orders per viewer": ".2%",
            },
            collapsed=True,
        ),
        Block("h2", "Files"),
        Block(
            "p",
            "Tables (as .csv and/or .parquet, as --format chose; both by default): "
            "replications: one row per replication x strategy x stream; "
            "summary: mean, sd, t-based 95% CI, p5/p50/p95 per metric and scope; "
            "timeseries: per-minute means (and p5/p95 bands) per scope; "
            + (
                "pairs (every pair) and strategies: the comparison tables; "
                if comparison is not None
                else ""
            )
            + ""
            "columns.json: the unit and meaning of every column; "
            "manifest.json: scenario hash, seed, engine, version, timings. The "
            "model and its sources: docs/model.md in the livesim repository.",
        ),
    ]
    return blocks


def _headline_blocks(result: SimulationResult) -> list[Block]:
    headline = result.headline()
    undefined = headline[["median_ci_low", "median_ci_high"]].isna().any(axis=None)
    note = "CI n/a: " + undefined_interval_note(int(result.manifest["replications"]))
    return [
        Block("h2", "Headline (campaign totals)"),
        Block("table", frame=headline_shown(headline), formats=HEADLINE_FORMATS),
        *([Block("p", note)] if undefined else []),
        Block(
            "p",
            "Net GMV is gross GMV less refunds of returned orders, including purchases "
            "made after a viewer left (within the attribution window). Conversion is "
            "orders per real viewer who entered. ROI = (margin value - cost) "
            "/ cost.",
        ),
    ]


def _comparison_blocks(comparison: Any, target: float | None) -> list[Block]:
    first = str(comparison.strategies["strategy"].iloc[0])
    pairs = comparison.baseline_pairs()
    return [
        Block("h2", "Against the baseline"),
        *(Block("p", text) for text in verdicts(comparison)),
        Block("table", frame=pair_display(pairs), formats=PAIR_FORMATS),
        Block(
            "p",
            f"Paired differences {first} minus each strategy. mean_diff: mean over "
            "replications of the paired difference; ci: 95% bootstrap (BCa) interval "
            "of that mean; p_first_higher: share of replications in which the first "
            "strategy's value is higher (ties count half); every pair is in pairs.csv.",
        ),
        Block("h2", "Strategies in plain words"),
        *(Block("p", text) for text in paragraphs(comparison, target)),
        Block("h2", "Strategies"),
        Block(
            "table",
            "every strategy's figures",
            frame=comparison.strategies,
            formats=STRATEGY_FORMATS,
            collapsed=True,
        ),
    ]


def _target_blocks(result: SimulationResult) -> list[Block]:
    chance = result.summary[result.summary["metric"] == "p_net_gmv_ge_target"]
    if not len(chance):
        return []
    shown = chance[["strategy", "mean", "ci_low", "ci_high"]].rename(
        columns={
            "mean": "P(net GMV >= target)",
            "ci_low": "95% CI low",
            "ci_high": "95% CI high",
        }
    )
    return [
        Block("h2", "Probability of reaching the target"),
        Block("table", frame=shown, formats={c: ".3f" for c in shown.columns}),
    ]


STRATEGY_FORMATS = {
    "budget": ",.0f",
    "median_net_gmv": ",.0f",
    "median_ci_low": ",.0f",
    "median_ci_high": ",.0f",
    "mean_net_gmv": ",.0f",
    "p5_net_gmv": ",.0f",
    "p95_net_gmv": ",.0f",
    "mean_orders": ",.0f",
    "mean_viewers": ",.0f",
    "conversion": ".2%",
    "mean_roi": ".2f",
    "p5_roi": ".2f",
    "mean_cost": ",.0f",
    "p_net_gmv_ge_target": ".2f",
    "cvar5_net_gmv": ",.0f",
    "cvar5_roi": ".2f",
    "p_roi_negative": ".2f",
    "p_beats_first": ".2f",
    "p_beats_first_ci_low": ".2f",
    "p_beats_first_ci_high": ".2f",
    "p_ties_first": ".2f",
    "p_better_given_parameters": ".2f",
}
PAIR_FORMATS = {"p_first_higher": ".2f"}


def pair_display(pairs: pd.DataFrame) -> pd.DataFrame:
    """The pair table with differences formatted per metric (RMB and orders as
    whole numbers, ROI with two decimals)."""
    shown = pairs.copy()
    for column in ("mean_diff", "ci_low", "ci_high"):
        shown[column] = [
            "n/a" if v != v else format(v, ".2f" if metric == "roi" else ",.0f")
            for v, metric in zip(pairs[column], pairs["metric"], strict=True)
        ]
    return shown


def write_report(
    result: SimulationResult,
    folder: Path,
    figures: list[Path],
    scenario_text: str,
    comparison: Any = None,
    target: float | None = None,
) -> list[Path]:
    """Write report.md and a self-contained report.html into `folder`."""
    blocks = run_blocks(result, figures, scenario_text, comparison, target)
    md = folder / "report.md"
    md.write_text(to_markdown(blocks, folder), encoding="utf-8")
    page = folder / "report.html"
    title = f"livesim report: {result.manifest.get('scenario', '')}"
    page.write_text(to_html(blocks, title), encoding="utf-8")
    return [md, page]
