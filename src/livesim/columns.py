"""The column dictionary: the unit and meaning of every column livesim writes.

Every table (CSV and Parquet alike) is described here once; `describe_tables`
gives the part of the dictionary that a folder's tables use, written beside them
as columns.json, and `python -m livesim.columns` prints all of it as the page
docs/columns.md. Columns whose names an experiment or a scenario chooses (a
sweep's parameters, a prior's `param.<name>`) are described by `PATTERNS`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

#: name -> (unit, meaning). Units: RMB, minutes, count, share (0..1), ratio,
#: id (a name or a number that identifies), "" for a label.
COLUMNS: dict[str, tuple[str, str]] = {
    # keys of the per-replication tables
    "replication": (
        "id",
        "replication number (0-based); the same number pairs "
        "strategies on common random numbers",
    ),
    "strategy": ("id", "strategy name (`baseline` or a [strategies.NAME] table)"),
    "stream": ("id", "stream id"),
    "host": ("id", "host id of the stream"),
    "host_kind": ("", "host kind: KOL, KOC, KOS, KOF or BRAND"),
    "scope": ("id", "`campaign` (all streams of a strategy) or a stream id"),
    "metric": ("", "the metric a row describes (a column of replications.csv)"),
    "minute": ("minutes", "campaign minute (from the campaign's start)"),
    # campaign metrics (docs/model.md, section 4)
    "reached": ("count", "people shown the stream"),
    "viewers": (
        "count",
        "room entries, fake accounts included (what the platform displays)",
    ),
    "unique_viewers": ("count", "real people who entered (fakes excluded)"),
    "fake_viewers": ("count", "entries by fake follower accounts"),
    "peak_concurrent": ("count", "most viewers present at once (fakes included)"),
    "mean_watch_minutes": ("minutes", "mean stay of real viewers"),
    "likes": ("count", "likes"),
    "comments": ("count", "comments"),
    "shares": ("count", "shares"),
    "engaged": (
        "count",
        "real viewers with any like, comment, share, question, "
        "click or purchase attempt",
    ),
    "clicked": ("count", "real viewers who clicked a product or tried to buy"),
    "askers": ("count", "real viewers who asked at least one question"),
    "questions_asked": ("count", "questions put to the Q&A desk"),
    "questions_answered": ("count", "questions answered"),
    "questions_abandoned": ("count", "questions whose asker left unanswered"),
    "mean_qa_wait": ("minutes", "mean wait of answered questions"),
    "orders": ("count", "orders, delayed ones included"),
    "delayed_orders": (
        "count",
        "orders placed after the viewer left (within the attribution window)",
    ),
    "kept_orders": ("count", "orders not returned"),
    "returned_orders": ("count", "orders returned"),
    "units": ("count", "units sold"),
    "gross_gmv": ("RMB", "value of all orders at the prices paid"),
    "refunds": ("RMB", "value of returned orders"),
    "net_gmv": ("RMB", "gross GMV less refunds"),
    "conversion_rate": ("share", "orders per unique (real) viewer"),
    "lost_sales": ("count", "purchase attempts that found the stock empty"),
    "margin_value": (
        "RMB",
        "kept orders' paid value less their unit costs, less the return fee "
        "of each returned order",
    ),
    "cost": (
        "RMB",
        "fees, gifts, ads, commission and the stream's share of fixed costs",
    ),
    "roi": ("ratio", "(margin value - cost) / cost; NaN when cost is 0"),
    "arrivals_follower": ("count", "room entries by followers"),
    "arrivals_platform": ("count", "room entries from the platform's recommendation"),
    "arrivals_ads": ("count", "room entries from paid traffic"),
    "arrivals_wom": ("count", "room entries by word of mouth (shares)"),
    "arrivals_carryover": ("count", "room entries carried over from an earlier stream"),
    "arrivals_awareness": (
        "count",
        "room entries of people an earlier stream made aware",
    ),
    # summary.csv
    "n": ("count", "values summarised (finite ones)"),
    "mean": ("metric's unit", "mean over replications"),
    "sd": (
        "metric's unit",
        "standard deviation: over replications (summary), or "
        "the observation's error (predictive_check)",
    ),
    "ci_low": (
        "metric's unit",
        "lower bound of the 95% interval (of the mean, "
        "t-based; of a difference, bootstrap)",
    ),
    "ci_high": ("metric's unit", "upper bound of the 95% interval"),
    "p5": ("metric's unit", "5th percentile over replications"),
    "p50": ("metric's unit", "median over replications"),
    "p95": ("metric's unit", "95th percentile over replications"),
    # timeseries.csv
    "concurrent": (
        "count",
        "viewers present, time-weighted mean over the minute and over replications",
    ),
    "gmv": ("RMB", "gross in-stream GMV of the minute (mean over replications)"),
    "cum_gmv": ("RMB", "cumulative gross GMV up to the minute's end (mean)"),
    "concurrent_p5": ("count", "5th percentile over replications of concurrent"),
    "concurrent_p95": ("count", "95th percentile over replications of concurrent"),
    "cum_gmv_p5": ("RMB", "5th percentile over replications of cum_gmv"),
    "cum_gmv_p95": ("RMB", "95th percentile over replications of cum_gmv"),
    # events.csv
    "viewer": ("id", "viewer number within the stream and replication"),
    "time": ("minutes", "campaign minute of the event"),
    "event": (
        "",
        "arrive, like, comment, click, share, question, answered, "
        "abandoned, order, delayed_order, lost_sale, return or leave",
    ),
    "detail": ("", "the event's detail: arrival source, product id or question"),
    # compare: pairs.csv, strategies.csv, breakeven.csv
    "first": ("id", "the strategy the difference is taken of"),
    "second": (
        "id",
        "the strategy it is compared with (the difference is first minus second)",
    ),
    "mean_diff": ("metric's unit", "mean paired difference first - second"),
    "p_first_higher": (
        "share",
        "share of paired replications where first is higher (ties count half)",
    ),
    "budget": ("RMB", "up-front spend: host fees, gifts, ads and fixed costs"),
    "median_net_gmv": ("RMB", "median net GMV over replications"),
    "median_ci_low": (
        "RMB",
        "lower bound of the median's 95% interval (order statistics)",
    ),
    "median_ci_high": ("RMB", "upper bound of the median's 95% interval"),
    "mean_net_gmv": ("RMB", "mean net GMV over replications"),
    "p5_net_gmv": ("RMB", "5th percentile of net GMV"),
    "p95_net_gmv": ("RMB", "95th percentile of net GMV"),
    "mean_orders": ("count", "mean orders per replication"),
    "mean_viewers": ("count", "mean unique viewers per replication"),
    "conversion": ("share", "mean conversion rate (orders per unique viewer)"),
    "mean_roi": ("ratio", "mean ROI"),
    "p5_roi": ("ratio", "5th percentile of ROI"),
    "mean_cost": ("RMB", "mean cost per replication"),
    "cvar5_net_gmv": ("RMB", "mean net GMV of the worst 5% of replications"),
    "cvar5_roi": ("ratio", "mean ROI of the worst 5% of replications"),
    "p_roi_negative": ("share", "share of replications with ROI below 0"),
    "p_net_gmv_ge_target": (
        "share",
        "share of replications with net GMV at or above target_gmv",
    ),
    "p_beats_first": (
        "share",
        "share of paired replications in which this "
        "strategy's net GMV beats the baseline's",
    ),
    "p_beats_first_ci_low": (
        "share",
        "lower bound of p_beats_first's 95% interval (Clopper-Pearson)",
    ),
    "p_beats_first_ci_high": ("share", "upper bound of p_beats_first's interval"),
    "p_ties_first": ("share", "share of paired replications tied with the baseline"),
    "p_better_given_parameters": (
        "share",
        "share of parameter draws in which the "
        "strategy's mean net GMV beats the baseline's "
        "(priors only)",
    ),
    # sweep.csv, points.csv
    "point": ("id", "design point number"),
    # sensitivity.csv
    "output": ("", "the output (a campaign metric) the indices are of"),
    "parameter": ("", "the parameter the indices are of"),
    "first_order": (
        "share",
        "first-order Sobol' index S1: the share of the "
        "output's variance the parameter explains alone",
    ),
    "first_low": ("share", "lower bound of S1's bootstrap interval"),
    "first_high": ("share", "upper bound of S1's bootstrap interval"),
    "total": (
        "share",
        "total Sobol' index ST: the share of the output's "
        "variance with the parameter's interactions",
    ),
    "total_low": ("share", "lower bound of ST's bootstrap interval"),
    "total_high": ("share", "upper bound of ST's bootstrap interval"),
    "output_variance": (
        "output's unit squared",
        "variance of the output over the design",
    ),
    "rank": ("count", "rank by total index (1 largest)"),
    # optimize: candidates.csv, finalists.csv
    "candidate": ("id", "candidate number"),
    "objective": ("objective's unit", "the optimization's objective of the candidate"),
    "screening_objective": (
        "objective's unit",
        "the objective over the screening replications",
    ),
    "depth": ("share", "the flash sale's discount depth"),
    "hosts": ("count", "hosts in the allocation"),
    "replications": ("count", "replications the row is computed over"),
    "round": ("count", "the last racing round the candidate reached"),
    "p50_net_gmv": ("RMB", "median net GMV"),
    "p_target": ("share", "share of replications with net GMV at or above the target"),
    "finalist": ("", "true when the candidate went on to the final re-evaluation"),
    "screening_rank": ("count", "rank after screening (1 best)"),
    "final_rank": ("count", "rank on the fresh seed (1 best)"),
    "diff_objective": (
        "objective's unit",
        "paired difference of the objective, winner minus this finalist",
    ),
    "diff_net_gmv": (
        "RMB",
        "mean paired difference of net GMV, winner minus this finalist",
    ),
    "p_winner_higher": (
        "share",
        "share of paired replications where the winner's net GMV is higher (ties half)",
    ),
    "expected_regret": (
        "RMB",
        "mean over nights of the best finalist's net GMV minus this one's",
    ),
    "p_best": ("share", "share of nights on which this finalist is the best"),
    "winner": ("", "true for the winner"),
    # calibrate: generations.csv, predictive_check.csv, posterior.csv
    "generation": ("id", "ABC-SMC generation (0 first)"),
    "temperature": (
        "ratio",
        "the generation's ABC temperature (1: the exact "
        "posterior given the observation errors)",
    ),
    "simulations": ("count", "simulations the generation ran"),
    "accepted": ("count", "particles accepted"),
    "acceptance_rate": ("share", "accepted / simulations"),
    "ess": ("count", "effective sample size of the generation's weights"),
    "summary": ("", "the observed summary (a metric, of a stream or a minute)"),
    "observed": ("summary's unit", "the observed value"),
    "predictive_p5": ("summary's unit", "5th percentile of the posterior predictive"),
    "predictive_median": ("summary's unit", "median of the posterior predictive"),
    "predictive_p95": ("summary's unit", "95th percentile of the posterior predictive"),
    "tail_probability": (
        "share",
        "two-sided tail probability of the observed "
        "value under the posterior predictive",
    ),
    "weight": ("share", "importance weight of the particle (weights sum to 1)"),
}

#: Columns whose names vary: (regex, unit, meaning with {0} for the first group).
PATTERNS: tuple[tuple[str, str, str], ...] = (
    (
        r"param\.(.+)",
        "the field's unit",
        "the value prior `{0}` drew for the replication (docs/model.md, section 16)",
    ),
    (
        r"(.+)\.explained_by\.(.+)",
        "share",
        "share of the variance of {0} that prior `{1}` explains",
    ),
    (
        r"(.+)_ci_(low|high)",
        "as the column it bounds",
        "{1} bound of the 95% interval of {0}",
    ),
)


def describe(
    name: str, extra: Mapping[str, tuple[str, str]] | None = None
) -> dict[str, str]:
    """The unit and meaning of one column (`extra`: names a run chose itself,
    e.g. a sweep's parameters)."""
    if extra and name in extra:
        unit, meaning = extra[name]
        return {"unit": unit, "meaning": meaning}
    if name in COLUMNS:
        unit, meaning = COLUMNS[name]
        return {"unit": unit, "meaning": meaning}
    for pattern, unit, meaning in PATTERNS:
        match = re.fullmatch(pattern, name)
        if match:
            return {"unit": unit, "meaning": meaning.format(*match.groups())}
    return {"unit": "", "meaning": ""}


def describe_tables(
    tables: Mapping[str, Iterable[str]],
    extra: Mapping[str, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The dictionary of a folder's tables: per table, per column, its unit and
    meaning (what columns.json holds)."""
    return {
        "about": "unit and meaning of every column of the tables in this folder "
        "(CSV and Parquet alike); docs/columns.md has them all",
        "tables": {
            table: {name: describe(name, extra) for name in names}
            for table, names in tables.items()
        },
    }


def undescribed(tables: Mapping[str, Iterable[str]], extra: Any = None) -> list[str]:
    """`table.column` of every column with no meaning (tests keep this empty)."""
    found = describe_tables(tables, extra)["tables"]
    return [
        f"{table}.{name}"
        for table, columns in found.items()
        for name, entry in columns.items()
        if not entry["meaning"]
    ]


def markdown() -> str:
    """docs/columns.md: every column and pattern."""
    lines = [
        "# Column dictionary",
        "",
        "The unit and meaning of every column of livesim's tables, CSV and Parquet",
        "alike. Each output folder has a `columns.json` with the part its tables use.",
        "Generated by `python -m livesim.columns > docs/columns.md` from",
        "`src/livesim/columns.py`; tests check the two agree.",
        "",
        "| column | unit | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| `{k}` | {u} | {m} |" for k, (u, m) in COLUMNS.items()]
    lines += [
        "",
        "Columns whose names a scenario or an experiment chooses:",
        "",
        "| pattern | unit | meaning |",
        "|---|---|---|",
    ]
    for pattern, unit, meaning in PATTERNS:
        shown = pattern.replace(r"\.", ".").replace("(.+)", "<name>")
        shown = shown.replace("(low|high)", "<low or high>")
        text = meaning.replace("{0}", "the first name").replace("{1}", "the second")
        lines.append(f"| `{shown}` | {unit} | {text} |")
    lines += [
        "",
        "A sweep's, sensitivity's or optimization's own parameters are columns named",
        "as in its file; their unit is the unit of the fields they set",
        "(docs/model.md).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
