"""Random streams: one independent, named stream per stochastic source.

Seeds flow from one `numpy.random.SeedSequence`. The key of a stream is
(seed, replication, stream, traffic source, decision); the strategy is deliberately
*not* part of it, so two strategies that share a stream id see the same arrivals,
dwells and purchase clocks (common random numbers) and their paired differences have
a small variance. Nothing depends on which worker runs a replication.

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

#: Vectorised streams of one stream: arrival counts and times per traffic source, and
#: the draws of who was reached but did not enter.
ARRIVAL_STREAMS = ("followers", "platform", "ads", "reach", "awareness")
#: Per-viewer decisions; each traffic source has its own stream for each decision, so
#: a change in one source (e.g. more carried-over viewers) leaves the draws of the
#: viewers from the other sources where they were.
DECISIONS = (
    "dwell",
    "attributes",
    "engagement",
    "purchase",
    "qa",
    "wom",
    "carryover",
    "eventlog",
)
BLOCK = 1024


def stream_key(stream_id: str) -> int:
    """A stable 64-bit key for a stream id (independent of Python's hash seed)."""
    return int.from_bytes(hashlib.sha256(stream_id.encode()).digest()[:8], "little")


def seed_sequence(
    seed: int, replication: int, stream_id: str, *path: int
) -> np.random.SeedSequence:
    """The SeedSequence of (replication, stream, *path), e.g. (1, source, decision)."""
    key = (replication, stream_key(stream_id), *path)
    return np.random.SeedSequence(entropy=seed, spawn_key=key)


def generator(seq: np.random.SeedSequence) -> np.random.Generator:
    """A numpy Generator (PCG64) for a SeedSequence."""
    return np.random.Generator(np.random.PCG64(seq))


def _buffered(seq: np.random.SeedSequence, method: str) -> Callable[[], float]:
    """One draw at a time from blocks; the generator is made on the first draw."""

    def chunks() -> Iterator[float]:
        fill = getattr(generator(seq), method)
        while True:
            yield from fill(BLOCK).tolist()

    return partial(next, chunks())


class Draws:
    """Buffered uniform, standard exponential and standard normal draws of one decision.

    `u()`, `e()` and `n()` each come from their own child generator, so how many
    uniforms a viewer used never shifts the exponentials of the next one.
    """

    __slots__ = ("u", "e", "n")

    def __init__(self, seq: np.random.SeedSequence) -> None:
        su, se, sn = seq.spawn(3)
        self.u = _buffered(su, "random")
        self.e = _buffered(se, "standard_exponential")
        self.n = _buffered(sn, "standard_normal")


class ViewerDraws:
    """The per-decision streams of the viewers that come from one traffic source.

    The hot ones are bound as plain functions (`dwell_n()`, `engagement()`, ...), one
    attribute lookup per draw in the viewer process. Each takes a fixed number of
    draws per viewer; what varies in number (thinning candidates, units, returns, a
    delayed purchase, timings) comes from the viewer's keyed sub-stream, whose key is
    the one `purchase_u()` draw (`keyed_uniform`).
    """

    __slots__ = (
        "dwell_n",
        "dwell_e",
        "attribute_u",
        "attribute_n",
        "engagement",
        "purchase_u",
        "qa",
        "wom",
        "carryover",
        "eventlog",
    )

    def __init__(
        self, seed: int, replication: int, stream_id: str, source: int
    ) -> None:
        draws = {
            name: Draws(seed_sequence(seed, replication, stream_id, 1, source, i))
            for i, name in enumerate(DECISIONS)
        }
        self.dwell_n = draws["dwell"].n
        self.dwell_e = draws["dwell"].e
        self.attribute_u = draws["attributes"].u
        self.attribute_n = draws["attributes"].n
        self.engagement = draws["engagement"].u
        self.purchase_u = draws["purchase"].u
        self.qa = draws["qa"]
        self.wom = draws["wom"]
        self.carryover = draws["carryover"]
        self.eventlog = draws["eventlog"]


def arrival_generators(
    seed: int, replication: int, stream_id: str
) -> dict[str, np.random.Generator]:
    """The vectorised generators of one stream (one per arrival stream)."""
    return {
        name: generator(seed_sequence(seed, replication, stream_id, 0, i))
        for i, name in enumerate(ARRIVAL_STREAMS)
    }


def reach_generator(seed: int, replication: int, stream_id: str) -> np.random.Generator:
    """The generator of who was reached but did not enter (`arrival_generators`'
    "reach", alone: the cohort engine draws nothing else from these)."""
    return generator(
        seed_sequence(seed, replication, stream_id, 0, ARRIVAL_STREAMS.index("reach"))
    )


def poisson(mean: float, u: float) -> int:
    """A Poisson(mean) count from one uniform `u`, by inversion (exact for any mean).

    Small means walk up from 0. Large means (> 30, rare per viewer) start at the mode
    with the CDF from `scipy.special.pdtr` and walk from there, a few steps. A walk
    stops where the floating-point CDF stops growing, so a `u` within rounding of 1
    returns the far tail instead of looping.
    """
    if mean <= 0.0:
        return 0
    if mean <= 30.0:
        k = 0
        p = math.exp(-mean)
        cdf = p
    else:
        k = int(mean)
        cdf = float(pdtr(k, mean))
        p = math.exp(k * math.log(mean) - mean - math.lgamma(k + 1))
        if u <= cdf:  # walk down while the CDF below k still covers u
            while k > 0 and u <= cdf - p:
                cdf -= p
                p *= k / mean
                k -= 1
            # subtracting loses precision far in the tail: settle k on the exact CDF
            while k > 0 and u <= pdtr(k - 1, mean):
                k -= 1
            while u > pdtr(k, mean):
                k += 1
            return k
    while u > cdf:  # walk up
        k += 1
        p *= mean / k
        grown = cdf + p
        if grown == cdf:
            break
        cdf = grown
    return k


_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_TO_UNIT = 1.0 / (1 << 53)
KEY_SPAN = 1 << 53


def keyed_uniform(key: int, index: int) -> float:
    """Uniform number `index` of the private sub-stream of a viewer with this key.

    A counter-based SplitMix64: the state key + (index + 1) x golden gamma goes through
    SplitMix64's finaliser (Steele, Lea & Flood 2014). A viewer draws one key from its
    decision stream, so however many numbers it then needs (thinning candidates, units,
    a delayed purchase, timings), the next viewer's key is unchanged: that keeps
    common random numbers aligned viewer by viewer across strategies.
    """
    z = (key + (index + 1) * _GOLDEN) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return ((z ^ (z >> 31)) >> 11) * _TO_UNIT
