"""Bayesian calibration (ABC-SMC with pyabc) and posteriors that flow on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers import ONE_STREAM_TOML
from livesim.cli import main
from livesim.scenario import scenario_from_dict

pytest.importorskip("pyabc")

from livesim.bayes import calibrate_abc, read_posterior, with_posterior  # noqa: E402
from livesim.bayes.report import correlations, marginals  # noqa: E402

#: One KOS stream whose traffic is the platform push alone: viewers measure
#: `rate`, orders per viewer measure `buy`.
SCENARIO = (
    ONE_STREAM_TOML.replace('"swept"', '"recover"').replace(
        "duration = 60", "duration = 40"
    )
    + """
[[uncertainty]]
name = "rate"
paths = ["hosts.h.recommendation_rate"]
dist = "loguniform"
low = 2.0
high = 50.0
source = "test"

[[uncertainty]]
name = "buy"
paths = ["hosts.h.purchase_rate"]
dist = "lognormal"
median = 1.0
log_sd = 0.5
mode = "scale"
source = "test"

[[uncertainty]]
name = "form"
paths = ["hosts.h.trust_rate"]
dist = "lognormal"
median = 1.0
log_sd = 0.1
mode = "scale"
scope = "host"
source = "test: a host-scope prior, drawn as a nuisance"

[calibration]
method = "abc"
free = ["rate", "buy"]
population = 100
generations = 5
"""
)

FAST = {"population": 100, "generations": 5}


def held(value: float) -> dict[str, Any]:
    return {
        "dist": "choice",
        "values": [value],
        "median": None,
        "log_sd": None,
        "low": None,
        "high": None,
    }


def scenario(text: str) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(text)


def clean(prior: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in prior.items() if v is not None}


def built(targets: dict[str, Any], **calibration: Any) -> Any:
    data = scenario(SCENARIO)
    data["uncertainty"] = [clean(p) for p in data["uncertainty"]]
    data["calibration"] = {**data["calibration"], "targets": targets, **calibration}
    return scenario_from_dict(data)


def recovery_scenario() -> tuple[Any, dict[str, float]]:
    """The scenario calibrated to the viewers and orders of one replication at
    known values (seed 7; the calibration's own seed is 0), and those values."""
    from livesim import simulate

    truth = {"rate": 15.0, "buy": 1.2}
    data = scenario(SCENARIO)
    data["uncertainty"] = [
        clean(p | held(truth[p["name"]])) if p["name"] in truth else clean(p)
        for p in data["uncertainty"]
    ]
    observed = simulate(scenario_from_dict(data), replications=1, seed=7).campaign
    targets = {
        "unique_viewers": {
            "value": float(observed["unique_viewers"][0]),
            "rel_sd": 0.02,
        },
        "orders": {"value": float(observed["orders"][0]), "rel_sd": 0.05},
    }
    return built(targets), truth


@pytest.fixture(scope="module")
def recovered(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Any, dict[str, float], Path]:
    """A calibration of `recovery_scenario`."""
    start, truth = recovery_scenario()
    out = tmp_path_factory.mktemp("recovered")
    return calibrate_abc(start, out, workers=1), truth, out


@pytest.mark.slow
def test_known_parameters_are_recovered(recovered: Any) -> None:
    result, truth, out = recovered
    table = marginals(result).set_index("parameter")
    for name, value in truth.items():
        row = table.loc[name]
        assert row["ci90_low"] <= value <= row["ci90_high"], (name, row.to_dict())
        assert row["width_vs_prior"] < 0.6, name  # the data narrowed the prior
    posterior = pd.read_csv(out / "posterior.csv")
    assert list(posterior.columns) == ["rate", "buy", "weight"]
    assert posterior["weight"].sum() == pytest.approx(1.0)
    assert result.reached
    gens = pd.read_csv(out / "generations.csv")
    assert len(gens) == 5 and gens["temperature"].iloc[-1] == pytest.approx(1.0)
    assert (gens["temperature"].diff().dropna() < 0).all()
    for name in ("report.md", "report.html", "abc.db", "predictive_check.csv"):
        assert (out / name).is_file(), name
    from test_formats import assert_described, assert_twins

    assert_twins(out, {"posterior", "generations", "predictive_check"})
    assert_described(out)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert (
        "Summary" in html and "credible interval" in html and "data:image/png" in html
    )
    check = pd.read_csv(out / "predictive_check.csv")
    assert (check["tail_probability"] > 0.05).all()


@pytest.mark.slow
def test_an_identifiable_pair_is_not_a_ridge(recovered: Any) -> None:
    result, _, _ = recovered
    r = float(correlations(result)["correlation"].iloc[0])
    assert abs(r) < 0.5, r


@pytest.mark.slow
def test_two_parameters_seen_only_as_a_product_form_a_ridge(tmp_path: Path) -> None:
    """Net GMV alone sees the platform rate times the price (orders follow the
    viewers): the posterior of the two is a ridge, log rate + log price ~ const."""
    data = scenario(SCENARIO)
    data["uncertainty"] = [clean(p) for p in data["uncertainty"][1:]] + [
        {
            "name": "rate",
            "paths": ["hosts.h.recommendation_rate"],
            "dist": "lognormal",
            "median": 10.0,
            "log_sd": 0.5,
            "source": "test",
        },
        {
            "name": "price",
            "paths": ["products.p.price"],
            "dist": "lognormal",
            "median": 100.0,
            "log_sd": 0.5,
            "source": "test",
        },
    ]
    data["calibration"] = {
        **data["calibration"],
        "free": ["rate", "price"],
        "targets": {"net_gmv": {"value": 5000.0, "rel_sd": 0.02}},
    }
    result = calibrate_abc(scenario_from_dict(data), tmp_path, workers=1)
    r = float(correlations(result)["correlation"].iloc[0])
    assert r < -0.7, r  # only rate x price is seen: a ridge on the log scale
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "form a ridge" in text


@pytest.mark.slow
def test_credible_intervals_cover_truths_drawn_from_the_prior(tmp_path: Path) -> None:
    """12 truths of `rate` drawn from its prior, each calibrated to one
    replication's viewers: the 90% intervals must cover at a rate consistent with
    90%. Binomial bound: with n = 12 and p = 0.9, P(covered <= 8) = 0.026, so
    fewer than 9 fails at under 3% if the intervals are right."""
    rng = np.random.default_rng(11)
    data = scenario(SCENARIO)
    prior = stats.loguniform(2.0, 50.0)
    truths = prior.ppf(rng.uniform(size=12))
    covered = 0
    for k, truth in enumerate(truths):
        d = scenario(SCENARIO)
        d["uncertainty"] = [
            clean(p | held(float(truth))) if p["name"] == "rate" else clean(p)
            for p in d["uncertainty"]
        ]
        from livesim import simulate

        seen = simulate(scenario_from_dict(d), replications=1, seed=100 + k).campaign
        cal = {
            "free": ["rate"],
            "targets": {
                "unique_viewers": {
                    "value": float(seen["unique_viewers"][0]),
                    "rel_sd": 0.02,
                }
            },
            "population": 60,
            "generations": 4,
            "seed": k,
        }
        data["uncertainty"] = [clean(p) for p in scenario(SCENARIO)["uncertainty"]]
        data["calibration"] = {**scenario(SCENARIO)["calibration"], **cal}
        result = calibrate_abc(scenario_from_dict(data), tmp_path / str(k), workers=1)
        row = marginals(result).iloc[0]
        covered += int(row["ci90_low"] <= truth <= row["ci90_high"])
    assert stats.binom.cdf(covered, len(truths), 0.9) > 0.03 or covered >= 9, covered


# ------------------------------------------------------------------ posteriors


@pytest.mark.slow
def test_a_posterior_round_trips_into_run(recovered: Any, tmp_path: Path) -> None:
    _, _, out = recovered
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    post = out / "posterior.csv"
    argv = [str(path), "-n", "12", "--posterior", str(post), "--no-progress"]
    assert main(["run", *argv, "--out", str(tmp_path / "a"), "-w", "2"]) == 0
    assert main(["run", *argv, "--out", str(tmp_path / "b"), "-w", "1"]) == 0
    a = (tmp_path / "a" / "replications.csv").read_bytes()
    assert a == (tmp_path / "b" / "replications.csv").read_bytes()
    rows = pd.read_csv(tmp_path / "a" / "replications.csv")
    particles = pd.read_csv(post)
    for value in rows["param.rate"]:  # every draw is a particle of the posterior
        assert np.isclose(particles["rate"], value, rtol=0, atol=1e-12).any()
    import json

    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["posterior"]["sha256"] == read_posterior(post).sha256
    assert "posterior" in manifest["distributions_cover"]


def test_every_strategy_draws_the_same_particle(tmp_path: Path) -> None:
    from livesim import simulate

    data = scenario(SCENARIO)
    data["uncertainty"] = [clean(p) for p in data["uncertainty"]]
    data["strategies"] = {
        "more": {
            "hosts": [
                {"id": "h", "kind": "KOS", "followers": 0, "recommendation_rate": 20.0}
            ]
        }
    }
    post = tmp_path / "posterior.csv"
    post.write_text("rate,buy,weight\n5,1.0,0.25\n9,0.8,0.25\n20,1.3,0.5\n")
    fitted = with_posterior(scenario_from_dict(data), post)
    rows = simulate(fitted, replications=30, seed=3).replications
    wide = rows.pivot(index="replication", columns="strategy", values="param.buy")
    assert (wide["baseline"] == wide["more"]).all()
    assert set(wide["baseline"]) == {1.0, 0.8, 1.3}
    share = (wide["baseline"] == 1.3).mean()
    assert 0.25 < share < 0.8  # weight 0.5 of 30 draws


# ------------------------------------------------------------------ bad input


def bad(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def write(tmp_path: Path, calibration: str, extra: str = "") -> Path:
    text = SCENARIO.split("[calibration]")[0] + extra + "[calibration]\n" + calibration
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    return path


TARGETS = "[calibration.targets]\norders = { value = 50.0, rel_sd = 0.05 }\n"


@pytest.mark.parametrize(
    ("calibration", "needle"),
    [
        (
            'method = "abc"\nfree = ["nope"]\n' + TARGETS,
            "'nope' is not an [[uncertainty]] entry",
        ),
        ('method = "abc"\nfree = ["form"]\n' + TARGETS, "scope 'host'"),
        (
            'method = "abc"\nfree = ["rate"]\n[calibration.targets]\nsales = 3.0\n',
            "calibration.targets.sales",
        ),
        (
            'method = "abc"\nfree = ["rate"]\n[calibration.targets]\n'
            "orders = { value = 5.0, rel_sd = 0.0 }\n",
            "rel_sd",
        ),
        (
            'method = "abc"\nfree = ["rate"]\nobserved = "obs.csv"\n',
            "unknown column 'sales'",
        ),
        (
            'method = "abc"\nfree = ["rate"]\nobserved = "ids.csv"\n',
            "stream 'zz' is not a stream",
        ),
        ('method = "abc"\nfree = ["rate"]\nobserved = "none.csv"\n', "no such file"),
    ],
)
def test_bad_calibrations_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], calibration: str, needle: str
) -> None:
    (tmp_path / "obs.csv").write_text("stream,orders,sales\ns,50,3\n")
    (tmp_path / "ids.csv").write_text("stream,orders\nzz,50\n")
    path = write(tmp_path, calibration)
    err = bad(capsys, ["calibrate", str(path), "--out", str(tmp_path / "out")])
    assert needle in err, err
    assert not (tmp_path / "out").exists()  # nothing written


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("rate,nope,weight\n5,1,1\n", "column 'nope' is not an [[uncertainty]] entry"),
        ("form,weight\n1.0,1\n", "host-scope prior"),
        ("rate,weight\n500,1\n", "outside its prior's support"),
        ("rate\n5\n", "needs a 'weight' column"),
        ("rate,weight\n5,0.3\n", "sum to 1"),
        ("rate,weight\nx,1\n", "values must be finite numbers"),
    ],
)
def test_bad_posteriors_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, needle: str
) -> None:
    path = write(tmp_path, 'free = ["rate"]\n' + TARGETS)
    post = tmp_path / "posterior.csv"
    post.write_text(content)
    out = tmp_path / "out"
    err = bad(capsys, ["run", str(path), "--posterior", str(post), "--out", str(out)])
    assert needle in err, err
    assert not out.exists()


# ------------------------------------------------------------------ resume


@pytest.mark.slow
def test_a_killed_calibration_resumes_from_its_database(tmp_path: Path) -> None:
    import sqlite3

    path = write(
        tmp_path,
        'method = "abc"\nfree = ["rate", "buy"]\npopulation = 60\ngenerations = 4\n'
        + TARGETS.replace("orders", "unique_viewers").replace("50.0", "500.0"),
    )
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "livesim.cli",
        "calibrate",
        str(path),
        "--out",
        str(out),
        "-w",
        "1",
    ]
    process = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("generation 2:"):
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait()
    with sqlite3.connect(out / "abc.db") as db:
        before = db.execute(
            "select t, epsilon from populations where t >= 0 order by t"
        ).fetchall()
    assert len(before) >= 2
    assert not (out / "posterior.csv").exists()
    done = subprocess.run(
        [*cmd, "--resume"], capture_output=True, text=True, check=True
    ).stdout
    # the kept generations are not run again: the first line is the next one
    lines = [x for x in done.splitlines() if x.startswith("generation ")]
    assert lines and lines[0].startswith(f"generation {len(before) + 1}:"), done
    gens = pd.read_csv(out / "generations.csv")
    assert list(gens["generation"]) == list(range(1, len(gens) + 1))
    kept = gens["temperature"].iloc[: len(before)].to_numpy()
    assert kept == pytest.approx([eps for _, eps in before])
    assert gens["temperature"].iloc[-1] == pytest.approx(1.0)


def test_resume_refuses_another_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "abc.db").write_bytes(b"")
    (out / "abc_request.json").write_text('{"scenario_sha256": "x"}')
    path = write(tmp_path, 'method = "abc"\nfree = ["rate"]\n' + TARGETS)
    err = bad(capsys, ["calibrate", str(path), "--out", str(out), "--resume"])
    assert "made with another" in err


@pytest.mark.slow
def test_abc_runs_on_a_dask_cluster(tmp_path: Path) -> None:
    """pyabc's Dask sampler on the project's Dask backend: a full calibration,
    each simulation as on local processes (same seed per particle)."""
    distributed = pytest.importorskip("distributed")
    path = write(
        tmp_path,
        'method = "abc"\nfree = ["rate"]\npopulation = 40\ngenerations = 3\n'
        + TARGETS.replace("orders", "unique_viewers").replace("50.0", "500.0"),
    )
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        dask = ["--backend", "dask", "--scheduler", cluster.scheduler_address]
        out = tmp_path / "out"
        assert main(["calibrate", str(path), "--out", str(out), *dask]) == 0
    gens = pd.read_csv(out / "generations.csv")
    assert gens["temperature"].iloc[-1] == pytest.approx(1.0)
    row = marginals_of(out)
    assert row["ci90_low"] < row["ci90_high"]


def marginals_of(out: Path) -> dict[str, Any]:
    import json

    record = json.loads((out / "calibration.json").read_text(encoding="utf-8"))
    return dict(record["marginals"][0])


# ------------------------------------------------------------------ KOS101

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def test_the_bundled_kos101_calibration_is_a_joint_posterior(tmp_path: Path) -> None:
    """The bundled night calibrates turnout, push and conversion jointly to the
    reported 5.88 million with a 1% error (its rounding and what it may leave out)."""
    from livesim import bundled_scenario, load_scenario
    from livesim.bayes.abc import prepare_abc

    request = prepare_abc(load_scenario(bundled_scenario()), tmp_path)
    assert [p.name for p in request.free] == ["turnout", "push", "conversion"]
    assert all(p.scope == "campaign" for p in request.free)
    assert request.observations.names == ("net_gmv",)
    assert request.observations.values.tolist() == [5.88e6]
    assert np.allclose(request.observations.sd, [58_800.0])
    assert request.engine == "cohort"


def test_the_shipped_kos101_posterior_drives_the_strategies() -> None:
    """experiments/mac_kos101_posterior.csv (the calibration's output) loads into
    the strategies file, and every strategy of a night draws the same particle."""
    from livesim import load_scenario, simulate

    path = EXPERIMENTS / "mac_kos101_posterior.csv"
    particles = pd.read_csv(path)
    assert list(particles.columns) == ["turnout", "push", "conversion", "weight"]
    assert np.isclose(particles["weight"].sum(), 1.0)
    fitted = with_posterior(load_scenario(EXPERIMENTS / "kos101_strategies.toml"), path)
    rows = simulate(fitted, replications=3, seed=5, engine="cohort").replications
    for name in ["turnout", "push", "conversion"]:
        draws = rows.groupby(["replication", "strategy"])[f"param.{name}"].first()
        wide = draws.unstack("strategy")
        assert wide.nunique(axis=1).eq(1).all()  # the same particle for each strategy
        for value in wide.iloc[:, 0]:
            assert np.isclose(particles[name], value, rtol=0, atol=1e-12).any()
