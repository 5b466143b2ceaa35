"""livesim from Python: one function per command, with the command's defaults.

Each function takes what its command takes (a scenario or experiment as a path, a
bundled name or a `Scenario`) and returns tables or a result object instead of
printing; `write_outputs` writes the same files and report as the command line.
Work runs on all cores with a progress bar unless told otherwise (`workers`,
`progress`), on local processes or a Dask cluster (`backend="dask"`,
`scheduler=...`). docs/python.md walks through every function.

>>> from livesim.api import run
>>> result = run("teaching_tiny", replications=6, workers=1, progress=False)
>>> list(result.headline().columns)[:3]
['strategy', 'median_net_gmv', 'median_ci_low']
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from livesim.backends import Backend
    from livesim.bayes.abc import AbcResult
    from livesim.calibrate import CalibrationResult
    from livesim.compare import Comparison
    from livesim.optimize import OptimizeResult
    from livesim.results import SimulationResult
    from livesim.scenario import Scenario
    from livesim.sensitivity import Sensitivity


def scenario_path(name: str | Path) -> Path:
    """A scenario file, or the file of a bundled scenario of that name."""
    from livesim.errors import ConfigError
    from livesim.scenarios import bundled_scenario

    path = Path(name)
    if path.is_file():
        return path
    try:
        if path.name != str(name):  # a path, not a bundled scenario's name
            raise FileNotFoundError(name)
        return bundled_scenario(str(name).removesuffix(".toml"))
    except FileNotFoundError:
        raise ConfigError(
            f"scenario: {str(name)!r} is neither a file nor a bundled scenario"
        ) from None


def prepare_scenario(
    scenario: str | Path | Scenario,
    fixed: bool = False,
    posterior: str | Path | None = None,
) -> Scenario:
    """The scenario to run: loaded if a path or bundled name; with `fixed` its
    `[[uncertainty]]` priors switched off (simulation noise only), or with
    `posterior` some of them drawn from a calibration's posterior.csv."""
    from livesim.errors import ConfigError
    from livesim.scenario import Scenario, load_scenario

    loaded = (
        scenario
        if isinstance(scenario, Scenario)
        else load_scenario(scenario_path(scenario))
    )
    if posterior is not None:
        if fixed:
            raise ConfigError("--posterior: drop --fixed (it switches the priors off)")
        from livesim.bayes.posterior_file import with_posterior

        return with_posterior(loaded, posterior)
    if fixed and loaded.uncertainty:
        return loaded.model_copy(update={"uncertainty": []})
    return loaded


def cores(workers: int | None) -> int:
    """Local worker processes: as many as asked, else one per core."""
    return workers or os.cpu_count() or 1


@contextlib.contextmanager
def backend_named(
    backend: str | Backend = "local",
    workers: int | None = None,
    scheduler: str | None = None,
) -> Iterator[Backend]:
    """A backend by name ("local": `workers` processes, default one per core;
    "dask": the cluster at `scheduler`), closed afterwards; a `Backend` object is
    used as given and left open."""
    from livesim.backends import make_backend

    if not isinstance(backend, str):
        yield backend
        return
    made = make_backend(backend, cores(workers), scheduler)
    try:
        yield made
    finally:
        made.close()


def run(
    scenario: str | Path | Scenario | None = None,
    replications: int = 20,
    seed: int = 0,
    *,
    workers: int | None = None,
    engine: str = "auto",
    strategies: list[str] | None = None,
    events: bool = False,
    inner: int = 1,
    fixed: bool = False,
    posterior: str | Path | None = None,
    progress: bool = True,
    backend: str | Backend = "local",
    scheduler: str | None = None,
    force: bool = False,
) -> SimulationResult:
    """`livesim run`: every strategy's replications (default: the bundled KOS101
    night), and for a scenario with priors also the noise-only run its report
    shows. The same scenario and seed give the same tables on any backend."""
    from livesim.runner import execute_with_noise_only, preflight
    from livesim.scenarios import bundled_scenario

    loaded = prepare_scenario(scenario or bundled_scenario(), fixed, posterior)
    request = preflight(
        loaded,
        replications,
        seed,
        cores(workers),
        engine,
        strategies,
        events,
        force,
        inner,
    )
    with backend_named(backend, workers, scheduler) as chosen:
        return execute_with_noise_only(request, chosen, progress)


def compare(
    scenario: str | Path | Scenario,
    *others: str | Path | Scenario,
    replications: int = 100,
    seed: int = 0,
    workers: int | None = None,
    engine: str = "auto",
    strategies: list[str] | None = None,
    inner: int = 1,
    fixed: bool = False,
    posterior: str | Path | None = None,
    progress: bool = True,
    backend: str | Backend = "local",
    scheduler: str | None = None,
    force: bool = False,
) -> Comparison:
    """`livesim compare`: the strategies of `scenario` (and of `others`, each named
    by its file's `name`) on common random numbers; `.pairs`, `.strategies`,
    `.breakeven` and `.result` (the runs' tables)."""
    from livesim.compare import prepare_comparison, run_comparison

    first = prepare_scenario(scenario, fixed, posterior)
    rest = [prepare_scenario(o, fixed, posterior) for o in others]
    requests = prepare_comparison(
        first,
        rest,
        replications,
        seed,
        cores(workers),
        engine,
        strategies,
        force,
        inner,
    )
    with backend_named(backend, workers, scheduler) as chosen:
        return run_comparison(requests, chosen, progress)


def calibrate(
    scenario: str | Path | Scenario,
    *,
    method: str | None = None,
    out: str | Path | None = None,
    targets: dict[str, Any] | None = None,
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    engine: str = "auto",
    free: list[str] | None = None,
    progress: bool = True,
    backend: str | Backend = "local",
    scheduler: str | None = None,
    fmt: str = "both",
    **abc_options: Any,
) -> CalibrationResult | AbcResult:
    """`livesim calibrate`: `method` (default: the scenario's [calibration]
    method, else "lsq") "lsq" fits the free parameters so that medians hit
    `targets`; "abc" gives a posterior of `[[uncertainty]]` priors by ABC-SMC
    (the [bayes] extra), written with its report into `out` (default: a
    temporary folder, removed; the result keeps the posterior table).
    `abc_options`: population, generations, tolerance, max_seconds, observed."""
    check_format(fmt)
    loaded = prepare_scenario(scenario)
    spec = loaded.calibration
    chosen = method or (spec.method if spec is not None else "lsq")
    # observed files are read beside the scenario file
    folder = (
        scenario_path(scenario).parent if isinstance(scenario, str | Path) else Path()
    )
    with backend_named(backend, workers, scheduler) as runner:
        if chosen != "abc":
            from livesim.calibrate import calibrate as fit

            return fit(
                loaded,
                targets,
                replications,
                seed,
                runner.workers,
                engine,
                progress,
                runner,
            )
        from livesim.bayes import calibrate_abc

        say = print if progress else None
        options = {"seed": seed, "targets": targets, **abc_options}
        with _folder(out) as where:
            return calibrate_abc(
                loaded,
                where,
                folder,
                free,
                runner.workers,
                engine,
                progress=say,
                backend=runner,
                fmt=fmt,
                **options,
            )


def sweep(
    experiment: str | Path,
    out: str | Path | None = None,
    **options: Any,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`livesim sweep`: (one row per point x replication x strategy, per-point
    summaries). `out` keeps the chunks and tables (default: a temporary folder,
    removed); `options` as for `experiment_options`."""
    from livesim.sweep import load_experiment, run_sweep

    result: tuple[pd.DataFrame, pd.DataFrame] = _experiment(
        experiment, out, load_experiment, run_sweep, **options
    )
    return result


def sensitivity(
    experiment: str | Path, out: str | Path | None = None, **options: Any
) -> Sensitivity:
    """`livesim sensitivity`: Sobol' indices (`.indices`) and the sweep beneath
    (`.table`); `out` and `options` as for `sweep`."""
    from livesim.sensitivity import load_sensitivity, run_sensitivity

    result: Sensitivity = _experiment(
        experiment, out, load_sensitivity, run_sensitivity, **options
    )
    return result


def optimize(
    experiment: str | Path, out: str | Path | None = None, **options: Any
) -> OptimizeResult:
    """`livesim optimize`: `.candidates`, `.finalists` and `.winner` of the
    search; `out` and `options` as for `sweep`."""
    from livesim.optimize import load_optimization, run_optimization

    result: OptimizeResult = _experiment(
        experiment, out, load_optimization, run_optimization, **options
    )
    return result


def _experiment(
    experiment: str | Path,
    out: str | Path | None,
    load: Any,
    run_it: Any,
    replications: int | None = None,
    seed: int | None = None,
    posterior: str | Path | None = None,
    workers: int | None = None,
    progress: bool = True,
    backend: str | Backend = "local",
    scheduler: str | None = None,
    resume: bool = False,
    force: bool = False,
    fmt: str = "both",
) -> Any:
    """Load an experiment file (with `replications` and `seed` standing for the
    file's, as -n and --seed) and run it into `out` (a temporary folder if None)."""
    check_format(fmt)
    pairs = (("replications", replications), ("seed", seed))
    overrides = {k: v for k, v in pairs if v is not None}
    plan = load(Path(experiment), posterior=posterior, overrides=overrides)
    with backend_named(backend, workers, scheduler) as chosen, _folder(out) as where:
        return run_it(
            plan,
            where,
            backend=chosen,
            resume=resume,
            progress=progress,
            force=force,
            fmt=fmt,
        )


def write_outputs(
    result: SimulationResult | Comparison,
    folder: str | Path,
    fmt: str = "both",
    scenario: str | Path | Scenario | None = None,
) -> Path:
    """Write a `run` or `compare` result as the command line does: the tables (in
    `fmt`, with columns.json), manifest.json, figures/, report.md and report.html,
    all at once into `folder` (a folder of other files is refused). `scenario`
    defaults to the one the result ran."""
    from livesim.compare import Comparison
    from livesim.output import write_outputs as write_folder

    check_format(fmt)
    comparison = result if isinstance(result, Comparison) else None
    simulated = comparison.result if comparison is not None else result
    assert not isinstance(simulated, Comparison)
    used = prepare_scenario(scenario) if scenario is not None else simulated.scenario
    if used is None:
        from livesim.errors import ConfigError

        raise ConfigError("scenario: this result does not say its scenario; pass it")
    return write_folder(simulated, used, Path(folder), comparison, fmt)


def check_format(fmt: str) -> None:
    """A `fmt` of the tables (csv, parquet, both), or a ConfigError before any
    work."""
    from livesim.errors import ConfigError
    from livesim.formats import FORMATS

    if fmt not in FORMATS:
        raise ConfigError(f"fmt: {fmt!r} is not one of {', '.join(FORMATS)}")


@contextlib.contextmanager
def _folder(out: str | Path | None) -> Iterator[Path]:
    if out is not None:
        yield Path(out)
        return
    with tempfile.TemporaryDirectory(prefix="livesim-") as tmp:
        yield Path(tmp) / "out"


__all__ = [
    "calibrate",
    "compare",
    "optimize",
    "prepare_scenario",
    "run",
    "sensitivity",
    "sweep",
    "write_outputs",
]
