"""Dotted paths into a scenario dict: the parameters that calibration and sweeps set.

A path is dotted; a list is entered by an element's `id`, an id pattern (``kos*``)
or `*` for every element (`livesim.dotted`): ``hosts.*.recommendation_rate``,
``products.lipstick.price``, ``platform.gpm_boost``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Sequence
from typing import Any

from livesim.dotted import matches, set_path, values_at
from livesim.errors import ConfigError
from livesim.scenario import Scenario, scenario_from_dict


def overlaps(base: dict[str, Any], path: str, other: str) -> bool:
    """Whether two dotted paths name a common field of a scenario dict."""
    marked = copy.deepcopy(base)
    sentinel = object()
    if set_path(marked, path, sentinel) == 0:
        return False
    return any(v is sentinel for v in values_at(marked, other))


def current_value(base: dict[str, Any], path: str) -> float | None:
    """The value at the first place a path names, if it is set there."""
    node: Any = base
    for part in path.split("."):
        if isinstance(node, list):
            node = next((x for x in node if matches(x, part)), None)
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
        if node is None:
            return None
    return float(node) if isinstance(node, int | float) else None


def with_values(
    base: dict[str, Any],
    assignments: Iterable[tuple[Sequence[str], float]],
    whole: Sequence[bool] | None = None,
) -> Scenario:
    """The scenario with each value written to its paths, in order; the values of
    assignments flagged in `whole` (fields that take whole numbers) are rounded."""
    data = copy.deepcopy(base)
    items = list(assignments)
    flags = whole or [False] * len(items)
    for (paths, value), integer in zip(items, flags, strict=True):
        for path in paths:
            set_path(data, path, number(round(value) if integer else value))
    return scenario_from_dict(data)


def number(value: float) -> int | float:
    """A value as the scenario schema takes it: a whole number as an `int` (valid
    for integer and float fields alike), anything else as a `float`."""
    value = float(value)
    return int(value) if value.is_integer() else value


def takes_whole_numbers(
    base: dict[str, Any], paths: Sequence[str], near: float
) -> bool:
    """Whether the fields at `paths` take whole numbers only (e.g. `followers`): a
    fractional value near `near` is refused there as not an integer."""
    try:
        with_values(base, [(paths, math.floor(near) + 0.5)])
    except ConfigError as exc:
        return any("integer" in e for e in exc.errors)
    return False
