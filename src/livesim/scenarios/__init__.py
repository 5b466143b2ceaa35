"""Scenarios bundled with livesim (experiments/ holds links to these files)."""

from __future__ import annotations

from pathlib import Path

DEFAULT = "mac_kos101"


def bundled_scenario(name: str = DEFAULT) -> Path:
    """The path of a bundled scenario, e.g. ``bundled_scenario("mac_kos101")``."""
    path = Path(__file__).with_name(f"{name}.toml")
    if not path.is_file():
        known = sorted(p.stem for p in Path(__file__).parent.glob("*.toml"))
        raise FileNotFoundError(f"no bundled scenario {name!r}; known: {known}")
    return path
