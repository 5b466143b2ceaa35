"""`livesim calibrate SCENARIO`: fit free parameters so that medians hit targets
(`--method lsq`), or a posterior of priors from observations (`--method abc`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from livesim.commands import (
    EXIT_FAILURE,
    EXIT_OK,
    backend_for,
    covers,
    load,
    number,
)
from livesim.errors import ConfigError


def calibrate(args: argparse.Namespace) -> int:
    """The method the options or the scenario ask for."""
    from livesim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    spec = scenario.calibration
    method = args.method or (spec.method if spec is not None else "lsq")
    if method == "abc":
        return calibrate_abc(args, scenario)
    abc_only = [
        f"--{k.replace('_', '-')}"
        for k in ("free", "population", "generations", "tolerance", "max_seconds")
        if getattr(args, k, None)
    ] + (["--resume"] if args.resume else [])
    if abc_only:
        raise ConfigError(f"{abc_only[0]}: only with --method abc")
    return calibrate_lsq(args)


def calibrate_abc(args: argparse.Namespace, scenario: Any) -> int:
    """ABC-SMC: check everything, then run into --out (a folder), write the
    posterior and the report."""
    from livesim.bayes import run_abc, write_outputs
    from livesim.bayes.abc import prepare_abc

    if getattr(args, "fixed", False):
        raise ConfigError("--fixed: --method abc calibrates priors; drop --fixed")
    if args.target:
        targets = parse_abc_targets(args.target)
    options = {
        "population": args.population,
        "generations": args.generations,
        "tolerance": args.tolerance,
        "max_seconds": args.max_seconds,
        "seed": args.seed,
        "targets": targets if args.target else None,
    }
    request = prepare_abc(
        scenario,
        args.scenario.parent,
        args.free or None,
        options,
        args.engine,
        args.workers,
    )
    out = (args.out or Path("results") / f"{scenario.name}-calibrate").resolve()
    check_folder(out, args.resume)
    out.mkdir(parents=True, exist_ok=True)
    args.work_folder = out
    names = ", ".join(p.name for p in request.free)
    print(
        f"{scenario.name}: ABC-SMC of {names} given "
        f"{len(request.observations.names)} observed summaries; "
        f"{request.spec.population} particles, {request.spec.generations} "
        f"generations, engine {request.engine}"
    )
    progress = None if args.no_progress else print_flushed
    with backend_for(args) as backend:
        result = run_abc(request, out, backend, args.resume, progress)
    paths = write_outputs(result, out, args.format)
    args.written = out
    print_posterior(result)
    print(f"wrote {paths[0]} and the report {out / 'report.html'}")
    return EXIT_OK


def print_flushed(line: str) -> None:
    print(line, flush=True)


def parse_abc_targets(items: list[str]) -> dict[str, Any]:
    """--target METRIC=VALUE[:REL_SD] as the section's targets."""
    from livesim.calibrate import parse_targets

    out: dict[str, Any] = {}
    plain = []
    for item in items:
        head, sep, sd = item.rpartition(":")
        if sep and head:
            try:
                rel = float(sd)
            except ValueError:
                rel = -1.0
            if not rel > 0:
                raise ConfigError(
                    f"--target: {item!r}: the error after ':' must be a positive "
                    "relative sd, e.g. net_gmv=5.88e6:0.01"
                )
            ((metric, value),) = parse_targets([head]).items()
            out[metric] = {"value": value, "rel_sd": rel}
        else:
            plain.append(item)
    out.update(parse_targets(plain))
    return out


def check_folder(out: Any, resume: bool) -> None:
    """--out must be a folder (new, or the calibration's own with --resume)."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out: {out} is a file; --method abc writes a folder")
    if resume and not (out / "abc.db").is_file():
        raise ConfigError(f"--resume: {out} holds no calibration (abc.db) to continue")


def print_posterior(result: Any) -> None:
    """The marginals, the ridges and what the intervals are."""
    from livesim.bayes.report import correlations, marginals, ridge_words

    table = marginals(result)
    shown = table[["parameter"]].copy()
    shown["posterior median"] = table["posterior_median"].map(lambda v: f"{v:.4g}")
    shown["90% credible interval"] = [
        f"{lo:.4g} - {hi:.4g}"
        for lo, hi in zip(table["ci90_low"], table["ci90_high"], strict=True)
    ]
    shown["prior 90%"] = [
        f"{lo:.4g} - {hi:.4g}"
        for lo, hi in zip(table["prior90_low"], table["prior90_high"], strict=True)
    ]
    print(shown.to_string(index=False))
    for line in ridge_words(correlations(result)):
        print(line.replace("**", ""))
    print(
        f"{result.simulations:,} simulations in {result.seconds:,.0f} s. The credible "
        "intervals cover parameter uncertainty given the observations and their "
        "errors, with simulation noise; the other priors were drawn throughout."
    )
    if not result.reached:
        print(
            "warning: the final temperature was not reached (time budget or "
            "generations): the posterior is tempered, wider than the exact one"
        )


def calibrate_lsq(args: argparse.Namespace) -> int:
    """Check the request, fit on the backend, print the fit (and write its JSON)."""
    import json

    from livesim.atomic import write_text_atomic
    from livesim.calibrate import fit, parse_targets, prepare_calibration
    from livesim.output import check_out_file

    targets = parse_targets(args.target)
    scenario = without_fitted_priors(load(args.scenario, args))
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
    if getattr(args, "priors_off", None):
        said = (
            "These intervals cover simulation noise only: the scenario's priors "
            f"({', '.join(args.priors_off)}) were switched off (--fixed)."
        )
    else:
        said = covers(scenario.uncertainty)
    print(said)
    if result.parameters["at_bound"].any():
        print("warning: a fitted value is at its bound; widen the bounds and rerun")
    if args.out is not None:
        from livesim.report.fit import fit_report, report_path

        write_text_atomic(args.out, json.dumps(result.to_dict(), indent=2) + "\n")
        page = report_path(args.out)
        write_text_atomic(page, fit_report(result, said))
        print(f"wrote {args.out} and the report {page}")
    if not result.converged:
        print(f"livesim: calibration failed: {result.message}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def without_fitted_priors(scenario: Any) -> Any:
    """The scenario without the priors on a field calibration fits (the fit's value
    would be overwritten by every draw)."""
    from livesim.paths import overlaps

    if scenario.calibration is None or not scenario.uncertainty:
        return scenario
    base = scenario.model_dump(exclude_none=True)
    tables = scenario.calibration.free_tables()
    fitted = [path for free in tables for path in free.paths]
    kept = [
        p
        for p in scenario.uncertainty
        if not any(overlaps(base, a, b) for a in fitted for b in p.paths)
    ]
    dropped = [p.name for p in scenario.uncertainty if p not in kept]
    if dropped:
        print(f"not drawn, calibration fits their fields: {', '.join(dropped)}")
    return scenario.model_copy(update={"uncertainty": kept})
