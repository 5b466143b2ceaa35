"""Parameter sweeps: a designed experiment over a scenario's parameters.

An experiment file (TOML) names a base scenario, the parameters to vary (explicit
values, or bounds for a sampling design: full factorial, Latin hypercube or Sobol
from `scipy.stats.qmc`), fixed parameters, replications per point and the campaign
metrics to keep. Every point runs the same replications with the same seed, so
points differ only by their parameters (common random numbers across points).

Nothing finished is lost: the points run as chunks of replications on a backend
(`livesim.backends`: local processes or a Dask cluster), each chunk's rows written to
their own file as soon as it completes (atomically), and `resume=True` skips the
chunks already on disk, so a killed sweep continued later gives the same table as an
uninterrupted one.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, ValidationError, model_validator
from scipy.stats import qmc

from livesim.atomic import write_durably
from livesim.backends import (
    DEFAULT_CHUNK,
    Backend,
    Job,
    LocalBackend,
    check_work,
    experiment_jobs,
    run_jobs,
)
from livesim.errors import ConfigError
from livesim.formats import write_tables
from livesim.model.posterior import posterior_record, without_posterior_of
from livesim.results import ADDITIVE, describe
from livesim.scenario import Ident, Scenario, Strict

#: Campaign metrics a sweep can keep (per replication and strategy).
METRICS = [*ADDITIVE, "mean_watch_minutes", "mean_qa_wait", "conversion_rate", "roi"]
DEFAULT_OUTPUTS = ["net_gmv", "orders", "unique_viewers", "conversion_rate", "roi"]
MAX_POINTS = 10_000


class SweepParameter(Strict):
    """A varied parameter: explicit `values`, or `low`/`high` for a design (with
    `levels` for a factorial design)."""

    name: Ident
    paths: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    values: Annotated[list[float], Field(min_length=1, max_length=1000)] | None = None
    low: float | None = None
    high: float | None = None
    levels: Annotated[int, Field(ge=2, le=100)] = 5

    @model_validator(mode="after")
    def _values_or_bounds(self) -> SweepParameter:
        if self.values is None and (self.low is None or self.high is None):
            raise ValueError("give either values = [...] or both low and high")
        if self.values is not None and (self.low is not None or self.high is not None):
            raise ValueError("give values or low/high, not both")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"low {self.low} must be below high {self.high}")
        return self


class Design(Strict):
    """How points are chosen from the parameters' bounds."""

    kind: Literal["factorial", "latin_hypercube", "sobol"] = "factorial"
    points: Annotated[int, Field(ge=1, le=MAX_POINTS)] = 16
    seed: Annotated[int, Field(ge=0)] = 0


class Experiment(Strict):
    """A sweep experiment file."""

    scenario: Annotated[str, Field(min_length=1)]
    parameters: Annotated[list[SweepParameter], Field(min_length=1, max_length=20)]
    fixed: dict[str, float] = {}
    design: Design = Design()
    replications: Annotated[int, Field(ge=1, le=10_000)] = 20
    seed: Annotated[int, Field(ge=0)] = 0
    strategies: Annotated[list[Ident], Field(min_length=1)] | None = None
    outputs: Annotated[list[str], Field(min_length=1)] = DEFAULT_OUTPUTS
    engine: Literal["auto", "agent", "cohort"] = "auto"
    chunk: Annotated[int, Field(ge=1, le=10_000)] = DEFAULT_CHUNK
    priors: Literal["draw", "off"] = "draw"

    def whole_numbers(self, base: dict[str, Any]) -> list[bool]:
        """Per parameter, whether its fields take whole numbers (then rounded)."""
        from livesim.paths import takes_whole_numbers

        return [
            takes_whole_numbers(
                base,
                p.paths,
                p.values[0] if p.values else p.low + 0.37 * (p.high - p.low),  # type: ignore[operator]
            )
            for p in self.parameters
        ]

    def point(
        self, base: dict[str, Any], values: dict[str, float], whole: list[bool]
    ) -> Scenario:
        """The scenario of one point: fixed values, then the point's values
        (rounded for parameters flagged in `whole`)."""
        from livesim.paths import with_values

        fixed = [([path], value) for path, value in self.fixed.items()]
        varied = [(p.paths, values[p.name]) for p in self.parameters]
        flags = [False] * len(fixed) + whole
        return with_values(base, fixed + varied, flags)

    def set_paths(self) -> list[str]:
        """Every path the experiment writes."""
        return [*self.fixed, *(path for p in self.parameters for path in p.paths)]


def split_priors(
    base: dict[str, Any], experiment: Experiment
) -> tuple[dict[str, Any], list[str]]:
    """The base without the priors the experiment sets (a prior on a field the
    experiment writes would overwrite it), and their names; with `priors = "off"`
    every prior goes."""
    priors = base.get("uncertainty", [])
    if experiment.priors == "off":
        kept: list[dict[str, Any]] = []
    else:
        written = experiment.set_paths()
        kept = [
            p
            for p in priors
            if not any(writes_field(base, a, b) for a in written for b in p["paths"])
        ]
    names = [p["name"] for p in priors if p not in kept]
    return without_posterior_of(dict(base, uncertainty=kept), names), names


def writes_field(base: dict[str, Any], written: str, prior_path: str) -> bool:
    """Whether an experiment's path writes a field a prior's path names, in the
    scenario's sections or a strategy's (`strategies.NAME.<path>`: a prior's path
    reaches every campaign)."""
    from livesim.paths import overlaps

    head, _, rest = written.partition(".")
    if head == "strategies":
        name, _, inside = rest.partition(".")
        strategy = base.get("strategies", {}).get(name)
        return isinstance(strategy, dict) and overlaps(strategy, inside, prior_path)
    return overlaps(base, written, prior_path)


@dataclass
class SweepPlan:
    """A loaded experiment: its base scenario (as a dict) and its points."""

    experiment: Experiment
    base: dict[str, Any]
    points: pd.DataFrame  # one row per point, a column per parameter
    digest: str
    whole: list[bool]  # parameters whose fields take whole numbers (rounded)
    #: Priors of the scenario not drawn: the experiment sets their fields.
    priors_set: list[str] = dataclasses.field(default_factory=list)


def load_experiment(
    path: Path,
    model: type[Experiment] | None = None,
    design: Callable[[Any], pd.DataFrame] | None = None,
    posterior: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> SweepPlan:
    """Read and check an experiment file; every problem is reported at once.

    `model` and `design` let other experiment kinds (sensitivity) reuse the loading,
    the checks and the points' validation with their own keys and points;
    `overrides` replace top-level keys of the file (the command line's -n, --seed).
    """
    experiment = read_config(path, model or Experiment, "experiment", overrides)
    return plan(
        experiment,
        scenario_path_for(path, experiment.scenario),
        design or design_points,
        posterior,
    )


M = TypeVar("M", bound=BaseModel)


def read_config(
    path: Path, model: type[M], what: str, overrides: dict[str, Any] | None = None
) -> M:
    """A TOML file validated by `model`, with `overrides` replacing its top-level
    keys; every problem as one line (field, value, rule) in a `ConfigError`."""
    from livesim.scenario import format_validation_error, read_toml

    data = {**read_toml(path, what), **(overrides or {})}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([format_validation_error(e) for e in exc.errors()]) from None


def scenario_path_for(experiment_path: Path, name: str) -> Path:
    """A scenario file relative to the experiment file, or a bundled name."""
    candidate = (experiment_path.parent / name).resolve()
    if candidate.is_file():
        return candidate
    from livesim.scenarios import bundled_scenario

    try:
        return bundled_scenario(name.removesuffix(".toml"))
    except FileNotFoundError:
        raise ConfigError(
            f"scenario: {name!r} is neither a file next to the experiment nor a "
            "bundled scenario"
        ) from None


def plan(
    experiment: Experiment,
    scenario_path: Path,
    design: Callable[[Any], pd.DataFrame] | None = None,
    posterior: Path | None = None,
) -> SweepPlan:
    """The points of an experiment, checked against its scenario (with the
    priors a `posterior` file holds drawn from it)."""
    from livesim.bayes.posterior_file import load_with_posterior
    from livesim.paths import set_path

    scenario = load_with_posterior(scenario_path, posterior)
    base = scenario.model_dump(exclude_none=True)
    problems = []
    for metric in experiment.outputs:
        if metric not in METRICS:
            problems.append(f"outputs: {metric!r} is not a campaign metric")
    known = list(scenario.campaigns())
    for name in experiment.strategies or []:
        if name not in known:
            problems.append(f"strategies: {name!r} is not one of {known}")
    for path in experiment.fixed:
        if set_path(copy.deepcopy(base), path, 0.0) == 0:
            problems.append(f"fixed: {path!r} names no field")
    for i, p in enumerate(experiment.parameters):
        for path in p.paths:
            if set_path(copy.deepcopy(base), path, 0.0) == 0:
                problems.append(
                    f"parameters[{i}] ({p.name}).paths: {path!r} names no field"
                )
    if problems:
        raise ConfigError(problems)
    base, priors_set = split_priors(base, experiment)
    points = (design or design_points)(experiment)
    whole = experiment.whole_numbers(base)
    if len(points) > MAX_POINTS:
        raise ConfigError(
            f"design: {len(points)} points exceed the limit of {MAX_POINTS}"
        )
    for p, integer in zip(experiment.parameters, whole, strict=True):
        if integer:  # the tables show the whole number each point runs with
            points[p.name] = points[p.name].round()
    # every point must give a valid scenario: check them all before running any
    for k, row in enumerate(points.itertuples(index=False)):
        try:
            point_scenario(
                base, experiment, dict(zip(points.columns, row, strict=True)), whole
            )
        except ConfigError as exc:
            raise ConfigError(
                [f"point {k} {tuple(row)}: {e}" for e in exc.errors]
            ) from None
    digest = hashlib.sha256(
        (experiment.model_dump_json() + scenario.digest()).encode()
    ).hexdigest()
    return SweepPlan(
        experiment=experiment,
        base=base,
        points=points,
        digest=digest,
        whole=whole,
        priors_set=priors_set,
    )


def design_points(experiment: Experiment) -> pd.DataFrame:
    """The parameter values of every point (a column per parameter).

    Parameters with explicit `values` are crossed with each other (factorial); the
    ones with bounds follow the design: `levels` evenly spaced values each for a
    factorial design, or `design.points` samples of a scrambled Latin hypercube or
    Sobol sequence (`scipy.stats.qmc`), crossed with the explicit values.
    """
    params = experiment.parameters
    listed = [p for p in params if p.values is not None]
    bounded = [p for p in params if p.values is None]
    design = experiment.design
    if bounded and design.kind == "factorial":
        grids = [np.linspace(p.low, p.high, p.levels) for p in bounded]  # type: ignore[arg-type]
        sampled = [list(v) for v in itertools.product(*grids)]
    elif bounded:
        d = len(bounded)
        if design.kind == "latin_hypercube":
            unit = qmc.LatinHypercube(d=d, seed=design.seed).random(design.points)
        else:
            unit = qmc.Sobol(d=d, scramble=True, seed=design.seed).random(design.points)
        low = [p.low for p in bounded]
        high = [p.high for p in bounded]
        sampled = qmc.scale(unit, low, high).tolist()
    else:
        sampled = [[]]
    crossed: list[tuple[float, ...]] = list(
        itertools.product(*[p.values or [] for p in listed])
    )
    rows = [
        {
            **dict(zip([p.name for p in listed], a, strict=True)),
            **dict(zip([p.name for p in bounded], b, strict=True)),
        }
        for a in crossed
        for b in sampled
    ]
    return pd.DataFrame(rows, columns=[p.name for p in params])


def point_scenario(
    base: dict[str, Any],
    experiment: Experiment,
    values: dict[str, float],
    whole: list[bool] | None = None,
) -> Scenario:
    """The scenario of one point (`Experiment.point`)."""
    return experiment.point(base, values, whole or [False] * len(values))


def run_sweep(
    plan: SweepPlan,
    out: Path,
    backend: Backend | None = None,
    resume: bool = False,
    progress: bool = False,
    force: bool = False,
    kind: str = "sweep",
    fmt: str = "both",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every chunk not yet on disk; (rows, per-point summary).

    Rows are one per point x replication x strategy with the parameters as columns.
    The request is checked once, the engine chosen once per point and the whole
    experiment's work estimated before anything is written to `out`. Chunks of
    `experiment.chunk` replications run on `backend` (local, one process, by
    default) and are each written to `out/points/` as they finish. `kind` names
    the experiment in messages and on the progress bar; `fmt` the tables' files
    (`livesim.formats`: csv, parquet or both).
    """
    exp = plan.experiment
    points = [
        (
            f"point-{k:05d}",
            point_scenario(plan.base, exp, point_values(plan, k), plan.whole),
        )
        for k in range(len(plan.points))
    ]
    jobs = experiment_jobs(
        points,
        exp.replications,
        exp.seed,
        exp.engine,
        exp.outputs,
        exp.chunk,
        exp.strategies,
    )
    check_work(jobs, force, kind)
    folder = start_experiment(out, plan.digest, resume, _manifest(plan))
    done = run_jobs(jobs, folder, backend or LocalBackend(), progress, kind)
    table = collect(plan, [done[job.key] for job in jobs], jobs)
    summary = summarize_points(table, plan)
    write_tables(out, {"sweep": table, "points": summary}, fmt, parameter_columns(exp))
    return table, summary


def parameter_columns(experiment: Any) -> dict[str, tuple[str, str]]:
    """The column dictionary's entries of an experiment's own parameters."""
    return {
        p.name: ("the field's unit", f"the value written to {', '.join(p.paths)}")
        for p in experiment.parameters
    }


def point_values(plan: SweepPlan, k: int) -> dict[str, float]:
    """The parameter values of point k."""
    return {str(n): float(v) for n, v in plan.points.iloc[k].items()}


def _manifest(plan: SweepPlan) -> dict[str, Any]:
    exp = plan.experiment
    return {
        "digest": plan.digest,
        "points": len(plan.points),
        "replications": exp.replications,
        "seed": exp.seed,
        "experiment": exp.model_dump(),
        "priors_set": plan.priors_set,
        "posterior": posterior_record(plan.base.get("posterior")),
    }


def start_experiment(
    out: Path, digest: str, resume: bool, manifest: dict[str, Any]
) -> Path:
    """Check `out` (empty, or the same experiment when resuming), write its
    manifest `experiment.json`, and return the folder for the chunk files."""
    from livesim.output import check_writable

    path = out / "experiment.json"
    check_writable(out)
    if out.exists() and any(out.iterdir()):
        if not resume:
            raise ConfigError(
                f"--out: {str(out)!r} is not empty; use --resume to continue the "
                "experiment written there, or choose a new folder"
            )
        if not path.is_file():
            raise ConfigError(
                f"--resume: {str(out)!r} holds no experiment (no experiment.json)"
            )
        try:
            kept = json.loads(path.read_text(encoding="utf-8")).get("digest")
        except (OSError, ValueError, AttributeError):
            raise ConfigError(
                f"--resume: {str(path)!r} cannot be read (damaged); the chunks in "
                "points/ are intact, but which experiment they belong to is not "
                "known: choose a new folder"
            ) from None
        if kept != digest:
            raise ConfigError(
                f"--resume: {str(out)!r} holds another experiment or scenario (its "
                "digest differs); choose a new folder"
            )
    # the manifest first (durably), so a folder with chunks always says whose
    out.mkdir(parents=True, exist_ok=True)
    write_durably(path, (json.dumps(manifest, indent=2, default=str) + "\n").encode())
    folder = out / "points"
    folder.mkdir(exist_ok=True)
    return folder


def collect(
    plan: SweepPlan, frames: list[pd.DataFrame], jobs: list[Job]
) -> pd.DataFrame:
    """The sweep's rows: each chunk with its point and parameters, in point order."""
    tagged = []
    for frame, job in zip(frames, jobs, strict=True):
        k = int(job.key.split("-")[1])
        rows = frame.copy()
        rows.insert(0, "point", k)
        for name, value in reversed(list(point_values(plan, k).items())):
            rows.insert(1, name, value)
        tagged.append(rows)
    table = pd.concat(tagged, ignore_index=True)
    return table.sort_values(
        ["point", "strategy", "replication"], kind="stable"
    ).reset_index(drop=True)


def summarize_points(table: pd.DataFrame, plan: SweepPlan) -> pd.DataFrame:
    """Per point, strategy and output: mean with its t-based 95% CI, and p5/p50/p95."""
    names = [p.name for p in plan.experiment.parameters]
    rows = []
    for (point, strategy), frame in table.groupby(["point", "strategy"], sort=True):
        for metric in plan.experiment.outputs:
            stats = describe(frame[metric].to_numpy(dtype=float))
            rows.append(
                {
                    "point": point,
                    **{n: frame[n].iloc[0] for n in names},
                    "strategy": strategy,
                    "metric": metric,
                    **{
                        k: stats[k]
                        for k in ("n", "mean", "ci_low", "ci_high", "p5", "p50", "p95")
                    },
                }
            )
    return pd.DataFrame(rows)
