"""The cohort engine: the agent engine's model at campaign scale, a batch at a time.

One batch per campaign minute holds the arrivals of every live stream (each viewer
carries its stream's index and reads its host's parameters from a per-stream table).
Each campaign minute is one compiled step (`step.step`, numba), and a replication's
minutes run in one compiled call (`step.run`); this module sets up a replication (its
constants, bins, tables and random generators), sets the generators to each minute
(called back from `step.run`) and reads the results. The per-viewer work runs in
compiled passes (`kernels`): at arrival, dwell, presence, the fake-follower mark,
intent, price sensitivity, the first like, comment and question, click, share and
carry-over marks and the first purchase candidate (and, for most viewers, the purchase
after leaving); each minute, the purchase clocks by thinning and the purchases after
leaving. What is sparse and interacting runs in time order, as in the agent engine:

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

Random numbers: one random stream per (replication, decision, minute), so a
difference between two strategies in one minute does not shift the draws of later
minutes (common random numbers, docs/model.md section 5). A minute's stream is its own
block of the decision's PCG64DXSM generator, `minute` of numpy's jumps along it
(reached with `advance`), so a replication seeds one generator per decision, not one
per decision and minute.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from livesim.engines import kernels, step
from livesim.engines.kernels import TALLY
from livesim.engines.output import (
    COUNTS,
    SessionOutput,
    StreamTally,
    fewer_collections,
    stream_row,
)
from livesim.model.rng import reach_generator, stream_key
from livesim.model.stream import SOURCE_NAMES, StreamConstants, stream_constants
from livesim.scenario import Campaign

#: One random generator per decision; each minute draws from its own block of it.
DECISIONS = ("arrivals", "viewers", "engagement", "traffic", "purchase", "qa", "orders")
COHORT_KEY = stream_key("cohort engine")
#: How far apart the minutes' blocks of a decision's generator start, in draws: numpy's
#: own jump for its PCG generators (`jumped`), (golden ratio - 1) x 2**128. Multiples
#: of it modulo 2**128 stay at least 2**110 draws apart for any campaign length
#: allowed (MAX_CAMPAIGN_MINUTES; tests/test_kernels.py). (A power of two would not do:
#: PCG states a multiple of 2**64 apart share their low bits, and their outputs are
#: correlated.)
MINUTE_JUMP = 210306068529402873165736369884012333109
PERIOD = 1 << 128


class StreamTable:
    """Every stream's constants (`model.stream`) as arrays indexed by the stream's
    position: the layout the compiled kernels read. Per-minute profiles are padded
    to the longest stream.
    """

    def __init__(self, runs: list[StreamConstants], campaign: Campaign) -> None:
        platform = campaign.platform
        product_ids = list(campaign.products)
        self.count = len(runs)
        self.width = max(r.minutes for r in runs)

        def column(get: Callable[[StreamConstants], float]) -> np.ndarray:
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
        self.recommendation = column(lambda r: r.recommendation)
        self.ads_per_minute = column(lambda r: r.ads_per_minute)
        self.hazard_unit = column(lambda r: r.hazard_unit)
        self.holds = column(lambda r: float(r.holds))
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
        self.capacity = np.array([r.host.qa_capacity for r in runs], dtype=np.int64)
        self.reneging = np.array([r.host.reneging for r in runs])
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
        most = max(len(r.fits) for r in runs)
        self.products = np.zeros((self.count, most), dtype=np.int64)
        self.fit = np.zeros((self.count, most))
        self.product_count = np.array([len(r.fits) for r in runs], dtype=np.int64)
        for i, r in enumerate(runs):
            ids = [product_ids.index(p) for p in r.stream.products]
            self.products[i, : len(ids)] = ids
            self.fit[i, : len(ids)] = r.fits
        self._promotions(runs, most)
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

    def _promotions(self, runs: list[StreamConstants], most: int) -> None:
        """The streams' promotion tables stacked into one (its last row a promotion
        that never runs), and each stream's rows in order, padded with that row."""
        first = np.cumsum([0] + [len(r.promo_t0) for r in runs])
        total = int(first[-1])
        self.promo_t0 = np.array([t for r in runs for t in r.promo_t0] + [math.inf])
        self.promo_t1 = np.array([t for r in runs for t in r.promo_t1] + [math.inf])
        self.promo_depth = np.array([d for r in runs for d in r.promo_depth] + [0.0])
        self.promo_lift = np.array([u for r in runs for u in r.promo_lift] + [0.0])
        self.promo_from = np.array([t for r in runs for t in r.promo_from] + [math.inf])
        self.promo_hold = np.array([h for r in runs for h in r.promo_hold] + [1.0])
        self.draw = np.ones((len(runs), self.width))
        for i, r in enumerate(runs):
            self.draw[i, : r.minutes] = r.draw
        self.promo_on = np.zeros((total + 1, most), dtype=bool)
        for k, on in enumerate(o for r in runs for o in r.promo_on):
            self.promo_on[k, : len(on)] = on
        widest = max(1, *(len(r.promo_t0) for r in runs))
        self.promo_slots = np.full((len(runs), widest), total, dtype=np.int64)
        for i, r in enumerate(runs):
            self.promo_slots[i, : len(r.promo_t0)] = range(first[i], first[i + 1])


class CohortSession:
    """One replication of one campaign with the cohort engine."""

    def __init__(self, campaign: Campaign, seed: int, replication: int) -> None:
        self.campaign = campaign
        self.seed = seed
        self.replication = replication
        products = list(campaign.products.values())
        self.runs = stream_constants(campaign)
        self.table = tab = StreamTable(self.runs, campaign)
        n, width = tab.count, tab.width
        platform = campaign.platform
        # the per-stream constants by name from the table (a name in both raises)
        self.consts = step.Consts(
            **{f: getattr(tab, f) for f in step.Consts._fields if hasattr(tab, f)},
            price=np.array([p.price for p in products]),
            unit_cost=np.array([p.cost_per_unit for p in products]),
            return_cost=np.array([p.return_cost for p in products]),
            return_rate=np.array([p.return_rate for p in products]),
            extra_units=np.array([p.units_mean - 1.0 for p in products]),
            platform=np.array(
                [float(getattr(platform, f)) for f in step.PLATFORM_FIELDS]
            ),
        )
        level = np.array(
            [math.inf if p.stock is None else float(p.stock) for p in products]
        )
        servers = np.full((n, max(1, *tab.capacity)), math.inf)
        for i, r in enumerate(self.runs):
            servers[i, : r.host.qa_capacity] = r.start
        # bins: rows streams, columns stream minutes
        self.bins = step.Bins(
            arrivals=np.zeros((n, len(SOURCE_NAMES), width)),
            entered=np.zeros((n, width)),
            comments=np.zeros((n, width + 1)),
            orders=np.zeros((n, width)),
            gmv=np.zeros((n, width)),
            area=np.zeros((n, width + 2)),
            full=np.zeros((n, width + 2)),
            tally=np.zeros((len(TALLY), n)),
            present=np.zeros(n, dtype=np.int64),
            peak=np.zeros(n, dtype=np.int64),
            # comments and likes after each viewer's first: exposure (`kernels.enter`)
            comment_part=np.zeros((n, width + 2)),
            comment_full=np.zeros((n, width + 2)),
            comment_running=np.zeros(n),
            like_exposure=np.zeros(n),
            servers=servers,
            level=level,
            initial=level.copy(),
            scarce=np.zeros(len(products), dtype=bool),
            counts=np.zeros(len(step.COUNT_FIELDS), dtype=np.int64),
            order_head=np.full(campaign.horizon + 1, -1, dtype=np.int64),
            order_tail=np.full(campaign.horizon + 1, -1, dtype=np.int64),
        )
        self.tables = step.empty_tables()
        self.bits = [
            np.random.PCG64DXSM(
                np.random.SeedSequence(
                    entropy=seed, spawn_key=(replication, COHORT_KEY, d)
                )
            )
            for d in range(len(DECISIONS))
        ]
        self.seeded = [bits.state for bits in self.bits]
        self.gens = tuple(np.random.Generator(bits) for bits in self.bits)

    # ------------------------------------------------------------------ main loop

    def generators(self, minute: int) -> tuple[np.random.Generator, ...]:
        """The generator of each decision (DECISIONS) set to a campaign minute's block.

        The same generator objects every minute: each is reset to its seed's state
        and advanced by `minute` x MINUTE_JUMP draws (modulo the period, 2**128). A
        minute's draws so never depend on how many earlier minutes used.
        """
        delta = minute * MINUTE_JUMP % PERIOD
        for bits, state in zip(self.bits, self.seeded, strict=True):
            bits.state = state
            bits.advance(delta)
        return self.gens

    def run(self) -> SessionOutput:
        """Run the replication: minute by minute (`step.step`), then the questions
        and delayed orders left (`step.finish`), in one compiled call (`step.run`)."""
        token = id(self)
        step.MINUTE_SETTERS[token] = self.generators
        try:
            with fewer_collections():
                self.tables = step.run(
                    self.gens,
                    token,
                    int(self.table.start.min()),
                    self.campaign.horizon,
                    self.consts,
                    self.bins,
                    self.tables,
                )
        finally:
            del step.MINUTE_SETTERS[token]
        return self.output()

    def output(self) -> SessionOutput:
        """Rows and per-minute series in the agent engine's form."""
        bins = self.bins
        rows = []
        series = {}
        for i, sr in enumerate(self.runs):
            tally = StreamTally()
            for name, value in zip(TALLY, bins.tally[:, i].tolist(), strict=True):
                setattr(tally, name, int(round(value)) if name in COUNTS else value)
            m = sr.minutes
            arrivals = [sum(b) for b in bins.arrivals[i, :, :m].tolist()]
            reach = reach_generator(self.seed, self.replication, sr.stream.id)
            rows.append(
                stream_row(self.campaign, sr, tally, arrivals, reach, int(bins.peak[i]))
            )
            concurrent = bins.area[i, :m] + np.cumsum(bins.full[i])[:m]
            series[sr.stream.id] = np.column_stack(
                [
                    concurrent,
                    *bins.arrivals[i, :, :m],
                    bins.orders[i, :m],
                    bins.gmv[i, :m],
                ]
            )
        return SessionOutput(rows=rows, timeseries=series, events=None)


def run_replication(
    campaign: Campaign, seed: int, replication: int, event_log: bool = False
) -> SessionOutput:
    """Run one replication of one campaign with the cohort engine (no event log)."""
    if event_log:
        raise ValueError("the cohort engine keeps no per-viewer event log")
    return CohortSession(campaign, seed, replication).run()
