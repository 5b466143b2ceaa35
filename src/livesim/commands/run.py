"""`livesim run`, `livesim compare` and `livesim check`: a scenario's replications.

Each command loads its files, checks `--out` and the store of finished replications
(`--resume`), runs its whole pre-flight, and only then opens the backend and
starts: so a refused request names its problem before any connection to a cluster
and leaves nothing written.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from livesim import __version__
from livesim.commands import (
    EXIT_OK,
    backend_for,
    load,
    print_headline,
    seconds_line,
)
from livesim.pool import interrupts_held

if TYPE_CHECKING:
    from livesim.checkpoint import RunStore
    from livesim.scenario import Scenario


def init(args: argparse.Namespace) -> int:
    """`livesim init NAME.toml [--kind KIND ...]`: a starter scenario, checked."""
    import re
    import tomllib

    from livesim.atomic import write_text_atomic
    from livesim.errors import ConfigError
    from livesim.scenario import scenario_from_dict
    from livesim.starter import starter

    path: Path = args.scenario
    if path.suffix != ".toml":
        raise ConfigError(f"scenario: {str(path)!r} does not end in .toml")
    if path.exists() and not args.force:
        raise ConfigError(f"scenario: {str(path)!r} exists; --force replaces it")
    if not path.parent.is_dir():
        raise ConfigError(f"scenario: the folder {str(path.parent)!r} does not exist")
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "_", path.stem)[:64] or "scenario"
    text = starter(name, args.kind or ["KOS"])
    scenario = scenario_from_dict(tomllib.loads(text))  # as `livesim check` would
    write_text_atomic(path, text)
    kinds = ", ".join(h.kind for h in scenario.hosts)
    print(
        f"wrote {path}: a starter scenario {scenario.name!r} ({kinds}); every value "
        f"is an assumption to replace. Next: livesim check {path}; livesim run {path}"
    )
    return EXIT_OK


def check(args: argparse.Namespace) -> int:
    """`livesim check SCENARIO`: validate, print what the scenario holds."""
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


def run(args: argparse.Namespace) -> int:
    """`livesim run [SCENARIO]`: replications, tables, report and figures."""
    from livesim.output import check_out_folder, write_outputs
    from livesim.runner import execute_with_noise_only, preflight
    from livesim.scenarios import bundled_scenario

    path = args.scenario or bundled_scenario()
    scenario = load(path, args)
    out = (args.out or Path("results") / scenario.name).resolve()
    check_out_folder(out)
    store = run_store(args, out, [scenario])
    request = preflight(
        scenario,
        replications=args.replications,
        seed=args.seed,
        workers=args.workers,
        engine=args.engine,
        strategies=args.strategy,
        event_log=args.events,
        force=args.force,
        inner=args.inner,
    )
    with store, backend_for(args) as backend:
        result = execute_with_noise_only(request, backend, not args.no_progress, store)
        result.manifest["scenario_path"] = str(path)
        if getattr(args, "priors_off", None):
            result.manifest["priors_off"] = args.priors_off
        with interrupts_held():  # the outputs are written whole, then it stops
            written = write_outputs(result, scenario, out, fmt=args.format)
            store.remove()
            args.written = written
    print_headline(result)
    print(
        f"\nwrote {written}/ (report.md, report.html, replications, summary and "
        "timeseries tables, columns.json, manifest.json, figures/) in "
        f"{seconds_line(result.manifest)}"
    )
    return EXIT_OK


def compare(args: argparse.Namespace) -> int:
    """`livesim compare SCENARIO [FILE...]`: strategies on common random numbers."""
    from livesim.compare import prepare_comparison, run_comparison
    from livesim.output import check_out_folder, write_outputs
    from livesim.report.comparison import verdicts

    scenario = load(args.scenario, args)
    others = [load(p, args) for p in args.others]
    out = (args.out or Path("results") / f"{scenario.name}-compare").resolve()
    check_out_folder(out)
    store = run_store(args, out, [scenario, *others])
    requests = prepare_comparison(
        scenario,
        others,
        replications=args.replications,
        seed=args.seed,
        workers=args.workers,
        engine=args.engine,
        strategies=args.strategy,
        force=args.force,
        inner=args.inner,
    )
    with store, backend_for(args) as backend:
        comparison = run_comparison(requests, backend, not args.no_progress, store)
        result = comparison.result
        result.manifest["scenario_path"] = str(args.scenario)
        if getattr(args, "priors_off", None):
            result.manifest["priors_off"] = args.priors_off
        with interrupts_held():  # the outputs are written whole, then it stops
            written = write_outputs(result, scenario, out, comparison, args.format)
            store.remove()
            args.written = written
    print_headline(result)
    print("\nagainst the baseline, on the same random numbers (pairs.csv: every pair):")
    for line in verdicts(comparison):
        print("  " + line)
    extra = "breakeven.csv, " if len(comparison.breakeven) else ""
    print(
        f"\nwrote {written}/ (report.md, report.html, pairs.csv, strategies.csv, "
        f"{extra}replications.csv, summary.csv, timeseries.csv, manifest.json, "
        f"figures/) in {seconds_line(result.manifest)}"
    )
    return EXIT_OK


def run_store(
    args: argparse.Namespace, out: Path, scenarios: list[Scenario]
) -> RunStore:
    """The store of a run's finished replications beside `out`, for the request
    the options and scenarios make (checked now; it is created when the run
    starts). The backend is not part of the request: a run interrupted on one
    backend resumes on another to the same tables."""
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
    if args.inner != 1:  # (a run without it keeps the digest it had)
        request["inner"] = args.inner
    if any(sc.uncertainty for sc in scenarios):
        from livesim.runner import NOISE_ONLY_REPLICATIONS

        request["noise_only_replications"] = NOISE_ONLY_REPLICATIONS
    store = RunStore(work_folder(out), request_digest(request), args.resume)
    args.work_folder = store.folder
    return store
