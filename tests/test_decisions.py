"""Decisions under uncertainty: the event's share, break-evens, experiments with
priors, switching priors off, and the KOS101 files that carry them."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from livesim import load_scenario
from livesim.archetypes import ARCHETYPES
from livesim.backends import LocalBackend
from livesim.cli import main
from livesim.compare import compare
from livesim.report.comparison import verdicts
from livesim.scenario import scenario_from_dict
from livesim.sensitivity import load_sensitivity, run_sensitivity
from livesim.stats import break_even
from livesim.sweep import load_experiment

ROOT = Path(__file__).resolve().parents[1]


def test_break_even_finds_the_root_of_a_known_line() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(0.0, 1.0, 400)
    d = 1000.0 * (x - 0.6) + rng.normal(0.0, 100.0, 400)
    value, low, high, slope = break_even(d, x, seed=2)
    assert low < 0.6 < high and abs(value - 0.6) < 0.03 and slope > 0
    assert high - low < 0.1
    # no crossing within the draws: NaN, the slope still says who is ahead
    value, _, _, slope = break_even(1000.0 * (x + 1.0), x)
    assert np.isnan(value) and slope > 0
    assert all(np.isnan(v) for v in break_even(d, np.ones_like(d)))


# An event whose push (10 viewers/min) and audience belong to KOS hosts; the
# alternative's host behaves exactly as the KOS host but is a KOC with 4 viewers/min
# of its own: its expected arrivals per minute, 4 + 10 e, beat the KOS host's 10
# for an event share e above 0.6. No feedback: net GMV is linear in arrivals.
SAME = dict(ARCHETYPES["KOS"]) | {
    "followers": 0,
    "share_prob": 0.0,
    "comment_rate": 0.0,
    "carryover_share": 0.0,
}
EVENT: dict[str, Any] = {
    "name": "event",
    "products": [{"id": "p", "price": 100.0, "return_rate": 0.0}],
    "hosts": [{"id": "kos", "kind": "KOS", **SAME, "recommendation_rate": 0.0}],
    "streams": [{"id": "s", "host": "kos", "duration": 60, "products": ["p"]}],
    "platform": {"gpm_boost": 0.0, "feedback_viewers_per_comment": 0.0},
    "awareness": {
        "days": 1.0,
        "impressions": 1.0,
        "turnout": 0.0,
        "push": 10.0,
        "own_kinds": ["KOS"],
    },
    "strategies": {
        "koc": {
            "hosts": [{"id": "koc", "kind": "KOC", **SAME, "recommendation_rate": 4.0}],
            "streams": [{"id": "s", "host": "koc", "duration": 60, "products": ["p"]}],
        }
    },
    "uncertainty": [
        {
            "name": "event_follows",
            "paths": ["awareness.follow_share"],
            "dist": "uniform",
            "low": 0.0,
            "high": 1.0,
            "source": "assumption",
        }
    ],
}


@pytest.mark.slow
def test_compare_gives_the_break_even_of_the_event_share() -> None:
    scenario = scenario_from_dict(copy.deepcopy(EVENT))
    comparison = compare(scenario, replications=300, seed=3, engine="cohort")
    row = comparison.breakeven.iloc[0]
    assert (row["strategy"], row["parameter"], row["wins"]) == (
        "koc",
        "event_follows",
        "above",
    )
    assert row["ci_low"] < 0.6 < row["ci_high"] and row["explained"] > 0.5
    (line,) = verdicts(comparison)
    assert "event_follows above 0.6" in line or "event_follows above 0.5" in line
    # the share does not touch the baseline (all its hosts are of the event's
    # kind): held at 0 it leaves the baseline's nights exactly as they were
    held = copy.deepcopy(EVENT)
    held["uncertainty"][0] = held["uncertainty"][0] | {
        "dist": "choice",
        "values": [0.0],
    }
    for key in ("low", "high"):
        del held["uncertainty"][0][key]
    again = compare(scenario_from_dict(held), replications=300, seed=3, engine="cohort")

    def nights(c: Any, name: str) -> np.ndarray:
        frame = c.result.campaign
        return frame[frame["strategy"] == name]["net_gmv"].to_numpy()

    assert (nights(again, "baseline") == nights(comparison, "baseline")).all()
    assert nights(again, "koc").mean() < nights(comparison, "koc").mean()


def test_a_strategy_with_hosts_of_its_own_shares_the_event_not_its_selection() -> None:
    data = copy.deepcopy(EVENT)
    data["awareness"] |= {"participants": 50, "finalists": 5, "selected": 1}
    data["strategies"]["koc"]["hosts"].append({"id": "k2", "kind": "KOC"})
    data["strategies"]["koc"]["streams"].append(
        {"id": "t", "host": "k2", "duration": 60, "products": ["p"]}
    )
    campaigns = scenario_from_dict(data).campaigns()
    assert campaigns["koc"].awareness is not None
    assert campaigns["koc"].awareness.push == 10.0
    data["awareness"]["selected"] = 2  # the baseline's own selection is checked
    with pytest.raises(Exception, match="awareness.selected: 2 selected hosts"):
        scenario_from_dict(data)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


PRIORS = """
[[uncertainty]]
name = "push"
paths = ["hosts.*.recommendation_rate"]
dist = "uniform"
low = 2.0
high = 6.0
source = "assumption"

[[uncertainty]]
name = "cost"
paths = ["costs.fixed"]
dist = "uniform"
low = 0.0
high = 100.0
source = "assumption"
"""


def small(folder: Path) -> Path:
    from helpers import SMALL

    return write(folder, "small.toml", SMALL.split("[strategies")[0] + PRIORS)


def test_a_sweep_does_not_draw_the_priors_it_sets(tmp_path: Path) -> None:
    small(tmp_path)
    body = 'scenario = "small.toml"\n[[parameters]]\nname = "rate"\n'
    body += 'paths = ["hosts.h.recommendation_rate"]\nvalues = [3.0, 5.0]\n'
    plan = load_experiment(write(tmp_path, "sweep.toml", body))
    assert plan.priors_set == ["push"]
    assert [p["name"] for p in plan.base["uncertainty"]] == ["cost"]
    off = load_experiment(write(tmp_path, "off.toml", 'priors = "off"\n' + body))
    assert off.priors_set == ["push", "cost"] and off.base["uncertainty"] == []


@pytest.mark.slow
def test_sensitivity_can_vary_the_scenarios_priors(tmp_path: Path) -> None:
    small(tmp_path)
    body = 'scenario = "small.toml"\nfrom_uncertainty = true\nsamples = 8\n'
    body += 'replications = 2\noutputs = ["net_gmv"]\n'
    plan = load_sensitivity(write(tmp_path, "sens.toml", body))
    assert list(plan.points.columns) == ["push", "cost"]
    assert plan.points["push"].between(2.0, 6.0).all()
    assert plan.points["cost"].between(0.0, 100.0).all()
    found = run_sensitivity(plan, tmp_path / "out", LocalBackend(1))
    by = found.indices.set_index("parameter")
    assert by.loc["cost", "total"] == 0.0  # net GMV does not depend on fixed cost
    assert by.loc["push", "total"] > 0.5
    text = (tmp_path / "out" / "sensitivity.md").read_text()
    assert "vary by the scenario's priors" in text
    bad = write(tmp_path, "bad.toml", body + '[[parameters]]\nname = "x"\n')
    assert cli(["sensitivity", str(bad), "--out", str(tmp_path / "x")])[0] == 2


def cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.slow
def test_fixed_switches_the_priors_off(tmp_path: Path) -> None:
    from helpers import SMALL

    plain = write(tmp_path, "plain.toml", SMALL.split("[strategies")[0])
    priors = small(tmp_path)
    runs = {}
    for name, path, extra in (("plain", plain, []), ("fixed", priors, ["--fixed"])):
        out = tmp_path / name
        code, printed, _ = cli(
            ["run", str(path), "-n", "3", "--out", str(out), "--no-progress", *extra]
        )
        assert code == 0
        runs[name] = (pd.read_csv(out / "replications.csv"), printed, out)
    pd.testing.assert_frame_equal(runs["plain"][0], runs["fixed"][0])
    assert "switched off" in runs["fixed"][1]
    assert "switched off (`--fixed`)" in (runs["fixed"][2] / "report.md").read_text()


def test_the_kos101_files_carry_their_priors(tmp_path: Path) -> None:
    """mac_kos101.toml has a prior, with its source, on every assumption that
    matters, and the strategies file is what its script writes, with the same
    priors (so compare and optimize answer the same question)."""
    night = load_scenario(ROOT / "experiments" / "mac_kos101.toml")
    names = [p.name for p in night.uncertainty]
    assert names == [
        "turnout",
        "frequency",
        "memory",
        "push",
        "conversion",
        "purchase",
        "followers",
        "returns",
        "form",
        "event_follows",
    ]
    assert all(p.source for p in night.uncertainty)
    assert night.awareness is not None and night.awareness.own_kinds == ["KOS"]
    target = ROOT / "experiments" / "kos101_strategies.toml"
    strategies = load_scenario(target)
    # the strategies file extends the night: its baseline is the KOS team as set
    # there, with the same priors, and it is short
    assert strategies.uncertainty == night.uncertainty
    campaigns = strategies.campaigns()
    assert campaigns["kos_team"] == dataclasses.replace(
        night.campaigns()["baseline"], name="kos_team"
    )
    assert all(c.awareness is not None for c in campaigns.values())
    assert len(target.read_text().splitlines()) < 150
    # every alternative spends the KOS team's up-front budget
    from livesim.compare import budget

    spend = {name: budget(strategies, name) for name in campaigns}
    assert set(spend.values()) == {55_000.0}, spend


def test_break_even_resamples_whole_draws_and_needs_a_clear_slope() -> None:
    rng = np.random.default_rng(4)
    x = rng.uniform(0.0, 1.0, 100)
    d = 1000.0 * (x - 0.5) + rng.normal(0.0, 150.0, 100)
    once = break_even(d, x, seed=5)
    # the same draws simulated 4 times each: no more information about the line
    assert break_even(np.repeat(d, 4), np.repeat(x, 4), seed=5, inner=4) == (
        pytest.approx(once)
    )
    # noise alone has no break-even, however it crosses
    value, low, high, _ = break_even(rng.normal(0.0, 1.0, 100), x)
    assert np.isnan([value, low, high]).all()


def test_a_strategy_ahead_everywhere_is_said_to_be() -> None:
    from livesim.compare import breakeven_table
    from livesim.report.comparison import flips

    x = np.linspace(0.0, 1.0, 50)
    frames = [
        pd.DataFrame(
            {
                "strategy": name,
                "replication": np.arange(50),
                "net_gmv": gmv,
                "param.p": x,
            }
        )
        for name, gmv in (("a", 1e6 + 0 * x), ("b", 1.5e6 + 1e5 * x))
    ]
    # the second frame in the other order: pairs are matched by replication
    frames[1] = frames[1].iloc[::-1]
    table = breakeven_table(pd.concat(frames), ["a", "b"], ["p"])
    (row,) = table.to_dict(orient="records")
    assert np.isnan(row["breakeven"]) and row["ahead"] and row["explained"] > 0.99
    assert "at which b would fall behind a" in flips(table, "b", "a")


def test_experiments_see_the_priors_they_set_in_a_strategy_too(tmp_path: Path) -> None:
    from helpers import SMALL

    write(tmp_path, "small.toml", SMALL + PRIORS)
    body = 'scenario = "small.toml"\n[[parameters]]\nname = "rate"\n'
    body += 'paths = ["strategies.pushed.hosts.h.recommendation_rate"]\n'
    body += "values = [3.0, 5.0]\n"
    plan = load_experiment(write(tmp_path, "sweep.toml", body))
    assert plan.priors_set == ["push"]
    clash = 'scenario = "small.toml"\nfrom_uncertainty = true\n[fixed]\n'
    clash += '"costs.fixed" = 50.0\n'
    with pytest.raises(Exception, match="fixed: 'costs.fixed' writes the field"):
        load_sensitivity(write(tmp_path, "clash.toml", clash))
