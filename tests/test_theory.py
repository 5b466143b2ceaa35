"""Closed forms the model must reduce to (DESIGN.md section 2; docs/model.md section 9).

Each test runs the agent engine on a degenerate scenario with a fixed seed, so CI is
deterministic. Tolerances are confidence intervals, not fudge: each check uses a
two-sided z (or t) bound at alpha = 0.001 / 36 (Bonferroni over the eighteen assertions
in this file, run for both engines), so with random seeds the whole file would fail by
chance about once in a thousand runs. Every test runs with both engines.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from helpers import build, quiet_host
from livesim import simulate
from livesim.engines import engine_runner
from livesim.engines.output import TIMESERIES_COLUMNS
from livesim.model import theory

ALPHA = 0.001 / 36
Z = stats.norm.ppf(1 - ALPHA / 2)

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("engine", ["agent", "cohort"])]


def covers(estimate: float, expected: float, se: float) -> bool:
    """Whether `expected` lies within Z standard errors of `estimate`."""
    return abs(estimate - expected) <= Z * se


def test_constant_arrivals_are_poisson(engine: str) -> None:
    rate, minutes, reps = 20.0, 60, 400
    scenario = build(
        host=quiet_host(
            recommendation_rate=rate,
            purchase_rate=0.0,
            dwell_distribution="exponential",
            dwell_mean_minutes=1.0,
        ),
        stream={"duration": minutes},
    )
    counts = simulate(scenario, replications=reps, seed=11, engine=engine).replications[
        "viewers"
    ]
    counts = counts.to_numpy(dtype=float)
    mean = rate * minutes
    assert covers(counts.mean(), mean, math.sqrt(mean / reps))
    # dispersion test: (n - 1) s^2 / mean ~ chi2(n - 1) for Poisson counts
    statistic = (reps - 1) * counts.var(ddof=1) / mean
    p = 2 * min(stats.chi2.cdf(statistic, reps - 1), stats.chi2.sf(statistic, reps - 1))
    assert p > ALPHA
    # and the whole distribution: chi-square goodness of fit on binned counts
    edges = np.array([-np.inf, *np.arange(1140, 1261, 20), np.inf])
    observed = np.histogram(counts, bins=edges)[0]
    expected = reps * np.diff(stats.poisson.cdf(edges, mean))
    assert stats.chisquare(observed, expected).pvalue > ALPHA


@pytest.mark.parametrize(
    ("distribution", "sigma"), [("exponential", None), ("lognormal", 1.0)]
)
def test_constant_hazard_purchase_probability(
    distribution: str, sigma: float | None, engine: str
) -> None:
    hazard, mean_dwell, minutes, reps = 0.05, 5.0, 600, 20
    host = quiet_host(
        recommendation_rate=40.0,
        purchase_rate=hazard,
        initial_trust=1.0,
        trust_ceiling=1.0,
        intent_sigma=0.0,
        dwell_distribution=distribution,
        dwell_mean_minutes=mean_dwell,
        dwell_sigma=sigma or 1.0,
    )
    # platform viewers' intent multiplier is 1, so the hazard is exactly `hazard`
    scenario = build(
        host=host, stream={"duration": minutes}, platform={"intent_platform": 1.0}
    )
    rows = simulate(scenario, replications=reps, seed=5, engine=engine).replications
    viewers = rows["unique_viewers"].sum()
    p_hat = rows["orders"].sum() / viewers
    expected = theory.p_buy_window(hazard, mean_dwell, sigma, minutes)
    assert covers(p_hat, expected, math.sqrt(expected * (1 - expected) / viewers))
    # the window correction is small: the textbook forms are within 1% of it
    textbook = (
        theory.p_buy_exponential(hazard, mean_dwell)
        if sigma is None
        else theory.p_buy_lognormal(hazard, mean_dwell, sigma)
    )
    assert expected == pytest.approx(textbook, rel=0.01)


def test_littles_law_for_concurrent_viewers(engine: str) -> None:
    rate, mean_dwell, minutes, reps = 30.0, 4.0, 240, 30
    host = quiet_host(
        recommendation_rate=rate,
        purchase_rate=0.0,
        dwell_distribution="lognormal",
        dwell_mean_minutes=mean_dwell,
    )
    campaign = build(host=host, stream={"duration": minutes}).campaigns()["baseline"]
    column = TIMESERIES_COLUMNS.index("concurrent")
    # time-weighted mean concurrency after a warm-up of 15 dwell means, one value per
    # replication (independent), compared with L = lambda E[D] by a t interval
    levels = np.array(
        [
            engine_runner(engine)(campaign, 3, r, False)
            .timeseries["s"][60:, column]
            .mean()
            for r in range(reps)
        ]
    )
    expected = theory.little_concurrent(rate, mean_dwell)
    t = stats.t.ppf(1 - ALPHA / 2, reps - 1)
    assert abs(levels.mean() - expected) <= t * levels.std(ddof=1) / math.sqrt(reps)


def test_qa_desk_without_reneging_is_mmc(engine: str) -> None:
    servers, service_minutes = 3, 0.5
    rate, mean_dwell, question_rate, minutes, reps = 360.0, 0.5, 0.02, 300, 12
    host = quiet_host(
        recommendation_rate=rate,
        purchase_rate=0.0,
        dwell_distribution="exponential",
        dwell_mean_minutes=mean_dwell,
        question_rate=question_rate,
        qa_capacity=servers,
        qa_service_minutes=service_minutes,
        reneging=False,
    )
    rows = simulate(
        build(host=host, stream={"duration": minutes}),
        replications=reps,
        seed=8,
        engine=engine,
    ).replications
    # questions arrive as a Poisson process of rate lambda * q * E[D] (a viewer asks a
    # second question with probability ~ q E[D] = 1%: the cluster effect on the wait is
    # far below the CI below)
    lam = rate * question_rate * mean_dwell
    expected = theory.mmc_mean_wait(servers, lam, 1.0 / service_minutes)
    waits = rows["mean_qa_wait"].to_numpy()
    assert rows["questions_abandoned"].sum() == 0
    assert rows["questions_asked"].sum() == rows["questions_answered"].sum()
    t = stats.t.ppf(1 - ALPHA / 2, reps - 1)
    assert abs(waits.mean() - expected) <= t * waits.std(ddof=1) / math.sqrt(reps)


def test_word_of_mouth_multiplies_arrivals(engine: str) -> None:
    share, per_share, minutes, reps = 0.25, 2.0, 1000, 30
    host = quiet_host(
        recommendation_rate=20.0,
        purchase_rate=0.0,
        share_prob=share,
        dwell_distribution="exponential",
        dwell_mean_minutes=1.0,
    )
    scenario = build(
        host=host,
        stream={"duration": minutes},
        platform={"wom_viewers_per_share": per_share, "wom_delay_minutes": 0.5},
    )
    rows = simulate(scenario, replications=reps, seed=21, engine=engine).replications
    ratio = rows["viewers"] / rows["arrivals_platform"]
    # offspring due after the stream's end are lost: about (E[D] + delay) / minutes
    # = 0.15% of word-of-mouth arrivals, a tenth of the CI's half width here
    expected = theory.wom_multiplier(share, per_share)
    se = ratio.std(ddof=1) / math.sqrt(reps)
    assert covers(ratio.mean(), expected, se)


def test_an_awareness_phase_sends_its_closed_form_audience(engine: str) -> None:
    """people reached x retention x turnout arrive, Poisson, on the follower profile."""
    days, impressions, frequency, half_life, turnout = 30.0, 2e6, 4.0, 10.0, 0.004
    tau, minutes, reps = 15.0, 60, 300
    host = quiet_host(
        recommendation_rate=0.0,
        purchase_rate=0.0,
        arrival_decay_minutes=tau,
        dwell_distribution="exponential",
        dwell_mean_minutes=1.0,
    )
    phase = {
        "days": days,
        "impressions": impressions,
        "frequency": frequency,
        "memory_half_life_days": half_life,
        "turnout": turnout,
    }
    campaign = build(
        host=host, stream={"duration": minutes}, awareness=phase
    ).campaigns()["baseline"]
    column = TIMESERIES_COLUMNS.index("arrivals_awareness")
    bins = np.array(
        [
            engine_runner(engine)(campaign, 5, r, False).timeseries["s"][:, column]
            for r in range(reps)
        ]
    )
    # exposures uniform over the phase, each remembered with a half-life: the mean of
    # 2^(-(days - d) / half_life) over d in [0, days]
    rate = math.log(2.0) / half_life
    retained = -math.expm1(-rate * days) / (rate * days)
    mean = impressions / frequency * retained * turnout
    counts = bins.sum(axis=1)
    assert covers(counts.mean(), mean, math.sqrt(mean / reps))
    statistic = (reps - 1) * counts.var(ddof=1) / mean
    p = 2 * min(stats.chi2.cdf(statistic, reps - 1), stats.chi2.sf(statistic, reps - 1))
    assert p > ALPHA
    # the decay profile: a share G(tau) = (1 - e^-1) / (1 - e^(-T/tau)) by minute tau
    share = bins[:, : int(tau)].sum() / bins.sum()
    expected = -math.expm1(-1.0) / -math.expm1(-minutes / tau)
    assert covers(share, expected, math.sqrt(expected * (1 - expected) / bins.sum()))


def test_the_event_reaches_other_kinds_by_its_follow_share(engine: str) -> None:
    """A stream whose host is not of the event's own kinds gets `follow_share` e of
    the event's audience and push: Poisson counts with means A / S * e and
    (rho + push * e) T (docs/model.md, section 2); e = 1 for the event's own."""
    minutes, reps, rho, push, share, turnout = 60, 200, 3.0, 12.0, 0.3, 0.004
    quiet = {
        "recommendation_rate": rho,
        "purchase_rate": 0.0,
        "dwell_distribution": "exponential",
        "dwell_mean_minutes": 1.0,
    }
    hosts = [quiet_host(id="own", **quiet), quiet_host(id="other", kind="KOC", **quiet)]
    streams = [
        {"id": sid, "host": host, "duration": minutes, "products": ["p"]}
        for sid, host in (("a", "own"), ("b", "other"))
    ]
    phase = {
        "days": 10.0,
        "impressions": 1e6,
        "turnout": turnout,
        "push": push,
        "own_kinds": ["KOS"],
        "follow_share": share,
    }
    campaign = build(awareness=phase, hosts=hosts, streams=streams).campaigns()[
        "baseline"
    ]
    outs = [engine_runner(engine)(campaign, 7, r, False) for r in range(reps)]
    for sid, e in (("a", 1.0), ("b", share)):
        for source, mean in (
            ("awareness", 1e6 * turnout / 2 * e),
            ("platform", (rho + push * e) * minutes),
        ):
            column = TIMESERIES_COLUMNS.index(f"arrivals_{source}")
            counts = np.array([o.timeseries[sid][:, column].sum() for o in outs])
            assert covers(counts.mean(), mean, math.sqrt(mean / reps)), (sid, source)


def test_likes_comments_and_questions_are_poisson_in_watch_time(engine: str) -> None:
    # Given the minutes watched W, a stream's likes (comments, questions) are Poisson
    # with mean rate x W: per viewer a Poisson process over its visit. The cohort
    # engine draws each viewer's first event and the rest as one Poisson count per
    # stream and minute, so this checks that decomposition too.
    rates = {"likes": 0.3, "comments": 0.05, "questions_asked": 0.01}
    host = quiet_host(
        recommendation_rate=40.0,
        purchase_rate=0.0,
        like_rate=rates["likes"],
        comment_rate=rates["comments"],
        question_rate=rates["questions_asked"],
        qa_capacity=50,
    )
    campaign = build(host=host, stream={"duration": 120}).campaigns()["baseline"]
    rows = [engine_runner(engine)(campaign, 5, r, False).rows[0] for r in range(6)]
    for column, rate in rates.items():
        counts = np.array([row[column] for row in rows], dtype=float)
        means = np.array(
            [rate * row["mean_watch_minutes"] * row["unique_viewers"] for row in rows]
        )
        z = (counts.sum() - means.sum()) / math.sqrt(means.sum())
        assert abs(z) < stats.norm.ppf(1 - ALPHA / 2), (column, z)
