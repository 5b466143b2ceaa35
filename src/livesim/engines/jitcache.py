"""Keep the cohort engine's compiled code in step with every source it compiles.

numba caches a compiled function (`cache=True`) under the modification stamp of
the file that defines it, and only that file: a kernel in `kernels.py` that calls
`model.viewer`'s equations, or `step.py` calling `kernels.py`, would go on running
its old machine code after the equations changed. So each module's cache is also
tagged with a digest of all the sources compiled together (`SOURCES`); at import,
a module whose tag differs has its functions' cache entries dropped (`flush`), and
they compile afresh on first use.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent.parent
#: The sources whose code or constants the compiled kernels contain (numba freezes
#: module globals, such as tally rows and source indices, into the machine code).
SOURCES = (
    "engines/kernels.py",
    "engines/step.py",
    "engines/output.py",
    "model/viewer.py",
    "model/stream.py",
)


def sources_digest(root: Path = PACKAGE) -> str:
    """SHA-256 of the compiled sources, in `SOURCES` order (of the package's
    version where the sources cannot be read, e.g. an install without them)."""
    h = hashlib.sha256()
    for name in SOURCES:
        try:
            text = (root / name).read_bytes()
        except OSError:
            from livesim import __version__

            text = f"missing; livesim {__version__}".encode()
        h.update(name.encode() + b"\0" + text + b"\0")
    return h.hexdigest()


def cached_functions(namespace: dict[str, Any]) -> list[Any]:
    """The numba dispatchers defined in a module (its `globals()`) that keep an
    on-disk cache (the compiled `model.viewer` functions it holds are cached by
    numba under viewer.py's own stamp)."""
    return [
        value
        for value in namespace.values()
        if getattr(getattr(value, "_cache", None), "cache_path", None) is not None
        and getattr(value, "py_func", None) is not None
        and value.py_func.__module__ == namespace["__name__"]
    ]


def keep_current(module: str, functions: Iterable[Any], digest: str) -> bool:
    """Drop the cache entries of `functions` (one module's) unless they were
    compiled from sources with `digest`; True when they were dropped."""
    functions = list(functions)
    if not functions:
        return False
    folder = Path(functions[0]._cache.cache_path)
    tag = folder / f"{module}.sources-sha256"
    try:
        if tag.read_text() == digest:
            return False
    except OSError:
        pass
    for function in functions:
        function._cache.flush()
    try:  # a cache folder we cannot write to is numba's to handle
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{module}.")
        with os.fdopen(fd, "w") as out:
            out.write(digest)
        os.replace(tmp, tag)
    except OSError:
        pass
    return True
