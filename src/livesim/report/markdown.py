"""The markdown renderer of the report's blocks (`report.blocks`): report.md, and
tables in other reports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from livesim.report.blocks import Block, cell


def table(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> str:
    """A DataFrame as a GitHub-flavoured markdown table."""
    fmt = formats or {}

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = [
        "| "
        + " | ".join(cell(c, v, fmt) for c, v in zip(frame.columns, row, strict=True))
        + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body])


def to_markdown(blocks: list[Block], folder: Path) -> str:
    """The blocks as markdown (figures linked relative to `folder`)."""
    lines: list[str] = []
    for b in blocks:
        if b.kind == "h1":
            lines += [f"# {b.text}", ""]
        elif b.kind == "h2":
            lines += [f"## {b.text}", ""]
        elif b.kind == "p":
            lines += [b.text, ""]
        elif b.kind == "table" and b.frame is not None:
            lines += [table(b.frame, b.formats), ""]
        elif b.kind == "figure" and b.path is not None:
            rel = b.path.relative_to(folder).as_posix()
            lines += [f"![{b.path.stem}]({rel})", "", b.text, ""]
    return "\n".join(lines)
