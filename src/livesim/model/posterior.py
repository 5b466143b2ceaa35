"""A posterior over some of a scenario's priors: weighted joint draws (particles).

`livesim calibrate --method abc` writes one (posterior.csv: a column per free
parameter, named as its `[[uncertainty]]` entry, and a `weight` column);
`--posterior FILE` on run, compare, sweep, sensitivity and optimize puts it into the
scenario, where the named priors are drawn from it instead of from their own
distributions. The outer level of the two-level Monte Carlo stays as it is: draw d
of seed s picks a particle by one uniform of its own counter-based stream (keyed by
(s, d, "@posterior")) through the weights' cumulative sum, so every strategy that
shares the posterior sees the same particle, whatever the worker that runs it.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
from pydantic import Field, model_validator

from livesim.schema import Ident, Strict

if TYPE_CHECKING:
    from livesim.model.uncertainty import Prior

#: The key of the posterior's own uniforms (no prior name starts with "@").
POSTERIOR_UNIT = "@posterior"
MAX_PARTICLES = 100_000


class Posterior(Strict):
    """Weighted particles of the priors `names` (rows in the order of names)."""

    source: str
    sha256: str
    names: Annotated[list[Ident], Field(min_length=1)]
    rows: Annotated[list[list[float]], Field(min_length=1, max_length=MAX_PARTICLES)]
    weights: list[float]

    @model_validator(mode="after")
    def _shape(self) -> Posterior:
        if len(set(self.names)) != len(self.names):
            raise ValueError("a column is named twice")
        if any(len(row) != len(self.names) for row in self.rows):
            raise ValueError(f"every row needs {len(self.names)} values")
        if len(self.weights) != len(self.rows):
            raise ValueError("weights must be as many as rows")
        if min(self.weights) < 0 or sum(self.weights) <= 0:
            raise ValueError("weights must be >= 0 with a positive sum")
        return self

    @cached_property
    def values(self) -> np.ndarray:
        """The particles, one row each (made once)."""
        return np.asarray(self.rows, dtype=float)

    @cached_property
    def cumulative(self) -> np.ndarray:
        """The weights' cumulative sum, ending at 1 (made once)."""
        w = np.asarray(self.weights, dtype=float)
        return np.cumsum(w) / w.sum()

    def particle(self, u: float) -> dict[str, float]:
        """The particle a uniform `u` in (0, 1) picks (weighted resampling)."""
        i = int(np.searchsorted(self.cumulative, u, side="right"))
        row = self.values[min(i, len(self.rows) - 1)]
        return dict(zip(self.names, (float(v) for v in row), strict=True))

    def medians(self) -> dict[str, float]:
        """Each parameter's weighted median (the noise-only run's value)."""
        out = {}
        w = np.asarray(self.weights, dtype=float)
        for j, name in enumerate(self.names):
            order = np.argsort(self.values[:, j], kind="stable")
            cum = np.cumsum(w[order]) / w.sum()
            k = min(int(np.searchsorted(cum, 0.5)), len(order) - 1)
            out[name] = float(self.values[order[k], j])
        return out


def posterior_record(posterior: Posterior | dict[str, Any] | None) -> Any:
    """What a manifest says of a posterior: its file, SHA-256, parameters and
    particle count (None without one)."""
    if posterior is None:
        return None
    data = posterior if isinstance(posterior, dict) else posterior.model_dump()
    return {
        "file": data["source"],
        "sha256": data["sha256"],
        "parameters": data["names"],
        "particles": len(data["rows"]),
    }


def posterior_problems(posterior: Posterior, priors: list[Prior]) -> list[str]:
    """What does not fit between a posterior and the scenario's priors: a column
    that is no campaign-scope prior, a value outside its prior's support (so the
    fields' ranges, checked for the priors, hold for the posterior too)."""
    by_name = {p.name: p for p in priors}
    problems = []
    for j, name in enumerate(posterior.names):
        prior = by_name.get(name)
        where = f"posterior ({posterior.source}): column {name!r}"
        if prior is None:
            known = ", ".join(by_name) or "none"
            problems.append(
                f"{where} is not an [[uncertainty]] entry of the scenario "
                f"(entries: {known})"
            )
            continue
        if prior.scope != "campaign":
            problems.append(
                f"{where} is a {prior.scope}-scope prior; a posterior holds "
                "campaign-scope ones only"
            )
            continue
        lo, hi = prior.support()
        column = posterior.values[:, j]
        bad = column[(column < lo) | (column > hi)]
        if bad.size:
            problems.append(
                f"{where}: {bad[0]:g} lies outside its prior's support [{lo:g}, {hi:g}]"
            )
    return problems


def without_posterior_of(data: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """A scenario dict whose posterior no longer holds the priors `names` (an
    experiment sets or varies them); without any column left, no posterior."""
    post = data.get("posterior")
    if not post or not set(names) & set(post["names"]):
        return data
    keep = [j for j, n in enumerate(post["names"]) if n not in names]
    if not keep:
        return {k: v for k, v in data.items() if k != "posterior"}
    rows = [[row[j] for j in keep] for row in post["rows"]]
    names_kept = [post["names"][j] for j in keep]
    return dict(data, posterior=dict(post, names=names_kept, rows=rows))
