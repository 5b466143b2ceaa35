"""The two-level Monte Carlo: closed forms of mixtures, the variance split, common
random numbers in both levels, and reproducibility (docs/model.md, section 16)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import helpers
from livesim import simulate
from livesim.compare import compare
from livesim.scenario import scenario_from_dict
from livesim.stats import parameter_share

MINUTES = 60


def scenario(host: dict[str, Any], *priors: dict[str, Any], **top: Any) -> Any:
    data = copy.deepcopy(helpers.BASE) | top
    data["hosts"] = [helpers.quiet_host(**host)]
    data["platform"] = {"gpm_boost": 0.0}
    data["uncertainty"] = [{"source": "test"} | p for p in priors]
    return scenario_from_dict(data)


def variance_band(sample: Any, n: int, rng: np.random.Generator) -> tuple[float, float]:
    """The 0.05%..99.95% range of the sample variance of n values drawn from the
    exact model (`sample(rng, n)`), over 4,000 repetitions."""
    variances = [sample(rng, n).var(ddof=1) for _ in range(4000)]
    return tuple(np.quantile(variances, [0.0005, 0.9995]))  # type: ignore[return-value]


@pytest.mark.parametrize("engine", ["agent", "cohort"])
def test_a_lognormal_rate_gives_a_poisson_lognormal_count(engine: str) -> None:
    """Arrivals at a constant rate lambda ~ lognormal: E[N] = E[lambda] T and
    Var N = E[lambda] T + Var(lambda) T^2. The mean is checked within 4 standard
    errors, the variance against the 99.9% range of the sample variance of the
    exact mixture (computed here): together a false failure about once in 800
    seeds; the seed is fixed."""
    median, log_sd, n = 10.0, 0.3, 400
    sc = scenario(
        {"recommendation_rate": 10.0},
        {
            "name": "rate",
            "paths": ["hosts.*.recommendation_rate"],
            "dist": "lognormal",
            "median": median,
            "log_sd": log_sd,
        },
    )
    result = simulate(sc, replications=n, seed=3, engine=engine, workers=2)
    count = result.campaign["arrivals_platform"].to_numpy(dtype=float)
    mean_rate = median * np.exp(log_sd**2 / 2)
    var_rate = (np.exp(log_sd**2) - 1) * np.exp(log_sd**2) * median**2
    mean, var = mean_rate * MINUTES, mean_rate * MINUTES + var_rate * MINUTES**2
    assert abs(count.mean() - mean) < 4 * np.sqrt(var / n)

    def exact(rng: np.random.Generator, size: int) -> np.ndarray:
        lam = rng.lognormal(np.log(median), log_sd, size)
        return rng.poisson(lam * MINUTES).astype(float)

    low, high = variance_band(exact, n, np.random.default_rng(0))
    assert low < count.var(ddof=1) < high
    # the draws are in the table, and the rate they set is the one simulated
    drawn = result.campaign["param.rate"].to_numpy()
    assert np.corrcoef(drawn, count)[0, 1] > 0.9


@pytest.mark.parametrize("engine", ["agent", "cohort"])
def test_a_beta_purchase_probability_gives_beta_binomial_buyers(engine: str) -> None:
    """Every viewer buys after leaving with probability p = intent x theta (trust 1,
    intent 0.6 exactly), theta ~ beta: orders | theta ~ Poisson(lambda T p), so
    Var = lambda T E[p] + (lambda T)^2 Var(p). With 2 inner replications per draw,
    the estimated share of variance due to theta has a 95% interval that must
    cover the true share (the one random check here: fails about 1 seed in 20
    were it not fixed; the mean is within 4 standard errors)."""
    rate, mean_theta, sd_theta = 1.0, 0.5, 0.15
    sc = scenario(
        {
            "recommendation_rate": rate,
            "purchase_rate": 0.0,
            "delayed_purchase_prob": 0.5,
            "intent_sigma": 0.0,
            "initial_trust": 1.0,
            "trust_ceiling": 1.0,
        },
        {
            "name": "theta",
            "paths": ["hosts.*.delayed_purchase_prob"],
            "dist": "beta",
            "mean": mean_theta,
            "sd": sd_theta,
        },
    )
    n, inner = 600, 2
    result = simulate(sc, replications=n, seed=5, engine=engine, workers=2, inner=inner)
    orders = result.campaign.sort_values("replication")["orders"].to_numpy(float)
    lt = rate * MINUTES
    p_mean, p_var = 0.6 * mean_theta, 0.36 * sd_theta**2
    noise, spread = lt * p_mean, lt**2 * p_var
    assert abs(orders.mean() - lt * p_mean) < 4 * np.sqrt((noise + spread) / n)
    share, low, high = parameter_share(orders.reshape(-1, inner), seed=1)
    truth = spread / (spread + noise)
    assert low < truth < high
    summary = result.summary.set_index("metric")
    assert summary.loc["orders.parameter_share", "mean"] == pytest.approx(share)
    assert result.manifest["parameter_draws"] == n // inner


def test_common_random_numbers_hold_in_both_levels() -> None:
    """A strategy identical to the baseline differs by exactly 0 in every
    replication; one with 20% more push differs by far less, paired, than two
    independent runs would (the variance of the paired difference is under a
    tenth of the sum of the variances)."""
    host = {"recommendation_rate": 10.0, "purchase_rate": 0.02}
    pushed = {"hosts": [helpers.quiet_host(**host | {"recommendation_rate": 12.0})]}
    same = {"hosts": [helpers.quiet_host(**host)]}
    sc = scenario(
        host,
        {
            "name": "rate",
            "paths": ["hosts.*.recommendation_rate"],
            "dist": "lognormal",
            "median": 1.0,
            "log_sd": 0.4,
            "mode": "scale",
        },
        {
            "name": "buy",
            "paths": ["hosts.*.purchase_rate"],
            "dist": "uniform",
            "low": 0.5,
            "high": 1.5,
            "mode": "scale",
            "scope": "host",
        },
        strategies={"same": same, "pushed": pushed},
    )
    result = compare(sc, replications=200, seed=2, workers=2, engine="cohort").result
    campaign = result.campaign.pivot(index="replication", columns="strategy")
    gmv = campaign["net_gmv"]
    assert (gmv["same"] - gmv["baseline"]).abs().max() == 0.0
    assert (
        campaign["param.rate"]["pushed"] == campaign["param.rate"]["baseline"]
    ).all()
    paired = (gmv["pushed"] - gmv["baseline"]).var()
    assert paired < 0.1 * (gmv["pushed"].var() + gmv["baseline"].var())


def test_compare_gives_the_chances_and_the_risk_of_each_strategy() -> None:
    """An identical strategy ties the baseline on every night and every draw; one
    with more push beats it more often than not; the worst 5% of nights' mean is
    below the 5th percentile; P(ROI < 0) is the share of such nights."""
    host = {"recommendation_rate": 10.0, "purchase_rate": 0.02}
    sc = scenario(
        host,
        {
            "name": "rate",
            "paths": ["hosts.*.recommendation_rate"],
            "dist": "lognormal",
            "median": 1.0,
            "log_sd": 0.4,
            "mode": "scale",
        },
        strategies={
            "same": {"hosts": [helpers.quiet_host(**host)]},
            "pushed": {
                "hosts": [helpers.quiet_host(**host | {"recommendation_rate": 14.0})]
            },
        },
    )
    comparison = compare(
        sc, replications=80, seed=4, workers=2, engine="cohort", inner=2
    )
    table = comparison.strategies.set_index("strategy")
    assert table.loc["same", "p_beats_first"] == 0.5
    assert table.loc["same", "p_better_given_parameters"] == 0.5
    assert table.loc["pushed", "p_better_given_parameters"] > 0.9
    assert table.loc["pushed", "p_beats_first"] > 0.8
    assert table.loc["same", "p_ties_first"] == 1.0
    plain = scenario(host, strategies={"same": {"hosts": [helpers.quiet_host(**host)]}})
    noise_only = compare(
        plain, replications=8, seed=4, workers=1, engine="cohort", inner=2
    )
    assert np.isnan(noise_only.strategies["p_better_given_parameters"]).all()
    campaign = comparison.result.campaign
    for name, row in table.iterrows():
        assert row["cvar5_net_gmv"] <= row["p5_net_gmv"]
        roi = campaign.loc[campaign["strategy"] == name, "roi"]
        assert row["p_roi_negative"] == (roi < 0).mean()


def test_tables_with_priors_do_not_depend_on_the_workers() -> None:
    sc = scenario(
        {"recommendation_rate": 5.0, "purchase_rate": 0.02},
        {
            "name": "rate",
            "paths": ["hosts.*.recommendation_rate"],
            "dist": "uniform",
            "low": 2.0,
            "high": 8.0,
        },
    )
    one = simulate(sc, replications=12, seed=9, engine="agent", workers=1, inner=3)
    two = simulate(sc, replications=12, seed=9, engine="agent", workers=2, inner=3)
    assert one.replications.equals(two.replications)
    assert one.summary.equals(two.summary)
    drawn = one.campaign.sort_values("replication")["param.rate"].to_numpy()
    assert (drawn.reshape(4, 3) == drawn.reshape(4, 3)[:, :1]).all()  # 3 per draw
    assert len(set(drawn)) == 4


def test_inner_must_divide_the_replications() -> None:
    from livesim.errors import ConfigError

    sc = scenario(
        {},
        {
            "name": "r",
            "paths": ["hosts.*.recommendation_rate"],
            "dist": "uniform",
            "low": 1.0,
            "high": 2.0,
        },
    )
    with pytest.raises(ConfigError, match="inner: 10 replications are not a whole"):
        simulate(sc, replications=10, inner=3)
