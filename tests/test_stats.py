"""The intervals of `livesim.stats`: closed forms, known values, degenerate inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from livesim import stats
from livesim.compare import paired
from livesim.results import describe, median_ci


def test_mean_ci_is_the_t_interval_by_hand() -> None:
    # 1..5: mean 3, sd sqrt(2.5), t(0.975, 4) = 2.7764451051977987
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)
    low, high = stats.mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert low == pytest.approx(3 - half, rel=1e-12)
    assert high == pytest.approx(3 + half, rel=1e-12)
    assert (low, high) == pytest.approx((1.0367568385224, 4.9632431614776))


def test_mean_ci_at_another_confidence_is_narrower() -> None:
    x = np.arange(10.0)
    low90, high90 = stats.mean_ci(x, 0.90)
    low95, high95 = stats.mean_ci(x)
    assert low95 < low90 < 4.5 < high90 < high95


def test_mean_ci_guards_and_ignores_non_finite_values() -> None:
    assert all(math.isnan(v) for v in stats.mean_ci([3.0]))
    assert all(math.isnan(v) for v in stats.mean_ci([]))
    assert stats.mean_ci([7.0, 7.0, 7.0]) == (7.0, 7.0)
    clean = stats.mean_ci([1.0, 2.0, 4.0])
    assert stats.mean_ci([1.0, np.nan, 2.0, np.inf, 4.0, -np.inf]) == clean


def test_describe_takes_its_interval_from_mean_ci() -> None:
    x = np.random.default_rng(2).normal(50.0, 5.0, 25)
    row = describe(x)
    assert (row["ci_low"], row["ci_high"]) == stats.mean_ci(x)
    assert row["n"] == 25 and row["mean"] == float(x.mean())


@pytest.mark.parametrize("n", [1, 5, 20, 200])
def test_clopper_pearson_at_none_and_all_hits(n: int) -> None:
    """0 of n: [0, 1 - (alpha/2)^(1/n)]; n of n: [(alpha/2)^(1/n), 1]."""
    edge = 0.025 ** (1 / n)
    assert stats.proportion_ci(0, n) == pytest.approx((0.0, 1 - edge), abs=1e-12)
    assert stats.proportion_ci(n, n) == pytest.approx((edge, 1.0), abs=1e-12)


def test_clopper_pearson_half_and_no_trials() -> None:
    low, high = stats.proportion_ci(5, 10)
    assert (low, high) == pytest.approx((0.1870860284474, 0.8129139715526))
    assert low + high == pytest.approx(1.0)  # symmetric about 1/2
    assert all(math.isnan(v) for v in stats.proportion_ci(0, 0))


def test_quantile_ci_from_order_statistics() -> None:
    x = np.arange(10.0, 0.0, -1.0)  # 10..1: the order does not matter
    assert stats.quantile_ci(x, 0.5) == (2.0, 9.0)  # x(2), x(9) of ten
    assert stats.median_ci(x) == (2.0, 9.0)
    # ten values cannot bound the 5% quantile from below (nor 95% from above)
    low, high = stats.quantile_ci(x, 0.05)
    assert math.isnan(low) and high == 3.0
    low, high = stats.quantile_ci(x, 0.95)
    assert low == 8.0 and math.isnan(high)


def test_median_ci_guards_small_and_non_finite_samples() -> None:
    assert all(math.isnan(v) for v in stats.median_ci([1.0]))
    assert all(math.isnan(v) for v in stats.median_ci([np.nan, 2.0]))
    assert stats.median_ci([5.0] * 12) == (5.0, 5.0)
    assert median_ci is stats.median_ci  # results re-exports the one formula


def _shared_noise(seed: int, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Two outcomes with a large common part (common random numbers) and a true
    mean difference of exactly 1."""
    rng = np.random.default_rng(seed)
    common = rng.normal(0.0, 10.0, n)
    return common + 1.0 + rng.normal(0.0, 1.0, n), common + rng.normal(0.0, 1.0, n)


def test_paired_bca_covers_the_difference_and_beats_unpaired() -> None:
    a, b = _shared_noise(11)
    out = stats.paired_mean_difference(a, b, seed=0)
    assert out["n"] == 40
    assert out["mean_diff"] == pytest.approx(float((a - b).mean()))
    assert out["ci_low"] < 1.0 < out["ci_high"]
    # the unpaired (Welch) interval of the same two samples
    half = 1.96 * math.sqrt(a.var(ddof=1) / 40 + b.var(ddof=1) / 40)
    assert out["ci_high"] - out["ci_low"] < 0.25 * (2 * half)
    assert 0.5 < out["p_first_higher"] <= 1.0


def test_paired_bca_covers_about_95_percent() -> None:
    covered = 0
    for k in range(100):
        a, b = _shared_noise(100 + k, n=30)
        out = stats.paired_mean_difference(a, b, seed=k, resamples=999)
        covered += out["ci_low"] <= 1.0 <= out["ci_high"]
    assert 85 <= covered <= 100


def test_paired_bca_is_reproducible_by_its_seed() -> None:
    a, b = _shared_noise(3)
    assert stats.paired_mean_difference(a, b, 7) == stats.paired_mean_difference(
        a, b, 7
    )
    assert paired is stats.paired_mean_difference  # compare's name for it


def test_paired_degenerate_inputs() -> None:
    same = stats.paired_mean_difference(np.ones(5), np.ones(5), 0)
    assert (same["mean_diff"], same["ci_low"], same["ci_high"]) == (0.0, 0.0, 0.0)
    assert same["p_first_higher"] == 0.5  # ties count half
    shift = stats.paired_mean_difference(np.arange(5.0) + 2, np.arange(5.0), 0)
    assert (shift["ci_low"], shift["ci_high"]) == (2.0, 2.0)
    two = stats.paired_mean_difference(np.array([1.0, 3.0]), np.zeros(2), 0)
    assert two["mean_diff"] == 2.0 and math.isnan(two["ci_low"])
    one = stats.paired_mean_difference(np.array([4.0]), np.array([1.0]), 0)
    assert (one["n"], one["ci_low"], one["ci_high"]) == (1, 3.0, 3.0)
    none = stats.paired_mean_difference(np.array([np.nan]), np.array([1.0]), 0)
    assert none["n"] == 0
    assert all(math.isnan(none[k]) for k in ("mean_diff", "ci_low", "p_first_higher"))
    kept = stats.paired_mean_difference(
        np.array([np.nan, 1.0, 2.0, 5.0]), np.array([0.0, np.nan, 1.0, 1.0]), 0
    )
    assert kept["n"] == 2 and kept["mean_diff"] == 2.5


def test_paired_quantile_difference() -> None:
    z = np.random.default_rng(4).normal(0.0, 1.0, 400)
    # 2z minus z: the population difference of the 10% quantiles is q(0.1) of N(0,1)
    diff, low, high = stats.paired_quantile_difference(2 * z, z, 0.1, seed=1)
    assert diff == pytest.approx(float(np.quantile(z, 0.1)))
    assert low < -1.2815515655446004 < high
    assert stats.paired_quantile_difference(z, z, 0.3, seed=1) == (0.0, 0.0, 0.0)
    again = stats.paired_quantile_difference(2 * z, z, 0.1, seed=1)
    assert again == (diff, low, high)


def test_bca_fallback() -> None:
    assert stats.bca_fallback(0.0, np.zeros(50)) == (0.0, 0.0)
    draws = np.arange(1001.0)
    assert stats.bca_fallback(500.0, draws) == pytest.approx((25.0, 975.0))
    assert stats.bca_fallback(500.0, draws, 0.5) == pytest.approx((250.0, 750.0))


def test_legacy_seed_seeds_and_restores_the_global_generator() -> None:
    np.random.seed(123)  # noqa: NPY002
    expected_next = np.random.random()  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    with stats.legacy_seed(9):
        first = np.random.random(3)  # noqa: NPY002
    with stats.legacy_seed(9 + 2**32):  # seeds are taken modulo 2**32
        second = np.random.random(3)  # noqa: NPY002
    assert np.array_equal(first, second)
    assert np.random.random() == expected_next  # noqa: NPY002


def test_the_parameter_share_recovers_a_known_split() -> None:
    """y = mu_d + noise, Var(mu) = 4, Var(noise) = 1: share 0.8; the interval
    (95%, over 300 draws of 3) covers it, and a table without parameter effect
    gives a share near 0."""
    from livesim.stats import parameter_share

    rng = np.random.default_rng(4)
    mu = rng.normal(0.0, 2.0, size=(300, 1))
    table = mu + rng.normal(0.0, 1.0, size=(300, 3))
    share, low, high = parameter_share(table, seed=0)
    assert low < 0.8 < high and abs(share - 0.8) < 0.05
    noise_only = rng.normal(0.0, 1.0, size=(300, 3))
    assert parameter_share(noise_only, seed=0)[0] < 0.05
    assert all(np.isnan(parameter_share(table[:, :1])))  # K = 1: no split


def test_expected_shortfall_is_the_mean_of_the_worst_share() -> None:
    from livesim.stats import expected_shortfall

    x = np.arange(1.0, 101.0)  # 1..100
    assert expected_shortfall(x, 0.05) == 3.0  # mean of 1..5
    assert expected_shortfall(x, 0.001) == 1.0  # at least one value
    assert expected_shortfall(x, 0.05) <= np.percentile(x, 5)
    assert math.isnan(expected_shortfall([], 0.05))


def test_share_above_counts_ties_half_and_brackets_it() -> None:
    from livesim.stats import share_above

    share, low, high = share_above([2, 2, 1, 3], [1, 2, 2, 1])
    assert share == pytest.approx(2.5 / 4)
    assert low < share < high
    same = share_above(np.ones(50), np.ones(50))
    assert same[0] == 0.5 and same[1] == 0.0 and same[2] == 1.0


def test_the_tail_count_rounds_its_product_and_short_tails_get_no_interval() -> None:
    from livesim.stats import shortfall, shortfall_ci, tail_count

    assert tail_count(0.07, 100) == 7  # 0.07 x 100 is 7.000000000000001
    assert float(shortfall(np.arange(1.0, 101.0), 0.07)) == 4.0
    x = np.random.default_rng(1).normal(size=60)
    assert all(np.isnan(shortfall_ci(x, 0.1, seed=0)))  # 6 values in the tail
    low, high = shortfall_ci(np.random.default_rng(1).normal(size=400), 0.05, 0)
    assert low < high


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
def test_fewest_for_median_ci_is_where_the_interval_appears(confidence: float) -> None:
    """Below the fewest replications the order-statistic interval of the median is
    undefined; from there on it has both bounds (what the CLI's note says)."""
    fewest = stats.fewest_for_median_ci(confidence)
    x = np.arange(1.0, 40.0)
    low, high = stats.median_ci(x[: fewest - 1], confidence)
    assert math.isnan(low) or math.isnan(high)
    low, high = stats.median_ci(x[:fewest], confidence)
    assert math.isfinite(low) and math.isfinite(high)
    assert stats.fewest_for_median_ci(0.95) == 6
