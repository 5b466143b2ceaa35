"""The interactive page (run by `livesim app`, i.e. `streamlit run page.py`).

A sidebar of controls (scenario, strategy, each host kind's main parameters,
promotion timing and depth, stock, what-if replications, teaching mode) and three
views: the live view of one session (one replication of one stream, scrubbed,
stepped or replayed; `livesim.app.live`), the Viewers view (a few sampled viewers'
journeys) and the what-if view (net GMV and ROI over replications beside a saved
baseline, with the paired difference and its CI). The numbers come from
`livesim.app.logic`, the charts from `livesim.app.charts`, teaching mode's notes
from `livesim.app.notes`.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pandas as pd
import streamlit as st

from livesim.app import SCENARIO_ENV, notes
from livesim.app import live as V
from livesim.app import logic as L
from livesim.app.charts import distribution_chart
from livesim.errors import ConfigError
from livesim.report.coverage import coverage

# --------------------------------------------------------------------- sidebar


def choose_scenario() -> str:
    """The scenario select box (opening on --scenario or the default)."""
    names = L.bundled_names()
    wanted = os.environ.get(SCENARIO_ENV, names[0])
    index = names.index(wanted) if wanted in names else 0
    return str(st.sidebar.selectbox("Scenario", names, index=index, key="scenario"))


def control_widget(name: str, control: L.Control) -> float:
    """One slider (a select slider for promotion timing)."""
    key = f"{name}:{control.key}"
    if control.options:
        return float(
            st.select_slider(
                control.label,
                options=list(control.options),
                value=control.value,
                key=key,
                help=control.help,
                format_func=lambda v: f"{v:g}",
            )
        )
    if control.integer:
        return float(
            st.slider(
                control.label,
                min_value=int(control.low),
                max_value=int(control.high),
                value=int(control.value),
                step=int(control.step),
                key=key,
                help=control.help,
            )
        )
    return float(
        st.slider(
            control.label,
            min_value=float(control.low),
            max_value=float(control.high),
            value=float(control.value),
            step=float(control.step),
            key=key,
            help=control.help,
            format="%.3f" if control.step < 0.01 else "%.2f",
        )
    )


def sidebar_controls(name: str, data: dict[str, Any]) -> dict[str, float]:
    """Every parameter slider, grouped by host kind, promotions and stock."""
    values: dict[str, float] = {}
    groups: dict[str, list[L.Control]] = {}
    for control in L.controls(data):
        groups.setdefault(control.group, []).append(control)
    for i, (group, members) in enumerate(groups.items()):
        with st.sidebar.expander(group, expanded=i < 2):
            for control in members:
                values[control.key] = control_widget(name, control)
    return values


# ------------------------------------------------------------------------ views


def whatif_view(
    name: str,
    runs: dict[str, pd.DataFrame],
    diffs: pd.DataFrame,
    baseline_label: str,
    priors: list[str],
) -> None:
    """Distributions beside the baseline, the paired differences, baseline buttons;
    `priors` names the scenario's priors drawn in every replication."""
    n = len(runs["current"])
    st.caption(
        f"{n} replications of the whole campaign on the cohort engine, for the "
        f"current settings and for the baseline ({baseline_label}), with the same "
        "seed and replication numbers: common random numbers make the differences "
        "paired. More replications give narrower intervals and slower updates."
    )
    drawn = {"priors": priors, "parameter_draws": n, "inner_replications": 1}
    st.caption(coverage(drawn).replace("below", "here"))
    frame = L.distribution_frame(runs)
    left, right = st.columns(2)
    left.altair_chart(
        distribution_chart(frame, "net_gmv", "Net GMV per campaign (RMB)"),
        width="stretch",
    )
    right.altair_chart(
        distribution_chart(frame, "roi", "ROI ((margin - cost) / cost)"),
        width="stretch",
    )
    st.markdown("**Paired difference, current - baseline (95% BCa bootstrap CI)**")
    st.dataframe(diff_table(diffs), hide_index=True, width="stretch")
    a, b, _ = st.columns([1, 1, 2])
    if a.button("Save current as baseline", key="save_baseline"):
        st.session_state[f"baseline:{name}"] = st.session_state[f"current:{name}"]
        st.rerun()
    if b.button("Reset baseline to the scenario", key="reset_baseline"):
        st.session_state.pop(f"baseline:{name}", None)
        st.rerun()


def diff_table(diffs: pd.DataFrame) -> pd.DataFrame:
    """The paired differences, formatted for reading."""
    rows = []
    for row in diffs.itertuples():
        fmt = _formatter(str(row.metric))
        rows.append(
            {
                "metric": row.metric,
                "baseline (mean)": fmt(row.baseline),
                "current (mean)": fmt(row.current),
                "difference": fmt(row.difference, True),
                "95% CI": f"[{fmt(row.ci_low, True)}, {fmt(row.ci_high, True)}]",
                "P(current > baseline)": f"{row.p_current_higher:.0%}",
                "n": int(float(str(row.n))),
            }
        )
    return pd.DataFrame(rows)


def _formatter(metric: str) -> Any:
    def fmt(value: float, sign: bool = False) -> str:
        if value != value:
            return "n/a"
        if metric.startswith("net GMV"):
            return L.signed_money(value) if sign else L.money(value)
        if metric == "conversion":
            return f"{value:+.2%}" if sign else f"{value:.2%}"
        if metric == "orders":
            return f"{value:+,.1f}" if sign else f"{value:,.1f}"
        return f"{value:+.3f}" if sign else f"{value:.3f}"

    return fmt


def headline(diffs: pd.DataFrame, fixed: pd.DataFrame | None = None) -> None:
    """The top row: what-if means with their change against the baseline, and
    with priors the chance of beating it with them drawn and with every parameter
    fixed (`fixed`: the paired differences of the what-if without priors)."""
    by = diffs.set_index("metric")
    cols = st.columns(4 if fixed is None else 5)
    gmv = by.loc["net GMV (RMB)"].astype(float).to_dict()
    cols[0].metric(
        "Net GMV (mean over replications)",
        L.money(gmv["current"]),
        delta=_delta(gmv["difference"], f"{L.signed_money(gmv['difference'])}"),
        help="Net GMV of the whole campaign: gross GMV less refunds of returns.",
    )
    roi = by.loc["ROI"].astype(float).to_dict()
    cols[1].metric(
        "ROI (mean)",
        f"{roi['current']:.2f}",
        delta=_delta(roi["difference"], f"{roi['difference']:+.2f}"),
        help="(margin value - cost) / cost, per campaign.",
    )
    conv = by.loc["conversion"].astype(float).to_dict()
    cols[2].metric(
        "Conversion (mean)",
        f"{conv['current']:.2%}",
        delta=_delta(conv["difference"], f"{conv['difference'] * 100:+.2f} pts"),
        help="Orders per viewer who entered.",
    )
    p = gmv["p_current_higher"]
    drawn = (
        ""
        if fixed is None
        else " With parameter uncertainty: every replication draws the scenario's "
        "priors, the same draws for both."
    )
    cols[3].metric(
        "P(net GMV above baseline)",
        "n/a" if p != p else f"{p:.0%}",
        help="Share of paired replications in which the current settings give more "
        "net GMV than the baseline (ties count half)." + drawn,
    )
    if fixed is not None:
        rows = fixed.set_index("metric")["p_current_higher"].astype(float)
        q = float(rows.to_dict()["net GMV (RMB)"])
        cols[4].metric(
            "P(above baseline), parameters fixed",
            "n/a" if q != q else f"{q:.0%}",
            help="The same chance with the priors switched off: every parameter at "
            "its set value, simulation noise only. The gap between the two is what "
            "not knowing the parameters does to the decision.",
        )


def _delta(difference: float, text: str) -> str | None:
    """A metric's change against the baseline, none when there is no change."""
    if difference != difference or difference == 0:
        return None
    return f"{text} vs baseline"


def slider_notes(controls: list[L.Control]) -> None:
    """Teaching mode: what each slider does, collapsed at the top of the sidebar."""
    with st.sidebar.expander("Teaching note: what the sliders do", expanded=False):
        st.markdown("\n".join(notes.parameter_notes(controls)))


# ------------------------------------------------------------------------- page


@st.cache_resource(show_spinner=False)
def start_workers() -> int:
    """Start the what-if's worker processes once per server."""
    workers = L.app_workers()
    L.warm_up(workers)
    return workers


def current_scenario(name: str, data: dict[str, Any], values: dict[str, float]) -> Any:
    """The validated scenario for the sliders, or None after showing why not."""
    try:
        return L.build(L.apply_controls(data, values))
    except ConfigError as exc:
        st.error("These settings do not make a valid scenario:\n\n" + str(exc))
        return None


def main() -> None:
    """The page."""
    st.set_page_config(
        page_title="livesim: live-commerce funnel", page_icon="📺", layout="wide"
    )
    workers = start_workers()
    st.sidebar.title("livesim")
    name = choose_scenario()
    data = L.load_base(name)
    base = L.build(data)
    names = L.strategies(base)
    strategy = str(st.sidebar.selectbox("Strategy", names, key=f"{name}:strategy"))
    teaching = st.sidebar.toggle("Teaching mode", key="teaching")
    values = sidebar_controls(name, data)
    with st.sidebar.expander("What-if runs", expanded=False):
        replications = int(
            st.slider(
                "replications",
                min_value=3,
                max_value=100,
                value=L.default_replications(name),
                key=f"{name}:replications",
                help="Replications of the what-if, for the current settings and the "
                "baseline; more: narrower intervals, slower updates.",
            )
        )
        seed = int(st.number_input("seed", 0, 2**31 - 1, 0, key=f"{name}:seed"))

    st.title("Live-commerce funnel simulator")
    st.caption(f"**{name}**: {base.description}")
    if teaching:
        slider_notes(L.controls(data))
    scenario = current_scenario(name, data, values)
    if scenario is None:
        st.stop()
    st.session_state[f"current:{name}"] = {"values": values, "strategy": strategy}
    saved = st.session_state.get(
        f"baseline:{name}", {"values": L.defaults(data), "strategy": base.baseline}
    )
    baseline = L.build(L.apply_controls(data, saved["values"]))
    started = time.perf_counter()
    head = st.container()
    live, viewers, whatif = st.tabs(["Live session", "Viewers", "What-if"])
    with live:
        stream, replication = V.live_controls(scenario, strategy, name)
    pending = {
        "baseline": L.whatif_start(
            baseline, saved["strategy"], replications, seed, workers
        ),
        "current": L.whatif_start(scenario, strategy, replications, seed, workers),
    }
    if base.uncertainty:  # the same what-if with every parameter at its set value
        pending["baseline fixed"] = L.whatif_start(
            L.without_priors(baseline), saved["strategy"], replications, seed, workers
        )
        pending["current fixed"] = L.whatif_start(
            L.without_priors(scenario), strategy, replications, seed, workers
        )
    # after the what-if's jobs, so that the headline (what a slider move is about)
    # gets every worker first; the live session runs on as the headline is drawn
    live_done = L.live_session_start(
        scenario, strategy, stream, replication, seed, workers
    )
    done = {setting: collect() for setting, collect in pending.items()}
    runs = {k: done[k] for k in ("baseline", "current")}
    diffs = L.paired_differences(runs["current"], runs["baseline"], seed)
    fixed = (
        L.paired_differences(done["current fixed"], done["baseline fixed"], seed)
        if "current fixed" in done
        else None
    )
    with head:
        headline(diffs, fixed)
    label = (
        "the scenario as bundled"
        if f"baseline:{name}" not in st.session_state
        else "saved settings"
    ) + f", strategy {saved['strategy']}"
    with whatif:
        whatif_view(name, runs, diffs, label, [p.name for p in scenario.uncertainty])
    session = live_done()
    elapsed = time.perf_counter() - started
    with viewers:
        V.viewers_view(session, teaching)
    st.caption(
        f"Simulated in {elapsed:.2f} s ({workers} worker "
        f"process{'es' if workers > 1 else ''} for the what-if)."
    )
    with live:  # last: a replay runs on in it
        V.live_view(
            session, replication, teaching, (name, strategy, stream, replication)
        )
        if teaching:
            V.model_sections()


# Streamlit runs this file as __main__; a spawned worker process imports it as
# __mp_main__ and must not run the page.
if __name__ == "__main__":
    main()
