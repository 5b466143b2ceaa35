"""`livesim sweep`, `livesim sensitivity` and `livesim optimize`: experiment files
run as chunks of replications on a backend, each chunk kept in `--out/points/`."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from livesim.commands import EXIT_OK, backend_for, covers, number


def experiment(
    args: argparse.Namespace, kind: str, load: Callable[..., Any], run: Any
) -> tuple[Any, Any, Path, float]:
    """Load an experiment file, check --out, and run it on the chosen backend:
    (plan, result, out, wall seconds)."""
    from livesim.output import check_no_file_in_the_way, check_writable

    overrides = {  # -n and --seed stand for the file's replications and seed
        key: value
        for key, value in (("replications", args.replications), ("seed", args.seed))
        if value is not None
    }
    plan = load(args.experiment, posterior=args.posterior, overrides=overrides)
    out = args.out or Path("results") / f"{args.experiment.stem}-{kind}"
    check_no_file_in_the_way(out, [out, *out.parents])
    check_writable(out)
    args.work_folder = out / "points"
    started = time.perf_counter()
    with backend_for(args) as backend:
        result = run(
            plan,
            out,
            backend=backend,
            resume=args.resume,
            progress=not args.no_progress,
            force=args.force,
            fmt=args.format,
        )
    return plan, result, out, time.perf_counter() - started


def sweep(args: argparse.Namespace) -> int:
    """`livesim sweep EXPERIMENT`: a designed experiment over parameters."""
    from livesim.sweep import load_experiment, run_sweep

    plan, (table, summary), out, seconds = experiment(
        args, "sweep", load_experiment, run_sweep
    )
    exp = plan.experiment
    print(
        f"{args.experiment}: {len(plan.points)} points x {exp.replications} "
        f"replications ({exp.design.kind} design), {len(table)} rows"
    )
    first = exp.outputs[0]
    shown = summary[summary["metric"] == first].drop(columns=["metric"]).head(20)
    print(f"{first} per point (mean and 95% CI; first 20 points):")
    print(shown.to_string(index=False, float_format=number))
    print(covers(plan.base.get("uncertainty", []), plan.priors_set))
    print(
        f"\nwrote {out}/ (sweep.csv: one row per point x replication x strategy; "
        f"points.csv: per-point summaries; points/: one file per chunk of "
        f"replications) in {seconds:.1f} s"
    )
    return EXIT_OK


def sensitivity(args: argparse.Namespace) -> int:
    """`livesim sensitivity EXPERIMENT`: Sobol' indices of the outputs."""
    from livesim.sensitivity import (
        SensitivityExperiment,
        load_sensitivity,
        run_sensitivity,
    )

    plan, found, out, seconds = experiment(
        args, "sensitivity", load_sensitivity, run_sensitivity
    )
    exp: SensitivityExperiment = plan.experiment
    print(
        f"{args.experiment}: Saltelli design of {len(plan.points)} points x "
        f"{exp.replications} replications; Sobol' indices with "
        f"{exp.confidence:.0%} bootstrap CIs, ranked by total index"
    )
    shown = found.indices.drop(columns=["output_variance"])
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    varied = [p.name for p in exp.parameters] if exp.from_uncertainty else []
    if varied:
        print(
            f"The priors {', '.join(varied)} vary by their distributions (the design)."
        )
    aside = [n for n in plan.priors_set if n not in varied]
    print(covers(plan.base.get("uncertainty", []), aside))
    print(
        f"\nwrote {out}/ (report.html, sensitivity.md, sensitivity.csv, "
        f"sensitivity.png; "
        f"sweep.csv: every point x replication; points/: one file per chunk) in "
        f"{seconds:.1f} s"
    )
    return EXIT_OK


def optimize(args: argparse.Namespace) -> int:
    """`livesim optimize EXPERIMENT`: the best allocation of a budget."""
    from livesim.optimize import load_optimization, run_optimization, summary_lines

    _, result, out, _ = experiment(
        args, "optimize", load_optimization, run_optimization
    )
    print("\n".join(summary_lines(result)))
    print(covers(result.plan.scenario.uncertainty))
    print(
        f"\nwrote {out}/ (candidates.csv, finalists.csv, optimize.md, report.html, "
        f"optimize.png; points/: one file per chunk) in {result.seconds:.1f} s"
    )
    return EXIT_OK
