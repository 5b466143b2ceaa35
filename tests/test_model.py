"""The viewer's equations (model/viewer.py): one source for both engines, what each
equation says, and compiled code that follows a change of its source."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livesim.engines import agent, jitcache, kernels
from livesim.model import viewer

EQUATIONS = {
    "trust_after": viewer.trust,
    "gap_after_question": viewer.gap_after_question,
    "price_lift": viewer.price_lift,
    "hazard": viewer.hazard,
    "hazard_bound": viewer.hazard_bound,
    "featured_at": viewer.featured,
    "visit_promotions": viewer.visit_promotions,
    "active_promotion": viewer.active_promotion,
    "late_purchase_prob": viewer.late_purchase_prob,
}


@pytest.mark.parametrize("compiled", sorted(EQUATIONS))
def test_the_kernels_compile_the_models_own_functions(compiled: str) -> None:
    assert getattr(kernels, compiled).py_func is EQUATIONS[compiled]


def test_the_agent_engine_calls_the_same_functions() -> None:
    for name in ("trust", "gap_after_question", "price_lift", "hazard"):
        assert getattr(agent, name) is getattr(viewer, name)


unit = st.floats(0.0, 1.0)
positive = st.floats(0.0, 5.0)


@given(unit, unit, positive, positive, unit, unit, positive, st.booleans(), unit)
@settings(max_examples=200, deadline=None)
def test_compiled_and_python_equations_agree_bit_for_bit(
    ceiling: float,
    gap: float,
    rate: float,
    elapsed: float,
    discount: float,
    urgency: float,
    eps: float,
    scarce: bool,
    lift: float,
) -> None:
    discount = min(discount, 0.95)
    assert kernels.trust_after(ceiling, gap, rate, elapsed) == viewer.trust(
        ceiling, gap, rate, elapsed
    )
    args = (gap, rate, elapsed, scarce, discount, urgency, ceiling)
    assert kernels.gap_after_question(*args) == viewer.gap_after_question(*args)
    assert kernels.price_lift(discount, eps) == viewer.price_lift(discount, eps)
    h = (rate, eps, ceiling, gap, lift, urgency, scarce, discount)
    assert kernels.hazard(*h) == viewer.hazard(*h)
    assert kernels.late_purchase_prob(rate, eps, ceiling) == (
        viewer.late_purchase_prob(rate, eps, ceiling)
    )


def test_trust_closes_its_gap_exponentially() -> None:
    assert viewer.trust(0.9, 0.5, 0.2, 0.0) == pytest.approx(0.4)
    assert viewer.trust(0.9, 0.5, 0.2, 5.0) == pytest.approx(0.9 - 0.5 * math.exp(-1))
    assert viewer.trust(0.9, 0.5, 0.2, 1e6) == pytest.approx(0.9)


def test_an_answer_closes_and_a_give_up_widens_the_gap() -> None:
    # elapsed 0: only the answer's effect
    answered = viewer.gap_after_question(0.4, 0.1, 0.0, True, 0.25, 0.1, 0.9)
    assert answered == pytest.approx(0.3)
    given_up = viewer.gap_after_question(0.4, 0.1, 0.0, False, 0.25, 0.1, 0.9)
    assert given_up == pytest.approx(0.5)
    # and the gap closes meanwhile
    later = viewer.gap_after_question(0.4, 0.1, 10.0, True, 0.25, 0.1, 0.9)
    assert later == pytest.approx(0.4 * math.exp(-1.0) * 0.75)
    # a give-up never takes trust below zero (the gap is at most the ceiling)
    assert viewer.gap_after_question(0.85, 0.1, 0.0, False, 0.25, 0.5, 0.9) == 0.9


def test_the_hazard_multiplies_its_factors() -> None:
    lift = viewer.price_lift(0.2, 2.0)
    assert lift == pytest.approx(0.8**-2)
    assert viewer.price_lift(0.0, 3.0) == 1.0
    h = viewer.hazard(0.01, 2.0, 0.5, 0.8, lift, 0.3, True, 0.5)
    assert h == pytest.approx(0.01 * 2.0 * 0.5 * 0.8 * 0.8**-2 * 1.3 * 1.5)
    # the bound with trust at its ceiling and the best fit is never below
    unit = viewer.hazard_unit(0.01, 0.5, 0.8, True, 0.5)
    assert viewer.hazard_bound(unit, 2.0, 0.3, lift) == pytest.approx(h)


def test_promotions_of_a_visit_and_of_a_moment() -> None:
    t0, t1 = (10.0, 20.0, 15.0), (30.0, 40.0, 25.0)
    depth, lift = (0.1, 0.3, 0.3), (0.5, 0.0, 0.2)
    on = ((True, False), (True, True), (False, True))
    slots = range(3)
    assert viewer.visit_promotions(0.0, 12.0, slots, t0, t1, depth, lift) == (0.1, 0.5)
    assert viewer.visit_promotions(0.0, 9.0, slots, t0, t1, depth, lift) == (0.0, 0.0)
    # product 0 at minute 22: promotions 0 and 1 run on it; the deeper one wins
    assert viewer.active_promotion(22.0, 0, slots, t0, t1, depth, lift, on) == (
        0.3,
        0.0,
    )
    # product 1 at 22: promotions 1 and 2 equally deep: the last listed
    assert viewer.active_promotion(22.0, 1, slots, t0, t1, depth, lift, on) == (
        0.3,
        0.2,
    )
    arrays = [np.array(x, dtype=float) for x in (t0, t1, depth, lift)]
    assert kernels.active_promotion(
        22.0, 1, np.arange(3), *arrays, np.array(on)
    ) == viewer.active_promotion(22.0, 1, slots, t0, t1, depth, lift, on)


def test_segments_feature_products_in_turn() -> None:
    assert [viewer.featured(t, 60.0, 15.0, 2) for t in (60, 74.9, 75, 90, 105)] == [
        0,
        0,
        1,
        0,
        1,
    ]


def test_the_digest_covers_every_compiled_source(tmp_path: Path) -> None:
    for name in jitcache.SOURCES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes((jitcache.PACKAGE / name).read_bytes())
    assert jitcache.sources_digest(tmp_path) == jitcache.sources_digest()
    for name in jitcache.SOURCES:
        original = (tmp_path / name).read_bytes()
        (tmp_path / name).write_bytes(original + b"\n")
        assert jitcache.sources_digest(tmp_path) != jitcache.sources_digest()
        (tmp_path / name).write_bytes(original)


def test_compiled_code_follows_a_change_of_a_function_it_calls(tmp_path: Path) -> None:
    """numba caches a kernel under its own file's stamp only; a kernel calling a
    function of another file must still run that function's new code."""
    (tmp_path / "equation.py").write_text("def g(x):\n    return x + 1.0\n")
    (tmp_path / "kernel.py").write_text(
        textwrap.dedent(
            """
            import hashlib, pathlib
            import numba
            from livesim.engines import jitcache
            from equation import g

            g_compiled = numba.njit(cache=True)(g)

            @numba.njit(cache=True)
            def f(x):
                return g_compiled(x) * 2.0

            here = pathlib.Path(__file__).parent
            digest = hashlib.sha256((here / "equation.py").read_bytes()).hexdigest()
            functions = jitcache.cached_functions(globals())
            jitcache.keep_current("kernel", functions, digest)
            print(f(1.0))
            """
        )
    )

    def run() -> str:
        done = subprocess.run(
            [sys.executable, "kernel.py"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    assert run() == "4.0"
    assert run() == "4.0"  # from the cache
    (tmp_path / "equation.py").write_text("def g(x):\n    return x + 10.0\n")
    assert run() == "22.0"
    assert (tmp_path / "__pycache__" / "kernel.sources-sha256").is_file()
