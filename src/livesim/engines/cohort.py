"""The cohort engine: the agent engine's model at campaign scale, a batch at a time.

One batch per campaign minute holds the arrivals of every live stream (each viewer
carries its stream's index and reads its host's parameters from a per-stream table).
The per-viewer work runs in compiled passes (`kernels`, numba): at arrival, dwell,
presence, the fake-follower mark, intent, price sensitivity, the first like, comment
and question, click, share and carry-over marks and the first purchase candidate;
each minute, the purchase clocks by thinning and the purchases after leaving. numpy
handles the few (sharers' offspring, carry-over, askers' further questions, units and
returns of orders). What is sparse and interacting runs in time order, as in the
agent engine:

* the platform's feedback reads the comment and GMV bins of the last minutes;
* stock is consumed by a time-ordered queue of orders (all streams share it), with
  partial fills and lost sales;
* each stream's Q&A desk is an exact FIFO queue with `qa_capacity` servers and
  reneging (a question is answered if a server frees before the asker gives up;
  abandoning questions use no server, so FIFO order is kept exactly);
* an asker's trust is moved by its answers at their times, and its purchase after
  leaving waits until every answer before its leaving is known.

The model is docs/model.md's; the approximations against the agent engine are in
docs/model.md, section 10, with their effects. The constants (profiles, promotions,
segments, hazard bounds) come from the agent engine's `StreamRun`, so both engines
read one model. Memory does not grow with the number of viewers: only counters,
per-minute bins and the viewers still to be resolved are kept.

Random numbers: one generator per (replication, decision, minute), so a difference
between two strategies in one minute does not shift the draws of later minutes
(common random numbers, docs/model.md section 5).
"""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import simpy

from livesim.engines import kernels
from livesim.engines.agent import (
    ADS,
    AWARE,
    CARRY,
    FOLLOWER,
    PLATFORM,
    SOURCE_NAMES,
    WOM,
    ProductStock,
    SessionOutput,
    StreamRun,
    StreamTally,
    fewer_collections,
    stream_row,
)
from livesim.engines.kernels import ASKER, SHOPPER_FIELDS, TALLY, T
from livesim.model.rng import stream_key
from livesim.scenario import Campaign

#: Columns of a row in the order queue (see `queue_orders` and `fill_orders`).
ORDER_FIELDS = ("time", "stream", "product", "units", "unit_price", "returned", "late")
TIME, STREAM, PRODUCT, UNITS, UNIT_PRICE, RETURNED, LATE = range(len(ORDER_FIELDS))
#: Columns of a scheduled arrival (word of mouth, carry-over) in a minute's inbox.
INBOX_FIELDS = ("stream", "time", "source", "intent")
#: Columns of a question in a desk's queue.
QUESTION_FIELDS = ("asked", "patience", "service", "asker", "leave")
#: One random generator per decision and minute.
DECISIONS = ("arrivals", "viewers", "engagement", "traffic", "purchase", "qa", "orders")
COHORT_KEY = stream_key("cohort engine")
#: Tallies that are counts (the others are minutes, RMB or expected viewers).
EMPTY_INT = np.empty(0, dtype=np.int64)
COUNTS = {f.name for f in fields(StreamTally) if f.type in (int, "int")}


class AskerTable:
    """Viewers with questions, by id, and their answers as chains in arrays: per
    asker the slot of its latest answer (-1 for none); per slot the answer's time,
    whether it was answered (else abandoned), and the asker's previous slot. The
    compiled kernels append to them (`kernels.serve`) and replay them
    (`kernels.asker_trust`)."""

    def __init__(self) -> None:
        self.size = 0
        self.latest = np.zeros(0, dtype=np.int64)
        self.used = 0
        self.at = np.zeros(0)
        self.answered = np.zeros(0, dtype=bool)
        self.previous = np.zeros(0, dtype=np.int64)

    def add(self, n: int) -> np.ndarray:
        """n new askers; their ids."""
        if self.size + n > len(self.latest):
            grown = np.full(max(2 * len(self.latest), self.size + n, 1024), -1)
            grown[: self.size] = self.latest[: self.size]
            self.latest = grown
        ids = np.arange(self.size, self.size + n)
        self.size += n
        return ids

    def reserve(self, n: int) -> None:
        """Room for n more answers."""
        if self.used + n > len(self.at):
            size = max(2 * len(self.at), self.used + n, 1024)
            self.at = np.resize(self.at, size)
            self.answered = np.resize(self.answered, size)
            self.previous = np.resize(self.previous, size)

    @property
    def chains(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.latest, self.at, self.answered, self.previous


class StreamTable:
    """Every stream's constants as arrays indexed by the stream's position.

    Built from the agent engine's `StreamRun`s, so both engines read one model.
    Per-minute profiles are padded to the longest stream.
    """

    def __init__(self, runs: list[StreamRun], campaign: Campaign) -> None:
        platform = campaign.platform
        product_ids = list(campaign.products)
        self.count = n = len(runs)
        self.width = max(r.minutes for r in runs)

        def column(get: object) -> np.ndarray:
            assert callable(get)
            return np.array([get(r) for r in runs], dtype=float)

        self.start = column(lambda r: r.start)
        self.start_minute = self.start.astype(np.int64)
        self.end = column(lambda r: r.end)
        self.minutes = np.array([r.minutes for r in runs], dtype=np.int64)
        self.lognormal = np.array([r.lognormal for r in runs])
        self.dwell_mu = column(lambda r: r.dwell_mu)
        self.dwell_sigma = column(lambda r: r.dwell_sigma)
        self.dwell_mean = column(lambda r: r.dwell_mean)
        self.fake_share = column(lambda r: r.fake_share)
        self.intent_sigma = column(lambda r: r.host.intent_sigma)
        self.intent_half = column(lambda r: r.intent_half)
        self.eps_mu = column(lambda r: r.eps_mu)
        self.eps_sigma = column(lambda r: r.eps_sigma)
        self.like_rate = column(lambda r: r.host.like_rate)
        self.comment_rate = column(lambda r: r.host.comment_rate)
        self.click_rate = column(lambda r: r.host.click_rate)
        self.share_prob = column(lambda r: r.host.share_prob)
        self.question_rate = column(lambda r: r.host.question_rate)
        self.carry_share = column(lambda r: r.host.carryover_share)
        self.carry_intent = platform.intent_follower * column(
            lambda r: r.host.carryover_intent_boost
        )
        self.recommendation = column(lambda r: r.host.recommendation_rate)
        self.ads_per_minute = column(lambda r: r.ads_per_minute)
        self.hazard_unit = column(lambda r: r.hazard_unit)
        self.purchase_rate = column(lambda r: r.host.purchase_rate)
        self.ceiling = column(lambda r: r.ceiling)
        self.gap0 = column(lambda r: r.gap0)
        self.trust_rate = column(lambda r: r.host.trust_rate)
        self.segment = column(lambda r: r.segment)
        self.delayed_prob = column(lambda r: r.host.delayed_purchase_prob)
        self.delayed_mean = column(lambda r: r.host.delayed_mean_minutes)
        self.patience = column(lambda r: r.host.qa_patience_minutes)
        self.answer_gain = column(lambda r: r.host.answer_trust_gain)
        self.abandon_loss = column(lambda r: r.host.abandon_trust_loss)
        self.service = column(lambda r: r.host.qa_service_minutes)
        self.intent_by_source = np.array(runs[0].intent_by_source)
        # follower arrivals: expected count per minute and the profile's inverse
        self.follower_per_minute = np.zeros((self.count, self.width))
        self.follower_cdf = np.ones((self.count, self.width + 1))
        self.aware_per_minute = np.zeros((self.count, self.width))
        for i, r in enumerate(runs):
            self.follower_per_minute[i, : r.minutes] = r.follower_per_minute
            self.aware_per_minute[i, : r.minutes] = r.aware_per_minute
            self.follower_cdf[i, : r.minutes + 1] = r.follower_cdf
        self.aware = bool(self.aware_per_minute.any())
        self.uniform_profile = np.array(
            [r.host.arrival_profile == "uniform" for r in runs]
        )
        self.tau = np.where(
            self.uniform_profile, 1.0, column(lambda r: r.host.arrival_decay_minutes)
        )
        self.decay_scale = np.expm1(-self.minutes / self.tau)
        # products: each stream's products as campaign product indices, with fits
        most = max(len(r.products) for r in runs)
        self.products = np.zeros((self.count, most), dtype=np.int64)
        self.fit = np.zeros((self.count, most))
        self.product_count = np.array([len(r.products) for r in runs], dtype=np.int64)
        for i, r in enumerate(runs):
            ids = [product_ids.index(p) for p in r.stream.products]
            self.products[i, : len(ids)] = ids
            self.fit[i, : len(ids)] = [p.fit for p in r.products]
        # promotions: a flat table (the last row a promotion that never runs) and
        # each stream's rows in order, padded with that last row
        promo = [
            (i, *window, [pid in (p.products or r.stream.products) for pid in ids])
            for i, r in enumerate(runs)
            for window, p, ids in (
                (w, p, r.stream.products)
                for w, p in zip(r.promo_windows, r.stream.promotions, strict=True)
            )
        ]
        self.promoted = bool(promo)
        self.promo_t0 = np.array([p[1] for p in promo] + [math.inf])
        self.promo_t1 = np.array([p[2] for p in promo] + [math.inf])
        self.promo_depth = np.array([p[3] for p in promo] + [0.0])
        self.promo_lift = np.array([p[4] for p in promo] + [0.0])
        self.promo_on = np.zeros((len(promo) + 1, most), dtype=bool)
        for k, p in enumerate(promo):
            self.promo_on[k, : len(p[5])] = p[5]
        per_stream = [[k for k, p in enumerate(promo) if p[0] == i] for i in range(n)]
        self.promo_slots = np.full(
            (n, max(1, *(len(x) for x in per_stream))), len(promo), dtype=np.int64
        )
        for i, ks in enumerate(per_stream):
            self.promo_slots[i, : len(ks)] = ks
        # carry-over: the streams that start after each stream ends
        later = [[j for j, o in enumerate(runs) if o.start >= r.end] for r in runs]
        self.later_count = np.array([len(x) for x in later], dtype=np.int64)
        self.later = np.zeros((self.count, max(1, *self.later_count)), dtype=np.int64)
        for i, x in enumerate(later):
            self.later[i, : len(x)] = x
        # the per-stream constants the compiled kernels read, one row each
        self.par = np.array(
            [np.asarray(getattr(self, name), dtype=float) for name in kernels.PARAMS]
        )

    def follower_time(self, stream: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Campaign minute by which a share u of a stream's followers has come."""
        uniform = u * self.minutes[stream]
        decay = -self.tau[stream] * np.log1p(u * self.decay_scale[stream])
        return self.start[stream] + np.where(
            self.uniform_profile[stream], uniform, decay
        )

    def profile_times(
        self, rng: np.random.Generator, live: np.ndarray, m: np.ndarray, n: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(stream, campaign time) of `n[i]` arrivals in minute m[i] of stream
        live[i] on its follower profile (followers and an awareness phase's
        audience), placed by inverting the profile inside the minute."""
        stream = np.repeat(live, n)
        minute = np.repeat(m, n)
        lo = self.follower_cdf[stream, minute]
        hi = self.follower_cdf[stream, minute + 1]
        return stream, self.follower_time(
            stream, lo + rng.random(len(stream)) * (hi - lo)
        )


class CohortSession:
    """One replication of one campaign with the cohort engine."""

    def __init__(self, campaign: Campaign, seed: int, replication: int) -> None:
        self.campaign = campaign
        self.platform = campaign.platform
        self.seed = seed
        self.replication = replication
        env = simpy.Environment()  # only to build the shared constants
        stock = {pid: ProductStock(env, p) for pid, p in campaign.products.items()}
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
        self.runs = [
            StreamRun(
                env,
                s,
                campaign.hosts[s.host],
                campaign.host_kinds[s.host],
                campaign,
                stock,
                seed,
                replication,
            )
            for s in campaign.streams
        ]
        self.table = tab = StreamTable(self.runs, campaign)
        n, width = tab.count, tab.width
        # per-stream bins (rows: streams; columns: stream minutes)
        self.arrivals = np.zeros((n, len(SOURCE_NAMES), width))
        self.entered = np.zeros((n, width))
        self.comments = np.zeros((n, width + 1))
        self.orders = np.zeros((n, width))
        self.gmv = np.zeros((n, width))
        self.area = np.zeros((n, width + 2))
        self.full = np.zeros((n, width + 2))
        self.tally = np.zeros((len(TALLY), n))
        self.present = np.zeros(n, dtype=np.int64)
        self.peak = np.zeros(n, dtype=np.int64)
        # what waits for a later minute, by campaign minute
        # leaves by campaign minute, the pending ones in minute order, and the new
        # ones of this minute's batches (see `minute_peak`)
        self.leave_minute = np.empty(0, dtype=np.int64)
        self.leave_key = np.empty(0)
        self.leave_count = 0
        self.new_leaves: list[tuple[np.ndarray, np.ndarray]] = []
        # comments and likes after each viewer's first: exposure (see `kernels.enter`)
        self.comment_part = np.zeros((n, width + 2))
        self.comment_full = np.zeros((n, width + 2))
        self.comment_running = np.zeros(n)
        self.like_exposure = np.zeros(n)
        self.inbox = Pending(len(INBOX_FIELDS))
        self.pending_orders = Pending(len(ORDER_FIELDS))
        # each desk's questions not yet served, and its servers' free times
        self.questions: dict[int, list[np.ndarray]] = {}
        self.first_question = np.full(n, math.inf)
        self.servers = [np.full(r.host.qa_capacity, r.start) for r in self.runs]
        self.askers = AskerTable()
        # viewers whose purchase clock is running: columns of SHOPPER_FIELDS
        self.shoppers = np.empty((1024, len(SHOPPER_FIELDS)))
        self.due = np.empty(1024)  # when each row next needs reading (kernels.shop)
        self.shopper_count = 0
        self.finished = 0  # rows finished since the table was last compacted
        self.clock = 0
        self.generators: dict[str, np.random.Generator] = {}

    # ------------------------------------------------------------------ main loop

    def rng(self, decision: str) -> np.random.Generator:
        """The generator of one decision in this minute (made when first used)."""
        gen = self.generators.get(decision)
        if gen is None:
            key = (self.replication, COHORT_KEY, DECISIONS.index(decision), self.clock)
            seq = np.random.SeedSequence(entropy=self.seed, spawn_key=key)
            gen = self.generators[decision] = np.random.Generator(np.random.PCG64(seq))
        return gen

    def run(self) -> SessionOutput:
        """Run the replication: minute by minute, then the tail of delayed orders."""
        tab = self.table
        with fewer_collections():
            horizon = self.campaign.horizon
            for minute in range(int(tab.start.min()), horizon):
                self.clock = minute
                self.generators = {}
                live = np.flatnonzero((tab.start <= minute) & (minute < tab.end))
                if len(live):
                    self.batch(minute, live)
                # every answer before the minute's end is known before the purchase
                # clocks run (a desk is FIFO: later questions cannot change earlier
                # ones)
                for due in np.flatnonzero(self.first_question < minute + 1.0):
                    self.serve_questions(int(due), minute + 1.0)
                self.shop(minute)
                self.fill_orders(minute)
            self.clock = horizon
            for desk in list(self.questions):
                self.serve_questions(desk, math.inf)
            # after the last stream, stock no longer moves any purchase hazard: the
            # remaining (delayed) orders are filled in one time-ordered pass
            self.fill_orders(self.pending_orders.last())
        return self.output()

    def output(self) -> SessionOutput:
        """Rows and per-minute series in the agent engine's form."""
        rows = []
        series = {}
        for i, sr in enumerate(self.runs):
            for k, name in enumerate(TALLY):
                value = self.tally[k, i]
                setattr(
                    sr.tally,
                    name,
                    int(round(value)) if name in COUNTS else float(value),
                )
            m = sr.minutes
            sr.arrival_bins = [list(b) for b in self.arrivals[i, :, :m]]
            rows.append(
                stream_row(self.campaign, sr, len(self.runs), int(self.peak[i]))
            )
            concurrent = self.area[i, :m] + np.cumsum(self.full[i])[:m]
            series[sr.stream.id] = np.column_stack(
                [
                    concurrent,
                    *self.arrivals[i, :, :m],
                    self.orders[i, :m],
                    self.gmv[i, :m],
                ]
            )
        return SessionOutput(rows=rows, timeseries=series, events=None)

    def add(
        self, name: str, stream: np.ndarray, weights: np.ndarray | None = None
    ) -> None:
        """Add per-viewer counts (or weights) to a tally, per stream."""
        self.tally[T[name]] += np.bincount(
            stream, weights=weights, minlength=self.table.count
        )

    # ------------------------------------------------------------------ a batch

    def batch(self, minute: int, live: np.ndarray) -> None:
        """Arrivals of every live stream in one minute: the platform's draw, then the
        inbox (word of mouth and carry-over) until it is empty, since a share can bring
        a viewer within the same minute."""
        arrived_stream, arrived_t = [], []
        stream, t, source, intent = self.arrivals_of(minute, live)
        while True:
            # stream by stream: a difference in one stream's arrivals leaves the draws
            # of the streams before it in the batch where they were
            order = np.argsort(stream, kind="stable")
            stream, t, source, intent = (
                stream[order],
                t[order],
                source[order],
                intent[order],
            )
            if len(t):
                arrived_stream.append(stream)
                arrived_t.append(t)
                self.enter(stream, t, source, intent)
            rows = self.inbox.take(minute)
            if not len(rows):
                break
            stream = rows[:, 0].astype(np.int64)
            t, source, intent = rows[:, 1], rows[:, 2].astype(np.int64), rows[:, 3]
        empty = [np.empty(0, dtype=np.int64)]
        self.minute_peak(
            minute,
            np.concatenate(arrived_stream or empty),
            np.concatenate(arrived_t or [np.empty(0)]),
        )
        kernels.settle(
            self.rng("engagement"),
            live,
            minute,
            self.table.start_minute,
            self.comments,
            self.comment_part,
            self.comment_full,
            self.comment_running,
            self.like_exposure,
            self.tally,
        )

    def arrivals_of(
        self, minute: int, live: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """This minute's arrivals (stream, time, source, mean intent) with feedback."""
        tab, platform, rng = self.table, self.platform, self.rng("arrivals")
        m = minute - tab.start_minute[live]
        window = platform.feedback_window_minutes
        lag = m[:, None] - np.arange(1, window + 1)[None, :]
        past = lag >= 0
        lag = np.maximum(lag, 0)
        rows = live[:, None]
        comments = (self.comments[rows, lag] * past).sum(axis=1)
        views = (self.entered[rows, lag] * past).sum(axis=1)
        gmv = (self.gmv[rows, lag] * past).sum(axis=1)
        feedback = np.minimum(
            platform.feedback_max_viewers_per_minute,
            platform.feedback_viewers_per_comment * comments / window,
        )
        gpm = np.where(views > 0, 1000.0 * gmv / np.maximum(views, 1.0), 0.0)
        boost = platform.gpm_boost * np.minimum(1.0, gpm / platform.gpm_reference)
        rate = tab.recommendation[live] * (1.0 + boost) + feedback
        self.tally[T["platform_expected"], live] += rate
        n_f = rng.poisson(tab.follower_per_minute[live, m])
        n_p = rng.poisson(rate)
        n_a = rng.poisson(tab.ads_per_minute[live])
        s_f, t_f = tab.profile_times(rng, live, m, n_f)
        s_p = np.repeat(live, n_p)
        t_p = minute + rng.random(len(s_p))
        s_a = np.repeat(live, n_a)
        t_a = minute + rng.random(len(s_a))
        # an awareness phase's audience, drawn last (no draws without one, so
        # scenarios without it keep their numbers)
        s_w, t_w = s_a[:0], t_a[:0]
        if tab.aware:
            n_w = rng.poisson(tab.aware_per_minute[live, m])
            s_w, t_w = tab.profile_times(rng, live, m, n_w)
        source = np.repeat(
            np.array([FOLLOWER, PLATFORM, ADS, AWARE]),
            [len(s_f), len(s_p), len(s_a), len(s_w)],
        )
        return (
            np.concatenate([s_f, s_p, s_a, s_w]),
            np.concatenate([t_f, t_p, t_a, t_w]),
            source,
            self.table.intent_by_source[source],
        )

    def enter(
        self,
        stream: np.ndarray,
        t: np.ndarray,
        source: np.ndarray,
        intent_mean: np.ndarray,
    ) -> None:
        """A batch of viewers enters: everything decided at arrival (a compiled pass,
        `kernels.enter`), then what follows from the few who share, move on to a
        later stream or ask questions."""
        tab = self.table
        n = len(t)
        self.reserve(n)
        flags = np.empty(n, dtype=np.int64)
        leave = np.empty(n)
        asked = np.empty(n)
        row = np.empty(n, dtype=np.int64)
        leave_minute = np.empty(n, dtype=np.int64)
        leave_key = np.empty(n)
        self.shopper_count = kernels.enter(
            self.rng("viewers"),
            self.rng("engagement"),
            self.rng("purchase"),
            stream,
            t,
            source,
            intent_mean,
            tab.par,
            tab.start_minute,
            tab.promo_slots,
            tab.promo_t0,
            tab.promo_t1,
            tab.promo_depth,
            tab.promo_lift,
            self.arrivals,
            self.entered,
            self.area,
            self.full,
            self.tally,
            self.comments,
            self.comment_part,
            self.comment_full,
            self.like_exposure,
            leave_minute,
            leave_key,
            self.shoppers,
            self.due,
            self.shopper_count,
            flags,
            leave,
            asked,
            row,
        )
        self.new_leaves.append((leave_minute, leave_key))
        traffic = self.rng("traffic")
        shared = np.flatnonzero(flags & kernels.SHARED)
        if len(shared):
            at = t[shared] + traffic.random(len(shared)) * (leave - t)[shared]
            self.word_of_mouth(traffic, stream[shared], at)
        carried = np.flatnonzero(flags & kernels.CARRIED)
        if len(carried):
            self.carry_over(traffic, stream[carried])
        asks = np.flatnonzero(asked < leave)
        if len(asks):
            self.add("askers", stream[asks])
            ids = self.queue_questions(stream[asks], asked[asks], leave[asks])
            self.shoppers[row[asks], ASKER] = ids

    def reserve(self, n: int) -> None:
        """Room for n more purchase clocks."""
        if self.shopper_count + n > len(self.shoppers):
            size = max(2 * len(self.shoppers), self.shopper_count + n)
            grown = np.empty((size, len(SHOPPER_FIELDS)))
            grown[: self.shopper_count] = self.shoppers[: self.shopper_count]
            self.shoppers = grown
            self.due = np.resize(self.due, size)

    def minute_peak(self, minute: int, stream: np.ndarray, t: np.ndarray) -> None:
        """The exact peak of each stream inside a minute (`kernels.minute_peak`)."""
        gone = self.leaves_in(minute)
        key = np.sort(stream + 0.5 * (t - minute))
        kernels.minute_peak(key, gone, self.present, self.peak)

    def leaves_in(self, minute: int) -> np.ndarray:
        """The keys of the leaves in a campaign minute, sorted (see `minute_peak`)."""
        new_minute = np.concatenate([m for m, _ in self.new_leaves] or [EMPTY_INT])
        new_key = np.concatenate([k for _, k in self.new_leaves] or [np.empty(0)])
        self.new_leaves = []
        size = self.leave_count + len(new_minute)
        out_minute = np.empty(size, dtype=np.int64)
        out_key = np.empty(size)
        count, taken = kernels.file_leaves(
            self.leave_minute,
            self.leave_key,
            self.leave_count,
            new_minute,
            new_key,
            out_minute,
            out_key,
            minute,
        )
        self.leave_minute, self.leave_key = out_minute[taken:], out_key[taken:]
        self.leave_count = count - taken
        return np.sort(out_key[:taken])  # numpy's sort is the faster here

    # ------------------------------------------------------------------ traffic

    def word_of_mouth(
        self, rng: np.random.Generator, stream: np.ndarray, t_share: np.ndarray
    ) -> None:
        """Each share brings Poisson(k) viewers after exponential delays."""
        platform = self.platform
        offspring = rng.poisson(platform.wom_viewers_per_share, len(t_share))
        when = np.repeat(t_share, offspring)
        when = when + platform.wom_delay_minutes * rng.standard_exponential(len(when))
        stream = np.repeat(stream, offspring)
        keep = when < self.table.end[stream]
        self.schedule(
            stream[keep], when[keep], WOM, np.full(int(keep.sum()), platform.intent_wom)
        )

    def carry_over(self, rng: np.random.Generator, origin: np.ndarray) -> None:
        """Chosen viewers come to one later stream each, drawn uniformly."""
        tab = self.table
        pick = (rng.random(len(origin)) * tab.later_count[origin]).astype(np.int64)
        target = tab.later[origin, pick]
        when = tab.follower_time(target, rng.random(len(origin)))
        self.schedule(target, when, CARRY, tab.carry_intent[origin])

    def schedule(
        self, stream: np.ndarray, when: np.ndarray, source: int, intent: np.ndarray
    ) -> None:
        """Future arrivals into the inboxes of their (campaign) minutes."""
        if not len(when):
            return
        tab = self.table
        m = np.minimum(
            (when - tab.start[stream]).astype(np.int64), tab.minutes[stream] - 1
        )
        rows = np.column_stack(
            [stream, when, np.full(len(when), float(source)), intent]
        )
        self.inbox.add(tab.start_minute[stream] + m, rows)

    # ------------------------------------------------------------------ purchases

    def shop(self, minute: int) -> None:
        """Thinning candidates inside this minute, against this minute's stock state.

        Each candidate is kept with probability hazard / bound; a kept one orders
        (the order joins this minute's time-ordered queue); a clock that passes the
        viewer's leaving time ends, and the delayed purchase is decided then.
        """
        tab, rng = self.table, self.rng("purchase")
        n = self.shopper_count
        if not n:
            return
        end = minute + 1.0
        decided = np.empty((n, len(kernels.DECIDED_FIELDS)))
        k, finished = kernels.shop(
            rng,
            self.shoppers,
            n,
            end,
            tab.par,
            tab.products,
            tab.fit,
            tab.promo_slots,
            tab.promo_t0,
            tab.promo_t1,
            tab.promo_depth,
            tab.promo_lift,
            tab.promo_on,
            self.scarce,
            self.platform.scarcity_lift,
            self.platform.attribution_window_minutes,
            self.askers.chains,
            self.tally,
            self.due,
            decided,
        )
        if k:
            time, stream, index, discount, late = decided[:k].T
            self.queue_orders(
                stream.astype(np.int64), time, index.astype(np.int64), discount, late
            )
        # finished rows are dropped once they are half the table
        self.finished += finished
        if 2 * self.finished > n:
            self.shopper_count = kernels.compact(self.shoppers, self.due, n)
            self.finished = 0

    def queue_orders(
        self,
        stream: np.ndarray,
        when: np.ndarray,
        index: np.ndarray,
        discount: np.ndarray,
        late: bool | np.ndarray,
    ) -> None:
        """Orders into the time-ordered queue (units and returns drawn now)."""
        if not len(when):
            return
        rng = self.rng("orders")
        product = self.table.products[stream, index]
        units = 1 + rng.poisson(self.extra_units[product])
        returned = rng.random(len(when)) < self.return_rate[product]
        rows = np.column_stack(
            [
                when,
                stream,
                product,
                units,
                self.price[product] * (1.0 - discount),
                returned,
                np.zeros(len(when)) + late,
            ]
        )
        # a guard: an order never joins a minute already filled
        minute = np.maximum(np.floor(when).astype(np.int64), self.clock)
        self.pending_orders.add(minute, rows)

    def fill_orders(self, minute: int) -> None:
        """Take the orders due by the end of `minute` in time order from the stock."""
        rows = self.pending_orders.take(minute)
        if not len(rows):
            return
        tab = self.table
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
        done = ~lost
        kept = done & ~returned
        self.add("lost_sales", stream[lost])
        self.add("orders", stream[done])
        self.add("delayed_orders", stream[done & late])
        self.add("units", stream[done], units[done])
        self.add("gross_gmv", stream[done], value[done])
        self.add("refunds", stream[done & returned], value[done & returned])
        self.add("returned_orders", stream[done & returned])
        self.add("margin_value", stream[kept], value[kept] * self.margin[product[kept]])
        now = done & ~late
        s = stream[now]
        at = np.minimum(
            (rows[now, TIME] - tab.start[s]).astype(np.int64), tab.minutes[s] - 1
        )
        flat = s * tab.width + at
        self.orders += np.bincount(flat, minlength=self.orders.size).reshape(
            self.orders.shape
        )
        self.gmv += np.bincount(
            flat, weights=value[now], minlength=self.gmv.size
        ).reshape(self.gmv.shape)

    # ------------------------------------------------------------------ Q&A

    def queue_questions(
        self, stream: np.ndarray, first: np.ndarray, leave: np.ndarray
    ) -> np.ndarray:
        """Record askers and put their questions in their desks' queues; their ids.

        An asker's first question comes at `first`; the rest of its Poisson process
        (rate `question_rate` until it leaves) is a Poisson count at uniform times.
        """
        tab, rng = self.table, self.rng("qa")
        extra = rng.poisson(tab.question_rate[stream] * (leave - first))
        count = 1 + extra
        ids = self.askers.add(len(stream))
        who = np.repeat(ids.astype(float), count)
        desk = np.repeat(stream, count)
        asked = np.repeat(first, count)
        later = np.ones(len(who), dtype=bool)
        later[np.cumsum(count) - count] = False
        asked[later] += rng.random(int(extra.sum())) * np.repeat(leave - first, extra)
        patience = tab.patience[desk] * rng.standard_exponential(len(who))
        service = tab.service[desk] * rng.standard_exponential(len(who))
        rows = np.column_stack([asked, patience, service, who, np.repeat(leave, count)])
        for s, part in split_by(desk, rows):
            self.questions.setdefault(s, []).append(part)
            self.first_question[s] = min(self.first_question[s], part[:, 0].min())
        return ids.astype(float)

    def serve_questions(self, s: int, until: float) -> None:
        """FIFO service of a desk's questions asked before `until` (exact, reneging)."""
        queue = np.concatenate(self.questions[s])
        queue = queue[np.argsort(queue[:, 0], kind="stable")]
        now = queue[:, 0] < until
        if (~now).any():
            self.questions[s] = [queue[~now]]
            self.first_question[s] = queue[~now, 0].min()
        else:
            del self.questions[s]
            self.first_question[s] = math.inf
        served = queue[now]
        self.askers.reserve(len(served))
        answered_n, abandoned_n, waited, self.askers.used = kernels.serve(
            served,
            self.servers[s],
            self.runs[s].host.reneging,
            self.askers.chains,
            self.askers.used,
        )
        asked_n = len(served)
        tally = self.tally[:, s]
        tally[T["questions_asked"]] += asked_n
        tally[T["questions_answered"]] += answered_n
        tally[T["questions_abandoned"]] += abandoned_n
        tally[T["qa_wait_minutes"]] += waited


class Pending:
    """Rows waiting for a later minute; `take(minute)` removes those due by then."""

    def __init__(self, width: int) -> None:
        self.minute = np.empty(0, dtype=np.int64)
        self.rows = np.empty((0, width))
        self.new: list[tuple[np.ndarray, np.ndarray]] = []
        self.soonest: float = math.inf

    def add(self, minute: np.ndarray, rows: np.ndarray) -> None:
        if len(minute):
            self.new.append((minute, rows))
            self.soonest = min(self.soonest, int(minute.min()))

    def take(self, minute: int) -> np.ndarray:
        if self.soonest > minute:
            return self.rows[:0]
        self.gather()
        due = self.minute <= minute
        out = self.rows[due]
        self.minute, self.rows = self.minute[~due], self.rows[~due]
        self.soonest = int(self.minute.min()) if len(self.minute) else math.inf
        return out

    def gather(self) -> None:
        if self.new:
            self.minute = np.concatenate([self.minute, *(m for m, _ in self.new)])
            self.rows = np.concatenate([self.rows, *(r for _, r in self.new)])
            self.new = []

    def last(self) -> int:
        """The last minute that has rows (-1 if none)."""
        self.gather()
        return int(self.minute.max()) if len(self.minute) else -1


def split_by(key: np.ndarray, values: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """`values` split by an integer `key` (one sort instead of a mask per key)."""
    if len(key) == 0:
        return []
    order = np.argsort(key, kind="stable")
    key = key[order]
    cut = np.flatnonzero(key[1:] != key[:-1]) + 1
    parts = np.split(values[order], cut)
    return list(zip(key[np.r_[0, cut]].tolist(), parts, strict=True))


def run_replication(
    campaign: Campaign, seed: int, replication: int, event_log: bool = False
) -> SessionOutput:
    """Run one replication of one campaign with the cohort engine (no event log)."""
    if event_log:
        raise ValueError("the cohort engine keeps no per-viewer event log")
    return CohortSession(campaign, seed, replication).run()
