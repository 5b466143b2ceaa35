"""A stream's constants in one replication's model, built once for both engines.

Everything about a stream that does not change while it runs: the dwell and
intent distributions, trust, the products and their segments, the promotions as a
table (the form `model.viewer` reads), the bound of the purchase hazard, and the
expected arrivals per minute by source. No random numbers and no events: the agent
engine adds its SimPy state to these (`engines.agent.StreamRun`), the cohort engine
lays them out as arrays (`engines.cohort.StreamTable`). docs/model.md states every
equation.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from livesim.model import traffic, viewer

if TYPE_CHECKING:
    from livesim.scenario import Campaign, Stream

#: The traffic sources of a viewer, in the order of every per-source column.
SOURCE_NAMES = ("follower", "platform", "ads", "wom", "carryover", "awareness")
FOLLOWER, PLATFORM, ADS, WOM, CARRY, AWARE = range(len(SOURCE_NAMES))


class StreamConstants:
    """One stream's constants (campaign minutes are absolute)."""

    def __init__(self, campaign: Campaign, stream: Stream) -> None:
        host = campaign.host_of(stream)
        platform = campaign.platform
        self.stream = stream
        self.host = host
        self.kind = campaign.host_kinds[stream.host]
        self.start = float(stream.start)
        self.end = float(stream.end)
        self.minutes = stream.duration
        # dwell: lognormal with mean dwell_mean_minutes, or exponential
        self.lognormal = host.dwell_distribution == "lognormal"
        self.dwell_mean = host.dwell_mean_minutes
        self.dwell_mu = math.log(host.dwell_mean_minutes) - 0.5 * host.dwell_sigma**2
        self.dwell_sigma = host.dwell_sigma
        self.fake_share = 1.0 - host.real_follower_share
        self.intent_half = 0.5 * host.intent_sigma**2
        eps_sigma = platform.price_sensitivity_sigma
        self.eps_mu = (
            math.log(host.price_sensitivity) - 0.5 * eps_sigma**2
            if host.price_sensitivity > 0
            else -math.inf
        )
        self.eps_sigma = eps_sigma
        # trust: T(t) = ceiling - gap * exp(-rate * (t - t_ref))
        self.ceiling = host.trust_ceiling
        self.gap0 = host.trust_ceiling - host.initial_trust
        # products and segments
        products = [campaign.products[p] for p in stream.products]
        self.fits = tuple(p.fit for p in products)
        self.segment = (
            float(stream.segment_minutes)
            if stream.segment_minutes
            else stream.duration / len(products)
        )
        self._promotions(stream)
        self.scarcity_lift = platform.scarcity_lift
        self.scarcity_threshold = platform.scarcity_threshold
        self.hazard_unit = viewer.hazard_unit(
            host.purchase_rate,
            host.trust_ceiling,
            max(self.fits),
            any(p.stock is not None for p in products),
            platform.scarcity_lift,
        )
        self._traffic(campaign, stream)

    def _promotions(self, stream: Stream) -> None:
        """The promotions as a table, one row each in the order listed:
        (start, end, discount, urgency, announced from, hold) and the products it
        applies to; and the draw on arrivals minute by minute."""
        self.promo_t0 = tuple(self.start + p.start for p in stream.promotions)
        self.promo_t1 = tuple(
            self.start + p.start + p.duration for p in stream.promotions
        )
        self.promo_depth = tuple(p.discount for p in stream.promotions)
        self.promo_lift = tuple(p.urgency for p in stream.promotions)
        self.promo_on = tuple(
            tuple(pid in (p.products or stream.products) for pid in stream.products)
            for p in stream.promotions
        )
        self.promo_slots = range(len(stream.promotions))
        # an announced promotion's crowd: from its announcement (not before the
        # stream's start) to its end, stays lengthened by `hold`, arrivals x `draw`
        self.promo_from = tuple(
            self.start + max(0, p.start - p.announce_minutes) for p in stream.promotions
        )
        self.promo_hold = tuple(p.hold for p in stream.promotions)
        self.holds = any(h != 1.0 for h in self.promo_hold)
        self.draw = traffic.draw_per_minute(stream)

    def _traffic(self, campaign: Campaign, stream: Stream) -> None:
        """Expected arrivals per minute by source, and the follower profile."""
        host = self.host
        platform = campaign.platform
        edges = np.arange(stream.duration + 1, dtype=float)
        cdf = traffic.follower_cdf(host, stream.duration, edges)
        self.follower_cdf = cdf
        share = np.diff(cdf) * self.draw  # (x the promotions' draw)
        self.follower_per_minute = traffic.expected_followers(host) * share
        # the audience of an awareness phase comes as followers do, at the start
        self.aware_total = traffic.expected_aware(campaign, stream)
        self.aware_per_minute = self.aware_total * share
        self.recommendation = traffic.recommendation(campaign, stream)
        self.ads_per_minute = (
            traffic.ad_impressions(stream, campaign.costs.cpm)
            * campaign.costs.ad_enter_rate
            / stream.duration
        )
        # mean intent of arrivals by source; carry-over arrivals are given theirs
        # by the earlier stream's host, so their slot is a placeholder
        self.intent_by_source = (
            platform.intent_follower,
            platform.intent_platform,
            platform.intent_ads,
            platform.intent_wom,
            platform.intent_follower,
            campaign.awareness.intent if campaign.awareness else 0.0,
        )

    def featured(self, t: float) -> int:
        """Index of the product on sale at campaign minute t."""
        return viewer.featured(t, self.start, self.segment, len(self.fits))


def stream_constants(campaign: Campaign) -> list[StreamConstants]:
    """The constants of every stream of a campaign, in the campaign's order."""
    return [StreamConstants(campaign, s) for s in campaign.streams]
