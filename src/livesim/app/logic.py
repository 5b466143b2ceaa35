"""The interactive page's logic, without Streamlit: controls, runs, funnel, what-if.

Everything the page shows is computed here so that it can be tested without a browser:

* `controls(data)` lists the sliders a scenario offers (per host kind, promotions,
  stock) with their current values; `apply_controls(data, values)` writes slider
  values into a copy of the scenario dict, which `build` validates.
* `live_session(...)` runs one replication of one stream (and the streams that feed
  it carry-over) on the agent engine with its per-viewer event log, and returns the
  stream's minutes: concurrent viewers, arrivals by source, the funnel stages filled
  so far, orders and cumulative GMV, and the promotions to mark.
* `whatif(...)` runs a few replications of the whole campaign on the cohort engine
  (split over worker processes) and `paired_differences` compares them with a saved
  baseline run on the same seed and replications: common random numbers make the
  differences paired (`livesim.compare.paired`).

Both runs are cached on the validated scenario's JSON, so a slider moved back to an
earlier value, or a page opened twice, costs nothing.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from livesim.archetypes import ARCHETYPES
from livesim.compare import paired
from livesim.engines import engine_runner
from livesim.engines.agent import TIMESERIES_COLUMNS
from livesim.runner import campaign_rows
from livesim.scenario import Campaign, Scenario, scenario_from_dict
from livesim.scenarios import DEFAULT, bundled_scenario

#: Replications of the what-if per bundled scenario: as many as keep an update after
#: a slider move under two seconds on a 2-core machine (measured: README).
DEFAULT_REPLICATIONS = {"teaching_tiny": 12, "mac_kos101": 4}
FALLBACK_REPLICATIONS = 8
#: Funnel stages of the live view, in order, with the events that mark them.
LIVE_STAGES = ("entered", "engaged", "clicked", "ordered")
ENGAGING_EVENTS = ("like", "comment", "click", "share", "question", "order")
#: The replay shows this many frames per second.
REPLAY_FPS = 8


# --------------------------------------------------------------------- scenarios


def bundled_names() -> list[str]:
    """The bundled scenarios, the default first."""
    folder = bundled_scenario(DEFAULT).parent
    names = sorted(p.stem for p in folder.glob("*.toml"))
    return [DEFAULT, *(n for n in names if n != DEFAULT)]


def load_base(name: str) -> dict[str, Any]:
    """A bundled scenario as a plain dict (a fresh copy each call)."""
    return copy.deepcopy(_base(name))


@lru_cache(maxsize=16)
def _base(name: str) -> dict[str, Any]:
    from livesim import load_scenario

    return load_scenario(bundled_scenario(name)).model_dump(exclude_none=True)


def build(data: dict[str, Any]) -> Scenario:
    """Validate a scenario dict (raises `livesim.ConfigError` listing problems)."""
    return scenario_from_dict(data)


def scenario_key(scenario: Scenario) -> str:
    """A hashable key of a validated scenario: its JSON (what the caches use)."""
    return scenario.model_dump_json()


@lru_cache(maxsize=64)
def _from_key(key: str) -> Scenario:
    return scenario_from_dict(json.loads(key))


def strategies(scenario: Scenario) -> list[str]:
    """The scenario's strategies, the baseline first."""
    return list(scenario.campaigns())


# ---------------------------------------------------------------------- controls


@dataclass(frozen=True)
class Control:
    """One slider: where it writes, its range, and one sentence on what it does."""

    key: str
    label: str
    group: str
    low: float
    high: float
    step: float
    value: float
    help: str
    integer: bool = False
    options: tuple[float, ...] = ()


#: Per host kind: (parameter, label, low, high, step, integer). `followers` is the
#: mean over the kind's hosts (each host is scaled); `engagement` multiplies the
#: like, comment and click rates.
HOST_CONTROLS: tuple[tuple[str, str, float, float, float, bool], ...] = (
    ("followers", "followers (mean per host)", 0.0, 0.0, 0.0, True),
    ("initial_trust", "initial trust", 0.0, 1.0, 0.01, False),
    ("trust_rate", "trust-building rate (1/min)", 0.0, 1.0, 0.01, False),
    ("purchase_rate", "purchase rate (1/min)", 0.0, 0.1, 0.001, False),
    ("engagement", "engagement (x likes, comments, clicks)", 0.25, 2.0, 0.05, False),
    ("qa_capacity", "Q&A capacity (answerers)", 0.0, 10.0, 1.0, True),
)
ENGAGEMENT_RATES = ("like_rate", "comment_rate", "click_rate")

#: One sentence per parameter, with the docs/model.md section that defines it.
PARAMETER_HELP: dict[str, tuple[str, str]] = {
    "followers": (
        "Accounts following the host; a share of them is shown the stream "
        "(reach) and a share of those enter.",
        "2",
    ),
    "initial_trust": (
        "How much a new viewer trusts the host on entering; the purchase hazard "
        "is proportional to trust.",
        "3",
    ),
    "trust_rate": (
        "How fast trust grows toward its ceiling while a viewer watches (per "
        "minute): KOS build it fastest.",
        "3",
    ),
    "purchase_rate": (
        "The purchase hazard per minute of a viewer with intent 1 and full trust: "
        "the main lever of conversion.",
        "3",
    ),
    "engagement": (
        "Scales likes, comments and product clicks per minute; comments also "
        "bring platform traffic through the feedback loop.",
        "3",
    ),
    "qa_capacity": (
        "Answerers at the Q&A desk: answered questions raise trust, unanswered "
        "ones lower it.",
        "3",
    ),
    "promotion_start": (
        "Minute of the stream at which the promotions start; a promotion acts "
        "only on a promoted product while it is featured.",
        "6",
    ),
    "discount": (
        "Price cut during the promotions: it raises the purchase hazard by "
        "(1 - discount) to the power -price sensitivity, and lowers order value.",
        "3",
    ),
    "stock": (
        "Scales the stock of every limited product: an order that finds it "
        "empty is a lost sale, and low stock adds scarcity urgency.",
        "3",
    ),
}

#: One sentence per funnel stage, with its docs/model.md section.
STAGE_HELP: dict[str, tuple[str, str]] = {
    "reached": (
        "Accounts shown the stream: followers reached, platform recommendations "
        "and ad impressions, and word-of-mouth, carry-over and awareness-phase "
        "visits.",
        "2",
    ),
    "entered": (
        "Viewers who entered the room, once per visit (fake followers included: "
        "they count but never engage or buy).",
        "2",
    ),
    "engaged": (
        "Viewers who liked, commented, clicked a product, shared or asked at "
        "least once (buyers count as engaged).",
        "3",
    ),
    "clicked": (
        "Viewers who clicked through to a product (buyers count as clicked).",
        "3",
    ),
    "ordered": (
        "Orders placed: in-stream at a hazard that grows with trust and "
        "discounts, plus delayed orders after leaving.",
        "3",
    ),
    "kept": ("Orders not returned: what net GMV counts.", "4"),
}


def kinds(data: dict[str, Any]) -> list[str]:
    """Host kinds used by the scenario or its strategies, in order of appearance."""
    return list(dict.fromkeys(h["kind"] for h in _all_hosts(data)))


def _all_hosts(data: dict[str, Any]) -> list[dict[str, Any]]:
    hosts = list(data.get("hosts", []))
    for strategy in data.get("strategies", {}).values():
        hosts += strategy.get("hosts") or []
    return hosts


def _all_streams(data: dict[str, Any]) -> list[dict[str, Any]]:
    streams = list(data.get("streams", []))
    for strategy in data.get("strategies", {}).values():
        streams += strategy.get("streams") or []
    return streams


def _all_products(data: dict[str, Any]) -> list[dict[str, Any]]:
    products = list(data.get("products", []))
    for strategy in data.get("strategies", {}).values():
        products += strategy.get("products") or []
    return products


def host_value(host: dict[str, Any], name: str) -> float:
    """A host's parameter: its override, else its kind's archetype."""
    if name == "engagement":
        return 1.0
    return float(host.get(name, ARCHETYPES[host["kind"]][name]))


def controls(data: dict[str, Any]) -> list[Control]:
    """The sliders of a scenario dict, each at the scenario's current value."""
    out: list[Control] = []
    for kind in kinds(data):
        hosts = [h for h in data["hosts"] if h["kind"] == kind] or [
            h for h in _all_hosts(data) if h["kind"] == kind
        ]
        for name, label, low, high, step, integer in HOST_CONTROLS:
            value = float(f"{np.mean([host_value(h, name) for h in hosts]):.6g}")
            if name == "followers":
                value = float(round(value))
                low, high = 0.0, float(_followers_max(value))
                step = max(1.0, _nice(high / 200))
            elif name == "trust_rate" or name == "purchase_rate":
                high = max(high, _nice(value * 3))
            out.append(
                Control(
                    key=f"{kind}.{name}",
                    label=label,
                    group=f"{kind} hosts",
                    low=low,
                    high=high,
                    step=step,
                    value=min(max(value, low), high),
                    help=PARAMETER_HELP[name][0],
                    integer=integer,
                )
            )
    out += _promotion_controls(data)
    out += _stock_controls(data)
    return out


def _followers_max(value: float) -> float:
    return _nice(max(4 * value, 10_000))


def _nice(x: float) -> float:
    """A round number at or above x (1, 2 or 5 times a power of ten)."""
    if x <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(x))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= x))


def _first_promotion(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    stream = next(s for s in data["streams"] if s.get("promotions"))
    return stream, stream["promotions"][0]


def promotion_starts(data: dict[str, Any]) -> tuple[float, ...]:
    """Start minutes (every 5) at which the first stream's first promotion applies
    to one of its products: the timing slider offers only these."""
    stream, promo = _first_promotion(data)
    products = stream["products"]
    n = len(products)
    segment = stream.get("segment_minutes") or stream["duration"] / n
    targets = set(promo.get("products") or products)
    out = []
    for start in range(0, int(stream["duration"] - promo["duration"]) + 1, 5):
        first = int(start / segment)
        last = int((start + promo["duration"] - 1e-9) / segment)
        featured = {products[k % n] for k in range(first, min(last, first + n) + 1)}
        if featured & targets:
            out.append(float(start))
    return tuple(out)


def _promotion_controls(data: dict[str, Any]) -> list[Control]:
    if not any(s.get("promotions") for s in data["streams"]):
        return []
    _, promo = _first_promotion(data)
    starts = promotion_starts(data)
    group = "promotions"
    return [
        Control(
            key="promotion.start",
            label="promotion start (minute of the stream)",
            group=group,
            low=starts[0],
            high=starts[-1],
            step=5.0,
            value=float(promo["start"]),
            help=PARAMETER_HELP["promotion_start"][0],
            integer=True,
            options=starts,
        ),
        Control(
            key="promotion.discount",
            label="discount (share of price)",
            group=group,
            low=0.0,
            high=0.6,
            step=0.05,
            value=float(promo["discount"]),
            help=PARAMETER_HELP["discount"][0],
        ),
    ]


def _stock_controls(data: dict[str, Any]) -> list[Control]:
    if not any(p.get("stock") is not None for p in data["products"]):
        return []
    return [
        Control(
            key="stock.scale",
            label="stock (x the scenario's, limited products)",
            group="stock",
            low=0.1,
            high=3.0,
            step=0.1,
            value=1.0,
            help=PARAMETER_HELP["stock"][0],
        )
    ]


def defaults(data: dict[str, Any]) -> dict[str, float]:
    """The control values of an unchanged scenario."""
    return {c.key: c.value for c in controls(data)}


def apply_controls(data: dict[str, Any], values: dict[str, float]) -> dict[str, Any]:
    """A copy of the scenario dict with the control values written in.

    Host parameters go to every host of the kind (followers are scaled so that their
    mean is the slider's value); promotion timing moves every stream's first
    promotion by the same minutes and the discount sets every promotion's depth;
    stock scales every limited product. Strategies' own sections change the same way.
    """
    out = copy.deepcopy(data)
    base = controls(data)
    current = {c.key: c.value for c in base}
    for key, value in values.items():
        if key not in current or value == current[key]:
            continue
        head, _, name = key.partition(".")
        if head == "promotion":
            _apply_promotion(out, name, value, current[key])
        elif head == "stock":
            _apply_stock(out, value / current[key])
        else:
            _apply_host(out, head, name, value, current[key])
    return out


def _apply_host(
    data: dict[str, Any], kind: str, name: str, value: float, old: float
) -> None:
    for host in _all_hosts(data):
        if host["kind"] != kind:
            continue
        if name == "followers":
            scaled = host_value(host, name) * value / old if old > 0 else value
            host[name] = int(round(scaled))
        elif name == "engagement":
            for rate in ENGAGEMENT_RATES:
                host[rate] = host_value(host, rate) * value / old
        elif name == "qa_capacity":
            host[name] = int(round(value))
        else:
            host[name] = float(value)
            if name == "initial_trust":
                host["trust_ceiling"] = max(value, host_value(host, "trust_ceiling"))


def _apply_promotion(data: dict[str, Any], name: str, value: float, old: float) -> None:
    for stream in _all_streams(data):
        for j, promo in enumerate(stream.get("promotions") or []):
            if name == "discount":
                promo["discount"] = float(value)
            elif j == 0:
                shift = int(round(value - old))
                top = stream["duration"] - promo["duration"]
                promo["start"] = int(min(max(promo["start"] + shift, 0), top))


def _apply_stock(data: dict[str, Any], ratio: float) -> None:
    for product in _all_products(data):
        if product.get("stock") is not None:
            product["stock"] = int(round(product["stock"] * ratio))


# ---------------------------------------------------------------- live session


@dataclass
class Session:
    """One replication of one stream, minute by minute (stream minutes 0..T-1)."""

    stream: str
    host_kind: str
    minutes: pd.DataFrame
    totals: dict[str, float]
    promotions: list[dict[str, Any]] = field(default_factory=list)

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
    """One replication of a stream on the agent engine (cached)."""
    return _live(scenario_key(scenario), strategy, stream, replication, seed)


@lru_cache(maxsize=32)
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
    row = next(r for r in output.rows if r["stream"] == stream)
    return Session(
        stream=stream,
        host_kind=str(row["host_kind"]),
        minutes=series,
        totals={k: float(v) for k, v in row.items() if isinstance(v, int | float)},
        promotions=promotion_marks(chosen),
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


def replay_minutes(duration: int, minutes_per_second: float) -> list[int]:
    """The minutes shown by successive replay frames, ending on the last minute."""
    step = max(1, int(round(minutes_per_second / REPLAY_FPS)))
    frames = list(range(step, duration, step))
    return [*frames, duration]


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


_POOL: dict[int, Executor] = {}


def pool(workers: int) -> Executor:
    """A process pool kept for the life of the page (spawned: safe under threads)."""
    if workers not in _POOL:
        _POOL[workers] = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
    return _POOL[workers]


def warm_up(workers: int | None = None) -> None:
    """Start the worker processes and import livesim in them (a page's first run)."""
    n = workers or app_workers()
    if n > 1:
        executor = pool(n)
        list(executor.map(_ping, range(n)))


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
    """Start a what-if run in the worker processes; call the result to wait for it.

    The page starts the what-if, computes the live session meanwhile in its own
    process, then collects: the two runs overlap. Results are cached per scenario,
    strategy, replications and seed (not per number of workers: same tables).
    """
    n = workers or app_workers()
    key = (scenario_key(scenario), strategy, replications, seed)
    if key in _WHATIF_CACHE:
        _WHATIF_CACHE.move_to_end(key)
        done = _WHATIF_CACHE[key]
        return lambda: done
    chunks = [c for c in (list(range(i, replications, n)) for i in range(n)) if c]
    if len(chunks) == 1:
        jobs = None
    else:
        executor = pool(n)
        jobs = [
            executor.submit(campaign_rows, scenario, c, seed, "cohort", [strategy])
            for c in chunks
        ]

    def collect() -> pd.DataFrame:
        if jobs is None:
            frames = [campaign_rows(scenario, chunks[0], seed, "cohort", [strategy])]
        else:
            frames = [job.result() for job in jobs]
        out = pd.concat(frames, ignore_index=True)
        out = out.sort_values("replication", ignore_index=True)
        _WHATIF_CACHE[key] = out
        while len(_WHATIF_CACHE) > WHATIF_CACHE_SIZE:
            _WHATIF_CACHE.popitem(last=False)
        return out

    return collect


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


# ---------------------------------------------------------------------- teaching


def model_doc() -> Path | None:
    """docs/model.md of a source checkout, if this livesim runs from one."""
    here = Path(__file__).resolve()
    for parent in (here.parents[3], Path.cwd()):
        path = parent / "docs" / "model.md"
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=1)
def _sections() -> dict[str, tuple[str, str]]:
    path = model_doc()
    if path is None:
        return {}
    out: dict[str, tuple[str, str]] = {}
    number, title = "", ""
    lines: list[str] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), "## end"]:
        if line.startswith("## "):
            if number:
                out[number] = (title, "\n".join(lines).strip())
            head = line[3:].strip()
            number, _, title = head.partition(". ")
            number = number if number.isdigit() else ""
            lines = []
        elif number:
            lines.append(line)
    return out


def section_title(number: str) -> str:
    """The title of docs/model.md section `number` ("3" -> "A viewer")."""
    return _sections().get(number, (f"section {number}", ""))[0]


def section_text(number: str) -> str:
    """The markdown of docs/model.md section `number` (empty if the doc is absent)."""
    return _sections().get(number, ("", ""))[1]


def section_link(number: str) -> str:
    """A repository-relative link to a docs/model.md section (GitHub anchors)."""
    title = section_title(number)
    slug = f"{number}. {title}".lower()
    slug = "".join(c for c in slug if c.isalnum() or c in " -_").replace(" ", "-")
    return f"docs/model.md#{slug}"
