"""Fixtures shared by the tests."""

from __future__ import annotations

import pytest

from livesim.scenario import Scenario


@pytest.fixture
def tiny() -> Scenario:
    """The bundled two-stream teaching scenario."""
    from livesim import bundled_scenario, load_scenario

    return load_scenario(bundled_scenario("teaching_tiny"))
