"""A viewer's equations, written once (docs/model.md, sections 3 and 4).

Plain functions of numbers and sequences: the agent engine calls them as they are,
and the cohort engine's kernels compile these same functions with numba
(`engines.kernels` wraps each in `numba.njit`), so a change here changes both
engines. Nothing here draws random numbers or schedules events: a function takes
the draws and times it needs. No function here calls another (numba compiles each
one on its own from the kernels): a caller passes `price_lift`'s value on.

Promotions are given as a table (`slots` are the rows that belong to the stream;
per row: start `t0`, end `t1`, discount `depth`, urgency `lift`, the announced
window's start `t_from` and its `hold`, and `on[k][i]` whether row k applies to
the stream's product i): Python sequences for the agent
engine, arrays for the kernels.
"""

from __future__ import annotations

import math
from typing import Any

#: A column of the promotion table: a tuple (agent engine) or an array (kernels).
Column = Any

#: A purchase after leaving is of the product featured just before the viewer left
#: (minutes before the leaving time: a viewer leaving at a segment's boundary bought
#: from the segment it watched).
JUST_BEFORE = 1e-9


def trust(ceiling: float, gap: float, rate: float, elapsed: float) -> float:
    """Trust `elapsed` minutes after it was `ceiling - gap`:
    T = ceiling - gap * exp(-rate * elapsed)."""
    return ceiling - gap * math.exp(-rate * elapsed)


def gap_after_question(
    gap: float,
    rate: float,
    elapsed: float,
    answered: bool,
    answer_gain: float,
    abandon_loss: float,
    ceiling: float,
) -> float:
    """The gap to the trust ceiling just after a question is resolved, `elapsed`
    minutes after the gap was `gap`: an answer closes a share `answer_gain` of it, a
    question given up widens it by `abandon_loss` (never past the ceiling)."""
    gap *= math.exp(-rate * elapsed)
    if answered:
        return gap * (1.0 - answer_gain)
    return min(ceiling, gap + abandon_loss)


def price_lift(discount: float, eps: float) -> float:
    """How a discount raises the hazard: (1 - discount) ** -eps (1 without one)."""
    return 1.0 if discount == 0.0 else (1.0 - discount) ** (-eps)


def hazard(
    purchase_rate: float,
    intent: float,
    trust_now: float,
    fit: float,
    lift: float,
    urgency: float,
    scarce: bool,
    scarcity_lift: float,
) -> float:
    """The purchase hazard (per minute) at one moment of a visit:
    h = rate * intent * trust * fit * lift * (1 + urgency), where `lift` is
    `price_lift` of the discount running, times (1 + scarcity_lift) while the
    product's stock is scarce."""
    h = purchase_rate * intent * trust_now * fit * lift * (1.0 + urgency)
    if scarce:
        h *= 1.0 + scarcity_lift
    return h


def hazard_unit(
    purchase_rate: float, ceiling: float, best_fit: float, limited: bool, lift: float
) -> float:
    """A stream's bound on the hazard per unit intent before promotions: trust at
    its ceiling, the best-fitting product, and scarcity if any stock is limited."""
    return purchase_rate * ceiling * best_fit * (1.0 + (lift if limited else 0.0))


def hazard_bound(unit: float, intent: float, urgency_max: float, lift: float) -> float:
    """An upper bound of a viewer's hazard over its visit (thinning), from the
    stream's `unit`, the largest urgency of the promotions that overlap the visit
    and `price_lift` of their deepest discount."""
    return unit * intent * (1.0 + urgency_max) * lift


def featured(t: float, start: float, segment: float, count: int) -> int:
    """Index of the product on sale at campaign minute t (segments in turn)."""
    return int((t - start) / segment) % count


def visit_promotions(
    arrive: float,
    leave: float,
    slots: Any,
    t0: Column,
    t1: Column,
    depth: Column,
    lift: Column,
) -> tuple[float, float]:
    """(deepest discount, largest urgency) of the promotions overlapping a visit."""
    discount_max = 0.0
    urgency_max = 0.0
    for k in slots:
        if t0[k] < leave and t1[k] > arrive:
            discount_max = max(discount_max, depth[k])
            urgency_max = max(urgency_max, lift[k])
    return discount_max, urgency_max


def active_promotion(
    x: float,
    index: int,
    slots: Any,
    t0: Column,
    t1: Column,
    depth: Column,
    lift: Column,
    on: Any,
) -> tuple[float, float]:
    """(discount, urgency) of the deepest promotion running on product `index` at
    minute x (of equally deep ones, the last listed); (0, 0) without one."""
    discount = 0.0
    urgency = 0.0
    deepest = -1.0
    for k in slots:
        if t0[k] <= x < t1[k] and on[k][index] and depth[k] >= deepest:
            deepest = depth[k]
            discount = depth[k]
            urgency = lift[k]
    return discount, urgency


def held_leave(
    arrive: float, dwell: float, slots: Any, t_from: Column, t1: Column, hold: Column
) -> float:
    """When a viewer who came at `arrive` for `dwell` minutes leaves (before the
    stream's end cuts it): an announced promotion's window [t_from, t1) that the
    visit meets lengthens the stay left at the first moment in it, s, by `hold`:
    s + (arrive + dwell - s) * hold. Windows do not compound: the largest such
    leave wins."""
    leave = arrive + dwell
    held = leave
    for k in slots:
        if hold[k] != 1.0:
            s = max(arrive, t_from[k])
            if s < t1[k] and s < leave:
                held = max(held, s + (leave - s) * hold[k])
    return held


def late_purchase_prob(delayed_prob: float, intent: float, trust_now: float) -> float:
    """Probability of a purchase after leaving without one (within the window)."""
    return min(1.0, delayed_prob * intent * trust_now)


def order_margin(
    paid: float, units: float, unit_cost: float, returned: bool, return_cost: float
) -> float:
    """An order's contribution to the margin value (RMB, section 4): a kept order
    earns what was paid less the units' cost; a returned one is refunded and costs
    the handling fee."""
    if returned:
        return -return_cost
    return paid - units * unit_cost
