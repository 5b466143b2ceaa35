"""Levels of the agent engine's run: concurrent viewers from arrival and leave times.

A level (how many are present) is not counted like a tally: it is read off the
times each viewer arrived and left, once the replication has run.
"""

from __future__ import annotations

from array import array

import numpy as np


def peak_concurrent(arrive: array[float], leave: array[float]) -> int:
    """The most viewers present at once (a leave goes before an arrival at a tie)."""
    if not arrive:
        return 0
    times = np.concatenate([np.frombuffer(leave), np.frombuffer(arrive)])
    steps = np.concatenate([-np.ones(len(leave)), np.ones(len(arrive))])
    order = np.argsort(times, kind="stable")
    return int(np.cumsum(steps[order]).max())


def concurrency_per_minute(
    arrive: array[float], leave: array[float], start: float, minutes: int
) -> np.ndarray:
    """Time-averaged number present in each minute [start + m, start + m + 1).

    Presence time before t is sum_i clip(t - a_i, 0, l_i - a_i)
    = sum_{a_i < t} (t - a_i) - sum_{l_i < t} (t - l_i); its increments are the means.
    """
    edges = start + np.arange(minutes + 1, dtype=float)
    if not arrive:
        return np.zeros(minutes)

    def area(points: np.ndarray) -> np.ndarray:
        points = np.sort(points)
        csum = np.concatenate([[0.0], np.cumsum(points)])
        k = np.searchsorted(points, edges, side="left")
        return k * edges - csum[k]

    present = area(np.frombuffer(arrive)) - area(np.frombuffer(leave))
    return np.diff(present)
