"""Behaviour: the model moves the way its mechanisms say (monotone effects, caps).

Comparisons use common random numbers: the same seed for both settings, so each
replication's arrivals and dwells are shared and the paired difference isolates the
changed parameter. Each test asserts the mean paired difference is positive by more
than 4 standard errors (one-sided false-failure rate < 1e-4 each on random seeds).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from helpers import build, event_frame, quiet_host
from livesim import simulate
from livesim.engines.agent import run_replication

REPS = 30


def orders(
    host: dict[str, Any],
    stream: dict[str, Any] | None = None,
    product: dict[str, Any] | None = None,
    seed: int = 4,
) -> pd.Series:
    scenario = build(host=host, stream=stream, product=product)
    return simulate(scenario, replications=REPS, seed=seed).replications["orders"]


def clearly_more(high: pd.Series, low: pd.Series) -> bool:
    diff = high.to_numpy(dtype=float) - low.to_numpy(dtype=float)
    return diff.mean() > 4 * diff.std(ddof=1) / math.sqrt(len(diff))


def test_more_initial_trust_gives_more_orders() -> None:
    low = orders(quiet_host(initial_trust=0.2, trust_ceiling=0.9, trust_rate=0.01))
    high = orders(quiet_host(initial_trust=0.6, trust_ceiling=0.9, trust_rate=0.01))
    assert clearly_more(high, low)


def test_faster_trust_building_gives_more_orders() -> None:
    slow = orders(quiet_host(initial_trust=0.2, trust_rate=0.01))
    fast = orders(quiet_host(initial_trust=0.2, trust_rate=0.5))
    assert clearly_more(fast, slow)


def test_higher_purchase_rate_gives_more_orders() -> None:
    assert clearly_more(
        orders(quiet_host(purchase_rate=0.06)), orders(quiet_host(purchase_rate=0.03))
    )


def test_deeper_discount_gives_more_orders() -> None:
    def with_discount(depth: float) -> pd.Series:
        promo = {"start": 0, "duration": 60, "discount": depth}
        return orders(quiet_host(), stream={"promotions": [promo]})

    assert clearly_more(with_discount(0.4), with_discount(0.1))


def test_stock_caps_orders_and_counts_lost_sales() -> None:
    host = quiet_host(recommendation_rate=40.0, purchase_rate=0.1)
    scenario = build(host=host, product={"stock": 50})
    rows = simulate(scenario, replications=10, seed=2).replications
    assert (rows["units"] <= 50).all()
    assert (rows["units"] == 50).all()  # demand far exceeds 50 units here
    assert (rows["lost_sales"] > 0).all()
    unlimited = simulate(build(host=host), replications=10, seed=2).replications
    assert (unlimited["lost_sales"] == 0).all()
    assert (unlimited["orders"] > rows["orders"]).all()


def test_fake_followers_never_engage_or_buy() -> None:
    host = quiet_host(
        followers=200_000,
        reach_share=0.1,
        enter_rate=0.5,
        real_follower_share=0.5,
        recommendation_rate=0.0,
        purchase_rate=0.2,
        comment_rate=0.05,
    )
    campaign = build(host=host).campaigns()["baseline"]
    out = run_replication(campaign, seed=9, replication=0, event_log=True)
    assert out.events is not None
    events = event_frame(out)
    fakes = set(events.loc[events["x"] == "fake_follower", "viewer"])
    assert len(fakes) > 1000
    acts = events[events["viewer"].isin(fakes)]
    assert set(acts["event"]) == {"arrive", "leave"}
    row = out.rows[0]
    assert row["fake_viewers"] == len(fakes)
    assert row["viewers"] == row["fake_viewers"] + row["unique_viewers"]
    assert row["orders"] > 0  # the real half does buy


def test_all_fake_audience_sells_nothing() -> None:
    host = quiet_host(
        followers=100_000,
        reach_share=0.1,
        enter_rate=0.5,
        real_follower_share=0.0,
        recommendation_rate=0.0,
        purchase_rate=0.5,
    )
    rows = simulate(build(host=host), replications=5, seed=1).replications
    assert (rows["viewers"] > 0).all()
    assert (rows[["unique_viewers", "orders", "likes", "net_gmv"]] == 0).all().all()


def test_returns_reduce_net_gmv_by_refunds() -> None:
    rows = simulate(
        build(host=quiet_host(), product={"return_rate": 0.3}), replications=10, seed=6
    ).replications
    assert np.allclose(rows["net_gmv"], rows["gross_gmv"] - rows["refunds"])
    share = rows["refunds"].sum() / rows["gross_gmv"].sum()
    assert abs(share - 0.3) < 0.1


#: A stream where many viewers ask and trust only moves through the Q&A desk.
ASKING = dict(
    recommendation_rate=30.0, question_rate=0.2, initial_trust=0.1, trust_rate=0.0
)


def test_answers_raise_trust_and_orders() -> None:
    """Same desk, same questions: only what an answer does to trust differs."""
    desk = dict(qa_capacity=5, qa_patience_minutes=5.0, abandon_trust_loss=0.0)
    inert = orders(quiet_host(answer_trust_gain=0.0, **ASKING, **desk), seed=7)
    helpful = orders(quiet_host(answer_trust_gain=0.9, **ASKING, **desk), seed=7)
    assert clearly_more(helpful, inert)


def test_more_desk_capacity_answers_more_and_sells_more() -> None:
    def run(servers: int) -> pd.DataFrame:
        host = quiet_host(
            qa_capacity=servers,
            qa_patience_minutes=1.0,
            answer_trust_gain=0.9,
            **ASKING,
        )
        return simulate(build(host=host), replications=REPS, seed=7).replications

    one, six = run(1), run(6)
    assert clearly_more(six["questions_answered"], one["questions_answered"])
    assert clearly_more(six["orders"], one["orders"])


def test_carry_over_brings_earlier_viewers_with_higher_intent() -> None:
    host = quiet_host(
        recommendation_rate=50.0, carryover_share=0.5, carryover_intent_boost=3.0
    )
    streams = [
        {"id": "first", "host": "h", "start": 0, "duration": 30, "products": ["p"]},
        {"id": "second", "host": "h", "start": 30, "duration": 30, "products": ["p"]},
    ]
    scenario = build(host=host, streams=streams)
    rows = simulate(scenario, replications=5, seed=3).replications
    first = rows[rows["stream"] == "first"]
    second = rows[rows["stream"] == "second"]
    assert (first["arrivals_carryover"] == 0).all()
    expected = 0.5 * first["unique_viewers"].to_numpy()
    got = second["arrivals_carryover"].to_numpy()
    assert np.all(np.abs(got - expected) < 5 * np.sqrt(expected))
    assert np.all(
        second["conversion_rate"].to_numpy() > first["conversion_rate"].to_numpy()
    )


def test_funnel_stages_are_nested() -> None:
    host = quiet_host(
        kind="KOC",
        click_rate=0.0005,
        like_rate=0.0,
        delayed_purchase_prob=1.0,
        delayed_mean_minutes=30.0,
    )
    rows = simulate(build(host=host), replications=5, seed=2).replications
    assert (rows["delayed_orders"] > 0).all()
    assert (rows["reached"] >= rows["unique_viewers"]).all()
    assert (rows["unique_viewers"] >= rows["engaged"]).all()
    assert (rows["engaged"] >= rows["clicked"]).all()
    assert (rows["clicked"] >= rows["orders"]).all()
    assert (rows["orders"] >= rows["kept_orders"]).all()


@pytest.mark.parametrize("engine", ["agent", "cohort"])
def test_common_random_numbers_shrink_paired_differences(engine: str) -> None:
    """Two strategies differing in one discount, compared on the same seeds, have a
    paired difference with a much smaller variance than runs on independent seeds."""

    def run(depth: float, seed: int) -> np.ndarray:
        promo = {"start": 0, "duration": 60, "discount": depth}
        scenario = build(
            host=quiet_host(recommendation_rate=20.0), stream={"promotions": [promo]}
        )
        rows = simulate(
            scenario, replications=40, seed=seed, engine=engine
        ).replications
        return rows["net_gmv"].to_numpy()

    shallow, deep, deep_elsewhere = run(0.1, 1), run(0.3, 1), run(0.3, 2)
    paired = np.var(deep - shallow, ddof=1)
    independent = np.var(deep_elsewhere - shallow, ddof=1)
    assert paired < 0.5 * independent
