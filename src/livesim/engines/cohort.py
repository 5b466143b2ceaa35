"""The cohort engine: the agent engine's model at campaign scale, a batch at a time.

The dense per-viewer work runs in numpy arrays, one batch per stream and minute:
arrival times and sources, dwell, intent, price sensitivity, engagement counts and
comment times, shares and their offspring, carry-over, the purchase clock by vectorised
thinning, units, returns and delayed purchases. What is sparse and interacting runs in
time order, as in the agent engine:

* the platform's feedback reads the comment and GMV bins of the last minutes;
* stock is consumed by a time-ordered queue of orders (all streams share it), with
  partial fills and lost sales;
* the Q&A desk is an exact FIFO queue with `qa_capacity` servers and reneging (a
  question is answered if a server frees before the asker gives up; abandoning
  questions use no server, so FIFO order is kept exactly);
* a viewer who asks is evaluated once its questions are resolved and its visit is
  over, with trust moved by its answers at their times (a Python loop over askers).

The model is docs/model.md's; the approximations against the agent engine are in
docs/model.md, section 10, with their effects. The constants (profiles, promotions,
segments, hazard bounds) come from the agent engine's `StreamRun`, so both engines
read one model. Memory does not grow with the number of viewers: only counters,
per-minute bins and the viewers still to be resolved are kept.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import simpy

from livesim.engines.agent import (
    ADS,
    CARRY,
    FOLLOWER,
    PLATFORM,
    SOURCE_NAMES,
    WOM,
    ProductStock,
    SessionOutput,
    StreamRun,
    fewer_collections,
    stream_row,
)
from livesim.model import traffic
from livesim.model.rng import generator, seed_sequence
from livesim.scenario import Campaign

SHOPPER_FIELDS = (
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
ARRIVE, LEAVE, INTENT, EPS, BOUND, NEXT, ENGAGED, CLICKED, ASKER = range(
    len(SHOPPER_FIELDS)
)
#: Columns of a row in the order queue (see `queue_orders` and `fill_orders`).
ORDER_FIELDS = ("time", "stream", "product", "units", "unit_price", "returned", "late")
TIME, STREAM, PRODUCT, UNITS, UNIT_PRICE, RETURNED, LATE = range(len(ORDER_FIELDS))


@dataclass
class Asker:
    """A viewer with questions: when it leaves, and its answers (time, answered)."""

    leave: float
    pending: int
    shopping: bool = True
    history: list[tuple[float, bool]] = field(default_factory=list)


class CohortStream:
    """One stream of one replication: constants (from `StreamRun`), bins, queues."""

    def __init__(
        self,
        sr: StreamRun,
        index: int,
        rng: np.random.Generator,
        product_index: np.ndarray,
    ) -> None:
        self.sr = sr
        self.index = index
        self.rng = rng
        #: the stream's products as indices into the campaign's product arrays
        self.product_index = product_index
        minutes = sr.minutes
        self.arrivals = np.zeros((len(SOURCE_NAMES), minutes))
        self.comments = np.zeros(minutes + 1)
        self.orders = np.zeros(minutes)
        self.gmv = np.zeros(minutes)
        self.area = np.zeros(minutes + 1)
        self.full = np.zeros(minutes + 2)
        self.leaves: dict[int, list[np.ndarray]] = defaultdict(list)
        self.present = 0
        self.peak = 0
        self.incoming: dict[int, list[tuple[np.ndarray, int, np.ndarray]]] = (
            defaultdict(list)
        )
        self.questions: list[np.ndarray] = []  # rows: time, patience, service, asker
        # viewers whose purchase clock is running: columns of SHOPPER_FIELDS
        self.shoppers = np.empty((0, len(SHOPPER_FIELDS)))
        self.servers = [sr.start] * sr.host.qa_capacity
        self.later: list[CohortStream] = []
        promo_products = [
            set(p.products or sr.stream.products) for p in sr.stream.promotions
        ]
        self.promo_masks = [
            np.array([pid in chosen for pid in sr.stream.products])
            for chosen in promo_products
        ]


class CohortSession:
    """One replication of one campaign with the cohort engine."""

    def __init__(self, campaign: Campaign, seed: int, replication: int) -> None:
        self.campaign = campaign
        self.platform = campaign.platform
        env = simpy.Environment()  # only to build the shared constants
        stock = {pid: ProductStock(env, p) for pid, p in campaign.products.items()}
        self.product_ids = list(campaign.products)
        products = list(campaign.products.values())
        self.price = np.array([p.price for p in products])
        self.margin = np.array([p.margin for p in products])
        self.return_rate = np.array([p.return_rate for p in products])
        self.extra_units = np.array([p.units_mean - 1.0 for p in products])
        self.level = np.array(
            [math.inf if p.stock is None else float(p.stock) for p in products]
        )
        self.initial = self.level.copy()
        self.scarce = np.zeros(len(products), dtype=bool)
        self.streams: list[CohortStream] = []
        for i, s in enumerate(campaign.streams):
            sr = StreamRun(
                env,
                s,
                campaign.hosts[s.host],
                campaign.host_kinds[s.host],
                campaign,
                stock,
                seed,
                replication,
            )
            sr.desk = None
            rng = generator(seed_sequence(seed, replication, s.id, 2))
            index = np.array([self.product_ids.index(p) for p in s.products])
            self.streams.append(CohortStream(sr, i, rng, index))
        for cs in self.streams:
            cs.later = [o for o in self.streams if o.sr.start >= cs.sr.end]
        self.pending_orders: dict[int, list[np.ndarray]] = defaultdict(list)
        self.askers: dict[int, Asker] = {}
        self.next_asker = 0
        self.clock = 0

    # ------------------------------------------------------------------ main loop

    def run(self) -> SessionOutput:
        """Run the replication: minute by minute, then the tail of delayed orders."""
        with fewer_collections():
            horizon = self.campaign.horizon
            for minute in range(horizon):
                self.clock = minute
                live = [cs for cs in self.streams if cs.sr.start <= minute < cs.sr.end]
                for cs in live:
                    self.batch(cs, minute)
                    # every answer before the minute's end is known before the
                    # purchase clocks run (the desk is FIFO: later questions cannot
                    # change earlier ones)
                    self.serve_questions(cs, minute + 1.0)
                    self.shop(cs, minute)
                self.fill_orders(minute)
            self.clock = horizon
            for cs in self.streams:
                self.serve_questions(cs, math.inf)
            for minute in sorted(self.pending_orders):
                self.fill_orders(minute)
        rows = []
        for cs in self.streams:
            cs.sr.arrival_bins = [list(b) for b in cs.arrivals]  # for the row's counts
            rows.append(stream_row(self.campaign, cs.sr, len(self.streams), cs.peak))
        return SessionOutput(
            rows=rows,
            timeseries={cs.sr.stream.id: self.timeseries(cs) for cs in self.streams},
            events=None,
        )

    # ------------------------------------------------------------------ a batch

    def batch(self, cs: CohortStream, minute: int) -> None:
        """Arrivals of one stream in one minute: the platform's draw, then the inbox
        (word of mouth and carry-over) until it is empty, since a share can bring a
        viewer within the same minute."""
        m = minute - cs.sr.stream.start
        arrived = []
        t, source, intent_mean = self.arrivals_of(cs, m)
        while True:
            if len(t):
                arrived.append(t)
                self.enter(cs, m, t, source, intent_mean)
            inbox = cs.incoming.pop(m, [])
            if not inbox:
                break
            t = np.concatenate([when for when, _, _ in inbox])
            source = np.concatenate(
                [np.full(len(w), s, dtype=np.int64) for w, s, _ in inbox]
            )
            intent_mean = np.concatenate([i for _, _, i in inbox])
        self.minute_peak(cs, m, np.concatenate(arrived or [np.empty(0)]))

    def enter(
        self,
        cs: CohortStream,
        m: int,
        t: np.ndarray,
        source: np.ndarray,
        intent_mean: np.ndarray,
    ) -> None:
        """A batch of viewers enters: everything decided at arrival."""
        sr, rng, host = cs.sr, cs.rng, cs.sr.host
        n = len(t)
        if n:
            cs.arrivals[:, m] += np.bincount(source, minlength=len(SOURCE_NAMES))
        if sr.lognormal:
            dwell = np.exp(sr.dwell_mu + sr.dwell_sigma * rng.standard_normal(n))
        else:
            dwell = sr.dwell_mean * rng.standard_exponential(n)
        leave = np.minimum(t + dwell, sr.end)
        self.concurrency(cs, m, t, leave)
        real = ~((source == FOLLOWER) & (rng.random(n) < sr.fake_share))
        tally = sr.tally
        tally.viewers += n
        tally.fake_viewers += int(n - real.sum())
        t, leave, source, intent_mean = (
            t[real],
            leave[real],
            source[real],
            intent_mean[real],
        )
        n = len(t)
        if not n:
            return
        stay = leave - t
        tally.unique_viewers += n
        tally.watch_minutes += float(stay.sum())
        intent = intent_mean * np.exp(
            host.intent_sigma * rng.standard_normal(n) - sr.intent_half
        )
        eps = np.exp(sr.eps_mu + sr.eps_sigma * rng.standard_normal(n))
        likes = rng.poisson(host.like_rate * stay)
        comments = rng.poisson(host.comment_rate * stay)
        clicked = rng.random(n) < -np.expm1(-host.click_rate * stay)
        shared = rng.random(n) < host.share_prob
        questions = rng.poisson(host.question_rate * stay)
        tally.likes += int(likes.sum())
        tally.comments += int(comments.sum())
        tally.shares += int(shared.sum())
        if comments.any():
            when = np.repeat(t, comments) + rng.random(comments.sum()) * np.repeat(
                stay, comments
            )
            bins = np.minimum((when - sr.start).astype(np.int64), sr.minutes)
            cs.comments += np.bincount(bins, minlength=sr.minutes + 1)
        if shared.any():
            self.word_of_mouth(cs, t[shared] + rng.random(shared.sum()) * stay[shared])
        if cs.later:
            self.carry_over(cs, rng.random(n) < host.carryover_share)
        engaged = (likes > 0) | (comments > 0) | clicked | shared | (questions > 0)
        asker = np.full(n, -1.0)
        if questions.any():
            asker[questions > 0] = self.queue_questions(cs, t, leave, questions)
        self.add_shoppers(cs, t, leave, intent, eps, engaged, clicked, asker)
        tally.engaged += int(engaged.sum())
        tally.clicked += int(clicked.sum())

    def arrivals_of(
        self, cs: CohortStream, m: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """This minute's arrival times, sources and mean intents (feedback included)."""
        sr, rng, platform = cs.sr, cs.rng, self.platform
        window = platform.feedback_window_minutes
        lo = max(0, m - window)
        feedback = min(
            platform.feedback_max_viewers_per_minute,
            platform.feedback_viewers_per_comment * cs.comments[lo:m].sum() / window,
        )
        views = cs.arrivals[:, lo:m].sum()
        gpm = 1000.0 * cs.gmv[lo:m].sum() / views if views else 0.0
        boost = platform.gpm_boost * min(1.0, gpm / platform.gpm_reference)
        rate = sr.host.recommendation_rate * (1.0 + boost) + feedback
        sr.tally.platform_expected += rate
        n_f = rng.poisson(sr.follower_per_minute[m])
        n_p = rng.poisson(rate)
        n_a = rng.poisson(sr.ads_per_minute)
        cdf = sr.follower_cdf
        u = cdf[m] + rng.random(n_f) * (cdf[m + 1] - cdf[m])
        parts = [
            (traffic.follower_inverse(sr.host, sr.minutes, u) + sr.start, FOLLOWER),
            (sr.start + m + rng.random(n_p), PLATFORM),
            (sr.start + m + rng.random(n_a), ADS),
        ]
        times = [p for p, _ in parts]
        sources = [np.full(len(p), s, dtype=np.int64) for p, s in parts]
        intents = [np.full(len(p), sr.intent_by_source[s]) for p, s in parts]
        return np.concatenate(times), np.concatenate(sources), np.concatenate(intents)

    def concurrency(
        self, cs: CohortStream, m: int, t: np.ndarray, leave: np.ndarray
    ) -> None:
        """Time-weighted presence per minute; leaves filed by minute for the peak."""
        sr = cs.sr
        first = np.minimum((t - sr.start).astype(np.int64), sr.minutes - 1)
        last = np.minimum((leave - sr.start).astype(np.int64), sr.minutes)
        same = last == first
        edge = first + 1 + sr.start
        cs.area += np.bincount(
            first, weights=np.where(same, leave, edge) - t, minlength=sr.minutes + 1
        )
        split = ~same
        cs.area += np.bincount(
            last[split],
            weights=leave[split] - (last[split] + sr.start),
            minlength=sr.minutes + 1,
        )
        cs.full += np.bincount(first[split] + 1, minlength=sr.minutes + 2)
        cs.full -= np.bincount(last[split], minlength=sr.minutes + 2)
        ending = last < sr.minutes
        for k, part in by_minute(last[ending], leave[ending]):
            cs.leaves[k].append(part)

    def minute_peak(self, cs: CohortStream, m: int, t: np.ndarray) -> None:
        """The exact peak inside minute m: arrivals and leaves merged in time order."""
        gone = np.concatenate(cs.leaves.pop(m, [np.empty(0)]))
        times = np.concatenate([gone, t])
        steps = np.concatenate([-np.ones(len(gone)), np.ones(len(t))])
        order = np.argsort(times, kind="stable")
        if len(order):
            cs.peak = max(cs.peak, cs.present + int(np.cumsum(steps[order]).max()))
        cs.present += len(t) - len(gone)

    # ------------------------------------------------------------------ traffic

    def word_of_mouth(self, cs: CohortStream, t_share: np.ndarray) -> None:
        """Each share brings Poisson(k) viewers after exponential delays."""
        platform, rng = self.platform, cs.rng
        offspring = rng.poisson(platform.wom_viewers_per_share, len(t_share))
        when = np.repeat(t_share, offspring)
        when = when + platform.wom_delay_minutes * rng.standard_exponential(len(when))
        self.schedule(cs, when[when < cs.sr.end], WOM, platform.intent_wom)

    def carry_over(self, cs: CohortStream, chosen: np.ndarray) -> None:
        """Chosen viewers come to one later stream each, drawn uniformly."""
        k = int(chosen.sum())
        if not k:
            return
        rng = cs.rng
        target = rng.integers(0, len(cs.later), k)
        intent = self.platform.intent_follower * cs.sr.host.carryover_intent_boost
        for j, other in enumerate(cs.later):
            count = int((target == j).sum())
            if count:
                u = rng.random(count)
                when = other.sr.start + traffic.follower_inverse(
                    other.sr.host, other.sr.minutes, u
                )
                self.schedule(other, when, CARRY, intent)

    def schedule(
        self, cs: CohortStream, when: np.ndarray, source: int, intent: float
    ) -> None:
        """Future arrivals into a stream's per-minute inboxes."""
        minute = np.minimum((when - cs.sr.start).astype(np.int64), cs.sr.minutes - 1)
        for k, pick in by_minute(minute, when):
            cs.incoming[k].append((pick, source, np.full(len(pick), intent)))

    # ------------------------------------------------------------------ purchases

    def add_shoppers(
        self,
        cs: CohortStream,
        t: np.ndarray,
        leave: np.ndarray,
        intent: np.ndarray,
        eps: np.ndarray,
        engaged: np.ndarray,
        clicked: np.ndarray,
        asker: np.ndarray,
    ) -> None:
        """Start the purchase clocks of new viewers (bound over their visit)."""
        sr = cs.sr
        n = len(t)
        d_max = np.zeros(n)
        u_max = np.zeros(n)
        for t0, t1, depth, lift in sr.promo_windows:
            overlap = (t0 < leave) & (t1 > t)
            d_max = np.where(overlap, np.maximum(d_max, depth), d_max)
            u_max = np.where(overlap, np.maximum(u_max, lift), u_max)
        bound = sr.hazard_unit * intent * (1.0 + u_max) * (1.0 - d_max) ** (-eps)
        first = t + cs.rng.standard_exponential(n) / np.where(bound > 0, bound, 1.0)
        first = np.where(bound > 0, first, np.inf)
        new = np.column_stack(
            [t, leave, intent, eps, bound, first, engaged, clicked, asker]
        )
        cs.shoppers = np.concatenate([cs.shoppers, new])

    def shop(self, cs: CohortStream, minute: int) -> None:
        """Thinning candidates inside this minute, against this minute's stock state.

        Each candidate is kept with probability hazard / bound; a kept one orders
        (the order joins this minute's time-ordered queue); a clock that passes the
        viewer's leaving time ends, and the delayed purchase is decided then.
        """
        sr, rng, host = cs.sr, cs.rng, cs.sr.host
        shoppers = cs.shoppers
        end = minute + 1.0
        fits = np.array([p.fit for p in sr.products])
        scarce = self.scarce[cs.product_index]
        bought = np.zeros(len(shoppers), dtype=bool)
        live = np.flatnonzero(shoppers[:, NEXT] < np.minimum(shoppers[:, LEAVE], end))
        hits: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        while len(live):
            rows = shoppers[live]
            xs = rows[:, NEXT]
            index = ((xs - sr.start) / sr.segment).astype(np.int64) % len(sr.products)
            discount, urgency = self.promotion(cs, index, xs)
            trust = self.trust(cs, rows, xs)
            hazard = (
                host.purchase_rate
                * rows[:, INTENT]
                * trust
                * fits[index]
                * (1.0 - discount) ** (-rows[:, EPS])
                * (1.0 + urgency)
                * np.where(scarce[index], 1.0 + sr.scarcity_lift, 1.0)
            )
            accept = rng.random(len(live)) * rows[:, BOUND] < hazard
            hits.append((live[accept], xs[accept], index[accept], discount[accept]))
            bought[live[accept]] = True
            live = live[~accept]
            shoppers[live, NEXT] += (
                rng.standard_exponential(len(live)) / shoppers[live, BOUND]
            )
            live = live[shoppers[live, NEXT] < np.minimum(shoppers[live, LEAVE], end)]
        tally = sr.tally
        if hits:
            who = np.concatenate([h[0] for h in hits])
            self.queue_orders(
                cs,
                np.concatenate([h[1] for h in hits]),
                np.concatenate([h[2] for h in hits]),
                np.concatenate([h[3] for h in hits]),
                late=False,
            )
            tally.engaged += int((shoppers[who, ENGAGED] == 0).sum())
            tally.clicked += int((shoppers[who, CLICKED] == 0).sum())
        # an asker's delayed purchase waits for the minute it leaves in, when every
        # answer before its leaving is known
        over = (
            ~bought
            & (shoppers[:, NEXT] >= shoppers[:, LEAVE])
            & ((shoppers[:, ASKER] < 0) | (shoppers[:, LEAVE] <= end))
        )
        if over.any():
            gone = shoppers[over]
            late = self.delayed(
                cs,
                gone[:, ARRIVE],
                gone[:, LEAVE],
                gone[:, INTENT],
                self.trust(cs, gone, gone[:, LEAVE]),
            )
            tally.engaged += int((late & (gone[:, ENGAGED] == 0)).sum())
            tally.clicked += int((late & (gone[:, CLICKED] == 0)).sum())
        for k in shoppers[(bought | over) & (shoppers[:, ASKER] >= 0), ASKER]:
            done = self.askers[int(k)]
            done.shopping = False
            if not done.pending:
                del self.askers[int(k)]
        cs.shoppers = shoppers[~bought & ~over]

    def trust(self, cs: CohortStream, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Trust at times x; for askers, moved by their answers before x."""
        sr, host = cs.sr, cs.sr.host
        trust = sr.ceiling - sr.gap0 * np.exp(-host.trust_rate * (x - rows[:, ARRIVE]))
        for i in np.flatnonzero(rows[:, ASKER] >= 0):
            asker = self.askers[int(rows[i, ASKER])]
            trust[i] = self.asker_trust(cs, asker, float(rows[i, ARRIVE]), float(x[i]))
        return trust

    def asker_trust(
        self, cs: CohortStream, asker: Asker, arrive: float, x: float
    ) -> float:
        """The agent engine's trust rules, replayed over an asker's answers."""
        sr, host = cs.sr, cs.sr.host
        gap, ref = sr.gap0, arrive
        for at, answered in sorted(asker.history):
            if at > x:
                break
            gap *= math.exp(-host.trust_rate * (at - ref))
            if answered:
                gap *= 1.0 - host.answer_trust_gain
            else:
                gap = min(sr.ceiling, gap + host.abandon_trust_loss)
            ref = at
        return sr.ceiling - gap * math.exp(-host.trust_rate * (x - ref))

    def promotion(
        self, cs: CohortStream, index: np.ndarray, x: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(discount, urgency) of the deepest promotion on each featured product."""
        d = np.zeros(len(x))
        urgency = np.zeros(len(x))
        for (t0, t1, depth, u), mask in zip(
            cs.sr.promo_windows, cs.promo_masks, strict=True
        ):
            on = (x >= t0) & (x < t1) & mask[index] & (depth >= d)
            d = np.where(on, depth, d)
            urgency = np.where(on, u, urgency)
        return d, urgency

    def delayed(
        self,
        cs: CohortStream,
        t: np.ndarray,
        leave: np.ndarray,
        intent: np.ndarray,
        trust: np.ndarray | None = None,
    ) -> np.ndarray:
        """Purchases after leaving, within the attribution window (mask of buyers).

        `trust` at leaving defaults to the path without questions."""
        sr, rng, host = cs.sr, cs.rng, cs.sr.host
        if host.delayed_purchase_prob <= 0 or not len(t):
            return np.zeros(len(t), dtype=bool)
        if trust is None:
            trust = sr.ceiling - sr.gap0 * np.exp(-host.trust_rate * (leave - t))
        p = np.minimum(1.0, host.delayed_purchase_prob * intent * trust)
        buys = rng.random(len(t)) < p
        delay = host.delayed_mean_minutes * rng.standard_exponential(len(t))
        buys &= delay <= self.platform.attribution_window_minutes
        index = ((leave - 1e-9 - sr.start) / sr.segment).astype(np.int64) % len(
            sr.products
        )
        self.queue_orders(
            cs, (leave + delay)[buys], index[buys], np.zeros(int(buys.sum())), late=True
        )
        return buys

    def queue_orders(
        self,
        cs: CohortStream,
        when: np.ndarray,
        index: np.ndarray,
        discount: np.ndarray,
        late: bool,
    ) -> None:
        """Orders into the time-ordered queue (units and returns drawn now)."""
        if not len(when):
            return
        rng = cs.rng
        product = cs.product_index[index]
        units = 1 + rng.poisson(self.extra_units[product])
        returned = rng.random(len(when)) < self.return_rate[product]
        rows = np.column_stack(
            [
                when,
                np.full(len(when), cs.index),
                product,
                units,
                self.price[product] * (1.0 - discount),
                returned,
                np.full(len(when), float(late)),
            ]
        )
        # a guard: an order never joins a minute already filled
        minute = np.maximum(np.floor(when).astype(np.int64), self.clock)
        for k, part in by_minute(minute, rows):
            self.pending_orders[k].append(part)

    def fill_orders(self, minute: int) -> None:
        """Take the orders of one minute in time order from the shared stock."""
        chunks = self.pending_orders.pop(minute, None)
        if not chunks:
            return
        rows = np.concatenate(chunks)
        rows = rows[np.argsort(rows[:, TIME], kind="stable")]
        product = rows[:, PRODUCT].astype(np.int64)
        wanted = rows[:, UNITS]
        units = wanted.copy()
        lost = np.zeros(len(rows), dtype=bool)
        for p in np.unique(product):
            if math.isinf(self.level[p]):
                continue
            mine = product == p
            before = self.level[p] - (np.cumsum(wanted[mine]) - wanted[mine])
            units[mine] = np.clip(before, 0.0, wanted[mine])
            lost[mine] = before < 1.0
            self.level[p] = max(0.0, self.level[p] - wanted[mine].sum())
        self.scarce = self.level < self.platform.scarcity_threshold * self.initial
        value = units * rows[:, UNIT_PRICE]
        returned = rows[:, RETURNED] > 0
        late = rows[:, LATE] > 0
        stream = rows[:, STREAM].astype(np.int64)
        for cs in self.streams:
            mine = stream == cs.index
            if not mine.any():
                continue
            tally = cs.sr.tally
            done = mine & ~lost
            tally.lost_sales += int((mine & lost).sum())
            tally.orders += int(done.sum())
            tally.delayed_orders += int((done & late).sum())
            tally.units += int(units[done].sum())
            tally.gross_gmv += float(value[done].sum())
            tally.refunds += float(value[done & returned].sum())
            tally.returned_orders += int((done & returned).sum())
            kept = done & ~returned
            tally.margin_value += float(
                (value[kept] * self.margin[product[kept]]).sum()
            )
            live = done & ~late
            at = np.minimum(
                (rows[live, TIME] - cs.sr.start).astype(np.int64), cs.sr.minutes - 1
            )
            cs.orders += np.bincount(at, minlength=cs.sr.minutes)
            cs.gmv += np.bincount(at, weights=value[live], minlength=cs.sr.minutes)

    # ------------------------------------------------------------------ Q&A

    def queue_questions(
        self, cs: CohortStream, t: np.ndarray, leave: np.ndarray, questions: np.ndarray
    ) -> np.ndarray:
        """Record askers and put their questions in the desk's queue; their ids."""
        rng, host = cs.rng, cs.sr.host
        asks = questions > 0
        ids = np.arange(self.next_asker, self.next_asker + int(asks.sum()))
        self.next_asker += len(ids)
        count = questions[asks]
        for k, left, many in zip(
            ids.tolist(), leave[asks].tolist(), count.tolist(), strict=True
        ):
            self.askers[k] = Asker(leave=left, pending=many)
        who = np.repeat(ids.astype(float), count)
        start = np.repeat(t[asks], count)
        span = np.repeat((leave - t)[asks], count)
        asked = start + rng.random(len(who)) * span
        patience = host.qa_patience_minutes * rng.standard_exponential(len(who))
        service = host.qa_service_minutes * rng.standard_exponential(len(who))
        cs.questions.append(np.column_stack([asked, patience, service, who]))
        return ids.astype(float)

    def serve_questions(self, cs: CohortStream, until: float) -> None:
        """FIFO service of the questions asked before `until` (exact, with reneging)."""
        if not cs.questions:
            return
        queue = np.concatenate(cs.questions)
        queue = queue[np.argsort(queue[:, 0], kind="stable")]
        now = queue[:, 0] < until
        cs.questions = [queue[~now]] if (~now).any() else []
        host, tally, servers = cs.sr.host, cs.sr.tally, cs.servers
        for asked, patience, service, who in queue[now].tolist():
            asker = self.askers[int(who)]
            asker.pending -= 1
            if not asker.pending and not asker.shopping:
                del self.askers[int(who)]
            tally.questions_asked += 1
            give_up = asked + min(patience, asker.leave - asked)
            if servers:
                begin = max(asked, servers[0])
                if not host.reneging or begin <= give_up:
                    heapq.heapreplace(servers, begin + service)
                    tally.qa_wait_minutes += begin - asked
                    tally.questions_answered += 1
                    asker.history.append((begin + service, True))
                    continue
            tally.questions_abandoned += 1
            if patience < asker.leave - asked:  # a question dropped on leaving
                asker.history.append((give_up, False))  # changes no trust

    # ------------------------------------------------------------------ output

    def timeseries(self, cs: CohortStream) -> np.ndarray:
        """Per-minute levels and tallies, in the agent engine's columns."""
        minutes = cs.sr.minutes
        concurrent = cs.area[:minutes] + np.cumsum(cs.full)[:minutes]
        return np.column_stack([concurrent, *cs.arrivals, cs.orders, cs.gmv])


def by_minute(minute: np.ndarray, values: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """`values` split by their `minute` (one sort instead of a mask per minute)."""
    if len(minute) == 0:
        return []
    order = np.argsort(minute, kind="stable")
    keys, first = np.unique(minute[order], return_index=True)
    parts = np.split(values[order], first[1:])
    return list(zip(keys.tolist(), parts, strict=True))


def run_replication(
    campaign: Campaign, seed: int, replication: int, event_log: bool = False
) -> SessionOutput:
    """Run one replication of one campaign with the cohort engine (no event log)."""
    if event_log:
        raise ValueError("the cohort engine keeps no per-viewer event log")
    return CohortSession(campaign, seed, replication).run()
