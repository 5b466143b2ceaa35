"""The scenario schema: pydantic models, TOML loading and validation errors.

A scenario file describes one campaign (products, hosts, streams, platform, costs) and,
optionally, named strategies that replace parts of it. Loading it gives a frozen
`Scenario`; `Scenario.campaigns()` resolves every strategy into a `Campaign`, the plain
data an engine runs. Validation reports *all* problems at once, each as one line with
the field's path, the value and the rule.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    create_model,
    field_validator,
)

from livesim.archetypes import ARCHETYPES, HostKind
from livesim.calibration_schema import Calibration
from livesim.errors import ConfigError
from livesim.model.posterior import Posterior, posterior_problems
from livesim.model.prior_checks import check_priors
from livesim.model.traffic import branching_factor, stream_hold
from livesim.model.uncertainty import MAX_PRIORS, Prior, Resolved, resolve
from livesim.product import Product
from livesim.schema import Ident, NonNeg, Positive, Prob, Strict
from livesim.templates import expand, fields_of, inherit

# Documented size limits (docs/model.md, "Limits"): past them a config is refused.
MAX_PRODUCTS = 1000
MAX_HOSTS = 1000
MAX_STREAMS = 500
MAX_PROMOTIONS = 100
MAX_DRAW = 100.0  # an announced promotion's arrival multiplier
MAX_HOLD = 20.0  # its factor on the remaining stay
MAX_STRATEGIES = 50
MAX_STREAM_MINUTES = 1440
MAX_CAMPAIGN_MINUTES = 64_800  # 45 days: a month-long campaign like KOS101 fits
MAX_FOLLOWERS = 2_000_000_000


class HostParams(Strict):
    """Every behavioural parameter of a host (units in docs/model.md, section 6)."""

    followers: Annotated[int, Field(ge=0, le=MAX_FOLLOWERS)]
    real_follower_share: Prob
    reach_share: Prob
    enter_rate: Prob
    arrival_profile: Literal["decay", "uniform"] = "decay"
    arrival_decay_minutes: Positive
    recommendation_rate: NonNeg
    dwell_distribution: Literal["lognormal", "exponential"]
    dwell_mean_minutes: Positive
    dwell_sigma: Annotated[float, Field(ge=0.0, le=3.0)]
    intent_sigma: Annotated[float, Field(ge=0.0, le=3.0)]
    price_sensitivity: NonNeg
    initial_trust: Prob
    trust_ceiling: Prob
    trust_rate: NonNeg
    like_rate: NonNeg
    comment_rate: NonNeg
    share_prob: Prob
    click_rate: NonNeg
    question_rate: NonNeg
    qa_capacity: Annotated[int, Field(ge=0, le=1000)]
    qa_service_minutes: Positive
    qa_patience_minutes: Positive
    reneging: bool = True
    answer_trust_gain: Prob
    abandon_trust_loss: Prob
    purchase_rate: NonNeg
    delayed_purchase_prob: Prob
    delayed_mean_minutes: Positive
    carryover_share: Prob
    carryover_intent_boost: Annotated[float, Field(ge=1.0)]
    fee: NonNeg
    commission_rate: Prob
    gift_value: NonNeg


def _optional_fields(model: type[BaseModel]) -> dict[str, Any]:
    """The fields of `model`, each optional (None = take the archetype's default)."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        kind: Any = info.annotation
        if info.metadata:
            kind = Annotated[(kind, *info.metadata)]
        fields[name] = (kind | None, None)
    return fields


_HostOverrides = create_model(
    "_HostOverrides", __base__=Strict, **_optional_fields(HostParams)
)


class Host(_HostOverrides):  # type: ignore[misc,valid-type]
    """A host: an id, a kind whose archetype supplies defaults, and any overrides."""

    id: Ident
    kind: HostKind

    def params(self) -> HostParams:
        """The host's parameters: its archetype with this host's overrides on top."""
        values = dict(ARCHETYPES[self.kind])
        values.update(self.model_dump(exclude={"id", "kind"}, exclude_none=True))
        return HostParams.model_validate(values)


class Promotion(Strict):
    """A discount during part of a stream (minutes from the stream's start); an
    announced one draws and holds a crowd from `announce_minutes` before its start
    to its end (docs/model.md, section 2)."""

    start: Annotated[int, Field(ge=0)]
    duration: Annotated[int, Field(gt=0)]
    discount: Annotated[float, Field(ge=0.0, le=0.95)]
    urgency: NonNeg = 0.0
    products: list[Ident] = []
    announce_minutes: Annotated[int, Field(ge=0, le=MAX_STREAM_MINUTES)] = 0
    draw: Annotated[float, Field(ge=1.0, le=MAX_DRAW)] = 1.0
    hold: Annotated[float, Field(ge=1.0, le=MAX_HOLD)] = 1.0


class Stream(Strict):
    """One host selling products over a window of campaign minutes."""

    id: Ident
    host: Ident
    start: Annotated[int, Field(ge=0, le=MAX_CAMPAIGN_MINUTES - 1)] = 0
    duration: Annotated[int, Field(gt=0, le=MAX_STREAM_MINUTES)]
    products: Annotated[list[Ident], Field(min_length=1)]
    segment_minutes: Annotated[int, Field(gt=0)] | None = None
    promotions: Annotated[list[Promotion], Field(max_length=MAX_PROMOTIONS)] = []
    ad_spend: NonNeg = 0.0

    @property
    def end(self) -> int:
        """The campaign minute at which the stream stops."""
        return self.start + self.duration


class Platform(Strict):
    """The platform: recommendation feedback, word of mouth, attribution, scarcity."""

    feedback_window_minutes: Annotated[int, Field(gt=0, le=120)] = 5
    feedback_viewers_per_comment: NonNeg = 0.5
    feedback_max_viewers_per_minute: NonNeg = 300.0
    gpm_boost: NonNeg = 1.0
    gpm_reference: Positive = 20_000.0
    recommend_enter_rate: Annotated[float, Field(gt=0.0, le=1.0)] = 0.1
    wom_viewers_per_share: NonNeg = 2.0
    wom_delay_minutes: Positive = 5.0
    attribution_window_minutes: NonNeg = 10080.0
    scarcity_threshold: Prob = 0.1
    scarcity_lift: NonNeg = 0.3
    intent_follower: NonNeg = 1.0
    intent_platform: NonNeg = 0.6
    intent_ads: NonNeg = 0.5
    intent_wom: NonNeg = 0.9
    price_sensitivity_sigma: Annotated[float, Field(ge=0.0, le=3.0)] = 0.5


class Costs(Strict):
    """Campaign costs besides the hosts' own (RMB)."""

    fixed: NonNeg = 0.0
    cpm: Positive = 40.0
    ad_enter_rate: Prob = 0.02


class Awareness(Strict):
    """The event: an awareness phase before the streams (e.g. an audition month) in
    which content reaches people, some still remember the event when it starts and
    some of those come; and the platform's push of the event's streams on the night.

    The expected arrivals it sends to the event's streams are
    ``impressions / frequency * retention(days, memory_half_life_days) * turnout``
    (docs/model.md, section 2), split equally over `streams` (all by default) and
    spread over each stream by its host's follower profile. `participants >=
    finalists >= selected` describe the host funnel of a selection campaign;
    `selected` must equal the number of hosts of the event's streams.

    The event belongs to hosts of `own_kinds` (every kind when not given): a stream
    whose host is of another kind gets only `follow_share` of its audience and of
    its `push` (viewers/min of platform recommendation added to each event stream's
    host rate); docs/model.md, section 2.
    """

    days: Annotated[float, Field(gt=0.0, le=366.0)]
    impressions: Annotated[float, Field(ge=0.0, le=1e12)]
    frequency: Annotated[float, Field(ge=1.0)] = 1.0
    memory_half_life_days: Positive | None = None
    turnout: Prob
    intent: NonNeg = 1.0
    streams: list[Ident] | None = None
    participants: Annotated[int, Field(ge=1)] | None = None
    finalists: Annotated[int, Field(ge=1)] | None = None
    selected: Annotated[int, Field(ge=1)] | None = None
    push: NonNeg = 0.0
    own_kinds: Annotated[list[HostKind], Field(min_length=1)] | None = None
    follow_share: Prob = 1.0


class Strategy(Strict):
    """An alternative campaign: any section given here replaces the scenario's."""

    description: str = ""
    products: (
        Annotated[list[Product], Field(min_length=1, max_length=MAX_PRODUCTS)] | None
    ) = None
    hosts: Annotated[list[Host], Field(min_length=1, max_length=MAX_HOSTS)] | None = (
        None
    )
    streams: (
        Annotated[list[Stream], Field(min_length=1, max_length=MAX_STREAMS)] | None
    ) = None
    platform: Platform | None = None
    costs: Costs | None = None
    awareness: Awareness | Literal[False] | None = None

    @field_validator("awareness", mode="before")
    @classmethod
    def _table_or_false(cls, value: Any) -> Any:
        # Literal[False] alone would take 0 and 0.0 (they equal False)
        if not isinstance(value, bool | dict | Awareness) and value is not None:
            raise ValueError("must be a table or false")
        return value


class Scenario(Strict):
    """A validated scenario file."""

    name: Ident
    description: str = ""
    target_gmv: Positive | None = None
    baseline: Ident = "baseline"
    products: Annotated[list[Product], Field(min_length=1, max_length=MAX_PRODUCTS)]
    hosts: Annotated[list[Host], Field(min_length=1, max_length=MAX_HOSTS)]
    streams: Annotated[list[Stream], Field(min_length=1, max_length=MAX_STREAMS)]
    platform: Platform = Platform()
    costs: Costs = Costs()
    awareness: Awareness | None = None
    strategies: Annotated[dict[Ident, Strategy], Field(max_length=MAX_STRATEGIES)] = {}
    calibration: Calibration | None = None
    uncertainty: Annotated[list[Prior], Field(max_length=MAX_PRIORS)] = []
    #: Draws of some priors from a calibration (`--posterior`; `model.posterior`).
    posterior: Posterior | None = None

    def digest(self) -> str:
        """A SHA-256 of the validated scenario (what a manifest and resume check);
        a scenario without priors has the digest it had before they existed."""
        skip = {k for k in ("uncertainty", "posterior") if not getattr(self, k)}
        return hashlib.sha256(self.model_dump_json(exclude=skip).encode()).hexdigest()

    def campaigns(self) -> dict[str, Campaign]:
        """Every strategy resolved into a runnable campaign, the baseline first."""
        out = {self.baseline: _resolve(self, None)}
        for name, strategy in self.strategies.items():
            out[name] = _resolve(self, strategy)
        return out


@dataclass(frozen=True)
class Campaign:
    """A resolved strategy: what an engine runs. Plain data, shared by nothing."""

    name: str
    products: dict[str, Product]
    hosts: dict[str, HostParams]
    host_kinds: dict[str, str]
    streams: tuple[Stream, ...]
    platform: Platform
    costs: Costs
    awareness: Awareness | None = None
    #: The scenario's priors resolved against this campaign (`model.uncertainty`).
    priors: tuple[Resolved, ...] = ()
    #: Where some priors are drawn from (a calibration's posterior), if anywhere.
    posterior: Posterior | None = None
    #: A stream's own host parameters, where a stream-scope prior drew them.
    stream_hosts: dict[str, HostParams] = dataclasses.field(default_factory=dict)

    @property
    def horizon(self) -> int:
        """The last minute of the last stream."""
        return max(s.end for s in self.streams)

    def host_of(self, stream: Stream) -> HostParams:
        """The parameters of the host of a stream (its own, when drawn per stream)."""
        return self.stream_hosts.get(stream.id) or self.hosts[stream.host]


def _resolve(scenario: Scenario, strategy: Strategy | None) -> Campaign:
    def pick(field: str) -> Any:
        value = getattr(strategy, field) if strategy is not None else None
        return getattr(scenario, field) if value is None else value

    hosts: list[Host] = pick("hosts")
    name = scenario.baseline if strategy is None else _strategy_name(scenario, strategy)
    campaign = Campaign(
        name=name,
        products={p.id: p for p in pick("products")},
        hosts={h.id: h.params() for h in hosts},
        host_kinds={h.id: h.kind for h in hosts},
        streams=tuple(pick("streams")),
        platform=pick("platform"),
        costs=pick("costs"),
        awareness=_event_phase(pick("awareness") or None, pick("streams")),
    )
    if not scenario.uncertainty:
        return campaign
    priors = tuple(resolve(p, campaign) for p in scenario.uncertainty)
    return dataclasses.replace(campaign, priors=priors, posterior=scenario.posterior)


def _event_phase(phase: Awareness | None, streams: list[Stream]) -> Awareness | None:
    """The awareness phase with its event's streams named (every stream when none
    are given), so a campaign cut to fewer streams keeps each stream's share."""
    if phase is None or phase.streams is not None:
        return phase
    return phase.model_copy(update={"streams": [s.id for s in streams]})


def _strategy_name(scenario: Scenario, strategy: Strategy) -> str:
    return next(k for k, v in scenario.strategies.items() if v is strategy)


# ----------------------------------------------------------------------------- loading


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a TOML scenario; raise `ConfigError` listing every problem,
    each line starting with the file's path (commands may read several files)."""
    data = read_toml(Path(path), "scenario")
    try:
        read = functools.partial(read_toml, what="scenario")
        return scenario_from_dict(inherit(data, Path(path), read))
    except ConfigError as exc:
        raise ConfigError([f"{path}: {line}" for line in exc.errors]) from None


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The table of a TOML file, or a one-line `ConfigError` naming the file."""
    if path.is_dir():
        article = "an" if what[0] in "aeiou" else "a"
        raise ConfigError(f"{path}: is a folder, not {article} {what} file")
    if not path.is_file():
        raise ConfigError(f"{path}: no such {what} file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None


#: What the concise language needs to know of the schema's fields.
_KINDS = {"products": Product, "hosts": Host, "streams": Stream, "costs": Costs}
_FIELDS = fields_of(
    _KINDS | {"promotions": Promotion, "platform": Platform, "awareness": Awareness}
)


def scenario_from_dict(data: dict[str, Any]) -> Scenario:
    """Validate a scenario dict (as parsed from TOML; `templates.expand`ed first)."""
    try:
        scenario = Scenario.model_validate(expand(data, _FIELDS))
    except ValidationError as exc:
        errors = _one_branch(exc.errors())
        raise ConfigError([format_validation_error(e) for e in errors]) from None
    problems = _check_campaign(scenario, "", None)
    for name, strategy in scenario.strategies.items():
        if name == scenario.baseline:
            problems.append(f"strategies.{name}: the name is the baseline's; rename it")
        for problem in _check_campaign(scenario, f"strategies.{name}.", strategy):
            # a baseline section that fails only with this strategy's other
            # sections is reported with the strategy's name in front
            if problem not in problems and not problem.startswith("strategies."):
                problem = f"strategies.{name}, with the baseline's {problem}"
            problems.append(problem)
    if not problems and scenario.uncertainty:
        campaigns = list(scenario.campaigns().values())
        problems = check_priors(scenario.uncertainty, campaigns)
    if not problems and scenario.posterior is not None:
        problems = posterior_problems(scenario.posterior, scenario.uncertainty)
    if problems:  # a base section shared by strategies is reported once
        raise ConfigError(list(dict.fromkeys(problems)))
    return scenario


def _one_branch(errors: list[Any]) -> list[Any]:
    """A strategy's `awareness` is a table or `false`: pydantic reports a bad value
    against both; keep the table's errors for a table, one line otherwise."""
    out = []
    for error in errors:
        loc = error["loc"]
        if "literal[False]" in loc:
            continue  # the table branch says it (or the line below does)
        if tuple(loc) == ("awareness",) and error["type"] == "model_type":
            error = {**error, "msg": "must be a table (leave it out for no phase)"}
        if "Awareness" in loc:
            at = loc.index("Awareness")
            if error["type"] == "model_type":  # not a table: one line
                error = {
                    **error,
                    "loc": loc[:at],
                    "msg": "must be a table or false",
                }
            else:
                error = {**error, "loc": loc[:at] + loc[at + 1 :]}
        out.append(error)
    return out


def format_validation_error(error: Any) -> str:
    path = ""
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    value = error.get("input")
    shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
    rule = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        rule = "unknown key (a misspelling?)"
    if error["type"] == "int_type" and isinstance(value, float) and value.is_integer():
        rule += f"; a whole number is written without a point or exponent: {value:.0f}"
    return f"{path or 'scenario'}: {rule}{shown}"


def _check_campaign(
    scenario: Scenario, prefix: str, strategy: Strategy | None
) -> list[str]:
    """Cross-references, orderings and the branching condition of one campaign."""
    problems: list[str] = []
    campaign = _resolve(scenario, strategy)
    own = (lambda f: getattr(strategy, f) is not None) if strategy else (lambda f: True)
    sect = {f: (prefix if own(f) else "") + f for f in ("products", "hosts", "streams")}

    def raw(field: str) -> list[Any]:
        value = getattr(strategy, field, None)
        return list(getattr(scenario, field) if value is None else value)

    hosts: list[Host] = raw("hosts")
    for field in ("products", "hosts", "streams"):
        problems += _duplicates(sect[field], [x.id for x in raw(field)])
    for i, host in enumerate(hosts):
        params = host.params()
        if params.initial_trust > params.trust_ceiling:
            problems.append(
                f"{sect['hosts']}[{i}].initial_trust: {params.initial_trust} is above "
                f"trust_ceiling {params.trust_ceiling}: trust can only grow toward it"
            )
    for i, stream in enumerate(campaign.streams):
        where = f"{sect['streams']}[{i}]"
        if stream.end > MAX_CAMPAIGN_MINUTES:
            problems.append(
                f"{where}: start {stream.start} + duration {stream.duration} ends past "
                f"the campaign limit of {MAX_CAMPAIGN_MINUTES} minutes (45 days)"
            )
        if stream.host not in campaign.hosts:
            problems.append(f"{where}.host: {stream.host!r} is not a defined host")
        for product in stream.products:
            if product not in campaign.products:
                problems.append(
                    f"{where}.products: {product!r} is not a defined product"
                )
        for j, promo in enumerate(stream.promotions):
            if promo.start + promo.duration > stream.duration:
                problems.append(
                    f"{where}.promotions[{j}]: start {promo.start} + duration "
                    f"{promo.duration} runs past the stream's {stream.duration} minutes"
                )
            for product in promo.products:
                if product not in stream.products:
                    problems.append(
                        f"{where}.promotions[{j}].products: {product!r} is not sold "
                        "in this stream"
                    )
            problems += _check_promotion_applies(
                stream, promo, f"{where}.promotions[{j}]"
            )
        if stream.host in campaign.hosts:
            problems += _check_branching(campaign, stream, where)
    if campaign.awareness is not None:
        where = (prefix if own("awareness") else "") + "awareness"
        # a strategy with hosts of its own shares the event, not its selection
        inherited = not own("awareness") and (own("hosts") or own("streams"))
        problems += _check_awareness(
            campaign, campaign.awareness, where, strategy is None or not inherited
        )
    return problems


def _check_awareness(
    campaign: Campaign, phase: Awareness, where: str, selection: bool = True
) -> list[str]:
    """The awareness phase names existing streams and, where `funnel`, the number
    of its selected hosts agrees with its streams' hosts (`selection`)."""
    problems = []
    listed = phase.streams or []
    for i, name in enumerate(listed):
        if name in listed[:i]:
            problems.append(
                f"{where}.streams[{i}]: {name!r} is listed twice; list a stream once"
            )
    ids = [s.id for s in campaign.streams]
    for name in phase.streams or []:
        if name not in ids:
            problems.append(f"{where}.streams: {name!r} is not a defined stream")
    if phase.streams is not None and not phase.streams:
        problems.append(f"{where}.streams: [] is empty; leave it out for every stream")
    funnel = [
        (k, v)
        for k, v in (
            ("participants", phase.participants),
            ("finalists", phase.finalists),
            ("selected", phase.selected),
        )
        if v is not None
    ]
    for (k1, v1), (k2, v2) in zip(funnel, funnel[1:], strict=False):
        if v2 > v1:
            problems.append(
                f"{where}.{k2}: {v2} is more than {k1} {v1}: a selection only narrows"
            )
    targets = set(phase.streams or ids)
    hosts = {s.host for s in campaign.streams if s.id in targets}
    if selection and phase.selected is not None and phase.selected != len(hosts):
        problems.append(
            f"{where}.selected: {phase.selected} selected hosts, but the event's "
            f"streams have {len(hosts)} host(s); they must agree (or give this "
            "campaign its own awareness, or `awareness = false` in a strategy)"
        )
    return problems


def _check_promotion_applies(stream: Stream, promo: Promotion, where: str) -> list[str]:
    """A promotion acts on the featured product only: it must meet one of its own."""
    targets = [p for p in (promo.products or stream.products) if p in stream.products]
    if not targets:
        return []
    n = len(stream.products)
    segment = stream.segment_minutes or stream.duration / n
    first = int(promo.start / segment)
    last = int((promo.start + promo.duration - 1e-9) / segment)
    featured = {stream.products[k % n] for k in range(first, min(last, first + n) + 1)}
    if featured & set(targets):
        return []
    return [
        f"{where}: minutes {promo.start}-{promo.start + promo.duration} feature "
        f"{sorted(featured)}, none of the promoted {targets}: the promotion would "
        f"never apply (products take turns of {segment:g} minutes)"
    ]


def _duplicates(section: str, ids: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for i, ident in enumerate(ids):
        if ident in seen:
            out.append(
                f"{section}[{i}].id: {ident!r} is used twice; ids must be unique"
            )
        seen.add(ident)
    return out


def _check_branching(campaign: Campaign, stream: Stream, where: str) -> list[str]:
    host = campaign.hosts[stream.host]
    hold = stream_hold(stream)
    factor = branching_factor(host, campaign.platform, hold)
    if factor < 1.0 and math.isfinite(factor):
        return []
    wom = host.share_prob * campaign.platform.wom_viewers_per_share
    held = f", with the promotions' hold of {hold:g}" if hold > 1.0 else ""
    return [
        f"{where}: word of mouth and platform feedback give a branching factor of "
        f"{factor:.3g} (word of mouth {wom:.3g} + comment feedback {factor - wom:.3g}"
        f"{held}; must be < 1): each viewer would bring more than one new viewer and "
        "the audience would explode; lower share_prob, "
        "platform.wom_viewers_per_share, platform.feedback_viewers_per_comment"
        + (" or the hold" if held else "")
    ]
