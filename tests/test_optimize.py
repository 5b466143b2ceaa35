"""Budget optimization: the known best of an enumerable knapsack, each objective, bad
configs, the candidate set, racing and resume.

The knapsack test builds hosts whose expected net GMV per stream has a closed form
(constant platform arrivals, no feedback or word of mouth, trust and intent fixed,
exponential dwell, a flash sale over the whole stream: the hazard is constant,
`theory.p_buy_window`), so the expected net GMV of an allocation is a sum and the
best allocation is a small knapsack brute-forced here. Numbers are chosen so the
best is unique with a 14% margin (1,515 RMB) over the runner-up: with common random
numbers a screening difference has a standard error of about 160 RMB (30
replications; per replication, two Poisson order counts of about 45 and 65 at 70
RMB), 9 standard errors, and a final one about 90 (100 replications), 17; with
random seeds such a test would fail far less than once in a million runs. Runs use
fixed seeds, so CI is deterministic.
"""

from __future__ import annotations

import itertools
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from livesim import bundled_scenario, load_scenario
from livesim.backends import LocalBackend
from livesim.chunks import read_table
from livesim.compare import budget
from livesim.errors import ConfigError
from livesim.model import theory
from livesim.optimize import (
    OptimizeConfig,
    load_optimization,
    objective_interval,
    objective_label,
    regrets,
    run_optimization,
    schedule,
    summary_lines,
)

MINUTES = 30  # every stream's length
PRICE = 100.0

SCENARIO = f"""
name = "shop"
[[products]]
id = "p"
price = {PRICE}
return_rate = 0.0
units_mean = 1.0
[[products]]
id = "lux"
price = 10000.0
return_rate = 0.0
units_mean = 1.0
[[hosts]]
id = "h"
kind = "KOS"
[[streams]]
id = "s"
host = "h"
duration = 60
products = ["p"]
[platform]
gpm_boost = 0.0
intent_platform = 1.0
price_sensitivity_sigma = 0.0
"""

#: Host fields that make the purchase hazard constant and the traffic a constant
#: platform rate (docs/model.md section 9): the closed-form host.
QUIET = {
    "followers": 0,
    "share_prob": 0.0,
    "comment_rate": 0.0,
    "question_rate": 0.0,
    "delayed_purchase_prob": 0.0,
    "carryover_share": 0.0,
    "initial_trust": 1.0,
    "trust_ceiling": 1.0,
    "intent_sigma": 0.0,
    "dwell_distribution": "exponential",
}

# name, kind, fee (RMB), arrivals/min, purchase hazard/min, mean dwell (min), price
# sensitivity: option a has the best GMV per RMB, yet two of it lose to one a and
# two b (greedy by ratio fails), and the 30% flash sale pays for every option.
KNAPSACK = [
    ("a", "KOS", 4000.0, 6.0, 0.2, 1.0, 3.0),
    ("b", "KOC", 3000.0, 4.0, 0.2, 1.0, 3.0),
    ("c", "KOL", 5000.0, 3.0, 0.1, 2.0, 3.0),
]
BUDGET, MIN_SPEND, MAX_HOSTS, DEPTHS = 10_000.0, 5_000.0, 3, (0.0, 0.3)


def host_table(rate: float, hazard: float, dwell: float, sensitivity: float) -> str:
    values = QUIET | {
        "recommendation_rate": rate,
        "purchase_rate": hazard,
        "dwell_mean_minutes": dwell,
        "price_sensitivity": sensitivity,
    }
    return "\n".join(f"{k} = {_toml(v)}" for k, v in values.items())


def _toml(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def knapsack_config(**top: Any) -> str:
    head = {
        "scenario": "shop.toml",
        "budget": BUDGET,
        "min_spend": MIN_SPEND,
        "max_hosts": MAX_HOSTS,
        "replications": 30,
        "final_replications": 100,
        "engine": "agent",
        "chunk": 10,
    } | top
    text = "\n".join(f"{k} = {_toml(v)}" for k, v in head.items())
    text += f"""
[stream]
duration = {MINUTES}
products = ["p"]
[promotion]
start = 0
duration = {MINUTES}
depths = {list(DEPTHS)}
"""
    for name, kind, fee, rate, hazard, dwell, eps in KNAPSACK:
        text += f"""
[[options]]
name = "{name}"
kind = "{kind}"
fee = {fee}
[options.host]
{host_table(rate, hazard, dwell, eps)}
"""
    return text


def stream_gmv(rate: float, hazard: float, dwell: float, eps: float, d: float) -> float:
    """Expected net GMV of one stream: arrivals x P(buy) x price after discount."""
    boosted = hazard * (1.0 - d) ** (-eps)  # (1 - d)^(-eps), no urgency
    p_buy = theory.p_buy_window(boosted, dwell, None, MINUTES)
    return rate * MINUTES * p_buy * PRICE * (1.0 - d)


def brute_force() -> dict[tuple[tuple[int, ...], float], float]:
    """Expected net GMV of every feasible (counts, depth), from the closed form."""
    ranges = [range(int(BUDGET // fee) + 1) for _, _, fee, *_ in KNAPSACK]
    out = {}
    for counts in itertools.product(*ranges):
        cost = sum(n * o[2] for n, o in zip(counts, KNAPSACK, strict=True))
        if not (0 < sum(counts) <= MAX_HOSTS and MIN_SPEND <= cost <= BUDGET):
            continue
        for d in DEPTHS:
            out[(counts, d)] = sum(
                n * stream_gmv(*o[3:], d) for n, o in zip(counts, KNAPSACK, strict=True)
            )
    return out


def write(tmp_path: Path, config: str, name: str = "opt.toml") -> Path:
    (tmp_path / "shop.toml").write_text(SCENARIO)
    path = tmp_path / name
    path.write_text(config)
    return path


def test_candidates_are_the_feasible_set_and_valid_scenarios(tmp_path: Path) -> None:
    plan = load_optimization(write(tmp_path, knapsack_config()))
    expected = brute_force()
    got = {(c.counts, c.depth) for c in plan.candidates}
    assert got == set(expected)
    assert len(plan.candidates) == len(expected)  # no duplicates
    for c in plan.candidates:
        scenario = c.scenario
        assert budget(scenario, scenario.baseline) == pytest.approx(c.cost)
        assert MIN_SPEND <= c.cost <= BUDGET
        assert len(scenario.hosts) == len(scenario.streams) == sum(c.counts) <= 3
        assert scenario.strategies == {} and scenario.calibration is None
        kinds = [h.kind for h in scenario.hosts]
        assert kinds == [
            k
            for (_, k, *_), n in zip(KNAPSACK, c.counts, strict=True)
            for _ in range(n)
        ]
        for stream in scenario.streams:
            assert stream.duration == MINUTES
            discounts = [p.discount for p in stream.promotions]
            assert discounts == ([c.depth] if c.depth > 0 else [])
    # host k of an option keeps its stream id in every candidate (common random
    # numbers in the agent engine)
    ids = {s.id for c in plan.candidates for s in c.scenario.streams}
    assert ids == {
        "a01_live",
        "a02_live",
        "b01_live",
        "b02_live",
        "b03_live",
        "c01_live",
        "c02_live",
    }


@pytest.mark.slow
def test_finds_the_known_best_allocation(tmp_path: Path) -> None:
    expected = brute_force()
    ranked = sorted(expected, key=expected.__getitem__, reverse=True)
    best, second = expected[ranked[0]], expected[ranked[1]]
    assert ranked[0] == ((1, 2, 0), 0.3)
    assert best > 1.14 * second  # unique, with a margin far above the noise
    plan = load_optimization(write(tmp_path, knapsack_config()))
    out = tmp_path / "out"
    result = run_optimization(plan, out, LocalBackend(2))
    winner = plan.candidates[result.winner]
    assert (winner.counts, winner.depth) == ranked[0]
    assert winner.cost <= BUDGET
    # the screening table lists exactly the enumerable feasible set
    table = pd.read_csv(out / "candidates.csv")
    listed = {((r.a, r.b, r.c), r.depth) for r in table.itertuples()}
    assert listed == set(expected) and len(table) == len(expected)
    assert (table["replications"] == 30).all()
    assert table["cost"].between(MIN_SPEND, BUDGET).all()
    # the best by the closed form is among the screening's top three (finalists)
    top = table.sort_values("screening_rank").head(3)
    top_values = sorted(
        (expected[((r.a, r.b, r.c), r.depth)] for r in top.itertuples()), reverse=True
    )
    assert top_values[0] == best
    # common random numbers: b01 and b02 stream alike in every candidate that buys
    # them (agent engine, independent streams), so 3 b minus 2 b is b03's net GMV
    # alone: never negative, with an sd of 1/sqrt(3) = 0.58 of the 3-b total's;
    # independent draws would give sqrt(5/3) = 1.29 (0.9 is passed by chance
    # about 1% of the time with CRN on random seeds, an F(29, 29) tail)
    two, three = (_screening_rows(out, table, (0, n, 0), 0.3) for n in (2, 3))
    extra = three["net_gmv"].to_numpy() - two["net_gmv"].to_numpy()
    assert (extra >= 0).all()
    assert extra.std(ddof=1) < 0.9 * three["net_gmv"].std(ddof=1)
    # the winner's fresh-seed mean matches the closed form (99.9% t bound)
    finalists = pd.read_csv(out / "finalists.csv")
    assert list(finalists["winner"]) == [True, False, False]
    row = finalists.iloc[0]
    assert row["replications"] == 100
    half = (row["objective_ci_high"] - row["objective_ci_low"]) / 2
    z = stats.t.ppf(0.9995, 99) / stats.t.ppf(0.975, 99)
    assert abs(row["objective"] - best) <= z * half
    # paired differences to the winner: zero for itself, clearly positive otherwise
    assert row["diff_objective"] == 0.0
    assert (finalists["diff_objective_ci_low"].iloc[1:] > 0).all()
    for name in ("optimize.md", "optimize.png", "experiment.json"):
        assert (out / name).is_file()
    assert "**Winner: 1 a + 2 b, flash sale 30%**" in (out / "optimize.md").read_text()
    assert any("winner" in line for line in summary_lines(result))


def _screening_rows(
    out: Path, table: pd.DataFrame, counts: tuple[int, ...], depth: float
) -> pd.DataFrame:
    """A candidate's screening rows, read from its chunk files, by replication."""
    hit = (table[["a", "b", "c"]].apply(tuple, axis=1) == counts) & (
        table["depth"] == depth
    )
    (index,) = table.loc[hit, "candidate"]
    files = sorted((out / "points").glob(f"cand-{index:05d}-r*.chunk"))
    assert len(files) == 3  # 30 replications in chunks of 10
    rows = pd.concat([read_table(f) for f in files], ignore_index=True)
    return rows.sort_values("replication").reset_index(drop=True)


# ------------------------------------------------------- objectives: risky vs safe

# One host within the budget: `safe` sells many cheap items (net GMV about 5,000,
# narrow), `risky` one luxury item now and then (mean about 10,000, zero in a third
# of replications), `cheap` costs a tenth and sells little (the best return).
RISKY = [
    ("cheap", 50.0, 1.0, 0.5, "p"),
    ("safe", 500.0, 5.0, 0.5, "p"),
    ("risky", 1000.0, 5.0, 0.0067, "lux"),
]
WINNERS = {
    "mean_net_gmv": "risky",
    "mean_roi": "cheap",
    "p_target": "safe",
    "quantile": "safe",
    "cvar": "safe",  # risky's worst tenth of nights sell nothing
    "expected_regret": "risky",  # over a fixed set it ranks as the mean does
}


def risky_config(objective: str, **top: Any) -> str:
    head = {
        "scenario": "shop.toml",
        "budget": 1000.0,
        "max_hosts": 1,
        "objective": objective,
        "target": 4000.0,
        "quantile": 0.1,
        "replications": 40,
        "finalists": 2,
        "final_replications": 200,
        "engine": "agent",
        "seed": 3,
    } | top
    text = "\n".join(f"{k} = {_toml(v)}" for k, v in head.items())
    text += f'\n[stream]\nduration = {MINUTES}\nproducts = ["p"]\n'
    for name, fee, rate, hazard, product in RISKY:
        text += f"""
[[options]]
name = "{name}"
kind = "KOS"
fee = {fee}
max_count = 1
stream = {{ products = ["{product}"] }}
[options.host]
commission_rate = 0.1
{host_table(rate, hazard, 1.0, 1.0)}
"""
    return text


@pytest.mark.slow
@pytest.mark.parametrize("objective", list(WINNERS))
def test_each_objective_picks_its_winner(tmp_path: Path, objective: str) -> None:
    plan = load_optimization(write(tmp_path, risky_config(objective)))
    assert len(plan.candidates) == 3
    result = run_optimization(plan, tmp_path / "out", LocalBackend(1))
    winner = plan.candidates[result.winner]
    names = [name for (name, *_), n in zip(RISKY, winner.counts, strict=True) if n]
    assert names == [WINNERS[objective]]
    row = result.finalists.iloc[0]
    assert row["objective_ci_low"] <= row["objective"] <= row["objective_ci_high"]
    # the runner-up is clearly worse on the objective, on the same fresh numbers
    # (a regret is better lower: winner minus runner-up is negative)
    if objective == "expected_regret":
        assert result.finalists["diff_objective_ci_high"].iloc[1] < 0
    else:
        assert result.finalists["diff_objective_ci_low"].iloc[1] > 0
    # over the finalists' fresh nights, exactly one is best each night
    assert result.finalists["p_best"].sum() == pytest.approx(1.0)
    assert (result.finalists["expected_regret"] >= 0).all()


def test_objective_intervals_on_known_samples() -> None:
    rows = pd.DataFrame(
        {"net_gmv": np.arange(1.0, 101.0), "roi": np.r_[np.full(99, 2.0), np.nan]}
    )

    def config(objective: str) -> OptimizeConfig:
        return OptimizeConfig.model_validate(
            {
                "scenario": "x",
                "budget": 1.0,
                "objective": objective,
                "quantile": 0.1,
                "stream": {"duration": 10, "products": ["p"]},
                "options": [{"name": "k", "kind": "KOS", "fee": 1.0}],
            }
        )

    mean, low, high = objective_interval(rows, config("mean_net_gmv"), None)
    assert mean == 50.5 and low < 50.5 < high
    assert high - low == pytest.approx(
        2 * stats.t.ppf(0.975, 99) * rows["net_gmv"].std() / 10
    )
    assert objective_interval(rows, config("mean_roi"), None)[0] == 2.0  # NaN left out
    p, low, high = objective_interval(rows, config("p_target"), 91.0)
    exact = stats.binomtest(10, 100).proportion_ci(0.95, method="exact")
    assert (p, low, high) == (0.1, exact.low, exact.high)
    q, low, high = objective_interval(rows, config("quantile"), None)
    assert q == pytest.approx(10.9)  # np.quantile's linear rule
    assert 3 <= low < q < high <= 18  # order statistics around the 10th value
    cvar, low, high = objective_interval(rows, config("cvar"), None)
    assert cvar == 5.5  # the mean of the worst tenth: 1..10
    assert low < cvar < high < q


def test_regrets_on_known_nights() -> None:
    """Regret = the night's best minus one's own, on the nights both ran; the share
    of being best splits ties; the ranking by expected regret is the mean's."""
    rows = {
        0: pd.DataFrame({"replication": [0, 1, 2, 3], "net_gmv": [5.0, 1.0, 4.0, 9.0]}),
        1: pd.DataFrame({"replication": [2, 1, 0], "net_gmv": [4.0, 3.0, 2.0]}),
    }
    got = regrets(rows, [0, 1])  # night 3 is not common: left out
    assert got[0][0].tolist() == [0.0, 2.0, 0.0]
    assert got[1][0].tolist() == [3.0, 0.0, 0.0]
    assert got[0][1].tolist() == [1.0, 0.0, 0.5]  # night 2 is a tie
    assert got[1][1].tolist() == [0.0, 1.0, 0.5]
    config = OptimizeConfig.model_validate(
        {
            "scenario": "x",
            "budget": 1.0,
            "objective": "expected_regret",
            "stream": {"duration": 10, "products": ["p"]},
            "options": [{"name": "k", "kind": "KOS", "fee": 1.0}],
        }
    )
    value, low, high = objective_interval(rows[0], config, None, True, got[0][0])
    assert value == pytest.approx(2.0 / 3.0) and low < value < high
    assert objective_label(config, None).startswith("expected regret")


def test_racing_schedule_halves_and_grows() -> None:
    def config(**racing: Any) -> OptimizeConfig:
        return OptimizeConfig.model_validate(
            {
                "scenario": "x",
                "budget": 1.0,
                "search": "racing",
                "racing": racing,
                "replications": 10,
                "finalists": 3,
                "stream": {"duration": 10, "products": ["p"]},
                "options": [{"name": "k", "kind": "KOS", "fee": 1.0}],
            }
        )

    assert schedule(config(), 100) == [(100, 10), (50, 20), (25, 40), (13, 80)]
    assert schedule(config(max_replications=30), 40) == [(40, 10), (20, 20), (10, 30)]
    assert schedule(config(keep=0.25, growth=3.0), 64) == [(64, 10), (16, 30), (4, 80)]
    assert schedule(config(), 3) == [(3, 10)]


# ------------------------------------------------------------------ bad configs

BAD = """
scenario = "shop.toml"
budget = 1000.0
min_spend = 2000.0
objective = "p_target"
final_seed = 0
colour = "red"
[stream]
duration = 30
products = ["p", "nope"]
[[options]]
name = "k"
kind = "KOS"
fee = 100.0
min_count = 5
max_count = 2
[options.host]
fee = 7.0
purchase_rate = -1.0
[[options]]
name = "k"
kind = "KOF"
fee = 0.0
"""


def test_bad_configs_get_one_line_each(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_optimization(write(tmp_path, BAD.replace('colour = "red"\n', "")))
    lines = caught.value.errors
    expected = [
        "min_spend: 2000 is above budget 1000",
        "target: objective 'p_target' needs a target",
        "final_seed: 0 equals seed",
        "stream.products: 'nope' is not a product of the scenario",
        "options[0].min_count: 5 is above max_count 2",
        "options[0].host.fee: set by the option itself (options[0].fee)",
        "options[0].host.purchase_rate: Input should be greater than or equal to 0",
        "options[1].name: 'k' is used twice",
        "options[1].max_count: needed when the option costs nothing",
    ]
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), line
        assert "\n" not in line
    assert "(got -1.0)" in lines[6]
    # schema errors (unknown keys, types, ranges) come first, all at once
    with pytest.raises(ConfigError) as caught:
        load_optimization(
            write(tmp_path, BAD.replace("budget = 1000.0", "budget = -1"))
        )
    assert caught.value.errors == [
        "budget: Input should be greater than 0 (got -1)",
        "colour: unknown key (a misspelling?) (got 'red')",
    ]


def test_too_many_or_no_candidates_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^budget: no allocation of at least one"):
        load_optimization(
            write(tmp_path, knapsack_config(budget=1000.0, min_spend=0.0))
        )
    big = knapsack_config(max_hosts=500, budget=1e6, min_spend=0.0)
    with pytest.raises(
        ConfigError, match=r"^options: more than 5,000 candidates .*past the limit"
    ):
        load_optimization(write(tmp_path, big))
    # an option that cannot stream as configured is named, with the scenario's rule
    short = knapsack_config().replace(
        'kind = "KOC"', 'kind = "KOC"\nstream = { duration = 20 }'
    )
    with pytest.raises(ConfigError) as caught:
        load_optimization(write(tmp_path, short))
    assert caught.value.errors == [
        "options[1] (b), as streams[0].promotions[0]: start 0 + duration 30 runs "
        "past the stream's 20 minutes"
    ]


def test_work_past_the_limit_needs_force(tmp_path: Path) -> None:
    heavy = knapsack_config(replications=100_000, engine="agent")
    plan = load_optimization(write(tmp_path, heavy))
    with pytest.raises(ConfigError, match=r"^replications: the search needs about"):
        run_optimization(plan, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written before the check


# ------------------------------------------------------------------ resume


@pytest.mark.slow
def test_a_resumed_racing_run_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    config = risky_config(
        "mean_net_gmv",
        search="racing",
        replications=20,
        finalists=1,
        final_replications=40,
        chunk=10,
    )
    plan = load_optimization(write(tmp_path, config))
    assert schedule(plan.config, 3) == [(3, 20), (2, 40)]
    whole = tmp_path / "whole"
    first = run_optimization(plan, whole, LocalBackend(1))
    chunks = sorted(p.name for p in (whole / "points").glob("*.chunk"))
    # round 1: 3 x 2 chunks; round 2: 2 survivors x 2 more; final: 1 x 4
    assert len(chunks) == 3 * 2 + 2 * 2 + 4
    assert sum(name.startswith("final-") for name in chunks) == 4
    killed = tmp_path / "killed"
    shutil.copytree(whole, killed)
    for name in ("candidates.csv", "finalists.csv", "optimize.md", "optimize.png"):
        (killed / name).unlink()
    # lose a chunk of every stage: racing rounds 1 and 2, and the final
    first_half = ("-r00000.chunk", "-r00010.chunk")  # replications 0-19
    round_one = [n for n in chunks if n.startswith("cand-") and n.endswith(first_half)]
    round_two = [n for n in chunks if n.startswith("cand-") and n not in round_one]
    final = [n for n in chunks if n.startswith("final-")]
    assert (len(round_one), len(round_two), len(final)) == (6, 4, 4)
    lost = [round_one[-1], round_two[0], final[1]]
    for name in lost:
        (killed / "points" / name).unlink()
    with pytest.raises(ConfigError, match="--resume"):
        run_optimization(plan, killed, LocalBackend(1))
    again = run_optimization(plan, killed, LocalBackend(1), resume=True)
    assert sorted(p.name for p in (killed / "points").glob("*.chunk")) == chunks
    for name in ("candidates.csv", "finalists.csv"):
        assert (killed / name).read_text() == (whole / name).read_text()
    assert again.winner == first.winner
    table = pd.read_csv(whole / "candidates.csv")
    assert sorted(table["replications"]) == [20, 40, 40]
    assert math.isclose(table["round"].max(), 2)


def test_the_kos101_example_plans() -> None:
    """experiments/kos101_optimize.toml loads; its size is what its comments say."""
    from livesim.optimize import choose_plan_engine

    root = Path(__file__).resolve().parents[1]
    plan = load_optimization(root / "experiments" / "kos101_optimize.toml")
    assert len(plan.candidates) == 42
    assert schedule(plan.config, 42) == [(42, 6), (11, 15)]
    assert choose_plan_engine(plan) == "cohort"
    team = next(c for c in plan.candidates if c.counts == (11, 0, 0) and c.depth)
    campaign = team.scenario.campaigns()[team.scenario.baseline]
    bundled = load_scenario(bundled_scenario("mac_kos101")).campaigns()["baseline"]
    # the audition's audience and the push belong to the event: the same phase,
    # without the KOS team's selection funnel; the KOS have no traffic of their own
    assert bundled.awareness is not None and campaign.awareness is not None
    assert {h.recommendation_rate for h in campaign.hosts.values()} == {0.0}
    for field in ("turnout", "push", "own_kinds", "follow_share"):
        assert getattr(campaign.awareness, field) == getattr(bundled.awareness, field)
    assert bundled.awareness.push == 21.30
    # and so do the priors: the contested share among them
    assert "event_follows" in {p.name for p in team.scenario.uncertainty}
    assert bundled.awareness.selected == 11 and campaign.awareness.selected is None
    assert budget(team.scenario, team.scenario.baseline) == 55_000.0
    assert all(50_000.0 <= c.cost <= 55_000.0 for c in plan.candidates)


def test_the_command_line_refuses_a_bad_file_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from livesim.cli import main

    out = tmp_path / "o"
    path = write(tmp_path, BAD.replace('colour = "red"\n', ""))
    assert main(["optimize", str(path), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 9 and all(e.startswith("livesim: error: ") for e in err)
    assert not out.exists()
