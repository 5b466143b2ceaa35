"""Writing a file whole or not at all: every writer of livesim goes through here.

A file is filled under a temporary name beside its final one and renamed into
place (`os.replace`), so a reader or a crash sees the old file or the whole new
one, never a part. A durable write also flushes the file and then its folder to
disk, so that a power cut after the call cannot lose it (the chunks of a run that
`--resume` relies on).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomic(
    path: Path, write: Callable[[str], None], durable: bool = False
) -> None:
    """Let `write` fill a temporary file next to `path`, then rename it into place;
    `durable`: sync the file and the folder to disk too."""
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    # The temporary name never ends like the final one, so that no reader that
    # looks for `*.chunk`, `*.csv`, ... takes a half-written file for a whole one.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        write(tmp)
        if durable:
            sync_path(Path(tmp))
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the output is not
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        sync_path(path.parent)


def write_text_atomic(path: Path, text: str) -> None:
    """Write one text file whole or not at all."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)

    write_atomic(path, write)


def write_durably(path: Path, data: bytes) -> None:
    """Write `data` whole or not at all, synced to disk: after a crash `path` is
    absent or whole."""

    def write(tmp: str) -> None:
        Path(tmp).write_bytes(data)

    write_atomic(path, write, durable=True)


def sync_path(path: Path) -> None:
    """Flush a file's data, or a folder's entries (a rename into it), to disk,
    where the OS allows."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
