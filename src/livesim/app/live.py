"""The page's live view and Viewers view (Streamlit), for `livesim.app.page`.

The live view shows one session at one minute: a minute slider to scrub, step
buttons, play and pause, and a replay against the wall clock that shows the rate it
achieves (`livesim.app.compute.replay`). Streamlit reruns the script on every
interaction, so the minute shown and whether the replay is playing live in
`st.session_state` (`POSITION`, `PLAYING`), changed by the widgets' callbacks
before the rerun. The charts mark promotions and stock-outs; the lost sales are
counted. The Viewers view follows a few sampled viewers through the event log.
In teaching mode a collapsed note sits under each chart (`livesim.app.notes`).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from livesim.app import logic as L
from livesim.app import notes
from livesim.app.charts import (
    arrivals_chart,
    concurrent_chart,
    funnel_chart,
    journey_chart,
    orders_chart,
    trust_chart,
)
from livesim.app.eventlog import journey_table

#: The live view's charts: (title, chart, teaching note).
LIVE_CHARTS = (
    ("Orders per minute (bars) and cumulative GMV (line)", orders_chart, "orders"),
    ("Concurrent viewers", concurrent_chart, "concurrent"),
    ("Arrivals per minute by source", arrivals_chart, "arrivals"),
    ("Funnel: viewers at each stage so far", funnel_chart, "funnel"),
)
#: Session-state keys: the minute shown, the slider's own key, playing or not, and
#: the rate the last replay achieved.
POSITION, SLIDER, PLAYING, RATE = "live:minute", "minute", "live:playing", "live:rate"
#: The session the replay state belongs to.
SHOWN = "live:shown"
SPEEDS = (5, 10, 20, 40, 80)
#: Where the live view draws: the minute line, the figures, the sold-out notice and
#: the four charts' slots (`st.empty()` placeholders, redrawn frame by frame).
Places = tuple[Any, Any, Any, list[Any]]


# ----------------------------------------------------------------- the controls


def live_controls(scenario: Any, strategy: str, name: str) -> tuple[str, int]:
    """The live view's stream and session number."""
    streams = [s.id for s in scenario.campaigns()[strategy].streams]
    default = L.default_stream(scenario, strategy)
    left, mid, _ = st.columns([2, 1, 3])
    stream = left.selectbox(
        "Stream", streams, index=streams.index(default), key=f"{name}:stream"
    )
    replication = int(
        mid.number_input(
            "Session no.", min_value=0, max_value=9999, value=0, key=f"{name}:rep"
        )
    )
    return str(stream), replication


def _clamp(minute: int, duration: int) -> int:
    return min(max(int(minute), 0), duration)


def _step(delta: int, duration: int) -> None:
    now = st.session_state.get(POSITION, duration)
    st.session_state[POSITION] = _clamp(now + delta, duration)
    st.session_state[PLAYING] = False


def _scrub() -> None:
    st.session_state[POSITION] = st.session_state[SLIDER]
    st.session_state[PLAYING] = False


def _play(duration: int) -> None:
    if st.session_state.get(POSITION, duration) >= duration:
        st.session_state[POSITION] = 0
    st.session_state[PLAYING] = True


def _pause() -> None:
    st.session_state[PLAYING] = False


def replay_controls(duration: int) -> tuple[int, float, bool]:
    """The minute slider, step and play/pause buttons and the replay speed: the
    minute to show, the speed and whether to play."""
    minute = _clamp(st.session_state.get(POSITION, duration), duration)
    st.session_state[POSITION] = st.session_state[SLIDER] = minute
    slider, back, play, pause, forward, speed_col = st.columns([5, 1, 1, 1, 1, 3])
    slider.slider(
        "Minute of the stream",
        min_value=0,
        max_value=duration,
        key=SLIDER,
        on_change=_scrub,
    )
    for col in (back, play, pause, forward):
        col.write("")
    back.button(
        "◀ 1",
        key="step_back",
        on_click=_step,
        args=(-1, duration),
        help="One minute back",
        width="stretch",
    )
    play.button(
        "▶ Play",
        key="play",
        on_click=_play,
        args=(duration,),
        help="Replay from this minute",
        width="stretch",
    )
    pause.button("Pause", key="pause", on_click=_pause, width="stretch")
    forward.button(
        "1 ▶",
        key="step_forward",
        on_click=_step,
        args=(1, duration),
        help="One minute on",
        width="stretch",
    )
    speed = speed_col.select_slider(
        "Replay speed (stream minutes per second)",
        options=list(SPEEDS),
        value=20,
        key="speed",
    )
    return minute, float(speed), bool(st.session_state.get(PLAYING))


# ------------------------------------------------------------------ the live view


def follow(identity: tuple[Any, ...]) -> None:
    """Start the replay state afresh when the session shown is another one (a
    new scenario, strategy, stream or session number): its end, not playing."""
    if st.session_state.get(SHOWN) != identity:
        for key in (POSITION, RATE):
            st.session_state.pop(key, None)
        st.session_state[PLAYING] = False
        st.session_state[SHOWN] = identity


def live_view(
    session: L.Session,
    replication: int,
    teaching: bool,
    identity: tuple[Any, ...] = (),
) -> None:
    """One session at the slider's minute, or replayed from it when playing;
    `identity` names the session (the replay state follows it)."""
    follow(identity or (session.stream, replication))
    st.caption(
        f"One replication (session no. {replication}) of stream **{session.stream}** "
        f"({session.host_kind} host, {session.duration} minutes) on the agent "
        "engine, with the streams that send it carry-over viewers. Shaded: "
        "promotions; dashed red: a product sold out."
    )
    minute, speed, playing = replay_controls(session.duration)
    status, kpis, alert = st.empty(), st.empty(), st.empty()
    slots = []
    for row in (LIVE_CHARTS[:2], LIVE_CHARTS[2:]):
        for column, (title, _, note) in zip(st.columns(2), row, strict=True):
            column.markdown(f"**{title}**")
            slots.append(column.empty())
            if teaching:
                teaching_note(column, note, session)
    places = (status, kpis, alert, slots)
    if not playing:
        draw_live(session, minute, places, replay_status(minute, session.duration))
        return

    def frame(m: int, rate: float) -> None:
        st.session_state[POSITION] = m  # kept if a click interrupts the replay
        draw_live(session, m, places, playing_status(m, session, rate))

    rate = L.replay(minute, session.duration, speed, frame)
    st.session_state[RATE] = (rate, speed)
    st.session_state[PLAYING] = False
    st.rerun()


def replay_status(minute: int, duration: int) -> str:
    """The line above the charts when not playing (the last replay's rate)."""
    line = f"**Minute {minute} of {duration}**"
    if RATE in st.session_state:
        rate, speed = st.session_state[RATE]
        line += (
            f" · the last replay ran at {rate:.1f} stream minutes per second "
            f"(asked: {speed:g})"
        )
    return line


def playing_status(minute: int, session: L.Session, rate: float) -> str:
    """The line above the charts while playing: the rate achieved so far."""
    return (
        f"**Minute {minute} of {session.duration}** · replaying at {rate:.1f} "
        "stream minutes per second (measured; frames skipped to keep up)"
    )


def draw_live(session: L.Session, minute: int, places: Places, line: str) -> None:
    """The live view's numbers, sold-out notice and four charts at `minute`."""
    status, kpis, alert, slots = places
    status.markdown(line)
    shown = session.upto(minute)
    last = shown.iloc[-1] if len(shown) else None

    def at(column: str) -> float:
        return float(last[column]) if last is not None else 0.0

    with kpis.container():
        cols = st.columns(5)
        cols[0].metric("Viewers entered", f"{at('entered'):,.0f}")
        peak = float(shown["concurrent"].max()) if len(shown) else 0.0
        cols[1].metric(
            "Peak concurrent", f"{peak:,.0f}", help="The highest minute mean so far."
        )
        cols[2].metric("Orders in stream", f"{at('cum_orders'):,.0f}")
        cols[3].metric(
            "GMV in stream (RMB)",
            L.money(at("cum_gmv")).removesuffix(" RMB"),
            help="Gross GMV of the stream's in-stream orders so far.",
        )
        cols[4].metric(
            "Lost sales (no stock)",
            f"{at('cum_lost'):,.0f}",
            help="Purchases in the stream so far that found the product's stock "
            "empty: the demand a sold-out product could not serve.",
        )
    upto = float(minute) if minute < session.duration else None
    sold = [s.sentence(upto) for s in session.stockouts if s.minute <= minute]
    if sold:
        alert.warning("**Sold out:** " + "; ".join(sold) + ".")
    else:
        alert.empty()
    for slot, (_, make, _) in zip(slots, LIVE_CHARTS, strict=True):
        slot.altair_chart(make(session, minute), width="stretch")


def teaching_note(where: Any, name: str, session: L.Session) -> None:
    """A chart's teaching note, collapsed, under the chart."""
    if name == "funnel":
        title, text = notes.funnel_note()
    else:
        story = notes.soldout_story(session) if name == "orders" else ""
        title, text = notes.chart_note(name, story)
    with where.expander(f"Teaching note: {title}", expanded=False):
        st.markdown(text)


# ---------------------------------------------------------------- viewers view


def viewers_view(session: L.Session, teaching: bool) -> None:
    """A few sampled viewers of the live session, through their journeys."""
    journeys = session.journeys
    if journeys.empty:
        st.info("No viewers in this session.")
        return
    st.caption(
        f"{journeys['viewer'].nunique()} viewers of the live session "
        f"(stream **{session.stream}**) drawn with the seed and session number: "
        "two who bought, one whose purchase found the stock empty and one who "
        "asked a question where the session has them, the rest at random. Their "
        "events come from the agent engine's event log."
    )
    st.markdown("**Journeys: one row per viewer, events along the stream's minutes**")
    st.altair_chart(journey_chart(session), width="stretch")
    if teaching:
        teaching_note(st, "journeys", session)
    st.markdown(
        "**Trust in the host over each visit** (not in the log: the model's trust "
        "curve rebuilt from the viewer's logged answers and questions given up)"
    )
    st.altair_chart(trust_chart(session), width="stretch")
    if teaching:
        teaching_note(st, "trust", session)
    st.markdown("**The sampled viewers**")
    st.dataframe(journey_table(journeys), hide_index=True, width="stretch")
    with st.expander("Every event of these viewers", expanded=False):
        st.dataframe(journeys, hide_index=True, width="stretch")


def model_sections() -> None:
    """Teaching mode: the docs/model.md sections the notes cite, collapsed."""
    st.markdown("**The model behind the notes** (docs/model.md)")
    for number in notes.model_sections():
        text = L.section_text(number)
        if text:
            with st.expander(f"docs/model.md §{number}: {L.section_title(number)}"):
                st.markdown(text)
