"""The base of every config model: strict types and the number types they share.

Scenarios, experiment files, optimization files and the priors of a scenario's
`[[uncertainty]]` section all derive from `Strict`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Prob = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
Ident = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
]


class Strict(BaseModel):
    """Base of every config model (scenarios, experiment and optimization files).

    Unknown keys and NaN/inf are errors, and types are strict: a number must be a
    number (an integer is fine where a float is expected, not a float where an
    integer is), a boolean a boolean, a string a string; `true` or `"170"` is never
    read as a number. Frozen.
    """

    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, frozen=True, strict=True
    )
