"""Tiny scenarios built from dicts, with only what a test changes."""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd

from livesim.scenario import Scenario, scenario_from_dict

BASE: dict[str, Any] = {
    "name": "unit",
    "products": [{"id": "p", "price": 100.0, "return_rate": 0.0, "units_mean": 1.0}],
    "hosts": [{"id": "h", "kind": "KOS"}],
    "streams": [{"id": "s", "host": "h", "duration": 60, "products": ["p"]}],
}


def quiet_host(**overrides: Any) -> dict[str, Any]:
    """A host whose only traffic is a constant platform rate and nothing feeds back."""
    host = {
        "id": "h",
        "kind": "KOS",
        "followers": 0,
        "recommendation_rate": 10.0,
        "share_prob": 0.0,
        "comment_rate": 0.0,
        "question_rate": 0.0,
        "delayed_purchase_prob": 0.0,
        "carryover_share": 0.0,
    }
    host.update(overrides)
    return host


def build(
    host: dict[str, Any] | None = None,
    stream: dict[str, Any] | None = None,
    product: dict[str, Any] | None = None,
    platform: dict[str, Any] | None = None,
    **top: Any,
) -> Scenario:
    """A one-host, one-stream, one-product scenario with the given changes."""
    data = copy.deepcopy(BASE)
    if host is not None:
        data["hosts"] = [host]
    data["streams"][0].update(stream or {})
    data["products"][0].update(product or {})
    data["platform"] = {"gpm_boost": 0.0} | (platform or {})
    data.update(top)
    return scenario_from_dict(data)


def event_frame(out: Any) -> pd.DataFrame:
    """A replication's event log as a DataFrame."""
    return pd.DataFrame(out.events, columns=["stream", "viewer", "time", "event", "x"])


#: A one-stream KOS scenario whose only traffic is the platform push (sweeps,
#: sensitivity): net GMV grows with `recommendation_rate`.
ONE_STREAM_TOML = """
name = "swept"
[[products]]
id = "p"
price = 100.0
return_rate = 0.0
[[hosts]]
id = "h"
kind = "KOS"
followers = 0
recommendation_rate = 10.0
share_prob = 0.0
comment_rate = 0.0
question_rate = 0.0
[[streams]]
id = "s"
host = "h"
duration = 60
products = ["p"]
[platform]
gpm_boost = 0.0
"""


#: A one-KOS, one-stream scenario (TOML) with only platform traffic and a second
#: strategy with more of it: a replication takes milliseconds.
SMALL = """\
name = "small"

[[products]]
id = "p"
price = 100.0

[[hosts]]
id = "h"
kind = "KOS"
followers = 0
recommendation_rate = 5.0

[[streams]]
id = "s"
host = "h"
duration = 30
products = ["p"]

[strategies.pushed]
hosts = [{ id = "h", kind = "KOS", followers = 0, recommendation_rate = 8.0 }]
"""
