"""Confidence intervals of replication outcomes, each formula written once.

`scipy.stats` is the engine; this module decides the guards (non-finite values
left out, too few values, identical pairs) so that every table gives the same
answer for the same data:

* `mean_ci`: the t interval of a mean (NaN bounds for n < 2);
* `quantile_ci`, `median_ci`: distribution-free intervals of a quantile from order
  statistics (`scipy.stats.quantile_test`; NaN bounds where too few values reach
  the confidence);
* `proportion_ci`: the exact Clopper-Pearson interval of a share of hits;
* `paired_mean_difference`: the mean of paired differences with a BCa bootstrap
  interval and the share of pairs in which the first is higher;
* `paired_quantile_difference`: the difference of two quantiles on paired values,
  with a paired percentile bootstrap interval;
* `parameter_share`: the share of a metric's variance due to the parameter draws
  (law of total variance over draws x inner replications), with a bootstrap
  interval over the draws;
* `break_even`: where a straight line fitted to paired differences against a
  parameter's draws crosses zero, with a bootstrap interval;
* `bca_fallback` and `legacy_seed`: the repairs of an interval scipy leaves NaN
  and the seeding of scipy's bootstraps that draw from numpy's global generator
  (Sobol' indices, `livesim.sensitivity`).

Nothing here simulates or knows about scenarios.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as sps

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000

Interval = tuple[float, float]
NAN_INTERVAL: Interval = (math.nan, math.nan)


def finite(values: ArrayLike) -> np.ndarray:
    """The finite values, as floats (NaN and infinities left out)."""
    x = np.asarray(values, dtype=float)
    return x[np.isfinite(x)]


def mean_ci(values: ArrayLike, confidence: float = CONFIDENCE) -> Interval:
    """t interval of the mean of the finite values; NaN bounds for n < 2."""
    x = finite(values)
    n = len(x)
    if n < 2:
        return NAN_INTERVAL
    mean = float(x.mean())
    sd = float(x.std(ddof=1))
    t = sps.t.ppf((1 + confidence) / 2, n - 1)
    half = float(t * sd / math.sqrt(n))
    return mean - half, mean + half


def quantile_ci(
    values: ArrayLike, p: float, confidence: float = CONFIDENCE
) -> Interval:
    """Distribution-free interval of the p-quantile of the finite values, from
    order statistics: NaN for n < 2, and a NaN bound where too few values reach
    the confidence."""
    x = finite(values)
    if len(x) < 2:
        return NAN_INTERVAL
    # the interval depends on the sorted values and p only; q is the estimate
    test = sps.quantile_test(x, q=float(np.quantile(x, p)), p=p)
    ci = test.confidence_interval(confidence)
    return float(ci.low), float(ci.high)


def median_ci(values: ArrayLike, confidence: float = CONFIDENCE) -> Interval:
    """Distribution-free interval of the median (`quantile_ci` at p = 0.5)."""
    return quantile_ci(values, 0.5, confidence)


def fewest_for_median_ci(confidence: float = CONFIDENCE) -> int:
    """The fewest values whose order statistics give a two-sided interval of the
    median at `confidence`: the range of n values misses the median with
    probability 2 / 2**n, so n >= log2(2 / (1 - confidence)) (6 at 95%)."""
    return math.ceil(math.log2(2.0 / (1.0 - confidence)) - 1e-12)


def undefined_interval_note(n: int, confidence: float = CONFIDENCE) -> str:
    """Why the median interval of `n` values is NaN (`median_ci`), as a clause."""
    fewest = fewest_for_median_ci(confidence)
    return (
        f"a {confidence:.0%} interval of the median needs at least {fewest} "
        f"replications (the range of n values covers the median with probability "
        f"1 - 2/2^n); this run has {n}"
    )


def proportion_ci(hits: int, n: int, confidence: float = CONFIDENCE) -> Interval:
    """Exact (Clopper-Pearson) interval of a share of `hits` in `n` trials; NaN
    for n = 0."""
    if n == 0:
        return NAN_INTERVAL
    ci = sps.binomtest(hits, n).proportion_ci(confidence, method="exact")
    return float(ci.low), float(ci.high)


def paired_mean_difference(
    a: np.ndarray,
    b: np.ndarray,
    seed: int,
    confidence: float = CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> dict[str, float]:
    """Mean paired difference a - b over the pairs where both are finite, with a
    BCa bootstrap interval (seeded), and P(a > b) with ties counted half.

    Identical pairs (constant differences) give the point as the interval; fewer
    than 3 pairs that differ give NaN bounds; no pairs give NaN throughout.
    """
    ok = np.isfinite(a) & np.isfinite(b)
    diff = a[ok] - b[ok]
    n = len(diff)
    if n == 0:
        return {
            "n": 0,
            "mean_diff": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "p_first_higher": math.nan,
        }
    mean = float(diff.mean())
    low, high = _bca_of_mean(diff, mean, seed, confidence, resamples)
    wins = float(((diff > 0) + 0.5 * (diff == 0)).mean())
    return {
        "n": n,
        "mean_diff": mean,
        "ci_low": low,
        "ci_high": high,
        "p_first_higher": wins,
    }


def _bca_of_mean(
    diff: np.ndarray, mean: float, seed: int, confidence: float, resamples: int
) -> Interval:
    if np.ptp(diff) == 0:  # identical pairs: the interval is the point
        return mean, mean
    if len(diff) < 3:
        return NAN_INTERVAL
    ci = sps.bootstrap(
        (diff,),
        np.mean,
        confidence_level=confidence,
        n_resamples=resamples,
        method="BCa",
        rng=np.random.default_rng(seed),
    ).confidence_interval
    return float(ci.low), float(ci.high)


def paired_quantile_difference(
    a: np.ndarray,
    b: np.ndarray,
    p: float,
    seed: int,
    confidence: float = CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> tuple[float, float, float]:
    """(difference, low, high): the p-quantile of a minus that of b, with a paired
    percentile bootstrap interval (pairs resampled together, seeded); identical
    samples give the point as the interval."""

    def quantile(x: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.asarray(np.quantile(x, p, axis=axis))

    return paired_statistic_difference(a, b, quantile, seed, confidence, resamples)


#: The fewest values in the tail for an interval of the expected shortfall: below
#: it a bootstrap of the tail's mean covers far less than it claims.
MIN_TAIL = 10


def tail_count(level: float, n: int) -> int:
    """How many of n values the lowest `level` share holds (at least one; the
    product rounded first, so 0.07 x 100 is 7, not 8)."""
    return max(1, math.ceil(round(level * n, 9)))


def shortfall(x: np.ndarray, level: float, axis: int = -1) -> np.ndarray:
    """The mean of the lowest `level` share of x along `axis` (at least one value):
    the expected shortfall, vectorised for the bootstrap."""
    x = np.sort(np.asarray(x, dtype=float), axis=axis)
    k = tail_count(level, x.shape[axis])
    return np.asarray(np.take(x, np.arange(k), axis=axis).mean(axis=axis))


def paired_statistic_difference(
    a: np.ndarray,
    b: np.ndarray,
    statistic: Callable[..., np.ndarray],
    seed: int,
    confidence: float = CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> tuple[float, float, float]:
    """(difference, low, high): `statistic(a) - statistic(b)` (a statistic of a
    sample along `axis`), with a paired percentile bootstrap interval (pairs
    resampled together, seeded); identical samples give the point as the
    interval."""
    diff = float(statistic(a) - statistic(b))
    if np.array_equal(a, b):
        return diff, diff, diff

    def paired(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return statistic(x, axis=axis) - statistic(y, axis=axis)

    ci = sps.bootstrap(
        (a, b),
        paired,
        paired=True,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    ).confidence_interval
    return diff, float(ci.low), float(ci.high)


def bca_fallback(
    point: float, draws: np.ndarray, confidence: float = CONFIDENCE
) -> Interval:
    """The interval of a bootstrap whose BCa bounds came out NaN: the point if
    the draws are constant or undefined (nothing varies), else the percentile
    interval of the defined draws."""
    finite = draws[np.isfinite(draws)]
    if len(finite) == 0 or np.ptp(finite) == 0:
        return point, point
    low, high = np.quantile(finite, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(low), float(high)


@contextmanager
def legacy_seed(seed: int) -> Iterator[None]:
    """Seed numpy's global generator for a scipy routine that draws from it (e.g.
    `SobolResult.bootstrap`), and give the caller's state back afterwards."""
    state = np.random.get_state()  # noqa: NPY002 (scipy uses the global one)
    np.random.seed(seed % 2**32)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "CONFIDENCE",
    "bca_fallback",
    "finite",
    "legacy_seed",
    "mean_ci",
    "median_ci",
    "paired_mean_difference",
    "paired_quantile_difference",
    "proportion_ci",
    "quantile_ci",
]


def variance_components(values: np.ndarray) -> tuple[float, float]:
    """(variance of the conditional means, mean conditional variance) of a
    draws x inner-replications table: the one-way random-effects estimators
    Var(E[Y|theta]) = (B - W) / K (at least 0) and E[Var(Y|theta)] = W, with B and
    W the between- and within-draw mean squares. Needs K >= 2 and 2 draws."""
    d, k = values.shape
    means = values.mean(axis=1)
    within = float(((values - means[:, None]) ** 2).sum() / (d * (k - 1)))
    between = float(k * ((means - means.mean()) ** 2).sum() / (d - 1))
    return max(0.0, (between - within) / k), within


def parameter_share(
    values: np.ndarray,
    seed: int = 0,
    confidence: float = CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> tuple[float, float, float]:
    """The share of variance due to the parameters, Var(E[Y|theta]) / (that +
    E[Var(Y|theta)]), of a draws x inner table, with a percentile bootstrap interval
    over the draws (resampled whole); NaN without 2 draws and 2 inner replications
    or without any variance."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2 or not np.isfinite(x).all():
        return math.nan, math.nan, math.nan

    def share(table: np.ndarray) -> float:
        between, within = variance_components(table)
        total = between + within
        return between / total if total > 0 else math.nan

    estimate = share(x)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, x.shape[0], size=(resamples, x.shape[0]))
    boot = finite([share(x[row]) for row in picks])
    if not len(boot) or math.isnan(estimate):
        return estimate, math.nan, math.nan
    tail = (1 - confidence) / 2
    low, high = np.quantile(boot, [tail, 1 - tail])
    return estimate, float(low), float(high)


def expected_shortfall(values: ArrayLike, level: float = 0.05) -> float:
    """The mean of the worst `level` share of the values (CVaR, expected
    shortfall: the mean of the values at or below their `level` quantile)."""
    x = finite(values)
    return float(shortfall(x, level)) if len(x) else math.nan


def shortfall_ci(
    values: ArrayLike,
    level: float,
    seed: int,
    confidence: float = CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> Interval:
    """A BCa bootstrap interval (seeded) of the expected shortfall at `level`, an
    approximate one: NaN bounds when the tail holds fewer than MIN_TAIL values
    (resampling cannot reach below the sample's minimum, so a short tail's
    interval sits above the truth)."""
    x = finite(values)
    if tail_count(level, len(x)) < MIN_TAIL:
        return NAN_INTERVAL
    if np.ptp(x) == 0:
        return float(x[0]), float(x[0])
    ci = sps.bootstrap(
        (x,),
        lambda s, axis=-1: shortfall(s, level, axis),
        confidence_level=confidence,
        n_resamples=resamples,
        method="BCa",
        rng=np.random.default_rng(seed),
    ).confidence_interval
    return float(ci.low), float(ci.high)


def share_above(a: ArrayLike, b: ArrayLike) -> tuple[float, float, float]:
    """The share of pairs in which a is above b (ties count half), with the
    Clopper-Pearson interval of the share of strict wins and ties halved."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan
    wins = int((x > y).sum())
    ties = int((x == y).sum())
    share = (wins + 0.5 * ties) / n
    low, _ = proportion_ci(wins, n)
    _, high = proportion_ci(wins + ties, n)
    return share, low, high


def explained_share(y: ArrayLike, x: ArrayLike) -> float:
    """The share of y's variance a straight line in x explains (r squared); NaN
    when either does not vary."""
    a, b = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1] ** 2)


def break_even(
    d: ArrayLike,
    x: ArrayLike,
    seed: int = 0,
    inner: int = 1,
    confidence: float = CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> tuple[float, float, float, float]:
    """Where the least-squares line of differences d against a parameter's draws x
    crosses zero, x* = mean(x) - mean(d) / b: (x*, interval low, interval high,
    slope b).

    The interval is a percentile bootstrap that resamples whole parameter draws
    (pairs in consecutive groups of `inner`), each resample's crossing clipped to
    the draws' range. x* and its interval are NaN when the line does not cross
    zero inside that range (the fitted sign then holds throughout) or when the
    slope's own interval includes 0 (no clear dependence to cross with); all is
    NaN with fewer than 3 pairs or draws that do not vary.
    """
    dd, xx = np.asarray(d, dtype=float), np.asarray(x, dtype=float)
    keep = np.isfinite(dd) & np.isfinite(xx)
    if len(dd) < 3 or not keep.all() and inner > 1:
        return math.nan, math.nan, math.nan, math.nan
    dd, xx = dd[keep], xx[keep]
    if len(dd) < 3 or xx.std() == 0:
        return math.nan, math.nan, math.nan, math.nan
    lo, hi = float(xx.min()), float(xx.max())
    slope0, root0 = _line_root(xx[None, :], dd[None, :])
    groups = max(1, len(dd) // inner)
    rng = np.random.default_rng(seed)
    slopes, roots = [], []
    for start in range(0, resamples, 250):  # batches keep memory small
        picks = rng.integers(0, groups, (min(250, resamples - start), groups))
        idx = (picks[:, :, None] * inner + np.arange(inner)).reshape(len(picks), -1)
        slope, root = _line_root(xx[idx], dd[idx])
        slopes.append(slope)
        roots.append(root)
    tail = 100.0 * (1.0 - confidence) / 2.0
    b_low, b_high = np.nanpercentile(np.concatenate(slopes), [tail, 100.0 - tail])
    clear = b_low > 0 or b_high < 0
    if not (clear and lo <= root0[0] <= hi):
        return math.nan, math.nan, math.nan, float(slope0[0])
    clipped = np.clip(np.concatenate(roots), lo, hi)
    low, high = np.nanpercentile(clipped, [tail, 100.0 - tail])
    return float(root0[0]), float(low), float(high), float(slope0[0])


def _line_root(x: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the least-squares slope of d on x and where the line is 0."""
    xc = x - x.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (xc * d).sum(axis=1) / (xc**2).sum(axis=1)
        return slope, x.mean(axis=1) - d.mean(axis=1) / slope
