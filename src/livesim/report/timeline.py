"""What the run report's timeline shows, as plain data (no matplotlib): the active
stretches of a campaign (idle time between streams cut out), its promotions'
windows with short labels, and ticks and labels in campaign time.

A campaign of several days spends most of its minutes idle between streams; the
timeline (`report.figures.timeline`) draws one panel per stretch that
`panel_segments` keeps, each as wide as its minutes, and shades each window of
`promotion_windows`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

#: Minutes of a day: campaign minute 0 is day 1, 00:00 of the campaign's clock.
DAY = 1440
#: Idle stretches shorter than this (minutes) stay in the timeline.
GAP_MINUTES = 60.0
#: More stretches than this: one panel per day ...
MAX_PANELS = 6
#: ... and more days with streams than this: the closest days merged.
MAX_DAY_PANELS = 10
#: Tick spacings (minutes) the timeline chooses from, finest first.
TICK_STEPS = (5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)

Segment = tuple[float, float]


def active_segments(intervals: Iterable[Segment], gap: float = 0.0) -> list[Segment]:
    """The union of `intervals` (start, end), sorted, with stretches apart by at
    most `gap` minutes merged; an empty input gives no segments.

    >>> active_segments([(0, 60), (30, 90), (200, 260)], gap=60)
    [(0, 90), (200, 260)]
    >>> active_segments([(0, 60), (100, 160)], gap=60)
    [(0, 160)]
    """
    merged: list[Segment] = []
    for start, end in sorted(intervals):
        if end < start:
            raise ValueError(f"interval ({start}, {end}) ends before it starts")
        if merged and start - merged[-1][1] <= gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def per_day(segments: Iterable[Segment], day: float = DAY) -> list[Segment]:
    """One segment per day with activity: from its first active minute to its last
    (a segment across midnight counts on both days)."""
    days: dict[int, Segment] = {}
    for start, end in segments:
        first, last = int(start // day), int(max(start, end - 1e-9) // day)
        for d in range(first, last + 1):
            piece = (max(start, d * day), min(end, (d + 1) * day))
            old = days.get(d, piece)
            days[d] = (min(old[0], piece[0]), max(old[1], piece[1]))
    return [days[d] for d in sorted(days)]


def merge_closest(segments: Sequence[Segment], most: int) -> list[Segment]:
    """`segments` (sorted, apart) with the closest neighbours merged until at most
    `most` remain: the longest idle stretches are the ones cut (of equal ones, the
    merge that makes the shorter panel goes first, so panels stay even)."""
    out = list(segments)

    def cost(k: int) -> tuple[float, float]:
        return out[k + 1][0] - out[k][1], out[k + 1][1] - out[k][0]

    while len(out) > max(most, 1):
        i = min(range(len(out) - 1), key=cost)
        out[i : i + 2] = [(out[i][0], out[i + 1][1])]
    return out


def panel_segments(
    intervals: Iterable[Segment],
    gap: float = GAP_MINUTES,
    most: int = MAX_PANELS,
    most_days: int = MAX_DAY_PANELS,
    day: float = DAY,
) -> list[Segment]:
    """The stretches the timeline draws: `active_segments` with `gap`; if more than
    `most`, one per day (`per_day`); if more than `most_days`, the closest days
    merged (`merge_closest`)."""
    segments = active_segments(intervals, gap)
    if len(segments) <= most:
        return segments
    return merge_closest(per_day(segments, day), most_days)


def panel_widths(segments: Sequence[Segment], least: float = 0.12) -> list[float]:
    """Each stretch's width: its minutes, and at least `least` of all the stretches'
    minutes (so a short one stays readable)."""
    total = sum(end - start for start, end in segments)
    return [max(end - start, least * total) for start, end in segments]


def stream_intervals(campaigns: Iterable[Any]) -> list[Segment]:
    """Every stream's (start, end) in campaign minutes, over the campaigns."""
    return [(s.start, s.end) for c in campaigns for s in c.streams]


def promotion_label(promo: Any) -> str:
    """A promotion in a few words: "-20% lipstick" (or "all products")."""
    what = ", ".join(promo.products) if promo.products else "all products"
    return f"-{promo.discount:.0%} {what}"


def promotion_windows(campaigns: Iterable[Any]) -> list[tuple[float, float, str]]:
    """Every promotion's window in campaign minutes with its label; windows of the
    same label that overlap or touch (the same sale on several streams) are one."""
    by_label: dict[str, list[Segment]] = {}
    for campaign in campaigns:
        for stream in campaign.streams:
            for promo in stream.promotions:
                start = stream.start + promo.start
                window = (start, start + promo.duration)
                by_label.setdefault(promotion_label(promo), []).append(window)
    windows = [
        (start, end, label)
        for label, spans in by_label.items()
        for start, end in active_segments(spans)
    ]
    return sorted(windows)


def clock_ticks(start: float, end: float, most: int) -> list[float]:
    """Ticks at whole multiples of the finest `TICK_STEPS` step that puts at most
    `most` (at least 1) of them in [start, end]."""
    for step in TICK_STEPS:
        ticks = [t * step for t in range(-int(-start // step), int(end // step) + 1)]
        if len(ticks) <= max(most, 1):
            return [float(t) for t in ticks] or [float(start)]
    return [float(start)]


def clock_label(minute: float, with_day: bool) -> str:
    """A campaign minute as "20:00", or "20:00" over "day 2" (minute 0 = day 1,
    00:00)."""
    day, rest = divmod(int(round(minute)), DAY)
    text = f"{rest // 60:02d}:{rest % 60:02d}"
    return f"{text}\nday {day + 1}" if with_day else text
