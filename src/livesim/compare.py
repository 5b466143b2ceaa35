"""Strategy comparison: paired differences under common random numbers.

Every strategy runs the same replications with the same seed. Random streams are
keyed by (seed, replication, stream, decision) and never by the strategy, so
replication r of strategy A and replication r of strategy B share their random
numbers as far as their campaigns allow, and the difference A_r - B_r is a *paired*
difference with a smaller variance than two independent runs would give.

For each pair of strategies and each of net GMV, orders and ROI the comparison
reports the mean paired difference with a 95% bootstrap confidence interval
(BCa over replications: `livesim.stats.paired_mean_difference`, here `paired`) and
the share of replications in which the first strategy's value is higher (ties count
half). Strategies can come from the scenario's own `[strategies.*]` tables and from
other scenario files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from livesim.engines import choose_engine
from livesim.errors import ConfigError
from livesim.results import SimulationResult, describe, summarize
from livesim.scenario import Scenario
from livesim.stats import (
    break_even,
    expected_shortfall,
    explained_share,
    median_ci,
    share_above,
)
from livesim.stats import paired_mean_difference as paired

if TYPE_CHECKING:
    from livesim.backends import Backend
    from livesim.checkpoint import RunStore
    from livesim.runner import RunRequest

PAIR_METRICS = ("net_gmv", "orders", "roi")

BREAKEVEN_COLUMNS = [
    "strategy",
    "against",
    "parameter",
    "explained",
    "breakeven",
    "ci_low",
    "ci_high",
    "wins",
    "ahead",
    "draws_low",
    "draws_high",
]


@dataclass
class Comparison:
    """Everything `livesim compare` reports."""

    result: SimulationResult
    pairs: pd.DataFrame
    strategies: pd.DataFrame
    budgets: dict[str, float] = field(default_factory=dict)
    #: Break-evens against the first strategy over the campaign-scope priors
    #: (`breakeven_table`; no rows without priors).
    breakeven: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=BREAKEVEN_COLUMNS)
    )

    def baseline_pairs(self) -> pd.DataFrame:
        """The pairs of the baseline with each other strategy (what the report
        shows; `pairs` keeps every pair)."""
        first = str(self.strategies["strategy"].iloc[0])
        return self.pairs[self.pairs["first"] == first]


def _priors_of(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """What the compared runs' distributions cover, over every scenario file."""
    priors = list(dict.fromkeys(p for m in manifests for p in m.get("priors", [])))
    covered = [m for m in manifests if m.get("priors")]
    return {
        "priors": priors,
        "distributions_cover": covered[0]["distributions_cover"]
        if covered
        else manifests[0].get("distributions_cover"),
        "parameter_draws": max(
            (m.get("parameter_draws", 0) for m in manifests), default=0
        ),
    }


def budget(scenario: Scenario, strategy: str) -> float:
    """Up-front outlay of a strategy (RMB): host fees and gifts (per stream, as in
    the cost column) and ad spend.

    Commissions (a share of net GMV) and the fixed cost come on top and are in the
    cost and ROI columns.
    """
    from livesim.runner import upfront

    return upfront(scenario.campaigns()[strategy])


def compare(
    scenario: Scenario,
    others: list[Scenario] | None = None,
    replications: int = 100,
    seed: int = 0,
    workers: int = 1,
    engine: str = "auto",
    strategies: list[str] | None = None,
    progress: bool = False,
    force: bool = False,
    store: RunStore | None = None,
    backend: Backend | None = None,
    inner: int = 1,
) -> Comparison:
    """Run every strategy (the scenario's and other files' ones) with common random
    numbers and compare them pair by pair.

    Every scenario's request is checked before any runs (`prepare_comparison`);
    the replications run on `backend` (default: `workers` local processes); with a
    `store` (`livesim.checkpoint`) finished replications are kept on disk as they
    come and a resumed comparison runs only the missing ones.
    """
    from livesim.backends import LocalBackend

    requests = prepare_comparison(
        scenario, others, replications, seed, workers, engine, strategies, force, inner
    )
    if backend is None:
        backend = LocalBackend(workers)
    return run_comparison(requests, backend, progress, store)


#: The checked runs of a comparison: per scenario file, its request and the names
#: its strategies take in the comparison.
ComparisonRequest = list[tuple["RunRequest", dict[str, str]]]


def prepare_comparison(
    scenario: Scenario,
    others: list[Scenario] | None = None,
    replications: int = 100,
    seed: int = 0,
    workers: int = 1,
    engine: str = "auto",
    strategies: list[str] | None = None,
    force: bool = False,
    inner: int = 1,
) -> ComparisonRequest:
    """The pre-flight of `compare`: every file's request checked, one engine for
    all, and the whole comparison's work against the limit."""
    from livesim.runner import (
        MAX_WORK,
        check_request,
        expected_work,
        inner_problems,
        make_request,
    )

    runs: list[tuple[Scenario, list[str], dict[str, str]]] = []
    names: list[str] = []
    for i, sc in enumerate([scenario, *(others or [])]):
        own = list(sc.campaigns())
        chosen = own if i or strategies is None else strategies
        rename = {
            s: s if i == 0 else (sc.name if s == sc.baseline else f"{sc.name}.{s}")
            for s in chosen
        }
        runs.append((sc, chosen, rename))
        names += rename.values()
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise ConfigError(
            f"compare: strategy names {clash} occur twice; give the other scenario "
            "files different `name`s"
        )
    if len(names) < 2:
        raise ConfigError(
            "compare: needs at least two strategies ([strategies.NAME] tables in the "
            "scenario, or more scenario files)"
        )
    # one engine for all, so every pair is compared on the same model code
    engine = choose_engine(engine)
    # refuse before anything runs or is written: each file's request, then the
    # whole comparison's work against the pre-flight limit
    for sc, chosen, _ in runs:
        try:
            check_request(sc, replications, workers, engine, False, True, seed, chosen)
        except ConfigError as exc:
            raise ConfigError([f"{sc.name}: {e}" for e in exc.errors]) from None
    work = replications * sum(expected_work(sc, chosen) for sc, chosen, _ in runs)
    if not force and work > MAX_WORK[engine]:
        raise ConfigError(
            f"replications: {replications} replications of {len(names)} strategies "
            f"need about {work:,.3g} viewer-visits, past the limit of "
            f"{MAX_WORK[engine]:,.3g} for the {engine} engine (a long run); use "
            "fewer replications or strategies, or --force"
        )
    if inner_problems(replications, inner):
        raise ConfigError(inner_problems(replications, inner))
    return [
        (make_request(sc, replications, seed, engine, chosen, inner=inner), rename)
        for sc, chosen, rename in runs
    ]


def run_comparison(
    requests: ComparisonRequest,
    backend: Backend,
    progress: bool = False,
    store: RunStore | None = None,
) -> Comparison:
    """Run the checked requests of a comparison on `backend` and compare them."""
    from livesim.runner import execute

    scenario = requests[0][0].scenario
    seed = requests[0][0].seed
    runs = [(r.scenario, list(r.campaigns), rename) for r, rename in requests]
    names = [name for _, _, rename in runs for name in rename.values()]
    parts = []
    manifests = []
    for i, (request, rename) in enumerate(requests):
        part = execute(request, backend, progress, store, part=f"{i}-")
        for frame in (part.replications, part.timeseries):
            frame["strategy"] = frame["strategy"].map(rename)
        parts.append(part)
        manifests.append(part.manifest)
    reps = pd.concat([p.replications for p in parts], ignore_index=True)
    result = SimulationResult(
        replications=reps,
        summary=summarize(reps, scenario.target_gmv, requests[0][0].inner),
        timeseries=pd.concat([p.timeseries for p in parts], ignore_index=True),
        events=None,
        manifest=dict(
            manifests[0],
            **_priors_of(manifests),
            strategies=names,
            scenario_files=[sc.name for sc, _, _ in runs],
            run_seconds=round(sum(m["run_seconds"] for m in manifests), 3),
            compile_seconds=round(sum(m["compile_seconds"] for m in manifests), 3),
            resumed_replications=sum(m["resumed_replications"] for m in manifests),
            awareness={
                rename[name]: phase
                for m, (_, _, rename) in zip(manifests, runs, strict=True)
                for name, phase in m["awareness"].items()
            },
            viewers_simulated=float(reps["viewers"].sum()),
            budgets={
                rename[n]: v
                for m, (_, _, rename) in zip(manifests, runs, strict=True)
                for n, v in m["budgets"].items()
            },
            fixed_costs={
                rename[n]: v
                for m, (_, _, rename) in zip(manifests, runs, strict=True)
                for n, v in m["fixed_costs"].items()
            },
        ),
        scenario=parts[0].scenario,
    )
    budgets = {rename[s]: budget(sc, s) for sc, chosen, rename in runs for s in chosen}
    return Comparison(
        result=result,
        pairs=pair_table(result.campaign, names, seed),
        strategies=strategy_table(result, names, budgets, scenario.target_gmv),
        breakeven=breakeven_table(
            result.campaign,
            names,
            [p.name for p in scenario.uncertainty if p.scope == "campaign"],
            seed,
            int(result.manifest.get("inner_replications", 1)),
        ),
        budgets=budgets,
    )


def pair_table(campaign: pd.DataFrame, names: list[str], seed: int) -> pd.DataFrame:
    """Every pair (first, second) in the given order, for each paired metric."""
    by = {
        name: frame.sort_values("replication").set_index("replication")
        for name, frame in campaign.groupby("strategy", sort=False)
    }
    rows = []
    for first, second in combinations(names, 2):
        a, b = by[first], by[second]
        common = a.index.intersection(b.index)
        for metric in PAIR_METRICS:
            rows.append(
                {
                    "first": first,
                    "second": second,
                    "metric": metric,
                    **paired(
                        a.loc[common, metric].to_numpy(dtype=float),
                        b.loc[common, metric].to_numpy(dtype=float),
                        seed,
                    ),
                }
            )
    return pd.DataFrame(rows)


def strategy_table(
    result: SimulationResult,
    names: list[str],
    budgets: dict[str, float],
    target: float | None,
) -> pd.DataFrame:
    """Per strategy: budget, net GMV (median with CI, mean, the worst 5% of nights'
    mean), orders, ROI (and P(ROI < 0)), P(target), and against the first strategy
    the chances of beating it (`beats_first`)."""
    campaign = result.campaign.sort_values("replication", kind="stable")
    first = campaign[campaign["strategy"] == names[0]]
    rows = []
    for name in names:
        frame = campaign[campaign["strategy"] == name]
        gmv = frame["net_gmv"].to_numpy(dtype=float)
        low, high = median_ci(gmv)
        roi = describe(frame["roi"].to_numpy(dtype=float))
        row: dict[str, Any] = {
            "strategy": name,
            "budget": budgets[name],
            "median_net_gmv": float(np.median(gmv)),
            "median_ci_low": low,
            "median_ci_high": high,
            "mean_net_gmv": float(gmv.mean()),
            "p5_net_gmv": float(np.percentile(gmv, 5)),
            "p95_net_gmv": float(np.percentile(gmv, 95)),
            "mean_orders": float(frame["orders"].mean()),
            "mean_viewers": float(frame["unique_viewers"].mean()),
            "conversion": float(frame["conversion_rate"].mean()),
            "mean_roi": roi["mean"],
            "p5_roi": roi["p5"],
            "mean_cost": float(frame["cost"].mean()),
            "cvar5_net_gmv": expected_shortfall(gmv, 0.05),
            "cvar5_roi": expected_shortfall(frame["roi"], 0.05),
            "p_roi_negative": float((frame["roi"].to_numpy(dtype=float) < 0).mean()),
        }
        if target is not None:
            row["p_net_gmv_ge_target"] = float((gmv >= target).mean())
        inner = int(result.manifest.get("inner_replications", 1))
        priors = bool(result.manifest.get("priors"))
        row |= beats_first(frame, first, inner if priors else 1)
        rows.append(row)
    return pd.DataFrame(rows)


def beats_first(
    frame: pd.DataFrame, first: pd.DataFrame, inner: int
) -> dict[str, float]:
    """The chances that a strategy beats the first one on net GMV, paired by
    replication (both sorted by it): on a night (`p_beats_first`, ties half, with
    a Clopper-Pearson 95% CI), and with inner replications (`inner` >= 2) given the
    parameters: the share of parameter draws in which its mean net GMV over the
    draw's replications is higher (`p_better_given_parameters`; NaN without priors:
    the caller passes `inner` 1 then); and the share of ties (`p_ties_first`)."""
    a = frame["net_gmv"].to_numpy(dtype=float)
    b = first["net_gmv"].to_numpy(dtype=float)
    night, low, high = share_above(a, b)
    out = {
        "p_beats_first": night,
        "p_beats_first_ci_low": low,
        "p_beats_first_ci_high": high,
        "p_ties_first": float((a == b).mean()) if len(a) == len(b) else math.nan,
    }
    draws = len(a) // inner if inner >= 2 and len(a) == len(b) else 0
    given = math.nan
    if draws:
        mean_a = a[: draws * inner].reshape(draws, inner).mean(axis=1)
        mean_b = b[: draws * inner].reshape(draws, inner).mean(axis=1)
        given = share_above(mean_a, mean_b)[0]
    return out | {"p_better_given_parameters": given}


def breakeven_table(
    campaign: pd.DataFrame,
    names: list[str],
    priors: list[str],
    seed: int = 0,
    inner: int = 1,
) -> pd.DataFrame:
    """Per strategy after the first and per campaign-scope prior (one draw shared
    by both), on the replications both ran: how much of the variance of the paired
    difference in net GMV (strategy minus the first) a line in the prior's draws
    explains, and where that line crosses zero (`livesim.stats.break_even`, whole
    parameter draws resampled with `inner` replications each); `wins` says on
    which side of the crossing the strategy earns more on average, `ahead` whether
    its mean difference is positive. Rows by strategy, the strongest prior first."""
    by = {
        name: frame.set_index("replication")
        for name, frame in campaign.groupby("strategy", sort=False)
    }
    first = by[names[0]]
    rows: list[dict[str, Any]] = []
    for name in names[1:]:
        frame = by[name]
        common = frame.index.intersection(first.index).sort_values()
        d = frame.loc[common, "net_gmv"].to_numpy(dtype=float) - first.loc[
            common, "net_gmv"
        ].to_numpy(dtype=float)
        found = []
        for prior in priors:
            column = f"param.{prior}"
            if column not in frame or column not in first:
                continue
            # the same draw in both; a prior that reaches one of them only is
            # recorded there
            x = (
                frame.loc[common, column]
                .fillna(first.loc[common, column])
                .to_numpy(dtype=float)
            )
            share = explained_share(d, x)
            if not math.isfinite(share):
                continue
            value, low, high, slope = break_even(d, x, seed, inner)
            found.append(
                {
                    "strategy": name,
                    "against": names[0],
                    "parameter": prior,
                    "explained": share,
                    "breakeven": value,
                    "ci_low": low,
                    "ci_high": high,
                    "wins": "above" if slope > 0 else "below",
                    "ahead": bool(d.mean() > 0),
                    "draws_low": float(np.nanmin(x)),
                    "draws_high": float(np.nanmax(x)),
                }
            )
        rows += sorted(found, key=lambda r: -float(r["explained"]))
    return pd.DataFrame(rows, columns=BREAKEVEN_COLUMNS)
