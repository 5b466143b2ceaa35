"""livesim: a live-commerce session simulator (KOL, KOC and KOS livestreams).

>>> from livesim import load_scenario, simulate
>>> scenario = load_scenario(bundled_scenario("teaching_tiny"))
>>> result = simulate(scenario, replications=3, seed=1)
>>> sorted(result.replications["stream"].unique())
['kol_warmup', 'kos_close']
"""

from __future__ import annotations

__version__ = "0.1.0"

from livesim.errors import ConfigError
from livesim.results import SimulationResult
from livesim.runner import simulate
from livesim.scenario import Scenario, load_scenario, scenario_from_dict
from livesim.scenarios import bundled_scenario

__all__ = [
    "ConfigError",
    "Scenario",
    "SimulationResult",
    "__version__",
    "bundled_scenario",
    "load_scenario",
    "scenario_from_dict",
    "simulate",
]
