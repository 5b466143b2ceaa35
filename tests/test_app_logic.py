"""The interactive page without a browser: its logic, its launcher, and the page
driven by Streamlit's AppTest (move a slider, the shown figures change)."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from livesim import ConfigError
from livesim.app import MISSING, PAGE, command, compute, launch
from livesim.app import eventlog as E
from livesim.app import logic as L

# --------------------------------------------------------------------- controls


def test_controls_cover_every_kind_promotion_and_stock() -> None:
    data = L.load_base("teaching_tiny")
    keys = {c.key for c in L.controls(data)}
    for kind in ("KOL", "KOS"):
        for name in (
            "followers",
            "initial_trust",
            "trust_rate",
            "purchase_rate",
            "engagement",
            "qa_capacity",
        ):
            assert f"{kind}.{name}" in keys
    assert {"promotion.start", "promotion.discount", "stock.scale"} <= keys
    for control in L.controls(data):
        assert control.low <= control.value <= control.high, control
        assert control.help


def test_defaults_leave_the_scenario_unchanged() -> None:
    data = L.load_base("mac_kos101")
    assert L.apply_controls(data, L.defaults(data)) == data


def test_host_controls_reach_every_host_of_the_kind() -> None:
    data = L.load_base("mac_kos101")
    values = L.defaults(data) | {
        "KOS.purchase_rate": 0.05,
        "KOS.qa_capacity": 5.0,
        "KOS.engagement": 2.0,
    }
    values["KOS.followers"] = values["KOS.followers"] * 2
    scenario = L.build(L.apply_controls(data, values))
    before = {h["id"]: h["followers"] for h in data["hosts"]}
    for host in scenario.hosts:
        params = host.params()
        assert params.purchase_rate == 0.05
        assert params.qa_capacity == 5
        assert params.like_rate == pytest.approx(2 * 0.70)
        assert abs(params.followers - 2 * before[host.id]) <= 1


def test_initial_trust_above_the_ceiling_raises_the_ceiling() -> None:
    data = L.load_base("teaching_tiny")
    values = L.defaults(data) | {"KOL.initial_trust": 0.9}
    scenario = L.build(L.apply_controls(data, values))
    kol = next(h for h in scenario.hosts if h.kind == "KOL").params()
    assert kol.initial_trust == kol.trust_ceiling == 0.9


def test_promotion_and_stock_controls_reach_strategies_too() -> None:
    data = L.load_base("teaching_tiny")
    values = L.defaults(data) | {
        "promotion.start": 0.0,
        "promotion.discount": 0.4,
        "stock.scale": 2.0,
    }
    scenario = L.build(L.apply_controls(data, values))
    for campaign in scenario.campaigns().values():
        promos = [p for s in campaign.streams for p in s.promotions]
        assert promos and all(p.start == 0 and p.discount == 0.4 for p in promos)
    assert scenario.products[0].stock == 300


def test_every_offered_promotion_start_is_valid() -> None:
    for name in L.bundled_names():
        data = L.load_base(name)
        starts = L.promotion_starts(data)
        assert starts
        for start in starts:
            L.build(
                L.apply_controls(data, L.defaults(data) | {"promotion.start": start})
            )


def test_an_invalid_setting_is_a_config_error() -> None:
    data = L.load_base("teaching_tiny")
    data["hosts"][0]["share_prob"] = 0.9  # word of mouth explodes
    with pytest.raises(ConfigError):
        L.build(data)


# ----------------------------------------------------------------- live session


@pytest.fixture(scope="module")
def session() -> L.Session:
    scenario = L.build(L.load_base("teaching_tiny"))
    stream = L.default_stream(scenario, scenario.baseline)
    assert stream == "kos_close"
    return L.live_session(scenario, scenario.baseline, stream, 0, 0)


def test_session_minutes_and_totals_agree(session: L.Session) -> None:
    minutes = session.minutes
    assert session.duration == 60
    assert list(minutes["minute"]) == list(range(60))
    assert minutes["cum_gmv"].iloc[-1] == pytest.approx(minutes["gmv"].sum())
    assert (
        minutes["cum_orders"].iloc[-1]
        == session.totals["orders"] - session.totals["delayed_orders"]
    )
    # the warm-up stream sends carry-over viewers to the KOS stream
    assert minutes["arrivals_carryover"].sum() > 0
    assert session.promotions == [
        {"start": 30.0, "end": 45.0, "label": "-20% all products"}
    ]


def test_a_live_session_on_a_worker_is_the_same(session: L.Session) -> None:
    """The page runs the live session on a worker process: the same session."""
    scenario = L.build(L.load_base("teaching_tiny"))
    compute._LIVE_CACHE.clear()
    done = L.live_session_start(scenario, scenario.baseline, "kos_close", 0, 0, 2)
    other = done()
    pd.testing.assert_frame_equal(other.minutes, session.minutes)
    pd.testing.assert_frame_equal(other.journeys, session.journeys)
    assert other.stockouts == session.stockouts
    again = L.live_session_start(scenario, scenario.baseline, "kos_close", 0, 0, 2)
    assert again() is other  # cached


def test_funnel_stages_are_nested_and_fill_up(session: L.Session) -> None:
    frame = session.minutes
    for stage in L.LIVE_STAGES:
        assert (np.diff(frame[stage]) >= 0).all(), stage
    for upper, lower in zip(L.LIVE_STAGES, L.LIVE_STAGES[1:], strict=False):
        assert (frame[upper] >= frame[lower]).all(), (upper, lower)
    last = frame.iloc[-1]
    # a visit is one room entry (a viewer who comes back is counted again)
    assert last["entered"] == session.totals["viewers"]
    assert last["ordered"] == last["cum_orders"]
    half = session.funnel_at(30)
    assert list(half["stage"]) == list(L.LIVE_STAGES)
    assert (half["count"].to_numpy() <= last[list(L.LIVE_STAGES)].to_numpy()).all()
    assert session.funnel_at(0)["count"].sum() == 0


def test_stage_counts_from_events() -> None:
    events = [
        ("s", 1, 0.5, "arrive", "follower"),
        ("s", 1, 1.5, "like", ""),
        ("s", 2, 1.2, "arrive", "platform"),
        ("s", 2, 2.5, "order", "lipstick"),
        ("s", 3, 2.1, "arrive", "wom"),
        ("s", 3, 2.2, "click", ""),
    ]
    counts = L.stage_counts(events, start=0, duration=3)
    assert list(counts["entered"]) == [1, 2, 3]
    assert list(counts["engaged"]) == [0, 1, 3]
    assert list(counts["clicked"]) == [0, 0, 2]
    assert list(counts["ordered"]) == [0, 0, 1]


class FakeClock:
    """A clock that drawing a frame moves on by `draw_seconds`."""

    def __init__(self, draw_seconds: float) -> None:
        self.now = 0.0
        self.draw_seconds = draw_seconds
        self.drawn: list[tuple[int, float]] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def draw(self, minute: int, rate: float) -> None:
        self.drawn.append((minute, rate))
        self.now += self.draw_seconds


@pytest.mark.parametrize("draw_seconds", [0.01, 0.4])
def test_replay_keeps_to_the_wall_clock(draw_seconds: float) -> None:
    """A replay achieves the rate asked whether drawing is fast or slow: slow
    drawing skips minutes rather than lagging; it ends on the last minute."""
    clock = FakeClock(draw_seconds)
    rate = L.replay(10, 60, 20, clock.draw, clock=clock, sleep=clock.sleep)
    minutes = [m for m, _ in clock.drawn]
    assert minutes[-1] == 60 and minutes == sorted(set(minutes))
    assert 20 / 1.25 <= rate <= 20
    assert clock.now == pytest.approx(50 / rate)
    assert all(0 < so_far <= 20 for _, so_far in clock.drawn)
    frames = len(minutes)
    if draw_seconds > 1 / L.REPLAY_FPS:
        assert frames <= 50 / 20 / draw_seconds + 1  # minutes were skipped
    else:
        assert frames >= 50 / 20 * L.REPLAY_FPS * 0.8


def test_replay_minute_is_due_by_the_clock() -> None:
    assert L.replay_minute(0, 60, 20, 0.0) == 0
    assert L.replay_minute(5, 60, 20, 0.5) == 15
    assert L.replay_minute(5, 60, 20, 100.0) == 60


# ------------------------------------------------------------------ the event log


@pytest.fixture(scope="module")
def log() -> list[tuple[str, int, float, str, str]]:
    """The event log of the session fixture's run."""
    from livesim.engines import engine_runner

    scenario = L.build(L.load_base("teaching_tiny"))
    campaign = L.feeders(scenario.campaigns()[scenario.baseline], "kos_close")
    return list(engine_runner("agent")(campaign, 0, 0, True).events or [])


def test_the_lipstick_sells_out_during_the_sale(session: L.Session, log: list) -> None:
    """teaching_tiny's KOS stream: the lipstick's stock runs out in the -20% sale;
    its lost sales are the engine's tally and all come after it, and no lipstick is
    ordered after."""
    assert [s.product for s in session.stockouts] == ["lipstick"]
    out = session.stockouts[0]
    sale = session.promotions[0]
    assert sale["start"] <= out.minute < sale["end"]
    assert out.lost_in_stream > 0
    assert sum(s.lost for s in session.stockouts) == session.totals["lost_sales"]
    assert session.minutes["cum_lost"].iloc[-1] == out.lost_in_stream
    assert session.minutes["cum_lost"].iloc[int(out.minute) - 1] == 0
    sold_out_at = 60 + out.minute
    lipstick = [e for e in log if e[4].startswith("lipstick")]
    assert all(e[2] >= sold_out_at for e in lipstick if e[3] == "lost_sale")
    assert not [e for e in lipstick if e[3].endswith("order") and e[2] > sold_out_at]
    assert out.sentence().startswith(f"lipstick sold out at minute {int(out.minute)}")
    # during the replay the notice counts what the metric beside it counts
    for minute in (int(out.minute) + 1, int(out.minute) + 5):
        so_far = int(session.minutes["cum_lost"].iloc[minute - 1])
        assert out.sentence(float(minute)).endswith(f": {so_far} lost sales so far")


def test_sold_out_times_follow_the_units_ordered() -> None:
    events = [
        ("a", 1, 3.0, "order", "lipstick x2 = 340.00"),
        ("a", 2, 1.0, "order", "lipstick x1 = 170.00"),
        ("b", 3, 5.0, "delayed_order", "foundation x1 = 410.00"),
        ("b", 4, 6.0, "lost_sale", "lipstick"),
        ("b", 5, 7.0, "order", "mascara x9 = 9.00"),
    ]
    stock = {"lipstick": 3, "foundation": 5, "mascara": None}
    assert E.sold_out_times(events, stock) == {"lipstick": 3.0}
    found = E.stockouts(events, stock, "b", ["lipstick", "foundation"], (2.0, 5.5))
    assert found == [E.StockOut("lipstick", 1.0, 0, 1)]
    assert E.stockouts(events, stock, "b", ["foundation"], (2.0, 5.5)) == []
    # no stock at the start: sold out before the stream, not at its first lost sale
    empty = E.stockouts(events, {"lipstick": 0}, "b", ["lipstick"], (2.0, 9.0))
    assert empty[0].minute < 0 and "before the stream" in empty[0].sentence()


def test_sampled_journeys_are_the_log(session: L.Session, log: list) -> None:
    """Each sampled viewer's journey is its events in the log, in time order; it
    shows a purchase exactly when the log has one; buyers and a lost sale are
    among the sample."""
    journeys = session.journeys
    assert 3 <= journeys["id"].nunique() <= 5
    for vid, rows in journeys.groupby("id"):
        mine = sorted(
            (e for e in log if e[0] == "kos_close" and e[1] == vid),
            key=lambda e: e[2],
        )
        assert list(rows["event"]) == [e[3] for e in mine]
        assert list(rows["minute"]) == pytest.approx([e[2] - 60 for e in mine])
        assert rows["minute"].is_monotonic_increasing
        bought = any(e[3] in ("order", "delayed_order") for e in mine)
        assert (rows["outcome"].iloc[0] == "bought") == bought
        assert rows["event"].iloc[0] == "arrive"
        assert rows["source"].iloc[0] == mine[0][4] != "fake_follower"
    outcomes = set(journeys["outcome"])
    assert {"bought", "lost sale"} <= outcomes
    table = L.journey_table(journeys)
    assert len(table) == journeys["id"].nunique()
    assert (table["left (minute)"] >= table["arrived (minute)"]).all()


def test_the_sample_follows_the_seed() -> None:
    events = [
        ("s", v, float(v) + dt, kind, detail)
        for v in range(50)
        for dt, kind, detail in ((0, "arrive", "platform"), (1, "leave", ""))
    ]
    events += [
        ("s", 7, 7.5, "order", "lipstick x1 = 1.00"),
        ("s", 8, 8.0, "arrive", "fake_follower"),
        ("s", 9, 9.5, "question", ""),
    ]
    groups = E.viewer_groups(events)
    assert groups["bought"] == [7] and groups["asked"] == [9]
    assert groups["lost sale"] == [] and 8 not in groups["anyone"]
    first = E.sample_viewers(events, (0, 0))
    assert first == E.sample_viewers(events, (0, 0)) == sorted(first)
    assert {7, 9} <= set(first) and len(first) == E.SAMPLE_SIZE and 8 not in first
    assert any(E.sample_viewers(events, (0, r)) != first for r in range(1, 5))


TRUST = E.TrustModel(
    initial=0.4, ceiling=0.9, rate=0.1, answer_gain=0.5, abandon_loss=0.2
)


def visit(*middle: tuple[float, str]) -> list[tuple[str, int, float, str, str]]:
    events = [(0.0, "arrive"), *middle, (20.0, "leave")]
    return [("s", 1, t, kind, "") for t, kind in events]


def test_trust_rises_toward_the_ceiling_and_answers_move_it() -> None:
    plain = E.trust_path(visit(), TRUST)
    values = [v for _, v in plain]
    assert values[0] == pytest.approx(0.4) and np.all(np.diff(values) > 0)
    assert values[-1] < 0.9 and plain[-1][0] == 20.0
    at_10 = dict(plain)[10.0]
    answered = dict(E.trust_path(visit((5.0, "question"), (10.0, "answered")), TRUST))
    assert max(v for t, v in answered.items() if t > 10) > at_10 + 0.05
    gave_up = E.trust_path(visit((5.0, "question"), (10.0, "abandoned")), TRUST)
    assert min(v for t, v in gave_up if t >= 10) < at_10 - 0.1
    dropped = E.trust_path(visit((15.0, "question"), (20.0, "abandoned")), TRUST)
    assert [v for _, v in dropped][-1] == pytest.approx(values[-1])


# ---------------------------------------------------------------------- what-if


def test_whatif_is_paired_and_cached() -> None:
    data = L.load_base("teaching_tiny")
    base = L.build(data)
    runs = L.whatif(base, base.baseline, 6, 3, workers=1)
    assert list(runs["replication"]) == list(range(6))
    assert L.whatif(base, base.baseline, 6, 3, workers=1) is runs
    same = L.paired_differences(runs, runs, seed=0)
    assert (same["difference"] == 0).all()
    faster = L.build(
        L.apply_controls(data, L.defaults(data) | {"KOS.purchase_rate": 0.06})
    )
    diffs = L.paired_differences(L.whatif(faster, "baseline", 6, 3, 1), runs)
    gmv = diffs.set_index("metric").loc["net GMV (RMB)"]
    assert (
        gmv["difference"] > 0 and gmv["ci_low"] <= gmv["difference"] <= gmv["ci_high"]
    )
    assert gmv["n"] == 6
    long = L.distribution_frame({"baseline": runs, "current": runs})
    assert set(long["metric"]) == {"net_gmv", "roi"} and len(long) == 24


def test_default_replications() -> None:
    assert L.default_replications("mac_kos101") >= 3
    assert L.default_replications("anything") == L.FALLBACK_REPLICATIONS


# --------------------------------------------------------------------- teaching


def test_every_stage_and_parameter_has_a_sentence_and_a_section() -> None:
    for sentence, section in [*L.STAGE_HELP.values(), *L.PARAMETER_HELP.values()]:
        assert sentence.endswith(".") and section.isdigit()
        assert L.section_title(section) != f"section {section}"
        assert L.section_text(section)
    assert L.section_link("3") == "docs/model.md#3-a-viewer"


# --------------------------------------------------------------------- launcher


def test_launch_without_streamlit_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("livesim.app.streamlit_available", lambda: False)
    assert launch(["--no-browser"]) == 2
    assert capsys.readouterr().err.strip() == MISSING


def test_launch_refuses_an_unknown_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("streamlit")
    assert launch(["--scenario", "nope", "--no-browser"]) == 2
    assert "no bundled scenario 'nope'" in capsys.readouterr().err


def test_command_runs_streamlit_on_the_page() -> None:
    args = argparse.Namespace(port=8600, address="localhost", no_browser=True)
    cmd = command(args)
    assert cmd[1:5] == ["-m", "streamlit", "run", str(PAGE)]
    assert cmd[cmd.index("--server.port") + 1] == "8600"
    assert cmd[cmd.index("--server.headless") + 1] == "true"


# ------------------------------------------------------------ page, no browser


def open_page(monkeypatch: pytest.MonkeyPatch, scenario: str, timeout: int) -> object:
    """The page run once on a bundled scenario, in Streamlit's test harness."""
    testing = pytest.importorskip("streamlit.testing.v1")
    monkeypatch.setenv("LIVESIM_APP_SCENARIO", scenario)
    monkeypatch.setenv("LIVESIM_APP_WORKERS", "1")
    at = testing.AppTest.from_file(str(PAGE), default_timeout=timeout)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> object:
    return open_page(monkeypatch, "teaching_tiny", 120)


def metrics(at: object) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}  # type: ignore[attr-defined]


def test_page_opens_on_the_scenario(app: object) -> None:
    shown = metrics(app)
    assert shown["Net GMV (mean over replications)"].endswith("RMB")
    assert shown["P(net GMV above baseline)"] == "50%"
    assert "GMV in stream (RMB)" in shown
    assert app.selectbox(key="scenario").value == "teaching_tiny"  # type: ignore[attr-defined]


def test_moving_a_slider_changes_the_figures(app: object) -> None:
    before = metrics(app)
    app.slider(key="teaching_tiny:KOS.purchase_rate").set_value(0.06).run()  # type: ignore[attr-defined]
    assert not app.exception  # type: ignore[attr-defined]
    after = metrics(app)
    for label in (
        "Net GMV (mean over replications)",
        "GMV in stream (RMB)",
        "Orders in stream",
    ):
        assert after[label] != before[label], label
    assert after["P(net GMV above baseline)"] != "50%"


def test_saving_the_baseline_zeroes_the_difference(app: object) -> None:
    app.slider(key="teaching_tiny:KOS.purchase_rate").set_value(0.06).run()  # type: ignore[attr-defined]
    app.button(key="save_baseline").click().run()  # type: ignore[attr-defined]
    assert metrics(app)["P(net GMV above baseline)"] == "50%"
    table = next(
        d.value
        for d in app.dataframe  # type: ignore[attr-defined]
        if "P(current > baseline)" in d.value.columns
    )
    assert isinstance(table, pd.DataFrame)
    assert set(table["P(current > baseline)"]) == {"50%"}


def texts(at: object) -> str:
    """Every markdown of the page, joined."""
    return " ".join(m.value for m in at.markdown)  # type: ignore[attr-defined]


def test_teaching_mode_puts_a_note_under_each_chart(app: object) -> None:
    assert not [e for e in app.expander if e.label.startswith("Teaching note")]  # type: ignore[attr-defined]
    app.toggle(key="teaching").set_value(True).run()  # type: ignore[attr-defined]
    text = texts(app)
    for stage in L.STAGE_HELP:
        assert f"**{stage}**" in text
    assert "docs/model.md#3-a-viewer" in text
    notes = [e for e in app.expander if e.label.startswith("Teaching note")]  # type: ignore[attr-defined]
    assert len(notes) >= 6  # four live charts, two Viewers charts, the sliders
    # the orders chart's note says why orders stop in this very session
    assert "Here the lipstick sold out at minute" in text
    assert "during the -20% all products sale" in text


def test_the_sold_out_notice_and_lost_sales_are_shown(app: object) -> None:
    notice = " ".join(w.value for w in app.warning)  # type: ignore[attr-defined]
    assert "lipstick sold out at minute" in notice and "lost sales" in notice
    assert int(metrics(app)["Lost sales (no stock)"]) > 0
    app.slider(key="minute").set_value(10).run()  # type: ignore[attr-defined]
    assert not app.warning  # type: ignore[attr-defined]  (not sold out yet)
    assert metrics(app)["Lost sales (no stock)"] == "0"


def test_the_slider_and_steps_scrub_the_session(app: object) -> None:
    app.slider(key="minute").set_value(20).run()  # type: ignore[attr-defined]
    assert "**Minute 20 of 60**" in texts(app)
    at_20 = metrics(app)["Orders in stream"]
    app.button(key="step_forward").click().run()  # type: ignore[attr-defined]
    app.button(key="step_forward").click().run()  # type: ignore[attr-defined]
    assert "**Minute 22 of 60**" in texts(app)
    app.button(key="step_back").click().run()  # type: ignore[attr-defined]
    assert "**Minute 21 of 60**" in texts(app)
    assert app.slider(key="minute").value == 21  # type: ignore[attr-defined]
    assert int(metrics(app)["Orders in stream"]) >= int(at_20)


def test_another_session_starts_at_its_end(app: object) -> None:
    """The scrub position belongs to the session shown: another session number
    opens at its last minute, not at the old one's scrubbed minute."""
    app.slider(key="minute").set_value(12).run()  # type: ignore[attr-defined]
    assert "**Minute 12 of 60**" in texts(app)
    session_no = app.number_input(key="teaching_tiny:rep")  # type: ignore[attr-defined]
    session_no.set_value(1).run()
    assert "**Minute 60 of 60**" in texts(app)


def test_replay_runs_to_the_last_minute_and_says_its_rate(app: object) -> None:
    app.slider(key="minute").set_value(30).run()  # type: ignore[attr-defined]
    app.select_slider(key="speed").set_value(80).run()  # type: ignore[attr-defined]
    app.button(key="play").click().run()  # type: ignore[attr-defined]
    assert not app.exception  # type: ignore[attr-defined]
    text = texts(app)
    assert "**Minute 60 of 60** · the last replay ran at" in text
    assert "(asked: 80)" in text
    assert app.slider(key="minute").value == 60  # type: ignore[attr-defined]


def test_the_viewers_view_follows_sampled_viewers(app: object) -> None:
    table = next(
        d.value
        for d in app.dataframe
        if "outcome" in d.value.columns  # type: ignore[attr-defined]
    )
    assert 3 <= len(table) <= 5
    assert "bought" in set(table["outcome"])
    assert "**The sampled viewers**" in texts(app)


def test_the_live_stream_keeps_its_share_of_the_awareness_audience() -> None:
    """The live view cuts the campaign to one stream and its feeders; a stream's
    share of an awareness phase's audience must not grow with the cut."""
    from livesim.model import traffic

    scenario = L.build(L.load_base("mac_kos101"))
    campaign = scenario.campaigns()[scenario.baseline]
    stream = campaign.streams[0]
    cut = L.feeders(campaign, stream.id)
    assert len(cut.streams) < len(campaign.streams)
    full = traffic.expected_aware(campaign, stream)
    assert full > 0
    assert traffic.expected_aware(cut, cut.streams[0]) == full


@pytest.mark.slow
def test_with_priors_the_chance_is_shown_drawn_and_fixed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a scenario with priors (the bundled KOS101 night) the headline gives the
    chance of beating the baseline with the priors drawn and with them off."""
    at = open_page(monkeypatch, "mac_kos101", 300)
    shown = metrics(at)
    assert shown["P(net GMV above baseline)"] == "50%"
    assert shown["P(above baseline), parameters fixed"] == "50%"
    at.slider(key="mac_kos101:KOS.purchase_rate").set_value(0.036).run()
    assert not at.exception
    drawn = metrics(at)["P(net GMV above baseline)"]
    fixed = metrics(at)["P(above baseline), parameters fixed"]
    assert drawn != "50%" and fixed != "50%"
    captions = " ".join(c.value for c in at.caption)
    assert "parameter uncertainty and simulation noise" in captions
