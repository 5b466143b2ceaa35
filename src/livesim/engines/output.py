"""The engine interface: what a replication returns, whichever engine ran it.

Both engines count a stream's tallies (`StreamTally`), build its replication row
from them (`stream_row`: reach, funnel, GMV, cost, ROI) and return a
`SessionOutput`: one row per stream, a per-minute series per stream
(`TIMESERIES_COLUMNS`) and, for the agent engine on request, the event log.
Nothing outside `livesim.engines` imports an engine's own modules: the runner, the
checkpoints and the page read this module and `engines.engine_runner`.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from livesim.model import traffic
from livesim.model.stream import (
    ADS,
    AWARE,
    CARRY,
    FOLLOWER,
    PLATFORM,
    SOURCE_NAMES,
    WOM,
    StreamConstants,
)
from livesim.scenario import Campaign

__all__ = [
    "SOURCE_NAMES",
    "TIMESERIES_COLUMNS",
    "COUNTS",
    "SessionOutput",
    "StreamTally",
    "fewer_collections",
    "stream_row",
]

#: Columns of a stream's per-minute series (rows: minutes of the stream).
TIMESERIES_COLUMNS = (
    "concurrent",
    *(f"arrivals_{s}" for s in SOURCE_NAMES),
    "orders",
    "gmv",
)


@dataclass
class StreamTally:
    """What one stream counts during a replication (tallies, not levels)."""

    viewers: int = 0
    fake_viewers: int = 0
    unique_viewers: int = 0
    watch_minutes: float = 0.0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    engaged: int = 0
    clicked: int = 0
    askers: int = 0
    questions_asked: int = 0
    questions_answered: int = 0
    questions_abandoned: int = 0
    qa_wait_minutes: float = 0.0
    orders: int = 0
    delayed_orders: int = 0
    units: int = 0
    gross_gmv: float = 0.0
    refunds: float = 0.0
    returned_orders: int = 0
    margin_value: float = 0.0
    lost_sales: int = 0
    platform_expected: float = 0.0


#: Tallies that are counts (the others are minutes, RMB or expected viewers).
COUNTS = frozenset(f.name for f in fields(StreamTally) if f.type in (int, "int"))


@dataclass
class SessionOutput:
    """What one replication of one campaign returns."""

    rows: list[dict[str, Any]]
    timeseries: dict[str, np.ndarray]
    events: list[tuple[str, int, float, str, str]] | None


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while a replication runs.

    SimPy's processes and events form reference cycles, and a million-viewer session
    keeps ~1e5 of them alive; at Python's default thresholds the collector rescans
    them so often that it doubles the run time (measured: 29.3 -> 15.5 us per viewer
    on the 1M-viewer benchmark, same peak memory). The thresholds are restored after.
    """
    old = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*old)


def stream_row(
    campaign: Campaign,
    sc: StreamConstants,
    tally: StreamTally,
    arrivals: Sequence[int],
    reach: np.random.Generator,
    peak: int,
) -> dict[str, Any]:
    """A stream's replication row (see results.ADDITIVE and docs/model.md) from its
    constants, tallies, arrivals by source, the peak of concurrent viewers and its
    `reach` generator (`model.rng.reach_generator`)."""
    t = tally
    host = sc.host
    platform = campaign.platform
    costs = campaign.costs
    # reached = entered + those shown the stream who did not enter (independent
    # Poisson counts by the thinning property of the Poisson process)
    not_entered = reach.poisson(
        (
            host.followers * host.reach_share * (1.0 - host.enter_rate),
            t.platform_expected
            * (1.0 - platform.recommend_enter_rate)
            / platform.recommend_enter_rate,
        )
    )
    impressions = traffic.ad_impressions(sc.stream, costs.cpm)
    reached = (
        arrivals[FOLLOWER]
        + arrivals[PLATFORM]
        + int(not_entered.sum())
        + max(int(round(impressions)), arrivals[ADS])
        + arrivals[WOM]
        + arrivals[CARRY]
        + arrivals[AWARE]
    )
    net = t.gross_gmv - t.refunds
    cost = (
        host.fee
        + host.gift_value
        + sc.stream.ad_spend
        + host.commission_rate * net
        + costs.fixed / len(campaign.streams)
    )
    return {
        "stream": sc.stream.id,
        "host": sc.stream.host,
        "host_kind": sc.kind,
        "reached": reached,
        "viewers": t.viewers,
        "unique_viewers": t.unique_viewers,
        "fake_viewers": t.fake_viewers,
        "peak_concurrent": peak,
        "mean_watch_minutes": t.watch_minutes / t.unique_viewers
        if t.unique_viewers
        else 0.0,
        "likes": t.likes,
        "comments": t.comments,
        "shares": t.shares,
        "engaged": t.engaged,
        "clicked": t.clicked,
        "askers": t.askers,
        "questions_asked": t.questions_asked,
        "questions_answered": t.questions_answered,
        "questions_abandoned": t.questions_abandoned,
        "mean_qa_wait": t.qa_wait_minutes / t.questions_answered
        if t.questions_answered
        else 0.0,
        "orders": t.orders,
        "delayed_orders": t.delayed_orders,
        "kept_orders": t.orders - t.returned_orders,
        "returned_orders": t.returned_orders,
        "units": t.units,
        "gross_gmv": t.gross_gmv,
        "refunds": t.refunds,
        "net_gmv": net,
        "conversion_rate": t.orders / t.unique_viewers if t.unique_viewers else 0.0,
        "lost_sales": t.lost_sales,
        "margin_value": t.margin_value,
        "cost": cost,
        "roi": (t.margin_value - cost) / cost if cost > 0 else math.nan,
        **{f"arrivals_{s}": arrivals[i] for i, s in enumerate(SOURCE_NAMES)},
    }
