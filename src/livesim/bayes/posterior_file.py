"""posterior.csv: written by a calibration, read by `--posterior FILE`.

One column per free parameter (named as its `[[uncertainty]]` entry, the values
as the prior writes them: a scale for `mode = "scale"`) and a `weight` column that
sums to 1. Reading it checks the table and then the scenario: every column must be
a campaign-scope prior of the scenario and every value inside that prior's
support; the file's SHA-256 goes into the scenario's posterior (and so into every
manifest and the scenario digest a resume checks).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd

from livesim.errors import ConfigError
from livesim.model.posterior import Posterior, posterior_problems
from livesim.scenario import Scenario

WEIGHT = "weight"


def write_posterior(posterior: pd.DataFrame, path: Path) -> None:
    """The posterior table as CSV (full precision: it reads back bit for bit)."""
    from livesim.atomic import write_text_atomic

    write_text_atomic(path, posterior.to_csv(index=False, float_format="%.17g"))


def read_posterior(path: Path) -> Posterior:
    """posterior.csv as a `Posterior`; a ConfigError names what is wrong."""
    where = f"--posterior {path}"
    if not path.is_file():
        raise ConfigError(f"{where}: no such file")
    data = path.read_bytes()
    try:
        table = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{where}: not a readable CSV table ({first})") from None
    if WEIGHT not in table.columns:
        raise ConfigError(
            f"{where}: needs a 'weight' column (and one column per parameter), "
            f"got {', '.join(map(str, table.columns))}"
        )
    names = [str(c) for c in table.columns if c != WEIGHT]
    if not names or table.empty:
        raise ConfigError(f"{where}: no parameter columns or no rows")
    numbers = table.apply(pd.to_numeric, errors="coerce")
    for c in table.columns:
        bad = ~np.isfinite(numbers[c].to_numpy(dtype=float))
        if bad.any():
            raise ConfigError(
                f"{where}: column {c!r} holds {table[c][bad].iloc[0]!r}; "
                "values must be finite numbers"
            )
    weights = numbers[WEIGHT].to_numpy(dtype=float)
    if weights.min() < 0 or not math.isclose(weights.sum(), 1.0, rel_tol=1e-6):
        raise ConfigError(
            f"{where}: weights must be >= 0 and sum to 1 (they sum to "
            f"{weights.sum():.6g})"
        )
    try:
        return Posterior(
            source=str(path),
            sha256=hashlib.sha256(data).hexdigest(),
            names=names,
            rows=numbers[names].to_numpy(dtype=float).tolist(),
            weights=weights.tolist(),
        )
    except ValueError as exc:  # pydantic's: a bad column name, too many rows
        first = str(exc).splitlines()[-1].strip()
        raise ConfigError(f"{where}: {first}") from None


def load_with_posterior(path: Path, posterior: Path | None) -> Scenario:
    """A scenario file, with the priors of a posterior file drawn from it."""
    from livesim.scenario import load_scenario

    scenario = load_scenario(path)
    return scenario if posterior is None else with_posterior(scenario, posterior)


def with_posterior(scenario: Scenario, path: str | Path) -> Scenario:
    """The scenario with the posterior of `path` drawn for the priors it holds."""
    posterior = read_posterior(Path(path))
    problems = posterior_problems(posterior, scenario.uncertainty)
    if problems:
        raise ConfigError(problems)
    return scenario.model_copy(update={"posterior": posterior})
