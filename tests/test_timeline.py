"""The run report's timeline: idle stretches between streams cut out, promotions
shaded. The stretch arithmetic is checked as plain data; the figure is drawn from a
scenario and a made-up per-minute table (no simulation) and its axes inspected."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from livesim.report import timeline as T
from livesim.report.figures import pyplot, timeline_figure
from livesim.results import SimulationResult
from livesim.scenario import Scenario, scenario_from_dict

# ------------------------------------------------------------------ the stretches


def test_overlapping_intervals_are_one_segment() -> None:
    assert T.active_segments([(30, 90), (0, 60), (40, 50)]) == [(0, 90)]


def test_gaps_longer_than_the_threshold_are_dropped() -> None:
    segments = T.active_segments([(0, 60), (190, 260), (121, 130)], gap=60)
    assert segments == [(0, 60), (121, 260)]  # 61 min apart: cut; 60: kept
    assert T.active_segments([(0, 60), (190, 260)], gap=60) == [(0, 60), (190, 260)]
    assert T.active_segments([(0, 60), (120, 130)], gap=60) == [(0, 130)]


def test_a_single_stream_is_one_segment() -> None:
    assert T.active_segments([(1200, 1440)], gap=60) == [(1200, 1440)]
    assert T.panel_segments([(1200, 1440)]) == [(1200, 1440)]


def test_touching_intervals_merge_even_without_a_gap() -> None:
    assert T.active_segments([(0, 60), (60, 120)], gap=0) == [(0, 120)]
    assert T.active_segments([(0, 60), (61, 120)], gap=0) == [(0, 60), (61, 120)]


def test_no_intervals_no_segments() -> None:
    assert T.active_segments([], gap=60) == []
    assert T.panel_segments([]) == []


def test_an_interval_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\(10, 5\) ends before it starts"):
        T.active_segments([(10, 5)])


def test_too_many_stretches_fall_back_to_one_panel_per_day() -> None:
    # three short streams an evening (2 h apart), on 4 days: 12 stretches
    intervals = [
        (d * T.DAY + h * 60, d * T.DAY + h * 60 + 30)
        for d in range(4)
        for h in (14, 17, 20)
    ]
    assert len(T.active_segments(intervals, gap=60)) == 12
    panels = T.panel_segments(intervals, gap=60, most=6)
    assert panels == [(d * T.DAY + 14 * 60, d * T.DAY + 20 * 60 + 30) for d in range(4)]


def test_too_many_days_merge_the_closest_days() -> None:
    evenings = [(d * T.DAY + 1200, d * T.DAY + 1380) for d in (0, 1, 2, 10, 20, 21)]
    panels = T.panel_segments(evenings, gap=60, most=3, most_days=3)
    assert len(panels) == 3
    # the long idle stretches (days 3-9 and 11-19) are the ones cut
    assert panels == [
        (1200, 2 * T.DAY + 1380),
        evenings[3],
        (20 * T.DAY + 1200, 21 * T.DAY + 1380),
    ]


def test_evenly_spaced_days_merge_into_even_panels() -> None:
    evenings = [(d * T.DAY + 1200, d * T.DAY + 1380) for d in range(8)]
    panels = T.merge_closest(evenings, 4)
    assert [round((end - start) / T.DAY) for start, end in panels] == [1, 1, 1, 1]
    assert [start // T.DAY for start, _ in panels] == [0, 2, 4, 6]


def test_a_stream_across_midnight_counts_on_both_days() -> None:
    assert T.per_day([(1380, 1500)]) == [(1380, 1440), (1440, 1500)]


def test_panel_widths_follow_the_minutes_with_a_floor() -> None:
    widths = T.panel_widths([(0, 240), (2000, 2120), (3000, 3005)])
    assert widths[0] == 2 * widths[1]
    assert widths[2] == pytest.approx(0.12 * 365)


def test_clock_labels_and_ticks() -> None:
    assert T.clock_label(T.DAY + 20 * 60, with_day=True) == "20:00\nday 2"
    assert T.clock_label(95, with_day=False) == "01:35"
    ticks = T.clock_ticks(1200, 1440, most=5)
    assert len(ticks) <= 5 and ticks[0] >= 1200 and ticks[-1] <= 1440
    assert all(t % 60 == 0 for t in ticks)


# ------------------------------------------------------------------ promotions


def test_the_same_sale_on_overlapping_streams_is_one_window() -> None:
    scenario = multi_day()
    windows = T.promotion_windows(scenario.campaigns().values())
    # day 1: both streams' sales overlap; day 3: its own; a 10% sale apart
    assert windows == [
        (20 * 60 + 30, 20 * 60 + 60, "-20% p"),
        (2 * T.DAY + 20 * 60 + 30, 2 * T.DAY + 20 * 60 + 45, "-20% p"),
        (2 * T.DAY + 21 * 60, 2 * T.DAY + 21 * 60 + 10, "-10% all products"),
    ]


# ------------------------------------------------------------------ the figure

STREAM = {"host": "h", "products": ["p"], "duration": 120}
SALE = {"duration": 20, "discount": 0.2, "products": ["p"]}


def multi_day(keep: list[str] | None = None) -> Scenario:
    """Two overlapping evening streams on day 1, one on day 3, each with a sale
    (only the streams `keep` names, if given)."""
    streams = [
        dict(STREAM, id="a", start=1200, promotions=[dict(SALE, start=30)]),
        dict(STREAM, id="b", start=1230, promotions=[dict(SALE, start=10)]),
        dict(
            STREAM,
            id="c",
            start=2 * T.DAY + 1200,
            promotions=[
                dict(SALE, start=30, duration=15),
                {"start": 60, "duration": 10, "discount": 0.1},
            ],
        ),
    ]
    return scenario_from_dict(
        {
            "name": "three_days",
            "products": [{"id": "p", "price": 100.0}],
            "hosts": [{"id": "h", "kind": "KOS"}],
            "streams": [s for s in streams if keep is None or s["id"] in keep],
        }
    )


def made_up_result(scenario: Scenario) -> SimulationResult:
    """A result whose campaign series is 1 viewer a minute while a stream is on
    (and 0 between), for every strategy: all that the timeline reads."""
    rows = []
    for name, campaign in scenario.campaigns().items():
        minute = np.arange(campaign.horizon + 1)
        on = sum(((minute >= s.start) & (minute < s.end)) for s in campaign.streams)
        frame = pd.DataFrame({"minute": minute, "concurrent": on.astype(float)})
        frame["cum_gmv"] = np.cumsum(on) * 100.0
        for key in ("concurrent", "cum_gmv"):
            frame[f"{key}_p5"] = frame[key] * 0.9
            frame[f"{key}_p95"] = frame[key] * 1.1
        rows.append(frame.assign(strategy=name, scope="campaign"))
    empty = pd.DataFrame()
    series = pd.concat(rows, ignore_index=True)
    return SimulationResult(empty, empty, series, None, scenario=scenario)


@pytest.fixture
def figure() -> Iterator[Any]:
    fig = timeline_figure(made_up_result(multi_day()))
    yield fig
    pyplot().close(fig)


def test_one_column_of_panels_per_active_stretch(figure: Any) -> None:
    scenario = multi_day()
    stretches = T.active_segments(T.stream_intervals(scenario.campaigns().values()), 60)
    assert len(stretches) == 2  # day 1 (streams a and b) and day 3 (stream c)
    assert len(figure.axes) == 2 * len(stretches)


def test_the_panels_show_no_idle_minutes(figure: Any) -> None:
    campaign = multi_day().campaigns()["baseline"]
    active = np.zeros(campaign.horizon + 1, dtype=bool)
    for s in campaign.streams:
        active[s.start : s.end] = True
    shown = 0.0
    for ax in figure.axes:
        low, high = ax.get_xlim()
        assert low < high
        inside = np.arange(int(np.ceil(low)), int(np.floor(high)))
        assert active[inside].all(), (low, high)  # every minute shown is active
        shown += high - low
    assert shown == pytest.approx(2 * active.sum())  # every active minute shown
    widths = sorted({round(ax.get_position().width, 6) for ax in figure.axes})
    assert len(widths) == 2  # day 1 (150 min) is wider than day 3 (120 min)


def test_every_promotion_is_a_band_on_both_rows(figure: Any) -> None:
    windows = T.promotion_windows(multi_day().campaigns().values())
    bands = [p for ax in figure.axes for p in ax.patches]
    assert len(bands) == 2 * len(windows)
    spans = {(round(p.get_x()), round(p.get_x() + p.get_width())) for p in bands}
    assert spans == {(round(a), round(b)) for a, b, _ in windows}
    labels = [t.get_text().strip() for ax in figure.axes for t in ax.texts]
    assert "-20% p" in labels and "-10% all products" in labels
    (legend,) = figure.legends
    (entry,) = [t.get_text() for t in legend.get_texts() if "promotion" in t.get_text()]
    assert "-20% p" in entry and "-10% all products" in entry


def test_ticks_say_the_day_on_a_multi_day_campaign(figure: Any) -> None:
    bottoms = figure.axes[2:]  # row by row: the top panels, then the bottom ones
    first = [ax.get_xticklabels()[0].get_text() for ax in bottoms]
    assert first[0].endswith("day 1") and first[1].endswith("day 3"), first
    assert not any(label.get_visible() for label in figure.axes[0].get_xticklabels())


def break_marks(ax: Any) -> list[Any]:
    """The lines drawn in axes coordinates: the // of a broken axis."""
    return [line for line in ax.lines if line.get_transform() is ax.transAxes]


def test_stretches_are_marked_as_a_broken_axis(figure: Any) -> None:
    assert all(break_marks(ax) for ax in figure.axes)
    left, right = figure.axes[0], figure.axes[1]
    assert not left.spines["right"].get_visible()
    assert not right.spines["left"].get_visible()


def test_one_stream_is_one_panel_without_break_marks() -> None:
    scenario = multi_day(keep=["c"])
    fig = timeline_figure(made_up_result(scenario))
    try:
        assert len(fig.axes) == 2
        assert not any(break_marks(ax) for ax in fig.axes)
        assert fig.axes[0].get_xlim() == (2 * T.DAY + 1200, 2 * T.DAY + 1320)
        assert len(fig.axes[0].patches) == 2  # its two sales
    finally:
        pyplot().close(fig)


def test_without_a_scenario_the_whole_series_is_one_panel() -> None:
    result = made_up_result(multi_day())
    result.scenario = None
    fig = timeline_figure(result)
    try:
        assert len(fig.axes) == 2 and not fig.axes[0].patches
        last = float(result.timeseries["minute"].max())
        assert fig.axes[0].get_xlim() == (0.0, last)
    finally:
        pyplot().close(fig)


def test_the_examples_in_the_docstrings_hold() -> None:
    import doctest

    failures, tried = doctest.testmod(T)
    assert tried >= 2 and failures == 0
