"""The `livesim` command: `livesim run [SCENARIO]`, `livesim compare SCENARIO
[FILE...]`, `livesim calibrate SCENARIO`, the experiments `livesim sweep`,
`livesim sensitivity` and `livesim optimize` (each taking an experiment TOML),
`livesim app` (the interactive page) and `livesim check SCENARIO`. This module
parses the options and turns errors into exit codes; the commands themselves are
in `livesim.commands`.

Exit codes: 0 success, 1 runtime failure, 2 usage or config error. Errors are one
line each, with the field, the value and the rule; a traceback only with --debug.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

# only light imports here: the console script imports this module before `main`
# can catch a Ctrl-C, so numpy, pandas and the engines load inside `main`
from livesim import __version__
from livesim.commands import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from livesim.errors import ConfigError
from livesim.pool import interrupts_held

#: Exit code when the reader of our output went away (`livesim ... | head -1`),
#: as a shell reports a program ended by SIGPIPE.
EXIT_BROKEN_PIPE = 141
#: The commands that keep finished chunks on disk and can --resume.
EXPERIMENTS = ("sweep", "sensitivity", "optimize")
#: Where each command is: module of `livesim.commands` and function.
COMMANDS = {
    "check": ("run", "check"),
    "init": ("run", "init"),
    "run": ("run", "run"),
    "compare": ("run", "compare"),
    "calibrate": ("calibrate", "calibrate"),
    "sweep": ("experiments", "sweep"),
    "sensitivity": ("experiments", "sensitivity"),
    "optimize": ("experiments", "optimize"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"livesim: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `livesim` command."""
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
    _replications_option(run, 20)
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    _workers_option(run)
    _engine_option(run)
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
    _inner_option(run)
    _format_option(run)
    _backend_options(run)
    _resume_option(run)
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--debug", action="store_true", help="tracebacks on errors")

    cal = sub.add_parser(
        "calibrate",
        help="fit a scenario's free parameters ([calibration]) to target medians",
    )
    cal.add_argument(
        "scenario", type=Path, help="scenario TOML with a [calibration] section"
    )
    cal.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="a target, e.g. gmv=5.88e6 (repeatable; default: the scenario's "
        "[calibration.targets], which these replace); abc takes "
        "METRIC=VALUE:REL_SD, e.g. net_gmv=5.88e6:0.01 (a bare value: rel_sd 0.01)",
    )
    cal.add_argument(
        "--replications",
        "-n",
        type=int,
        help="replications per evaluation (default: the scenario's, else 100)",
    )
    cal.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    _workers_option(cal)
    _engine_option(cal, " (abc always runs the cohort engine)")
    _fixed_option(cal)
    cal.add_argument(
        "--method",
        choices=("lsq", "abc"),
        help="lsq: least squares of medians to targets; abc: a posterior of "
        "[[uncertainty]] priors by ABC-SMC (the [bayes] extra); default: the "
        "scenario's [calibration] method, else lsq",
    )
    cal.add_argument(
        "--free",
        action="append",
        metavar="NAME",
        help="abc: calibrate this [[uncertainty]] entry (repeatable; replaces the "
        "section's free)",
    )
    cal.add_argument(
        "--population", type=int, help="abc: particles per generation (default 200)"
    )
    cal.add_argument(
        "--generations",
        type=int,
        help="abc: generations to reach the final temperature (default: the "
        "scenario's, else 8)",
    )
    cal.add_argument(
        "--tolerance",
        type=float,
        help="abc: the final temperature (default 1: the exact posterior)",
    )
    cal.add_argument(
        "--max-seconds",
        type=float,
        help="abc: time budget, checked after each generation (default none)",
    )
    cal.add_argument(
        "--resume",
        action="store_true",
        help="abc: continue a killed calibration from its database in --out",
    )
    cal.add_argument(
        "--out",
        type=Path,
        help="lsq: also write the result as JSON here; abc: the output folder "
        "(default results/<name>-calibrate)",
    )
    _format_option(cal)
    _backend_options(cal)
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
    _replications_option(cmp, 100)
    cmp.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    _workers_option(cmp)
    _engine_option(cmp)
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
    _inner_option(cmp)
    _format_option(cmp)
    _backend_options(cmp)
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

    init = sub.add_parser(
        "init", help="write a commented starter scenario that passes `livesim check`"
    )
    init.add_argument("scenario", type=Path, help="the file to write, e.g. mine.toml")
    from livesim.archetypes import HOST_KINDS

    init.add_argument(
        "--kind",
        action="append",
        choices=HOST_KINDS,
        help="a host of this kind (repeatable; default: one KOS)",
    )
    init.add_argument(
        "--force", action="store_true", help="replace the file if it exists"
    )
    init.add_argument("--debug", action="store_true", help="tracebacks on errors")

    check = sub.add_parser("check", help="validate a scenario without running it")
    check.add_argument("scenario", type=Path, help="scenario TOML to validate")
    check.add_argument("--debug", action="store_true", help="tracebacks on errors")
    return parser


def _replications_option(parser: argparse.ArgumentParser, default: int) -> None:
    parser.add_argument(
        "--replications",
        "-n",
        type=int,
        default=default,
        help=f"replications per strategy (default {default})",
    )


def _workers_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        "-w",
        type=int,
        default=os.cpu_count() or 1,
        help="local worker processes (default: one per core, here "
        f"{os.cpu_count() or 1})",
    )


def _engine_option(parser: argparse.ArgumentParser, note: str = "") -> None:
    from livesim.engines import ENGINES

    parser.add_argument(
        "--engine",
        default="auto",
        choices=ENGINES,
        help="simulation engine: cohort (batches of viewers, compiled), agent (the "
        "reference: every viewer a SimPy process, event logs) or auto (default: "
        "agent when an event log is asked for, cohort otherwise)" + note,
    )


def _format_option(parser: argparse.ArgumentParser) -> None:
    from livesim.formats import DEFAULT_FORMAT, FORMATS

    parser.add_argument(
        "--format",
        default=DEFAULT_FORMAT,
        choices=FORMATS,
        help="the tables' files: CSV (spreadsheets), Parquet (typed, smaller) or "
        f"both (default {DEFAULT_FORMAT}); columns.json beside them says each "
        "column's unit and meaning",
    )


def _inner_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--inner",
        type=int,
        default=1,
        metavar="K",
        help="replications per parameter draw of the scenario's [[uncertainty]] "
        "priors (default 1; K >= 2 splits the spread into parameters and noise)",
    )
    _fixed_option(parser)
    _posterior_option(parser)


def _posterior_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--posterior",
        type=Path,
        metavar="FILE",
        help="draw the priors a calibration's posterior.csv holds from it "
        "(weighted resampling, the same particle for every strategy)",
    )


def _fixed_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fixed",
        action="store_true",
        help="switch off the scenario's [[uncertainty]] priors: every parameter at "
        "its set value, distributions of simulation noise only",
    )


def _resume_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue a killed or interrupted run into the same --out with the same "
        "scenario, seed and replications: the replications it finished are kept",
    )


def _backend_options(parser: argparse.ArgumentParser) -> None:
    """--backend and --scheduler: where the work runs (every running command)."""
    from livesim.backends import BACKENDS

    parser.add_argument(
        "--backend",
        default="local",
        choices=BACKENDS,
        help="local processes (default) or a Dask cluster (the [dask] extra)",
    )
    parser.add_argument(
        "--scheduler", help="the Dask scheduler's address, e.g. tcp://10.0.0.5:8786"
    )


def _experiment_options(parser: argparse.ArgumentParser, kind: str) -> None:
    """Options shared by the experiment commands (sweep, sensitivity, optimize)."""
    parser.add_argument(
        "--out", type=Path, help=f"output folder (default results/<file stem>-{kind})"
    )
    what = "per candidate in the first round" if kind == "optimize" else "per point"
    parser.add_argument(
        "--replications",
        "-n",
        type=int,
        help=f"replications {what} (default: the file's)",
    )
    parser.add_argument(
        "--seed", type=int, help="random seed (default: the file's seed)"
    )
    _workers_option(parser)
    _format_option(parser)
    _backend_options(parser)
    _posterior_option(parser)
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
        if args.command == "app":
            from livesim.app import run as command
        else:
            module, name = COMMANDS[args.command]
            command = getattr(
                importlib.import_module(f"livesim.commands.{module}"), name
            )
    return int(command(args))


def _preload(command: str) -> None:
    """Import what a command needs (numpy, pandas, scipy, the engines: about a
    second), so that a Ctrl-C during the imports is held until they are done."""
    needs = {
        "check": ["livesim.runner"],
        "init": ["livesim.scenario"],
        "app": [],
    }
    for module in needs.get(command, ["livesim.runner", "livesim.output"]):
        importlib.import_module(module)


def _what_is_kept(args: argparse.Namespace | None) -> str:
    """What an interrupted command leaves, for its one line."""
    written: Path | None = getattr(args, "written", None)
    if written is not None:
        return f"the outputs were written to {str(written)!r} first"
    kept: Path | None = getattr(args, "work_folder", None)
    if kept is not None and (kept / "abc.db").is_file():
        return (
            f"the finished generations are kept in {str(kept / 'abc.db')!r}: rerun "
            "with --resume to continue"
        )
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


__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

if __name__ == "__main__":
    sys.exit(main())
