"""Engine agreement: the cohort engine gives the agent engine's distributions.

Six scenarios: one per host kind (KOL, KOC, KOS), each with a promotion, a Q&A desk,
limited stock, word of mouth and platform feedback switched on (the KOS one also with
an awareness phase's audience), one whose promotion is announced (it draws arrivals
and holds stays), and two where questions decide delayed purchases (many askers with
a desk; no desk at all). Per scenario and
metric (orders, delayed orders, net GMV, peak concurrent viewers, questions answered,
lost sales, margin value; the announced one also viewers, platform arrivals and mean
watch minutes) a two-sample Kolmogorov-Smirnov test must not reject at the 1% level,
and a Welch t-test on the means must not either.
Seeds are fixed, so CI is deterministic; on random seeds the 92 tests at 1% would give
a false failure about three runs in five (1 - 0.99^92), which is why the seeds are
fixed and why a failure here means: find the difference, do not loosen alpha.
"""

from __future__ import annotations

from typing import Any

import pytest
from scipy import stats

from helpers import build, quiet_host
from livesim import simulate

ALPHA = 0.01
METRICS = [
    "orders",
    "delayed_orders",
    "net_gmv",
    "peak_concurrent",
    "questions_answered",
    "lost_sales",
    "margin_value",
]
#: What a scenario's own mechanic moves, tested on it beside METRICS.
OWN_METRICS = {"announced": ["viewers", "arrivals_platform", "mean_watch_minutes"]}
REPS = 120


def scenario(
    kind: str,
    awareness: dict[str, Any] | None = None,
    announced: dict[str, Any] | None = None,
    **host: Any,
) -> Any:
    promotion = {"start": 20, "duration": 10, "discount": 0.3, "urgency": 0.5}
    return build(
        host=quiet_host(
            **(
                dict(
                    kind=kind,
                    share_prob=0.05,
                    comment_rate=0.05,
                    question_rate=0.03,
                    delayed_purchase_prob=0.05,
                )
                | host
            )
        ),
        stream={
            "duration": 60,
            "segment_minutes": 10,
            "promotions": [promotion | (announced or {})],
        },
        product={"stock": 150, "units_mean": 1.3, "return_rate": 0.1},
        platform={
            "gpm_boost": 1.0,
            "gpm_reference": 5000.0,
            "feedback_viewers_per_comment": 1.0,
        },
        **({"awareness": awareness} if awareness else {}),
    )


SCENARIOS = {
    # many askers whose answers decide their delayed purchase (trust at leaving)
    "asking": scenario(
        "KOS",
        followers=60_000,
        recommendation_rate=30.0,
        question_rate=0.3,
        qa_capacity=5,
        answer_trust_gain=1.0,
        initial_trust=0.05,
        trust_rate=0.0,
        purchase_rate=0.002,
        delayed_purchase_prob=0.5,
    ),
    # no desk: give-ups before leaving lower trust, questions dropped on leaving do not
    "no_desk": scenario(
        "KOC",
        followers=30_000,
        recommendation_rate=15.0,
        question_rate=0.3,
        qa_capacity=0,
        qa_patience_minutes=1.0,
        abandon_trust_loss=0.5,
        initial_trust=0.9,
        trust_ceiling=0.9,
        trust_rate=0.0,
        delayed_purchase_prob=1.0,
        delayed_mean_minutes=60.0,
    ),
    "KOL": scenario("KOL", followers=100_000, recommendation_rate=20.0),
    "KOC": scenario(
        "KOC", followers=30_000, recommendation_rate=15.0, delayed_mean_minutes=120.0
    ),
    # with an awareness phase's audience on top of the followers
    "KOS": scenario(
        "KOS",
        followers=60_000,
        recommendation_rate=30.0,
        qa_capacity=2,
        awareness={
            "days": 30,
            "impressions": 5e6,
            "frequency": 5.0,
            "memory_half_life_days": 7.0,
            "turnout": 0.002,
        },
    ),
    # an announced flash sale: arrivals drawn and stays held from its announcement
    "announced": scenario(
        "KOS",
        followers=60_000,
        recommendation_rate=30.0,
        announced={"announce_minutes": 10, "draw": 2.5, "hold": 1.8},
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(SCENARIOS))
def test_cohort_engine_matches_agent_engine(kind: str) -> None:
    agent = simulate(
        SCENARIOS[kind], replications=REPS, seed=101, engine="agent", workers=2
    ).replications
    cohort = simulate(
        SCENARIOS[kind], replications=REPS, seed=202, engine="cohort", workers=2
    ).replications
    assert agent["lost_sales"].sum() > 0 and cohort["lost_sales"].sum() > 0
    assert agent["arrivals_wom"].sum() > 0 and cohort["arrivals_wom"].sum() > 0
    aware = ["arrivals_awareness"] if agent["arrivals_awareness"].sum() else []
    assert bool(aware) == (kind == "KOS") == (cohort["arrivals_awareness"].sum() > 0)
    for metric in METRICS + aware + OWN_METRICS.get(kind, []):
        a, c = agent[metric].to_numpy(), cohort[metric].to_numpy()
        if a.min() == a.max() and c.min() == c.max():  # constant (e.g. no desk)
            assert a[0] == c[0], f"{kind} {metric}: {a[0]} vs {c[0]}"
            continue
        ks = stats.ks_2samp(a, c).pvalue
        welch = stats.ttest_ind(a, c, equal_var=False).pvalue
        assert ks > ALPHA, f"{kind} {metric}: KS p={ks:.4f}"
        assert welch > ALPHA, f"{kind} {metric}: means {a.mean():.2f} vs {c.mean():.2f}"


def test_auto_engine_is_cohort_unless_an_event_log_is_asked_for(tiny: Any) -> None:
    small = simulate(tiny, replications=1, seed=1)
    assert small.manifest["engine"] == "cohort"
    assert small.manifest["engine_requested"] == "auto"
    logged = simulate(tiny, replications=1, seed=1, event_log=True)
    assert logged.manifest["engine"] == "agent"
    assert simulate(tiny, replications=1, engine="agent").manifest["engine"] == "agent"


def test_cohort_engine_refuses_the_event_log(tiny: Any) -> None:
    from livesim import ConfigError

    with pytest.raises(ConfigError, match="event log needs --engine agent"):
        simulate(tiny, replications=1, engine="cohort", event_log=True)


def test_cohort_engine_is_reproducible_across_workers(tiny: Any) -> None:
    one = simulate(tiny, replications=4, seed=3, engine="cohort", workers=1)
    two = simulate(tiny, replications=4, seed=3, engine="cohort", workers=2)
    assert one.replications.equals(two.replications)
