"""Priors (`[[uncertainty]]`): distributions, validation, and the parameter draws."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from livesim.errors import ConfigError
from livesim.model.uncertainty import Prior, realize, uniform
from livesim.scenario import scenario_from_dict

BASE: dict[str, Any] = {
    "name": "priors",
    "products": [{"id": "p", "price": 100.0}],
    "hosts": [
        {"id": "a", "kind": "KOS", "followers": 1000},
        {"id": "b", "kind": "KOC", "followers": 3000},
    ],
    "streams": [
        {"id": "s1", "host": "a", "duration": 30, "products": ["p"]},
        {"id": "s2", "host": "b", "start": 30, "duration": 30, "products": ["p"]},
    ],
}


def with_priors(*priors: dict[str, Any], **top: Any) -> Any:
    data = copy.deepcopy(BASE) | top
    data["uncertainty"] = [{"source": "assumption"} | p for p in priors]
    return scenario_from_dict(data)


def refused(*priors: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        with_priors(*priors)
    return caught.value.errors


GRID = (np.arange(20_000) + 0.5) / 20_000


@pytest.mark.parametrize(
    ("spec", "frozen"),
    [
        (
            {"dist": "lognormal", "median": 2.0, "log_sd": 0.4},
            stats.lognorm(0.4, scale=2),
        ),
        ({"dist": "uniform", "low": 1.0, "high": 3.0}, stats.uniform(1, 2)),
        ({"dist": "loguniform", "low": 0.1, "high": 10.0}, stats.loguniform(0.1, 10)),
        (
            {"dist": "triangular", "low": 0, "peak": 1, "high": 4},
            stats.triang(0.25, 0, 4),
        ),
        ({"dist": "normal", "mean": 5.0, "sd": 2.0}, stats.norm(5, 2)),
    ],
)
def test_draws_follow_the_named_distribution(spec: dict[str, Any], frozen: Any) -> None:
    prior = Prior(name="x", paths=["platform.gpm_boost"], source="a", **spec)
    assert np.allclose(prior.ppf(GRID), frozen.ppf(GRID))


def test_a_beta_is_given_by_its_mean_and_sd() -> None:
    prior = Prior(name="x", paths=["p"], source="a", dist="beta", mean=0.2, sd=0.1)
    x = prior.ppf(GRID)
    assert x.mean() == pytest.approx(0.2, abs=1e-4)
    assert x.std() == pytest.approx(0.1, abs=1e-4)


def test_truncation_keeps_draws_inside_and_rescales_the_cdf() -> None:
    prior = Prior(
        name="x", paths=["p"], source="a", dist="normal", mean=0.0, sd=1.0, low=0.0
    )
    x = prior.ppf(GRID)
    assert x.min() >= 0.0
    assert np.median(x) == pytest.approx(stats.norm.ppf(0.75), abs=1e-3)
    assert prior.support() == (0.0, math.inf)


def test_a_choice_draws_its_values_with_their_weights() -> None:
    prior = Prior(
        name="x",
        paths=["p"],
        source="a",
        dist="choice",
        values=[1, 2, 5],
        weights=[1, 1, 2],
    )
    x = prior.ppf(GRID)
    assert set(x) == {1.0, 2.0, 5.0}
    assert (x == 5.0).mean() == pytest.approx(0.5, abs=1e-3)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"dist": "lognormal", "median": 1.0}, "lognormal needs log_sd"),
        ({"dist": "uniform", "low": 1.0, "high": 1.0}, "must be below high"),
        ({"dist": "beta", "mean": 0.5, "sd": 0.6}, "sd (0.6) must be below"),
        ({"dist": "uniform", "low": 0, "high": 1, "sd": 1}, "not sd"),
        ({"dist": "triangular", "low": 0, "peak": 2, "high": 1}, "peak (2"),
    ],
)
def test_a_prior_with_wrong_parameters_is_refused(
    spec: dict[str, Any], words: str
) -> None:
    problems = refused({"name": "x", "paths": ["hosts.*.purchase_rate"]} | spec)
    assert len(problems) == 1 and problems[0].startswith("uncertainty[0]")
    assert words in problems[0]


def test_paths_names_and_supports_are_checked_with_the_field_named() -> None:
    lognormal = {"dist": "lognormal", "median": 0.3, "log_sd": 0.5}
    problems = refused(
        {"name": "a", "paths": ["hosts.*.share_prob"]} | lognormal,
        {"name": "a", "paths": ["hosts.*.nonsense"]} | lognormal,
        {"name": "b", "paths": ["nowhere.x"]} | lognormal,
        {"name": "c", "paths": ["hosts.zz.purchase_rate"]} | lognormal,
        {"name": "d", "paths": ["platform.gpm_boost"], "scope": "host"} | lognormal,
    )
    assert problems[0].startswith("uncertainty[0].paths[0]: 'hosts.*.share_prob'")
    assert "leave the field's range [0, 1]" in problems[0]
    assert any("'nonsense' is not a field of hosts" in p for p in problems)
    assert "uncertainty[1].name: 'a' is used twice" in problems
    assert any("'nowhere.x' is not a path" in p for p in problems)
    assert any("'hosts.zz.purchase_rate' matches nothing" in p for p in problems)
    assert any("scope 'host' takes hosts.* paths only" in p for p in problems)


def test_a_truncated_lognormal_on_a_probability_is_accepted() -> None:
    spec = {"dist": "lognormal", "median": 0.3, "log_sd": 0.5, "high": 1.0}
    with_priors({"name": "s", "paths": ["hosts.*.enter_rate"]} | spec)
    untruncated = spec | {"high": None}
    assert "leave the field's range" in " ".join(
        refused({"name": "s", "paths": ["hosts.*.enter_rate"]} | untruncated)
    )
    # scaled: the host's value times the draw must stay a probability
    scaled = {"dist": "uniform", "low": 0.5, "high": 1.5, "mode": "scale"}
    with_priors({"name": "s", "paths": ["hosts.*.reach_share"]} | scaled)
    problems = refused(
        {"name": "s", "paths": ["hosts.*.reach_share"]} | scaled | {"high": 50.0}
    )
    assert "x draws in" in problems[0]


def test_whole_number_fields_get_whole_numbers() -> None:
    sc = with_priors(
        {
            "name": "f",
            "paths": ["hosts.*.followers"],
            "dist": "uniform",
            "low": 10,
            "high": 20000,
        }
    )
    campaign = sc.campaigns()["baseline"]
    for draw in range(5):
        drawn, values = realize(campaign, 3, draw)
        assert all(isinstance(h.followers, int) for h in drawn.hosts.values())
        assert drawn.hosts["a"].followers == round(values["f"][""])


def test_scale_keeps_hosts_apart_and_set_makes_them_equal() -> None:
    scale = {
        "name": "k",
        "paths": ["hosts.*.followers"],
        "dist": "uniform",
        "low": 0.5,
        "high": 2.0,
        "mode": "scale",
    }
    campaign = with_priors(scale).campaigns()["baseline"]
    drawn, values = realize(campaign, 1, 0)
    k = values["k"][""]
    assert drawn.hosts["a"].followers == round(1000 * k)
    assert drawn.hosts["b"].followers == round(3000 * k)
    assert campaign.hosts["a"].followers == 1000  # the campaign itself is unchanged


def test_the_scopes_draw_once_per_campaign_host_or_stream() -> None:
    spec = {
        "dist": "uniform",
        "low": 0.0,
        "high": 0.05,
        "paths": ["hosts.*.purchase_rate"],
    }
    campaign = with_priors(
        {"name": "c"} | spec,
        {"name": "h", "scope": "host"} | spec | {"paths": ["hosts.*.trust_rate"]},
        {"name": "s", "scope": "stream"} | spec | {"paths": ["hosts.*.click_rate"]},
    ).campaigns()["baseline"]
    drawn, values = realize(campaign, 5, 0)
    assert set(values["c"]) == {""}
    assert set(values["h"]) == {"a", "b"}
    assert set(values["s"]) == {"s1", "s2"}
    assert drawn.hosts["a"].purchase_rate == drawn.hosts["b"].purchase_rate
    assert drawn.hosts["a"].trust_rate == values["h"]["a"]
    # a stream-scope draw gives the stream its own host parameters
    assert drawn.host_of(drawn.streams[0]).click_rate == values["s"]["s1"]
    assert drawn.host_of(drawn.streams[1]).click_rate == values["s"]["s2"]


def test_host_draws_are_independent_across_hosts_and_draws() -> None:
    """The uniforms of two hosts over 2,000 draws: correlation within +-4/sqrt(n)
    (a false failure once in about 15,000 seeds), and each uniform on [0, 1)."""
    a = np.array([uniform(11, d, "h", "a") for d in range(2000)])
    b = np.array([uniform(11, d, "h", "b") for d in range(2000)])
    assert abs(np.corrcoef(a, b)[0, 1]) < 4 / math.sqrt(2000)
    assert abs(np.corrcoef(a[1:], a[:-1])[0, 1]) < 4 / math.sqrt(2000)
    assert stats.kstest(a, "uniform").pvalue > 1e-4


def test_strategies_share_the_draws_of_what_they_share() -> None:
    spec = {
        "dist": "uniform",
        "low": 0.0,
        "high": 0.05,
        "paths": ["hosts.*.purchase_rate"],
        "scope": "host",
    }
    strategies = {
        "other": {
            "hosts": [
                {"id": "b", "kind": "KOC", "followers": 3000},
                {"id": "c", "kind": "KOL"},
            ],
            "streams": [
                {"id": "s2", "host": "b", "duration": 30, "products": ["p"]},
                {
                    "id": "s3",
                    "host": "c",
                    "start": 30,
                    "duration": 30,
                    "products": ["p"],
                },
            ],
        }
    }
    sc = with_priors({"name": "h"} | spec, strategies=strategies)
    campaigns = sc.campaigns()
    _, base = realize(campaigns["baseline"], 2, 4)
    _, other = realize(campaigns["other"], 2, 4)
    assert base["h"]["b"] == other["h"]["b"]
    assert base["h"]["a"] != other["h"]["c"]


def test_a_scenario_without_priors_keeps_its_digest() -> None:
    plain = scenario_from_dict(copy.deepcopy(BASE))
    assert "uncertainty" not in plain.model_dump_json(exclude={"uncertainty"})
    data = copy.deepcopy(BASE) | {"uncertainty": []}
    assert scenario_from_dict(data).digest() == plain.digest()


def test_a_field_takes_one_prior_through_one_path() -> None:
    """Two priors on one field would compound, in an order-dependent way."""
    setter = {"name": "a", "paths": ["hosts.*.enter_rate"], "dist": "uniform"}
    scaler = setter | {"name": "b", "mode": "scale", "low": 1.0, "high": 1.1}
    problems = refused(setter | {"low": 0.1, "high": 0.5}, scaler)
    assert (
        "hosts.a.enter_rate is also written by uncertainty[0].paths[0]" in (problems[0])
    )
    twice = refused(
        setter
        | {
            "low": 0.1,
            "high": 0.5,
            "paths": ["hosts.*.enter_rate", "hosts.b.enter_rate"],
        }
    )
    assert "also written" in twice[0]


def test_two_scale_priors_on_an_open_field_multiply() -> None:
    """A campaign-wide scale times a host's own (purchase_rate >= 0, no upper
    bound): the draws multiply; on a probability (bounded) they are refused."""
    level = {
        "name": "level",
        "paths": ["hosts.*.purchase_rate"],
        "dist": "lognormal",
        "median": 1.0,
        "log_sd": 0.3,
        "mode": "scale",
    }
    own = level | {"name": "own", "scope": "host", "log_sd": 0.2}
    sc = with_priors(level, own)
    campaign = sc.campaigns()["baseline"]
    drawn, values = realize(campaign, 5, 3)
    for host, params in drawn.hosts.items():
        expected = (
            campaign.hosts[host].purchase_rate
            * values["level"][""]
            * values["own"][host]
        )
        assert params.purchase_rate == pytest.approx(expected, rel=1e-12)
    bounded = {"paths": ["hosts.*.enter_rate"], "dist": "uniform", "low": 0.9}
    problems = refused(
        level | bounded | {"high": 1.0, "median": None, "log_sd": None},
        own | bounded | {"high": 1.0, "median": None, "log_sd": None},
    )
    assert "also written" in problems[0]
    stream = own | {"name": "night", "scope": "stream"}
    assert "also written" in refused(level, stream)[0]


def test_rounded_draws_and_the_schedule_are_checked() -> None:
    window = {
        "name": "w",
        "paths": ["platform.feedback_window_minutes"],
        "dist": "uniform",
    }
    assert "range (0, 120]" in refused(window | {"low": 0.0, "high": 3.0})[0]
    with_priors(window | {"low": 0.6, "high": 3.0})  # rounds to 1..3
    duration = {"name": "d", "paths": ["streams.s1.duration"], "dist": "uniform"}
    assert "shapes the schedule" in refused(duration | {"low": 10, "high": 20})[0]


def test_cross_field_checks_hold_at_the_corners_of_the_priors() -> None:
    share = {
        "name": "s",
        "paths": ["hosts.*.share_prob"],
        "dist": "uniform",
        "low": 0.0,
    }
    k = {"name": "k", "paths": ["platform.wom_viewers_per_share"], "dist": "uniform"}
    problems = refused(share | {"high": 1.0}, k | {"low": 0.0, "high": 20.0})
    assert "branching factor" in problems[0] and "must be < 1" in problems[0]
    with_priors(share | {"high": 0.05}, k | {"low": 0.0, "high": 4.0})
    trust = {"name": "t", "paths": ["hosts.*.initial_trust"], "dist": "uniform"}
    assert "above its ceiling" in refused(trust | {"low": 0.1, "high": 0.99})[0]


def test_a_truncation_must_keep_some_of_the_distribution() -> None:
    far = {"dist": "normal", "mean": 0.0, "sd": 1.0, "low": 9.0, "high": 10.0}
    problems = refused({"name": "x", "paths": ["platform.gpm_boost"]} | far)
    assert "keep 0 of the distribution" in problems[0]
    near = Prior(name="x", paths=["p"], source="a", dist="normal", mean=0, sd=1, low=3)
    assert np.isfinite(near.ppf(GRID)).all() and near.ppf(GRID).min() >= 3.0


def test_the_kos101_priors_hold(tmp_path: Path) -> None:
    """Every prior of mac_kos101.toml (an optional field's included) holds."""
    from livesim import load_scenario

    here = Path(__file__).resolve().parent.parent / "experiments"
    sc = load_scenario(here / "mac_kos101.toml")
    campaign = sc.campaigns()["baseline"]
    drawn, values = realize(campaign, 0, 0)
    assert drawn.awareness.memory_half_life_days == values["memory"][""]
    assert drawn.awareness.push == 21.30 * values["push"][""]
    assert len(values["form"]) == len(campaign.streams)
