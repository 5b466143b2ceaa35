"""The `[calibration]` section of a scenario: what `livesim calibrate` fits, to what.

Two methods share it (docs/model.md, section 11): `"lsq"` fits free parameters given
as tables (paths and bounds) so that simulated medians hit the targets; `"abc"`
(ABC-SMC with pyabc, `livesim.bayes`) turns the priors of named `[[uncertainty]]`
entries into a posterior, given the targets with their observation errors and,
optionally, observed streams or one stream's minutes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from livesim.schema import Ident, Positive, Strict

#: The relative observation error of a target given as a bare number (abc).
DEFAULT_REL_SD = 0.01


class FreeParameter(Strict):
    """A parameter the least-squares fit sets: one value written to every path.

    A path is dotted: a list is entered by an element's id or `*` for all of them,
    e.g. ``hosts.*.recommendation_rate`` or ``products.lipstick.price``.
    """

    name: Ident
    paths: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    low: float
    high: float


class ObservedValue(Strict):
    """An observed campaign total and its error (a standard deviation relative to
    the value; rounding 5.88 million to 0.01 million alone is at most 0.1% off)."""

    value: Positive
    rel_sd: Positive = DEFAULT_REL_SD


class Calibration(Strict):
    """What `livesim calibrate` fits, to which observations, and how."""

    method: Literal["lsq", "abc"] = "lsq"
    #: lsq: tables (paths, bounds); abc: names of campaign-scope [[uncertainty]]
    #: entries, whose distributions are the priors (a table is taken by its name)
    free: Annotated[list[FreeParameter | Ident], Field(min_length=1, max_length=10)]
    targets: dict[str, Positive | ObservedValue] = {}
    #: abc: a CSV of observed streams (a `stream` column, metric columns) and/or
    #: a CSV of one stream's minutes (`scope`, `minute`, timeseries columns)
    observed: str | None = None
    observed_timeseries: str | None = None
    #: abc: the relative error of every value in the observed files
    observed_rel_sd: Positive = 0.05
    #: abc: the observed minutes are compared in blocks of this many minutes
    block_minutes: Annotated[int, Field(ge=1, le=240)] = 10
    #: lsq: replications per evaluation and their seed (abc: the seed of its runs)
    replications: Annotated[int, Field(ge=10, le=10_000)] = 100
    seed: Annotated[int, Field(ge=0)] = 0
    #: abc: particles per generation, generations to reach the final temperature
    #: `tolerance` (1: the exact posterior under the observation errors), and an
    #: optional time budget in seconds (checked after each generation)
    population: Annotated[int, Field(ge=20, le=100_000)] = 200
    generations: Annotated[int, Field(ge=1, le=100)] = 8
    tolerance: Annotated[float, Field(ge=1.0)] = 1.0
    max_seconds: Positive | None = None

    def target_values(self) -> dict[str, float]:
        """The targets' values (what the least-squares fit aims at)."""
        return {
            k: v.value if isinstance(v, ObservedValue) else float(v)
            for k, v in self.targets.items()
        }

    def target_errors(self) -> dict[str, float]:
        """The targets' relative errors (a bare number: `DEFAULT_REL_SD`)."""
        return {
            k: v.rel_sd if isinstance(v, ObservedValue) else DEFAULT_REL_SD
            for k, v in self.targets.items()
        }

    def free_names(self) -> list[str]:
        """The free parameters' names (abc: the [[uncertainty]] entries)."""
        return [f if isinstance(f, str) else f.name for f in self.free]

    def free_tables(self) -> list[FreeParameter]:
        """The free parameters given as tables (all of them, for lsq)."""
        return [f for f in self.free if isinstance(f, FreeParameter)]
