"""The page's runs: one live session, and the what-if on the page's backend.

* `live_session(...)` runs one replication of one stream (and the streams that feed
  it carry-over) on the agent engine with its per-viewer event log, and returns the
  stream's minutes: concurrent viewers, arrivals by source, the funnel stages filled
  so far, orders and cumulative GMV, the promotions to mark, the products that sold
  out with their lost sales, and a few sampled viewers' journeys
  (`livesim.app.eventlog`); `live_session_start(...)` runs it on one of the
  what-if's worker processes, so the page's own process stays free to draw.
* `whatif(...)` runs a few replications of the whole campaign on the cohort engine,
  as jobs of `livesim.backends` on a kept local backend of spawned processes
  (Streamlit runs threads), and `paired_differences` compares them with a saved
  baseline run on the same seed and replications: common random numbers make the
  differences paired (`livesim.compare.paired`).

Both runs are cached on the validated scenario's JSON, so a slider moved back to an
earlier value, or a page opened twice, costs nothing.
"""

from __future__ import annotations

import json
import math
import os
import time as clock_time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from livesim.app.eventlog import (
    StockOut,
    TrustModel,
    by_viewer,
    journeys,
    sample_viewers,
    stockouts,
    trust_paths,
)
from livesim.backends import Job, LocalBackend, run_job
from livesim.compare import paired
from livesim.engines import engine_runner
from livesim.engines.output import TIMESERIES_COLUMNS
from livesim.pool import closed_after
from livesim.results import ADDITIVE
from livesim.scenario import Campaign, Scenario, scenario_from_dict

#: Replications of the what-if per bundled scenario: as many as keep an update after
#: a slider move under two seconds on a 2-core machine (measured: README).
DEFAULT_REPLICATIONS = {"teaching_tiny": 12, "mac_kos101": 4}
FALLBACK_REPLICATIONS = 8
#: Funnel stages of the live view, in order, with the events that mark them.
LIVE_STAGES = ("entered", "engaged", "clicked", "ordered")
ENGAGING_EVENTS = ("like", "comment", "click", "share", "question", "order")
#: The replay shows this many frames per second.
REPLAY_FPS = 8


#: Campaign totals the what-if keeps per replication.
WHATIF_COLUMNS = (
    *ADDITIVE,
    "mean_watch_minutes",
    "mean_qa_wait",
    "conversion_rate",
    "roi",
)


def scenario_key(scenario: Scenario) -> str:
    """A hashable key of a validated scenario: its JSON (what the caches use)."""
    return scenario.model_dump_json()


@lru_cache(maxsize=64)
def _from_key(key: str) -> Scenario:
    return scenario_from_dict(json.loads(key))


# ---------------------------------------------------------------- live session


@dataclass
class Session:
    """One replication of one stream, minute by minute (stream minutes 0..T-1)."""

    stream: str
    host_kind: str
    minutes: pd.DataFrame
    totals: dict[str, float]
    promotions: list[dict[str, Any]] = field(default_factory=list)
    #: Products that sold out before the stream's end, in the order they ran out.
    stockouts: list[StockOut] = field(default_factory=list)
    #: Sampled viewers' events (viewer, minute, event, detail) and trust curves.
    journeys: pd.DataFrame = field(default_factory=pd.DataFrame)
    trust: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def duration(self) -> int:
        """The stream's length in minutes."""
        return len(self.minutes)

    def upto(self, minute: int) -> pd.DataFrame:
        """The minutes shown after `minute` minutes of replay."""
        return self.minutes.iloc[: max(0, min(minute, self.duration))]

    def funnel_at(self, minute: int) -> pd.DataFrame:
        """The funnel stages filled by the end of `minute` (cumulative counts)."""
        shown = self.upto(minute)
        last = shown.iloc[-1] if len(shown) else None
        rows = []
        for stage in LIVE_STAGES:
            count = float(last[stage]) if last is not None else 0.0
            rows.append({"stage": stage, "count": count})
        frame = pd.DataFrame(rows)
        previous = frame["count"].shift(1)
        frame["share of previous"] = np.where(
            previous > 0, frame["count"] / previous, np.nan
        )
        return frame


def default_stream(scenario: Scenario, strategy: str) -> str:
    """The stream the live view opens on: the first with a promotion, else the first."""
    streams = scenario.campaigns()[strategy].streams
    return next((s.id for s in streams if s.promotions), streams[0].id)


def feeders(campaign: Campaign, stream_id: str) -> Campaign:
    """The campaign cut to a stream, the streams that can send it carry-over viewers,
    and the other streams those split their carry-over with (so the split is kept)."""
    streams = {s.id: s for s in campaign.streams}
    chosen = streams[stream_id]
    feeding = [s for s in campaign.streams if s.end <= chosen.start]
    keep = {chosen.id, *(s.id for s in feeding)}
    for f in feeding:
        keep |= {s.id for s in campaign.streams if s.start >= f.end}
    return replace(campaign, streams=tuple(s for s in campaign.streams if s.id in keep))


def live_session(
    scenario: Scenario, strategy: str, stream: str, replication: int, seed: int
) -> Session:
    """One replication of a stream on the agent engine, in this process (cached)."""
    return live_session_start(scenario, strategy, stream, replication, seed, 1)()


_LIVE_CACHE: OrderedDict[tuple[str, str, str, int, int], Session] = OrderedDict()
LIVE_CACHE_SIZE = 32


def live_session_start(
    scenario: Scenario,
    strategy: str,
    stream: str,
    replication: int,
    seed: int,
    workers: int | None = None,
) -> Callable[[], Session]:
    """Start `live_session` on one of the page's worker processes; call the result
    to wait for it (with one worker it runs in this process then).

    The page starts it before the what-if's jobs and shows the headline when the
    what-if is in, while this process stays free to draw: the agent engine is
    pure Python, and in a thread here it would hold the page's interpreter.
    """
    key = (scenario_key(scenario), strategy, stream, replication, seed)
    if key in _LIVE_CACHE:
        done = _remember(_LIVE_CACHE, key, _LIVE_CACHE[key], LIVE_CACHE_SIZE)
        return lambda: done
    n = workers or app_workers()
    pool = backend(n).kept if n > 1 else None
    if pool is None:
        return lambda: _remember(_LIVE_CACHE, key, _live(*key), LIVE_CACHE_SIZE)
    future = pool.start().submit(_live, *key)

    def collect() -> Session:
        try:
            session = future.result()
        except BrokenProcessPool:  # a worker died: new ones next time, this here
            pool.stop()
            session = _live(*key)
        return _remember(_LIVE_CACHE, key, session, LIVE_CACHE_SIZE)

    return collect


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any, size: int) -> Any:
    """Keep `value` as the most recent entry of a cache of at most `size`."""
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > size:
        cache.popitem(last=False)
    return value


def _live(key: str, strategy: str, stream: str, replication: int, seed: int) -> Session:
    scenario = _from_key(key)
    campaign = feeders(scenario.campaigns()[strategy], stream)
    output = engine_runner("agent")(campaign, seed, replication, True)
    chosen = next(s for s in campaign.streams if s.id == stream)
    series = pd.DataFrame(output.timeseries[stream], columns=list(TIMESERIES_COLUMNS))
    series.insert(0, "minute", np.arange(len(series)))
    series["cum_gmv"] = series["gmv"].cumsum()
    series["cum_orders"] = series["orders"].cumsum()
    events = [e for e in output.events or [] if e[0] == stream]
    stages = stage_counts(events, chosen.start, chosen.duration)
    for stage in LIVE_STAGES:
        series[stage] = stages[stage]
    series["cum_lost"] = lost_by_minute(events, chosen.start, chosen.duration)
    row = next(r for r in output.rows if r["stream"] == stream)
    stock = {pid: p.stock for pid, p in campaign.products.items()}
    window = (float(chosen.start), float(chosen.end))
    sampled = sample_viewers(events, (seed, replication))
    viewers = by_viewer(events, sampled)
    return Session(
        stream=stream,
        host_kind=str(row["host_kind"]),
        minutes=series,
        totals={k: float(v) for k, v in row.items() if isinstance(v, int | float)},
        promotions=promotion_marks(chosen),
        stockouts=stockouts(
            output.events or [], stock, stream, chosen.products, window
        ),
        journeys=journeys(viewers, sampled, window[0]),
        trust=trust_paths(viewers, sampled, trust_model(campaign, chosen), window[0]),
    )


def trust_model(campaign: Campaign, stream: Any) -> TrustModel:
    """The trust parameters of a stream's host."""
    host = campaign.host_of(stream)
    return TrustModel(
        initial=host.initial_trust,
        ceiling=host.trust_ceiling,
        rate=host.trust_rate,
        answer_gain=host.answer_trust_gain,
        abandon_loss=host.abandon_trust_loss,
    )


def stage_counts(
    events: Sequence[tuple[str, int, float, str, str]], start: float, duration: int
) -> dict[str, np.ndarray]:
    """Cumulative viewers per funnel stage at the end of each stream minute.

    A viewer reaches a stage at its first event of that stage: entered at its first
    arrival, engaged at its first like, comment, click, share, question or order,
    clicked at its first click or order, ordered at its in-stream order. Buyers are
    counted as engaged and clicked, so the stages stay nested.
    """
    first: dict[str, dict[int, float]] = {s: {} for s in LIVE_STAGES}
    for _, viewer, time, event, _detail in events:
        stages = _stages_of(event)
        for stage in stages:
            seen = first[stage]
            if viewer not in seen or time < seen[viewer]:
                seen[viewer] = time
    edges = start + np.arange(1, duration + 1, dtype=float)
    out = {}
    for stage in LIVE_STAGES:
        times = np.sort(np.fromiter(first[stage].values(), dtype=float))
        out[stage] = np.searchsorted(times, edges, side="left").astype(float)
    return out


def lost_by_minute(
    events: Sequence[tuple[str, int, float, str, str]], start: float, duration: int
) -> np.ndarray:
    """Cumulative lost sales (purchases that found no stock) at the end of each
    stream minute, in the stream."""
    times = np.sort([e[2] for e in events if e[3] == "lost_sale"])
    edges = start + np.arange(1, duration + 1, dtype=float)
    return np.searchsorted(times, edges, side="left").astype(float)


def _stages_of(event: str) -> tuple[str, ...]:
    if event == "arrive":
        return ("entered",)
    if event == "order":
        return ("engaged", "clicked", "ordered")
    if event == "click":
        return ("engaged", "clicked")
    if event in ENGAGING_EVENTS:
        return ("engaged",)
    return ()


def promotion_marks(stream: Any) -> list[dict[str, Any]]:
    """The stream's promotions as labelled intervals of stream minutes."""
    marks = []
    for promo in stream.promotions:
        what = ", ".join(promo.products) if promo.products else "all products"
        marks.append(
            {
                "start": float(promo.start),
                "end": float(promo.start + promo.duration),
                "label": f"-{promo.discount:.0%} {what}",
            }
        )
    return marks


def replay_minute(start: int, duration: int, speed: float, elapsed: float) -> int:
    """The minute a replay from `start` at `speed` stream minutes per second is due
    to show `elapsed` seconds in (frames that drawing made late are skipped)."""
    return min(duration, start + int(elapsed * speed))


def replay(
    start: int,
    duration: int,
    speed: float,
    draw: Callable[[int, float], None],
    clock: Callable[[], float] = clock_time.perf_counter,
    sleep: Callable[[float], None] = clock_time.sleep,
) -> float:
    """Replay minutes `start`..`duration` against the wall clock: at most
    `REPLAY_FPS` frames a second, each drawing the minute due (`replay_minute`),
    so a slow drawing skips minutes instead of lagging. `draw(minute, rate)` gets
    the minute and the rate achieved so far; returns the rate achieved over the
    whole replay (stream minutes per second of wall time)."""
    began = clock()
    shown = start
    while shown < duration:
        frame = clock()
        due = replay_minute(start, duration, speed, frame - began)
        if due > shown:
            shown = due
            draw(shown, (shown - start) / (frame - began))
        sleep(max(0.0, 1.0 / REPLAY_FPS - (clock() - frame)))
    spent = clock() - began
    return (shown - start) / spent if spent > 0 else math.inf


# ---------------------------------------------------------------------- what-if


def default_replications(name: str) -> int:
    """What-if replications for a bundled scenario (fast enough to feel live)."""
    return DEFAULT_REPLICATIONS.get(name, FALLBACK_REPLICATIONS)


def app_workers() -> int:
    """Worker processes for the what-if: LIVESIM_APP_WORKERS, else up to 2 cores."""
    env = os.environ.get("LIVESIM_APP_WORKERS")
    if env:
        return max(1, int(env))
    return max(1, min(2, os.cpu_count() or 1))


_BACKENDS: dict[int, LocalBackend] = {}


def backend(workers: int) -> LocalBackend:
    """The what-if's local backend, its processes kept for the life of the page
    (spawned: a forked child of the server would copy its threads' locks)."""
    if workers not in _BACKENDS:
        _BACKENDS[workers] = LocalBackend(workers, keep=True, start_method="spawn")
    return _BACKENDS[workers]


def warm_up(workers: int | None = None) -> None:
    """Start the worker processes and import livesim in them (a page's first run)."""
    n = workers or app_workers()
    if n > 1:
        list(backend(n).map_unordered(_ping, range(n)))


def _ping(_: int) -> int:
    return os.getpid()


def whatif(
    scenario: Scenario,
    strategy: str,
    replications: int,
    seed: int,
    workers: int | None = None,
) -> pd.DataFrame:
    """Campaign totals of `replications` cohort-engine replications (cached)."""
    return whatif_start(scenario, strategy, replications, seed, workers)()


_WHATIF_CACHE: OrderedDict[tuple[str, str, int, int], pd.DataFrame] = OrderedDict()
WHATIF_CACHE_SIZE = 64


def whatif_start(
    scenario: Scenario,
    strategy: str,
    replications: int,
    seed: int,
    workers: int | None = None,
) -> Callable[[], pd.DataFrame]:
    """Start a what-if run on the page's backend; call the result to wait for it.

    The page starts the live session and the what-if, then collects: the runs
    overlap (the kept backend sends the jobs at once; with one worker they run in
    this process when collected).
    Results are cached per scenario, strategy, replications and seed (not per
    number of workers: same tables).
    """
    n = workers or app_workers()
    key = (scenario_key(scenario), strategy, replications, seed)
    if key in _WHATIF_CACHE:
        done = _remember(_WHATIF_CACHE, key, _WHATIF_CACHE[key], WHATIF_CACHE_SIZE)
        return lambda: done
    chunks = [c for c in (list(range(i, replications, n)) for i in range(n)) if c]
    jobs = [
        Job(
            f"whatif-{i}",
            scenario,
            tuple(c),
            seed,
            "cohort",
            WHATIF_COLUMNS,
            (strategy,),
        )
        for i, c in enumerate(chunks)
    ]
    results = backend(n).map_unordered(run_job, jobs)

    def collect() -> pd.DataFrame:
        with closed_after(results) as finished:
            frames = dict(finished)
        out = pd.concat([frames[i] for i in range(len(jobs))], ignore_index=True)
        out = out.sort_values("replication", ignore_index=True)
        return _remember(_WHATIF_CACHE, key, out, WHATIF_CACHE_SIZE)

    return collect


def without_priors(scenario: Scenario) -> Scenario:
    """The scenario with its `[[uncertainty]]` priors switched off: every
    parameter at its set value (the what-if's "parameters fixed" run)."""
    return scenario.model_copy(update={"uncertainty": []})


WHATIF_METRICS = (
    ("net_gmv", "net GMV (RMB)"),
    ("roi", "ROI"),
    ("orders", "orders"),
    ("conversion_rate", "conversion"),
)


def paired_differences(
    current: pd.DataFrame, baseline: pd.DataFrame, seed: int = 0
) -> pd.DataFrame:
    """Per metric: means of both, the mean paired difference (current - baseline)
    with its 95% BCa bootstrap CI, and P(current > baseline) over replications."""
    merged = current.merge(baseline, on="replication", suffixes=("", "_base"))
    rows = []
    for metric, label in WHATIF_METRICS:
        a = merged[metric].to_numpy(dtype=float)
        b = merged[f"{metric}_base"].to_numpy(dtype=float)
        result = paired(a, b, seed)
        rows.append(
            {
                "metric": label,
                "baseline": float(np.nanmean(b)) if len(b) else math.nan,
                "current": float(np.nanmean(a)) if len(a) else math.nan,
                "difference": result["mean_diff"],
                "ci_low": result["ci_low"],
                "ci_high": result["ci_high"],
                "p_current_higher": result.get("p_first_higher", math.nan),
                "n": result["n"],
            }
        )
    return pd.DataFrame(rows)


def distribution_frame(
    runs: dict[str, pd.DataFrame], metrics: Iterable[str] = ("net_gmv", "roi")
) -> pd.DataFrame:
    """A long table (setting, replication, metric, value) for the what-if plots."""
    frames = []
    for setting, frame in runs.items():
        for metric in metrics:
            frames.append(
                pd.DataFrame(
                    {
                        "setting": setting,
                        "replication": frame["replication"],
                        "metric": metric,
                        "value": frame[metric].astype(float),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)
