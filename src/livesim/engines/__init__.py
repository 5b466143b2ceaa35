"""Simulation engines. `agent` is the reference: every viewer a SimPy process."""

ENGINES = ("agent",)
