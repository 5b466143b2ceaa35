"""Calibration: fit a scenario's free parameters so that simulated medians hit targets.

The scenario's ``[calibration]`` section names the free parameters (each a value
written to one or more dotted paths, with bounds) and the targets (campaign metrics
such as ``net_gmv``). Every evaluation runs the same replications with the same seed
(common random numbers), so the medians are a deterministic, nearly smooth function
of the parameters, and `scipy.optimize.least_squares` fits the log ratios
``log(median / target)`` within the bounds, over the logarithms of positive
parameters (most effects in the model are multiplicative).

The request is checked once, before the first evaluation (`prepare_calibration`),
and every evaluation runs on one engine and one backend (`livesim.backends`).

Uncertainty: each median has a distribution-free 95% confidence interval (order
statistics, `scipy.stats.quantile_test`), which says how far the simulation noise
alone could move it. Through the fit's Jacobian (the delta method) that becomes a
range for each parameter: the values that would match the targets within the noise.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from livesim.calibration_schema import Calibration, FreeParameter
from livesim.errors import ConfigError
from livesim.paths import current_value, set_path, takes_whole_numbers, with_values
from livesim.results import ADDITIVE, median_ci
from livesim.scenario import Scenario

if TYPE_CHECKING:
    from livesim.backends import Backend
    from livesim.runner import RunRequest

#: Campaign metrics a target can name (per-replication campaign totals).
METRICS = [*ADDITIVE, "mean_watch_minutes", "mean_qa_wait", "conversion_rate", "roi"]
ALIASES = {"gmv": "net_gmv"}
Z95 = float(stats.norm.ppf(0.975))


@dataclass
class CalibrationResult:
    """Fitted values with their noise ranges, and the fit at those values."""

    scenario: str
    parameters: pd.DataFrame
    targets: pd.DataFrame
    evaluations: int
    replications: int
    seed: int
    engine: str
    converged: bool
    message: str
    history: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record of the calibration (NaN and infinities as null)."""
        return _finite(
            {
                "scenario": self.scenario,
                "replications_per_evaluation": self.replications,
                "seed": self.seed,
                "engine": self.engine,
                "evaluations": self.evaluations,
                "converged": self.converged,
                "message": self.message,
                "parameters": self.parameters.to_dict(orient="records"),
                "targets": self.targets.to_dict(orient="records"),
                "history": self.history,
            }
        )


def _finite(value: Any) -> Any:
    """`value` with every NaN or infinite float replaced by None (valid JSON)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float | np.floating) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def parse_targets(items: list[str]) -> dict[str, float]:
    """``["gmv=5.88e6", ...]`` as {metric: value}; a ConfigError names a bad item."""
    targets: dict[str, float] = {}
    problems = []
    for item in items:
        metric, sep, text = item.partition("=")
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not sep or not metric.strip() or not math.isfinite(value) or value <= 0:
            problems.append(
                f"--target: {item!r} must be METRIC=VALUE with a positive number, "
                "e.g. gmv=5.88e6"
            )
            continue
        targets[metric.strip()] = value
    if problems:
        raise ConfigError(problems)
    return targets


def apply(
    base: dict[str, Any],
    free: list[FreeParameter],
    values: Any,
    whole: list[bool] | None = None,
) -> Scenario:
    """The scenario with each free parameter's value written to its paths; values of
    parameters whose fields take whole numbers (`whole`) are rounded."""
    return with_values(
        base, [(p.paths, v) for p, v in zip(free, values, strict=True)], whole
    )


def whole_numbers(base: dict[str, Any], free: list[FreeParameter]) -> list[bool]:
    """Which free parameters write to fields that take whole numbers only."""
    return [
        takes_whole_numbers(base, p.paths, p.low + 0.37 * (p.high - p.low))
        for p in free
    ]


def check_spec(
    scenario: Scenario, free: list[FreeParameter], targets: dict[str, float]
) -> dict[str, float]:
    """Every problem with the calibration request at once; the targets, resolved."""
    base = scenario.model_dump(exclude_none=True)
    problems = []
    resolved = {ALIASES.get(k, k): v for k, v in targets.items()}
    for metric in resolved:
        if metric not in METRICS:
            problems.append(
                f"calibration.targets: {metric!r} is not a campaign metric; "
                f"choose from gmv, {', '.join(METRICS)}"
            )
    if not resolved:
        problems.append(
            "calibration.targets: none given; add [calibration.targets] or "
            "--target METRIC=VALUE"
        )
    elif len(resolved) < len(free):
        problems.append(
            f"calibration: {len(free)} free parameters need at least as many "
            f"targets, got {len(resolved)}"
        )
    for i, p in enumerate(free):
        where = f"calibration.free[{i}] ({p.name})"
        if not p.low < p.high:
            problems.append(f"{where}: low {p.low} must be below high {p.high}")
            continue
        for path in p.paths:
            if set_path(copy.deepcopy(base), path, p.low) == 0:
                problems.append(f"{where}.paths: {path!r} names no field")
        for bound in (p.low, p.high):
            values = [bound if q is p else _start(base, q) for q in free]
            try:
                apply(base, free, values)
            except ConfigError as exc:
                problems.extend(f"{where} = {bound}: {e}" for e in exc.errors)
    if problems:
        raise ConfigError(problems)
    return resolved


def _start(base: dict[str, Any], p: FreeParameter) -> float:
    """Where the fit starts: the scenario's own value if within bounds, else mid."""
    value = current_value(base, p.paths[0])
    if value is not None and p.low <= value <= p.high:
        return value
    return 0.5 * (p.low + p.high)


@dataclass(frozen=True)
class CalibrationRequest:
    """A checked calibration: the targets, the free parameters' bounds and start,
    and the run request every evaluation repeats with its own parameter values."""

    scenario: Scenario
    free: list[FreeParameter]
    goal: dict[str, float]
    base: dict[str, Any]
    whole: list[bool]
    start: np.ndarray
    run: RunRequest


def prepare_calibration(
    scenario: Scenario,
    targets: dict[str, float] | None = None,
    replications: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    engine: str = "auto",
) -> CalibrationRequest:
    """The pre-flight of `calibrate`: the calibration section and targets, then the
    run at the start values, checked as `livesim run` checks a run. The engine is
    chosen there, once: every evaluation runs on it (`lsq_engine`)."""
    from livesim.runner import expected_work, preflight

    spec = scenario.calibration
    if spec is None:
        raise ConfigError(
            "calibration: the scenario names no free parameters; add a [calibration] "
            "section with [[calibration.free]] entries (docs/model.md, section 11)"
        )
    free = lsq_free(spec)
    goal = check_spec(scenario, free, targets if targets else spec.target_values())
    base = scenario.model_dump(exclude_none=True)
    whole = whole_numbers(base, free)
    start = np.array([_start(base, p) for p in free])
    first = apply(base, free, start, whole)
    run = preflight(
        first,
        replications=replications or spec.replications,
        seed=spec.seed if seed is None else seed,
        workers=workers,
        engine=lsq_engine(engine, expected_work(first, [scenario.baseline])),
        strategies=[scenario.baseline],
    )
    return CalibrationRequest(scenario, free, goal, base, whole, start, run)


#: Up to this many expected viewers per replication, `auto` fits on the agent engine.
LSQ_AGENT_LIMIT = 200_000


def lsq_engine(requested: str, expected_viewers: float) -> str:
    """The engine of a least-squares fit: `auto` is the agent engine for small
    scenarios, whose random numbers pair across parameter values viewer by viewer,
    so that the medians move smoothly with the parameters (least squares needs
    that; the cohort engine pairs them minute by minute and its medians step),
    and the cohort engine above `LSQ_AGENT_LIMIT`."""
    if requested != "auto":
        return requested
    return "agent" if expected_viewers <= LSQ_AGENT_LIMIT else "cohort"


def lsq_free(spec: Calibration) -> list[FreeParameter]:
    """The free parameters of a least-squares fit: tables, not prior names."""
    names = [f for f in spec.free if isinstance(f, str)]
    if names:
        raise ConfigError(
            f"calibration.free: {names[0]!r} names a prior, which only --method abc "
            "calibrates; the least-squares fit needs tables with name, paths, low "
            "and high"
        )
    return spec.free_tables()


def calibrate(
    scenario: Scenario,
    targets: dict[str, float] | None = None,
    replications: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    engine: str = "auto",
    progress: bool = False,
    backend: Backend | None = None,
) -> CalibrationResult:
    """Fit the scenario's free parameters (its [calibration] section) to the targets.

    `targets` (e.g. ``{"gmv": 5.88e6}``) replace the section's own; so do
    `replications` and `seed` when given. The evaluations run on `backend`
    (default: `workers` local processes).
    """
    from livesim.backends import LocalBackend

    request = prepare_calibration(
        scenario, targets, replications, seed, workers, engine
    )
    return fit(request, backend or LocalBackend(workers), progress)


def fit(
    request: CalibrationRequest, backend: Backend, progress: bool = False
) -> CalibrationResult:
    """Run the least-squares fit of a checked calibration on `backend`."""
    from livesim.runner import execute, make_request

    free, goal, base, whole = request.free, request.goal, request.base, request.whole
    run = request.run
    metrics = list(goal)
    target = np.array([goal[m] for m in metrics])
    low = np.array([p.low for p in free])
    high = np.array([p.high for p in free])
    x0 = request.start
    cache: dict[tuple[float, ...], pd.DataFrame] = {}
    history: list[dict[str, float]] = []
    bar = _progress(progress)

    def totals(x: np.ndarray) -> pd.DataFrame:
        key = tuple(float(v) for v in x)
        if key not in cache:
            evaluation = make_request(
                apply(base, free, x, whole),
                run.replications,
                run.seed,
                run.engine,
                list(run.campaigns),
                engine_requested=run.engine_requested,
            )
            cache[key] = execute(evaluation, backend).campaign
            medians = [float(cache[key][m].median()) for m in metrics]
            history.append(
                {
                    **{p.name: v for p, v in zip(free, key, strict=True)},
                    **{f"median_{m}": v for m, v in zip(metrics, medians, strict=True)},
                }
            )
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(
                    ", ".join(
                        f"{p.name}={v:.4g}" for p, v in zip(free, key, strict=True)
                    )
                )
        return cache[key]

    # positive parameters are fitted on a log scale and residuals are log ratios:
    # most effects are multiplicative, so the problem is close to linear there
    logged = low > 0

    def to_x(z: np.ndarray) -> np.ndarray:
        return np.where(logged, np.exp(z), z)

    def to_z(x: np.ndarray) -> np.ndarray:
        return np.where(logged, np.log(np.where(logged, x, 1.0)), x)

    def residuals(z: np.ndarray) -> np.ndarray:
        frame = totals(np.clip(to_x(z), low, high))
        medians = np.array([frame[m].median() for m in metrics], dtype=float)
        # a median at or below 0 (ROI can be) counts as a millionth of the target
        return np.log(np.maximum(medians, 1e-6 * target) / target)

    z_low, z_high = to_z(low), to_z(high)
    # forward differences of 3% on the log scale (a tenth of the range else): large
    # enough to see through the medians' small discrete jumps; a flat column is
    # tried again with 4x and 16x the step
    base_step = np.where(logged, 0.03, 0.1 * (high - low))

    def jacobian(z: np.ndarray) -> np.ndarray:
        r0 = residuals(z)
        jac = np.zeros((len(r0), len(z)))
        for j in range(len(z)):
            for grow in (1.0, 4.0, 16.0):
                h = base_step[j] * grow
                if z[j] + h > z_high[j]:
                    h = -h  # step back from the upper bound
                zj = z.copy()
                zj[j] = np.clip(z[j] + h, z_low[j], z_high[j])
                if zj[j] == z[j]:
                    continue
                jac[:, j] = (residuals(zj) - r0) / (zj[j] - z[j])
                if np.any(jac[:, j] != 0):
                    break
        return jac

    try:
        fit = optimize.least_squares(
            residuals,
            to_z(x0),
            jac=jacobian,
            bounds=(z_low, z_high),
            xtol=1e-3,
            ftol=1e-6,
            max_nfev=20,
        )
    finally:
        if bar is not None:
            bar.close()
    x = np.clip(to_x(fit.x), low, high)
    x = np.where(whole, np.round(x), x)
    frame = totals(x)
    rows = []
    noise = []
    for m, t in zip(metrics, target, strict=True):
        values = frame[m].to_numpy(dtype=float)
        lo, hi = median_ci(values)
        median = float(np.median(values))
        noise.append(math.log(max(hi, 1e-300) / max(lo, 1e-300)) / (2.0 * Z95))
        rows.append(
            {
                "metric": m,
                "target": float(t),
                "median": median,
                "median_ci_low": lo,
                "median_ci_high": hi,
                "residual": median / t - 1.0,
            }
        )
    half = _noise_range(np.asarray(fit.jac, dtype=float), np.array(noise))
    with np.errstate(over="ignore"):
        range_low = to_x(fit.x - half)
        range_high = to_x(fit.x + half)
    # matched: every target inside its median's 95% noise interval at the fit
    matched = all(
        r["median_ci_low"] <= r["target"] <= r["median_ci_high"] for r in rows
    )
    parameters = pd.DataFrame(
        {
            "parameter": [p.name for p in free],
            "value": x,
            "range_low": range_low,
            "range_high": range_high,
            "start": x0,
            "bound_low": low,
            "bound_high": high,
            "at_bound": (x <= low + 1e-3 * np.abs(low))
            | (x >= high - 1e-3 * np.abs(high)),
            "paths": [", ".join(p.paths) for p in free],
        }
    )
    message = str(fit.message)
    if not matched:
        message = (
            "a target lies outside its median's 95% noise interval at the fit; "
            f"the optimizer said: {message}"
        )
    return CalibrationResult(
        scenario=request.scenario.name,
        parameters=parameters,
        targets=pd.DataFrame(rows),
        evaluations=len(cache),
        replications=run.replications,
        seed=run.seed,
        engine=run.engine,
        converged=bool(fit.success) and matched,
        message=message,
        history=history,
    )


def _noise_range(jac: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """95% half-widths of the parameters from the medians' noise (delta method).

    With log-ratio residuals r(z) and their standard errors s (from the medians'
    order-statistic intervals), cov(z) is (J' S^-2 J)^-1; a parameter the targets
    do not move gets an infinite range.
    """
    # a median with a zero-width interval is the most precise target, not the least
    weights = 1.0 / np.maximum(noise, 1e-12) ** 2
    info = jac.T @ (weights[:, None] * jac)
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return np.full(jac.shape[1], math.inf)
    variance = np.diag(cov)
    return np.where(variance >= 0, Z95 * np.sqrt(np.abs(variance)), math.inf)


def _progress(enabled: bool) -> Any:
    if not enabled:
        return None
    from livesim.progress import progress_bar

    return progress_bar(desc="calibrating", unit=" evaluation")
