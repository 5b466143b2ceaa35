"""Chunk files: finished units of work kept on disk, each verifiable on its own.

A chunk file is one header line of JSON, then the payload bytes::

    {"livesim_chunk": 1, "rows": 25, "bytes": 4096, "sha256": "..."}
    <payload>

The header carries what is needed to check the payload: its length, its SHA-256 and
the number of rows it holds (the caller counts them when it decodes the payload).
`write_chunk` writes a temporary file in the same folder, flushes it to disk
(`fsync`), renames it into place and syncs the folder, so a crash leaves either no
chunk or a whole one. `read_chunk` verifies a chunk and raises `DamagedChunk`, which
names the file, when anything does not match: a file cut short or cut mid-line, bytes
changed, an empty or foreign file. Every command that keeps chunks (experiments,
`run` and `compare`) reads them through here, and runs a damaged chunk again.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pandas as pd

from livesim.atomic import write_durably

FORMAT = 1
#: The file name ending of chunk files (they are not plain CSV: a header comes first).
SUFFIX = ".chunk"
#: The longest header line accepted (a damaged file may have no newline at all).
MAX_HEADER = 4096


class DamagedChunk(Exception):
    """A chunk file that fails its checks: `path` and the reason."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def write_chunk(path: Path, payload: bytes, rows: int) -> None:
    """Write `payload` (holding `rows` rows) to `path` whole or not at all, durably."""
    header = {
        "livesim_chunk": FORMAT,
        "rows": rows,
        "bytes": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    write_durably(path, json.dumps(header).encode() + b"\n" + payload)


def read_chunk(path: Path) -> tuple[bytes, int]:
    """The verified payload of a chunk file and the row count it declares."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DamagedChunk(path, f"cannot be read ({exc.strerror})") from None
    end = data.find(b"\n", 0, MAX_HEADER)
    if end < 0:
        raise DamagedChunk(path, "has no chunk header (empty, cut or not a chunk)")
    try:
        header = json.loads(data[:end])
        rows, size, digest = header["rows"], header["bytes"], header["sha256"]
        ok = header["livesim_chunk"] == FORMAT
    except (ValueError, KeyError, TypeError):
        raise DamagedChunk(path, "has no valid chunk header") from None
    if not ok or not isinstance(rows, int) or not isinstance(size, int):
        raise DamagedChunk(path, "has no valid chunk header")
    payload = data[end + 1 :]
    if len(payload) != size:
        raise DamagedChunk(
            path, f"holds {len(payload)} bytes of the {size} its header declares"
        )
    if hashlib.sha256(payload).hexdigest() != digest:
        raise DamagedChunk(path, "its checksum does not match (changed bytes)")
    return payload, rows


def write_table(path: Path, frame: pd.DataFrame) -> None:
    """A table as a CSV chunk (floats written exactly, so they read back equal)."""
    write_chunk(path, frame.to_csv(index=False).encode(), len(frame))


def read_table(path: Path) -> pd.DataFrame:
    """A verified CSV chunk as a table; `DamagedChunk` when it is not whole."""
    payload, rows = read_chunk(path)
    try:
        frame = pd.read_csv(io.BytesIO(payload))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DamagedChunk(path, f"its table cannot be read ({exc})") from None
    if len(frame) != rows:
        raise DamagedChunk(path, f"holds {len(frame)} rows of the {rows} declared")
    return frame
