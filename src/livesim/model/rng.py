"""Random streams: one independent, named stream per stochastic source.

Seeds flow from one `numpy.random.SeedSequence`. The key of a stream is
(seed, replication, stream, source); the strategy is deliberately *not* part of it, so
two strategies that share a stream id see the same arrivals, dwells and purchase clocks
(common random numbers) and their paired differences have a small variance. Nothing
depends on which worker runs a replication.

Draws are buffered: each source pulls blocks from its own numpy Generator and hands
out Python floats one at a time, which is what the per-viewer SimPy processes need.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from functools import partial

import numpy as np
from scipy.special import pdtr

#: The stochastic sources of one stream, each an independent random stream.
SOURCES = (
    "arrivals",
    "attributes",
    "dwell",
    "engagement",
    "purchase",
    "qa",
    "orders",
    "wom",
    "carryover",
    "delayed",
    "eventlog",
)
BLOCK = 1024


def stream_key(stream_id: str) -> int:
    """A stable 32-bit key for a stream id (independent of Python's hash seed)."""
    return int.from_bytes(hashlib.sha256(stream_id.encode()).digest()[:4], "little")


def seed_sequence(seed: int, replication: int, stream_id: str, source: str) -> (
    np.random.SeedSequence
):
    """The SeedSequence of one (replication, stream, source)."""
    key = (replication, stream_key(stream_id), SOURCES.index(source))
    return np.random.SeedSequence(entropy=seed, spawn_key=key)


def _buffered(fill: Callable[[], np.ndarray]) -> Callable[[], float]:
    def chunks() -> Iterator[float]:
        while True:
            yield from fill().tolist()

    return partial(next, chunks())


class Draws:
    """Buffered uniform, standard exponential and standard normal draws of one source.

    `u()`, `e()` and `n()` each come from their own child generator, so how many
    uniforms a viewer used never shifts the exponentials of the next one.
    """

    __slots__ = ("u", "e", "n", "generator")

    def __init__(self, seq: np.random.SeedSequence) -> None:
        gu, ge, gn, gv = (np.random.Generator(np.random.PCG64(s)) for s in seq.spawn(4))
        self.u = _buffered(partial(gu.random, BLOCK))
        self.e = _buffered(partial(ge.standard_exponential, BLOCK))
        self.n = _buffered(partial(gn.standard_normal, BLOCK))
        self.generator = gv  # for vectorised draws (counts and times of a minute)


def stream_draws(seed: int, replication: int, stream_id: str) -> dict[str, Draws]:
    """The named random streams of one stream in one replication."""
    return {s: Draws(seed_sequence(seed, replication, stream_id, s)) for s in SOURCES}


def poisson(mean: float, u: float) -> int:
    """A Poisson(mean) count from one uniform `u`, by inversion (exact for any mean).

    Small means walk up from 0. Large means (> 30, rare per viewer) start at the mode
    with the CDF from `scipy.special.pdtr` and walk from there, a few steps.
    """
    if mean <= 0.0:
        return 0
    if mean <= 30.0:
        p = math.exp(-mean)
        cdf = p
        k = 0
        while u > cdf:
            k += 1
            p *= mean / k
            cdf += p
            if p < 1e-300:
                break
        return k
    k = int(mean)
    cdf = float(pdtr(k, mean))
    p = math.exp(k * math.log(mean) - mean - math.lgamma(k + 1))
    if u <= cdf:  # walk down while the CDF below k still covers u
        while k > 0 and u <= cdf - p:
            cdf -= p
            p *= k / mean
            k -= 1
        return k
    while u > cdf:  # walk up
        k += 1
        p *= mean / k
        cdf += p
    return k
