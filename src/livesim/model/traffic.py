"""Traffic: where viewers come from, how many to expect, and when the audience explodes.

Arrivals to a stream are a non-homogeneous Poisson process summed from followers
reached (a time profile over the stream), platform recommendation (a base rate with a
bounded boost from GMV per 1,000 views, plus viewers brought by recent comments),
paid traffic, word of mouth and carry-over from earlier streams. docs/model.md,
section 3, has the equations.
"""

from __future__ import annotations

import math

import numpy as np

from livesim.scenario import Campaign, HostParams, Platform, Stream


def mean_dwell(host: HostParams) -> float:
    """E[D] in minutes (both dwell distributions are parameterised by their mean)."""
    return host.dwell_mean_minutes


def branching_factor(host: HostParams, platform: Platform) -> float:
    """Expected new viewers one viewer brings: word of mouth plus comment feedback.

    s * k + kappa * c * E[D]; the dwell truncation at the stream's end only lowers
    it, so this is an upper bound and a config is refused when it is >= 1.
    """
    wom = host.share_prob * platform.wom_viewers_per_share
    feedback = (
        platform.feedback_viewers_per_comment * host.comment_rate * mean_dwell(host)
    )
    return wom + feedback


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


def ad_impressions(stream: Stream, cpm: float) -> float:
    """Impressions bought by the stream's ad spend at cost `cpm` per thousand."""
    return 0.0 if cpm <= 0 else stream.ad_spend / cpm * 1000.0


def expected_viewers(campaign: Campaign, stream: Stream) -> float:
    """A pre-flight estimate of a stream's room entries (an upper-side estimate).

    Direct arrivals (followers, recommendation at its largest boost, ads) divided by
    1 - branching factor; carry-over is at most a share of earlier streams and is
    left out.
    """
    host = campaign.hosts[stream.host]
    platform = campaign.platform
    direct = (
        expected_followers(host)
        + host.recommendation_rate * (1.0 + platform.gpm_boost) * stream.duration
        + ad_impressions(stream, campaign.costs.cpm) * campaign.costs.ad_enter_rate
    )
    factor = branching_factor(host, platform)
    return direct / (1.0 - factor) if factor < 1 else math.inf
