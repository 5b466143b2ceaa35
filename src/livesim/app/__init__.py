"""`livesim app`: the interactive page (Streamlit), started on localhost.

``launch(["--scenario", "teaching_tiny", "--port", "8501", "--no-browser"])`` runs
``python -m streamlit run <page.py> --server.port 8501 --server.headless true`` and
returns its exit code; the page itself is `livesim/app/page.py`, its live and
Viewers views `live.py`, its charts `charts.py`, and its logic, which needs no
Streamlit, `logic.py` (scenarios, controls) with `compute.py` (the live session and
the what-if, on a kept local backend), `eventlog.py` (stock-outs, lost sales and
sampled journeys from the event log) and `notes.py` (teaching mode's notes).
Without the `app` extra it prints one line and returns 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PAGE = Path(__file__).with_name("page.py")
MISSING = "livesim: error: the app needs the app extra: pip install 'livesim[app]'"
#: The page reads its opening scenario from this environment variable.
SCENARIO_ENV = "LIVESIM_APP_SCENARIO"


def parser() -> argparse.ArgumentParser:
    """The options of `livesim app` (the CLI adds them to its subcommand)."""
    p = argparse.ArgumentParser(
        prog="livesim app",
        description="Open the interactive page: funnel dynamics and what-ifs.",
    )
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add --scenario, --port, --address and --no-browser to a parser."""
    p.add_argument(
        "--scenario",
        default=None,
        help="bundled scenario to open on (default: mac_kos101)",
    )
    p.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    p.add_argument("--address", default="localhost", help="address (default localhost)")
    p.add_argument(
        "--no-browser", action="store_true", help="do not open a browser window"
    )


def command(args: argparse.Namespace) -> list[str]:
    """The streamlit command line for parsed options."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(PAGE),
        "--server.port",
        str(args.port),
        "--server.address",
        args.address,
        "--server.headless",
        "true" if args.no_browser else "false",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--theme.base",
        "light",
        "--client.toolbarMode",
        "minimal",
    ]


def streamlit_available() -> bool:
    """Whether the app extra (streamlit) is installed."""
    return importlib.util.find_spec("streamlit") is not None


def launch(argv: Sequence[str] | None = None) -> int:
    """Run the page until it is stopped; the exit code (2 without the app extra)."""
    args = parser().parse_args(list(argv) if argv is not None else None)
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Run the page for parsed options (what the CLI's subcommand calls)."""
    if not streamlit_available():
        print(MISSING, file=sys.stderr)
        return 2
    if args.scenario is not None:
        from livesim.app.logic import bundled_names

        if args.scenario not in bundled_names():
            print(
                f"livesim: error: no bundled scenario {args.scenario!r}; known: "
                f"{', '.join(bundled_names())}",
                file=sys.stderr,
            )
            return 2
    env = dict(os.environ)
    if args.scenario:
        env[SCENARIO_ENV] = args.scenario
    return _supervise(subprocess.Popen(command(args), env=env))


def _supervise(process: subprocess.Popen[bytes]) -> int:
    """Wait for the server; pass a SIGTERM or Ctrl-C on to it, so that stopping
    `livesim app` stops the page too."""

    def stop(signum: int, frame: Any) -> None:
        process.terminate()

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: no handler
        previous = None
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait()
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


__all__ = ["MISSING", "PAGE", "add_arguments", "command", "launch", "parser", "run"]
