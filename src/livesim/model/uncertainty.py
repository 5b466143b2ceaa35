"""What we do not know: priors on a scenario's parameters, drawn per replication.

A scenario's `[[uncertainty]]` entries (`Prior`) each name a distribution over one
number written to one or more dotted paths (`hosts.*.purchase_rate`,
`awareness.turnout`, ...): `mode = "set"` writes the draw, `"scale"` multiplies the
value the path already has. Its `scope` says what one draw covers: the whole
campaign (`"campaign"`: one draw per replication for every path), each matched host
(`"host"`) or each matched stream (`"stream"`, the night's form; a host path then
changes that stream's host only).

The outer level of the two-level Monte Carlo (docs/model.md, section 16): parameter
draw d of seed s reads uniforms from random streams of its own, keyed by (s, d, the
prior's name, the host or stream id) and apart from the model's streams, and maps
them through the distribution's inverse CDF (scipy.stats). Strategies that share a
prior (by name, and by host or stream id) so see the same draw, and a replication's
draw never depends on the other priors or on the worker that runs it.

Supports are checked once, when the scenario is loaded (`check_priors`): a draw
can never leave the range of the field it is written to, so replications substitute
values without validating the scenario again (`realize`).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from livesim.model.posterior import POSTERIOR_UNIT
from livesim.model.rng import keyed_uniform, stream_key
from livesim.schema import Ident, Strict

if TYPE_CHECKING:
    from livesim.scenario import Campaign

MAX_PRIORS = 100
PRIOR_KEY = stream_key("parameter draws")
#: The parameters each distribution takes (all required, others refused).
DIST_PARAMS = {
    "lognormal": ("median", "log_sd"),
    "uniform": ("low", "high"),
    "loguniform": ("low", "high"),
    "beta": ("mean", "sd"),
    "triangular": ("low", "peak", "high"),
    "normal": ("mean", "sd"),
    "choice": ("values",),
}
#: Optional: truncation of the unbounded ones, the weights of a choice.
OPTIONAL_PARAMS = {
    "lognormal": ("low", "high"),
    "normal": ("low", "high"),
    "choice": ("weights",),
}
#: Fields no prior may write: the schedule (the tables' minutes are laid out from
#: it) and the awareness funnel's counts (checked against each other).
FIXED_FIELDS = {
    ("streams", "start"),
    ("streams", "duration"),
    ("streams", "segment_minutes"),
    ("awareness", "participants"),
    ("awareness", "finalists"),
    ("awareness", "selected"),
    ("awareness", "days"),
}
#: Truncation must keep at least this share of a distribution.
MIN_MASS = 1e-6
#: Sections whose elements have ids (entered by id or `*`), and single sections.
LISTS = ("hosts", "products", "streams")
SINGLE = ("platform", "costs", "awareness")


class Prior(Strict):
    """One `[[uncertainty]]` entry (docs/model.md, section 16)."""

    name: Ident
    paths: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    dist: Literal[
        "lognormal", "uniform", "loguniform", "beta", "triangular", "normal", "choice"
    ]
    mode: Literal["set", "scale"] = "set"
    scope: Literal["campaign", "host", "stream"] = "campaign"
    source: Annotated[str, Field(min_length=1)]
    median: float | None = None
    log_sd: float | None = None
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = None
    peak: float | None = None
    values: Annotated[list[float], Field(min_length=1)] | None = None
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _parameters(self) -> Prior:
        allowed = DIST_PARAMS[self.dist] + OPTIONAL_PARAMS.get(self.dist, ())
        given = {
            k
            for k in ("median", "log_sd", "low", "high", "mean", "sd", "peak")
            if getattr(self, k) is not None
        } | {k for k in ("values", "weights") if getattr(self, k) is not None}
        missing = [k for k in DIST_PARAMS[self.dist] if k not in given]
        extra = sorted(given - set(allowed))
        if missing:
            raise ValueError(f"{self.dist} needs {', '.join(missing)}")
        if extra:
            raise ValueError(
                f"{self.dist} takes {', '.join(allowed)}, not {', '.join(extra)}"
            )
        problem = _parameter_problem(self)
        if problem:
            raise ValueError(f"{self.dist}: {problem}")
        if self.dist in ("lognormal", "normal"):
            lo, hi = self._truncated()
            if hi - lo < MIN_MASS:
                raise ValueError(
                    f"{self.dist}: low/high keep {hi - lo:.3g} of the distribution "
                    f"(at least {MIN_MASS:g}); move them toward its bulk"
                )
        return self

    @cached_property
    def dist_frozen(self) -> Any:
        """The frozen scipy.stats distribution, made once (None for choice)."""
        return self.frozen()

    @cached_property
    def cut(self) -> tuple[float, float]:
        """The CDF at the truncation points (0 and 1 without them), made once."""
        return self._truncated()

    def frozen(self) -> Any:
        """The distribution as a frozen scipy.stats distribution (None for choice)."""
        from scipy import stats

        if self.dist == "lognormal":
            return stats.lognorm(s=self.log_sd, scale=self.median)
        if self.dist == "uniform":
            assert self.low is not None and self.high is not None
            return stats.uniform(loc=self.low, scale=self.high - self.low)
        if self.dist == "loguniform":
            return stats.loguniform(self.low, self.high)
        if self.dist == "beta":
            a, b = beta_shapes(_f(self.mean), _f(self.sd))
            return stats.beta(a, b)
        if self.dist == "triangular":
            low, peak, high = _f(self.low), _f(self.peak), _f(self.high)
            return stats.triang((peak - low) / (high - low), loc=low, scale=high - low)
        if self.dist == "normal":
            return stats.norm(loc=self.mean, scale=self.sd)
        return None

    def _truncated(self) -> tuple[float, float]:
        """The CDF at the truncation points (0 and 1 without them)."""
        dist = self.frozen()
        lo = 0.0 if self.low is None else float(dist.cdf(self.low))
        hi = 1.0 if self.high is None else float(dist.cdf(self.high))
        return lo, hi

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """The draws of uniforms `u` in (0, 1): the inverse CDF (of the truncated
        distribution when low/high cut a lognormal or normal)."""
        u = np.clip(np.asarray(u, dtype=float), 1e-12, 1.0 - 1e-12)
        if self.dist == "choice":
            assert self.values is not None
            weights = np.asarray(self.weights or [1.0] * len(self.values), float)
            cdf = np.cumsum(weights) / weights.sum()
            index = np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)
            return np.asarray(self.values, float)[index]
        if self.dist in ("lognormal", "normal"):
            lo, hi = self.cut
            x = np.asarray(self.dist_frozen.ppf(lo + u * (hi - lo)), dtype=float)
            return np.clip(x, *self.support())
        return np.asarray(self.dist_frozen.ppf(u), dtype=float)

    def support(self) -> tuple[float, float]:
        """The smallest and largest value a draw can take."""
        if self.dist == "choice":
            assert self.values is not None
            weights = self.weights or [1.0] * len(self.values)
            kept = [v for v, w in zip(self.values, weights, strict=True) if w > 0]
            return min(kept), max(kept)
        lo, hi = (float(x) for x in self.dist_frozen.support())
        if self.dist in ("lognormal", "normal"):
            lo = lo if self.low is None else max(lo, self.low)
            hi = hi if self.high is None else min(hi, self.high)
        return lo, hi

    def median_value(self) -> float:
        """The distribution's median (the noise-only run sets every prior to it)."""
        return float(self.ppf(np.array([0.5]))[0])


def _f(value: float | None) -> float:
    assert value is not None
    return value


def beta_shapes(mean: float, sd: float) -> tuple[float, float]:
    """Beta(a, b) with the given mean and standard deviation."""
    k = mean * (1.0 - mean) / sd**2 - 1.0
    return mean * k, (1.0 - mean) * k


def _parameter_problem(p: Prior) -> str | None:
    """What is wrong with a prior's parameters, if anything."""
    if p.dist == "lognormal" and not (_f(p.median) > 0 and _f(p.log_sd) > 0):
        return "median and log_sd must be > 0"
    if p.dist in ("uniform", "loguniform", "triangular") and not _f(p.low) < _f(p.high):
        return f"low ({p.low}) must be below high ({p.high})"
    if p.dist == "loguniform" and not _f(p.low) > 0:
        return "low must be > 0 (a log scale)"
    if p.dist == "triangular" and not _f(p.low) <= _f(p.peak) <= _f(p.high):
        return f"peak ({p.peak}) must lie in [low, high]"
    if p.dist in ("beta", "normal") and not _f(p.sd) > 0:
        return "sd must be > 0"
    if p.dist == "beta":
        mean, sd = _f(p.mean), _f(p.sd)
        if not 0 < mean < 1:
            return f"mean ({mean}) must be in (0, 1)"
        if sd**2 >= mean * (1 - mean):
            limit = math.sqrt(mean * (1 - mean))
            return f"sd ({sd}) must be below sqrt(mean (1 - mean)) = {limit:.4g}"
    bounded = p.low is not None and p.high is not None
    if p.dist in ("normal", "lognormal") and bounded and not _f(p.low) < _f(p.high):
        return f"low ({p.low}) must be below high ({p.high})"
    if p.dist == "lognormal" and p.high is not None and p.high <= 0:
        return f"high ({p.high}) must be > 0 (a lognormal is positive)"
    if p.dist == "choice" and p.weights is not None:
        assert p.values is not None
        if len(p.weights) != len(p.values):
            return "weights must be as many as values"
        if min(p.weights) < 0 or sum(p.weights) <= 0:
            return "weights must be >= 0 with a positive sum"
    return None


# ------------------------------------------------------------------ targets


@dataclass(frozen=True)
class Target:
    """One field a prior writes: `section` (and element `key`), `field`."""

    section: str
    key: str | None
    field: str


@dataclass(frozen=True)
class Resolved:
    """A prior resolved against one campaign: per unit (a host or stream id, or ""
    for the campaign scope), the fields it writes."""

    prior: Prior
    units: tuple[tuple[str, tuple[Target, ...]], ...]
    whole: frozenset[Target]  # the fields that take whole numbers


def parse_path(path: str) -> tuple[str, str | None, str] | None:
    """(section, id or *, field) of a path, or None if it is not one."""
    parts = path.split(".")
    if len(parts) == 3 and parts[0] in LISTS:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2 and parts[0] in SINGLE:
        return parts[0], None, parts[1]
    return None


def _elements(campaign: Campaign, section: str) -> dict[str, Any]:
    if section == "hosts":
        return dict(campaign.hosts)
    if section == "products":
        return dict(campaign.products)
    return {s.id: s for s in campaign.streams}


def targets(campaign: Campaign, path: str) -> list[Target]:
    """The fields of a campaign a path names (none if it names nothing there)."""
    parsed = parse_path(path)
    if parsed is None:
        return []
    section, key, field = parsed
    if key is None:
        model = getattr(campaign, section)
        return [Target(section, None, field)] if model is not None else []
    return [
        Target(section, k, field)
        for k in _elements(campaign, section)
        if key in ("*", k)
    ]


def resolve(prior: Prior, campaign: Campaign) -> Resolved:
    """Which fields of `campaign` each draw of `prior` writes, by unit."""
    found = [t for path in prior.paths for t in targets(campaign, path)]
    units: dict[str, list[Target]] = {}
    for t in found:
        for unit in _units_of(prior.scope, t, campaign):
            units.setdefault(unit, []).append(t)
    whole = frozenset(t for t in found if _takes_integers(campaign, t))
    return Resolved(prior, tuple((u, tuple(ts)) for u, ts in units.items()), whole)


def _units_of(scope: str, t: Target, campaign: Campaign) -> list[str]:
    if scope == "campaign":
        return [""]
    if scope == "host":
        return [t.key] if t.section == "hosts" and t.key is not None else []
    if t.section == "streams" and t.key is not None:
        return [t.key]
    if t.section == "hosts":  # the streams of that host, each on its own
        return [s.id for s in campaign.streams if s.host == t.key]
    return []


def holder(campaign: Campaign, t: Target) -> Any:
    """The config model (host, product, stream, platform...) a target is a field of."""
    if t.key is None:
        return getattr(campaign, t.section)
    return _elements(campaign, t.section)[t.key]


def numeric_field(campaign: Campaign, t: Target) -> tuple[type, list[Any]] | None:
    """(int or float, its constraints) of a number field, an optional one
    (`X | None`) included; None if the field is not a number or does not exist."""
    info = type(holder(campaign, t)).model_fields.get(t.field)
    if info is None:
        return None
    if info.annotation in (int, float):
        return info.annotation, list(info.metadata)
    if typing.get_origin(info.annotation) not in (typing.Union, types.UnionType):
        return None
    options = [a for a in typing.get_args(info.annotation) if a is not type(None)]
    if len(options) != 1:
        return None
    kind, rules = options[0], list(info.metadata)
    if typing.get_origin(kind) is typing.Annotated:
        kind, *extra = typing.get_args(kind)
        rules += [r for e in extra for r in getattr(e, "metadata", [e])]
    return (kind, rules) if kind in (int, float) else None


def _takes_integers(campaign: Campaign, t: Target) -> bool:
    """Whether a field takes whole numbers (its draws are rounded)."""
    found = numeric_field(campaign, t)
    return found is not None and found[0] is int


def current(campaign: Campaign, t: Target) -> Any:
    """The value a field has in a campaign."""
    return getattr(holder(campaign, t), t.field)


# ------------------------------------------------------------------ draws


@lru_cache(maxsize=65536)
def unit_key(seed: int, name: str, unit: str) -> int:
    """The 64-bit key of a prior's unit (a host or stream id, or "") under a seed."""
    seq = np.random.SeedSequence(
        entropy=seed, spawn_key=(PRIOR_KEY, stream_key(name), stream_key(unit))
    )
    return int(seq.generate_state(1, np.uint64)[0])


def uniform(seed: int, draw: int, name: str, unit: str) -> float:
    """The uniform of parameter draw `draw` for a prior's unit: number `draw` of the
    unit's own counter-based stream (`rng.keyed_uniform`), so a draw never depends
    on other draws, priors or units."""
    return keyed_uniform(unit_key(seed, name, unit), draw)


Values = dict[str, dict[str, float]]


def draw_values(campaign: Campaign, seed: int, draw: int, medians: bool) -> Values:
    """Each prior's value per unit for parameter draw `draw` (or its median); the
    priors a posterior holds take the particle of the draw (or their weighted
    medians) instead."""
    out: Values = {}
    post: dict[str, float] = {}
    if campaign.posterior is not None:
        post = (
            campaign.posterior.medians()
            if medians
            else campaign.posterior.particle(uniform(seed, draw, POSTERIOR_UNIT, ""))
        )
    for res in campaign.priors:
        p = res.prior
        if p.name in post:
            x = np.full(len(res.units), post[p.name])
        elif medians:
            x = np.full(len(res.units), p.median_value())
        else:
            u = [uniform(seed, draw, p.name, unit) for unit, _ in res.units]
            x = p.ppf(np.array(u))
        out[p.name] = {
            unit: float(v) for (unit, _), v in zip(res.units, x, strict=True)
        }
    return out


def realize(
    campaign: Campaign, seed: int, draw: int, medians: bool = False
) -> tuple[Campaign, Values]:
    """The campaign with parameter draw `draw` written in, and the values drawn."""
    if not campaign.priors:
        return campaign, {}
    values = draw_values(campaign, seed, draw, medians)
    return with_values(campaign, values), values


def with_values(campaign: Campaign, values: Values) -> Campaign:
    """The campaign with each prior's value per unit written in."""
    edits: dict[tuple[str, str | None], dict[str, Any]] = {}
    per_stream: dict[str, dict[str, Any]] = {}
    for res in campaign.priors:
        p = res.prior
        for unit, ts in res.units:
            v = values[p.name][unit]
            for t in ts:
                into = edits.setdefault((t.section, t.key), {})
                if p.scope == "stream" and t.section == "hosts":
                    into = per_stream.setdefault(unit, {})
                base = into.get(t.field, current(campaign, t))
                new = v if p.mode == "set" else base * v
                into[t.field] = int(round(new)) if t in res.whole else float(new)
    return _edited(campaign, edits, per_stream)


def _edited(
    campaign: Campaign,
    edits: dict[tuple[str, str | None], dict[str, Any]],
    per_stream: dict[str, dict[str, Any]],
) -> Campaign:
    """A copy of the campaign with fields replaced (no validation: supports were
    checked when the scenario was loaded)."""
    change: dict[str, Any] = {}
    for section in SINGLE:
        if (section, None) in edits and getattr(campaign, section) is not None:
            change[section] = getattr(campaign, section).model_copy(
                update=edits[(section, None)]
            )
    hosts = {
        k: h.model_copy(update=edits[("hosts", k)]) if ("hosts", k) in edits else h
        for k, h in campaign.hosts.items()
    }
    change["hosts"] = hosts
    change["products"] = {
        k: p.model_copy(update=edits[("products", k)])
        if ("products", k) in edits
        else p
        for k, p in campaign.products.items()
    }
    change["streams"] = tuple(
        s.model_copy(update=edits[("streams", s.id)])
        if ("streams", s.id) in edits
        else s
        for s in campaign.streams
    )
    change["stream_hosts"] = {
        sid: hosts[next(s.host for s in campaign.streams if s.id == sid)].model_copy(
            update=update
        )
        for sid, update in per_stream.items()
    }
    return dataclasses.replace(campaign, **change)


def row_values(
    campaign: Campaign, values: Values, stream: str, host: str
) -> dict[str, float]:
    """The `param.<name>` columns of a stream's row: the draw of the campaign, of
    the row's host or of its stream (NaN where a prior does not reach the row)."""
    out = {}
    for res in campaign.priors:
        p = res.prior
        unit = {"campaign": "", "host": host, "stream": stream}[p.scope]
        out[f"param.{p.name}"] = values.get(p.name, {}).get(unit, math.nan)
    return out
