"""Budget optimization: the best way to spend a budget on hosts (`livesim optimize`).

An optimization file (TOML) names a base scenario (products, platform, costs), a
budget, the host types the budget can buy (`[[options]]`: a host kind, its fee,
gift and ad spend per stream, the counts allowed) and, optionally, a flash-sale
template whose depth is a decision too. A **candidate** is one count per option
(at least one host in all; cost within `[min_spend, budget]`; at most `max_hosts`
hosts) and one depth; every bought host streams once as the `[stream]` template
says. Each candidate is a full scenario validated like any other.

The search:

* **Common random numbers.** Every candidate runs the same replication numbers
  with the same seed and on one engine (chosen from the largest candidate), so
  candidates are compared on paired replications: host k of an option keeps its
  stream id (``kos03_live``) and, in the agent engine, its random numbers in every
  candidate that buys it.
* **Screening.** `search = "exhaustive"` evaluates every candidate with
  `replications`. `search = "racing"` runs successive halving: all candidates with
  `replications`, then the best `racing.keep` share get more replications (x
  `racing.growth` in all, up to `racing.max_replications`), and so on until the
  next cut would leave no more than `finalists`. Every survivor of a round has the
  same replication numbers, so each ranking is paired.
* **Final re-evaluation.** The top `finalists` of the screening run again with
  `final_replications` on a fresh seed (`final_seed`, default `seed + 1`: new random
  streams) and the winner is the best on those. The screening maximum is
  optimistically biased (the best of many noisy estimates is, on average, above its
  true value: the winner's curse), so the reported objective and its 95% CI come
  from the fresh replications only, with the paired difference of each finalist to
  the winner (`compare.paired`, BCa bootstrap).

Objectives (per candidate, over its replications of the campaign's net GMV and
ROI): `mean_net_gmv` (t interval, `results.describe`), `mean_roi` (t interval),
`p_target` = P(net GMV >= target) (exact Clopper-Pearson interval) and `quantile`,
the `quantile` quantile of net GMV for risk-averse users (distribution-free
interval from order statistics, `scipy.stats.quantile_test`). Ties are broken by
mean net GMV, then by the lower cost, then by the candidate's number.

Every evaluation is a job of `livesim.backends` (keys ``cand-00012-r00000`` and
``final-00012-r00000``), written to ``out/points/`` as it finishes, so `resume`
continues a killed run and the Dask backend works unchanged.
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError
from scipy import stats

from livesim import __version__
from livesim.archetypes import HostKind
from livesim.backends import (
    DEFAULT_CHUNK,
    Backend,
    Job,
    LocalBackend,
    chunks,
    run_jobs,
    scenario_jobs,
)
from livesim.errors import ConfigError
from livesim.output import write_text_atomic
from livesim.scenario import (
    MAX_CAMPAIGN_MINUTES,
    MAX_STREAM_MINUTES,
    MAX_STREAMS,
    Host,
    Ident,
    NonNeg,
    Positive,
    Scenario,
    Strict,
    format_validation_error,
    load_scenario,
    scenario_from_dict,
)

OBJECTIVES = ("mean_net_gmv", "mean_roi", "p_target", "quantile")
#: Campaign metrics kept per replication (the objectives and the tables need these).
COLUMNS = ("net_gmv", "gross_gmv", "orders", "unique_viewers", "cost", "roi")
#: Candidates (count vectors x depths) past this are refused.
MAX_CANDIDATES = 5000
#: Allocations the enumeration may visit before it gives up (huge count ranges).
MAX_VISITS = 2_000_000
MAX_OPTIONS = 10
MAX_FINALISTS = 20
#: Host fields an option sets itself (the budget counts them) or the optimizer sets.
OWN_FIELDS = ("id", "kind", "fee", "gift_value")
CONFIDENCE = 0.95
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
BOOTSTRAP_RESAMPLES = 2000

Count = Annotated[int, Field(ge=0, le=MAX_STREAMS)]
Depth = Annotated[float, Field(ge=0.0, le=0.95)]
StreamStart = Annotated[int, Field(ge=0, le=MAX_CAMPAIGN_MINUTES - 1)]
StreamMinutes = Annotated[int, Field(gt=0, le=MAX_STREAM_MINUTES)]
OptionName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$")]


# ------------------------------------------------------------------------ the config


class StreamTemplate(Strict):
    """How every bought host streams once (minutes, as a scenario's [[streams]])."""

    start: StreamStart = 0
    duration: StreamMinutes
    products: Annotated[list[Ident], Field(min_length=1)]
    segment_minutes: Annotated[int, Field(gt=0)] | None = None


class StreamChanges(Strict):
    """An option's changes to the stream template (any of its keys)."""

    start: StreamStart | None = None
    duration: StreamMinutes | None = None
    products: Annotated[list[Ident], Field(min_length=1)] | None = None
    segment_minutes: Annotated[int, Field(gt=0)] | None = None


class PromotionTemplate(Strict):
    """A flash sale in every promoted stream; its depth (discount) is a decision."""

    start: Annotated[int, Field(ge=0)]
    duration: Annotated[int, Field(gt=0)]
    urgency: NonNeg = 0.0
    products: list[Ident] = []
    depths: Annotated[list[Depth], Field(min_length=1, max_length=20)]


class HostOption(Strict):
    """A host type the budget can buy, and how many of it."""

    name: OptionName
    kind: HostKind
    fee: NonNeg
    gift_value: NonNeg = 0.0
    ad_spend: NonNeg = 0.0
    min_count: Count = 0
    max_count: Count | None = None
    step: Annotated[int, Field(ge=1, le=MAX_STREAMS)] = 1
    promote: bool = True
    host: dict[str, Any] = {}
    stream: StreamChanges = StreamChanges()

    @property
    def unit_cost(self) -> float:
        """Up-front RMB per host bought: fee + gifts + ad spend of its one stream."""
        return self.fee + self.gift_value + self.ad_spend


class Racing(Strict):
    """Successive halving: the share kept per round and how replications grow."""

    keep: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.5
    growth: Annotated[float, Field(gt=1.0, le=10.0)] = 2.0
    max_replications: Annotated[int, Field(ge=2, le=100_000)] | None = None


class OptimizeConfig(Strict):
    """An optimization file (docs/model.md, "Budget optimization")."""

    scenario: Annotated[str, Field(min_length=1)]
    budget: Positive
    min_spend: NonNeg = 0.0
    max_hosts: Annotated[int, Field(ge=1, le=MAX_STREAMS)] | None = None
    objective: Literal["mean_net_gmv", "mean_roi", "p_target", "quantile"] = (
        "mean_net_gmv"
    )
    quantile: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.1
    target: Positive | None = None
    search: Literal["exhaustive", "racing"] = "exhaustive"
    racing: Racing = Racing()
    replications: Annotated[int, Field(ge=2, le=100_000)] = 40
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    finalists: Annotated[int, Field(ge=1, le=MAX_FINALISTS)] = 3
    final_replications: Annotated[int, Field(ge=2, le=100_000)] = 200
    final_seed: Annotated[int, Field(ge=0, lt=2**63)] | None = None
    engine: Literal["auto", "agent", "cohort"] = "auto"
    chunk: Annotated[int, Field(ge=1, le=10_000)] = DEFAULT_CHUNK
    awareness: Literal["event", "none"] = "event"
    stream: StreamTemplate
    promotion: PromotionTemplate | None = None
    options: Annotated[list[HostOption], Field(min_length=1, max_length=MAX_OPTIONS)]

    @property
    def fresh_seed(self) -> int:
        """The seed of the final re-evaluation."""
        return self.seed + 1 if self.final_seed is None else self.final_seed

    @property
    def host_limit(self) -> int:
        """At most this many hosts (streams) per candidate."""
        return self.max_hosts or MAX_STREAMS


@dataclass(frozen=True)
class Candidate:
    """One allocation: a count per option, a flash-sale depth, its scenario."""

    index: int
    counts: tuple[int, ...]
    depth: float
    cost: float
    scenario: Scenario

    @property
    def hosts(self) -> int:
        """Hosts (and streams) bought."""
        return sum(self.counts)


@dataclass
class OptimizePlan:
    """A checked optimization: its config, base scenario and every candidate."""

    config: OptimizeConfig
    scenario: Scenario
    candidates: list[Candidate]
    target: float | None
    digest: str

    @property
    def names(self) -> list[str]:
        """The options' names, in the config's order."""
        return [o.name for o in self.config.options]

    def describe(self, candidate: Candidate) -> str:
        """A candidate in words, e.g. ``8 kos + 4 koc, flash sale 20%``."""
        bought = [
            f"{n} {name}"
            for name, n in zip(self.names, candidate.counts, strict=True)
            if n
        ]
        text = " + ".join(bought)
        if self.config.promotion is None:
            return text
        if candidate.depth > 0:
            return text + f", flash sale {candidate.depth:.0%}"
        return text + ", no flash sale"


@dataclass
class OptimizeResult:
    """What `run_optimization` found and wrote."""

    plan: OptimizePlan
    candidates: pd.DataFrame
    finalists: pd.DataFrame
    winner: int
    engine: str
    rounds: list[tuple[int, int]]
    seconds: float
    out: Path
    files: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------- loading


def load_optimization(path: Path) -> OptimizePlan:
    """Read and check an optimization file; every problem is reported at once."""
    from livesim.sweep import read_config, scenario_path_for

    path = Path(path)
    config = read_config(path, OptimizeConfig, "optimization")
    return plan_optimization(
        config, load_scenario(scenario_path_for(path, config.scenario))
    )


def plan_optimization(config: OptimizeConfig, scenario: Scenario) -> OptimizePlan:
    """Every candidate of `config` on `scenario`, each validated as a scenario."""
    base = scenario.model_dump(exclude_none=True)
    problems = config_problems(config, scenario)
    if problems:
        raise ConfigError(problems)
    problems = [p for i in range(len(config.options)) for p in _probe(base, config, i)]
    if problems:
        raise ConfigError(problems)
    allocations = enumerate_allocations(config)
    candidates = _expand(config, allocations)
    if not candidates:
        raise ConfigError(
            f"budget: no allocation of at least one host costs between min_spend "
            f"{config.min_spend:,.0f} and budget {config.budget:,.0f} RMB with at "
            f"most {config.host_limit} hosts and the options' counts"
        )
    if len(candidates) > MAX_CANDIDATES:
        raise ConfigError(
            f"options: more than {MAX_CANDIDATES:,} candidates (allocations x "
            "depths), past the limit; use a larger step, lower max_count, fewer depths "
            "or a narrower [min_spend, budget]"
        )
    built = _build_all(base, config, candidates)
    target = config.target if config.target is not None else scenario.target_gmv
    digest = hashlib.sha256(
        (config.model_dump_json() + scenario.digest()).encode()
    ).hexdigest()
    return OptimizePlan(config, scenario, built, target, digest)


def config_problems(config: OptimizeConfig, scenario: Scenario) -> list[str]:
    """Cross-field rules of a config and its references into the scenario."""
    problems: list[str] = []
    if config.min_spend > config.budget:
        problems.append(
            f"min_spend: {config.min_spend:g} is above budget {config.budget:g}; no "
            "allocation can meet both"
        )
    if (
        config.objective == "p_target"
        and config.target is None
        and scenario.target_gmv is None
    ):
        problems.append(
            "target: objective 'p_target' needs a target (RMB) here or target_gmv "
            f"in scenario {scenario.name!r}"
        )
    if config.final_seed is not None and config.final_seed == config.seed:
        problems.append(
            f"final_seed: {config.final_seed} equals seed; the final re-evaluation "
            "needs fresh random numbers (another seed)"
        )
    products = [p.id for p in scenario.products]
    problems += _unknown_products("stream.products", config.stream.products, products)
    if config.promotion is not None:
        promo = config.promotion
        problems += _unknown_products("promotion.products", promo.products, products)
        if len(set(promo.depths)) != len(promo.depths):
            problems.append(
                f"promotion.depths: {promo.depths} lists a depth twice; each must "
                "be unique"
            )
    seen: set[str] = set()
    for i, option in enumerate(config.options):
        problems += _option_problems(config, option, f"options[{i}]", products, seen)
        seen.add(option.name)
    return problems


def _option_problems(
    config: OptimizeConfig,
    option: HostOption,
    where: str,
    products: list[str],
    seen: set[str],
) -> list[str]:
    problems: list[str] = []
    if option.name in seen:
        problems.append(
            f"{where}.name: {option.name!r} is used twice; names must be unique"
        )
    if option.max_count is not None and option.min_count > option.max_count:
        problems.append(
            f"{where}.min_count: {option.min_count} is above max_count "
            f"{option.max_count}"
        )
    if option.max_count is None and option.unit_cost == 0:
        problems.append(
            f"{where}.max_count: needed when the option costs nothing "
            "(fee + gift_value + ad_spend = 0)"
        )
    for key in OWN_FIELDS:
        if key in option.host:
            problems.append(
                f"{where}.host.{key}: set by the option itself "
                f"({'its name and kind' if key in ('id', 'kind') else f'{where}.{key}'}"
                "), not as a host override"
            )
    overrides = {k: v for k, v in option.host.items() if k not in OWN_FIELDS}
    try:
        Host.model_validate({"id": "probe", "kind": option.kind, **overrides})
    except ValidationError as exc:
        problems += [f"{where}.host.{format_validation_error(e)}" for e in exc.errors()]
    if option.stream.products is not None:
        problems += _unknown_products(
            f"{where}.stream.products", option.stream.products, products
        )
    return problems


def _unknown_products(where: str, listed: list[str], known: list[str]) -> list[str]:
    return [
        f"{where}: {p!r} is not a product of the scenario (known: {known})"
        for p in listed
        if p not in known
    ]


def _probe(base: dict[str, Any], config: OptimizeConfig, i: int) -> list[str]:
    """Problems of option i alone: one host of it, at the deepest flash sale."""
    counts = tuple(1 if j == i else 0 for j in range(len(config.options)))
    depth = max(config.promotion.depths) if config.promotion else 0.0
    option = config.options[i]
    try:
        candidate_scenario(base, config, counts, depth)
    except ConfigError as exc:
        return [f"options[{i}] ({option.name}), as {e}" for e in exc.errors]
    return []


# ------------------------------------------------------------------- candidates


def count_values(config: OptimizeConfig, option: HostOption) -> range:
    """The counts an option may take: min_count, min_count + step, ... <= max."""
    top = option.max_count
    if top is None:
        top = min(config.host_limit, math.floor(config.budget / option.unit_cost))
    return range(option.min_count, top + 1, option.step)


def enumerate_allocations(config: OptimizeConfig) -> list[tuple[int, ...]]:
    """Every count vector with at least one host, cost within [min_spend, budget]
    and at most max_hosts hosts, in lexicographic order of the options' counts.

    A depth-first walk that stops a branch once it is over the budget or the host
    limit (unit costs are never negative, so adding hosts never lowers the cost).
    """
    options = config.options
    ranges = [count_values(config, o) for o in options]
    units = [o.unit_cost for o in options]
    tolerance = 1e-9 * max(config.budget, 1.0)
    found: list[tuple[int, ...]] = []
    visits = 0

    def walk(i: int, prefix: tuple[int, ...], cost: float, hosts: int) -> None:
        nonlocal visits
        visits += 1
        if visits > MAX_VISITS or len(found) > MAX_CANDIDATES:
            return
        if i == len(options):
            if hosts >= 1 and cost >= config.min_spend - tolerance:
                found.append(prefix)
            return
        for n in ranges[i]:
            spent, bought = cost + n * units[i], hosts + n
            if spent > config.budget + tolerance or bought > config.host_limit:
                break
            walk(i + 1, (*prefix, n), spent, bought)

    walk(0, (), 0.0, 0)
    if visits > MAX_VISITS:
        raise ConfigError(
            f"options: the count ranges span more than {MAX_VISITS:,} allocations "
            "to check; use larger steps or lower max_count"
        )
    return found


def _expand(
    config: OptimizeConfig, allocations: list[tuple[int, ...]]
) -> list[tuple[tuple[int, ...], float, float]]:
    """(counts, depth, cost) of every candidate: each allocation x each depth.

    An allocation whose streams carry no flash sale (every bought option has
    `promote = false`) appears once, with depth 0.
    """
    depths = config.promotion.depths if config.promotion else [0.0]
    out = []
    for counts in allocations:
        cost = sum(n * o.unit_cost for n, o in zip(counts, config.options, strict=True))
        promoted = any(
            n and o.promote for n, o in zip(counts, config.options, strict=True)
        )
        for depth in depths if promoted else [0.0]:
            out.append((counts, float(depth), float(cost)))
        if len(out) > MAX_CANDIDATES:
            break
    return out


def _build_all(
    base: dict[str, Any],
    config: OptimizeConfig,
    specs: list[tuple[tuple[int, ...], float, float]],
) -> list[Candidate]:
    """Each candidate's scenario; refuses the plan if any is invalid."""
    built: list[Candidate] = []
    failed: list[tuple[int, ConfigError]] = []
    for index, (counts, depth, cost) in enumerate(specs):
        try:
            scenario = candidate_scenario(base, config, counts, depth)
        except ConfigError as problem:
            failed.append((index, problem))
            continue
        built.append(Candidate(index, counts, depth, cost, scenario))
    if failed:
        index, first = failed[0]
        counts, depth, _ = specs[index]
        label = ", ".join(
            f"{o.name}={n}" for o, n in zip(config.options, counts, strict=True)
        )
        lines = [
            f"candidate {index} ({label}, depth {depth:g}): {e}" for e in first.errors
        ]
        if len(failed) > 1:
            lines.append(
                f"options: {len(failed)} of {len(specs)} candidates are invalid "
                "(the first is shown above)"
            )
        raise ConfigError(lines)
    return built


def candidate_scenario(
    base: dict[str, Any],
    config: OptimizeConfig,
    counts: tuple[int, ...],
    depth: float,
) -> Scenario:
    """The scenario of one candidate: the base's products, platform and costs; its
    hosts and streams replaced by the bought ones; no strategies, no calibration.

    The base's awareness phase, if any, sends its audience to the candidate's
    streams (`awareness = "event"`: it belongs to the event; the host-selection
    funnel and stream list describe the base's hosts and are dropped) or is
    dropped (`"none"`)."""
    data = {
        k: copy.deepcopy(v)
        for k, v in base.items()
        if k not in ("hosts", "streams", "strategies", "calibration", "awareness")
    }
    phase = base.get("awareness")
    if phase is not None and config.awareness == "event":
        funnel = ("participants", "finalists", "selected", "streams")
        data["awareness"] = {k: v for k, v in phase.items() if k not in funnel}
    data["hosts"], data["streams"] = [], []
    for option, n in zip(config.options, counts, strict=True):
        for k in range(1, n + 1):
            host_id = f"{option.name}{k:02d}"
            data["hosts"].append(_host(option, host_id))
            data["streams"].append(_stream(config, option, host_id, depth))
    return scenario_from_dict(data)


def _host(option: HostOption, host_id: str) -> dict[str, Any]:
    return {
        **copy.deepcopy(option.host),
        "id": host_id,
        "kind": option.kind,
        "fee": option.fee,
        "gift_value": option.gift_value,
    }


def _stream(
    config: OptimizeConfig, option: HostOption, host_id: str, depth: float
) -> dict[str, Any]:
    stream: dict[str, Any] = config.stream.model_dump(exclude_none=True)
    stream.update(option.stream.model_dump(exclude_none=True))
    stream.update(id=f"{host_id}_live", host=host_id, ad_spend=option.ad_spend)
    promo = config.promotion
    if promo is not None and option.promote and depth > 0:
        stream["promotions"] = [
            {
                "start": promo.start,
                "duration": promo.duration,
                "discount": depth,
                "urgency": promo.urgency,
                "products": list(promo.products),
            }
        ]
    return stream


# --------------------------------------------------------------------- objectives


def objective_estimate(
    rows: pd.DataFrame, config: OptimizeConfig, target: float | None
) -> float:
    """The objective over a candidate's replications (NaN if undefined)."""
    return objective_interval(rows, config, target, interval=False)[0]


def objective_interval(
    rows: pd.DataFrame,
    config: OptimizeConfig,
    target: float | None,
    interval: bool = True,
) -> tuple[float, float, float]:
    """(estimate, 95% CI low, high) of the objective over a candidate's
    replications: t interval for means, exact binomial for P(target), order
    statistics for a quantile. The CI is NaN when `interval` is false."""
    from livesim.results import describe

    gmv = rows["net_gmv"].to_numpy(dtype=float)
    nan = math.nan
    if config.objective in ("mean_net_gmv", "mean_roi"):
        column = "net_gmv" if config.objective == "mean_net_gmv" else "roi"
        values = rows[column].to_numpy(dtype=float)
        if not interval:
            finite = values[np.isfinite(values)]
            return (float(finite.mean()) if len(finite) else nan, nan, nan)
        d = describe(values)
        return d["mean"], d["ci_low"], d["ci_high"]
    if config.objective == "p_target":
        assert target is not None
        hits, n = int((gmv >= target).sum()), len(gmv)
        if not interval:
            return hits / n, nan, nan
        ci = stats.binomtest(hits, n).proportion_ci(CONFIDENCE, method="exact")
        return hits / n, float(ci.low), float(ci.high)
    estimate = float(np.quantile(gmv, config.quantile))
    if not interval:
        return estimate, nan, nan
    return (estimate, *quantile_ci(gmv, config.quantile))


def quantile_ci(values: np.ndarray, p: float) -> tuple[float, float]:
    """Distribution-free 95% CI of the p-quantile (order statistics; NaN bounds
    where too few replications reach that confidence)."""
    x = np.asarray(values, dtype=float)
    estimate = float(np.quantile(x, p))
    ci = stats.quantile_test(x, q=estimate, p=p).confidence_interval(CONFIDENCE)
    return float(ci.low), float(ci.high)


def objective_difference(
    a: pd.DataFrame, b: pd.DataFrame, config: OptimizeConfig, target: float | None
) -> dict[str, float]:
    """Paired difference of the objective, a minus b, with a 95% CI.

    Means and P(target) (a mean of hits) go through `compare.paired` (BCa
    bootstrap of the paired differences); a quantile's difference through a
    paired percentile bootstrap of the difference of the two quantiles.
    """
    from livesim.compare import paired

    x, y = a.sort_values("replication"), b.sort_values("replication")
    if config.objective == "quantile":
        return _quantile_difference(
            x["net_gmv"].to_numpy(dtype=float),
            y["net_gmv"].to_numpy(dtype=float),
            config,
        )
    if config.objective == "p_target":
        assert target is not None
        first = (x["net_gmv"].to_numpy(dtype=float) >= target).astype(float)
        second = (y["net_gmv"].to_numpy(dtype=float) >= target).astype(float)
    else:
        column = "net_gmv" if config.objective == "mean_net_gmv" else "roi"
        first = x[column].to_numpy(dtype=float)
        second = y[column].to_numpy(dtype=float)
    out = paired(first, second, config.seed)
    return {
        "mean_diff": out["mean_diff"],
        "ci_low": out["ci_low"],
        "ci_high": out["ci_high"],
    }


def _quantile_difference(
    a: np.ndarray, b: np.ndarray, config: OptimizeConfig
) -> dict[str, float]:
    q = config.quantile
    diff = float(np.quantile(a, q) - np.quantile(b, q))
    if np.array_equal(a, b):
        return {"mean_diff": diff, "ci_low": diff, "ci_high": diff}

    def statistic(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.quantile(x, q, axis=axis) - np.quantile(y, q, axis=axis)

    ci = stats.bootstrap(
        (a, b),
        statistic,
        paired=True,
        confidence_level=CONFIDENCE,
        n_resamples=BOOTSTRAP_RESAMPLES,
        method="percentile",
        rng=np.random.default_rng(config.seed),
    ).confidence_interval
    return {"mean_diff": diff, "ci_low": float(ci.low), "ci_high": float(ci.high)}


def rank(
    ids: list[int],
    rows: dict[int, pd.DataFrame],
    plan: OptimizePlan,
) -> list[int]:
    """Candidates best first: objective, then mean net GMV, lower cost, number."""

    def key(i: int) -> tuple[float, float, float, int]:
        value = objective_estimate(rows[i], plan.config, plan.target)
        mean = float(rows[i]["net_gmv"].mean())
        return (
            -value if math.isfinite(value) else math.inf,
            -mean,
            plan.candidates[i].cost,
            i,
        )

    return sorted(ids, key=key)


# ------------------------------------------------------------------------ running


def schedule(config: OptimizeConfig, candidates: int) -> list[tuple[int, int]]:
    """(candidates evaluated, replications each so far) per screening round."""
    rounds = [(candidates, config.replications)]
    if config.search == "exhaustive":
        return rounds
    cap = config.racing.max_replications or 8 * config.replications
    size, reps = rounds[0]
    while True:
        keep = max(config.finalists, math.ceil(config.racing.keep * size))
        more = min(cap, math.ceil(reps * config.racing.growth))
        if keep <= config.finalists or keep >= size or more <= reps:
            return rounds
        size, reps = keep, more
        rounds.append((size, reps))


def choose_plan_engine(plan: OptimizePlan) -> str:
    """One concrete engine for every candidate, from the largest (CRN needs one)."""
    from livesim.engines import choose_engine
    from livesim.runner import heaviest_strategy

    heaviest = max(heaviest_strategy(c.scenario) for c in plan.candidates)
    return choose_engine(plan.config.engine, heaviest, False)


def expected_total_work(plan: OptimizePlan, rounds: list[tuple[int, int]]) -> float:
    """Expected viewer-visits of the whole search, an upper estimate for racing
    (later rounds are charged with the heaviest candidates)."""
    from livesim.runner import expected_work

    loads = sorted((expected_work(c.scenario) for c in plan.candidates), reverse=True)
    total, done = 0.0, 0
    for size, reps in rounds:
        total += sum(loads[:size]) * (reps - done)
        done = reps
    finalists = min(plan.config.finalists, len(loads))
    return total + sum(loads[:finalists]) * plan.config.final_replications


def preflight(
    plan: OptimizePlan, engine: str, rounds: list[tuple[int, int]], force: bool
) -> None:
    """Refuse a search past the work limit (unless `force`) or any candidate that
    `livesim run` would refuse at the most replications it may get."""
    from livesim.runner import MAX_WORK, check_request

    config = plan.config
    most = max(rounds[-1][1], config.final_replications)
    problems: list[str] = []
    for c in plan.candidates:
        try:
            check_request(c.scenario, most, 1, engine, False, True, config.seed)
        except ConfigError as exc:
            problems += [f"candidate {c.index}: {e}" for e in exc.errors]
            break
    work = expected_total_work(plan, rounds)
    limit = MAX_WORK[engine]
    if not force and work > limit:
        problems.append(
            f"replications: the search needs about {work:,.3g} viewer-visits "
            f"({len(plan.candidates)} candidates, rounds {rounds}, "
            f"{config.finalists} finalists x {config.final_replications}), past the "
            f"limit of {limit:,.3g} for the {engine} engine; use fewer candidates, "
            'fewer replications, search = "racing", or --force'
        )
    if problems:
        raise ConfigError(problems)


def _jobs(
    key: str,
    scenario: Scenario,
    first: int,
    last: int,
    seed: int,
    engine: str,
    chunk: int,
) -> list[Job]:
    """Jobs of replications first..last-1, keyed by their first replication."""
    template = scenario_jobs(key, scenario, last, seed, engine, COLUMNS, last, None)
    return [
        replace(
            template[0],
            key=f"{key}-r{reps[0] + first:05d}",
            replications=tuple(r + first for r in reps),
        )
        for reps in chunks(last - first, chunk)
    ]


def screen(
    plan: OptimizePlan,
    engine: str,
    rounds: list[tuple[int, int]],
    folder: Path,
    backend: Backend,
    progress: bool,
) -> tuple[dict[int, pd.DataFrame], dict[int, int], list[int]]:
    """Run the screening rounds: (rows per candidate, last round per candidate,
    the candidates of the last round best first)."""
    config = plan.config
    rows: dict[int, pd.DataFrame] = {}
    reached: dict[int, int] = {}
    alive = list(range(len(plan.candidates)))
    done = 0
    for k, (size, reps) in enumerate(rounds):
        alive = alive[:size]
        jobs: dict[int, list[Job]] = {
            i: _jobs(
                f"cand-{i:05d}",
                plan.candidates[i].scenario,
                done,
                reps,
                config.seed,
                engine,
                config.chunk,
            )
            for i in alive
        }
        flat = [job for i in alive for job in jobs[i]]
        label = "screening" if len(rounds) == 1 else f"round {k + 1}/{len(rounds)}"
        got = run_jobs(flat, folder, backend, progress, label)
        for i in alive:
            parts = [rows[i]] if i in rows else []
            rows[i] = pd.concat(
                parts + [got[job.key] for job in jobs[i]], ignore_index=True
            )
            reached[i] = k + 1
        done = reps
        alive = rank(alive, rows, plan)
    return rows, reached, alive


def run_optimization(
    plan: OptimizePlan,
    out: Path,
    backend: Backend | None = None,
    resume: bool = False,
    progress: bool = False,
    force: bool = False,
) -> OptimizeResult:
    """Screen every candidate, re-evaluate the finalists on a fresh seed, and write
    experiment.json, points/, candidates.csv, finalists.csv, optimize.md and
    optimize.png into `out`."""
    from livesim.sweep import start_experiment

    started = time.perf_counter()
    config = plan.config
    engine = choose_plan_engine(plan)
    rounds = schedule(config, len(plan.candidates))
    preflight(plan, engine, rounds, force)
    manifest = _manifest(plan, engine, rounds)
    folder = start_experiment(out, plan.digest, resume, manifest)
    backend = backend or LocalBackend()
    rows, reached, ranked = screen(plan, engine, rounds, folder, backend, progress)
    chosen = ranked[: config.finalists]
    final_jobs = {
        i: scenario_jobs(
            f"final-{i:05d}",
            plan.candidates[i].scenario,
            config.final_replications,
            config.fresh_seed,
            engine,
            COLUMNS,
            config.chunk,
            None,
        )
        for i in chosen
    }
    flat = [job for i in chosen for job in final_jobs[i]]
    got = run_jobs(flat, folder, backend, progress, "final")
    fresh = {
        i: pd.concat([got[j.key] for j in final_jobs[i]], ignore_index=True)
        for i in chosen
    }
    order = rank(chosen, fresh, plan)
    candidates = candidate_table(plan, rows, reached, chosen)
    finalists = finalist_table(plan, rows, fresh, order)
    result = OptimizeResult(
        plan=plan,
        candidates=candidates,
        finalists=finalists,
        winner=order[0],
        engine=engine,
        rounds=rounds,
        seconds=0.0,
        out=out,
    )
    result.seconds = round(time.perf_counter() - started, 3)
    write_results(result)
    return result


def _manifest(
    plan: OptimizePlan, engine: str, rounds: list[tuple[int, int]]
) -> dict[str, Any]:
    config = plan.config
    return {
        "kind": "optimize",
        "digest": plan.digest,
        "scenario": plan.scenario.name,
        "scenario_sha256": plan.scenario.digest(),
        "candidates": len(plan.candidates),
        "rounds": [{"candidates": s, "replications": r} for s, r in rounds],
        "seed": config.seed,
        "final_seed": config.fresh_seed,
        "engine": engine,
        "engine_requested": config.engine,
        "target": plan.target,
        "livesim_version": __version__,
        "config": config.model_dump(),
    }


# ------------------------------------------------------------------------- tables


def _allocation(plan: OptimizePlan, i: int) -> dict[str, Any]:
    c = plan.candidates[i]
    return {
        "candidate": i,
        **dict(zip(plan.names, c.counts, strict=True)),
        "depth": c.depth,
        "hosts": c.hosts,
        "cost": c.cost,
    }


def _gmv_stats(frame: pd.DataFrame, target: float | None) -> dict[str, float]:
    gmv = frame["net_gmv"].to_numpy(dtype=float)
    roi = frame["roi"].to_numpy(dtype=float)
    roi = roi[np.isfinite(roi)]
    p5, p50, p95 = np.percentile(gmv, [5, 50, 95])
    out = {
        "mean_net_gmv": float(gmv.mean()),
        "p5_net_gmv": float(p5),
        "p50_net_gmv": float(p50),
        "p95_net_gmv": float(p95),
        "mean_roi": float(roi.mean()) if len(roi) else math.nan,
    }
    if target is not None:
        out["p_target"] = float((gmv >= target).mean())
    return out


def candidate_table(
    plan: OptimizePlan,
    rows: dict[int, pd.DataFrame],
    reached: dict[int, int],
    chosen: list[int],
) -> pd.DataFrame:
    """One row per candidate: allocation, cost, screening objective, net GMV and
    ROI over its screening replications; `screening_rank` orders candidates that
    reached later racing rounds first."""
    records = []
    for i in range(len(plan.candidates)):
        frame = rows[i]
        records.append(
            {
                **_allocation(plan, i),
                "replications": len(frame),
                "round": reached[i],
                "objective": objective_estimate(frame, plan.config, plan.target),
                **_gmv_stats(frame, plan.target),
                "finalist": i in chosen,
            }
        )
    table = pd.DataFrame(records)
    by_round: list[int] = []
    for k in sorted(set(reached.values()), reverse=True):
        ids = [i for i in range(len(plan.candidates)) if reached[i] == k]
        by_round += rank(ids, rows, plan)
    table["screening_rank"] = 0
    table.loc[by_round, "screening_rank"] = np.arange(1, len(by_round) + 1)
    return table


def finalist_table(
    plan: OptimizePlan,
    screening: dict[int, pd.DataFrame],
    fresh: dict[int, pd.DataFrame],
    order: list[int],
) -> pd.DataFrame:
    """One row per finalist, best first on the fresh seed: the objective with its
    95% CI, net GMV, and the paired difference winner minus finalist."""
    from livesim.compare import paired

    config, target = plan.config, plan.target
    winner = fresh[order[0]].sort_values("replication")
    records = []
    for place, i in enumerate(order, start=1):
        frame = fresh[i].sort_values("replication")
        value, low, high = objective_interval(frame, config, target)
        diff = objective_difference(winner, frame, config, target)
        gmv = paired(
            winner["net_gmv"].to_numpy(dtype=float),
            frame["net_gmv"].to_numpy(dtype=float),
            config.seed,
        )
        records.append(
            {
                "final_rank": place,
                **_allocation(plan, i),
                "screening_objective": objective_estimate(screening[i], config, target),
                "replications": len(frame),
                "objective": value,
                "objective_ci_low": low,
                "objective_ci_high": high,
                **_gmv_stats(frame, target),
                "diff_objective": diff["mean_diff"],
                "diff_objective_ci_low": diff["ci_low"],
                "diff_objective_ci_high": diff["ci_high"],
                "diff_net_gmv": gmv["mean_diff"],
                "diff_net_gmv_ci_low": gmv["ci_low"],
                "diff_net_gmv_ci_high": gmv["ci_high"],
                "p_winner_higher": gmv.get("p_first_higher", math.nan),
                "winner": place == 1,
            }
        )
    return pd.DataFrame(records)


# ------------------------------------------------------------------------ outputs


def objective_label(config: OptimizeConfig, target: float | None) -> str:
    """The objective in words, for tables, reports and figures."""
    if config.objective == "mean_net_gmv":
        return "mean net GMV (RMB)"
    if config.objective == "mean_roi":
        return "mean ROI"
    if config.objective == "p_target":
        return f"P(net GMV >= {target:,.0f} RMB)"
    return f"{config.quantile:g} quantile of net GMV (RMB)"


def format_objective(config: OptimizeConfig, value: float) -> str:
    """A value of the objective in its unit."""
    if not math.isfinite(value):
        return "n/a"
    if config.objective == "mean_roi":
        return f"{value:.3f}"
    if config.objective == "p_target":
        return f"{value:.1%}"
    return f"{value:,.0f}"


def write_results(result: OptimizeResult) -> None:
    """candidates.csv, finalists.csv, optimize.md and optimize.png, each atomic."""
    from livesim.report.optimize_figure import optimize_figure

    out = result.out
    write_text_atomic(out / "candidates.csv", result.candidates.to_csv(index=False))
    write_text_atomic(out / "finalists.csv", result.finalists.to_csv(index=False))
    fd, tmp = tempfile.mkstemp(dir=out, prefix=".optimize.png.", suffix=".png")
    os.close(fd)
    try:
        optimize_figure(result, Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, out / "optimize.png")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    write_text_atomic(out / "optimize.md", report(result))
    result.files = [
        "experiment.json",
        "points/",
        "candidates.csv",
        "finalists.csv",
        "optimize.md",
        "optimize.png",
    ]


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
}


HEADING_FORMATS = {"cost (RMB)": ",.0f", "mean net GMV": ",.0f", "mean ROI": ".2f"}


def report(result: OptimizeResult) -> str:
    """optimize.md: the winner, the finalists, the search and its assumptions."""
    from livesim.report.markdown import table

    plan, config = result.plan, result.plan.config
    fin = result.finalists
    best = fin.iloc[0]
    winner = plan.candidates[result.winner]
    label = objective_label(config, plan.target)
    shown = fin[["final_rank", *plan.names, *list(REPORT_HEADINGS)[1:]]].copy()
    for column in OBJECTIVE_COLUMNS:
        shown[column] = shown[column].map(lambda v: format_objective(config, v))
    shown["depth"] = shown["depth"].map(lambda v: f"{v:.0%}")
    shown = shown.rename(columns=REPORT_HEADINGS)

    def f(key: str) -> str:
        return format_objective(config, float(best[key]))

    lines = [
        f"# Budget optimization: {plan.scenario.name}",
        "",
        f"**Winner: {plan.describe(winner)}** for {winner.cost:,.0f} RMB up front "
        f"(budget {config.budget:,.0f} RMB). Objective, {label}: {f('objective')} "
        f"(95% CI {f('objective_ci_low')} to {f('objective_ci_high')}) on "
        f"{config.final_replications} fresh replications (seed {config.fresh_seed}); "
        f"mean net GMV {float(best['mean_net_gmv']):,.0f} RMB, mean ROI "
        f"{float(best['mean_roi']):.2f}.",
        "",
        "## Finalists",
        "",
        f"Objective: {label}. *screening* is the value that chose the finalists; "
        "*fresh seed* and its 95% CI come from the fresh replications only; "
        "*winner minus* is the winner's objective minus the finalist's on the same "
        "fresh random numbers (paired), with its 95% bootstrap CI: a CI that "
        "includes 0 means the data cannot tell the two apart.",
        "",
        table(shown, HEADING_FORMATS),
        "",
        "![screening objective against cost](optimize.png)",
        "",
        "## How it was searched",
        "",
        _search_text(result),
        "",
        "## Assumptions",
        "",
        "- Cost is the up-front outlay: host fees, gifts and ad spend per stream "
        "(as `livesim compare`'s budget); commissions (a share of net GMV) and the "
        "scenario's fixed cost come on top and are in ROI only.",
        "- Every bought host streams once, as the config's stream template says; "
        "hosts take their kind's archetype defaults with the option's overrides.",
        f"- Products, platform and costs are those of scenario "
        f"`{plan.scenario.name}`; its own hosts, streams and strategies are not used.",
        "- The winner is chosen on fresh replications because the screening "
        "maximum is optimistically biased: among many noisy estimates the largest "
        "is, on average, above its true value (the winner's curse).",
        "",
    ]
    return "\n".join(lines)


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
    label = objective_label(config, plan.target)
    rounds = " -> ".join(f"{s} x {r}" for s, r in result.rounds)
    lines = [
        f"{plan.scenario.name}: {len(plan.candidates)} candidates, screening "
        f"{rounds} replications (seed {config.seed}), engine {result.engine}; "
        f"{len(result.finalists)} finalists x {config.final_replications} "
        f"replications on seed {config.fresh_seed}",
        f"objective: {label}",
    ]
    for row in result.finalists.to_dict(orient="records"):
        candidate = plan.candidates[int(row["candidate"])]

        def f(key: str, row: dict[Any, Any] = row) -> str:
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
        lines.append(text)
    return lines


__all__ = [
    "OBJECTIVES",
    "Candidate",
    "HostOption",
    "OptimizeConfig",
    "OptimizePlan",
    "OptimizeResult",
    "candidate_scenario",
    "enumerate_allocations",
    "load_optimization",
    "objective_interval",
    "plan_optimization",
    "run_optimization",
    "schedule",
    "summary_lines",
]
