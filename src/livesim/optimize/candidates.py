"""The candidates of an optimization: every allocation of the budget, as scenarios.

A **candidate** is one count per option (at least one host in all; cost within
`[min_spend, budget]`; at most `max_hosts` hosts) and one flash-sale depth; every
bought host streams once as the `[stream]` template says. `plan_optimization`
enumerates them (`enumerate_allocations`, a depth-first walk that prunes over the
budget), builds each one's scenario (`candidate_scenario`) and validates it like
any scenario file, before anything runs.
"""

from __future__ import annotations

import copy
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livesim.errors import ConfigError
from livesim.model.posterior import without_posterior_of
from livesim.optimize.config import HostOption, OptimizeConfig, config_problems
from livesim.paths import set_path
from livesim.scenario import Scenario, scenario_from_dict

#: Candidates (count vectors x depths) past this are refused.
MAX_CANDIDATES = 5000
#: Allocations the enumeration may visit before it gives up (huge count ranges).
MAX_VISITS = 2_000_000

#: (counts per option, depth, cost) of a candidate before its scenario is built.
Spec = tuple[tuple[int, ...], float, float]


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


# ----------------------------------------------------------------------- the plan


def load_optimization(
    path: Path,
    posterior: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> OptimizePlan:
    """Read and check an optimization file; every problem is reported at once
    (the priors a `posterior` file holds are drawn from it; `overrides` replace
    top-level keys, as the command line's -n and --seed)."""
    from livesim.bayes.posterior_file import load_with_posterior
    from livesim.sweep import read_config, scenario_path_for

    path = Path(path)
    config = read_config(path, OptimizeConfig, "optimization", overrides)
    scenario_path = scenario_path_for(path, config.scenario)
    return plan_optimization(config, load_with_posterior(scenario_path, posterior))


def plan_optimization(config: OptimizeConfig, scenario: Scenario) -> OptimizePlan:
    """Every candidate of `config` on `scenario`, each validated as a scenario."""
    base = scenario.model_dump(exclude_none=True)
    problems = config_problems(config, scenario)
    if problems:
        raise ConfigError(problems)
    problems = [p for i in range(len(config.options)) for p in _probe(base, config, i)]
    if problems:
        raise ConfigError(problems)
    candidates = _expand(config, enumerate_allocations(config))
    _check_count(config, len(candidates))
    built = _build_all(base, config, candidates)
    target = config.target if config.target is not None else scenario.target_gmv
    digest = hashlib.sha256(
        (config.model_dump_json() + scenario.digest()).encode()
    ).hexdigest()
    return OptimizePlan(config, scenario, built, target, digest)


def _check_count(config: OptimizeConfig, candidates: int) -> None:
    """Refuse a plan with no candidate or more than MAX_CANDIDATES."""
    if not candidates:
        raise ConfigError(
            f"budget: no allocation of at least one host costs between min_spend "
            f"{config.min_spend:,.0f} and budget {config.budget:,.0f} RMB with at "
            f"most {config.host_limit} hosts and the options' counts"
        )
    if candidates > MAX_CANDIDATES:
        raise ConfigError(
            f"options: more than {MAX_CANDIDATES:,} candidates (allocations x "
            "depths), past the limit; use a larger step, lower max_count, fewer depths "
            "or a narrower [min_spend, budget]"
        )


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


def _expand(config: OptimizeConfig, allocations: list[tuple[int, ...]]) -> list[Spec]:
    """(counts, depth, cost) of every candidate: each allocation x each depth.

    An allocation whose streams carry no flash sale (every bought option has
    `promote = false`) appears once, with depth 0.
    """
    depths = config.promotion.depths if config.promotion else [0.0]
    out: list[Spec] = []
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
    specs: list[Spec],
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
        raise _build_error(config, specs, failed)
    return built


def _build_error(
    config: OptimizeConfig, specs: list[Spec], failed: list[tuple[int, ConfigError]]
) -> ConfigError:
    """The first invalid candidate's problems, and how many more there are."""
    index, first = failed[0]
    counts, depth, _ = specs[index]
    label = ", ".join(
        f"{o.name}={n}" for o, n in zip(config.options, counts, strict=True)
    )
    lines = [f"candidate {index} ({label}, depth {depth:g}): {e}" for e in first.errors]
    if len(failed) > 1:
        lines.append(
            f"options: {len(failed)} of {len(specs)} candidates are invalid "
            "(the first is shown above)"
        )
    return ConfigError(lines)


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
    # a prior on what the candidate does not have (the awareness phase with
    # `awareness = "none"`) has nothing to draw
    priors = data.get("uncertainty", [])
    data["uncertainty"] = [
        p
        for p in priors
        if all(set_path(copy.deepcopy(data), path, 0.0) for path in p["paths"])
    ]
    gone = [p["name"] for p in priors if p not in data["uncertainty"]]
    return scenario_from_dict(without_posterior_of(data, gone))


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
