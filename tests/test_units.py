"""Unit tests of the engine's pieces and of the event log's consistency."""

from __future__ import annotations

from array import array
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from helpers import build, event_frame, quiet_host
from livesim.engines.agent import run_replication
from livesim.engines.levels import concurrency_per_minute, peak_concurrent
from livesim.model import traffic
from livesim.model.rng import Draws, keyed_uniform, poisson, seed_sequence
from livesim.results import describe


@given(st.floats(0.0, 500.0), st.floats(1e-9, 1 - 1e-9))
@settings(max_examples=300, deadline=None)
def test_poisson_inversion_equals_scipy(mean: float, u: float) -> None:
    expected = int(stats.poisson.ppf(u, mean)) if mean > 0 else 0
    assert poisson(mean, u) == expected


def test_draw_streams_are_reproducible_and_independent() -> None:
    a = Draws(seed_sequence(1, 0, "s", 1, 0, 0))
    b = Draws(seed_sequence(1, 0, "s", 1, 0, 0))
    c = Draws(seed_sequence(1, 0, "s", 1, 0, 3))
    first = [a.u() for _ in range(3000)]
    assert first == [b.u() for _ in range(3000)]
    assert first != [c.u() for _ in range(3000)]
    # taking exponentials does not shift the uniforms
    d = Draws(seed_sequence(1, 0, "s", 1, 0, 0))
    [d.e() for _ in range(77)]
    assert [d.u() for _ in range(3000)] == first


@given(st.lists(st.tuples(st.floats(0, 10), st.floats(0, 5)), min_size=1, max_size=40))
def test_concurrency_and_peak_match_brute_force(
    spans: list[tuple[float, float]],
) -> None:
    arrive = array("d", [a for a, _ in spans])
    leave = array("d", [min(a + d, 10.0) for a, d in spans])
    per_minute = concurrency_per_minute(arrive, leave, 0.0, 10)
    grid = np.linspace(0, 10, 20001)[:-1] + 0.00025
    present = (
        (np.frombuffer(arrive)[:, None] <= grid)
        & (grid < np.frombuffer(leave)[:, None])
    ).sum(axis=0)
    assert np.allclose(per_minute, present.reshape(10, -1).mean(axis=1), atol=0.01)
    assert peak_concurrent(arrive, leave) >= present.max()
    assert peak_concurrent(arrive, leave) <= len(spans)


def test_follower_profile_inverse_is_the_inverse() -> None:
    campaign = build(host=quiet_host(followers=1000)).campaigns()["baseline"]
    host = campaign.hosts["h"]
    u = np.linspace(0, 1, 11)
    x = traffic.follower_inverse(host, 60, u)
    assert np.allclose(traffic.follower_cdf(host, 60, x), u)
    assert x[0] == 0 and x[-1] == pytest.approx(60)
    # the decaying profile brings half the followers well before half-time
    assert traffic.follower_inverse(host, 60, np.array([0.5]))[0] < 30


def test_describe_guards_small_samples() -> None:
    one = describe(np.array([3.0]))
    assert one["mean"] == 3.0 and np.isnan(one["ci_low"])
    many = describe(np.array([1.0, 2.0, 3.0, 4.0]))
    assert many["ci_low"] < 2.5 < many["ci_high"]


def test_event_log_agrees_with_the_replication_row(tiny: Any) -> None:
    campaign = tiny.campaigns()["baseline"]
    out = run_replication(campaign, seed=3, replication=0, event_log=True)
    events = event_frame(out)
    for row in out.rows:
        mine = events[events["stream"] == row["stream"]]
        count = mine["event"].value_counts()
        assert count.get("arrive", 0) == row["viewers"]
        assert count.get("leave", 0) == row["viewers"]
        assert count.get("like", 0) == row["likes"]
        assert count.get("comment", 0) == row["comments"]
        assert count.get("share", 0) == row["shares"]
        assert count.get("question", 0) == row["questions_asked"]
        assert count.get("answered", 0) == row["questions_answered"]
        assert count.get("order", 0) + count.get("delayed_order", 0) == row["orders"]
        assert count.get("delayed_order", 0) == row["delayed_orders"]
        assert count.get("lost_sale", 0) == row["lost_sales"]
        # every viewer arrives before anything else it does, and orders at most once
        first = mine.groupby("viewer")["time"].min()
        arrive = mine[mine["event"] == "arrive"].set_index("viewer")["time"]
        assert np.allclose(first.loc[arrive.index], arrive)
        bought = mine[mine["event"].isin(["order", "delayed_order"])]
        assert bought["viewer"].is_unique


def test_event_log_does_not_change_results(tiny: Any) -> None:
    campaign = tiny.campaigns()["baseline"]
    with_log = run_replication(campaign, seed=3, replication=1, event_log=True)
    without = run_replication(campaign, seed=3, replication=1, event_log=False)
    assert with_log.rows == without.rows


def test_tiny_session_event_log_is_exact() -> None:
    """A few followers who only watch to the end: the log's shape is known."""
    host = quiet_host(
        recommendation_rate=0.0,
        followers=10,
        reach_share=1.0,
        enter_rate=1.0,
        real_follower_share=1.0,
        like_rate=0.0,
        click_rate=0.0,
        purchase_rate=0.0,
        arrival_profile="uniform",
        dwell_distribution="exponential",
        dwell_mean_minutes=1000.0,
    )
    campaign = build(host=host, stream={"duration": 5}).campaigns()["baseline"]
    events = event_frame(run_replication(campaign, 0, 0, event_log=True))
    # nobody engages or buys, everyone stays to the end of the 5-minute stream
    assert set(events["event"]) == {"arrive", "leave"}
    leaves = events[events["event"] == "leave"]["time"]
    assert (leaves == 5.0).sum() >= len(leaves) - 1
    assert (events[events["event"] == "arrive"]["x"] == "follower").all()


@pytest.mark.parametrize("mean", [0.5, 3.0, 29.0, 30.5, 50.0, 300.0])
def test_poisson_terminates_at_the_top_of_the_unit_interval(mean: float) -> None:
    top = poisson(mean, 1.0 - 2.0**-53)
    assert mean <= top < mean + 40 * mean**0.5 + 60


def test_keyed_substreams_are_uniform_and_distinct() -> None:
    values = np.array([keyed_uniform(12345, j) for j in range(20_000)])
    assert stats.kstest(values, "uniform").pvalue > 1e-4
    across = np.array([keyed_uniform(k * 7919 + 1, 0) for k in range(20_000)])
    assert stats.kstest(across, "uniform").pvalue > 1e-4
    assert keyed_uniform(1, 0) != keyed_uniform(2, 0)


@pytest.mark.parametrize("mean", [140.4371914, 31.5, 75.0, 260.0])
@pytest.mark.parametrize("u", [1e-9, 1e-6, 0.5, 1 - 1e-6, 1 - 1e-9])
def test_poisson_far_tails_are_exact(mean: float, u: float) -> None:
    assert poisson(mean, u) == int(stats.poisson.ppf(u, mean))


def test_awareness_retention_and_split_match_their_definitions() -> None:
    from scipy import integrate

    days, half_life = 31.0, 7.0
    numeric = integrate.quad(lambda d: 0.5 ** ((days - d) / half_life), 0, days)[0]
    assert traffic.retention(days, half_life) == pytest.approx(numeric / days)
    assert traffic.retention(days, None) == 1.0
    assert traffic.retention(days, 1e9) == pytest.approx(1.0)
    two = build(
        streams=[
            {"id": "a", "host": "h", "duration": 60, "products": ["p"]},
            {"id": "b", "host": "h", "duration": 60, "products": ["p"]},
        ],
        awareness={"days": 10, "impressions": 4e6, "frequency": 2, "turnout": 0.01},
    ).campaigns()["baseline"]
    per_stream = [traffic.expected_aware(two, s) for s in two.streams]
    assert per_stream == [pytest.approx(1e4), pytest.approx(1e4)]
    assert two.awareness is not None
    only_b = replace(two, awareness=two.awareness.model_copy(update={"streams": ["b"]}))
    assert [traffic.expected_aware(only_b, s) for s in only_b.streams] == [0.0, 2e4]
