"""The report's block model: a report is a list of blocks (headings, paragraphs,
tables, figures) that each renderer (`report.markdown`, `report.html`) turns into
its format, so both say the same."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass
class Block:
    """A piece of the report: kind is "h1", "h2", "p", "table" or "figure". A
    `collapsed` table is folded away in HTML (`<details>`, its `text` the label)."""

    kind: str
    text: str = ""
    frame: pd.DataFrame | None = None
    formats: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    collapsed: bool = False


def cell(column: str, value: Any, formats: dict[str, str]) -> str:
    """One formatted table cell ("n/a" for NaN)."""
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return format(value, formats.get(column, ",.2f"))
    return str(value)
