"""Simulation engines, one model: `agent` (the reference: every viewer a SimPy
process, with an event log) and `cohort` (the same model a batch of viewers at a time,
for campaign scale). `auto` is the cohort engine, unless an event log is asked for:
only the agent engine writes one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # kept out of the import: the command line imports this early
    from livesim.engines.agent import SessionOutput
    from livesim.scenario import Campaign

    Runner = Callable[[Campaign, int, int, bool], SessionOutput]

ENGINES = ("auto", "agent", "cohort")


def engine_runner(name: str) -> Runner:
    """The replication function of an engine ("agent" or "cohort")."""
    if name == "agent":
        from livesim.engines.agent import run_replication as agent

        return agent
    if name == "cohort":
        from livesim.engines.cohort import run_replication as cohort

        return cohort
    raise ValueError(f"unknown engine {name!r}")


def ensure_compiled(progress: bool = True) -> float:
    """Compile the cohort engine now unless this install has (`engines.warmup`):
    the seconds it took, 0.0 when the code was on disk already."""
    from livesim.engines.warmup import ensure_compiled as compile_once

    return compile_once(progress)


def choose_engine(requested: str, event_log: bool = False) -> str:
    """The engine `auto` stands for: the agent engine for event logs, the cohort
    engine (the same distributions, faster: docs/performance.md) otherwise."""
    if requested != "auto":
        return requested
    return "agent" if event_log else "cohort"
