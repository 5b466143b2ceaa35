"""The cohort engine's compiled kernels against plain readings of the same rules."""

from __future__ import annotations

import heapq
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from livesim.engines import kernels, step

keys = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.one_of(
            st.floats(0.0, 0.4999, allow_nan=False),
            # ties, and crowds in one bucket
            st.sampled_from([0.0, 0.1, 0.1 + 1e-12, 0.25, 0.4999, 5e-324]),
        ),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(
    arrivals=keys,
    leaves=keys,
    start=st.lists(st.integers(0, 6), min_size=4),
    above=st.lists(st.integers(0, 3), min_size=4),
    live=st.integers(1, 4),
)
def test_minute_peak_matches_a_sorted_event_walk(
    arrivals: list[tuple[int, float]],
    leaves: list[tuple[int, float]],
    start: list[int],
    above: list[int],
    live: int,
) -> None:
    present = np.array(start[:4], dtype=np.int64) + 20  # enough to leave
    peak = present + np.array(above[:4])  # an earlier minute's peak
    arrive = np.array([s + x for s, x in arrivals], dtype=float)  # in any order
    gone = np.array([s + x for s, x in leaves], dtype=float)
    # reference: events in time order per stream, a leave before an arrival at a tie
    level = present.copy()
    expected = peak.copy()
    events = sorted([(k, 0) for k in gone] + [(k, 1) for k in arrive])
    for key, is_arrival in events:
        s = int(key)
        level[s] += 1 if is_arrival else -1
        if is_arrival:
            expected[s] = max(expected[s], level[s])
    kernels.minute_peak(arrive, gone, present, peak, live)
    assert peak.tolist() == expected.tolist()
    assert present.tolist() == level.tolist()


@settings(max_examples=100, deadline=None)
@given(
    filed=st.lists(
        # per minute: each new leave's minutes ahead (None: leaves at the end)
        st.lists(
            st.one_of(st.none(), st.integers(0, 3 * step.LEAVE_RING)), max_size=12
        ),
        max_size=3 * step.LEAVE_RING,
    ),
    start=st.integers(0, 100),
)
def test_file_leaves_gives_each_minute_exactly_its_leaves(
    filed: list[list[int | None]], start: int
) -> None:
    # a ring one key wide and empty far lists, so every slot and list has to grow
    ring = np.empty((step.LEAVE_RING, 1))
    ring_n = np.zeros(step.LEAVE_RING, dtype=np.int64)
    far_minute = np.empty(0, dtype=np.int64)
    far_key = np.empty(0)
    counts = np.zeros(len(step.COUNT_FIELDS), dtype=np.int64)
    expected: dict[int, list[float]] = {}
    key = 0.0
    for now in range(start, start + len(filed) + 4 * step.LEAVE_RING):
        ahead = filed[now - start] if now - start < len(filed) else []
        new_minute = np.array(
            [-1 if a is None else now + a for a in ahead], dtype=np.int64
        )
        new_key = key + np.arange(len(ahead), dtype=float)
        key += len(ahead)
        for m, k in zip(new_minute, new_key, strict=True):
            if m >= 0:
                expected.setdefault(int(m), []).append(float(k))
        ring, far_minute, far_key = step.file_leaves(
            ring, ring_n, far_minute, far_key, counts, new_minute, new_key, now
        )
        slot = now % step.LEAVE_RING
        assert sorted(ring[slot, : ring_n[slot]]) == sorted(expected.pop(now, []))
        ring_n[slot] = 0
        far = counts[step.LEAVES]
        assert all(m >= now + step.LEAVE_RING for m in far_minute[:far])
    assert not expected and counts[step.LEAVES] == 0


def served_in_python(
    queue: np.ndarray, servers: list[float], reneging: bool
) -> tuple[int, int, float, dict[int, list[tuple[float, bool]]]]:
    """The desk's rules as a heap of server free times (the agent engine's reading)."""
    heapq.heapify(servers)
    answered = abandoned = 0
    waited = 0.0
    history: dict[int, list[tuple[float, bool]]] = {}
    for asked, patience, service, who, left in queue.tolist():
        give_up = asked + min(patience, left - asked)
        if servers:
            begin = max(asked, servers[0])
            if not reneging or begin <= give_up:
                heapq.heapreplace(servers, begin + service)
                waited += begin - asked
                answered += 1
                history.setdefault(int(who), []).append((begin + service, True))
                continue
        abandoned += 1
        if patience < left - asked:
            history.setdefault(int(who), []).append((give_up, False))
    return answered, abandoned, waited, history


def test_serve_is_the_fifo_desk_with_reneging() -> None:
    rng = np.random.default_rng(4)
    n = 400
    asked = np.sort(rng.random(n) * 60.0)
    queue = np.column_stack(
        [
            asked,
            rng.exponential(2.0, n),
            rng.exponential(1.5, n),
            rng.integers(0, 150, n).astype(float),
            asked + rng.exponential(5.0, n),
        ]
    )
    for capacity in (0, 1, 3):
        for reneging in (True, False):
            latest = np.full(150, -1, dtype=np.int64)
            at = np.empty(n)
            ok = np.empty(n, dtype=bool)
            previous = np.empty(n, dtype=np.int64)
            answered, abandoned, waited, used = kernels.serve(
                queue, np.zeros(capacity), reneging, (latest, at, ok, previous), 0
            )
            ref = served_in_python(queue, [0.0] * capacity, reneging)
            assert (answered, abandoned) == ref[:2]
            assert math.isclose(waited, ref[2], rel_tol=1e-12, abs_tol=1e-12)
            chains: dict[int, list[tuple[float, bool]]] = {}
            for who in range(150):
                k = latest[who]
                while k >= 0:
                    chains.setdefault(who, []).insert(0, (at[k], bool(ok[k])))
                    k = previous[k]
            assert chains == ref[3]
            assert used == sum(len(h) for h in ref[3].values())


def test_asker_trust_replays_answers_in_time_order() -> None:
    par = np.zeros((len(kernels.PARAMS), 1))
    par[kernels.CEILING, 0] = 0.9
    par[kernels.GAP0, 0] = 0.6
    par[kernels.TRUST_RATE, 0] = 0.1
    par[kernels.ANSWER_GAIN, 0] = 0.5
    par[kernels.ABANDON_LOSS, 0] = 0.2
    row = np.zeros(len(kernels.SHOPPER_FIELDS))
    row[kernels.ARRIVE] = 1.0
    row[kernels.ASKER] = 0
    # answers filed out of time order: abandoned at 6, answered at 3, answered at 9
    latest = np.array([2])
    at = np.array([6.0, 3.0, 9.0])
    ok = np.array([False, True, True])
    previous = np.array([-1, 0, 1])
    x = 8.0
    gap, ref = 0.6, 1.0
    for when, answered in ((3.0, True), (6.0, False)):  # 9.0 is after x
        gap *= math.exp(-0.1 * (when - ref))
        gap = gap * 0.5 if answered else min(0.9, gap + 0.2)
        ref = when
    expected = 0.9 - gap * math.exp(-0.1 * (x - ref))
    got = kernels.asker_trust(par, row, x, (latest, at, ok, previous))
    assert math.isclose(got, expected, rel_tol=1e-12)
    # before any answer, trust is the plain curve
    plain = kernels.asker_trust(par, row, 2.0, (latest, at, ok, previous))
    assert math.isclose(plain, kernels.trust(par, 0, 1.0), rel_tol=1e-12)
    assert math.isclose(plain, 0.9 - 0.6 * math.exp(-0.1), rel_tol=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=300),
    scale=st.floats(1e-3, 1e3),
)
def test_pairwise_adds_in_numpys_order(values: list[float], scale: float) -> None:
    """The platform's feedback sums a window of bins as numpy summed the rows of a
    (streams x window) array, bit for bit, so the compiled step draws the same
    arrivals as the numpy reading it replaced."""
    rows = np.array([values, [v * scale for v in values], values[::-1]])
    for row, total in zip(rows, rows.sum(axis=1), strict=True):
        assert step.pairwise(row) == total


@settings(max_examples=100, deadline=None)
@given(stream=st.lists(st.integers(0, 6), max_size=60))
def test_counting_order_is_a_stable_sort(stream: list[int]) -> None:
    s = np.array(stream, dtype=np.int64)
    order, start = step.counting_order(s, 7)
    assert order.tolist() == np.argsort(s, kind="stable").tolist()
    assert start.tolist() == [int((s < k).sum()) for k in range(8)]


def test_one_compiled_run_equals_a_python_loop_of_steps() -> None:
    """`step.run` hands the generators over once and resets them per minute from
    Python; the compiled code must see each reset, as a fresh hand-over per minute
    (`step.step` called from Python) does."""
    from livesim import bundled_scenario, load_scenario
    from livesim.engines.cohort import CohortSession

    campaign = load_scenario(bundled_scenario("teaching_tiny")).campaigns()["baseline"]
    looped = CohortSession(campaign, 3, 1)
    for minute in range(int(looped.table.start.min()), campaign.horizon):
        looped.tables = step.step(
            looped.generators(minute),
            minute,
            looped.consts,
            looped.bins,
            looped.tables,
        )
    looped.tables = step.finish(looped.consts, looped.bins, looped.tables)
    rows = CohortSession(campaign, 3, 1).run().rows
    assert rows == looped.output().rows
    assert sum(r["orders"] for r in rows) > 0


def test_minute_blocks_start_far_apart() -> None:
    """Each minute's block of a decision's generator starts `minute` jumps along it;
    for any campaign length the starts are at least 2**110 draws apart (no minute
    could reach the next block)."""
    from livesim.engines.cohort import MINUTE_JUMP, PERIOD
    from livesim.scenario import MAX_CAMPAIGN_MINUTES

    starts = sorted(m * MINUTE_JUMP % PERIOD for m in range(MAX_CAMPAIGN_MINUTES + 1))
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min([*gaps, starts[0] + PERIOD - starts[-1]]) >= 2**110


def test_minute_blocks_are_uncorrelated() -> None:
    """The minutes' draws are independent: over many seeds, a sum of uniforms drawn
    in 256 minutes varies as much as independent draws would (blocks a power of two
    apart on plain PCG64 gave 1.49 times the variance)."""
    from livesim import bundled_scenario, load_scenario
    from livesim.engines.cohort import CohortSession

    campaign = load_scenario(bundled_scenario("teaching_tiny")).campaigns()["baseline"]
    seeds, minutes, draws = 400, 256, 100
    totals = np.empty(seeds)
    for seed in range(seeds):
        session = CohortSession(campaign, seed, 0)
        totals[seed] = sum(
            session.generators(m)[1].random(draws).sum() - draws / 2
            for m in range(minutes)
        )
    ratio = totals.var(ddof=1) / (minutes * draws / 12)
    assert abs(ratio - 1.0) < 5 * math.sqrt(2 / seeds)


def test_a_purchase_decided_at_entry_is_the_one_shop_would_decide() -> None:
    """A viewer with no purchase candidate in its visit and no question is decided
    in `enter`; given the same purchase draws, `shop` decides the same for it (the
    order, its time and product, and the engaged and clicked tallies of a buyer)."""
    from livesim import bundled_scenario, load_scenario
    from livesim.engines.cohort import CohortSession
    from livesim.model.stream import PLATFORM

    campaign = load_scenario(bundled_scenario("teaching_tiny")).campaigns()["baseline"]
    session = CohortSession(campaign, 0, 0)
    C, B = session.consts, session.bins
    par = C.par.copy()
    s = 0
    # no candidates, no engagement, no question, no carry-over, intent at its mean;
    # a buyer's delay often past the attribution window
    for row in (kernels.HAZARD_UNIT, kernels.QUESTION_RATE, kernels.LIKE_RATE):
        par[row, s] = 0.0
    for row in (kernels.COMMENT_RATE, kernels.CLICK_RATE, kernels.SHARE_PROB):
        par[row, s] = 0.0
    for row in (kernels.INTENT_SIGMA, kernels.INTENT_HALF, kernels.LATER_COUNT):
        par[row, s] = 0.0
    # trust still growing when viewers leave, so when it is read matters
    par[kernels.CEILING, s], par[kernels.GAP0, s] = 0.9, 0.8
    par[kernels.TRUST_RATE, s] = 0.1
    window = 30.0
    intent = C.intent_by_source[PLATFORM]
    par[kernels.DELAYED_PROB, s] = 1.2 / intent
    par[kernels.DELAYED_MEAN, s] = window
    bought = 0
    for seed in range(200):
        tally = np.zeros_like(B.tally)
        leave = np.empty(1)
        decided = np.empty((1, len(kernels.DECIDED_FIELDS)))
        t = par[kernels.START, s] + 1.3 + seed % 7
        rows, orders = kernels.enter(
            np.random.default_rng(10_000 + seed),
            np.random.default_rng(20_000 + seed),
            np.random.default_rng(seed),
            np.array([s]),
            np.array([t]),
            np.array([PLATFORM]),
            np.array([intent]),
            par,
            C.start_minute,
            C.promo_slots,
            C.promo_t0,
            C.promo_t1,
            C.promo_depth,
            C.promo_lift,
            C.promo_from,
            C.promo_hold,
            B.arrivals.copy(),
            B.entered.copy(),
            B.area.copy(),
            B.full.copy(),
            tally,
            B.comments.copy(),
            B.comment_part.copy(),
            B.comment_full.copy(),
            B.like_exposure.copy(),
            np.empty(1, dtype=np.int64),
            np.empty(1),
            np.empty((1, len(kernels.SHOPPER_FIELDS))),
            np.empty(1),
            0,
            np.empty(1, dtype=np.int64),
            leave,
            np.empty(1),
            np.empty(1, dtype=np.int64),
            window,
            decided,
        )
        assert rows == 0  # decided at entry, no purchase clock
        # the same viewer as a purchase clock read by `shop`, on the same draws
        gen = np.random.default_rng(seed)
        gen.standard_exponential()  # (enter's first-candidate clock)
        row = np.array([[s, t, leave[0], intent, 1.0, 0.0, np.inf, 0.0, 0.0, -1.0]])
        shop_tally = np.zeros_like(B.tally)
        shop_decided = np.empty((1, len(kernels.DECIDED_FIELDS)))
        none = np.full(1, -1, dtype=np.int64)  # no answers
        shop_orders, finished = kernels.shop(
            gen,
            row,
            1,
            t + 1.0,
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
            0.0,
            window,
            (none, np.empty(1), np.zeros(1, dtype=bool), none),
            shop_tally,
            np.array([-np.inf]),
            shop_decided,
        )
        assert finished == 1
        assert shop_orders == orders
        assert (decided[:orders] == shop_decided[:orders]).all()
        for k in (kernels.ENGAGED, kernels.CLICKED):
            assert tally[k, s] == shop_tally[k, s] == orders
        bought += orders
    assert 20 < bought < 180  # both outcomes were tried
