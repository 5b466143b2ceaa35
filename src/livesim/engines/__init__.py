"""Simulation engines, one model: `agent` (the reference: every viewer a SimPy
process, with an event log) and `cohort` (the same model a batch of viewers at a time,
for campaign scale). `auto` picks agent for small runs and event logs, cohort else."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # kept out of the import: the command line imports this early
    from livesim.engines.agent import SessionOutput
    from livesim.scenario import Campaign

    Runner = Callable[[Campaign, int, int, bool], SessionOutput]

ENGINES = ("auto", "agent", "cohort")
#: `auto` uses the agent engine up to this many expected viewers per replication.
AUTO_AGENT_LIMIT = 200_000


def engine_runner(name: str) -> Runner:
    """The replication function of an engine ("agent" or "cohort")."""
    if name == "agent":
        from livesim.engines.agent import run_replication as agent

        return agent
    if name == "cohort":
        from livesim.engines.cohort import run_replication as cohort

        return cohort
    raise ValueError(f"unknown engine {name!r}")


def choose_engine(requested: str, expected_viewers: float, event_log: bool) -> str:
    """The engine `auto` stands for: agent for event logs and small runs."""
    if requested != "auto":
        return requested
    return "agent" if event_log or expected_viewers <= AUTO_AGENT_LIMIT else "cohort"
