"""A run's finished replications kept on disk, so `livesim run` and `compare` resume.

While `run` or `compare` works, every finished chunk of replications of one strategy
is written as a chunk file (`livesim.chunks`: atomic, synced, with a row count and
checksum) into a work folder beside the output folder, `.<out name>.partial/`, whose
`run.json` holds the digest of the request (scenario, seed, replications,
strategies, engine, event log). When every replication is there, the tables are
assembled from those files, written to `--out` whole, and the work folder goes.

`--resume` continues from a work folder with the same digest: its chunks are
verified (a damaged one is reported by name and run again) and only the missing
replications run. Because a fresh run reads its replications back from the same
files, a resumed run and an uninterrupted one give identical tables. A work folder
with another digest (another scenario or seed) is refused, and so is a new run
without `--resume` where an unfinished one is kept: neither loses finished work.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

try:
    import fcntl
except ImportError:  # not on Windows: runs there are not locked
    fcntl = None  # type: ignore[assignment]

from livesim.chunks import SUFFIX, DamagedChunk, read_chunk, write_chunk, write_durably
from livesim.engines.agent import SessionOutput
from livesim.errors import ConfigError, note

REQUEST_FILE = "run.json"
LOCK_FILE = ".lock"


def work_folder(out: Path) -> Path:
    """Where an unfinished run into `out` keeps its chunks."""
    out = out.resolve()
    return out.with_name(f".{out.name}.partial")


def request_digest(request: dict[str, Any]) -> str:
    """A SHA-256 of what decides a run's tables (a JSON-able dict)."""
    text = json.dumps(request, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class RunStore:
    """The chunks of one run (`livesim run`) or one comparison, in `folder`.

    Nothing is written until `open()`, which callers make after every other check
    has passed.
    """

    def __init__(self, folder: Path, digest: str, resume: bool) -> None:
        self.folder = folder
        self.digest = digest
        self.resume = resume
        self.opened = False
        self.continues = False
        self.lock: int | None = None
        self.check()

    def check(self) -> None:
        """Refuse a work folder this run may not continue (before any work)."""
        if self.folder.exists() and not self.folder.is_dir():
            raise ConfigError(
                f"--out: {str(self.folder)!r}, where livesim keeps a run's finished "
                "replications, is a file; remove it"
            )
        if not any(self.folder.glob(f"*{SUFFIX}")):
            return  # nothing finished is kept there: the run starts it afresh
        if not self.resume:
            raise ConfigError(
                f"--out: an unfinished run into this folder is kept in "
                f"{str(self.folder)!r}; rerun with --resume to continue it, or remove "
                "that folder to start again"
            )
        try:
            text = (self.folder / REQUEST_FILE).read_text(encoding="utf-8")
            kept = json.loads(text).get("digest")
        except (OSError, ValueError, AttributeError):
            kept = None
        if kept != self.digest:
            raise ConfigError(
                f"--resume: {str(self.folder)!r} holds an unfinished run of another "
                "scenario, seed or request (its digest differs); rerun that request "
                "with --resume, or remove the folder"
            )
        self.continues = True

    def open(self) -> None:
        """Create and lock the work folder and write its request file, once all
        checks passed (a folder that keeps no chunk is started afresh).

        The lock (a POSIX lock on `.lock` in the folder, held until the process
        ends or `remove`; worker processes do not inherit it) refuses a second run
        into the same output while this one works.
        """
        if self.opened:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lock = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                fcntl.lockf(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.lock)
            self.lock = None
            raise ConfigError(
                f"--out: another livesim run is writing into {str(self.folder)!r} "
                "now; wait for it, or choose another --out"
            ) from None
        if not self.continues:
            for stale in self.folder.iterdir():
                if stale.name == LOCK_FILE:
                    continue
                if stale.is_dir():
                    shutil.rmtree(stale, ignore_errors=True)
                else:
                    stale.unlink(missing_ok=True)
        text = json.dumps({"digest": self.digest}) + "\n"
        write_durably(self.folder / REQUEST_FILE, text.encode())
        self.opened = True

    def save(
        self, part: str, strategy: str, done: list[tuple[int, SessionOutput]]
    ) -> None:
        """Write one finished chunk of a strategy's replications."""
        self.open()
        first = min(r for r, _ in done)
        path = self.folder / f"{part}{strategy}~r{first:06d}{SUFFIX}"
        write_chunk(path, encode(strategy, done), len(done))

    def load(self, part: str) -> dict[str, dict[int, SessionOutput]]:
        """Every verified replication of `part` kept so far, by strategy; a damaged
        chunk is reported, removed and left out (so it runs again)."""
        found: dict[str, dict[int, SessionOutput]] = {}
        if not self.folder.is_dir():
            return found
        for path in sorted(self.folder.glob(f"{part}*~r*{SUFFIX}")):
            try:
                strategy, done = decode(path)
            except DamagedChunk as exc:
                note(f"{exc}; running its replications again")
                path.unlink(missing_ok=True)
                continue
            found.setdefault(strategy, {}).update(done)
        return found

    def remove(self) -> None:
        """Drop the work folder (the outputs are written) and its lock."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.close()

    def close(self) -> None:
        """Let go of the folder's lock; what is kept stays for a resume."""
        if self.lock is not None:
            os.close(self.lock)
            self.lock = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def encode(strategy: str, done: list[tuple[int, SessionOutput]]) -> bytes:
    """Replications' outputs as one `.npz` payload: the rows and event logs as JSON,
    the time series as float arrays (exact, so they read back equal)."""
    meta = {
        "strategy": strategy,
        "replications": [r for r, _ in done],
        "rows": [out.rows for _, out in done],
        "events": [out.events for _, out in done],
        "streams": [list(out.timeseries) for _, out in done],
    }
    arrays = {
        f"ts_{k}_{j}": array
        for k, (_, out) in enumerate(done)
        for j, array in enumerate(out.timeseries.values())
    }
    buffer = io.BytesIO()
    text = json.dumps(meta, default=_plain).encode()
    arrays["meta"] = np.frombuffer(text, dtype=np.uint8)
    save: Any = np.savez  # (its stubs take **arrays for its allow_pickle flag)
    save(buffer, **arrays)
    return buffer.getvalue()


def decode(path: Path) -> tuple[str, list[tuple[int, SessionOutput]]]:
    """A verified chunk's strategy and replications' outputs."""
    payload, count = read_chunk(path)
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
            meta = json.loads(archive["meta"].tobytes())
            done = []
            for k, r in enumerate(meta["replications"]):
                series = {
                    stream: archive[f"ts_{k}_{j}"]
                    for j, stream in enumerate(meta["streams"][k])
                }
                logged = meta["events"][k]
                events = None if logged is None else [tuple(e) for e in logged]
                done.append((int(r), SessionOutput(meta["rows"][k], series, events)))
            strategy = str(meta["strategy"])
    except (ValueError, KeyError, TypeError, OSError, IndexError) as exc:
        raise DamagedChunk(path, f"its contents cannot be read ({exc})") from None
    if len(done) != count:
        raise DamagedChunk(path, f"holds {len(done)} replications of {count} declared")
    return strategy, done


def _plain(value: Any) -> Any:
    """numpy scalars in rows as the Python numbers they equal (for JSON)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-able")
