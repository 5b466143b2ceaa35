"""An announced promotion draws and holds a crowd (docs/model.md, section 2.6).

From `announce_minutes` before its start to its end, the direct arrivals (followers,
platform, ads, an awareness phase's audience) are Poisson with their rate times
`draw`, and a stay that meets the window is lengthened from its first moment in it
by `hold`. The closed forms: arrivals per minute with the multiplied rate, and
Little's law inside the window, L = draw x rate x hold x E[D] for exponential
stays. Fixed seeds; z and t bounds at alpha = 0.001 / 16 (Bonferroni over the
assertions here, both engines).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from helpers import build, quiet_host
from livesim import simulate
from livesim.cli import main
from livesim.engines import engine_runner
from livesim.engines.output import TIMESERIES_COLUMNS
from livesim.model import theory
from livesim.model.viewer import held_leave

ALPHA = 0.001 / 16
Z = stats.norm.ppf(1 - ALPHA / 2)


def held(arrive: float, dwell: float, *windows: tuple[float, float, float]) -> float:
    """`held_leave` on a table of (from, to, hold) windows."""
    t_from, t1, hold = zip(*windows, strict=True) if windows else ((), (), ())
    return held_leave(arrive, dwell, range(len(windows)), t_from, t1, hold)


def test_a_stay_is_lengthened_from_its_first_moment_in_the_window() -> None:
    assert held(0.0, 10.0, (5.0, 30.0, 2.0)) == 15.0  # present when it opens
    assert held(8.0, 10.0, (5.0, 30.0, 2.0)) == 28.0  # came inside it: all of it
    assert held(0.0, 4.0, (5.0, 30.0, 2.0)) == 4.0  # gone before it opened
    assert held(30.0, 4.0, (5.0, 30.0, 2.0)) == 34.0  # came after it closed
    assert held(0.0, 10.0, (5.0, 30.0, 1.0)) == 10.0  # a hold of 1 holds no one
    assert held(0.0, 10.0) == 10.0


def test_overlapping_windows_do_not_compound() -> None:
    both = held(0.0, 10.0, (5.0, 30.0, 2.0), (2.0, 30.0, 1.5))
    assert both == max(5.0 + 5.0 * 2.0, 2.0 + 8.0 * 1.5)


def window_scenario(**promotion: Any) -> Any:
    host = quiet_host(
        recommendation_rate=20.0,
        purchase_rate=0.0,
        dwell_distribution="exponential",
        dwell_mean_minutes=4.0,
    )
    promo = {"start": 30, "duration": 20, "discount": 0.0} | promotion
    return build(host=host, stream={"duration": 60, "promotions": [promo]})


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["agent", "cohort"])
def test_the_draw_multiplies_the_rate_from_the_announcement(engine: str) -> None:
    rate, draw, reps = 20.0, 3.0, 200
    campaign = window_scenario(announce_minutes=10, draw=draw).campaigns()["baseline"]
    column = TIMESERIES_COLUMNS.index("arrivals_platform")
    series = np.array(
        [
            engine_runner(engine)(campaign, 7, r, False).timeseries["s"][:, column]
            for r in range(reps)
        ]
    )
    inside, outside = series[:, 20:50].sum(axis=1), series[:, :20].sum(axis=1)
    assert series[:, 50:].sum(axis=1).mean() == pytest.approx(rate * 10, rel=0.1)
    for counts, mean in ((inside, draw * rate * 30), (outside, rate * 20)):
        assert abs(counts.mean() - mean) <= Z * math.sqrt(mean / reps)
        # Poisson: variance = mean (dispersion test)
        statistic = (reps - 1) * counts.var(ddof=1) / mean
        p = 2 * min(
            stats.chi2.cdf(statistic, reps - 1), stats.chi2.sf(statistic, reps - 1)
        )
        assert p > ALPHA


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["agent", "cohort"])
def test_littles_law_holds_inside_the_window(engine: str) -> None:
    rate, mean_dwell, draw, hold, reps = 30.0, 4.0, 2.0, 1.5, 30
    host = quiet_host(
        recommendation_rate=rate,
        purchase_rate=0.0,
        dwell_distribution="exponential",
        dwell_mean_minutes=mean_dwell,
    )
    promo = {"start": 60, "duration": 180, "discount": 0.0, "draw": draw, "hold": hold}
    campaign = build(
        host=host, stream={"duration": 240, "promotions": [promo]}
    ).campaigns()["baseline"]
    column = TIMESERIES_COLUMNS.index("concurrent")
    series = np.array(
        [
            engine_runner(engine)(campaign, 3, r, False).timeseries["s"][:, column]
            for r in range(reps)
        ]
    )
    t = stats.t.ppf(1 - ALPHA / 2, reps - 1)
    # before the window (after a warm-up), and inside it after 15 held dwell means
    for levels, expected in (
        (series[:, 30:60].mean(axis=1), theory.little_concurrent(rate, mean_dwell)),
        (
            series[:, 150:].mean(axis=1),
            theory.little_concurrent(draw * rate, hold * mean_dwell),
        ),
    ):
        assert abs(levels.mean() - expected) <= t * levels.std(ddof=1) / math.sqrt(reps)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["agent", "cohort"])
def test_a_hold_over_the_whole_stream_is_a_longer_dwell(engine: str) -> None:
    """Exponential (and lognormal) stays scale: holding every stay from its start
    by h is a dwell mean h times as long, draw for draw."""
    hold, mean_dwell = 1.7, 4.0
    held_out = simulate(
        window_scenario(start=0, duration=60, hold=hold),
        replications=20,
        seed=5,
        engine=engine,
    ).replications
    host = quiet_host(
        recommendation_rate=20.0,
        purchase_rate=0.0,
        dwell_distribution="exponential",
        dwell_mean_minutes=hold * mean_dwell,
    )
    promo = {"start": 0, "duration": 60, "discount": 0.0}
    longer = simulate(
        build(host=host, stream={"duration": 60, "promotions": [promo]}),
        replications=20,
        seed=5,
        engine=engine,
    ).replications
    for column in ("viewers", "mean_watch_minutes", "peak_concurrent"):
        assert held_out[column].to_numpy() == pytest.approx(
            longer[column].to_numpy(), rel=1e-9
        )


def test_no_announcement_changes_nothing() -> None:
    """draw = hold = 1 (the defaults) is the promotion as it was, bit for bit."""
    plain = simulate(window_scenario(), replications=3, seed=2, engine="agent")
    explicit = simulate(
        window_scenario(announce_minutes=15, draw=1.0, hold=1.0),
        replications=3,
        seed=2,
        engine="agent",
    )
    assert plain.replications.equals(explicit.replications)


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("draw", 0.5, "greater than or equal to 1"),
        ("hold", 0.9, "greater than or equal to 1"),
        ("announce_minutes", -5, "greater than or equal to 0"),
        ("draw", 1000.0, "less than or equal to 100"),
    ],
)
def test_a_bad_announcement_is_one_line(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], field: str, value: Any, rule: str
) -> None:
    text = (
        'name = "x"\n'
        '[[products]]\nid = "p"\nprice = 100.0\n'
        '[[hosts]]\nid = "h"\nkind = "KOS"\n'
        '[[streams]]\nid = "s"\nhost = "h"\nduration = 60\nproducts = ["p"]\n'
        "[[streams.promotions]]\nstart = 10\nduration = 10\ndiscount = 0.1\n"
        f"{field} = {value}\n"
    )
    path = tmp_path / "bad.toml"
    path.write_text(text)
    out = tmp_path / "out"
    assert main(["run", str(path), "-n", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert f"promotions[0].{field}" in err[0] and rule in err[0], err[0]
    assert not out.exists()


def test_a_hold_that_would_explode_the_audience_is_refused(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Comment feedback grows with the stay: the branching factor's bound takes
    the largest hold."""
    text = (
        'name = "x"\n'
        '[[products]]\nid = "p"\nprice = 100.0\n'
        '[[hosts]]\nid = "h"\nkind = "KOS"\nshare_prob = 0.0\ncomment_rate = 0.1\n'
        "dwell_mean_minutes = 4.0\n"
        "[platform]\nfeedback_viewers_per_comment = 1.0\n"
        '[[streams]]\nid = "s"\nhost = "h"\nduration = 60\nproducts = ["p"]\n'
        "[[streams.promotions]]\nstart = 10\nduration = 10\ndiscount = 0.1\n"
        "hold = 3.0\n"
    )
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["run", str(path), "-n", "2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "branching factor of 1.2" in err[0], err
    assert "hold of 3" in err[0]


@pytest.mark.parametrize("engine", ["agent", "cohort"])
def test_the_preflight_estimate_bounds_a_drawn_crowd_with_feedback(engine: str) -> None:
    """The draw multiplies the direct arrivals, not the comment feedback (which
    grows with the crowd): with feedback near the branching limit and a large draw
    the audience stays under the pre-flight estimate, direct / (1 - R)."""
    from livesim.model.traffic import branching_factor, expected_viewers

    host = quiet_host(
        recommendation_rate=10.0,
        purchase_rate=0.0,
        comment_rate=0.15,
        dwell_distribution="exponential",
        dwell_mean_minutes=4.0,
    )
    promo = {"start": 20, "duration": 30, "discount": 0.0, "draw": 3.0}
    scenario = build(
        host=host,
        stream={"duration": 60, "promotions": [promo]},
        platform={"feedback_viewers_per_comment": 1.0, "gpm_boost": 0.0},
    )
    campaign = scenario.campaigns()["baseline"]
    stream = campaign.streams[0]
    assert branching_factor(campaign.host_of(stream), campaign.platform) == (
        pytest.approx(0.6)
    )
    bound = expected_viewers(campaign, stream)
    viewers = simulate(scenario, replications=10, seed=4, engine=engine).replications[
        "viewers"
    ]
    assert viewers.mean() <= bound
    assert viewers.mean() > 0.5 * bound  # (the bound is not loose either)
