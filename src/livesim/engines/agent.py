"""The agent engine: every viewer is a SimPy process (the model read as code).

One replication builds its own `simpy.Environment`. Each stream runs an arrival
process that, minute by minute, reads the platform's feedback (comments and GMV per
1,000 views of the last minutes), draws that minute's arrivals, and starts one
`viewer` process per arrival. A viewer draws its dwell, intent and price sensitivity,
engages, asks questions at the host's Q&A desk (`simpy.Resource`), and meets its
purchase clock by thinning: candidate times at an upper bound of its hazard, each kept
with probability hazard / bound, evaluated at that moment against the shared state
(trust, promotion, stock in a `simpy.Container`). Word of mouth and carry-over start new
viewer processes in the future. docs/model.md states every equation used here.

Levels (concurrent viewers) are time-weighted from arrival and leave times; tallies
(orders, GMV) are counted. Nothing here writes files or touches plots.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Generator
from functools import cached_property
from typing import Any

import numpy as np
import simpy

from livesim.engines.levels import concurrency_per_minute, peak_concurrent
from livesim.engines.output import (
    SessionOutput,
    StreamTally,
    fewer_collections,
    stream_row,
)
from livesim.model import traffic
from livesim.model.rng import (
    KEY_SPAN,
    ViewerDraws,
    arrival_generators,
    keyed_uniform,
    poisson,
)
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
from livesim.model.viewer import (
    JUST_BEFORE,
    active_promotion,
    gap_after_question,
    hazard,
    hazard_bound,
    held_leave,
    late_purchase_prob,
    order_margin,
    price_lift,
    trust,
    visit_promotions,
)
from livesim.scenario import Campaign, Product

# indices into a viewer's keyed sub-stream (model.rng.keyed_uniform)
UNITS, RETURNED, DELAYED, DELAY, SHARE_TIME = range(5)
TIMES = 16  # comment, then question times: TIMES + j
CANDIDATES = 1 << 20  # thinning candidates: (exponential, acceptance) pairs from here


class Arrival(simpy.Process):
    """A viewer process that starts at its arrival time.

    `simpy.Process` schedules an `Initialize` event now, and a viewer that arrives
    later would at once wait on a `Timeout`: two events before it does anything.
    This process starts its generator from that `Timeout` instead: the same
    semantics (the generator's first line runs at the arrival time) with one event
    fewer per viewer, which is a quarter of the engine's event traffic.
    """

    def __init__(
        self,
        env: simpy.Environment,
        generator: Generator[simpy.Event, Any, None],
        delay: float,
    ) -> None:
        self.env = env
        self.callbacks = []
        self._generator = generator
        # rounding can put an arrival a hair before now; never a negative delay
        self._target = simpy.Timeout(env, delay if delay > 0.0 else 0.0)
        self._target.callbacks.append(self._resume)


class ProductStock:
    """A product in one replication: its data and its stock (`simpy.Container`)."""

    __slots__ = ("product", "price", "fit", "extra_units", "initial", "container")

    def __init__(self, env: simpy.Environment, product: Product) -> None:
        self.product = product
        self.price = product.price
        self.fit = product.fit
        self.extra_units = product.units_mean - 1.0
        self.initial = product.stock
        self.container = (
            None
            if product.stock is None
            else simpy.Container(
                env, capacity=max(product.stock, 1), init=product.stock
            )
        )

    def scarce(self, threshold: float) -> bool:
        """Whether the stock has fallen below `threshold` of its initial level."""
        if self.container is None or not self.initial:
            return False
        return self.container.level < threshold * self.initial


class StreamRun(StreamConstants):
    """One stream in one replication: its constants (`model.stream`), and the
    SimPy state, bins and tallies of this engine."""

    def __init__(
        self,
        env: simpy.Environment,
        campaign: Campaign,
        index: int,
        stock: dict[str, ProductStock],
        seed: int,
        replication: int,
    ) -> None:
        super().__init__(campaign, campaign.streams[index])
        self.seed = seed
        self.replication = replication
        self.products = [stock[p] for p in self.stream.products]
        self.later: list[StreamRun] = []
        # state
        host = self.host
        self.desk = (
            simpy.Resource(env, capacity=host.qa_capacity) if host.qa_capacity else None
        )
        self.arrive_times = array("d")
        self.leave_times = array("d")
        self.comment_bins = [0] * (self.minutes + 1)
        self.arrival_bins = [[0] * self.minutes for _ in SOURCE_NAMES]
        self.order_bins = [0] * self.minutes
        self.gmv_bins = [0.0] * self.minutes
        self.tally = StreamTally()
        self.next_viewer = 0

    # random streams, made on first use: vectorised ones for arrivals, and per
    # traffic source one stream per viewer decision (common random numbers across
    # strategies)
    @cached_property
    def generators(self) -> dict[str, np.random.Generator]:
        return arrival_generators(self.seed, self.replication, self.stream.id)

    @cached_property
    def rand(self) -> list[ViewerDraws]:
        return [
            ViewerDraws(self.seed, self.replication, self.stream.id, source)
            for source in range(len(SOURCE_NAMES))
        ]

    def profile_times(self, gen: np.random.Generator, n: int, m: int) -> np.ndarray:
        """Campaign times of `n` arrivals in stream minute m on the follower profile
        (followers and an awareness phase's audience), by inverting it."""
        lo, hi = self.follower_cdf[m], self.follower_cdf[m + 1]
        u = lo + gen.random(n) * (hi - lo)
        return traffic.follower_inverse(self.host, self.minutes, u) + self.start

    def carryover_arrival(self, u: float) -> float:
        """A carried-over viewer's arrival time, drawn from this stream's profile."""
        x = traffic.follower_inverse(self.host, self.minutes, np.array([u]))[0]
        return self.start + float(x)


class AgentSession:
    """One replication of one campaign: the environment, its streams and products."""

    def __init__(
        self,
        campaign: Campaign,
        seed: int,
        replication: int,
        event_log: bool = False,
    ) -> None:
        self.env = simpy.Environment()
        self.campaign = campaign
        self.platform = campaign.platform
        self.stock = {
            pid: ProductStock(self.env, p) for pid, p in campaign.products.items()
        }
        self.runs = [
            StreamRun(self.env, campaign, i, self.stock, seed, replication)
            for i in range(len(campaign.streams))
        ]
        for run in self.runs:
            run.later = [r for r in self.runs if r.start >= run.end]
        self.log: list[tuple[str, int, float, str, str]] | None = (
            [] if event_log else None
        )

    # ------------------------------------------------------------------ processes

    def arrivals(self, sr: StreamRun) -> Generator[simpy.Event, Any, None]:
        """Each minute: read the platform's feedback, draw arrivals, start viewers."""
        env = self.env
        platform = self.platform
        gens = sr.generators
        window = platform.feedback_window_minutes
        if sr.start > env.now:
            yield env.timeout(sr.start - env.now)
        for m in range(sr.minutes):
            lo = max(0, m - window)
            comments = sum(sr.comment_bins[lo:m])
            feedback = min(
                platform.feedback_max_viewers_per_minute,
                platform.feedback_viewers_per_comment * comments / window,
            )
            views = sum(sum(b[lo:m]) for b in sr.arrival_bins)
            gpm = 1000.0 * sum(sr.gmv_bins[lo:m]) / views if views else 0.0
            boost = platform.gpm_boost * min(1.0, gpm / platform.gpm_reference)
            # an announced promotion's draw (followers have theirs); not on the
            # comment feedback, which grows with the crowd it comes from
            draw = sr.draw[m]
            rate_platform = sr.recommendation * (1.0 + boost) * draw + feedback
            sr.tally.platform_expected += rate_platform
            n_f = gens["followers"].poisson(sr.follower_per_minute[m])
            n_p = gens["platform"].poisson(rate_platform)
            n_a = gens["ads"].poisson(sr.ads_per_minute * draw)
            t0 = sr.start + m
            if n_f:
                times = sr.profile_times(gens["followers"], n_f, m)
                self.start_viewers(sr, times, FOLLOWER)
            if n_p:
                self.start_viewers(sr, t0 + gens["platform"].random(n_p), PLATFORM)
            if n_a:
                self.start_viewers(sr, t0 + gens["ads"].random(n_a), ADS)
            if sr.aware_total:
                gen = gens["awareness"]
                n_w = gen.poisson(sr.aware_per_minute[m])
                if n_w:
                    self.start_viewers(sr, sr.profile_times(gen, n_w, m), AWARE)
            yield env.timeout(t0 + 1.0 - env.now)

    def start_viewers(self, sr: StreamRun, times: np.ndarray, source: int) -> None:
        """Start one viewer process per arrival time."""
        env = self.env
        now = env.now
        viewer = self.viewer
        intent = sr.intent_by_source[source]
        for t in times.tolist():
            Arrival(env, viewer(sr, t, source, intent), t - now)

    def viewer(
        self, sr: StreamRun, t: float, source: int, intent_mean: float
    ) -> Generator[simpy.Event, Any, None]:
        """One viewer, from entering the room (now, at t) to a possible purchase."""
        env = self.env
        host = sr.host
        tally = sr.tally
        log = self.log
        rd = sr.rand[source]
        vid = sr.next_viewer
        sr.next_viewer = vid + 1
        # dwell, truncated at the stream's end
        if sr.lognormal:
            dwell = math.exp(sr.dwell_mu + sr.dwell_sigma * rd.dwell_n())
        else:
            dwell = sr.dwell_mean * rd.dwell_e()
        leave = t + dwell
        if sr.holds:  # an announced promotion holds the crowd
            leave = held_leave(
                t, dwell, sr.promo_slots, sr.promo_from, sr.promo_t1, sr.promo_hold
            )
        leave = min(leave, sr.end)  # (the stream's end cuts every stay)
        stay = leave - t
        sr.arrive_times.append(t)
        sr.leave_times.append(leave)
        tally.viewers += 1
        sr.arrival_bins[source][min(int(t - sr.start), sr.minutes - 1)] += 1
        if source == FOLLOWER and rd.attribute_u() < sr.fake_share:
            tally.fake_viewers += 1
            if log is not None:
                log.append((sr.stream.id, vid, t, "arrive", "fake_follower"))
                log.append((sr.stream.id, vid, leave, "leave", ""))
            return
        tally.unique_viewers += 1
        tally.watch_minutes += stay
        intent = intent_mean * math.exp(
            host.intent_sigma * rd.attribute_n() - sr.intent_half
        )
        eps = math.exp(sr.eps_mu + sr.eps_sigma * rd.attribute_n())
        # the viewer's private sub-stream for draws whose number varies (common
        # random numbers stay aligned viewer by viewer)
        key = int(rd.purchase_u() * KEY_SPAN)
        if log is not None:
            log.append((sr.stream.id, vid, t, "arrive", SOURCE_NAMES[source]))
        # engagement
        eng = rd.engagement
        likes = poisson(host.like_rate * stay, eng())
        comments = poisson(host.comment_rate * stay, eng())
        clicked = eng() < -math.expm1(-host.click_rate * stay)
        shared = eng() < host.share_prob
        questions = poisson(host.question_rate * stay, eng())
        tally.likes += likes
        tally.comments += comments
        for j in range(comments):
            when = t + keyed_uniform(key, TIMES + j) * stay
            sr.comment_bins[int(when - sr.start)] += 1
            if log is not None:
                log.append((sr.stream.id, vid, when, "comment", ""))
        engaged = bool(likes or comments or clicked or shared or questions)
        if log is not None:
            self.log_engagement(sr, rd, vid, t, stay, likes, clicked, shared)
        if shared:
            tally.shares += 1
            self.word_of_mouth(sr, rd, t + keyed_uniform(key, SHARE_TIME) * stay)
        if sr.later and rd.carryover.u() < host.carryover_share:
            self.carry_over(sr, rd)
        tally.askers += questions > 0
        trust_state = [t, sr.gap0]  # (time, gap to the ceiling) moved by answers
        for j in range(questions):
            asked = t + keyed_uniform(key, TIMES + comments + j) * stay
            question = self.question(sr, rd, vid, trust_state, asked, leave)
            Arrival(env, question, asked - t)
        # purchase clock by thinning against an upper bound of the hazard over the
        # visit (the promotions that overlap it)
        discount_max = urgency_max = 0.0
        if sr.promo_t0:  # (most streams run none: no call)
            discount_max, urgency_max = visit_promotions(
                t,
                leave,
                sr.promo_slots,
                sr.promo_t0,
                sr.promo_t1,
                sr.promo_depth,
                sr.promo_lift,
            )
        bound = hazard_bound(
            sr.hazard_unit, intent, urgency_max, price_lift(discount_max, eps)
        )
        outcome = None
        x = t
        j = CANDIDATES
        while bound > 0.0:
            x -= math.log(1.0 - keyed_uniform(key, j)) / bound
            if x >= leave:
                break
            if x > env.now:
                yield env.timeout(x - env.now)
            index = sr.featured(x)
            product = sr.products[index]
            discount, urgency = active_promotion(
                x,
                index,
                sr.promo_slots,
                sr.promo_t0,
                sr.promo_t1,
                sr.promo_depth,
                sr.promo_lift,
                sr.promo_on,
            )
            h = hazard(
                host.purchase_rate,
                intent,
                trust(sr.ceiling, trust_state[1], host.trust_rate, x - trust_state[0]),
                product.fit,
                price_lift(discount, eps),
                urgency,
                product.scarce(sr.scarcity_threshold),
                sr.scarcity_lift,
            )
            if keyed_uniform(key, j + 1) * bound < h:
                outcome = self.order(sr, key, vid, x, index, discount, delayed=False)
                break
            j += 2
        tried = outcome is not None  # ordered, or found the stock empty
        tally.engaged += engaged or tried
        tally.clicked += clicked or tried
        if log is not None:
            log.append((sr.stream.id, vid, leave, "leave", ""))
        if tried or host.delayed_purchase_prob <= 0.0:
            return
        # the long conversion cycle: a purchase after leaving, within the window
        if questions and leave > env.now:
            yield env.timeout(leave - env.now)
        trust_left = trust(
            sr.ceiling, trust_state[1], host.trust_rate, leave - trust_state[0]
        )
        p_late = late_purchase_prob(host.delayed_purchase_prob, intent, trust_left)
        if keyed_uniform(key, DELAYED) < p_late:
            delay = -host.delayed_mean_minutes * math.log(
                1.0 - keyed_uniform(key, DELAY)
            )
            if delay <= self.platform.attribution_window_minutes:
                index = sr.featured(leave - JUST_BEFORE)
                yield env.timeout(leave + delay - env.now)
                self.order(sr, key, vid, env.now, index, 0.0, delayed=True)
                # a buyer after the stream clicked through too: keep the funnel nested
                tally.engaged += not engaged
                tally.clicked += not clicked

    def order(
        self,
        sr: StreamRun,
        key: int,
        vid: int,
        t: float,
        index: int,
        discount: float,
        delayed: bool,
    ) -> bool:
        """Place an order for the product at `index`; False if it found no stock."""
        product = sr.products[index]
        tally = sr.tally
        units = 1 + poisson(product.extra_units, keyed_uniform(key, UNITS))
        container = product.container
        if container is not None:
            level = int(container.level)
            if level < 1:
                tally.lost_sales += 1
                if self.log is not None:
                    self.log.append(
                        (sr.stream.id, vid, t, "lost_sale", product.product.id)
                    )
                return False
            units = min(units, level)
            container.get(units)
        value = units * product.price * (1.0 - discount)
        tally.orders += 1
        tally.units += units
        tally.gross_gmv += value
        if delayed:
            tally.delayed_orders += 1
        else:
            minute = min(int(t - sr.start), sr.minutes - 1)
            sr.order_bins[minute] += 1
            sr.gmv_bins[minute] += value
        returned = keyed_uniform(key, RETURNED) < product.product.return_rate
        if returned:
            tally.refunds += value
            tally.returned_orders += 1
        tally.margin_value += order_margin(
            value,
            units,
            product.product.cost_per_unit,
            returned,
            product.product.return_cost,
        )
        if self.log is not None:
            kind = "delayed_order" if delayed else "order"
            detail = f"{product.product.id} x{units} = {value:.2f}"
            self.log.append((sr.stream.id, vid, t, kind, detail))
            if returned:
                self.log.append((sr.stream.id, vid, t, "return", detail))
        return True

    def question(
        self,
        sr: StreamRun,
        rd: ViewerDraws,
        vid: int,
        trust_state: list[float],
        t: float,
        leave: float,
    ) -> Generator[simpy.Event, Any, None]:
        """A question at the host's Q&A desk: wait (with patience), get an answer."""
        env = self.env
        host = sr.host
        tally = sr.tally
        tally.questions_asked += 1
        qa = rd.qa
        patience = host.qa_patience_minutes * qa.e()
        service = host.qa_service_minutes * qa.e()
        # with reneging, a viewer gives up when patience runs out or on leaving;
        # without it (the M/M/c case) every question waits for its answer
        give_up = min(patience, leave - t) if host.reneging else math.inf
        answered = False
        if sr.desk is not None:
            with sr.desk.request() as request:
                result = yield request | env.timeout(give_up)
                if request in result:
                    tally.qa_wait_minutes += env.now - t
                    yield env.timeout(service)
                    answered = True
        else:  # no desk: nobody answers, the viewer gives up or leaves
            yield env.timeout(min(patience, leave - t))
        now = env.now
        if answered:
            tally.questions_answered += 1
        else:
            tally.questions_abandoned += 1
        # a question still waiting when its viewer leaves is dropped and changes no
        # trust: the viewer has gone (docs/model.md, section 3)
        dropped = not answered and patience >= leave - t
        if not dropped:
            trust_state[1] = gap_after_question(
                trust_state[1],
                host.trust_rate,
                now - trust_state[0],
                answered,
                host.answer_trust_gain,
                host.abandon_trust_loss,
                sr.ceiling,
            )
            trust_state[0] = now
        if self.log is not None:
            self.log.append((sr.stream.id, vid, t, "question", ""))
            event = "answered" if answered else "abandoned"
            self.log.append((sr.stream.id, vid, now, event, ""))

    def word_of_mouth(self, sr: StreamRun, rd: ViewerDraws, t_share: float) -> None:
        """A share brings Poisson(k) new viewers, each after an exponential delay."""
        wom = rd.wom
        platform = self.platform
        for _ in range(poisson(platform.wom_viewers_per_share, wom.u())):
            when = t_share + platform.wom_delay_minutes * wom.e()
            if when < sr.end:
                viewer = self.viewer(sr, when, WOM, platform.intent_wom)
                Arrival(self.env, viewer, when - self.env.now)

    def carry_over(self, sr: StreamRun, rd: ViewerDraws) -> None:
        """This viewer will also come to one later stream, with raised intent."""
        draws = rd.carryover
        target = sr.later[int(draws.u() * len(sr.later))]
        when = target.carryover_arrival(draws.u())
        intent = self.platform.intent_follower * sr.host.carryover_intent_boost
        Arrival(self.env, self.viewer(target, when, CARRY, intent), when - self.env.now)

    def log_engagement(
        self,
        sr: StreamRun,
        rd: ViewerDraws,
        vid: int,
        t: float,
        stay: float,
        likes: int,
        clicked: bool,
        shared: bool,
    ) -> None:
        """Times of likes, clicks and shares, for the event log only (own stream)."""
        assert self.log is not None
        extra = rd.eventlog.u
        for _ in range(likes):
            self.log.append((sr.stream.id, vid, t + extra() * stay, "like", ""))
        if clicked:
            self.log.append((sr.stream.id, vid, t + extra() * stay, "click", ""))
        if shared:
            self.log.append((sr.stream.id, vid, t + extra() * stay, "share", ""))

    # ------------------------------------------------------------------ running

    def run(self) -> SessionOutput:
        """Run the replication to its end (delayed purchases included)."""
        for sr in self.runs:
            self.env.process(self.arrivals(sr))
        with fewer_collections():
            self.env.run()
        return SessionOutput(
            rows=[
                stream_row(
                    self.campaign,
                    sr,
                    sr.tally,
                    [sum(b) for b in sr.arrival_bins],
                    sr.generators["reach"],
                    peak_concurrent(sr.arrive_times, sr.leave_times),
                )
                for sr in self.runs
            ],
            timeseries={sr.stream.id: self.timeseries(sr) for sr in self.runs},
            events=self.log,
        )

    def timeseries(self, sr: StreamRun) -> np.ndarray:
        """Per-minute levels and tallies of a stream (rows: minutes)."""
        concurrent = concurrency_per_minute(
            sr.arrive_times, sr.leave_times, sr.start, sr.minutes
        )
        columns = [concurrent, *(np.asarray(b, dtype=float) for b in sr.arrival_bins)]
        columns += [np.asarray(sr.order_bins, float), np.asarray(sr.gmv_bins, float)]
        return np.column_stack(columns)


def run_replication(
    campaign: Campaign, seed: int, replication: int, event_log: bool = False
) -> SessionOutput:
    """Run one replication of one campaign with the agent engine."""
    return AgentSession(campaign, seed, replication, event_log).run()
