"""livesim: a live-commerce session simulator (KOL, KOC and KOS livestreams).

>>> from livesim import bundled_scenario, load_scenario, simulate
>>> scenario = load_scenario(bundled_scenario("teaching_tiny"))
>>> result = simulate(scenario, replications=3, seed=1)
>>> sorted(result.replications["stream"].unique())
['kol_warmup', 'kos_close']

The names below are imported on first use, so `import livesim` (and the `livesim`
command's start) stays quick: numpy, pandas and scipy load only when needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "ConfigError": "livesim.errors",
    "Scenario": "livesim.scenario",
    "SimulationResult": "livesim.results",
    "bundled_scenario": "livesim.scenarios",
    "load_scenario": "livesim.scenario",
    "scenario_from_dict": "livesim.scenario",
    "simulate": "livesim.runner",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:
    from livesim.errors import ConfigError as ConfigError
    from livesim.results import SimulationResult as SimulationResult
    from livesim.runner import simulate as simulate
    from livesim.scenario import Scenario as Scenario
    from livesim.scenario import load_scenario as load_scenario
    from livesim.scenario import scenario_from_dict as scenario_from_dict
    from livesim.scenarios import bundled_scenario as bundled_scenario


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'livesim' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
