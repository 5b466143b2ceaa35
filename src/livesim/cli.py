"""The `livesim` command: `livesim run [SCENARIO]`, `livesim compare SCENARIO
[FILE...]`, `livesim calibrate SCENARIO`, the experiments `livesim sweep`,
`livesim sensitivity` and `livesim optimize` (each taking an experiment TOML),
`livesim app` (the interactive page) and `livesim check SCENARIO`.

Exit codes: 0 success, 1 runtime failure, 2 usage or config error. Errors are one
line each, with the field, the value and the rule; a traceback only with --debug.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

# only light imports here: the console script imports this module before `main`
# can catch a Ctrl-C, so numpy, pandas and the engines load inside `main`
from livesim import __version__
from livesim.errors import ConfigError
from livesim.pool import interrupts_held

if TYPE_CHECKING:
    from livesim.backends import Backend
    from livesim.checkpoint import RunStore
    from livesim.results import SimulationResult
    from livesim.scenario import Scenario

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
#: Exit code when the reader of our output went away (`livesim ... | head -1`),
#: as a shell reports a program ended by SIGPIPE.
EXIT_BROKEN_PIPE = 141
#: The commands that keep finished chunks on disk and can --resume.
EXPERIMENTS = ("sweep", "sensitivity", "optimize")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"livesim: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `livesim` command."""
    from livesim.engines import ENGINES

    parser = _Parser(prog="livesim", description="Simulate live-commerce campaigns.")
    parser.add_argument("--version", action="version", version=f"livesim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a scenario and write its results")
    run.add_argument(
        "scenario",
        nargs="?",
        type=Path,
        help="scenario TOML (default: the bundled MAC KOS101 night)",
    )
    run.add_argument(
        "--replications",
        "-n",
        type=int,
        default=20,
        help="replications per strategy (default 20)",
    )
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.add_argument(
        "--workers",
        "-w",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes (default: number of cores)",
    )
    run.add_argument(
        "--engine",
        default="auto",
        choices=ENGINES,
        help="simulation engine: agent (every viewer a SimPy process, event log), "
        "cohort (batches, campaign scale) or auto (default: agent for event logs "
        "and up to 200,000 expected viewers per replication, cohort above)",
    )
    run.add_argument(
        "--out", type=Path, help="output folder (default results/<scenario name>)"
    )
    run.add_argument(
        "--strategy", action="append", help="run only this strategy (repeatable)"
    )
    run.add_argument(
        "--events",
        action="store_true",
        help="also write the per-viewer event log (small runs only)",
    )
    run.add_argument(
        "--force", action="store_true", help="run even past the pre-flight work limit"
    )
    _resume_option(run)
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--debug", action="store_true", help="tracebacks on errors")

    cal = sub.add_parser(
        "calibrate",
        help="fit a scenario's free parameters ([calibration]) to target medians",
    )
    cal.add_argument("scenario", type=Path)
    cal.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="a target median, e.g. gmv=5.88e6 (repeatable; replaces the "
        "scenario's [calibration.targets])",
    )
    cal.add_argument(
        "--replications",
        "-n",
        type=int,
        help="replications per evaluation (default: the scenario's, else 100)",
    )
    cal.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    cal.add_argument("--workers", "-w", type=int, default=os.cpu_count() or 1)
    cal.add_argument("--engine", default="auto", choices=ENGINES)
    cal.add_argument("--out", type=Path, help="also write the result as JSON here")
    cal.add_argument("--no-progress", action="store_true", help="no progress bar")
    cal.add_argument("--debug", action="store_true", help="tracebacks on errors")

    cmp = sub.add_parser(
        "compare",
        help="run strategies with common random numbers and compare them pairwise",
    )
    cmp.add_argument(
        "scenario",
        type=Path,
        help="scenario TOML; its baseline and [strategies.*] are compared",
    )
    cmp.add_argument(
        "others",
        nargs="*",
        type=Path,
        help="more scenario files, each compared as strategies named by its `name`",
    )
    cmp.add_argument("--replications", "-n", type=int, default=100)
    cmp.add_argument("--seed", type=int, default=0)
    cmp.add_argument("--workers", "-w", type=int, default=os.cpu_count() or 1)
    cmp.add_argument("--engine", default="auto", choices=ENGINES)
    cmp.add_argument(
        "--strategy",
        action="append",
        help="compare only this strategy of the first scenario (repeatable)",
    )
    cmp.add_argument(
        "--out", type=Path, help="output folder (default results/<name>-compare)"
    )
    cmp.add_argument(
        "--force", action="store_true", help="run even past the pre-flight work limit"
    )
    _resume_option(cmp)
    cmp.add_argument("--no-progress", action="store_true", help="no progress bar")
    cmp.add_argument("--debug", action="store_true", help="tracebacks on errors")

    sw = sub.add_parser(
        "sweep", help="run a designed experiment over a scenario's parameters"
    )
    sw.add_argument("experiment", type=Path, help="experiment TOML (docs/model.md §12)")
    _experiment_options(sw, "sweep")

    sens = sub.add_parser(
        "sensitivity",
        help="Sobol' indices of net GMV, conversion and ROI to a scenario's parameters",
    )
    sens.add_argument(
        "experiment", type=Path, help="sensitivity TOML (docs/model.md §13)"
    )
    _experiment_options(sens, "sensitivity")

    opt = sub.add_parser(
        "optimize",
        help="the best allocation of a budget over host kinds, counts and sale depth",
    )
    opt.add_argument(
        "experiment", type=Path, help="optimization TOML (docs/model.md §15)"
    )
    _experiment_options(opt, "optimize")

    app = sub.add_parser(
        "app", help="open the interactive page in a browser (needs the app extra)"
    )
    from livesim.app import add_arguments as app_arguments

    app_arguments(app)
    app.add_argument("--debug", action="store_true", help="tracebacks on errors")

    check = sub.add_parser("check", help="validate a scenario without running it")
    check.add_argument("scenario", type=Path)
    check.add_argument("--debug", action="store_true", help="tracebacks on errors")
    return parser


def _resume_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue a killed or interrupted run into the same --out with the same "
        "scenario, seed and replications: the replications it finished are kept",
    )


def _experiment_options(parser: argparse.ArgumentParser, kind: str) -> None:
    """Options shared by the experiment commands (sweep, sensitivity, optimize)."""
    from livesim.backends import BACKENDS

    parser.add_argument(
        "--out", type=Path, help=f"output folder (default results/<file stem>-{kind})"
    )
    parser.add_argument(
        "--workers",
        "-w",
        type=int,
        default=os.cpu_count() or 1,
        help="local worker processes (default: one per core)",
    )
    parser.add_argument(
        "--backend",
        default="local",
        choices=BACKENDS,
        help="local processes (default) or a Dask cluster (the [dask] extra)",
    )
    parser.add_argument(
        "--scheduler", help="the Dask scheduler's address, e.g. tcp://10.0.0.5:8786"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the experiment in --out: chunks already written are kept",
    )
    parser.add_argument(
        "--force", action="store_true", help="run even past the pre-flight work limit"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--debug", action="store_true", help="tracebacks on errors")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `livesim` console script."""
    args: argparse.Namespace | None = None
    try:
        with interrupts_held():  # the parser imports the engines' constants
            parser = build_parser()
        args = parser.parse_args(argv)
        code = _dispatch(args)
        sys.stdout.flush()  # here, so that a closed pipe is caught below
        return code
    except ConfigError as exc:
        if args is not None and args.debug:
            raise
        for line in exc.errors:
            print(f"livesim: error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"livesim: interrupted; {_what_is_kept(args)}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # a runtime failure: one line unless --debug
        if args is not None and args.debug:
            raise
        kept = _what_is_kept(args) if args is not None else ""
        hint = "" if kept.startswith("nothing") else f"; {kept}"
        print(
            f"livesim: failed: {type(exc).__name__}: {exc} (rerun with --debug)" + hint,
            file=sys.stderr,
        )
        return EXIT_FAILURE


def _dispatch(args: argparse.Namespace) -> int:
    with interrupts_held():
        _preload(args.command)
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "check": _check,
        "calibrate": _calibrate,
        "compare": _compare,
        "sweep": _sweep,
        "sensitivity": _sensitivity,
        "optimize": _optimize,
        "app": _app,
        "run": _run,
    }
    return commands[args.command](args)


def _preload(command: str) -> None:
    """Import what a command needs (numpy, pandas, scipy, the engines: about a
    second), so that a Ctrl-C during the imports is held until they are done."""
    import importlib

    needs = {
        "check": ["livesim.runner"],
        "app": [],
    }
    for module in needs.get(command, ["livesim.runner", "livesim.output"]):
        importlib.import_module(module)


def _app(args: argparse.Namespace) -> int:
    from livesim.app import run as run_app

    return run_app(args)


def _what_is_kept(args: argparse.Namespace | None) -> str:
    """What an interrupted command leaves, for its one line."""
    written: Path | None = getattr(args, "written", None)
    if written is not None:
        return f"the outputs were written to {str(written)!r} first"
    kept: Path | None = getattr(args, "work_folder", None)
    if kept is None or not any(kept.glob("*.chunk")):
        return "nothing was written"
    if args is not None and args.command in EXPERIMENTS:
        return (
            f"the finished chunks are kept in {str(kept)!r}: rerun with --resume to "
            "continue"
        )
    return (
        f"the finished replications are kept in {str(kept)!r}: rerun the same "
        "command with --resume to continue"
    )


def _silence_stdout() -> None:
    """The reader of stdout has gone: send what is left of it nowhere, so that
    flushing at exit raises no second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (in tests)
        pass


def _run_store(
    args: argparse.Namespace, out: Path, scenarios: list[Scenario]
) -> RunStore:
    """The store of a run's finished replications beside `out`, for the request
    the options and scenarios make (checked now; it is created when the run
    starts)."""
    from livesim.checkpoint import RunStore, request_digest, work_folder

    request = {
        "command": args.command,
        "scenarios": [sc.digest() for sc in scenarios],
        "seed": args.seed,
        "replications": args.replications,
        "engine": args.engine,
        "strategies": args.strategy,
        "events": getattr(args, "events", False),
        "version": __version__,
    }
    store = RunStore(work_folder(out), request_digest(request), args.resume)
    args.work_folder = store.folder
    return store


def _check(args: argparse.Namespace) -> int:
    from livesim.runner import expected_work
    from livesim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    campaigns = scenario.campaigns()
    print(
        f"{args.scenario}: valid scenario {scenario.name!r}: "
        f"{len(campaigns)} strateg{'y' if len(campaigns) == 1 else 'ies'} "
        f"({', '.join(campaigns)}), about {expected_work(scenario):,.0f} "
        "expected viewers per replication"
    )
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from livesim.output import check_out_folder, write_outputs
    from livesim.runner import simulate
    from livesim.scenario import load_scenario
    from livesim.scenarios import bundled_scenario

    path = args.scenario or bundled_scenario()
    scenario = load_scenario(path)
    out = (args.out or Path("results") / scenario.name).resolve()
    check_out_folder(out)
    store = _run_store(args, out, [scenario])
    with store:
        result: SimulationResult = simulate(
            scenario,
            replications=args.replications,
            seed=args.seed,
            workers=args.workers,
            engine=args.engine,
            strategies=args.strategy,
            event_log=args.events,
            force=args.force,
            progress=not args.no_progress,
            store=store,
        )
        result.manifest["scenario_path"] = str(path)
        with interrupts_held():  # the outputs are written whole, then it stops
            written = write_outputs(result, scenario, out)
            store.remove()
            args.written = written
    _print_headline(result)
    print(
        f"\nwrote {written}/ (report.md, report.html, replications.csv, summary.csv, "
        f"timeseries.csv, manifest.json, figures/) in "
        f"{result.manifest['run_seconds']:.1f} s of simulation"
    )
    return EXIT_OK


def _calibrate(args: argparse.Namespace) -> int:
    import json

    from livesim.calibrate import calibrate, parse_targets
    from livesim.output import check_out_file, write_text_atomic
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
    result = calibrate(
        scenario,
        targets=targets,
        replications=args.replications,
        seed=args.seed,
        workers=args.workers,
        engine=args.engine,
        progress=not args.no_progress,
    )
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
    fit = result.targets.copy()
    fit["median 95% CI"] = [
        f"{_number(lo)} - {_number(hi)}"
        for lo, hi in zip(fit["median_ci_low"], fit["median_ci_high"], strict=True)
    ]
    fit["residual"] = fit["residual"].map(lambda v: f"{v:+.2%}")
    for column in ("target", "median"):
        fit[column] = fit[column].map(_number)
    print(
        fit[["metric", "target", "median", "median 95% CI", "residual"]].to_string(
            index=False
        )
    )
    if result.parameters["at_bound"].any():
        print("warning: a fitted value is at its bound; widen the bounds and rerun")
    if args.out is not None:
        write_text_atomic(args.out, json.dumps(result.to_dict(), indent=2) + "\n")
        print(f"wrote {args.out}")
    if not result.converged:
        print(f"livesim: calibration failed: {result.message}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from livesim.compare import compare
    from livesim.output import check_out_folder, write_outputs
    from livesim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    others = [load_scenario(p) for p in args.others]
    out = (args.out or Path("results") / f"{scenario.name}-compare").resolve()
    check_out_folder(out)
    store = _run_store(args, out, [scenario, *others])
    with store:
        comparison = compare(
            scenario,
            others,
            replications=args.replications,
            seed=args.seed,
            workers=args.workers,
            engine=args.engine,
            strategies=args.strategy,
            progress=not args.no_progress,
            force=args.force,
            store=store,
        )
        result = comparison.result
        result.manifest["scenario_path"] = str(args.scenario)
        with interrupts_held():  # the outputs are written whole, then it stops
            written = write_outputs(result, scenario, out, comparison)
            store.remove()
            args.written = written
    _print_headline(result)
    gmv = comparison.pairs[comparison.pairs["metric"] == "net_gmv"]
    print("\npaired differences in net GMV (first - second), 95% bootstrap CI:")
    for row in gmv.to_dict(orient="records"):
        print(
            f"  {row['first']} - {row['second']}: {row['mean_diff']:+,.0f} RMB "
            f"({row['ci_low']:+,.0f} to {row['ci_high']:+,.0f}); first higher in "
            f"{row['p_first_higher']:.0%} of replications"
        )
    print(
        f"\nwrote {written}/ (report.md, report.html, pairs.csv, strategies.csv, "
        f"replications.csv, summary.csv, timeseries.csv, manifest.json, figures/) "
        f"in {result.manifest['run_seconds']:.1f} s of simulation"
    )
    return EXIT_OK


def _experiment(
    args: argparse.Namespace, kind: str, load: Callable[[Path], Any], run: Any
) -> tuple[Any, Any, Path, float]:
    """Load an experiment file, check --out, and run it on the chosen backend:
    (plan, result, out, wall seconds)."""
    import time

    from livesim.output import check_no_file_in_the_way, check_writable

    plan = load(args.experiment)
    out = args.out or Path("results") / f"{args.experiment.stem}-{kind}"
    check_no_file_in_the_way(out, [out, *out.parents])
    check_writable(out)
    args.work_folder = out / "points"
    started = time.perf_counter()
    with _backend(args) as backend:
        result = run(
            plan,
            out,
            backend=backend,
            resume=args.resume,
            progress=not args.no_progress,
            force=args.force,
        )
    return plan, result, out, time.perf_counter() - started


def _sweep(args: argparse.Namespace) -> int:
    from livesim.sweep import load_experiment, run_sweep

    plan, (table, summary), out, seconds = _experiment(
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
    print(shown.to_string(index=False, float_format=_number))
    print(
        f"\nwrote {out}/ (sweep.csv: one row per point x replication x strategy; "
        f"points.csv: per-point summaries; points/: one file per chunk of "
        f"replications) in {seconds:.1f} s"
    )
    return EXIT_OK


def _sensitivity(args: argparse.Namespace) -> int:
    from livesim.sensitivity import load_sensitivity, run_sensitivity

    plan, found, out, seconds = _experiment(
        args, "sensitivity", load_sensitivity, run_sensitivity
    )
    exp = plan.experiment
    print(
        f"{args.experiment}: Saltelli design of {len(plan.points)} points x "
        f"{exp.replications} replications; Sobol' indices with "
        f"{exp.confidence:.0%} bootstrap CIs, ranked by total index"
    )
    shown = found.indices.drop(columns=["output_variance"])
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(
        f"\nwrote {out}/ (sensitivity.csv, sensitivity.md, sensitivity.png; "
        f"sweep.csv: every point x replication; points/: one file per chunk) in "
        f"{seconds:.1f} s"
    )
    return EXIT_OK


def _optimize(args: argparse.Namespace) -> int:
    from livesim.optimize import load_optimization, run_optimization, summary_lines

    _, result, out, _ = _experiment(
        args, "optimize", load_optimization, run_optimization
    )
    print("\n".join(summary_lines(result)))
    print(
        f"\nwrote {out}/ (candidates.csv, finalists.csv, optimize.md, optimize.png; "
        f"points/: one file per chunk) in {result.seconds:.1f} s"
    )
    return EXIT_OK


@contextlib.contextmanager
def _backend(args: argparse.Namespace) -> Iterator[Backend]:
    """The backend the options ask for, closed afterwards."""
    from livesim.backends import make_backend

    backend = make_backend(args.backend, args.workers, args.scheduler)
    try:
        yield backend
    finally:
        backend.close()


def _number(value: float) -> str:
    """Large values with thousands separators, small ones with 4 digits."""
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"


def _print_headline(result: SimulationResult) -> None:
    from livesim.model.traffic import describe_awareness
    from livesim.report.markdown import HEADLINE_FORMATS

    frame = result.headline()
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


if __name__ == "__main__":
    sys.exit(main())
