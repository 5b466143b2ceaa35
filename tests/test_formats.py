"""Tables as CSV and Parquet, and the column dictionary beside them.

Every command's tables are written in the format asked for (both by default), the
Parquet twin holds the same table as the CSV, and columns.json gives a unit and a
meaning for every column of every table in the folder; docs/columns.md is the
dictionary as printed by `python -m livesim.columns`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import ONE_STREAM_TOML
from livesim import bundled_scenario
from livesim.cli import main
from livesim.columns import markdown, undescribed
from livesim.formats import DICTIONARY

ROOT = Path(__file__).resolve().parent.parent
QUIET = ["-w", "1", "--no-progress"]


def tables_in(folder: Path, suffix: str) -> set[str]:
    return {p.stem for p in folder.glob(f"*{suffix}")}


def assert_twins(folder: Path, names: set[str]) -> None:
    """Each table has a CSV and a Parquet file with the same values."""
    assert names <= tables_in(folder, ".csv")
    assert names <= tables_in(folder, ".parquet")
    for name in names:
        csv = pd.read_csv(folder / f"{name}.csv")
        parquet = pd.read_parquet(folder / f"{name}.parquet")
        assert list(parquet.columns) == list(csv.columns), name
        assert len(parquet) == len(csv), name
        for column in csv.columns:
            a, b = csv[column], parquet[column]
            if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
                np.testing.assert_allclose(
                    a.to_numpy(float), b.to_numpy(float), rtol=1e-12, err_msg=column
                )
            else:
                same = a.fillna("").astype(str) == b.fillna("").astype(str)
                assert same.all(), (name, column)


def assert_described(folder: Path) -> None:
    """columns.json describes every column of every table in the folder."""
    dictionary = json.loads((folder / DICTIONARY).read_text())["tables"]
    for path in sorted(folder.glob("*.parquet")):
        columns = dictionary[path.stem]
        assert list(columns) == list(pd.read_parquet(path).columns), path.name
        missing = [k for k, v in columns.items() if not v["meaning"]]
        assert not missing, f"{path.name}: no meaning for {missing}"


def test_a_run_writes_every_table_twice_and_describes_every_column(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    path = ROOT / "experiments" / "teaching_tiny.toml"
    argv = ["run", str(path), "-n", "3", "--events", *QUIET, "--out", str(out)]
    assert main(argv) == 0
    names = {"replications", "summary", "timeseries", "events"}
    assert_twins(out, names)
    assert_described(out)
    # the event log, the largest table, is much smaller as Parquet
    assert (out / "events.parquet").stat().st_size < (
        0.5 * (out / "events.csv").stat().st_size
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert {f"{n}.parquet" for n in names} | {DICTIONARY} <= set(manifest["files"])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_format_chooses_the_files(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "s.toml").write_text(ONE_STREAM_TOML)
    out = tmp_path / "out"
    argv = ["run", str(tmp_path / "s.toml"), "-n", "2", *QUIET, "--out", str(out)]
    assert main([*argv, "--format", fmt]) == 0
    other = "parquet" if fmt == "csv" else "csv"
    assert tables_in(out, f".{fmt}") == {"replications", "summary", "timeseries"}
    assert not tables_in(out, f".{other}")
    assert (out / DICTIONARY).is_file() and (out / "report.html").is_file()


def test_an_unknown_format_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "s.toml").write_text(ONE_STREAM_TOML)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        main(["run", str(tmp_path / "s.toml"), "--format", "xlsx", "--out", str(out)])
    assert exc.value.code == 2
    assert "--format" in capsys.readouterr().err
    assert not out.exists()


def test_a_comparison_and_a_sweep_describe_their_tables(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    path = bundled_scenario("teaching_tiny")
    assert main(["compare", str(path), "-n", "4", *QUIET, "--out", str(out)]) == 0
    assert_twins(out, {"pairs", "strategies", "replications"})
    assert_described(out)
    (tmp_path / "swept.toml").write_text(ONE_STREAM_TOML)
    exp = tmp_path / "exp.toml"
    exp.write_text(
        'scenario = "swept.toml"\nreplications = 2\noutputs = ["net_gmv"]\n'
        '[[parameters]]\nname = "push"\npaths = ["hosts.*.recommendation_rate"]\n'
        "values = [5.0, 10.0]\n"
    )
    out = tmp_path / "sweep"
    assert main(["sweep", str(exp), *QUIET, "--out", str(out)]) == 0
    assert_twins(out, {"sweep", "points"})
    assert_described(out)
    push = json.loads((out / DICTIONARY).read_text())["tables"]["sweep"]["push"]
    assert "hosts.*.recommendation_rate" in push["meaning"]
    sens = tmp_path / "sens.toml"
    sens.write_text(
        'scenario = "swept.toml"\nreplications = 1\nsamples = 4\n'
        'outputs = ["net_gmv"]\n'
        '[[parameters]]\nname = "push"\npaths = ["hosts.*.recommendation_rate"]\n'
        "low = 5.0\nhigh = 10.0\n"
        '[[parameters]]\nname = "fixed"\npaths = ["costs.fixed"]\n'
        "low = 0.0\nhigh = 10.0\n"
    )
    out = tmp_path / "sens"
    assert main(["sensitivity", str(sens), *QUIET, "--out", str(out)]) == 0
    assert_twins(out, {"sensitivity", "sweep", "points"})
    assert_described(out)


def test_an_optimization_describes_its_tables(tmp_path: Path) -> None:
    from test_optimize import knapsack_config
    from test_optimize import write as write_config

    config = knapsack_config(replications=2, final_replications=2, finalists=2)
    path = write_config(tmp_path, config)
    out = tmp_path / "opt"
    assert main(["optimize", str(path), *QUIET, "--out", str(out)]) == 0
    assert_twins(out, {"candidates", "finalists"})
    assert_described(out)


def test_unknown_columns_are_found() -> None:
    assert undescribed({"t": ["net_gmv", "param.turnout", "no_such_column"]}) == [
        "t.no_such_column"
    ]


def test_the_docs_page_is_the_dictionary() -> None:
    page = (ROOT / "docs" / "columns.md").read_text()
    assert page == markdown(), "regenerate: python -m livesim.columns > docs/columns.md"
