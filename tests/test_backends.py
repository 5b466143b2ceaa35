"""Backends: local processes and a Dask cluster give the same experiment table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from livesim.backends import DaskBackend, LocalBackend, make_backend, run_jobs
from livesim.chunks import read_table, write_table
from livesim.cli import main
from livesim.errors import ConfigError
from livesim.sweep import load_experiment, run_sweep

EXPERIMENT = """
scenario = "teaching_tiny.toml"
replications = 6
chunk = 4
seed = 11
outputs = ["net_gmv", "orders", "roi"]
[[parameters]]
name = "push"
paths = ["hosts.*.recommendation_rate"]
values = [5.0, 20.0, 35.0]
"""


def experiment(tmp_path: Path) -> Path:
    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT)
    return path


@pytest.mark.slow
def test_dask_local_cluster_equals_local_processes(tmp_path: Path) -> None:
    from distributed import LocalCluster

    plan = load_experiment(experiment(tmp_path))
    one, _ = run_sweep(plan, tmp_path / "one", LocalBackend(1))
    two, _ = run_sweep(plan, tmp_path / "two", LocalBackend(2))
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        backend = DaskBackend(cluster.scheduler_address)
        assert backend.workers == 2
        try:
            on_dask, _ = run_sweep(plan, tmp_path / "dask", backend)
        finally:
            backend.close()
    assert len(one) == 3 * 6 * 2  # points x replications x strategies
    pd.testing.assert_frame_equal(one, two)
    pd.testing.assert_frame_equal(one, on_dask)
    # two chunks per point (4 + 2 replications), each its own file
    assert len(list((tmp_path / "dask" / "points").glob("*.chunk"))) == 6
    assert (tmp_path / "one" / "sweep.csv").read_text() == (
        tmp_path / "dask" / "sweep.csv"
    ).read_text()


def test_chunks_already_on_disk_are_not_run_again(tmp_path: Path) -> None:
    plan = load_experiment(experiment(tmp_path))
    out = tmp_path / "out"
    run_sweep(plan, out, LocalBackend(1))
    chunk = out / "points" / "point-00001-r00004.chunk"
    marked = read_table(chunk)
    marked["net_gmv"] = -1.0  # a whole chunk on disk is trusted, not recomputed
    write_table(chunk, marked)
    table, _ = run_sweep(plan, out, LocalBackend(1), resume=True)
    hit = (table["point"] == 1) & (table["replication"] >= 4)
    assert (table.loc[hit, "net_gmv"] == -1.0).all()
    assert (table.loc[~hit, "net_gmv"] >= 0).all()


def test_run_jobs_refuses_duplicate_keys(tmp_path: Path) -> None:
    from livesim.backends import scenario_jobs
    from livesim.scenario import load_scenario
    from livesim.scenarios import bundled_scenario

    scenario = load_scenario(bundled_scenario("teaching_tiny"))
    jobs = scenario_jobs("a", scenario, 2, 0, "agent", ["net_gmv"])
    with pytest.raises(ValueError, match="unique"):
        run_jobs(jobs + jobs, tmp_path, LocalBackend(1))


def test_backend_options_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("livesim.backends.CONNECT_TIMEOUT", 2)
    with pytest.raises(ConfigError, match="needs a scheduler address"):
        make_backend("dask", 1, None)
    with pytest.raises(ConfigError, match="only the dask backend"):
        make_backend("local", 1, "tcp://127.0.0.1:1")
    path = experiment(tmp_path)
    out = tmp_path / "out"
    args = ["sweep", str(path), "--out", str(out), "--backend", "dask"]
    assert main([*args, "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach a Dask scheduler" in err
    assert not out.exists()
