"""The checks of a scenario's priors, made once when it is loaded.

Each path must name a number field that exists and that a prior may write (not
the schedule nor the awareness funnel's counts), with a scope that fits it; each
field gets one prior and one path; every draw, rounded where the field takes whole
numbers, must stay inside the field's range from its schema; and the checks that
tie fields together hold at the corners of the supports (the branching factor, and
trust that only grows). A replication then writes its draws in without validating
the scenario again (`model.uncertainty.realize`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from livesim.model.traffic import branching_factor, stream_hold
from livesim.model.uncertainty import (
    FIXED_FIELDS,
    Prior,
    Target,
    Values,
    current,
    holder,
    numeric_field,
    parse_path,
    targets,
    with_values,
)

if TYPE_CHECKING:
    from livesim.scenario import Campaign


@dataclass(frozen=True)
class Bounds:
    """The range a field allows (from its schema) and whether it takes integers."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    whole: bool = False

    def admits(self, lo: float, hi: float, attained: bool) -> bool:
        """Whether values in [lo, hi] are allowed; with `attained` False the ends
        are reached with probability 0 (a continuous distribution)."""
        open_lo = self.low_open and attained
        open_hi = self.high_open and attained
        low_ok = lo > self.low if open_lo else lo >= self.low
        high_ok = hi < self.high if open_hi else hi <= self.high
        return low_ok and high_ok


def field_bounds(campaign: Campaign, t: Target) -> Bounds | None:
    """The range of a numeric field from its schema; None if it is not a number."""
    found = numeric_field(campaign, t)
    if found is None:
        return None
    kind, rules = found
    low, high = -math.inf, math.inf
    low_open = high_open = False
    for rule in rules:
        if getattr(rule, "ge", None) is not None:
            low, low_open = float(rule.ge), False
        if getattr(rule, "gt", None) is not None:
            low, low_open = float(rule.gt), True
        if getattr(rule, "le", None) is not None:
            high, high_open = float(rule.le), False
        if getattr(rule, "lt", None) is not None:
            high, high_open = float(rule.lt), True
    return Bounds(low, high, low_open, high_open, whole=kind is int)


def check_priors(priors: Sequence[Prior], campaigns: Sequence[Campaign]) -> list[str]:
    """Every problem of a scenario's priors against its campaigns (the baseline and
    each strategy), one line each with the field path, value and rule."""
    problems: list[str] = []
    seen: set[str] = set()
    owners: dict[tuple[str, Target], tuple[str, Prior]] = {}
    for i, prior in enumerate(priors):
        where = f"uncertainty[{i}]"
        if prior.name in seen:
            problems.append(f"{where}.name: {prior.name!r} is used twice")
        seen.add(prior.name)
        problems += _check_paths(where, prior, campaigns, owners)
    if not problems:
        problems = _check_corners(priors, campaigns)
    return problems


def _check_paths(
    where: str,
    prior: Prior,
    campaigns: Sequence[Campaign],
    owners: dict[tuple[str, Target], tuple[str, Prior]],
) -> list[str]:
    problems: list[str] = []
    for j, path in enumerate(prior.paths):
        at = f"{where}.paths[{j}]"
        parsed = parse_path(path)
        if parsed is None:
            problems.append(
                f"{at}: {path!r} is not a path: hosts|products|streams.<id or *>."
                "<field>, or platform|costs|awareness.<field>"
            )
            continue
        section = parsed[0]
        if prior.scope == "host" and section != "hosts":
            problems.append(f"{at}: {path!r}: scope 'host' takes hosts.* paths only")
            continue
        if prior.scope == "stream" and section not in ("hosts", "streams"):
            problems.append(
                f"{at}: {path!r}: scope 'stream' takes hosts.* or streams.* paths"
            )
            continue
        found = [(c, t) for c in campaigns for t in targets(c, path)]
        if not found:
            problems.append(f"{at}: {path!r} matches nothing in the scenario")
            continue
        problem = _support_problem(prior, path, found) or _overlap(
            at, prior, found, owners
        )
        if problem:
            problems.append(f"{at}: {path!r}: {problem}")
    return problems


def _overlap(
    at: str,
    prior: Prior,
    found: list[tuple[Campaign, Target]],
    owners: dict[tuple[str, Target], tuple[str, Prior]],
) -> str | None:
    """Why a path writes a field another prior or path already writes, if it does
    (one prior per field: the values would compound, and depend on the order),
    unless both scale it (`compounds`)."""
    for campaign, t in found:
        owner, first = owners.setdefault((campaign.name, t), (at, prior))
        twice = sum(1 for c, u in found if c is campaign and u == t) > 1
        if twice or (owner != at and not compounds(first, prior, campaign, t)):
            key = f".{t.key}" if t.key is not None else ""
            return (
                f"{t.section}{key}.{t.field} is also written by {owner}; give each "
                "field one prior and one path (two priors may share a field only "
                'if both have mode = "scale", neither has scope "stream", and the '
                "field takes any number from 0 up)"
            )
    return None


def compounds(a: Prior, b: Prior, campaign: Campaign, t: Target) -> bool:
    """Whether two priors may both write a field: both scale it, per campaign or
    host (their draws multiply, in any order: a campaign-wide effect times a
    host's own), with non-negative draws, on a field with no upper bound that
    takes fractions (so the product can never leave its range)."""
    bounds = field_bounds(campaign, t)
    return (
        bounds is not None
        and not bounds.whole
        and bounds.high == math.inf
        and bounds.low <= 0.0
        and all(
            p.mode == "scale" and p.scope != "stream" and p.support()[0] >= 0.0
            for p in (a, b)
        )
    )


def _support_problem(
    prior: Prior, path: str, found: list[tuple[Campaign, Target]]
) -> str | None:
    """Why a draw could leave the range of a field it is written to, if it could."""
    lo, hi = prior.support()
    for campaign, t in found:
        model = type(holder(campaign, t))
        if t.field not in model.model_fields:
            return f"{t.field!r} is not a field of {t.section}"
        if (t.section, t.field) in FIXED_FIELDS:
            return f"{t.field!r} shapes the schedule or the awareness funnel: no prior"
        bounds = field_bounds(campaign, t)
        if bounds is None:
            return f"{t.field!r} is not a number"
        base = 1.0 if prior.mode == "set" else current(campaign, t)
        if base is None:
            return f'{t.field!r} has no value to scale; use mode = "set"'
        ends = sorted((base * lo, base * hi))
        attained = prior.dist == "choice" or base == 0
        if bounds.whole:  # the draw is rounded: its ends can be reached
            ends, attained = [float(round(e)) for e in ends], True
        if not bounds.admits(ends[0], ends[1], attained):
            shown = "draws" if prior.mode == "set" else f"{base:g} x draws"
            return (
                f"{shown} in [{ends[0]:g}, {ends[1]:g}] leave the field's range "
                f"{'(' if bounds.low_open else '['}{bounds.low:g}, {bounds.high:g}"
                f"{')' if bounds.high_open else ']'}; choose a distribution inside "
                "it (or truncate a lognormal or normal with low/high)"
            )
    return None


def _check_corners(priors: Sequence[Prior], campaigns: Sequence[Campaign]) -> list[str]:
    """The checks that tie fields together, at the corners of the priors'
    supports: the branching factor (increasing in every field it reads) with every
    prior at its top, and trust that only grows (initial trust at its top, the
    ceiling at its bottom)."""
    names = ", ".join(p.name for p in priors)
    problems: list[str] = []
    for campaign in campaigns:
        top = with_values(campaign, _corner(campaign, lambda p, t: True))
        trust = with_values(
            campaign, _corner(campaign, lambda p, t: t.field != "trust_ceiling")
        )
        for stream in campaign.streams:
            host = top.host_of(stream)
            factor = branching_factor(host, top.platform, stream_hold(stream))
            if not factor < 1.0:
                problems.append(
                    f"uncertainty: with the priors ({names}) at the top of their "
                    f"ranges, stream {stream.id!r} of {campaign.name} has a branching "
                    f"factor of {factor:.3g} (must be < 1): narrow the priors on "
                    "share_prob, wom_viewers_per_share, feedback_viewers_per_comment, "
                    "comment_rate or dwell_mean_minutes"
                )
            low = trust.host_of(stream)
            if low.initial_trust > low.trust_ceiling:
                problems.append(
                    f"uncertainty: the priors ({names}) can put the initial trust of "
                    f"stream {stream.id!r}'s host above its ceiling "
                    f"({low.initial_trust:g} > {low.trust_ceiling:g}) in "
                    f"{campaign.name}"
                )
    return list(dict.fromkeys(problems))


def _corner(campaign: Campaign, upper: Any) -> Values:
    """Every prior's value per unit at an end of its support: the top where
    `upper(prior, target)` holds for its first target, else the bottom."""
    out: Values = {}
    for res in campaign.priors:
        lo, hi = res.prior.support()
        for unit, ts in res.units:
            value = hi if upper(res.prior, ts[0]) else lo
            out.setdefault(res.prior.name, {})[unit] = value
    return out
