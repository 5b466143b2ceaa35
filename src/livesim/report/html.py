"""report.html: the report's blocks as one self-contained page (figures embedded as
base64 PNG, styles inline), so it opens offline and can be forwarded as one file."""

from __future__ import annotations

import base64
import html
import re

from livesim.report.blocks import Block, cell

STYLE = """
body { font-family: system-ui, -apple-system, Segoe UI, sans-serif; margin: 2rem auto;
       max-width: 1100px; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem;
     border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0 1rem;
        display: block; overflow-x: auto; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: right; }
th { background: #f3f5f7; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1rem 0; } img { max-width: 100%; }
figcaption { font-size: .85rem; color: #555; }
code { background: #f3f5f7; padding: 0 .2rem; }
details { margin: .5rem 0 1rem; } summary { cursor: pointer; color: #245; }
"""


def inline(text: str) -> str:
    """Escape text, keeping the report's `code` and **bold** marks."""
    out = html.escape(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


def to_html(blocks: list[Block], title: str) -> str:
    """The blocks as one HTML page."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
    ]
    for b in blocks:
        if b.kind in ("h1", "h2"):
            parts.append(f"<{b.kind}>{inline(b.text)}</{b.kind}>")
        elif b.kind == "p":
            parts.append(f"<p>{inline(b.text)}</p>")
        elif b.kind == "table" and b.frame is not None:
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in b.frame.columns)
            rows = [
                "<tr>"
                + "".join(
                    f"<td>{html.escape(cell(c, v, b.formats))}</td>"
                    for c, v in zip(b.frame.columns, row, strict=True)
                )
                + "</tr>"
                for row in b.frame.itertuples(index=False)
            ]
            table = (
                f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}"
                "</tbody></table>"
            )
            if b.collapsed:
                label = inline(b.text or "the table")
                table = f"<details><summary>{label}</summary>{table}</details>"
            parts.append(table)
        elif b.kind == "figure" and b.path is not None:
            data = base64.b64encode(b.path.read_bytes()).decode("ascii")
            parts.append(
                f'<figure><img alt="{html.escape(b.path.stem)}" '
                f'src="data:image/png;base64,{data}">'
                f"<figcaption>{inline(b.text)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
