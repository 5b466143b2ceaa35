"""The optimization file: its pydantic models and the rules across its fields.

`OptimizeConfig` is the file as data (docs/model.md, "Budget optimization"):
the budget, the objective, the search and its replications, the stream and
flash-sale templates every bought host follows, and the host options the budget
can buy. `config_problems` checks what one field cannot check alone: the spend
range, the target of `p_target`, a fresh final seed, and the options' and
templates' references into the base scenario.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from livesim.archetypes import HostKind
from livesim.backends import DEFAULT_CHUNK
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
)

OBJECTIVES = (
    "mean_net_gmv",
    "mean_roi",
    "p_target",
    "quantile",
    "cvar",
    "expected_regret",
)
MAX_OPTIONS = 10
MAX_FINALISTS = 20
#: Host fields an option sets itself (the budget counts them) or the optimizer sets.
OWN_FIELDS = ("id", "kind", "fee", "gift_value")

Count = Annotated[int, Field(ge=0, le=MAX_STREAMS)]
Depth = Annotated[float, Field(ge=0.0, le=0.95)]
StreamStart = Annotated[int, Field(ge=0, le=MAX_CAMPAIGN_MINUTES - 1)]
StreamMinutes = Annotated[int, Field(gt=0, le=MAX_STREAM_MINUTES)]
OptionName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$")]


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
    objective: Literal[
        "mean_net_gmv", "mean_roi", "p_target", "quantile", "cvar", "expected_regret"
    ] = "mean_net_gmv"
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


# ------------------------------------------------------------------------ rules


def config_problems(config: OptimizeConfig, scenario: Scenario) -> list[str]:
    """Cross-field rules of a config and its references into the scenario."""
    products = [p.id for p in scenario.products]
    problems = _search_problems(config, scenario) + _template_problems(config, products)
    seen: set[str] = set()
    for i, option in enumerate(config.options):
        where = f"options[{i}]"
        if option.name in seen:
            problems.append(
                f"{where}.name: {option.name!r} is used twice; names must be unique"
            )
        seen.add(option.name)
        problems += _count_problems(option, where)
        problems += _host_problems(option, where)
        if option.stream.products is not None:
            problems += _unknown_products(
                f"{where}.stream.products", option.stream.products, products
            )
    return problems


def _search_problems(config: OptimizeConfig, scenario: Scenario) -> list[str]:
    """The spend range, the target of p_target and the fresh seed."""
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
    return problems


def _template_problems(config: OptimizeConfig, products: list[str]) -> list[str]:
    """The stream and flash-sale templates' products, the depths unique."""
    problems = _unknown_products("stream.products", config.stream.products, products)
    promo = config.promotion
    if promo is None:
        return problems
    problems += _unknown_products("promotion.products", promo.products, products)
    if len(set(promo.depths)) != len(promo.depths):
        problems.append(
            f"promotion.depths: {promo.depths} lists a depth twice; each must be unique"
        )
    return problems


def _count_problems(option: HostOption, where: str) -> list[str]:
    """An option's count range: ordered, and bounded if the option is free."""
    problems: list[str] = []
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
    return problems


def _host_problems(option: HostOption, where: str) -> list[str]:
    """An option's host overrides: none of its own fields, valid as a host."""
    problems: list[str] = []
    for key in OWN_FIELDS:
        if key in option.host:
            owner = "its name and kind" if key in ("id", "kind") else f"{where}.{key}"
            problems.append(
                f"{where}.host.{key}: set by the option itself ({owner}), not as a "
                "host override"
            )
    overrides = {k: v for k, v in option.host.items() if k not in OWN_FIELDS}
    try:
        Host.model_validate({"id": "probe", "kind": option.kind, **overrides})
    except ValidationError as exc:
        problems += [f"{where}.host.{format_validation_error(e)}" for e in exc.errors()]
    return problems


def _unknown_products(where: str, listed: list[str], known: list[str]) -> list[str]:
    return [
        f"{where}: {p!r} is not a product of the scenario (known: {known})"
        for p in listed
        if p not in known
    ]
