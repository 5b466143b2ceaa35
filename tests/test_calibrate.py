"""Calibration: known parameters are recovered within their reported noise range."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from helpers import build
from livesim import simulate
from livesim.calibrate import calibrate, parse_targets
from livesim.cli import main
from livesim.errors import ConfigError
from livesim.paths import set_path

TRUE_RATE = 20.0


#: A one-stream KOS scenario file whose platform rate is free (bounds 2-80).
CAL_TOML = """
name = "cal"
[[products]]
id = "p"
price = 100.0
[[hosts]]
id = "h"
kind = "KOS"
followers = 20000
recommendation_rate = 10.0
[[streams]]
id = "s"
host = "h"
duration = 60
products = ["p"]
[calibration]
replications = 20
[[calibration.free]]
name = "rate"
paths = ["hosts.*.recommendation_rate"]
low = 2.0
high = 80.0
"""


def _no_constants(name: str) -> None:
    raise ValueError(f"not valid JSON: {name}")


def scenario(rate: float = 8.0, **calibration: Any) -> Any:
    """A one-stream KOS scenario whose platform rate is free (bounds 2-80)."""
    spec = {
        "free": [
            {
                "name": "rate",
                "paths": ["hosts.*.recommendation_rate"],
                "low": 2.0,
                "high": 80.0,
            }
        ],
        "replications": 60,
    } | calibration
    return build(
        host={
            "id": "h",
            "kind": "KOS",
            "followers": 20000,
            "recommendation_rate": rate,
        },
        calibration=spec,
    )


@pytest.mark.slow
def test_calibration_recovers_a_known_rate() -> None:
    """Targets simulated at rate 20 on other seeds are matched by a fit starting at
    8, and 20 lies inside the reported noise range, which is narrow."""
    truth = simulate(scenario(TRUE_RATE), replications=200, seed=999).campaign
    target = float(truth["net_gmv"].median())
    result = calibrate(scenario(), targets={"gmv": target}, seed=1)
    row = result.parameters.iloc[0]
    assert result.converged
    assert row["range_low"] <= TRUE_RATE <= row["range_high"]
    assert row["range_high"] - row["range_low"] < 0.5 * TRUE_RATE
    fit = result.targets.iloc[0]
    assert fit["median_ci_low"] <= target <= fit["median_ci_high"]
    assert result.evaluations <= 30


@pytest.mark.slow
def test_two_parameters_from_two_targets() -> None:
    """Platform rate and purchase rate are both identified by viewers and orders."""
    free = [
        {
            "name": "rate",
            "paths": ["hosts.h.recommendation_rate"],
            "low": 2.0,
            "high": 80.0,
        },
        {"name": "buy", "paths": ["hosts.h.purchase_rate"], "low": 0.001, "high": 0.2},
    ]
    truth_scenario = build(
        host={
            "id": "h",
            "kind": "KOS",
            "followers": 20000,
            "recommendation_rate": TRUE_RATE,
            "purchase_rate": 0.03,
        },
        calibration={"free": free, "replications": 60},
    )
    # many replications: the target itself carries little noise
    truth = simulate(truth_scenario, replications=600, seed=7, workers=2).campaign
    targets = {m: float(truth[m].median()) for m in ("unique_viewers", "orders")}
    start = build(
        host={"id": "h", "kind": "KOS", "followers": 20000},
        calibration={"free": free, "replications": 60},
    )
    result = calibrate(start, targets=targets, seed=3)
    fitted = result.parameters.set_index("parameter")
    for name, true in (("rate", TRUE_RATE), ("buy", 0.03)):
        assert fitted.loc[name, "range_low"] <= true <= fitted.loc[name, "range_high"]


def test_paths_and_targets_are_checked() -> None:
    bad = {
        "free": [{"name": "x", "paths": ["hosts.*.no_such"], "low": 1.0, "high": 2.0}]
    }
    with pytest.raises(ConfigError) as info:
        calibrate(build(calibration=bad), targets={"gmv": 1.0, "glory": 2.0})
    text = "\n".join(info.value.errors)
    assert "'glory' is not a campaign metric" in text
    assert "no_such" in text
    with pytest.raises(ConfigError, match="names no free parameters"):
        calibrate(build(), targets={"gmv": 1.0})
    with pytest.raises(ConfigError, match="must be below high"):
        calibrate(
            scenario(
                free=[
                    {
                        "name": "r",
                        "paths": ["hosts.*.recommendation_rate"],
                        "low": 5.0,
                        "high": 1.0,
                    }
                ]
            ),
            targets={"gmv": 1.0},
        )
    with pytest.raises(ConfigError, match="METRIC=VALUE"):
        parse_targets(["gmv"])
    with pytest.raises(ConfigError, match="METRIC=VALUE"):
        parse_targets(["gmv=-3"])
    assert parse_targets(["gmv=5.88e6"]) == {"gmv": 5.88e6}


def test_set_path_by_id_and_wildcard() -> None:
    data = {"hosts": [{"id": "a", "x": 1}, {"id": "b", "x": 1}], "platform": {}}
    assert set_path(data, "hosts.b.x", 5.0) == 1
    assert data["hosts"][1]["x"] == 5.0 and data["hosts"][0]["x"] == 1
    assert set_path(data, "hosts.*.x", 7.0) == 2
    assert set_path(data, "platform.gpm_boost", 0.5) == 1
    assert set_path(data, "nothing.here", 1.0) == 0


@pytest.mark.slow
def test_cli_calibrate_writes_json(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "s.toml"
    path.write_text(CAL_TOML)
    out = tmp_path / "fit.json"
    code = main(
        [
            "calibrate",
            str(path),
            "--target",
            "gmv=20000",
            "--workers",
            "1",
            "--no-progress",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    record = json.loads(out.read_text(), parse_constant=_no_constants)
    assert record["parameters"][0]["parameter"] == "rate"
    assert abs(record["targets"][0]["residual"]) < 0.05
    assert "rate" in capsys.readouterr().out
    assert main(["calibrate", str(path), "--target", "fame=1"]) == 2
    # out of reach within the bounds: reported, exit code 1
    unreachable = ["calibrate", str(path), "--target", "gmv=1e9", "--no-progress"]
    assert main([*unreachable, "-w", "1"]) == 1
    captured = capsys.readouterr()
    assert "at its bound" in captured.out and "calibration failed" in captured.err


@pytest.mark.slow
def test_bundled_kos101_night_is_calibrated() -> None:
    """On seeds other than the calibration's, the median net GMV of the bundled
    scenario is within 5% of the reported 5.88 million RMB."""
    from livesim import bundled_scenario, load_scenario

    scenario = load_scenario(bundled_scenario())
    assert scenario.target_gmv == 5.88e6
    result = simulate(scenario, replications=100, seed=2027, workers=2)
    median = float(result.campaign["net_gmv"].median())
    assert abs(median / 5.88e6 - 1.0) < 0.05


@pytest.mark.slow
def test_whole_number_fields_are_rounded() -> None:
    """`followers` takes integers: the fit rounds it instead of failing."""
    free = [
        {
            "name": "fans",
            "paths": ["hosts.*.followers"],
            "low": 1000.0,
            "high": 200000.0,
        }
    ]
    start = build(
        host={"id": "h", "kind": "KOS", "followers": 5000, "recommendation_rate": 1.0},
        calibration={"free": free, "replications": 20},
    )
    truth = simulate(
        build(
            host={
                "id": "h",
                "kind": "KOS",
                "followers": 40000,
                "recommendation_rate": 1.0,
            }
        ),
        replications=20,
        seed=0,
    ).campaign
    result = calibrate(
        start, targets={"unique_viewers": float(truth["unique_viewers"].median())}
    )
    value = result.parameters["value"].iloc[0]
    assert value == round(value)
    assert result.converged


def test_a_path_through_a_list_of_names_names_no_field() -> None:
    bad = {
        "free": [
            {"name": "x", "paths": ["streams.s.products.p"], "low": 1.0, "high": 2.0}
        ]
    }
    with pytest.raises(ConfigError, match="names no field"):
        calibrate(build(calibration=bad), targets={"gmv": 1.0})


def test_cli_refuses_a_bad_out_path_before_fitting(tmp_path: Path, capsys: Any) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    code = main(["calibrate", "no_such.toml", "--out", str(blocker / "x.json")])
    assert code == 2
    scenario_path = tmp_path / "s.toml"
    scenario_path.write_text(CAL_TOML)
    code = main(
        [
            "calibrate",
            str(scenario_path),
            "--target",
            "gmv=1000",
            "--out",
            str(blocker / "x.json"),
        ]
    )
    assert code == 2
    assert "is a file, not a folder" in capsys.readouterr().err
