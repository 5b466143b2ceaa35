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

import contextlib
import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

try:
    import fcntl
except ImportError:  # not on Windows: runs there are not locked
    fcntl = None  # type: ignore[assignment]

from livesim.atomic import write_durably
from livesim.chunks import SUFFIX, DamagedChunk, read_chunk, write_chunk
from livesim.engines.output import SessionOutput
from livesim.errors import ConfigError, note

REQUEST_FILE = "run.json"
LOCK_FILE = ".lock"
#: Finished replications are written out at least this often (seconds): a kill
#: loses at most about this much finished work.
FLUSH_SECONDS = 1.0


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
    has passed. Finished replications are buffered and written as one chunk about
    every `FLUSH_SECONDS` (and when the store closes, interrupted or not), so fast
    replications do not pay a synced file each.
    """

    def __init__(self, folder: Path, digest: str, resume: bool) -> None:
        self.folder = folder
        self.digest = digest
        self.resume = resume
        self.opened = False
        self.continues = False
        self.lock: int | None = None
        self.buffer: dict[tuple[str, str], list[tuple[int, SessionOutput]]] = {}
        self.flushed = time.monotonic()
        self.check()

    def check(self) -> None:
        """Refuse a work folder this run may not continue (before any work)."""
        if self.folder.exists() and not self.folder.is_dir():
            raise ConfigError(
                f"--out: {str(self.folder)!r}, where livesim keeps a run's finished "
                "replications, is a file; remove it"
            )
        if self.locked_elsewhere():
            raise ConfigError(self.busy())
        if not self.chunks():
            return  # nothing finished is kept there: the run starts it afresh
        if not self.resume:
            raise ConfigError(
                f"--out: an unfinished run into this folder is kept in "
                f"{str(self.folder)!r}; rerun with --resume to continue it, or remove "
                "that folder to start again"
            )
        kept = self.kept_digest()
        if kept is None:
            raise ConfigError(
                f"--resume: {str(self.folder / REQUEST_FILE)!r} is missing or "
                "damaged, so which run the kept replications belong to is not "
                "known; remove the folder to start again"
            )
        if kept != self.digest:
            raise ConfigError(
                f"--resume: {str(self.folder)!r} holds an unfinished run of another "
                "scenario, seed or request (its digest differs); rerun that request "
                "with --resume, or remove the folder"
            )
        self.continues = True

    def busy(self) -> str:
        return (
            f"--out: another livesim run is writing into {str(self.folder)!r} "
            "now; wait for it, or choose another --out"
        )

    def locked_elsewhere(self) -> bool:
        """Whether another process holds the folder's lock (a run at work)."""
        path = self.folder / LOCK_FILE
        if fcntl is None or not path.is_file():
            return False
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            return False
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)  # (closing drops the probe's own lock)
        return False

    def chunks(self, part: str = "") -> list[Path]:
        """The chunk files kept in the folder (of `part`)."""
        if not self.folder.is_dir():
            return []
        found = self.folder.glob(f"{part}*~r*{SUFFIX}")
        # (a hidden name is a write in progress, `livesim.atomic`, never a chunk)
        return sorted(p for p in found if p.is_file() and not p.name.startswith("."))

    def kept_digest(self) -> str | None:
        try:
            text = (self.folder / REQUEST_FILE).read_text(encoding="utf-8")
            digest = json.loads(text).get("digest")
        except (OSError, ValueError, AttributeError):
            return None
        return digest if isinstance(digest, str) else None

    def open(self) -> None:
        """Create and lock the work folder and write its request file, once all
        checks passed (a folder that keeps no chunk is started afresh).

        The lock (a POSIX lock on `.lock` in the folder, held until the process
        ends or `close`; worker processes do not inherit it) refuses a second run
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
            raise ConfigError(self.busy()) from None
        if self.continues and self.kept_digest() != self.digest:
            self.close()  # another run started afresh in it meanwhile
            raise ConfigError(
                f"--resume: {str(self.folder)!r} was taken by another run"
            )
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
        """Keep finished replications of a strategy; written out every
        `FLUSH_SECONDS`."""
        self.open()
        self.buffer.setdefault((part, strategy), []).extend(done)
        if time.monotonic() - self.flushed >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write every buffered replication as chunks (one per strategy)."""
        for (part, strategy), done in list(self.buffer.items()):
            first = min(r for r, _ in done)
            path = self.folder / f"{part}{strategy}~r{first:06d}{SUFFIX}"
            write_chunk(path, encode(strategy, self.digest, done), len(done))
            del self.buffer[(part, strategy)]
        self.flushed = time.monotonic()

    def load(self, part: str) -> dict[str, dict[int, SessionOutput]]:
        """Every verified replication of `part` kept so far, by strategy; a damaged
        chunk, or one of another run, is reported, removed and left out (so its
        replications run again)."""
        self.flush()
        found: dict[str, dict[int, SessionOutput]] = {}
        for path in self.chunks(part):
            try:
                strategy, digest, done = decode(path)
                if digest != self.digest:
                    raise DamagedChunk(path, "belongs to another run")
            except DamagedChunk as exc:
                note(f"{exc}; running its replications again")
                path.unlink(missing_ok=True)
                continue
            # the file's name must be this part's for its strategy: part "" must
            # not take part "noise-"'s chunks, nor a strategy named "noise-x"'s
            if not path.name.startswith(f"{part}{strategy}~r"):
                continue
            found.setdefault(strategy, {}).update(done)
        return found

    def remove(self) -> None:
        """Drop the work folder (the outputs are written) and its lock."""
        self.buffer.clear()
        shutil.rmtree(self.folder, ignore_errors=True)
        self.close()

    def close(self) -> None:
        """Write what is buffered and let go of the lock; the kept replications
        stay for a resume, and a folder that keeps none goes."""
        if self.buffer and self.opened:
            # (a failure here is not reported: the error that stopped the run is)
            with contextlib.suppress(OSError):
                self.flush()
        if self.opened and not self.chunks():
            shutil.rmtree(self.folder, ignore_errors=True)
        if self.lock is not None:
            os.close(self.lock)
            self.lock = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def encode(strategy: str, digest: str, done: list[tuple[int, SessionOutput]]) -> bytes:
    """Replications' outputs as one payload: a JSON line (rows, event logs, and the
    shape and dtype of every time-series array), then the arrays' raw bytes, one
    after another (exact, so they read back equal)."""
    arrays = [a for _, out in done for a in out.timeseries.values()]
    meta = {
        "strategy": strategy,
        "run": digest,
        "replications": [r for r, _ in done],
        "rows": [out.rows for _, out in done],
        "events": [out.events for _, out in done],
        "streams": [list(out.timeseries) for _, out in done],
        "arrays": [[a.dtype.str, list(a.shape)] for a in arrays],
    }
    text = json.dumps(meta, default=_plain).encode()  # one line: JSON escapes \n
    return b"".join([text, b"\n", *(np.ascontiguousarray(a).tobytes() for a in arrays)])


def decode(path: Path) -> tuple[str, str, list[tuple[int, SessionOutput]]]:
    """A verified chunk's strategy, run digest and replications' outputs."""
    payload, count = read_chunk(path)
    try:
        end = payload.index(b"\n")
        meta = json.loads(payload[:end])
        arrays, at = [], end + 1
        for dtype, shape in meta["arrays"]:
            kind = np.dtype(dtype)
            size = kind.itemsize * int(np.prod(shape))
            flat = np.frombuffer(
                payload, dtype=kind, count=size // kind.itemsize, offset=at
            )
            arrays.append(flat.reshape(shape).copy())
            at += size
        if at != len(payload):
            raise ValueError(f"{len(payload) - at} bytes past the last array")
        done, k = [], 0
        for i, r in enumerate(meta["replications"]):
            series = {}
            for stream in meta["streams"][i]:
                series[stream] = arrays[k]
                k += 1
            logged = meta["events"][i]
            events = None if logged is None else [tuple(e) for e in logged]
            done.append((int(r), SessionOutput(meta["rows"][i], series, events)))
        strategy, digest = str(meta["strategy"]), str(meta["run"])
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise DamagedChunk(path, f"its contents cannot be read ({exc})") from None
    if len(done) != count:
        raise DamagedChunk(path, f"holds {len(done)} replications of {count} declared")
    return strategy, digest, done


def _plain(value: Any) -> Any:
    """numpy scalars in rows as the Python numbers they equal (for JSON)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-able")
