"""The cohort engine's campaign minute as one compiled step (numba).

`step` runs one campaign minute of every stream: the platform's arrivals (with its
feedback on the last minutes' comments and GMV), the batch of entries
(`kernels.enter`) and then the inbox of word-of-mouth and carry-over arrivals until it
is empty, the exact peak, the engagement after each viewer's first events
(`kernels.settle`), the Q&A desks (`kernels.serve`), the purchase clocks
(`kernels.shop`) and the time-ordered queue of orders against stock. `finish` serves
the questions and fills the orders left after the last minute.

The session's state is three groups of arrays (see `CohortSession`): constants (`C`,
read only), bins and tallies (`B`, written in place) and tables that grow (`G`: a
step returns them, reallocated when they had to grow), with their row counts in
`counts`. Each decision draws from its own generator for the minute, in a fixed
order (docs/model.md section 5).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import NamedTuple

import numba
import numpy as np

from livesim.engines import jitcache, kernels
from livesim.engines.kernels import (
    ASKER,
    CARRIED,
    END,
    MINUTES,
    QUESTION_RATE,
    SHARED,
    START,
    T,
    jit,
)
from livesim.model.stream import ADS, AWARE, CARRY, FOLLOWER, PLATFORM, WOM

#: Platform constants (`Consts.platform`), by position.
PLATFORM_FIELDS = (
    "feedback_window_minutes",
    "feedback_max_viewers_per_minute",
    "feedback_viewers_per_comment",
    "gpm_boost",
    "gpm_reference",
    "wom_viewers_per_share",
    "wom_delay_minutes",
    "intent_wom",
    "scarcity_lift",
    "attribution_window_minutes",
    "scarcity_threshold",
)
(
    WINDOW,
    FEEDBACK_MAX,
    PER_COMMENT,
    GPM_BOOST,
    GPM_REFERENCE,
    WOM_K,
    WOM_DELAY,
    INTENT_WOM,
    SCARCITY_LIFT,
    ATTRIBUTION,
    SCARCITY_THRESHOLD,
) = range(len(PLATFORM_FIELDS))

#: Row counts of the growing tables (`counts`).
COUNT_FIELDS = (
    "shoppers",
    "finished",
    "inbox",
    "orders",
    "questions",
    "leaves",
    "askers",
    "answers",
    "free_orders",
)
(
    SHOPPERS,
    FINISHED,
    INBOX,
    ORDERS,
    QUESTIONS,
    LEAVES,
    ASKERS,
    ANSWERS,
    FREE_ORDERS,
) = range(len(COUNT_FIELDS))
#: Minutes ahead whose leaves are filed by minute (`file_leaves`).
LEAVE_RING = 32
#: Columns of the inbox (scheduled arrivals), the order queue and the questions.
INBOX_FIELDS = ("minute", "stream", "time", "source", "intent")
ORDER_FIELDS = (
    "time",
    "stream",
    "product",
    "units",
    "unit_price",
    "returned",
    "late",
)
O_TIME, O_STREAM, O_PRODUCT, O_UNITS, O_PRICE, O_RETURNED, O_LATE = range(
    len(ORDER_FIELDS)
)
QUESTION_FIELDS = ("desk", "asked", "patience", "service", "asker", "leave")

LOST, ORDERS_T, DELAYED, UNITS_T, GROSS, REFUNDS, RETURNED_T, MARGIN = (
    T[k]
    for k in (
        "lost_sales",
        "orders",
        "delayed_orders",
        "units",
        "gross_gmv",
        "refunds",
        "returned_orders",
        "margin_value",
    )
)
ASKERS_T, ASKED_T, ANSWERED_T, ABANDONED_T, WAITED_T, EXPECTED_T = (
    T[k]
    for k in (
        "askers",
        "questions_asked",
        "questions_answered",
        "questions_abandoned",
        "qa_wait_minutes",
        "platform_expected",
    )
)


class Consts(NamedTuple):
    """What a step reads: the streams' and products' constants (`StreamTable`)."""

    par: np.ndarray  # kernels.PARAMS x streams
    start_minute: np.ndarray
    promo_slots: np.ndarray
    promo_t0: np.ndarray
    promo_t1: np.ndarray
    promo_depth: np.ndarray
    promo_lift: np.ndarray
    promo_on: np.ndarray
    promo_from: np.ndarray
    promo_hold: np.ndarray
    draw: np.ndarray  # streams x minutes: the promotions' factor on arrivals
    products: np.ndarray  # streams x product slots: campaign product index
    fit: np.ndarray
    follower_per_minute: np.ndarray  # streams x minutes
    follower_cdf: np.ndarray
    aware_per_minute: np.ndarray
    aware: bool
    ads_per_minute: np.ndarray
    recommendation: np.ndarray
    uniform_profile: np.ndarray
    tau: np.ndarray
    decay_scale: np.ndarray
    intent_by_source: np.ndarray
    later: np.ndarray
    carry_intent: np.ndarray
    patience: np.ndarray
    service: np.ndarray
    capacity: np.ndarray
    reneging: np.ndarray
    price: np.ndarray  # per campaign product
    unit_cost: np.ndarray
    return_cost: np.ndarray
    return_rate: np.ndarray
    extra_units: np.ndarray
    platform: np.ndarray  # PLATFORM_FIELDS


class Bins(NamedTuple):
    """What a step writes in place: per-stream bins, tallies and stock."""

    arrivals: np.ndarray  # streams x sources x minutes
    entered: np.ndarray  # streams x minutes
    comments: np.ndarray
    orders: np.ndarray
    gmv: np.ndarray
    area: np.ndarray
    full: np.ndarray
    tally: np.ndarray  # kernels.TALLY x streams
    present: np.ndarray
    peak: np.ndarray
    comment_part: np.ndarray
    comment_full: np.ndarray
    comment_running: np.ndarray
    like_exposure: np.ndarray
    servers: np.ndarray  # streams x most servers: when each frees
    level: np.ndarray  # per campaign product
    initial: np.ndarray
    scarce: np.ndarray
    counts: np.ndarray  # COUNT_FIELDS
    order_head: np.ndarray  # per campaign minute: its first and last order's row
    order_tail: np.ndarray  # (-1: none; the last minute holds all later ones)


class Tables(NamedTuple):
    """What grows (a step returns them): purchase clocks and their due times, the
    inbox, the order queue, the questions, pending leaves, answer chains."""

    shoppers: np.ndarray
    due: np.ndarray
    inbox: np.ndarray
    orders: np.ndarray
    order_next: np.ndarray  # per order row: the next row of its minute (-1: none)
    free_orders: np.ndarray  # rows to reuse
    questions: np.ndarray
    ring: np.ndarray  # LEAVE_RING x slots: leave keys of the minutes just ahead
    ring_n: np.ndarray  # keys in each slot
    far_minute: np.ndarray  # leaves further ahead (`counts[LEAVES]` of them)
    far_key: np.ndarray
    latest: np.ndarray  # per asker: its latest answer's slot (-1: none)
    at: np.ndarray  # per answer slot
    answered: np.ndarray
    previous: np.ndarray


def empty_tables() -> Tables:
    return Tables(
        shoppers=np.empty((1024, len(kernels.SHOPPER_FIELDS))),
        due=np.empty(1024),
        inbox=np.empty((1024, len(INBOX_FIELDS))),
        orders=np.empty((1024, len(ORDER_FIELDS))),
        order_next=np.full(1024, -1, dtype=np.int64),
        free_orders=np.empty(1024, dtype=np.int64),
        questions=np.empty((1024, len(QUESTION_FIELDS))),
        ring=np.empty((LEAVE_RING, 1024)),
        ring_n=np.zeros(LEAVE_RING, dtype=np.int64),
        far_minute=np.empty(0, dtype=np.int64),
        far_key=np.empty(0),
        latest=np.full(1024, -1, dtype=np.int64),
        at=np.empty(1024),
        answered=np.empty(1024, dtype=np.bool_),
        previous=np.empty(1024, dtype=np.int64),
    )


# ---------------------------------------------------------------------- tables


@jit
def rows_for(a: np.ndarray, need: int) -> np.ndarray:
    """A 2-D table with room for `need` rows (the same one if it has room)."""
    if need <= a.shape[0]:
        return a
    b = np.empty((max(2 * a.shape[0], need, 1024), a.shape[1]), dtype=a.dtype)
    b[: a.shape[0]] = a
    return b


@jit
def room_for(a: np.ndarray, need: int, fill: float) -> np.ndarray:
    """A 1-D array with room for `need` items, new ones set to `fill`."""
    if need <= len(a):
        return a
    b = np.empty(max(2 * len(a), need, 1024), dtype=a.dtype)
    b[: len(a)] = a
    b[len(a) :] = fill
    return b


@jit
def file_leaves(
    ring: np.ndarray,
    ring_n: np.ndarray,
    far_minute: np.ndarray,
    far_key: np.ndarray,
    counts: np.ndarray,
    new_minute: np.ndarray,
    new_key: np.ndarray,
    now: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """File a minute's new leaves (peak keys by campaign minute; -1: none) so that
    each minute's can be read without touching the others'.

    A leave within LEAVE_RING minutes of `now` goes into the ring's slot of its
    minute (`minute % LEAVE_RING`), a later one into the far list (the first
    `counts[LEAVES]` of `far_*`); far leaves that have come within LEAVE_RING
    minutes move to the ring. Then `ring[now % LEAVE_RING, :ring_n[...]]` holds all
    of `now`'s leaves, in no particular order (the caller empties the slot). Returns
    (ring, far_minute, far_key), grown if need be.
    """
    horizon = now + LEAVE_RING
    far = counts[LEAVES]
    grow = np.zeros(LEAVE_RING, dtype=np.int64)  # each slot's incoming leaves
    late = 0
    for m in new_minute:
        if m >= horizon:
            late += 1
        elif m >= 0:
            grow[m % LEAVE_RING] += 1
    kept = 0
    for i in range(far):
        m = far_minute[i]
        if m < horizon:
            grow[m % LEAVE_RING] += 1
        else:
            kept += 1
    width = ring.shape[1]
    for j in range(LEAVE_RING):
        width = max(width, ring_n[j] + grow[j])
    if width > ring.shape[1]:
        wider = np.empty((LEAVE_RING, max(width, 2 * ring.shape[1])))
        for j in range(LEAVE_RING):
            wider[j, : ring_n[j]] = ring[j, : ring_n[j]]
        ring = wider
    far_minute = room_for(far_minute, kept + late, 0)
    far_key = room_for(far_key, kept + late, 0.0)
    kept = 0
    for i in range(far):  # (in place: a kept leave never moves forward)
        m = far_minute[i]
        if m < horizon:
            j = m % LEAVE_RING
            ring[j, ring_n[j]] = far_key[i]
            ring_n[j] += 1
        else:
            far_minute[kept] = m
            far_key[kept] = far_key[i]
            kept += 1
    for i in range(len(new_minute)):
        m = new_minute[i]
        if m >= horizon:
            far_minute[kept] = m
            far_key[kept] = new_key[i]
            kept += 1
        elif m >= 0:
            j = m % LEAVE_RING
            ring[j, ring_n[j]] = new_key[i]
            ring_n[j] += 1
    counts[LEAVES] = kept
    return ring, far_minute, far_key


@jit
def counting_order(key: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The stable order that sorts integer keys 0..n-1 (a counting sort), and where
    each key's run starts in that order (`start[k]:start[k + 1]`)."""
    start = np.zeros(n + 1, dtype=np.int64)
    for k in key:
        start[k + 1] += 1
    for k in range(n):
        start[k + 1] += start[k]
    fill = start[:n].copy()
    order = np.empty(len(key), dtype=np.int64)
    for i in range(len(key)):
        order[fill[key[i]]] = i
        fill[key[i]] += 1
    return order, start


@jit
def take_before(
    table: np.ndarray, counts: np.ndarray, which: int, column: int, bound: float
) -> np.ndarray:
    """The rows of a table (its first `counts[which]`) whose `column` is below
    `bound`, removed from it; the rest keep their order."""
    rows = counts[which]
    k = 0
    for r in range(rows):
        k += table[r, column] < bound
    taken = np.empty((k, table.shape[1]))
    if k == 0:
        return taken
    j = kept = 0
    for r in range(rows):  # (element by element: numba's row copies are slower)
        if table[r, column] < bound:
            for c in range(table.shape[1]):
                taken[j, c] = table[r, c]
            j += 1
        else:
            if kept != r:
                for c in range(table.shape[1]):
                    table[kept, c] = table[r, c]
            kept += 1
    counts[which] = kept
    return taken


@jit
def pairwise(x: np.ndarray) -> float:
    """Sum in numpy's order for a row of a 2-D array (`a.sum(axis=1)`): pairwise,
    blocks of 8 summed in 8 lanes (checked bit for bit in tests/test_kernels.py)."""
    n = len(x)
    if n < 8:
        total = 0.0
        for v in x:
            total += v
        return total
    if n <= 128:
        lanes = x[:8].copy()
        i = 8
        while i < n - n % 8:
            for j in range(8):
                lanes[j] += x[i + j]
            i += 8
        total = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + (
            (lanes[4] + lanes[5]) + (lanes[6] + lanes[7])
        )
        while i < n:
            total += x[i]
            i += 1
        return total
    half = n // 2
    half -= half % 8
    return pairwise(x[:half]) + pairwise(x[half:])


# ---------------------------------------------------------------------- a minute


@jit
def step(
    gens: tuple[np.random.Generator, ...],
    minute: int,
    C: Consts,
    B: Bins,
    G: Tables,
) -> Tables:
    """One campaign minute of every stream (see the module's docstring); `gens`
    holds the minute's generator of each decision (`cohort.DECISIONS`)."""
    g_arrivals, g_viewers, g_engage, g_traffic, g_purchase, g_qa, g_orders = gens
    par = C.par
    n = par.shape[1]
    counts = B.counts
    shoppers, due, inbox, questions = G.shoppers, G.due, G.inbox, G.questions
    orders, order_next, free_orders = G.orders, G.order_next, G.free_orders
    ring, far_minute, far_key = G.ring, G.far_minute, G.far_key
    latest, at, answered, previous = G.latest, G.at, G.answered, G.previous
    live = np.empty(n, dtype=np.int64)
    live_n = 0
    for s in range(n):
        if par[START, s] <= minute < par[END, s]:
            live[live_n] = s
            live_n += 1
    live = live[:live_n]
    if live_n:
        stream, t, source, intent = platform_arrivals(g_arrivals, C, B, minute, live)
        size = max(1024, 2 * len(t))
        keys = np.empty(size)  # arrivals by stream and time (`kernels.minute_peak`)
        new_minute = np.empty(size, dtype=np.int64)  # this minute's new leaves
        new_key = np.empty(size)
        key_n = 0
        while True:
            nb = len(t)
            if nb:
                keys = room_for(keys, key_n + nb, 0.0)
                new_minute = room_for(new_minute, key_n + nb, -1)
                new_key = room_for(new_key, key_n + nb, 0.0)
                for i in range(nb):
                    keys[key_n + i] = stream[i] + 0.5 * (t[i] - minute)
                shoppers = rows_for(shoppers, counts[SHOPPERS] + nb)
                due = room_for(due, shoppers.shape[0], 0.0)
                flags = np.empty(nb, dtype=np.int64)
                leave = np.empty(nb)
                asked = np.empty(nb)
                row = np.empty(nb, dtype=np.int64)
                decided = np.empty((nb, len(kernels.DECIDED_FIELDS)))
                counts[SHOPPERS], k = kernels.enter(
                    g_viewers,
                    g_engage,
                    g_purchase,
                    stream,
                    t,
                    source,
                    intent,
                    par,
                    C.start_minute,
                    C.promo_slots,
                    C.promo_t0,
                    C.promo_t1,
                    C.promo_depth,
                    C.promo_lift,
                    C.promo_from,
                    C.promo_hold,
                    B.arrivals,
                    B.entered,
                    B.area,
                    B.full,
                    B.tally,
                    B.comments,
                    B.comment_part,
                    B.comment_full,
                    B.like_exposure,
                    new_minute[key_n : key_n + nb],
                    new_key[key_n : key_n + nb],
                    shoppers,
                    due,
                    counts[SHOPPERS],
                    flags,
                    leave,
                    asked,
                    row,
                    C.platform[ATTRIBUTION],
                    decided,
                )
                key_n += nb
                if k:
                    orders, order_next, free_orders = queue_orders(
                        g_orders,
                        C,
                        B,
                        orders,
                        order_next,
                        free_orders,
                        decided[:k],
                        minute,
                    )
                inbox = spread(g_traffic, C, counts, inbox, stream, t, flags, leave)
                questions, latest = ask(
                    g_qa, C, B, questions, latest, shoppers, stream, asked, leave, row
                )
            # the inbox's arrivals due by this minute's end (a share can bring a
            # viewer within the same minute) until it is empty
            stream, t, source, intent = take_inbox(inbox, counts, minute, n)
            if not len(t):
                break
        # the exact peak: this minute's arrivals and leaves (filed this minute or
        # before)
        ring, far_minute, far_key = file_leaves(
            ring,
            G.ring_n,
            far_minute,
            far_key,
            counts,
            new_minute[:key_n],
            new_key[:key_n],
            minute,
        )
        slot = minute % LEAVE_RING
        gone = ring[slot, : G.ring_n[slot]]
        kernels.minute_peak(keys[:key_n], gone, B.present, B.peak, live_n)
        G.ring_n[slot] = 0
        kernels.settle(
            g_engage,
            live,
            minute,
            C.start_minute,
            B.comments,
            B.comment_part,
            B.comment_full,
            B.comment_running,
            B.like_exposure,
            B.tally,
        )
    # every answer before the minute's end is known before the purchase clocks run
    # (a desk is FIFO: later questions cannot change earlier ones)
    at, answered, previous = serve_desks(
        C, B, questions, latest, at, answered, previous, minute + 1.0
    )
    if counts[SHOPPERS]:
        count = counts[SHOPPERS]
        decided = np.empty((count, len(kernels.DECIDED_FIELDS)))
        k, finished = kernels.shop(
            g_purchase,
            shoppers,
            count,
            minute + 1.0,
            par,
            C.products,
            C.fit,
            C.promo_slots,
            C.promo_t0,
            C.promo_t1,
            C.promo_depth,
            C.promo_lift,
            C.promo_on,
            B.scarce,
            C.platform[SCARCITY_LIFT],
            C.platform[ATTRIBUTION],
            (latest, at, answered, previous),
            B.tally,
            due,
            decided,
        )
        if k:
            orders, order_next, free_orders = queue_orders(
                g_orders, C, B, orders, order_next, free_orders, decided[:k], minute
            )
        # finished rows are dropped once they are half the table
        counts[FINISHED] += finished
        if 2 * counts[FINISHED] > count:
            counts[SHOPPERS] = kernels.compact(shoppers, due, count)
            counts[FINISHED] = 0
    free_orders = fill_orders(C, B, orders, order_next, free_orders, minute, minute)
    return Tables(
        shoppers,
        due,
        inbox,
        orders,
        order_next,
        free_orders,
        questions,
        ring,
        G.ring_n,
        far_minute,
        far_key,
        latest,
        at,
        answered,
        previous,
    )


# (`run`'s object-mode block takes the GIL, as it must; the rest of `run` is nogil)
warnings.filterwarnings(
    "ignore",
    message="Code running in object mode won't allow parallel execution",
    category=numba.NumbaWarning,
)
#: Per running session (by token): sets its generators to a campaign minute (`run`).
MINUTE_SETTERS: dict[int, Callable[[int], object]] = {}


def set_minute(token: int, minute: int) -> None:
    """Set the generators of session `token` to `minute` (called from `run`)."""
    MINUTE_SETTERS[token](minute)


@jit
def run(
    gens: tuple[np.random.Generator, ...],
    token: int,
    first: int,
    last: int,
    C: Consts,
    B: Bins,
    G: Tables,
) -> Tables:
    """The minutes `first`..`last - 1`, then `finish`.

    The generators are passed once: before each minute, Python sets their states to
    the minute's block (`MINUTE_SETTERS[token]`, in object mode), which the compiled
    code sees, as it draws through the same bit generators. (Passing them to a step
    per minute cost more than that minute's seeding.)
    """
    for minute in range(first, last):
        with numba.objmode():
            set_minute(token, minute)
        G = step(gens, minute, C, B, G)
    return finish(C, B, G)


@jit
def finish(C: Consts, B: Bins, G: Tables) -> Tables:
    """After the last minute: the questions left and the orders left (delayed
    purchases), in one time-ordered pass (stock no longer moves any hazard)."""
    at, answered, previous = serve_desks(
        C, B, G.questions, G.latest, G.at, G.answered, G.previous, np.inf
    )
    last = len(B.order_head) - 1
    free_orders = fill_orders(C, B, G.orders, G.order_next, G.free_orders, 0, last)
    return Tables(
        G.shoppers,
        G.due,
        G.inbox,
        G.orders,
        G.order_next,
        free_orders,
        G.questions,
        G.ring,
        G.ring_n,
        G.far_minute,
        G.far_key,
        G.latest,
        at,
        answered,
        previous,
    )


# ---------------------------------------------------------------------- traffic


@jit
def follower_time(C: Consts, s: int, u: float) -> float:
    """Campaign minute by which a share u of stream s's followers has come."""
    if C.uniform_profile[s]:
        return C.par[START, s] + u * C.par[MINUTES, s]
    return C.par[START, s] - C.tau[s] * math.log1p(u * C.decay_scale[s])


@jit
def platform_arrivals(
    gen: np.random.Generator, C: Consts, B: Bins, minute: int, live: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """This minute's arrivals (stream, time, source, mean intent), stream by stream:
    followers (placed by inverting the stream's profile inside the minute), the
    platform's traffic with its feedback on the last minutes' comments and GMV per
    thousand views, ads, then an awareness phase's audience (drawn last: no draws
    without one)."""
    P = C.platform
    window = int(P[WINDOW])
    L = len(live)
    rate = np.empty(L)
    x_comments = np.empty(window)
    x_views = np.empty(window)
    x_gmv = np.empty(window)
    for i in range(L):
        s = live[i]
        m = minute - C.start_minute[s]
        for j in range(window):
            lag = m - 1 - j
            if lag >= 0:
                x_comments[j] = B.comments[s, lag]
                x_views[j] = B.entered[s, lag]
                x_gmv[j] = B.gmv[s, lag]
            else:
                x_comments[j] = x_views[j] = x_gmv[j] = 0.0
        comments = pairwise(x_comments)
        views = pairwise(x_views)
        gmv = pairwise(x_gmv)
        feedback = min(P[FEEDBACK_MAX], P[PER_COMMENT] * comments / window)
        gpm = 1000.0 * gmv / max(views, 1.0) if views > 0 else 0.0
        boost = P[GPM_BOOST] * min(1.0, gpm / P[GPM_REFERENCE])
        # (x an announced promotion's draw, not on the feedback: it grows with the
        # crowd; the followers' per minute have theirs)
        rate[i] = C.recommendation[s] * (1.0 + boost) * C.draw[s, m] + feedback
        B.tally[EXPECTED_T, s] += rate[i]
    # counts, source by source; then the times, in the same order
    count = np.zeros((L, 4), dtype=np.int64)
    for i in range(L):
        s = live[i]
        count[i, 0] = gen.poisson(C.follower_per_minute[s, minute - C.start_minute[s]])
    for i in range(L):
        count[i, 1] = gen.poisson(rate[i])
    for i in range(L):
        s = live[i]
        count[i, 2] = gen.poisson(
            C.ads_per_minute[s] * C.draw[s, minute - C.start_minute[s]]
        )
    times = [
        profile_times(gen, C, minute, live, count[:, 0]),
        uniform_times(gen, minute, count[:, 1]),
        uniform_times(gen, minute, count[:, 2]),
    ]
    if C.aware:
        for i in range(L):
            s = live[i]
            count[i, 3] = gen.poisson(C.aware_per_minute[s, minute - C.start_minute[s]])
        times.append(profile_times(gen, C, minute, live, count[:, 3]))
    else:
        times.append(np.empty(0))
    # stream by stream (a difference in one stream's arrivals leaves the draws of
    # the streams before it in the batch where they were): followers, platform,
    # ads, awareness
    total = count.sum()
    stream = np.empty(total, dtype=np.int64)
    t = np.empty(total)
    source = np.empty(total, dtype=np.int64)
    kinds = (FOLLOWER, PLATFORM, ADS, AWARE)
    taken = np.zeros(4, dtype=np.int64)
    j = 0
    for i in range(L):
        for k in range(4):
            for _ in range(count[i, k]):
                stream[j] = live[i]
                t[j] = times[k][taken[k]]
                source[j] = kinds[k]
                taken[k] += 1
                j += 1
    return stream, t, source, C.intent_by_source[source]


@jit
def profile_times(
    gen: np.random.Generator, C: Consts, minute: int, live: np.ndarray, n: np.ndarray
) -> np.ndarray:
    """Times of n[i] arrivals of stream live[i] in a campaign minute on its follower
    profile, placed by inverting the profile inside the minute."""
    t = np.empty(n.sum())
    j = 0
    for i in range(len(live)):
        s = live[i]
        m = minute - C.start_minute[s]
        lo = C.follower_cdf[s, m]
        hi = C.follower_cdf[s, m + 1]
        for _ in range(n[i]):
            t[j] = follower_time(C, s, lo + gen.random() * (hi - lo))
            j += 1
    return t


@jit
def uniform_times(gen: np.random.Generator, minute: int, n: np.ndarray) -> np.ndarray:
    """Times of n.sum() arrivals spread uniformly in a campaign minute."""
    t = np.empty(n.sum())
    for j in range(len(t)):
        t[j] = minute + gen.random()
    return t


@jit
def schedule(
    C: Consts,
    counts: np.ndarray,
    inbox: np.ndarray,
    s: int,
    when: float,
    source: int,
    intent: float,
) -> None:
    """A future arrival into the inbox, filed under its campaign minute (the caller
    makes room)."""
    m = min(int(when - C.par[START, s]), int(C.par[MINUTES, s]) - 1)
    r = counts[INBOX]
    inbox[r, 0] = C.start_minute[s] + m
    inbox[r, 1] = s
    inbox[r, 2] = when
    inbox[r, 3] = source
    inbox[r, 4] = intent
    counts[INBOX] = r + 1


@jit
def spread(
    gen: np.random.Generator,
    C: Consts,
    counts: np.ndarray,
    inbox: np.ndarray,
    stream: np.ndarray,
    t: np.ndarray,
    flags: np.ndarray,
    leave: np.ndarray,
) -> np.ndarray:
    """What follows from the viewers who share (word of mouth: Poisson(k) viewers
    each, after exponential delays, from a share time uniform in the visit) and who
    move on (carry-over: to one later stream each, drawn uniformly, at a time on its
    follower profile). Returns the inbox (grown if need be)."""
    P = C.platform
    par = C.par
    shared = np.flatnonzero(flags & SHARED)
    if len(shared):
        at = np.empty(len(shared))
        for k in range(len(shared)):
            i = shared[k]
            at[k] = t[i] + gen.random() * (leave[i] - t[i])
        offspring = np.empty(len(shared), dtype=np.int64)
        for k in range(len(shared)):
            offspring[k] = gen.poisson(P[WOM_K])
        inbox = rows_for(inbox, counts[INBOX] + offspring.sum())
        for k in range(len(shared)):
            s = stream[shared[k]]
            for _ in range(offspring[k]):
                when = at[k] + P[WOM_DELAY] * gen.standard_exponential()
                if when < par[END, s]:
                    schedule(C, counts, inbox, s, when, WOM, P[INTENT_WOM])
    carried = np.flatnonzero(flags & CARRIED)
    if len(carried):
        inbox = rows_for(inbox, counts[INBOX] + len(carried))
        target = np.empty(len(carried), dtype=np.int64)
        for k in range(len(carried)):
            origin = stream[carried[k]]
            pick = int(gen.random() * par[kernels.LATER_COUNT, origin])
            target[k] = C.later[origin, pick]
        for k in range(len(carried)):
            when = follower_time(C, target[k], gen.random())
            origin = stream[carried[k]]
            schedule(C, counts, inbox, target[k], when, CARRY, C.carry_intent[origin])
    return inbox


@jit
def take_inbox(
    inbox: np.ndarray, counts: np.ndarray, minute: int, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The inbox's arrivals filed by `minute` (removed from it), by stream and
    otherwise in the order they were filed."""
    rows = take_before(inbox, counts, INBOX, 0, minute + 1.0)
    order = counting_order(rows[:, 1].astype(np.int64), n)[0]
    stream = np.empty(len(rows), dtype=np.int64)
    t = np.empty(len(rows))
    source = np.empty(len(rows), dtype=np.int64)
    intent = np.empty(len(rows))
    for j in range(len(rows)):
        i = order[j]
        stream[j] = int(rows[i, 1])
        t[j] = rows[i, 2]
        source[j] = int(rows[i, 3])
        intent[j] = rows[i, 4]
    return stream, t, source, intent


# ---------------------------------------------------------------------- Q&A


@jit
def ask(
    gen: np.random.Generator,
    C: Consts,
    B: Bins,
    questions: np.ndarray,
    latest: np.ndarray,
    shoppers: np.ndarray,
    stream: np.ndarray,
    first: np.ndarray,
    leave: np.ndarray,
    row: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Record a batch's askers (those whose first question comes before they leave)
    and put their questions in the desks' queue; returns (questions, latest), grown
    if need be. An asker's first question comes at `first`; the rest of its Poisson
    process (rate `question_rate` until it leaves) is a Poisson count at uniform
    times."""
    counts = B.counts
    asks = np.flatnonzero(first < leave)
    if not len(asks):
        return questions, latest
    extra = np.empty(len(asks), dtype=np.int64)
    for j in range(len(asks)):
        i = asks[j]
        s = stream[i]
        B.tally[ASKERS_T, s] += 1.0
        extra[j] = gen.poisson(C.par[QUESTION_RATE, s] * (leave[i] - first[i]))
    q0 = counts[QUESTIONS]
    total = len(asks) + extra.sum()
    questions = rows_for(questions, q0 + total)
    ids = counts[ASKERS]
    latest = room_for(latest, ids + len(asks), -1)
    counts[ASKERS] = ids + len(asks)
    r = q0
    for j in range(len(asks)):
        i = asks[j]
        for e in range(1 + extra[j]):
            questions[r, 0] = stream[i]
            questions[r, 1] = first[i]
            if e:
                questions[r, 1] += gen.random() * (leave[i] - first[i])
            questions[r, 4] = ids + j
            questions[r, 5] = leave[i]
            r += 1
        shoppers[row[i], ASKER] = ids + j
    for r in range(q0, q0 + total):
        questions[r, 2] = C.patience[int(questions[r, 0])] * gen.standard_exponential()
    for r in range(q0, q0 + total):
        questions[r, 3] = C.service[int(questions[r, 0])] * gen.standard_exponential()
    counts[QUESTIONS] = q0 + total
    return questions, latest


@jit
def serve_desks(
    C: Consts,
    B: Bins,
    questions: np.ndarray,
    latest: np.ndarray,
    at: np.ndarray,
    answered: np.ndarray,
    previous: np.ndarray,
    until: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Serve the questions asked before `until`, desk by desk, each desk's in the
    order asked (`kernels.serve`: exact FIFO with reneging); returns the answer
    chains' arrays (grown if need be)."""
    counts = B.counts
    now = take_before(questions, counts, QUESTIONS, 1, until)
    k = len(now)
    if k == 0:
        return at, answered, previous
    used = counts[ANSWERS]
    at = room_for(at, used + k, 0.0)
    answered = room_for(answered, used + k, False)
    previous = room_for(previous, used + k, -1)
    n = C.par.shape[1]
    order, start = counting_order(now[:, 0].astype(np.int64), n)
    now = now[order]
    for s in range(n):
        if start[s + 1] == start[s]:
            continue
        mine = now[start[s] : start[s + 1]]
        queue = mine[np.argsort(mine[:, 1], kind="mergesort"), 1:]
        answered_n, abandoned_n, waited, used = kernels.serve(
            queue,
            B.servers[s, : C.capacity[s]],
            C.reneging[s],
            (latest, at, answered, previous),
            used,
        )
        B.tally[ASKED_T, s] += len(mine)
        B.tally[ANSWERED_T, s] += answered_n
        B.tally[ABANDONED_T, s] += abandoned_n
        B.tally[WAITED_T, s] += waited
    counts[ANSWERS] = used
    return at, answered, previous


# ---------------------------------------------------------------------- orders


@jit
def queue_orders(
    gen: np.random.Generator,
    C: Consts,
    B: Bins,
    orders: np.ndarray,
    order_next: np.ndarray,
    free: np.ndarray,
    decided: np.ndarray,
    minute: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orders decided at entry (`kernels.enter`) or by the purchase clocks
    (`kernels.shop`) into the queue, with
    their units and returns drawn now, each filed under its campaign minute (never
    one already filled; the minutes after the last all under the last); returns
    (orders, order_next, free), grown if need be."""
    counts = B.counts
    k = len(decided)
    orders = rows_for(orders, counts[ORDERS] + k)
    order_next = room_for(order_next, orders.shape[0], -1)
    last = len(B.order_head) - 1
    rows = np.empty(k, dtype=np.int64)
    for j in range(k):
        if counts[FREE_ORDERS]:
            counts[FREE_ORDERS] -= 1
            r = free[counts[FREE_ORDERS]]
        else:
            r = counts[ORDERS]
            counts[ORDERS] += 1
        rows[j] = r
        s = int(decided[j, 1])
        p = C.products[s, int(decided[j, 2])]
        orders[r, O_TIME] = decided[j, 0]
        orders[r, O_STREAM] = s
        orders[r, O_PRODUCT] = p
        orders[r, O_UNITS] = 1 + gen.poisson(C.extra_units[p])
        orders[r, O_PRICE] = C.price[p] * (1.0 - decided[j, 3])
        orders[r, O_LATE] = decided[j, 4]
        m = min(max(math.floor(decided[j, 0]), minute), last)
        order_next[r] = -1
        if B.order_tail[m] >= 0:
            order_next[B.order_tail[m]] = r
        else:
            B.order_head[m] = r
        B.order_tail[m] = r
    for j in range(k):
        r = rows[j]
        orders[r, O_RETURNED] = gen.random() < C.return_rate[int(orders[r, O_PRODUCT])]
    return orders, order_next, free


@jit
def fill_orders(
    C: Consts,
    B: Bins,
    orders: np.ndarray,
    order_next: np.ndarray,
    free: np.ndarray,
    first: int,
    last: int,
) -> np.ndarray:
    """Take the orders filed under minutes `first`..`last` from the stock in time
    order: partial fills and lost sales; tallies and the per-minute order and GMV
    bins. Their rows are freed; returns the free list (grown if need be)."""
    counts = B.counts
    k = 0
    for m in range(first, last + 1):
        r = B.order_head[m]
        while r >= 0:
            k += 1
            r = order_next[r]
    if k == 0:
        return free
    free = room_for(free, counts[FREE_ORDERS] + k, 0)
    now = np.empty((k, orders.shape[1]))
    j = 0
    for m in range(first, last + 1):
        r = B.order_head[m]
        while r >= 0:
            now[j] = orders[r]
            j += 1
            free[counts[FREE_ORDERS]] = r
            counts[FREE_ORDERS] += 1
            r = order_next[r]
        B.order_head[m] = B.order_tail[m] = -1
    now = now[np.argsort(now[:, O_TIME], kind="mergesort")]
    tally = B.tally
    level = B.level
    run = level.copy()
    for r in range(k):
        s = int(now[r, O_STREAM])
        p = int(now[r, O_PRODUCT])
        wanted = now[r, O_UNITS]
        units = wanted
        lost = False
        if not math.isinf(level[p]):
            before = run[p]
            units = min(max(before, 0.0), wanted)
            lost = before < 1.0
            run[p] -= wanted
        if lost:
            tally[LOST, s] += 1.0
            continue
        value = units * now[r, O_PRICE]
        returned = now[r, O_RETURNED] > 0.0
        late = now[r, O_LATE] > 0.0
        tally[ORDERS_T, s] += 1.0
        tally[DELAYED, s] += late
        tally[UNITS_T, s] += units
        tally[GROSS, s] += value
        if returned:
            tally[REFUNDS, s] += value
            tally[RETURNED_T, s] += 1.0
        tally[MARGIN, s] += kernels.order_margin(
            value, units, C.unit_cost[p], returned, C.return_cost[p]
        )
        if not late:
            at = min(int(now[r, O_TIME] - C.par[START, s]), int(C.par[MINUTES, s]) - 1)
            B.orders[s, at] += 1.0
            B.gmv[s, at] += value
    for p in range(len(level)):
        if not math.isinf(level[p]):
            level[p] = max(0.0, run[p])
        B.scarce[p] = level[p] < C.platform[SCARCITY_THRESHOLD] * B.initial[p]
    return free


# compiled code cached from older sources (`kernels`' or `model.viewer`'s) is dropped
jitcache.keep_current("step", jitcache.cached_functions(globals()), kernels.DIGEST)
