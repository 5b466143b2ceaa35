"""Traffic: where viewers come from, how many to expect, and when the audience explodes.

Arrivals to a stream are a non-homogeneous Poisson process summed from followers
reached (a time profile over the stream), platform recommendation (a base rate with a
bounded boost from GMV per 1,000 views, plus viewers brought by recent comments),
paid traffic, word of mouth, carry-over from earlier streams and the audience an
awareness phase (an audition month) built before the event. docs/model.md, section 2,
has the equations.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the schema checks its configs with these functions
    from livesim.scenario import Awareness, Campaign, HostParams, Platform, Stream


def mean_dwell(host: HostParams) -> float:
    """E[D] in minutes (both dwell distributions are parameterised by their mean)."""
    return host.dwell_mean_minutes


def branching_factor(host: HostParams, platform: Platform, hold: float = 1.0) -> float:
    """Expected new viewers one viewer brings: word of mouth plus comment feedback.

    s * k + kappa * c * E[D] * hold, `hold` the largest factor a promotion puts on
    a stay (`stream_hold`); the dwell truncation at the stream's end only lowers it,
    so this is an upper bound and a config is refused when it is >= 1.
    """
    wom = host.share_prob * platform.wom_viewers_per_share
    feedback = (
        platform.feedback_viewers_per_comment
        * host.comment_rate
        * mean_dwell(host)
        * hold
    )
    return wom + feedback


def stream_hold(stream: Stream) -> float:
    """The largest factor a stream's promotions put on a stay (1 without one)."""
    return max((p.hold for p in stream.promotions), default=1.0)


def draw_per_minute(stream: Stream) -> np.ndarray:
    """The factor on the stream's direct arrivals minute by minute: an announced
    promotion's `draw` from `announce_minutes` before its start (not before the
    stream's) to its end; overlapping windows take the largest, 1 elsewhere."""
    draw = np.ones(stream.duration)
    for p in stream.promotions:
        if p.draw != 1.0:
            lo = max(0, p.start - p.announce_minutes)
            window = draw[lo : p.start + p.duration]
            np.maximum(window, p.draw, out=window)
    return draw


def follower_cdf(host: HostParams, duration: float, x: np.ndarray) -> np.ndarray:
    """Share of a stream's follower arrivals that come before minute x of the stream."""
    if host.arrival_profile == "uniform":
        return np.clip(x / duration, 0.0, 1.0)
    tau = host.arrival_decay_minutes
    return -np.expm1(-np.clip(x, 0.0, duration) / tau) / -math.expm1(-duration / tau)


def follower_inverse(host: HostParams, duration: float, u: np.ndarray) -> np.ndarray:
    """Minute (from the stream's start) by which a share u of followers has come."""
    if host.arrival_profile == "uniform":
        return u * duration
    tau = host.arrival_decay_minutes
    return -tau * np.log1p(u * math.expm1(-duration / tau))


def expected_followers(host: HostParams) -> float:
    """Expected follower entries (real and fake) over one stream."""
    return host.followers * host.reach_share * host.enter_rate


def retention(days: float, half_life: float | None) -> float:
    """Share of the people an awareness phase reached who still remember the event when
    it starts: exposures spread evenly over `days`, each memory fading with a half-life
    of `half_life` days, (h / (D ln 2)) (1 - 2^(-D/h)); 1 without forgetting."""
    if half_life is None:
        return 1.0
    rate = math.log(2.0) / half_life
    return -math.expm1(-rate * days) / (rate * days)


def still_aware(phase: Awareness) -> float:
    """People who remember the event when it starts: people reached (impressions /
    frequency) x retention."""
    people = phase.impressions / phase.frequency
    return people * retention(phase.days, phase.memory_half_life_days)


def aware_audience(phase: Awareness) -> float:
    """Expected arrivals the awareness phase sends to the event, over all its streams:
    those still aware x turnout."""
    return still_aware(phase) * phase.turnout


def awareness_summary(phase: Awareness) -> dict[str, float | int | None]:
    """The awareness phase's funnel, for manifests and printed summaries."""
    return {
        "days": phase.days,
        "impressions": phase.impressions,
        "people_reached": phase.impressions / phase.frequency,
        "still_aware": still_aware(phase),
        "expected_arrivals": aware_audience(phase),
        "participants": phase.participants,
        "finalists": phase.finalists,
        "selected": phase.selected,
    }


def describe_awareness(f: dict[str, float | int | None]) -> str:
    """One line: an `awareness_summary`, from impressions to the event's arrivals."""
    line = (
        f"awareness phase: {f['impressions']:,.0f} impressions over {f['days']:g} days"
        f" -> {f['people_reached']:,.0f} people reached -> {f['still_aware']:,.0f} "
        f"still aware -> {f['expected_arrivals']:,.0f} expected arrivals"
    )
    funnel = [f[k] for k in ("participants", "finalists", "selected")]
    if any(v is not None for v in funnel):
        shown = " -> ".join(f"{v:,}" for v in funnel if v is not None)
        line += f"; hosts {shown} (participants -> finalists -> selected)"
    return line


def event_targets(campaign: Campaign) -> list[str]:
    """The ids of the event's streams (every stream unless the phase lists some)."""
    phase = campaign.awareness
    if phase is None:
        return []
    return phase.streams or [s.id for s in campaign.streams]


def event_share(campaign: Campaign, stream: Stream) -> float:
    """The share of the event's audience and push that reaches a stream: 0 off the
    event's streams, 1 when its host is of the event's own kinds (every kind when
    none are named), `follow_share` when it is of another kind."""
    phase = campaign.awareness
    if phase is None or stream.id not in event_targets(campaign):
        return 0.0
    kind = campaign.host_kinds[stream.host]
    if phase.own_kinds is None or kind in phase.own_kinds:
        return 1.0
    return phase.follow_share


def expected_aware(campaign: Campaign, stream: Stream) -> float:
    """Expected aware arrivals to one stream: an equal share of the event's audience
    over its streams, times the stream's `event_share`."""
    share = event_share(campaign, stream)
    if share == 0.0 or campaign.awareness is None:
        return 0.0
    return aware_audience(campaign.awareness) / len(event_targets(campaign)) * share


def recommendation(campaign: Campaign, stream: Stream) -> float:
    """A stream's base platform recommendation (viewers/min): its host's own rate
    plus the event's push times the stream's `event_share`."""
    own = campaign.host_of(stream).recommendation_rate
    phase = campaign.awareness
    if phase is None or phase.push == 0.0:
        return own
    return own + phase.push * event_share(campaign, stream)


def ad_impressions(stream: Stream, cpm: float) -> float:
    """Impressions bought by the stream's ad spend at cost `cpm` per thousand."""
    return 0.0 if cpm <= 0 else stream.ad_spend / cpm * 1000.0


def expected_viewers(campaign: Campaign, stream: Stream) -> float:
    """A pre-flight estimate of a stream's room entries (an upper-side estimate).

    Direct arrivals (followers and an awareness phase's audience on the follower
    profile; recommendation at its largest boost and ads at an even rate), minute by
    minute times the promotions' draw, divided by 1 - branching factor; carry-over
    is at most a share of earlier streams and is left out.
    """
    host = campaign.host_of(stream)
    platform = campaign.platform
    edges = np.arange(stream.duration + 1, dtype=float)
    profiled = expected_followers(host) + expected_aware(campaign, stream)
    even = (
        recommendation(campaign, stream) * (1.0 + platform.gpm_boost)
        + ad_impressions(stream, campaign.costs.cpm)
        * campaign.costs.ad_enter_rate
        / stream.duration
    )
    share = np.diff(follower_cdf(host, stream.duration, edges))
    direct = float(np.sum(draw_per_minute(stream) * (profiled * share + even)))
    factor = branching_factor(host, platform, stream_hold(stream))
    return direct / (1.0 - factor) if factor < 1 else math.inf
