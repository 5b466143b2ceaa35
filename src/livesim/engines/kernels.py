"""The cohort engine's per-viewer loops, compiled with numba.

Each function here runs one pass over a batch of viewers (or over the viewers whose
purchase clock runs) and does everything decided per viewer in that pass: draws,
bins, tallies. numpy would make one pass per operation and keep a temporary array
for each; compiled, a viewer costs its random draws and a few dozen arithmetic steps.

numba's `Generator` methods draw exactly what numpy's do from the same state, so a
kernel and its numpy reading give the same numbers when they draw in the same order.
Functions take plain arrays; the constants below name the rows of the per-stream
parameter table (`StreamTable.par`) and the tally rows (`StreamTally`'s fields).
The viewer's equations are not written here: they are `model.viewer`'s functions,
compiled (`hazard`, `trust`, ... below), the same source the agent engine runs.
Compiled code is cached next to this file (`cache=True`), so only the first run after
an install compiles (about 32 s with `step`, which calls these).
"""

from __future__ import annotations

import math
from dataclasses import fields

import numba
import numpy as np

from livesim.engines import jitcache
from livesim.engines.output import StreamTally
from livesim.model import viewer
from livesim.model.stream import FOLLOWER

#: Rows of `StreamTable.par`: one per-stream constant each.
PARAMS = (
    "start",
    "end",
    "minutes",
    "lognormal",
    "dwell_mu",
    "dwell_sigma",
    "dwell_mean",
    "fake_share",
    "intent_sigma",
    "intent_half",
    "eps_mu",
    "eps_sigma",
    "like_rate",
    "comment_rate",
    "click_rate",
    "share_prob",
    "question_rate",
    "later_count",
    "carry_share",
    "hazard_unit",
    "segment",
    "product_count",
    "purchase_rate",
    "ceiling",
    "gap0",
    "trust_rate",
    "delayed_prob",
    "delayed_mean",
    "answer_gain",
    "abandon_loss",
    "holds",
)
(
    START,
    END,
    MINUTES,
    LOGNORMAL,
    DWELL_MU,
    DWELL_SIGMA,
    DWELL_MEAN,
    FAKE_SHARE,
    INTENT_SIGMA,
    INTENT_HALF,
    EPS_MU,
    EPS_SIGMA,
    LIKE_RATE,
    COMMENT_RATE,
    CLICK_RATE,
    SHARE_PROB,
    QUESTION_RATE,
    LATER_COUNT,
    CARRY_SHARE,
    HAZARD_UNIT,
    SEGMENT,
    PRODUCT_COUNT,
    PURCHASE_RATE,
    CEILING,
    GAP0,
    TRUST_RATE,
    DELAYED_PROB,
    DELAYED_MEAN,
    ANSWER_GAIN,
    ABANDON_LOSS,
    HOLDS,
) = range(len(PARAMS))

TALLY = tuple(f.name for f in fields(StreamTally))
T = {name: i for i, name in enumerate(TALLY)}
VIEWERS, FAKE, UNIQUE, WATCH = (
    T[k] for k in ("viewers", "fake_viewers", "unique_viewers", "watch_minutes")
)
LIKES, COMMENTS, SHARES, CLICKED, ENGAGED = (
    T[k] for k in ("likes", "comments", "shares", "clicked", "engaged")
)

#: Columns of a purchase clock's row (`CohortSession.shoppers`).
SHOPPER_FIELDS = (
    "stream",
    "arrive",
    "leave",
    "intent",
    "eps",
    "bound",
    "next",
    "engaged",
    "clicked",
    "asker",
)
STREAM_, ARRIVE, LEAVE, INTENT, EPS, BOUND, NEXT, WAS_ENGAGED, WAS_CLICKED, ASKER = (
    range(len(SHOPPER_FIELDS))
)
#: Columns of an order decided by `enter` or `shop` (see `step.queue_orders`).
DECIDED_FIELDS = ("time", "stream", "index", "discount", "late")

#: Per-viewer flags returned by `enter` (bits of `flags`).
REAL, SHARED, CARRIED = 1, 2, 4

jit = numba.njit(cache=True, error_model="numpy", nogil=True)
#: Digest of the sources compiled together (`jitcache`): caches of others are dropped.
DIGEST = jitcache.sources_digest()

# the viewer's equations (`model.viewer`), compiled: one source, two engines
trust_after = jit(viewer.trust)
gap_after_question = jit(viewer.gap_after_question)
price_lift = jit(viewer.price_lift)
hazard = jit(viewer.hazard)
hazard_bound = jit(viewer.hazard_bound)
featured_at = jit(viewer.featured)
visit_promotions = jit(viewer.visit_promotions)
active_promotion = jit(viewer.active_promotion)
held_leave = jit(viewer.held_leave)
late_purchase_prob = jit(viewer.late_purchase_prob)
order_margin = jit(viewer.order_margin)
JUST_BEFORE = viewer.JUST_BEFORE


@jit
def peak_bucket(key: float, width: int) -> tuple[int, int]:
    """The stream and time bucket (of `width` over the minute) of a peak key
    `stream + (time - minute) / 2`."""
    s = int(key)
    return s, min(int((key - s) * 2.0 * width), width - 1)


@jit
def minute_peak(
    arrive: np.ndarray,
    gone: np.ndarray,
    present: np.ndarray,
    peak: np.ndarray,
    live: int,
) -> None:
    """Raise each stream's peak with a minute's arrivals and leaves (keys
    `stream + (time - minute) / 2`, in any order); `present` becomes the presence at
    the minute's end. The peak is the largest presence just after an arrival, with a
    leave at the same time as an arrival taken first (`peak` >= `present` on entry).

    Exact without sorting the minute: the events are counted in fine time buckets
    (`peak_bucket`: about two buckets per event of a live stream), and a walk over
    the buckets keeps a lower bound on the peak (the presence after a bucket's last
    event). A bucket's arrivals alone bound its own peak (presence before it + its
    arrivals), so only a bucket with both arrivals and leaves whose bound beats the
    running lower bound needs its events in time order; those few are gathered and
    sorted afterwards.
    """
    n = len(present)
    width = max(8, 2 * (len(arrive) + len(gone)) // max(1, live))
    count = np.zeros((n, width, 2), dtype=np.int64)  # arrivals, leaves per bucket
    for keys, kind in ((arrive, 0), (gone, 1)):
        for key in keys:
            s, b = peak_bucket(key, width)
            count[s, b, kind] += 1
    # the walk: mixed buckets that could hold the peak are marked, their count of
    # arrivals replaced by -(mark + 1)
    marks = min(len(arrive), len(gone))
    mark_level = np.empty(marks, dtype=np.int64)  # presence before the bucket
    mark_stream = np.empty(marks, dtype=np.int64)
    mark_start = np.zeros(marks + 1, dtype=np.int64)  # where its events go
    marked = 0
    for s in range(n):
        level = present[s]
        best = peak[s]
        for b in range(width):
            a = count[s, b, 0]
            d = count[s, b, 1]
            if a and d and level + a > best:
                mark_level[marked] = level
                mark_stream[marked] = s
                mark_start[marked + 1] = mark_start[marked] + a + d
                count[s, b, 0] = -(marked + 1)
                marked += 1
            # the presence after the bucket is a lower bound (after a leave it is
            # below a presence already counted, so it never overstates the peak)
            level += a - d
            best = max(best, level)
        present[s] = level
        peak[s] = best
    if not marked:
        return
    # the marked buckets' events, in time order (a leave before an arrival at a tie)
    ev_key = np.empty(mark_start[marked])
    ev_arrival = np.empty(mark_start[marked], dtype=np.int64)
    fill = mark_start[:marked].copy()
    for keys, kind in ((arrive, 0), (gone, 1)):
        for key in keys:
            s, b = peak_bucket(key, width)
            c = count[s, b, 0]
            if c < 0:
                k = -c - 1
                ev_key[fill[k]] = key
                ev_arrival[fill[k]] = 1 - kind
                fill[k] += 1
    for k in range(marked):
        lo, hi = mark_start[k], mark_start[k + 1]
        for i in range(lo + 1, hi):  # insertion: a bucket holds a few events
            key, arrival = ev_key[i], ev_arrival[i]
            j = i - 1
            while j >= lo and (
                ev_key[j] > key or (ev_key[j] == key and ev_arrival[j] > arrival)
            ):
                ev_key[j + 1] = ev_key[j]
                ev_arrival[j + 1] = ev_arrival[j]
                j -= 1
            ev_key[j + 1] = key
            ev_arrival[j + 1] = arrival
        level = mark_level[k]
        s = mark_stream[k]
        for i in range(lo, hi):
            if ev_arrival[i]:
                level += 1
                peak[s] = max(peak[s], level)
            else:
                level -= 1


@jit
def enter(
    gen_viewers: np.random.Generator,
    gen_engage: np.random.Generator,
    gen_purchase: np.random.Generator,
    stream: np.ndarray,
    t: np.ndarray,
    source: np.ndarray,
    intent_mean: np.ndarray,
    par: np.ndarray,
    start_minute: np.ndarray,
    promo_slots: np.ndarray,
    promo_t0: np.ndarray,
    promo_t1: np.ndarray,
    promo_depth: np.ndarray,
    promo_lift: np.ndarray,
    promo_from: np.ndarray,
    promo_hold: np.ndarray,
    arrivals: np.ndarray,
    entered: np.ndarray,
    area: np.ndarray,
    full: np.ndarray,
    tally: np.ndarray,
    comments: np.ndarray,
    comment_part: np.ndarray,
    comment_full: np.ndarray,
    like_exposure: np.ndarray,
    leave_minute: np.ndarray,
    leave_key: np.ndarray,
    shoppers: np.ndarray,
    due: np.ndarray,
    count: int,
    flags: np.ndarray,
    leave_out: np.ndarray,
    asked_out: np.ndarray,
    row_out: np.ndarray,
    window: float,
    decided: np.ndarray,
) -> tuple[int, int]:
    """A batch of viewers enters: everything decided at arrival, one viewer at a time.

    Bins arrivals and time-weighted presence, keys leaves (for the exact peak); draws
    dwell, the fake-follower mark, intent, price sensitivity (only when a promotion
    overlaps the visit: otherwise it never enters the hazard), the first like, first
    comment and first question (exponential waits: a Poisson process's first event),
    click (an exponential wait at `click_rate`), share and carry-over marks, and the
    first purchase candidate. The likes and comments after a viewer's first are added
    up as exposure (rate x time, per stream and minute bin) and drawn as one Poisson
    count per bin (`settle`), which is the same distribution: a sum of independent
    Poisson counts is Poisson.

    A viewer whose first candidate falls after it leaves and who asks nothing has
    nothing left to wait for: its purchase after leaving is decided here, as `shop`
    would (with trust at leaving), and a purchase goes to `decided` (columns
    DECIDED_FIELDS). Every other real viewer gets a purchase clock, from row `count`
    of `shoppers` (and its `due` time; an asker's row gets its id from the caller).
    Returns (the new row count, orders decided); per viewer, flags, the leaving time,
    the first question's time (inf for none) and the viewer's row (-1 for none).
    """
    # a batch comes stream by stream: a stream's constants are read when it
    # changes, and its count tallies added up here and written then
    cur = -1
    st = end = dwell_mu = dwell_sigma = dwell_mean = fake_share = 0.0
    intent_sigma = intent_half = eps_mu = eps_sigma = like_rate = 0.0
    comment_rate = click_rate = share_prob = question_rate = carry_share = 0.0
    hazard_unit = 0.0
    minutes = 0
    lognormal = later = holds = False
    viewers = fake = unique = likes = commented_n = shares = clicks = engaged_n = 0
    orders = 0
    n = len(t)
    if n == 0:
        return count, orders
    for i in range(n + 1):
        s = stream[i] if i < n else -1
        if s != cur:
            if cur >= 0:
                tally[VIEWERS, cur] += viewers
                tally[FAKE, cur] += fake
                tally[UNIQUE, cur] += unique
                tally[LIKES, cur] += likes
                tally[COMMENTS, cur] += commented_n
                tally[SHARES, cur] += shares
                tally[CLICKED, cur] += clicks
                tally[ENGAGED, cur] += engaged_n
            if s < 0:
                break
            cur = s
            viewers = fake = unique = likes = commented_n = shares = clicks = 0
            engaged_n = 0
            st = par[START, s]
            end = par[END, s]
            minutes = int(par[MINUTES, s])
            lognormal = par[LOGNORMAL, s] > 0.0
            dwell_mu = par[DWELL_MU, s]
            dwell_sigma = par[DWELL_SIGMA, s]
            dwell_mean = par[DWELL_MEAN, s]
            fake_share = par[FAKE_SHARE, s]
            intent_sigma = par[INTENT_SIGMA, s]
            intent_half = par[INTENT_HALF, s]
            eps_mu = par[EPS_MU, s]
            eps_sigma = par[EPS_SIGMA, s]
            like_rate = par[LIKE_RATE, s]
            comment_rate = par[COMMENT_RATE, s]
            click_rate = par[CLICK_RATE, s]
            share_prob = par[SHARE_PROB, s]
            question_rate = par[QUESTION_RATE, s]
            later = par[LATER_COUNT, s] > 0.0
            carry_share = par[CARRY_SHARE, s]
            hazard_unit = par[HAZARD_UNIT, s]
            holds = par[HOLDS, s] > 0.0
        ti = t[i]
        m = min(int(ti - st), minutes - 1)
        arrivals[s, source[i], m] += 1.0
        entered[s, m] += 1.0
        viewers += 1
        if lognormal:
            dwell = math.exp(dwell_mu + dwell_sigma * gen_viewers.standard_normal())
        else:
            dwell = dwell_mean * gen_viewers.standard_exponential()
        # (an announced promotion holds the crowd; the stream's end cuts every stay)
        leave = ti + dwell
        if holds:
            leave = held_leave(
                ti, dwell, promo_slots[s], promo_from, promo_t1, promo_hold
            )
        leave = min(leave, end)
        leave_out[i] = leave
        # presence: partial first and last minutes, whole minutes between
        last = min(int(leave - st), minutes)
        if last == m:
            area[s, m] += leave - ti
        else:
            area[s, m] += m + 1 + st - ti
            area[s, last] += leave - (last + st)
            full[s, m + 1] += 1.0
            full[s, last] -= 1.0
        leave_minute[i] = -1
        if last < minutes:
            minute = start_minute[s] + last
            leave_minute[i] = minute
            leave_key[i] = s + 0.5 * (leave - minute)
        row_out[i] = -1
        if source[i] == FOLLOWER and gen_viewers.random() < fake_share:
            fake += 1
            flags[i] = 0
            asked_out[i] = np.inf
            continue
        stay = leave - ti
        unique += 1
        tally[WATCH, s] += stay
        intent = intent_mean[i] * math.exp(
            intent_sigma * gen_viewers.standard_normal() - intent_half
        )
        # the deepest discount and largest urgency lift of promotions in the visit
        d_max, u_max = visit_promotions(
            ti, leave, promo_slots[s], promo_t0, promo_t1, promo_depth, promo_lift
        )
        eps = 1.0
        if d_max > 0.0:
            eps = math.exp(eps_mu + eps_sigma * gen_viewers.standard_normal())
        # engagement: first events of the like, comment and question processes
        # (an exponential clock e at a rate r fires within the stay if e < r x stay)
        clock = gen_engage.standard_exponential()
        liked = clock < like_rate * stay
        if liked:
            likes += 1
            like_exposure[s] += like_rate * stay - clock
        wait = gen_engage.standard_exponential() / comment_rate
        commented = wait < stay
        if commented:
            commented_n += 1
            x = ti + wait - st
            first = min(int(x), minutes)
            comments[s, first] += 1.0
            y = leave - st
            final = min(int(y), minutes)
            if final == first:
                comment_part[s, first] += comment_rate * (y - x)
            else:
                comment_part[s, first] += comment_rate * (first + 1 - x)
                comment_part[s, final] += comment_rate * (y - final)
                comment_full[s, first + 1] += comment_rate
                comment_full[s, final] -= comment_rate
        clicked = gen_engage.standard_exponential() < click_rate * stay
        shared = gen_engage.random() < share_prob
        wait = gen_engage.standard_exponential() / question_rate
        asked = wait < stay
        asked_out[i] = ti + wait if asked else np.inf
        carried = False
        if later:
            carried = gen_engage.random() < carry_share
        engaged = liked or commented or clicked or shared or asked
        shares += shared
        flags[i] = REAL + SHARED * shared + CARRIED * carried
        # the purchase clock: candidates at the hazard's bound over the visit
        bound = hazard_bound(hazard_unit, intent, u_max, price_lift(d_max, eps))
        clock = gen_purchase.standard_exponential()
        if not asked and clock >= bound * stay:
            # `shop`'s purchase after leaving, written out here (a call that takes
            # the generator costs about 15 ns a viewer); tests/test_kernels.py
            # checks both decide the same on the same draws
            bought = False
            p = late_purchase_prob(par[DELAYED_PROB, s], intent, trust(par, s, stay))
            if p > 0.0 and gen_purchase.random() < p:  # the delay only for a buyer
                delay = par[DELAYED_MEAN, s] * gen_purchase.standard_exponential()
                if delay <= window:
                    bought = True
                    late_order(decided[orders], par, s, leave, delay)
                    orders += 1
            clicks += clicked or bought
            engaged_n += engaged or bought
            continue
        clicks += clicked
        engaged_n += engaged
        row = shoppers[count]
        row[STREAM_] = s
        row[ARRIVE] = ti
        row[LEAVE] = leave
        row[INTENT] = intent
        row[EPS] = eps
        row[BOUND] = bound
        row[NEXT] = ti + clock / bound if bound > 0.0 else np.inf
        row[WAS_ENGAGED] = engaged
        row[WAS_CLICKED] = clicked
        # an asker is marked now (the caller writes its id), so its due time is right
        row[ASKER] = 0.0 if asked else -1.0
        due[count] = due_time(row)
        row_out[i] = count
        count += 1
    return count, orders


@jit
def settle(
    gen: np.random.Generator,
    live: np.ndarray,
    minute: int,
    start_minute: np.ndarray,
    comments: np.ndarray,
    comment_part: np.ndarray,
    comment_full: np.ndarray,
    comment_running: np.ndarray,
    like_exposure: np.ndarray,
    tally: np.ndarray,
) -> None:
    """Close a minute for the live streams: the comments after each viewer's first
    in this minute's bin, and the likes after each viewer's first, as Poisson counts
    of their exposure (no viewer still to come can add to either)."""
    for s in live:
        j = minute - start_minute[s]
        comment_running[s] += comment_full[s, j]
        extra = gen.poisson(max(0.0, comment_part[s, j] + comment_running[s]))
        comments[s, j] += extra
        tally[COMMENTS, s] += extra
        tally[LIKES, s] += gen.poisson(like_exposure[s])
        like_exposure[s] = 0.0


@jit
def shop(
    gen: np.random.Generator,
    shoppers: np.ndarray,
    count: int,
    end: float,
    par: np.ndarray,
    products: np.ndarray,
    fit: np.ndarray,
    promo_slots: np.ndarray,
    promo_t0: np.ndarray,
    promo_t1: np.ndarray,
    promo_depth: np.ndarray,
    promo_lift: np.ndarray,
    promo_on: np.ndarray,
    scarce: np.ndarray,
    scarcity_lift: float,
    window: float,
    answers: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    tally: np.ndarray,
    due: np.ndarray,
    decided: np.ndarray,
) -> tuple[int, int]:
    """Run the purchase clocks up to `end`.

    Thinning: each candidate is kept with probability hazard / bound, the hazard
    read at the candidate's time (trust, the featured product, the deepest promotion
    on it, scarcity); a kept one orders. A clock that passes the viewer's leaving time
    ends, and the purchase after leaving is decided then (with trust at leaving).
    An asker's trust moves with its answers (`answers`: every answer before `end` is
    known), and its purchase after leaving waits for the minute it leaves in.

    Only rows whose `due` time (see `due_time`) is by `end` are read; a finished
    row's becomes inf. Writes the orders into `decided` (columns DECIDED_FIELDS);
    returns (orders, rows finished).
    """
    orders = 0
    finished = 0
    for r in range(count):
        if due[r] > end:
            continue
        row = shoppers[r]
        s = int(row[STREAM_])
        leave = row[LEAVE]
        x = row[NEXT]
        stop = min(leave, end)
        bought = False
        while x < stop:
            index = featured(par, s, x)
            discount, urgency = active_promotion(
                x,
                index,
                promo_slots[s],
                promo_t0,
                promo_t1,
                promo_depth,
                promo_lift,
                promo_on,
            )
            # (the common case inline: a call that takes `answers` costs more than
            # the trust itself)
            if row[ASKER] < 0.0:
                belief = trust(par, s, x - row[ARRIVE])
            else:
                belief = asker_trust(par, row, x, answers)
            h = hazard(
                par[PURCHASE_RATE, s],
                row[INTENT],
                belief,
                fit[s, index],
                price_lift(discount, row[EPS]),
                urgency,
                scarce[products[s, index]],
                scarcity_lift,
            )
            if gen.random() * row[BOUND] < h:
                bought = True
                decided[orders, 0] = x
                decided[orders, 1] = s
                decided[orders, 2] = index
                decided[orders, 3] = discount
                decided[orders, 4] = 0.0
                orders += 1
                break
            x += gen.standard_exponential() / row[BOUND]
        row[NEXT] = x
        over = False
        if not bought and x >= leave and (row[ASKER] < 0.0 or leave <= end):
            over = True
            if row[ASKER] < 0.0:
                belief = trust(par, s, leave - row[ARRIVE])
            else:
                belief = asker_trust(par, row, leave, answers)
            p = late_purchase_prob(par[DELAYED_PROB, s], row[INTENT], belief)
            delay = np.inf
            if p > 0.0 and gen.random() < p:  # the delay only for a buyer
                delay = par[DELAYED_MEAN, s] * gen.standard_exponential()
            if delay <= window:
                bought = True
                late_order(decided[orders], par, s, leave, delay)
                orders += 1
        if bought:
            tally[ENGAGED, s] += row[WAS_ENGAGED] == 0.0
            tally[CLICKED, s] += row[WAS_CLICKED] == 0.0
        if bought or over:
            due[r] = np.inf
            finished += 1
        else:
            due[r] = due_time(row)
    return orders, finished


@jit
def late_order(
    out: np.ndarray, par: np.ndarray, s: int, leave: float, delay: float
) -> None:
    """Write a purchase after leaving (a row of DECIDED_FIELDS): `delay` after the
    viewer leaves, of the product featured when it left, at full price."""
    out[0] = leave + delay
    out[1] = s
    out[2] = featured(par, s, leave - JUST_BEFORE)
    out[3] = 0.0
    out[4] = 1.0


@jit
def due_time(row: np.ndarray) -> float:
    """When a purchase clock next needs reading: its next candidate within the
    visit; past the visit, an asker's leaving time (its purchase after leaving is
    decided when its answers are known), for anyone else at once (-inf)."""
    if row[NEXT] < row[LEAVE]:
        return row[NEXT]
    return row[LEAVE] if row[ASKER] >= 0.0 else -np.inf


@jit
def featured(par: np.ndarray, s: int, x: float) -> int:
    """Index (in the stream's product list) of the product on sale at x."""
    return featured_at(x, par[START, s], par[SEGMENT, s], int(par[PRODUCT_COUNT, s]))


@jit
def trust(par: np.ndarray, s: int, watched: float) -> float:
    """Trust after `watched` minutes of a stream, for a viewer who asked nothing."""
    return trust_after(par[CEILING, s], par[GAP0, s], par[TRUST_RATE, s], watched)


@jit
def asker_trust(
    par: np.ndarray,
    row: np.ndarray,
    x: float,
    answers: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> float:
    """Trust at time x of an asker (a row of `shoppers`), moved by its answers.

    Trust closes the gap to the host's ceiling at `trust_rate`; an answer closes a
    share `answer_gain` of the gap at once, an abandoned question widens it by
    `abandon_loss` (docs/model.md section 3). An asker's answers are replayed in time
    order from `answers` = (the latest answer's slot per asker, -1 for none; then per
    slot: time, answered, the asker's previous slot).
    """
    s = int(row[STREAM_])
    arrive = row[ARRIVE]
    latest, at, answered, previous = answers
    n = 0
    k = latest[int(row[ASKER])]
    while k >= 0:
        n += at[k] <= x
        k = previous[k]
    if n == 0:
        return trust(par, s, x - arrive)
    times = np.empty(n)
    ok = np.empty(n, dtype=np.bool_)
    n = 0
    k = latest[int(row[ASKER])]
    while k >= 0:
        if at[k] <= x:
            times[n] = at[k]
            ok[n] = answered[k]
            n += 1
        k = previous[k]
    rate = par[TRUST_RATE, s]
    ceiling = par[CEILING, s]
    gap = par[GAP0, s]
    ref = arrive
    for j in np.argsort(times):
        gap = gap_after_question(
            gap,
            rate,
            times[j] - ref,
            ok[j],
            par[ANSWER_GAIN, s],
            par[ABANDON_LOSS, s],
            ceiling,
        )
        ref = times[j]
    return trust_after(ceiling, gap, rate, x - ref)


@jit
def serve(
    queue: np.ndarray,
    servers: np.ndarray,
    reneging: bool,
    answers: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    used: int,
) -> tuple[int, int, float, int]:
    """FIFO service of a desk's questions (rows: asked, patience, service, asker,
    leave; in the order asked) by its servers (their free times).

    A question is answered if a server frees before its asker gives up (patience,
    or leaving); with `reneging` off it always waits. Answers and abandonments are
    appended to `answers` from slot `used` (the caller makes room); an abandonment
    because the viewer left is not recorded (it moves no trust). Returns (answered,
    abandoned, minutes waited by the answered, slots used).
    """
    latest, at, answered_at, previous = answers
    answered = abandoned = 0
    waited = 0.0
    for q in range(len(queue)):
        asked, patience, service, who, left = queue[q]
        give_up = asked + min(patience, left - asked)
        asker = int(who)
        if len(servers):
            j = np.argmin(servers)
            begin = max(asked, servers[j])
            if not reneging or begin <= give_up:
                servers[j] = begin + service
                waited += begin - asked
                answered += 1
                at[used] = begin + service
                answered_at[used] = True
                previous[used] = latest[asker]
                latest[asker] = used
                used += 1
                continue
        abandoned += 1
        if patience < left - asked:
            at[used] = give_up
            answered_at[used] = False
            previous[used] = latest[asker]
            latest[asker] = used
            used += 1
    return answered, abandoned, waited, used


@jit
def compact(shoppers: np.ndarray, due: np.ndarray, count: int) -> int:
    """Drop finished rows (due inf), keeping order; the new row count."""
    k = 0
    for r in range(count):
        if due[r] < np.inf:
            if k != r:
                shoppers[k] = shoppers[r]
                due[k] = due[r]
            k += 1
    return k


# compiled code cached from older sources (this file's or `model.viewer`'s) is dropped
jitcache.keep_current("kernels", jitcache.cached_functions(globals()), DIGEST)
