"""`livesim calibrate SCENARIO`: fit free parameters so that medians hit targets."""

from __future__ import annotations

import argparse
import sys

from livesim.commands import EXIT_FAILURE, EXIT_OK, backend_for, covers, number
from livesim.errors import ConfigError


def calibrate(args: argparse.Namespace) -> int:
    """Check the request, fit on the backend, print the fit (and write its JSON)."""
    import json

    from livesim.atomic import write_text_atomic
    from livesim.calibrate import fit, parse_targets, prepare_calibration
    from livesim.output import check_out_file
    from livesim.scenario import load_scenario

    targets = parse_targets(args.target)
    scenario = load_scenario(args.scenario)
    if args.replications is not None and not 10 <= args.replications <= 10_000:
        raise ConfigError(
            f"--replications: {args.replications} must be between 10 and 10000"
        )
    if args.seed is not None and args.seed < 0:
        raise ConfigError(f"--seed: {args.seed} must be >= 0")
    if args.out is not None:
        check_out_file(args.out)
    request = prepare_calibration(
        scenario,
        targets=targets,
        replications=args.replications,
        seed=args.seed,
        workers=args.workers,
        engine=args.engine,
    )
    with backend_for(args) as backend:
        result = fit(request, backend, progress=not args.no_progress)
    print(
        f"{result.scenario}: {len(result.parameters)} parameter(s) fitted to "
        f"{len(result.targets)} target median(s); {result.replications} replications "
        f"per evaluation, seed {result.seed}, engine {result.engine}, "
        f"{result.evaluations} evaluations"
    )
    params = result.parameters.copy()
    params["95% range (noise)"] = [
        f"{lo:.4g} - {hi:.4g}"
        for lo, hi in zip(params["range_low"], params["range_high"], strict=True)
    ]
    params["bounds"] = [
        f"[{lo:g}, {hi:g}]"
        for lo, hi in zip(params["bound_low"], params["bound_high"], strict=True)
    ]
    params["value"] = params["value"].map(lambda v: f"{v:.4g}")
    print(
        params[["parameter", "value", "95% range (noise)", "bounds"]].to_string(
            index=False
        )
    )
    fit_table = result.targets.copy()
    fit_table["median 95% CI"] = [
        f"{number(lo)} - {number(hi)}"
        for lo, hi in zip(
            fit_table["median_ci_low"], fit_table["median_ci_high"], strict=True
        )
    ]
    fit_table["residual"] = fit_table["residual"].map(lambda v: f"{v:+.2%}")
    for column in ("target", "median"):
        fit_table[column] = fit_table[column].map(number)
    print(
        fit_table[
            ["metric", "target", "median", "median 95% CI", "residual"]
        ].to_string(index=False)
    )
    print(covers(scenario.uncertainty))
    if result.parameters["at_bound"].any():
        print("warning: a fitted value is at its bound; widen the bounds and rerun")
    if args.out is not None:
        write_text_atomic(args.out, json.dumps(result.to_dict(), indent=2) + "\n")
        print(f"wrote {args.out}")
    if not result.converged:
        print(f"livesim: calibration failed: {result.message}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK
