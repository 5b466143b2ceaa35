"""Closed forms the model reduces to in degenerate cases (tests check each one).

* constant arrivals, no feedback: the count over T minutes is Poisson(lambda T);
* a constant purchase hazard h with dwell D: P(buy) = 1 - E[exp(-h D)], which is
  h / (h + mu) when D is exponential with rate mu;
* Little's law: mean concurrent viewers L = lambda E[D];
* the Q&A desk without reneging is an M/M/c queue: Erlang C mean wait;
* word of mouth with share probability s and k viewers per share multiplies arrivals
  by 1 / (1 - s k).
"""

from __future__ import annotations

import math

from scipy import integrate, stats


def p_buy_exponential(hazard: float, mean_dwell: float) -> float:
    """P(buy) with hazard h and exponential dwell of mean 1/mu: h / (h + mu)."""
    mu = 1.0 / mean_dwell
    return hazard / (hazard + mu)


def p_buy_lognormal(hazard: float, mean_dwell: float, sigma: float) -> float:
    """P(buy) = 1 - E[exp(-h D)] for a lognormal dwell with the given mean and sigma."""
    if sigma == 0:
        return -math.expm1(-hazard * mean_dwell)
    dist = stats.lognorm(s=sigma, scale=mean_dwell * math.exp(-0.5 * sigma**2))
    value, _ = integrate.quad(
        lambda d: math.exp(-hazard * d) * dist.pdf(d), 0, math.inf
    )
    return 1.0 - value


def p_buy_window(
    hazard: float, mean_dwell: float, sigma: float | None, window: float
) -> float:
    """P(buy) with a constant hazard when arrivals are uniform over a stream of
    `window` minutes and a dwell is cut short at the stream's end.

    A viewer arriving s minutes before the end stays min(D, s); averaging over s
    uniform on [0, window]. `sigma=None` means an exponential dwell (closed form),
    otherwise a lognormal dwell with that sigma (numerical integration).
    """
    if sigma is None:
        rate = hazard + 1.0 / mean_dwell
        cut = -math.expm1(-rate * window) / (rate * window)
        return hazard / rate * (1.0 - cut)
    dist = stats.lognorm(s=sigma, scale=mean_dwell * math.exp(-0.5 * sigma**2))

    def p_stay(s: float) -> float:
        inside, _ = integrate.quad(lambda d: math.exp(-hazard * d) * dist.pdf(d), 0, s)
        return 1.0 - inside - math.exp(-hazard * s) * dist.sf(s)

    value, _ = integrate.quad(p_stay, 0, window, limit=200)
    return value / window


def erlang_c(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Probability that an arrival must wait in an M/M/c queue (Erlang C)."""
    load = arrival_rate / service_rate
    rho = load / servers
    if rho >= 1:
        return 1.0
    top = load**servers / math.factorial(servers) / (1 - rho)
    bottom = sum(load**k / math.factorial(k) for k in range(servers)) + top
    return top / bottom


def mmc_mean_wait(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean wait in queue Wq of an M/M/c queue."""
    return erlang_c(servers, arrival_rate, service_rate) / (
        servers * service_rate - arrival_rate
    )


def little_concurrent(arrival_rate: float, mean_dwell: float) -> float:
    """Little's law: mean number present L = lambda W."""
    return arrival_rate * mean_dwell


def wom_multiplier(share_prob: float, viewers_per_share: float) -> float:
    """Total arrivals per direct arrival in a subcritical branching process."""
    r = share_prob * viewers_per_share
    if r >= 1:
        raise ValueError(f"branching factor {r} >= 1 has no finite total")
    return 1.0 / (1.0 - r)
