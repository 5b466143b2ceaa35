"""The page's charts (Altair): the live session's four, the Viewers view's two and
the what-if's two.

Each takes what `livesim.app.logic` computed (a `Session` and a minute of its
replay, or the what-if's long table) and returns a chart; the time charts keep the
whole stream's scale, so a replay does not rescale, shade the promotions and draw
a "sold out" rule at the minute a product's stock ran out, once the replay has
reached it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import altair as alt
import pandas as pd

from livesim.app import logic as L
from livesim.engines.output import SOURCE_NAMES
from livesim.report.figures import COLORS

SOURCE_COLORS = dict(zip(SOURCE_NAMES, COLORS[: len(SOURCE_NAMES)], strict=True))
PROMO_COLOR = "#e07a1f"
SOLDOUT_COLOR = "#b2182b"
#: Colours of the journey events (the rest: engagement, grey).
EVENT_COLORS = {
    "arrive": COLORS[0],
    "question": "#7b3294",
    "answered": "#1a9850",
    "abandoned": "#fdae61",
    "order": COLORS[2],
    "delayed_order": COLORS[2],
    "lost_sale": SOLDOUT_COLOR,
    "return": "#8c510a",
    "leave": "#333333",
    "engagement": "#9e9e9e",
}
CHART_HEIGHT = 210
#: The journey chart's pixels per viewer, and for its legend and axis (Streamlit
#: fits a chart's axes and legend inside its height).
JOURNEY_ROW, JOURNEY_MARGIN = 40, 120
#: An Altair chart, layered or not.
Chart = Any


def x_axis(duration: int) -> alt.X:
    """Stream minutes, fixed to the whole stream so a replay does not rescale."""
    return alt.X(
        "minute:Q",
        title="minute of the stream",
        scale=alt.Scale(domain=[0, duration], nice=False),
    )


def promotion_layers(session: L.Session) -> list[Chart]:
    """Shaded promotion windows with their labels."""
    marks = tuple((p["start"], p["end"], p["label"]) for p in session.promotions)
    return list(_promotion_layers(marks)) if marks else []


@lru_cache(maxsize=16)
def _promotion_layers(promotions: tuple[tuple[float, float, str], ...]) -> tuple:
    """The promotion layers, built once per set of promotions (Altair's encoding
    checks cost more than drawing; the page draws them on every chart and frame)."""
    marks = pd.DataFrame(promotions, columns=["start", "end", "label"])
    band = (
        alt.Chart(marks)
        .mark_rect(color=PROMO_COLOR, opacity=0.16)
        .encode(x="start:Q", x2="end:Q", tooltip=["label:N", "start:Q", "end:Q"])
    )
    text = (
        alt.Chart(marks)
        .mark_text(align="left", baseline="top", dx=3, dy=3, color=PROMO_COLOR)
        .encode(x="start:Q", y=alt.value(0), text="label:N")
    )
    return band, text


def soldout_layers(session: L.Session, minute: int) -> list[Chart]:
    """A dashed rule, labelled "<product> sold out", at each stock-out the replay
    has reached (one that happened before the stream at minute 0)."""
    shown = [s for s in session.stockouts if s.minute <= minute]
    if not shown:
        return []
    marks = pd.DataFrame(
        {
            "minute": [max(0.0, s.minute) for s in shown],
            "label": [f"{s.product} sold out" for s in shown],
            "lost sales": [s.lost for s in shown],
        }
    )
    rule = (
        alt.Chart(marks)
        .mark_rule(color=SOLDOUT_COLOR, strokeDash=[5, 3], strokeWidth=2)
        .encode(
            x="minute:Q",
            y=alt.value(16),  # below the promotion's label
            y2=alt.value("height"),
            tooltip=["label:N", "minute:Q", "lost sales:Q"],
        )
    )
    text = (
        alt.Chart(marks)
        .mark_text(
            align="left",
            baseline="top",
            dx=4,
            dy=18,
            color=SOLDOUT_COLOR,
            fontWeight="bold",
        )
        .encode(x="minute:Q", y=alt.value(0), text="label:N")
    )
    return [rule, text]


def with_marks(chart: Chart, session: L.Session, minute: int) -> Chart:
    """A time chart with the promotions and stock-outs marked, sized."""
    layers = [*promotion_layers(session), chart, *soldout_layers(session, minute)]
    layered = alt.layer(*layers) if len(layers) > 1 else chart
    return layered.properties(height=CHART_HEIGHT)


def concurrent_chart(session: L.Session, minute: int) -> Chart:
    """Concurrent viewers per minute."""
    top = float(session.minutes["concurrent"].max()) * 1.08 or 1.0
    line = (
        alt.Chart(session.upto(minute))
        .mark_area(color=COLORS[0], opacity=0.35, line={"color": COLORS[0]})
        .encode(
            x=x_axis(session.duration),
            y=alt.Y(
                "concurrent:Q",
                title="viewers",
                scale=alt.Scale(domain=[0, top]),
            ),
            tooltip=["minute:Q", alt.Tooltip("concurrent:Q", format=",.0f")],
        )
    )
    return with_marks(line, session, minute)


def arrivals_chart(session: L.Session, minute: int) -> Chart:
    """Arrivals per minute, stacked by source."""
    sources = [
        s for s in SOURCE_COLORS if float(session.minutes[f"arrivals_{s}"].sum()) > 0
    ]
    shown = session.upto(minute)
    long = shown.melt(
        id_vars="minute",
        value_vars=[f"arrivals_{s}" for s in sources],
        var_name="source",
        value_name="arrivals",
    )
    long["source"] = long["source"].str.removeprefix("arrivals_")
    total = session.minutes[[f"arrivals_{s}" for s in sources]].sum(axis=1)
    top = float(total.max()) * 1.08 or 1.0
    area = (
        alt.Chart(long)
        .mark_area(opacity=0.85)
        .encode(
            x=x_axis(session.duration),
            y=alt.Y(
                "arrivals:Q",
                stack="zero",
                title="arrivals per minute",
                scale=alt.Scale(domain=[0, top]),
            ),
            color=alt.Color(
                "source:N",
                scale=alt.Scale(
                    domain=sources, range=[SOURCE_COLORS[s] for s in sources]
                ),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=["minute:Q", "source:N", "arrivals:Q"],
        )
    )
    return with_marks(area, session, minute)


def funnel_chart(session: L.Session, minute: int) -> Chart:
    """The funnel stages filled by this minute (bars on the whole session's scale)."""
    frame = session.funnel_at(minute)
    frame["text"] = [
        f"{c:,.0f}" + ("" if s != s else f"  ({s:.0%} of previous)")
        for c, s in zip(frame["count"], frame["share of previous"], strict=True)
    ]
    top = float(session.minutes["entered"].iloc[-1]) * 1.45 or 1.0
    base = alt.Chart(frame).encode(
        y=alt.Y("stage:N", sort=list(L.LIVE_STAGES), title=None),
        x=alt.X("count:Q", title="viewers", scale=alt.Scale(domain=[0, top])),
    )
    bars = base.mark_bar(color=COLORS[0]).encode(
        color=alt.Color(
            "stage:N",
            sort=list(L.LIVE_STAGES),
            scale=alt.Scale(domain=list(L.LIVE_STAGES), range=COLORS[:4]),
            legend=None,
        ),
        tooltip=["stage:N", alt.Tooltip("count:Q", format=",.0f")],
    )
    labels = base.mark_text(align="left", dx=4).encode(text="text:N")
    return alt.layer(bars, labels).properties(height=CHART_HEIGHT)


def orders_chart(session: L.Session, minute: int) -> Chart:
    """Orders per minute (bars) and cumulative GMV (line, right axis)."""
    shown = session.upto(minute)
    x = x_axis(session.duration)
    orders_top = float(session.minutes["orders"].max()) * 1.1 or 1.0
    gmv_top = float(session.minutes["cum_gmv"].iloc[-1]) * 1.05 or 1.0
    bars = (
        alt.Chart(shown)
        .mark_bar(color=COLORS[1], opacity=0.7)
        .encode(
            x=x,
            y=alt.Y(
                "orders:Q",
                title="orders per minute",
                scale=alt.Scale(domain=[0, orders_top]),
            ),
            tooltip=["minute:Q", "orders:Q"],
        )
    )
    line = (
        alt.Chart(shown)
        .mark_line(color=COLORS[2], strokeWidth=2.5)
        .encode(
            x=x,
            y=alt.Y(
                "cum_gmv:Q",
                title="cumulative GMV (RMB)",
                scale=alt.Scale(domain=[0, gmv_top]),
                axis=alt.Axis(orient="right", format="~s", titleColor=COLORS[2]),
            ),
            tooltip=["minute:Q", alt.Tooltip("cum_gmv:Q", format=",.0f")],
        )
    )
    layers = [*promotion_layers(session), bars, line, *soldout_layers(session, minute)]
    return (
        alt.layer(*layers)
        .resolve_scale(y="independent")
        .properties(height=CHART_HEIGHT)
    )


def journey_chart(session: L.Session) -> Chart:
    """One row per sampled viewer: the visit (a grey bar from arriving to leaving)
    and its events along the stream's minutes (after the stream: beyond its end)."""
    frame = session.journeys.copy()
    frame["kind"] = frame["event"].where(
        frame["event"].isin(list(EVENT_COLORS)), "engagement"
    )
    end = max(float(session.duration), float(frame["minute"].max()))
    x = alt.X(
        "minute:Q",
        title="minute of the stream",
        scale=alt.Scale(domain=[0, end], nice=False),
    )
    y = alt.Y(
        "viewer:N",
        sort=list(dict.fromkeys(frame["viewer"])),
        title=None,
        axis=alt.Axis(labelLimit=260),
    )
    visits = frame.groupby("viewer", sort=False)["minute"].agg(["min", "max"])
    visit = (
        alt.Chart(visits.reset_index())
        .mark_rule(color="#dddddd", strokeWidth=10)
        .encode(x=alt.X("min:Q", scale=alt.Scale(domain=[0, end])), x2="max:Q", y=y)
    )
    kinds = list(EVENT_COLORS)
    points = (
        alt.Chart(frame)
        .mark_point(filled=True, size=80, opacity=0.9)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=kinds, range=list(EVENT_COLORS.values())),
                legend=alt.Legend(orient="top", title=None, columns=5),
            ),
            shape=alt.Shape("kind:N", scale=alt.Scale(domain=kinds), legend=None),
            tooltip=[
                "viewer:N",
                alt.Tooltip("minute:Q", format=".1f"),
                "event:N",
                "detail:N",
            ],
        )
    )
    return alt.layer(*promotion_layers(session), visit, points).properties(
        height=JOURNEY_ROW * max(1, frame["viewer"].nunique()) + JOURNEY_MARGIN
    )


def trust_chart(session: L.Session) -> Chart:
    """The sampled viewers' trust in the host over their visits (rebuilt from the
    model's curve and their logged answers)."""
    frame = session.trust
    return (
        alt.Chart(frame)
        .mark_line(strokeWidth=2)
        .encode(
            x=x_axis(session.duration),
            y=alt.Y("trust:Q", title="trust", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                "viewer:N",
                sort=list(dict.fromkeys(frame["viewer"])),
                legend=alt.Legend(orient="right", title=None, labelLimit=280),
            ),
            tooltip=[
                "viewer:N",
                alt.Tooltip("minute:Q", format=".1f"),
                alt.Tooltip("trust:Q", format=".2f"),
            ],
        )
        .properties(height=CHART_HEIGHT)
    )


def distribution_chart(frame: pd.DataFrame, metric: str, title: str) -> Chart:
    """Replications of one metric per setting: a box and the points."""
    data = frame[frame["metric"] == metric]
    domain = ["baseline", "current"]
    color = alt.Color(
        "setting:N",
        scale=alt.Scale(domain=domain, range=[COLORS[5], COLORS[0]]),
        legend=None,
    )
    y = alt.Y("setting:N", sort=domain, title=None)
    x = alt.X("value:Q", title=title, scale=alt.Scale(zero=False))
    box = alt.Chart(data).mark_boxplot(extent="min-max", size=26, opacity=0.5)
    points = alt.Chart(data).mark_circle(size=70, opacity=0.9)
    fmt = ",.0f" if metric == "net_gmv" else ".3f"
    tooltip = ["setting:N", "replication:Q", alt.Tooltip("value:Q", format=fmt)]
    return alt.layer(
        box.encode(x=x, y=y, color=color),
        points.encode(x=x, y=y, color=color, tooltip=tooltip),
    ).properties(title=title, height=170)
