"""livesim: a live-commerce session simulator (KOL, KOC, KOS livestreams).

    >>> from livesim import load_scenario, simulate
    >>> result = simulate(load_scenario("experiments/teaching_tiny.toml"), replications=4)
    >>> sorted(result.replications["strategy"].unique())
    ['baseline']
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__", "load_scenario"]

from livesim.scenario import load_scenario
