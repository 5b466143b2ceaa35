"""Dotted paths into nested dicts and lists: how a value is named and written.

A path is dotted; a list is entered by its elements' `id`: an id, an id pattern
(shell-style: ``kos*`` every id that starts with kos, ``kos0[12]``; ``*`` every
element)
— ``hosts.kos*.followers``, ``products.lipstick.price``,
``streams.*.promotions.*.discount``. Sweeps, sensitivity, calibration and the
strategies' `set` all write through `set_path`.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

#: Characters that make a path part a pattern (ids never hold them).
PATTERN = set("*?[")


def matches(element: Any, key: str) -> bool:
    """Whether a list element is named by `key` (an id, or a pattern with `*`)."""
    if not isinstance(element, dict):
        return False
    if key == "*":
        return True
    ident = element.get("id")
    if not isinstance(ident, str):
        return False
    return fnmatchcase(ident, key) if set(key) & PATTERN else ident == key


def set_path(data: Any, path: str, value: Any) -> int:
    """Write `value` at a dotted path of a nested dict; how many places it set."""
    head, _, rest = path.partition(".")
    if isinstance(data, list):
        chosen = [x for x in data if matches(x, head)]
        return sum(set_path(x, rest, value) for x in chosen) if rest else 0
    if not isinstance(data, dict) or not head:
        return 0
    if not rest:
        data[head] = value
        return 1
    if head not in data:
        return 0
    return set_path(data[head], rest, value)


def values_at(data: Any, path: str) -> list[Any]:
    """Every value a dotted path names."""
    head, _, rest = path.partition(".")
    if isinstance(data, list):
        chosen = [x for x in data if matches(x, head)]
        return [v for x in chosen for v in values_at(x, rest)] if rest else []
    if not isinstance(data, dict) or head not in data:
        return []
    return values_at(data[head], rest) if rest else [data[head]]


__all__ = ["matches", "set_path", "values_at"]
