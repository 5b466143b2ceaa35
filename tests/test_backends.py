"""Backends: local processes and a Dask cluster give the same tables, for every
command (run, compare, calibrate and the experiments), resumed or not; the
pre-flight runs once per experiment.

The Dask tests start a local cluster of two worker processes themselves
(`distributed.LocalCluster`, the `[dask]` extra of the dev install): CI needs
nothing running beforehand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from helpers import SMALL
from livesim.backends import DaskBackend, LocalBackend, make_backend, run_jobs
from livesim.checkpoint import decode
from livesim.chunks import read_table, write_table
from livesim.cli import main
from livesim.errors import ConfigError
from livesim.sweep import load_experiment, run_sweep

#: A scenario whose platform rate is free: `livesim calibrate` fits it.
CALIBRATED = """\
name = "cal"
[[products]]
id = "p"
price = 100.0
[[hosts]]
id = "h"
kind = "KOS"
followers = 0
recommendation_rate = 10.0
[[streams]]
id = "s"
host = "h"
duration = 30
products = ["p"]
[calibration]
replications = 10
[[calibration.free]]
name = "rate"
paths = ["hosts.*.recommendation_rate"]
low = 2.0
high = 80.0
"""

TABLES = ("replications.csv", "summary.csv", "timeseries.csv")
QUIET = ("--no-progress",)

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


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a local Dask cluster of two worker processes."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address


def write(folder: Path, text: str, name: str = "scenario.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def tables(folder: Path, names: Sequence[str] = TABLES) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in names}


@pytest.mark.slow
def test_dask_local_cluster_equals_local_processes(
    tmp_path: Path, scheduler: str
) -> None:
    plan = load_experiment(experiment(tmp_path))
    one, _ = run_sweep(plan, tmp_path / "one", LocalBackend(1))
    two, _ = run_sweep(plan, tmp_path / "two", LocalBackend(2))
    backend = DaskBackend(scheduler)
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


@pytest.mark.parametrize("command", ["run", "compare", "calibrate"])
def test_run_compare_and_calibrate_check_the_backend_options(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    monkeypatch.setattr("livesim.backends.CONNECT_TIMEOUT", 2)
    text = CALIBRATED if command == "calibrate" else SMALL
    out = tmp_path / ("fit.json" if command == "calibrate" else "out")
    argv = [command, str(write(tmp_path, text)), *QUIET, "--out", str(out)]
    argv += ["--target", "gmv=6000"] if command == "calibrate" else ["-n", "3"]
    unreachable = ["--backend", "dask", "--scheduler", "tcp://127.0.0.1:9"]
    for extra, message in [
        (["--backend", "dask"], "needs a scheduler address"),
        (["--scheduler", "tcp://127.0.0.1:9"], "only the dask backend"),
        (unreachable, "cannot reach a Dask scheduler"),
        # the request is checked before the cluster is asked
        (
            [*unreachable, "--seed", "-1"],
            "--seed" if command == "calibrate" else "seed",
        ),
    ]:
        assert main([*argv, *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
        assert "cannot reach" not in err or extra == unreachable
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.toml"]


# ------------------------------------------------ run, compare, calibrate on dask


@pytest.mark.slow
@pytest.mark.parametrize("command", ["run", "compare"])
def test_run_and_compare_on_dask_equal_local_processes(
    tmp_path: Path, scheduler: str, command: str
) -> None:
    scenario = write(tmp_path, SMALL)
    argv = [command, str(scenario), "-n", "9", "--seed", "4", *QUIET]
    dask = ["--backend", "dask", "--scheduler", scheduler]
    assert main([*argv, "-w", "1", "--out", str(tmp_path / "one")]) == 0
    assert main([*argv, "-w", "2", "--out", str(tmp_path / "two")]) == 0
    assert main([*argv, *dask, "--out", str(tmp_path / "dask")]) == 0
    names = TABLES + (("pairs.csv", "strategies.csv") if command == "compare" else ())
    assert tables(tmp_path / "one", names) == tables(tmp_path / "dask", names)
    assert tables(tmp_path / "one", names) == tables(tmp_path / "two", names)
    manifest = (tmp_path / "dask" / "manifest.json").read_text()
    assert '"backend": "dask"' in manifest


@pytest.mark.slow
def test_priors_on_dask_equal_local_processes(tmp_path: Path, scheduler: str) -> None:
    """The parameter draws come from streams keyed by seed, draw and prior: the
    two-level tables are the same on Dask."""
    priors = (
        '\n[[uncertainty]]\nname = "push"\npaths = ["hosts.*.recommendation_rate"]\n'
        'dist = "lognormal"\nmedian = 1.0\nlog_sd = 0.3\nmode = "scale"\n'
        'source = "test"\n'
    )
    scenario = write(tmp_path, SMALL + priors)
    argv = ["compare", str(scenario), "-n", "8", "--inner", "2", "--seed", "4", *QUIET]
    dask = ["--backend", "dask", "--scheduler", scheduler]
    assert main([*argv, "-w", "2", "--out", str(tmp_path / "local")]) == 0
    assert main([*argv, *dask, "--out", str(tmp_path / "dask")]) == 0
    names = TABLES + ("pairs.csv", "strategies.csv")
    assert tables(tmp_path / "local", names) == tables(tmp_path / "dask", names)
    header = (tmp_path / "dask" / "replications.csv").read_text().splitlines()[0]
    assert header.endswith("param.push")


@pytest.mark.slow
def test_calibrate_on_dask_equals_local_processes(
    tmp_path: Path, scheduler: str, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write(tmp_path, CALIBRATED)
    argv = ["calibrate", str(scenario), "--target", "gmv=6000", *QUIET]
    dask = ["--backend", "dask", "--scheduler", scheduler]
    assert main([*argv, "-w", "1", "--out", str(tmp_path / "one.json")]) == 0
    assert main([*argv, *dask, "--out", str(tmp_path / "dask.json")]) == 0
    one = (tmp_path / "one.json").read_bytes()
    assert one == (tmp_path / "dask.json").read_bytes()
    assert b'"evaluations"' in one and b'"rate"' in one
    assert capsys.readouterr().out.count("parameter(s) fitted") == 2


@pytest.mark.slow
def test_a_run_interrupted_locally_resumes_on_dask_to_the_same_tables(
    tmp_path: Path,
    scheduler: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import livesim.runner as runner

    scenario = write(tmp_path, SMALL)
    argv = ["run", str(scenario), "-n", "10", "--seed", "2", *QUIET]
    assert main([*argv, "-w", "1", "--out", str(tmp_path / "whole")]) == 0
    real, calls = runner.run_task, {"n": 0}

    def flaky(task: Any) -> Any:  # one worker: the chunks run in this process
        calls["n"] += 1
        if calls["n"] > 6:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(runner, "run_task", flaky)
    cut = tmp_path / "cut"
    assert main([*argv, "-w", "1", "--out", str(cut)]) == 130
    monkeypatch.undo()
    partial = tmp_path / ".cut.partial"
    kept = sorted(partial.glob("*.chunk"))
    assert sum(len(decode(path)[2]) for path in kept) == 6
    capsys.readouterr()
    dask = ["--backend", "dask", "--scheduler", scheduler]
    assert main([*argv, *dask, "--out", str(cut), "--resume"]) == 0
    assert tables(cut) == tables(tmp_path / "whole")
    assert not partial.exists()


# ------------------------------------------------------------------ one backend


class Recording:
    """A backend that runs items in this process and records every map."""

    name = "recording"
    workers = 1

    def __init__(self) -> None:
        self.maps: list[int] = []

    def map_unordered(
        self, fn: Callable[[Any], Any], items: Sequence[Any]
    ) -> Iterator[tuple[int, Any]]:
        self.maps.append(len(items))
        return LocalBackend(1).map_unordered(fn, items)

    def close(self) -> None:
        pass


def test_simulate_compare_and_calibrate_run_on_the_backend_given(
    tmp_path: Path,
) -> None:
    from livesim import load_scenario, simulate
    from livesim.calibrate import calibrate
    from livesim.compare import compare

    scenario = load_scenario(write(tmp_path, SMALL))
    backend = Recording()
    given = simulate(scenario, 4, seed=1, backend=backend)
    assert backend.maps == [8]  # 4 replications x 2 strategies, one per chunk
    pd.testing.assert_frame_equal(
        given.replications, simulate(scenario, 4, seed=1).replications
    )
    assert given.manifest["backend"] == "recording"
    compare(scenario, replications=3, backend=backend)
    assert backend.maps[1:] == [6]  # one map per scenario file
    fitted = load_scenario(write(tmp_path, CALIBRATED, "cal.toml"))
    result = calibrate(fitted, targets={"gmv": 6000}, backend=backend)
    assert len(backend.maps) == 2 + result.evaluations  # one map each


@pytest.mark.slow
def test_a_kept_local_backend_reuses_its_processes() -> None:
    from livesim.app.compute import _ping  # a worker's process id
    from livesim.backends import chunk_jobs, run_job
    from livesim.scenario import load_scenario
    from livesim.scenarios import bundled_scenario

    scenario = load_scenario(bundled_scenario("teaching_tiny"))
    jobs = chunk_jobs("k", scenario, 4, 0, "cohort", ["net_gmv"], 1)
    expected = dict(LocalBackend(1).map_unordered(run_job, jobs))
    backend = LocalBackend(2, keep=True, start_method="spawn")
    try:
        got = dict(backend.map_unordered(run_job, jobs))
        pids = {pid for _, pid in backend.map_unordered(_ping, range(8))}
        pids |= {pid for _, pid in backend.map_unordered(_ping, range(8))}
    finally:
        backend.close()
    assert 1 <= len(pids) <= 2  # three maps, the same two processes
    for i, frame in expected.items():
        pd.testing.assert_frame_equal(frame, got[i])


# ------------------------------------------------------------- one pre-flight


def test_the_preflight_runs_once_per_experiment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import livesim.engines
    import livesim.runner

    calls = {"request": 0, "engine": 0}
    real_problems = livesim.runner.request_problems
    real_choose = livesim.engines.choose_engine

    def problems(*args: Any) -> list[str]:
        calls["request"] += 1
        return real_problems(*args)

    def choose(*args: Any) -> str:
        calls["engine"] += 1
        return real_choose(*args)

    monkeypatch.setattr(livesim.runner, "request_problems", problems)
    monkeypatch.setattr(livesim.engines, "choose_engine", choose)
    plan = load_experiment(experiment(tmp_path))
    table, _ = run_sweep(plan, tmp_path / "out", LocalBackend(1))
    assert len(list((tmp_path / "out" / "points").glob("*.chunk"))) == 6
    # 3 points x 2 chunks: the request once, the engine once for all
    assert calls == {"request": 1, "engine": 1}
    assert len(table) == 3 * 6 * 2


@pytest.mark.parametrize("command", ["run", "compare", "calibrate"])
def test_run_compare_and_calibrate_check_their_request_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    import livesim.runner

    calls = {"n": 0}
    real = livesim.runner.request_problems

    def problems(*args: Any) -> list[str]:
        calls["n"] += 1
        return real(*args)

    monkeypatch.setattr(livesim.runner, "request_problems", problems)
    text = CALIBRATED if command == "calibrate" else SMALL
    argv = [command, str(write(tmp_path, text)), *QUIET, "-w", "1"]
    if command == "calibrate":
        argv += ["--target", "gmv=6000"]
    else:
        argv += ["-n", "3", "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    assert calls["n"] == 1  # (calibrate: not again for each evaluation)
