"""Global sensitivity: Sobol' first-order and total indices of campaign outcomes.

Each named parameter varies uniformly between its `low` and `high`, or, with
`from_uncertainty = true`, the parameters are the scenario's campaign-scope
`[[uncertainty]]` priors, each varying by its own distribution (the design's
uniforms through the prior's inverse CDF; host- and stream-scope priors stay
drawn in every replication, so they are part of the noise around each point). Saltelli's
design (Saltelli et al. 2010) takes two independent quasi-random matrices A and B
of `samples` rows (one scrambled Sobol' sequence of 2d dimensions,
`scipy.stats.qmc`) and, for every parameter i, the matrix AB_i: A with column i from
B; that is samples x (d + 2) points. Every point runs the same `replications` with
the same seed (common random numbers), and the model output at a point is the mean
of an outcome (net GMV, conversion rate, ROI) over them.

`scipy.stats.sobol_indices` turns the outputs into the first-order index S1 (the
share of the output's variance explained by the parameter alone) and the total
index ST (the share it takes part in, interactions included; Saltelli 2010 and
Jansen 1999 estimators). Confidence intervals are BCa bootstrap intervals over the
design's rows (`SobolResult.bootstrap`, seeded, so the whole table is reproducible;
where BCa gives no bound, `livesim.stats.bca_fallback`).

A parameter the outcome does not depend on changes nothing under common random
numbers, so both its indices are exactly 0. Noise left in the means (few
replications) shows up as small non-zero indices with intervals around 0.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import Field, PrivateAttr, field_validator, model_validator
from scipy import stats
from scipy.stats import qmc

from livesim.backends import Backend
from livesim.errors import ConfigError
from livesim.model.posterior import without_posterior_of
from livesim.model.uncertainty import Prior
from livesim.paths import set_path, with_values
from livesim.report.sensitivity import SensitivityFacts, sensitivity_blocks
from livesim.scenario import Scenario, load_scenario, scenario_from_dict
from livesim.stats import bca_fallback, legacy_seed
from livesim.sweep import (
    Experiment,
    SweepParameter,
    SweepPlan,
    plan,
    read_config,
    run_sweep,
    scenario_path_for,
    writes_field,
)

DEFAULT_OUTPUTS = ["net_gmv", "conversion_rate", "roi"]


class SensitivityExperiment(Experiment):
    """A sensitivity experiment file: the sweep's keys, with the design replaced by
    `samples` (rows of Saltelli's A and B) and bootstrap settings."""

    samples: Annotated[int, Field(ge=4, le=4096)] = 32
    sample_seed: Annotated[int, Field(ge=0)] = 0
    confidence: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.95
    resamples: Annotated[int, Field(ge=100, le=100_000)] = 999
    outputs: Annotated[list[str], Field(min_length=1)] = DEFAULT_OUTPUTS
    replications: Annotated[int, Field(ge=1, le=10_000)] = 10
    parameters: Annotated[list[SweepParameter], Field(max_length=20)] = []
    from_uncertainty: bool = False
    #: The priors that are the parameters, with `from_uncertainty`.
    _factors: list[Prior] = PrivateAttr(default_factory=list)

    @field_validator("samples")
    @classmethod
    def _power_of_two(cls, value: int) -> int:
        if value & (value - 1):
            raise ValueError(
                f"must be a power of 2 (a balanced Sobol' sample); got {value}"
            )
        return value

    @model_validator(mode="after")
    def _bounds_only(self) -> SensitivityExperiment:
        if self.from_uncertainty and self.parameters:
            raise ValueError(
                "from_uncertainty: the parameters are the scenario's priors; give "
                "no [[parameters]] with it"
            )
        if self.from_uncertainty and self.priors == "off":
            raise ValueError(
                'from_uncertainty: it needs the priors; drop priors = "off"'
            )
        if not self.from_uncertainty and not self.parameters:
            raise ValueError(
                "parameters: give [[parameters]] with low and high, or "
                "from_uncertainty = true to vary the scenario's priors"
            )
        listed = [p.name for p in self.parameters if p.values is not None]
        if listed:
            raise ValueError(
                f"parameters {listed} give values: every parameter needs low and "
                "high (it varies uniformly between them)"
            )
        if "design" in self.model_fields_set:
            raise ValueError(
                "design: a sensitivity experiment uses its own Sobol' design; set "
                "samples (and sample_seed) instead"
            )
        return self

    def whole_numbers(self, base: dict[str, Any]) -> list[bool]:
        """Priors round their own draws on whole-number fields."""
        if self.from_uncertainty:
            return [False] * len(self.parameters)
        return super().whole_numbers(base)

    def point(
        self, base: dict[str, Any], values: dict[str, float], whole: list[bool]
    ) -> Scenario:
        """With `from_uncertainty`, each prior of the design takes the point's
        value in every replication (applied as the prior applies its draws: set
        or scale); the other priors are drawn as usual."""
        if not self.from_uncertainty:
            return super().point(base, values, whole)
        data = without_posterior_of(
            copy.deepcopy(base), [p.name for p in self._factors]
        )
        data["uncertainty"] = [
            *data.get("uncertainty", []),
            *(held(p, values[p.name]) for p in self._factors),
        ]
        if not self.fixed:
            return scenario_from_dict(data)
        return with_values(data, [([k], v) for k, v in self.fixed.items()])


def held(prior: Prior, value: float) -> dict[str, Any]:
    """A prior held at one value: a choice of that value alone."""
    return {
        "name": prior.name,
        "paths": prior.paths,
        "dist": "choice",
        "values": [value],
        "mode": prior.mode,
        "scope": "campaign",
        "source": prior.source,
    }


def saltelli_points(experiment: Any) -> pd.DataFrame:
    """The points of Saltelli's design: A (samples rows), B, then AB_1 ... AB_d."""
    exp: SensitivityExperiment = experiment
    d = len(exp.parameters)
    n = exp.samples
    unit = qmc.Sobol(d=2 * d, scramble=True, seed=exp.sample_seed).random(n)
    if exp.from_uncertainty:  # each prior's inverse CDF
        a = np.column_stack([p.ppf(unit[:, i]) for i, p in enumerate(exp._factors)])
        b = np.column_stack([p.ppf(unit[:, d + i]) for i, p in enumerate(exp._factors)])
    else:
        low = np.array([p.low for p in exp.parameters], dtype=float)
        high = np.array([p.high for p in exp.parameters], dtype=float)
        a = low + unit[:, :d] * (high - low)
        b = low + unit[:, d:] * (high - low)
    blocks = [a, b]
    for i in range(d):
        ab = a.copy()
        ab[:, i] = b[:, i]
        blocks.append(ab)
    return pd.DataFrame(np.vstack(blocks), columns=[p.name for p in exp.parameters])


def load_sensitivity(
    path: Path,
    posterior: Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> SweepPlan:
    """Read and check a sensitivity experiment file (all problems at once), with
    `overrides` replacing its top-level keys; with `from_uncertainty`, its
    parameters are the scenario's campaign-scope priors that vary (a choice of one
    value does not)."""
    exp = read_config(path, SensitivityExperiment, "experiment", overrides)
    scenario_path = scenario_path_for(path, exp.scenario)
    if exp.from_uncertainty:
        scenario = load_scenario(scenario_path)
        base = scenario.model_dump(exclude_none=True)
        factors = [  # (a prior on a strategy's own field alone stays drawn)
            p
            for p in scenario.uncertainty
            if p.scope == "campaign"
            and p.support()[0] < p.support()[1]
            and all(set_path(copy.deepcopy(base), q, 0.0) for q in p.paths)
        ]
        clashes = [
            f"fixed: {path!r} writes the field of the prior {p.name!r}, which "
            "from_uncertainty varies; drop one of them"
            for path in exp.fixed
            for p in factors
            if any(writes_field(base, path, q) for q in p.paths)
        ]
        if clashes:
            raise ConfigError(clashes)
        if not factors:
            raise ConfigError(
                f"from_uncertainty: scenario {exp.scenario!r} has no [[uncertainty]] "
                "prior of scope campaign that varies"
            )
        ends = [p.ppf(np.array([0.0, 1.0])) for p in factors]
        exp = exp.model_copy(
            update={
                "parameters": [
                    SweepParameter(name=p.name, paths=p.paths, low=lo, high=hi)
                    for p, (lo, hi) in zip(factors, ends, strict=True)
                ]
            }
        )
        exp._factors = factors
    return plan(exp, scenario_path, saltelli_points, posterior)


@dataclass
class Sensitivity:
    """Indices per strategy, outcome and parameter, and the sweep underneath."""

    indices: pd.DataFrame
    table: pd.DataFrame


def run_sensitivity(
    plan: SweepPlan,
    out: Path,
    backend: Backend | None = None,
    resume: bool = False,
    progress: bool = False,
    force: bool = False,
    fmt: str = "both",
) -> Sensitivity:
    """Run the design's points (as a sweep, chunks on disk) and estimate the indices;
    writes sensitivity.csv (and/or .parquet, `fmt`), sensitivity.png,
    sensitivity.md and report.html into `out`."""
    from livesim.formats import write_tables

    table, _ = run_sweep(
        plan, out, backend, resume, progress, force, "sensitivity", fmt
    )
    indices = sobol_table(plan, table)
    write_tables(out, {"sensitivity": indices}, fmt)
    from livesim.report.figures import sensitivity_bars

    sensitivity_bars(indices, out / "sensitivity.png")
    write_report(plan, indices, out)
    return Sensitivity(indices=indices, table=table)


def sobol_table(plan: SweepPlan, table: pd.DataFrame) -> pd.DataFrame:
    """S1 and ST with bootstrap CIs, one row per strategy x output x parameter,
    ranked by ST within each strategy and output."""
    exp: SensitivityExperiment = plan.experiment  # type: ignore[assignment]
    names = [p.name for p in exp.parameters]
    d, n = len(names), exp.samples
    groups = []
    for strategy, frame in table.groupby("strategy", sort=False):
        means = frame.groupby("point", sort=True)[exp.outputs].mean()
        if len(means) != n * (d + 2):
            raise ValueError(f"expected {n * (d + 2)} points, got {len(means)}")
        for output in exp.outputs:
            f = means[output].to_numpy(dtype=float)
            if not np.isfinite(f).all():
                raise ConfigError(
                    f"outputs: {output!r} is undefined (NaN) at some points of "
                    f"strategy {strategy!r} (e.g. ROI without costs); drop it"
                )
            estimate = indices_with_ci(f, d, n, exp.confidence, exp.resamples, exp.seed)
            group = pd.DataFrame(
                {"strategy": strategy, "output": output, "parameter": names}
                | estimate
                | {"output_variance": float(np.var(f[: 2 * n]))}
            ).sort_values("total", ascending=False, kind="stable")
            group["rank"] = np.arange(1, d + 1)
            groups.append(group)
    return pd.concat(groups, ignore_index=True)


def indices_with_ci(
    f: np.ndarray, d: int, n: int, confidence: float, resamples: int, seed: int
) -> dict[str, np.ndarray]:
    """First and total indices of outputs laid out as A, B, AB_1..AB_d
    (`scipy.stats.sobol_indices`), each with its BCa bootstrap interval over the n
    rows (`SobolResult.bootstrap`)."""
    # scipy squeezes a single parameter's indices of a single output to a scalar
    # that it then cannot index: give it the output twice and keep the first
    copies = 2 if d == 1 else 1
    res = stats.sobol_indices(
        func={
            "f_A": np.repeat(f[None, :n], copies, axis=0),
            "f_B": np.repeat(f[None, n : 2 * n], copies, axis=0),
            "f_AB": np.repeat(f[2 * n :].reshape(d, 1, n), copies, axis=1),
        },
        n=n,
    )

    def own(x: Any) -> np.ndarray:  # this output's d values (first axis)
        return np.atleast_1d(x)[:d]

    point = np.concatenate([own(res.first_order), own(res.total_order)])
    # SobolResult.bootstrap draws from numpy's global generator: seeded for the
    # call, so the table is reproducible
    with legacy_seed(seed), warnings.catch_warnings():
        # a parameter with no effect has a constant bootstrap distribution:
        # BCa warns and gives NaN; its interval is the point (below)
        warnings.simplefilter("ignore")
        boot = res.bootstrap(confidence_level=confidence, n_resamples=resamples)
    parts = (boot.first_order, boot.total_order)
    low = np.concatenate([own(b.confidence_interval.low) for b in parts])
    high = np.concatenate([own(b.confidence_interval.high) for b in parts])
    draws = np.vstack(
        [np.atleast_2d(own(b.bootstrap_distribution)).reshape(d, -1) for b in parts]
    )
    for k in range(2 * d):
        if not (math.isfinite(low[k]) and math.isfinite(high[k])):
            low[k], high[k] = bca_fallback(float(point[k]), draws[k], confidence)
    return {
        "first_order": point[:d],
        "first_low": low[:d],
        "first_high": high[:d],
        "total": point[d:],
        "total_low": low[d:],
        "total_high": high[d:],
    }


def facts(plan: SweepPlan) -> SensitivityFacts:
    """What the report says of the design besides the indices."""
    exp: SensitivityExperiment = plan.experiment  # type: ignore[assignment]
    d = len(exp.parameters)
    design = (
        f"Saltelli design: {exp.samples} x ({d} + 2) = {len(plan.points)} points, "
        f"{exp.replications} replications each (seed {exp.seed}, common random "
        f"numbers). Intervals: {exp.confidence:.0%} BCa bootstrap, "
        f"{exp.resamples} resamples. "
        + (
            "Parameters vary by the scenario's priors (each through its inverse "
            "CDF; priors of host or stream scope are drawn in every replication):"
            if exp.from_uncertainty
            else "Parameters vary uniformly:"
        )
    )
    rows = [
        (p.name, f"uniform, {p.low:g} to {p.high:g}", ", ".join(p.paths))
        for p in ([] if exp.from_uncertainty else exp.parameters)
    ] + [(f.name, f"{f.dist} ({f.mode})", f.source) for f in exp._factors]
    ranges = pd.DataFrame(rows, columns=["parameter", "varies as", "sets / source"])
    names = [p.name for p in exp.parameters]
    drawn = [
        str(p["name"])
        for p in plan.base.get("uncertainty", [])
        if p.get("name") not in names
    ]
    return SensitivityFacts(
        parameters=names,
        design=design,
        ranges=ranges,
        replications=exp.replications,
        confidence=exp.confidence,
        from_priors=exp.from_uncertainty,
        drawn=drawn,
        costs=cost_side(plan),
    )


def cost_side(plan: SweepPlan) -> str:
    """The strategies' up-front spend at the scenario's values, in one sentence."""
    from livesim.compare import budget

    scenario = scenario_from_dict(copy.deepcopy(plan.base))
    spend = "; ".join(
        f"`{name}` {budget(scenario, name):,.0f} RMB" for name in scenario.campaigns()
    )
    return (
        "**The cost side**, at the scenario's values: up front (host fees, gifts, "
        f"ads) {spend}; commissions on net GMV and the fixed cost "
        f"({scenario.costs.fixed:,.0f} RMB) come on top. Costs move ROI, not net "
        "GMV or conversion."
    )


def write_report(plan: SweepPlan, indices: pd.DataFrame, out: Path) -> None:
    """sensitivity.md and report.html: the same blocks, Summary first."""
    from livesim.atomic import write_text_atomic
    from livesim.report.html import to_html
    from livesim.report.markdown import to_markdown

    blocks = sensitivity_blocks(indices, facts(plan), out / "sensitivity.png")
    write_text_atomic(out / "sensitivity.md", to_markdown(blocks, out))
    title = f"livesim sensitivity: {plan.base.get('name', 'scenario')}"
    write_text_atomic(out / "report.html", to_html(blocks, title))
