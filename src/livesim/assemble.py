"""A run's tables from its replications' outputs (`runner.execute` gathers them).

`assemble` turns each strategy's `SessionOutput`s into the tidy tables of a
`SimulationResult`: one row per replication x strategy x stream, the event log,
and per scope and minute the time series with 5th/95th percentile bands.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from livesim.engines.output import TIMESERIES_COLUMNS, SessionOutput
from livesim.results import ID_COLUMNS, SimulationResult, summarize
from livesim.scenario import Campaign

#: The event log's columns (agent engine, `--events`).
EVENT_COLUMNS = [
    "replication",
    "strategy",
    "stream",
    "viewer",
    "time",
    "event",
    "detail",
]


def assemble(
    outputs: dict[str, dict[int, SessionOutput]],
    campaigns: dict[str, Campaign],
    target_gmv: float | None,
    event_log: bool,
    inner: int = 1,
) -> SimulationResult:
    """The tables of a run from each strategy's replication outputs: rows in
    replication order, the event log sorted by time, the time series with bands."""
    rows: list[dict[str, Any]] = []
    events: list[tuple[Any, ...]] = []
    series: list[pd.DataFrame] = []
    for name, campaign in campaigns.items():
        done = outputs[name]
        reps = sorted(done)
        for r in reps:
            for row in done[r].rows:
                rows.append({"replication": r, "strategy": name} | row)
            logged = done[r].events
            if event_log and logged is not None:
                events += [(r, name, *e) for e in logged]
        whole = np.zeros((len(reps), campaign.horizon, len(TIMESERIES_COLUMNS)))
        per_stream = []
        for stream in campaign.streams:
            stack = np.stack([done[r].timeseries[stream.id] for r in reps])
            whole[:, stream.start : stream.end] += stack
            per_stream.append(timeseries_frame(name, stream.id, stream.start, stack))
        series += [timeseries_frame(name, "campaign", 0, whole), *per_stream]
    replications = pd.DataFrame(rows)
    ordered = ID_COLUMNS + [c for c in replications.columns if c not in ID_COLUMNS]
    replications = replications[ordered]
    event_frame = None
    if event_log:
        event_frame = pd.DataFrame(
            events,
            columns=EVENT_COLUMNS,
        ).sort_values(["replication", "strategy", "stream", "time"], kind="stable")
        event_frame = event_frame.reset_index(drop=True)
    return SimulationResult(
        replications=replications,
        summary=summarize(replications, target_gmv, inner),
        timeseries=pd.concat(series, ignore_index=True),
        events=event_frame,
    )


def timeseries_frame(
    strategy: str, scope: str, start: int, stack: np.ndarray
) -> pd.DataFrame:
    """Mean per minute over replications, with p5/p95 bands for the two levels.

    `scope` is a stream id, or "campaign" for the sum over streams (whose bands come
    from the per-replication sums, not from adding the streams' bands).
    """
    minutes = stack.shape[1]
    frame = pd.DataFrame(
        {"strategy": strategy, "scope": scope, "minute": start + np.arange(minutes)}
    )
    mean = stack.mean(axis=0)
    for j, column in enumerate(TIMESERIES_COLUMNS):
        frame[column] = mean[:, j]
    cum_gmv = np.cumsum(stack[:, :, TIMESERIES_COLUMNS.index("gmv")], axis=1)
    frame["cum_gmv"] = cum_gmv.mean(axis=0)
    concurrent = stack[:, :, TIMESERIES_COLUMNS.index("concurrent")]
    for level, values in (("concurrent", concurrent), ("cum_gmv", cum_gmv)):
        frame[f"{level}_p5"] = np.percentile(values, 5, axis=0)
        frame[f"{level}_p95"] = np.percentile(values, 95, axis=0)
    return frame
