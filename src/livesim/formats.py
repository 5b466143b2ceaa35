"""Tables on disk: CSV for spreadsheets, Parquet for analysis, or both.

Every table a command writes goes through `write_tables`: each as `NAME.csv`
and/or `NAME.parquet` (pyarrow; typed columns, a fraction of the size), each file
whole or not at all (`livesim.atomic`), and `columns.json` beside them with the
unit and meaning of each column (`livesim.columns`). `--format csv|parquet|both`
chooses; the default writes both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from livesim.atomic import write_atomic, write_text_atomic
from livesim.columns import describe_tables

if TYPE_CHECKING:  # (the command line imports this module before pandas)
    import pandas as pd

FORMATS = ("both", "csv", "parquet")
DEFAULT_FORMAT = "both"
DICTIONARY = "columns.json"


def suffixes(fmt: str) -> tuple[str, ...]:
    """The file suffixes a format writes."""
    if fmt not in FORMATS:
        raise ValueError(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    return {"both": (".csv", ".parquet"), "csv": (".csv",), "parquet": (".parquet",)}[
        fmt
    ]


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """One CSV table, whole or not at all."""
    write_text_atomic(path, frame.to_csv(index=False))


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    """One Parquet table (pyarrow, no index), whole or not at all."""
    write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False, engine="pyarrow"))


def write_tables(
    folder: Path,
    tables: Mapping[str, pd.DataFrame],
    fmt: str = DEFAULT_FORMAT,
    extra: Mapping[str, tuple[str, str]] | None = None,
    dictionary: bool = True,
) -> list[str]:
    """Write each table of `tables` (name -> frame) to `folder` in `fmt`, and the
    column dictionary of all the folder's tables (those already in columns.json
    kept); the names of the files written. `extra`: (unit, meaning) of columns
    named by the run itself, such as an experiment's parameters."""
    written = []
    for name, frame in tables.items():
        for suffix in suffixes(fmt):
            path = folder / f"{name}{suffix}"
            (write_csv if suffix == ".csv" else write_parquet)(path, frame)
            written.append(path.name)
    if dictionary:
        write_dictionary(folder, {k: list(v.columns) for k, v in tables.items()}, extra)
        written.append(DICTIONARY)
    return written


def write_dictionary(
    folder: Path,
    tables: Mapping[str, list[str]],
    extra: Mapping[str, tuple[str, str]] | None = None,
) -> None:
    """columns.json of `folder`: the tables' columns added to those it describes."""
    path = folder / DICTIONARY
    found = describe_tables(tables, extra)
    try:
        kept = json.loads(path.read_text())["tables"]
    except (OSError, ValueError, KeyError, TypeError):
        kept = {}
    found["tables"] = {**kept, **found["tables"]}
    write_text_atomic(path, json.dumps(found, indent=2) + "\n")


__all__ = [
    "DEFAULT_FORMAT",
    "DICTIONARY",
    "FORMATS",
    "suffixes",
    "write_csv",
    "write_dictionary",
    "write_parquet",
    "write_tables",
]
