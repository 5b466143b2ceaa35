"""Bayesian calibration: a posterior from what was observed (ABC-SMC, pyabc).

>>> from livesim import bundled_scenario, load_scenario
>>> from livesim.bayes import calibrate_abc, with_posterior
>>> scenario = load_scenario(bundled_scenario("mac_kos101"))
>>> result = calibrate_abc(scenario, "results/kos101-calibrate")  # doctest: +SKIP
>>> fitted = with_posterior(scenario, "results/kos101-calibrate/posterior.csv")

`calibrate_abc` writes posterior.csv (a column per free parameter and `weight`),
generations.csv, predictive_check.csv, pyabc's database abc.db (`resume=True`
continues a killed calibration from it), calibration.json and report.md/.html.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from livesim.bayes.abc import AbcRequest, AbcResult, prepare_abc, run_abc
from livesim.bayes.posterior_file import read_posterior, with_posterior, write_posterior

if TYPE_CHECKING:
    from collections.abc import Callable

    from livesim.scenario import Scenario

__all__ = [
    "AbcRequest",
    "AbcResult",
    "calibrate_abc",
    "prepare_abc",
    "read_posterior",
    "run_abc",
    "with_posterior",
    "write_outputs",
]


def calibrate_abc(
    scenario: Scenario,
    out: str | Path,
    folder: str | Path = ".",
    free: list[str] | None = None,
    workers: int = 1,
    engine: str = "auto",
    resume: bool = False,
    progress: Callable[[str], None] | None = None,
    backend: Any = None,
    fmt: str = "both",
    **options: Any,
) -> AbcResult:
    """Calibrate the scenario's `[calibration]` (method abc) and write the outputs
    into `out`. `folder` is where the observed files are read from; `options`
    override the section's (population, generations, tolerance, max_seconds, seed,
    targets, observed, ...)."""
    from livesim.backends import LocalBackend

    request = prepare_abc(scenario, Path(folder), free, options, engine, workers)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    own = backend is None
    backend = backend or LocalBackend(workers)
    try:
        result = run_abc(request, out, backend, resume, progress)
    finally:
        if own:
            backend.close()
    write_outputs(result, out, fmt)
    return result


def write_outputs(result: AbcResult, out: Path, fmt: str = "both") -> list[Path]:
    """posterior.csv (always: `--posterior` reads it; a Parquet twin with `fmt`
    parquet or both), the tables (`fmt`), calibration.json and the report in
    `out`."""
    from livesim.atomic import write_text_atomic
    from livesim.bayes.report import marginals, write_calibration_report
    from livesim.formats import (
        suffixes,
        write_dictionary,
        write_parquet,
        write_tables,
    )

    write_posterior(result.posterior, out / "posterior.csv")
    tables = {"generations": result.generations, "predictive_check": result.predictive}
    if ".parquet" in suffixes(fmt):
        write_parquet(out / "posterior.parquet", result.posterior)
    own = {
        name: ("the prior's unit", f"a particle's value of the free prior `{name}`")
        for name in result.names
    }
    write_tables(out, tables, fmt)
    write_dictionary(out, {"posterior": list(result.posterior.columns)}, own)
    req = result.request
    record = {
        "scenario": req.scenario.name,
        "scenario_sha256": req.scenario.digest(),
        "method": "abc",
        "free": result.names,
        "observed": dict(
            zip(req.observations.names, req.observations.values.tolist(), strict=True)
        ),
        "observation_sd": dict(
            zip(req.observations.names, req.observations.sd.tolist(), strict=True)
        ),
        "population": req.spec.population,
        "generations": len(result.generations),
        "final_temperature": float(result.generations["temperature"].iloc[-1]),
        "reached_tolerance": result.reached,
        "simulations": result.simulations,
        "seconds": round(result.seconds, 1),
        "engine": req.engine,
        "seed": req.seed,
        "marginals": marginals(result).to_dict(orient="records"),
    }
    write_text_atomic(out / "calibration.json", json.dumps(record, indent=2) + "\n")
    return [out / "posterior.csv", *write_calibration_report(result, out)]
