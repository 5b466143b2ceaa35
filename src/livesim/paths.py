"""Dotted paths into a scenario dict: the parameters that calibration and sweeps set.

A path is dotted; a list is entered by an element's `id`, or `*` for every element:
``hosts.*.recommendation_rate``, ``products.lipstick.price``, ``platform.gpm_boost``.
"""

from __future__ import annotations

from typing import Any


def set_path(data: Any, path: str, value: float) -> int:
    """Write `value` at a dotted path of a scenario dict; how many places it set."""
    head, _, rest = path.partition(".")
    if isinstance(data, list):
        chosen = [
            x
            for x in data
            if isinstance(x, dict) and (head == "*" or x.get("id") == head)
        ]
        return sum(set_path(x, rest, value) for x in chosen) if rest else 0
    if not isinstance(data, dict) or not head:
        return 0
    if not rest:
        data[head] = value
        return 1
    if head not in data:
        return 0
    return set_path(data[head], rest, value)


def current_value(base: dict[str, Any], path: str) -> float | None:
    """The value at the first place a path names, if it is set there."""
    node: Any = base
    for part in path.split("."):
        if isinstance(node, list):
            node = next(
                (
                    x
                    for x in node
                    if isinstance(x, dict) and (part == "*" or x.get("id") == part)
                ),
                None,
            )
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
        if node is None:
            return None
    return float(node) if isinstance(node, int | float) else None
