"""Sensitivity: Sobol' indices with known values, a null parameter, a dominant one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import ONE_STREAM_TOML
from livesim.cli import main
from livesim.sensitivity import (
    SensitivityExperiment,
    indices_with_ci,
    load_sensitivity,
    run_sensitivity,
    saltelli_points,
    sobol_table,
)

SCENARIO = ONE_STREAM_TOML

EXPERIMENT = """
scenario = "sensed.toml"
replications = 4
samples = 16
seed = 3
outputs = ["net_gmv", "conversion_rate", "roi"]

[[parameters]]
name = "push"                       # dominant: traffic scales GMV
paths = ["hosts.*.recommendation_rate"]
low = 2.0
high = 40.0

[[parameters]]
name = "fixed_cost"                 # no effect on net GMV or conversion
paths = ["costs.fixed"]
low = 0.0
high = 20000.0

[[parameters]]
name = "purchase"                   # a small effect
paths = ["hosts.h.purchase_rate"]
low = 0.028
high = 0.032
"""


def write(tmp_path: Path, text: str = EXPERIMENT) -> Path:
    (tmp_path / "sensed.toml").write_text(SCENARIO)
    path = tmp_path / "sens.toml"
    path.write_text(text)
    return path


def test_indices_of_a_linear_function_match_the_closed_form() -> None:
    # f = 2 x1 + x2 + 0 x3 with uniform inputs: S_i = a_i^2 / sum a^2 = 0.8, 0.2, 0
    # and, with no interactions, ST = S1; this also checks the A, B, AB layout
    exp = SensitivityExperiment.model_validate(
        {
            "scenario": "x",
            "samples": 1024,
            "parameters": [
                {"name": n, "paths": [f"x.{n}"], "low": 0.0, "high": 1.0}
                for n in ("x1", "x2", "x3")
            ],
        }
    )
    x = saltelli_points(exp).to_numpy()
    assert x.shape == (1024 * 5, 3)
    f = 2 * x[:, 0] + x[:, 1]
    got = indices_with_ci(f, 3, 1024, 0.95, 200, seed=1)
    np.testing.assert_allclose(got["first_order"], [0.8, 0.2, 0.0], atol=0.05)
    np.testing.assert_allclose(got["total"], [0.8, 0.2, 0.0], atol=0.05)
    assert got["total_low"][0] <= 0.8 <= got["total_high"][0]
    assert got["total"][2] == 0.0 and got["total_low"][2] == got["total_high"][2] == 0


@pytest.mark.slow
def test_null_parameter_covers_zero_and_the_dominant_ranks_first(
    tmp_path: Path,
) -> None:
    plan = load_sensitivity(write(tmp_path))
    state = np.random.get_state()  # noqa: NPY002
    found = run_sensitivity(plan, tmp_path / "out")
    after = np.random.get_state()  # noqa: NPY002
    assert state[1].tolist() == after[1].tolist(), "the global generator was changed"
    idx = found.indices.set_index(["output", "parameter"])
    for output in ("net_gmv", "conversion_rate"):
        null = idx.loc[(output, "fixed_cost")]
        assert null["total_low"] <= 0.0 <= null["total_high"]
        assert null["first_low"] <= 0.0 <= null["first_high"]
        push = idx.loc[(output, "push")]
        assert push["rank"] == 1
        assert push["total_low"] > 0.0  # clearly not null
    # the fixed cost matters for ROI, which pays it
    assert idx.loc[("roi", "fixed_cost"), "total_low"] > 0.0
    out = tmp_path / "out"
    for name in ("sensitivity.csv", "sensitivity.md", "sensitivity.png", "sweep.csv"):
        assert (out / name).is_file()
    # the indices are reproducible, bootstrap intervals included
    again = sobol_table(plan, found.table)
    pd.testing.assert_frame_equal(found.indices, again)


def test_bad_sensitivity_files_get_one_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    path = write(tmp_path, EXPERIMENT.replace("samples = 16", "samples = 12"))
    assert main(["sensitivity", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "samples" in err[0] and "power of 2" in err[0]
    assert "12" in err[0]
    listed = EXPERIMENT.replace("low = 0.028\nhigh = 0.032", "values = [0.03]")
    path = write(tmp_path, listed)
    assert main(["sensitivity", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "['purchase']" in err[0] and "low and high" in err[0]
    path = write(tmp_path, EXPERIMENT + "\n[design]\nkind = 'sobol'\n")
    assert main(["sensitivity", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "design" in err[0] and "samples" in err[0]
    assert not out.exists()


def test_an_output_no_parameter_moves_is_said_so(tmp_path: Path) -> None:
    """A cost moves ROI but not net GMV: the report says net GMV does not vary,
    not that the cost drives it, and its intervals are the point, not NaN."""
    text = """
scenario = "sensed.toml"
replications = 2
samples = 8
outputs = ["net_gmv", "roi"]

[[parameters]]
name = "fixed_cost"
paths = ["costs.fixed"]
low = 0.0
high = 20000.0
"""
    plan = load_sensitivity(write(tmp_path, text))
    found = run_sensitivity(plan, tmp_path / "out")
    gmv = found.indices.set_index("output").loc["net_gmv"]
    assert gmv["total"] == 0.0 and gmv["total_low"] == gmv["total_high"] == 0.0
    md = (tmp_path / "out" / "sensitivity.md").read_text()
    assert "`net_gmv`: it does not vary over these ranges" in md
    assert "`roi`: `fixed_cost` drives it most" in md
    assert "nan" not in md.split("## Figure")[0]
