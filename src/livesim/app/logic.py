"""The interactive page's logic, without Streamlit: scenarios, controls, teaching.

Everything the page shows is computed here or in `livesim.app.compute` (the runs),
whose names this module re-exports, so that the page reads one module and all of
it can be tested without a browser:

* `controls(data)` lists the sliders a scenario offers (per host kind, promotions,
  stock) with their current values; `apply_controls(data, values)` writes slider
  values into a copy of the scenario dict, which `build` validates.
* `live_session(...)`, `whatif(...)` and `paired_differences(...)` (from
  `livesim.app.compute`) run one session and the what-if and compare the what-if
  with a baseline.
* `section_title`, `section_text` and `section_link` give the teaching mode the
  sections of docs/model.md.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from livesim.app.compute import (
    DEFAULT_REPLICATIONS,
    ENGAGING_EVENTS,
    FALLBACK_REPLICATIONS,
    LIVE_STAGES,
    REPLAY_FPS,
    WHATIF_CACHE_SIZE,
    WHATIF_COLUMNS,
    WHATIF_METRICS,
    Session,
    app_workers,
    backend,
    default_replications,
    default_stream,
    distribution_frame,
    feeders,
    live_session,
    live_session_start,
    paired_differences,
    promotion_marks,
    replay,
    replay_minute,
    scenario_key,
    stage_counts,
    warm_up,
    whatif,
    whatif_start,
    without_priors,
)
from livesim.app.eventlog import StockOut, journey_table
from livesim.archetypes import ARCHETYPES
from livesim.scenario import Scenario, scenario_from_dict
from livesim.scenarios import DEFAULT, bundled_scenario

# -------------------------------------------------------------------- formatting


def money(value: float) -> str:
    """RMB, shortened: 5.89M, 91.3k."""
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.2f}M RMB"
    if abs(value) >= 1e4:
        return f"{value / 1e3:,.1f}k RMB"
    return f"{value:,.0f} RMB"


def signed_money(value: float) -> str:
    """A difference in RMB with its sign."""
    return ("+" if value >= 0 else "-") + money(abs(value))


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


__all__ = [
    "DEFAULT_REPLICATIONS",
    "ENGAGEMENT_RATES",
    "ENGAGING_EVENTS",
    "FALLBACK_REPLICATIONS",
    "HOST_CONTROLS",
    "LIVE_STAGES",
    "PARAMETER_HELP",
    "REPLAY_FPS",
    "STAGE_HELP",
    "WHATIF_CACHE_SIZE",
    "WHATIF_COLUMNS",
    "WHATIF_METRICS",
    "Control",
    "Session",
    "StockOut",
    "app_workers",
    "apply_controls",
    "backend",
    "build",
    "bundled_names",
    "controls",
    "default_replications",
    "default_stream",
    "defaults",
    "distribution_frame",
    "feeders",
    "host_value",
    "journey_table",
    "kinds",
    "live_session",
    "live_session_start",
    "load_base",
    "model_doc",
    "money",
    "signed_money",
    "paired_differences",
    "promotion_marks",
    "promotion_starts",
    "replay",
    "replay_minute",
    "scenario_key",
    "section_link",
    "section_text",
    "section_title",
    "stage_counts",
    "strategies",
    "warm_up",
    "whatif",
    "whatif_start",
    "without_priors",
]
