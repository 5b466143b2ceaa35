"""What the agent engine's event log tells the page, without Streamlit.

* `stockouts(...)`: when each product of a stream ran out of stock (the order that
  took its last unit) and how many sales it lost afterwards (purchases that found
  the stock empty: the log's `lost_sale` events), for the live view's "sold out"
  marker.
* `sample_viewers(...)` and `journeys(...)`: a few viewers drawn with the seed and
  their events in time order (arrival source, engagement, questions and answers,
  orders or lost sales, leaving), for the Viewers view.
* `trust_paths(...)`: each sampled viewer's trust over the visit. The log does not
  record trust; it is the model's curve (docs/model.md section 3) rebuilt from the
  host's trust parameters and the viewer's logged answers and given-up questions.

An event is the engine's tuple (stream, viewer, campaign time, kind, detail).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from livesim.model.viewer import gap_after_question, trust

Event = tuple[str, int, float, str, str]
#: The events that end in an order (in the stream or after it).
ORDERS = ("order", "delayed_order")
#: Engagement events of a visit.
ENGAGING = ("like", "comment", "click", "share")
#: How the Viewers view picks its viewers: two buyers, one who met empty stock,
#: one who asked a question (fewer where a group is short), the rest at random.
SAMPLE = (("bought", 2), ("lost sale", 1), ("asked", 1))
SAMPLE_SIZE = 5
#: Minutes between the points of a rebuilt trust curve.
TRUST_STEP = 0.5


@dataclass(frozen=True)
class StockOut:
    """A product that sold out: the stream minute its last unit went (negative if
    before the stream) and the sales it lost in and after the stream."""

    product: str
    minute: float
    lost_in_stream: int
    lost_after: int
    #: Stream minutes of the in-stream lost sales (for a count so far).
    times: tuple[float, ...] = ()

    @property
    def lost(self) -> int:
        """Every lost sale of the product in this stream's log."""
        return self.lost_in_stream + self.lost_after

    def sentence(self, upto: float | None = None) -> str:
        """'lipstick sold out at minute 32: 88 lost sales in the stream, 17 more
        after it ended (delayed purchases)'; with `upto` (a stream minute before
        the end), the lost sales so far."""
        when = (
            "before the stream"
            if self.minute < 0
            else f"at minute {math.floor(self.minute)}"
        )
        if upto is not None:
            so_far = sum(t <= upto for t in self.times)
            return f"{self.product} sold out {when}: {so_far} lost sales so far"
        after = (
            f", {self.lost_after} more after it ended (delayed purchases)"
            if self.lost_after
            else ""
        )
        return (
            f"{self.product} sold out {when}: {self.lost_in_stream} lost sales in "
            f"the stream{after}"
        )


def order_units(detail: str) -> tuple[str, int]:
    """The product and units of an order's detail ('lipstick x3 = 510.00')."""
    product, _, rest = detail.rpartition(" x")
    return product, int(rest.split(" = ")[0])


def sold_out_times(
    events: Iterable[Event], stock: Mapping[str, int | None]
) -> dict[str, float]:
    """Campaign time at which each limited product's orders took its last unit."""
    orders = sorted((e[2], e[4]) for e in events if e[3] in ORDERS)
    left = {p: s for p, s in stock.items() if s is not None}
    # a product without stock at the start was sold out before anything happened
    out: dict[str, float] = {p: -math.inf for p, s in left.items() if s <= 0}
    for time, detail in orders:
        product, units = order_units(detail)
        if product in left and product not in out:
            left[product] -= units
            if left[product] <= 0:
                out[product] = time
    return out


def stockouts(
    events: Sequence[Event],
    stock: Mapping[str, int | None],
    stream: str,
    products: Sequence[str],
    window: tuple[float, float],
) -> list[StockOut]:
    """The stream's products that sold out before its end (`window`: its start
    and end in campaign minutes), in the order they ran out."""
    start, end = window
    when = sold_out_times(events, stock)
    lost: dict[str, list[float]] = defaultdict(list)
    for s, _, time, kind, detail in events:
        if s == stream and kind == "lost_sale":
            lost[detail].append(time)
    found = []
    for product in products:
        times = lost.get(product, [])
        t = when.get(product, min(times, default=math.inf))
        if t < end:
            during = tuple(x - start for x in times if x < end)
            found.append(
                StockOut(
                    product, t - start, len(during), len(times) - len(during), during
                )
            )
    return sorted(found, key=lambda s: s.minute)


# -------------------------------------------------------------------- journeys


def by_viewer(events: Iterable[Event], chosen: Iterable[int]) -> dict[int, list[Event]]:
    """The chosen viewers' events (of one stream's log), each in time order."""
    wanted = set(chosen)
    out: dict[int, list[Event]] = {v: [] for v in wanted}
    for event in events:
        if event[1] in wanted:
            out[event[1]].append(event)
    for evs in out.values():
        evs.sort(key=lambda e: e[2])
    return out


def outcome(evs: Sequence[Event]) -> str:
    """'bought', 'lost sale' (wanted to buy, found no stock) or 'no order'."""
    kinds = {e[3] for e in evs}
    if kinds & set(ORDERS):
        return "bought"
    return "lost sale" if "lost_sale" in kinds else "no order"


#: The events that put a viewer in a group of `SAMPLE` (the first group wins).
GROUP_EVENTS = (
    ("bought", ORDERS),
    ("lost sale", ("lost_sale",)),
    ("asked", ("question",)),
)


def viewer_groups(events: Iterable[Event]) -> dict[str, list[int]]:
    """The real (not fake-follower) viewers of one stream's log, in id order, by
    `SAMPLE` group, and all of them as "anyone"."""
    seen: dict[str, set[int]] = defaultdict(set)
    for _, vid, _, kind, detail in events:
        if kind == "arrive":
            seen["fake" if detail == "fake_follower" else "anyone"].add(vid)
        else:
            seen[kind].add(vid)
    real = seen["anyone"] - seen["fake"]
    groups = {"anyone": sorted(real)}
    taken: set[int] = set()
    for group, kinds in GROUP_EVENTS:
        members = set().union(*(seen[k] for k in kinds)) & real - taken
        groups[group] = sorted(members)
        taken |= members
    return groups


def sample_viewers(events: Sequence[Event], seed: int | Sequence[int]) -> list[int]:
    """`SAMPLE_SIZE` real viewers of one stream's log drawn with `seed`: those of
    `SAMPLE` first, the rest at random, in id order (the order of arrival)."""
    rng = np.random.default_rng(seed)
    groups = viewer_groups(events)
    chosen: list[int] = []
    for group, n in SAMPLE:
        chosen += _draw(rng, groups[group], n)
    rest = [v for v in groups["anyone"] if v not in chosen]
    chosen += _draw(rng, rest, SAMPLE_SIZE - len(chosen))
    return sorted(chosen)


def _draw(rng: np.random.Generator, pool: list[int], n: int) -> list[int]:
    """Up to n of `pool`, without replacement."""
    size = max(0, min(n, len(pool)))
    return [int(v) for v in rng.choice(pool, size=size, replace=False)] if size else []


def viewer_label(vid: int, evs: Sequence[Event]) -> str:
    """'viewer 17 (platform, bought)': the id, arrival source and outcome."""
    return f"viewer {vid} ({source_of(evs)}, {outcome(evs)})"


def source_of(evs: Sequence[Event]) -> str:
    """The traffic source the viewer arrived from."""
    return next((e[4] for e in evs if e[3] == "arrive"), "?")


def journey_table(journey: pd.DataFrame) -> pd.DataFrame:
    """One row per viewer of `journeys(...)`: source, arrival and leaving minute,
    engagement, questions (answered), outcome and orders."""
    rows = []
    for viewer, evs in journey.groupby("viewer", sort=False):
        kind = evs["event"]
        sales = evs[kind.isin([*ORDERS, "lost_sale"])]
        rows.append(
            {
                "viewer": viewer,
                "source": evs["source"].iloc[0],
                "arrived (minute)": round(evs.loc[kind == "arrive", "minute"].min(), 1),
                "left (minute)": round(evs.loc[kind == "leave", "minute"].max(), 1),
                "likes, comments, clicks, shares": int(kind.isin(ENGAGING).sum()),
                "questions (answered)": f"{(kind == 'question').sum()} "
                f"({(kind == 'answered').sum()})",
                "outcome": evs["outcome"].iloc[0],
                "orders": "; ".join(
                    f"{k}: {d}"
                    for k, d in zip(sales["event"], sales["detail"], strict=True)
                ),
            }
        )
    return pd.DataFrame(rows)


def journeys(
    viewers: Mapping[int, Sequence[Event]], chosen: Sequence[int], start: float
) -> pd.DataFrame:
    """One row per event of the chosen viewers (stream minutes), in time order,
    with each viewer's label, id in the log, arrival source and outcome."""
    columns = ["viewer", "id", "source", "outcome", "minute", "event", "detail"]
    rows = [
        (viewer_label(v, evs), v, source_of(evs), outcome(evs), t - start, kind, detail)
        for v in chosen
        for evs in [viewers[v]]
        for _, _, t, kind, detail in evs
    ]
    return pd.DataFrame(rows, columns=columns)


@dataclass(frozen=True)
class TrustModel:
    """A host's trust parameters (docs/model.md section 3)."""

    initial: float
    ceiling: float
    rate: float
    answer_gain: float
    abandon_loss: float


def trust_path(evs: Sequence[Event], model: TrustModel) -> list[tuple[float, float]]:
    """(campaign time, trust) over one visit: the model's curve from the initial
    trust toward the ceiling, moved where a question was answered or given up (a
    question still waiting when the viewer leaves changes nothing)."""
    arrive = next(e[2] for e in evs if e[3] == "arrive")
    leave = max((e[2] for e in evs if e[3] == "leave"), default=arrive)
    resolved = [(e[2], e[3] == "answered") for e in evs if _moves_trust(e, leave)]
    t_ref, gap = arrive, model.ceiling - model.initial
    points: list[tuple[float, float]] = []
    for t_next, answered in [*resolved, (leave, None)]:
        for x in [*np.arange(t_ref, t_next, TRUST_STEP), t_next]:
            points.append((float(x), trust(model.ceiling, gap, model.rate, x - t_ref)))
        if answered is None:
            break
        gap = gap_after_question(
            gap,
            model.rate,
            t_next - t_ref,
            answered,
            model.answer_gain,
            model.abandon_loss,
            model.ceiling,
        )
        t_ref = t_next
    return points


def _moves_trust(event: Event, leave: float) -> bool:
    """An answer in the visit, or a question given up before leaving (the engine
    drops one still waiting at the viewer's leave time)."""
    kind, time = event[3], event[2]
    if kind == "answered":
        return time <= leave
    return kind == "abandoned" and time < leave - 1e-9


def trust_paths(
    viewers: Mapping[int, Sequence[Event]],
    chosen: Sequence[int],
    model: TrustModel,
    start: float,
) -> pd.DataFrame:
    """The chosen viewers' trust curves (viewer, minute, trust)."""
    rows = [
        {"viewer": viewer_label(v, viewers[v]), "minute": t - start, "trust": value}
        for v in chosen
        for t, value in trust_path(viewers[v], model)
    ]
    return pd.DataFrame(rows, columns=["viewer", "minute", "trust"])
