"""The subcommands of `livesim` (the parser and error handling are in `livesim.cli`).

One module per family, each function taking the parsed options and returning an
exit code: `run` (`run`, `compare`, `check`), `calibrate`, and `experiments`
(`sweep`, `sensitivity`, `optimize`). What they share is here: the exit codes, the
backend the options ask for, and number formatting. Only light imports at the top
of these modules: the command line imports them before it can catch a Ctrl-C, so
numpy, pandas and the engines load inside the functions.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from livesim.backends import Backend
    from livesim.results import SimulationResult
    from livesim.scenario import Scenario

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


@contextlib.contextmanager
def backend_for(args: argparse.Namespace) -> Iterator[Backend]:
    """The backend the options ask for (`--backend`, `--workers`, `--scheduler`),
    closed afterwards."""
    from livesim.backends import make_backend

    backend = make_backend(args.backend, args.workers, args.scheduler)
    try:
        yield backend
    finally:
        backend.close()


def load(path: Path, args: argparse.Namespace) -> Scenario:
    """A scenario file, its `[[uncertainty]]` priors switched off with `--fixed`
    (every parameter at the scenario's value: simulation noise only) or some of
    them drawn from a calibration's posterior (`--posterior FILE`)."""
    from livesim.api import prepare_scenario
    from livesim.scenario import load_scenario

    scenario = load_scenario(path)
    fixed, posterior = getattr(args, "fixed", False), getattr(args, "posterior", None)
    if fixed and posterior is None and scenario.uncertainty:
        args.priors_off = sorted(
            set(getattr(args, "priors_off", []))
            | {p.name for p in scenario.uncertainty}
        )
    return prepare_scenario(scenario, fixed, posterior)


def number(value: float) -> str:
    """Large values with thousands separators, small ones with 4 digits."""
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"


def print_headline(result: SimulationResult) -> None:
    """The run's headline table, with its replications, seed and engine."""
    from livesim.model.traffic import describe_awareness
    from livesim.report.content import HEADLINE_FORMATS, headline_shown
    from livesim.report.coverage import coverage
    from livesim.stats import undefined_interval_note

    table = result.headline()
    frame = headline_shown(table)
    manifest = result.manifest
    print(
        f"{manifest['scenario']}: {manifest['replications']} replications per "
        f"strategy, seed {manifest['seed']}, engine {manifest['engine']}"
    )
    for name, phase in manifest.get("awareness", {}).items():
        if phase is not None:
            prefix = f"{name}: " if len(manifest["strategies"]) > 1 else ""
            print(prefix + describe_awareness(phase))
    for column, fmt in HEADLINE_FORMATS.items():
        frame[column] = frame[column].map(lambda v, f=fmt: format(v, f))
    print(frame.to_string(index=False))
    if table[["median_ci_low", "median_ci_high"]].isna().any(axis=None):
        print("CI nan: " + undefined_interval_note(int(manifest["replications"])))
    print(coverage(manifest, result.summary).replace("**", ""))


def seconds_line(manifest: dict[str, Any]) -> str:
    """How long the simulation took, with the one-off compile apart."""
    text = f"{manifest['run_seconds']:.1f} s of simulation"
    compiling = manifest.get("compile_seconds") or 0.0
    if compiling >= 0.05:
        text += (
            f" (and {compiling:.1f} s compiling the cohort engine, once per install)"
        )
    return text


def covers(priors: list[Any], set_here: list[str] | None = None) -> str:
    """The line saying what an experiment's intervals cover: its base scenario's
    priors, if any, are drawn afresh in every replication, except those on fields
    the experiment sets (`set_here`)."""
    from livesim.report.coverage import coverage

    names = [p["name"] if isinstance(p, dict) else p.name for p in priors]
    aside = (
        f" The priors {', '.join(set_here)} are not drawn: the experiment sets "
        'their fields (or `priors = "off"`).'
        if set_here
        else ""
    )
    if not names:
        return coverage({}).replace("**", "").replace(" below", "") + aside
    return (
        "These intervals cover parameter uncertainty and simulation noise: the "
        f"priors ({', '.join(names)}) are drawn afresh in every replication "
        "(docs/model.md, section 16)." + aside
    )


__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "backend_for",
    "covers",
    "number",
    "print_headline",
    "seconds_line",
]
