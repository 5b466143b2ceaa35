"""Sweeps: designs, a known monotone effect, bad input, and resume after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from helpers import ONE_STREAM_TOML
from livesim.chunks import read_table
from livesim.cli import main
from livesim.sweep import Experiment, design_points

SCENARIO = ONE_STREAM_TOML


def write(tmp_path: Path, experiment: str) -> Path:
    (tmp_path / "swept.toml").write_text(SCENARIO)
    path = tmp_path / "exp.toml"
    path.write_text('scenario = "swept.toml"\n' + experiment)
    return path


def experiment(**design: Any) -> Experiment:
    return Experiment.model_validate(
        {
            "scenario": "x",
            "parameters": [
                {"name": "a", "paths": ["x.a"], "low": 0.0, "high": 1.0, "levels": 3},
                {"name": "b", "paths": ["x.b"], "low": 10.0, "high": 20.0},
                {"name": "c", "paths": ["x.c"], "values": [1.0, 2.0]},
            ],
            "design": design,
        }
    )


def test_designs() -> None:
    factorial = design_points(experiment(kind="factorial"))
    assert len(factorial) == 3 * 5 * 2  # levels of a and b (default 5), values of c
    assert sorted(factorial["a"].unique()) == [0.0, 0.5, 1.0]
    lhs = design_points(experiment(kind="latin_hypercube", points=8))
    assert len(lhs) == 16  # 8 samples x 2 listed values
    for name, low, high in (("a", 0.0, 1.0), ("b", 10.0, 20.0)):
        values = lhs[lhs["c"] == 1.0][name].to_numpy()
        # a Latin hypercube puts exactly one sample in each of the 8 strata
        strata = np.floor((values - low) / (high - low) * 8).astype(int)
        assert sorted(strata) == list(range(8))
    sobol = design_points(experiment(kind="sobol", points=8))
    assert len(sobol) == 16
    assert sobol["b"].between(10.0, 20.0).all()


@pytest.mark.slow
def test_a_known_monotone_effect_shows(tmp_path: Path) -> None:
    """More platform traffic, more viewers and orders at every step."""
    path = write(
        tmp_path,
        """
replications = 15
outputs = ["unique_viewers", "orders"]
[[parameters]]
name = "push"
paths = ["hosts.*.recommendation_rate"]
values = [5.0, 15.0, 45.0]
""",
    )
    out = tmp_path / "out"
    assert (
        main(["sweep", str(path), "--out", str(out), "-w", "1", "--no-progress"]) == 0
    )
    table = pd.read_csv(out / "sweep.csv")
    assert list(table.columns[:4]) == ["point", "push", "strategy", "replication"]
    assert len(table) == 3 * 15
    means = table.groupby("push")[["unique_viewers", "orders"]].mean()
    assert means["unique_viewers"].is_monotonic_increasing
    assert means["orders"].is_monotonic_increasing
    summary = pd.read_csv(out / "points.csv")
    low = summary[(summary["push"] == 5.0) & (summary["metric"] == "unique_viewers")]
    high = summary[(summary["push"] == 45.0) & (summary["metric"] == "unique_viewers")]
    assert low["ci_high"].iloc[0] < high["ci_low"].iloc[0]


def test_bad_experiments_get_one_line_each(tmp_path: Path, capsys: Any) -> None:
    path = write(
        tmp_path,
        """
outputs = ["net_gmv", "fame"]
[[parameters]]
name = "push"
paths = ["hosts.*.no_such_field_path.x"]
values = [1.0]
low = 1.0
""",
    )
    assert main(["sweep", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "values or low/high" in err
    path = write(
        tmp_path,
        """
outputs = ["net_gmv", "fame"]
[[parameters]]
name = "push"
paths = ["nowhere.x"]
values = [1.0]
""",
    )
    assert main(["sweep", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "'fame' is not a campaign metric" in err and "names no field" in err
    assert not (tmp_path / "o").exists()


RESUMABLE = """
replications = 30
chunk = 10
seed = 4
outputs = ["net_gmv", "orders"]
[[parameters]]
name = "push"
paths = ["hosts.*.recommendation_rate"]
low = 5.0
high = 40.0
levels = 8
"""


@pytest.mark.slow
def test_a_killed_sweep_resumed_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    path = write(tmp_path, RESUMABLE)
    whole = tmp_path / "whole"
    assert (
        main(["sweep", str(path), "--out", str(whole), "-w", "1", "--no-progress"]) == 0
    )
    killed = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "livesim.cli",
        "sweep",
        str(path),
        "--out",
        str(killed),
        "-w",
        "1",
        "--no-progress",
    ]
    proc = subprocess.Popen(command, env=dict(os.environ), start_new_session=True)
    points = killed / "points"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(points.glob("*.chunk"))) < 4:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list(points.glob("*.chunk")))
    assert 4 <= done < 24, "the sweep was not killed midway"  # 8 points x 3 chunks
    assert not (killed / "sweep.csv").exists()
    # every chunk on disk is whole: the kill never leaves a half-written chunk
    for finished in points.glob("*.chunk"):
        assert len(read_table(finished)) == 10
    resumed = ["sweep", str(path), "--out", str(killed), "-w", "1", "--no-progress"]
    assert main(resumed) == 2  # not empty: needs --resume
    assert main([*resumed, "--resume"]) == 0
    assert (killed / "sweep.csv").read_text() == (whole / "sweep.csv").read_text()
    assert (killed / "points.csv").read_text() == (whole / "points.csv").read_text()


def test_resume_refuses_another_experiment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        RESUMABLE.replace("levels = 8", "levels = 2").replace(
            "replications = 30", "replications = 2"
        ),
    )
    out = tmp_path / "out"
    assert (
        main(["sweep", str(path), "--out", str(out), "-w", "1", "--no-progress"]) == 0
    )
    path.write_text(path.read_text().replace("seed = 4", "seed = 5"))
    args = [
        "sweep",
        str(path),
        "--out",
        str(out),
        "-w",
        "1",
        "--no-progress",
        "--resume",
    ]
    assert main(args) == 2


# --------------------------------------------- the command line's -n and --seed

SMALL_SWEEP = """
replications = {n}
seed = {seed}
chunk = 2
outputs = ["net_gmv", "orders"]
[[parameters]]
name = "push"
paths = ["hosts.*.recommendation_rate"]
values = [5.0, 15.0]
"""


def test_replications_and_seed_options_stand_for_the_file_values(
    tmp_path: Path,
) -> None:
    """`-n 3 --seed 9` on a file saying 30 and 4 gives the tables of a file saying
    3 and 9."""
    written = write(tmp_path, SMALL_SWEEP.format(n=3, seed=9))
    base = ["-w", "1", "--no-progress"]
    assert main(["sweep", str(written), "--out", str(tmp_path / "a"), *base]) == 0
    other = tmp_path / "other"
    other.mkdir()
    path = write(other, SMALL_SWEEP.format(n=30, seed=4))
    flags = ["-n", "3", "--seed", "9"]
    assert main(["sweep", str(path), "--out", str(tmp_path / "b"), *base, *flags]) == 0
    a = pd.read_csv(tmp_path / "a" / "sweep.csv")
    b = pd.read_csv(tmp_path / "b" / "sweep.csv")
    assert len(b) == 2 * 3
    pd.testing.assert_frame_equal(a, b)


EXPERIMENT_FILES = {
    "sweep": "experiments/kos101_push_sweep.toml",
    "sensitivity": "experiments/kos101_sensitivity.toml",
    "optimize": "experiments/kos101_optimize.toml",
}


@pytest.mark.parametrize("command", sorted(EXPERIMENT_FILES))
@pytest.mark.parametrize(
    ("flag", "value", "field"),
    [("-n", "0", "replications"), ("--seed", "-1", "seed")],
)
def test_bad_replications_or_seed_are_refused_by_name(
    tmp_path: Path, capsys: Any, command: str, flag: str, value: str, field: str
) -> None:
    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "out"
    path = root / EXPERIMENT_FILES[command]
    assert main([command, str(path), flag, value, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"livesim: error: {field}: ") and value in err
    assert "Traceback" not in err
    assert not out.exists()


# --------------------------------------------------- whole numbers on dotted paths

FOLLOWERS = """
replications = 1
outputs = ["unique_viewers"]
[[parameters]]
name = "followers"
paths = ["hosts.h.followers"]
low = 1000.0
high = 4000.0
levels = 3
"""


def test_a_sweep_over_followers_rounds_them(tmp_path: Path) -> None:
    path = write(tmp_path, FOLLOWERS.replace("levels = 3", "levels = 4"))
    out = tmp_path / "out"
    assert (
        main(["sweep", str(path), "--out", str(out), "-w", "1", "--no-progress"]) == 0
    )
    table = pd.read_csv(out / "sweep.csv")
    assert sorted(table["followers"].unique()) == [1000, 2000, 3000, 4000]
    # 4 levels in 1000..4000 are whole already; 3 levels of 1000..4001 are not
    path = write(tmp_path, FOLLOWERS.replace("4000.0", "4001.0"))
    out = tmp_path / "out2"
    assert (
        main(["sweep", str(path), "--out", str(out), "-w", "1", "--no-progress"]) == 0
    )
    values = pd.read_csv(out / "sweep.csv")["followers"].unique()
    assert sorted(values) == [1000, 2500, 4001]  # 2500.5 rounded to even


def test_a_sensitivity_over_followers_rounds_them(tmp_path: Path) -> None:
    text = """
scenario = "swept.toml"
replications = 1
samples = 4
outputs = ["net_gmv"]
[[parameters]]
name = "followers"
paths = ["hosts.h.followers"]
low = 1000.0
high = 900000.0
[[parameters]]
name = "push"
paths = ["hosts.h.recommendation_rate"]
low = 2.0
high = 20.0
"""
    (tmp_path / "swept.toml").write_text(SCENARIO)
    path = tmp_path / "sens.toml"
    path.write_text(text)
    out = tmp_path / "out"
    argv = ["sensitivity", str(path), "--out", str(out), "-w", "1", "--no-progress"]
    assert main(argv) == 0
    values = pd.read_csv(out / "sweep.csv")["followers"].to_numpy()
    assert len(values) == 4 * (2 + 2)
    assert (values == np.round(values)).all() and (values > 1000).any()
