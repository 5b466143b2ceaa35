"""Progress bars that read well both in a terminal and in a log file.

In a terminal a bar redraws itself in place, as tqdm does. Anywhere else (CI, a
file, `nohup`) redrawing would leave carriage returns and one copy of the bar per
update, so the bar writes whole lines instead, at most one every `LOG_INTERVAL`
seconds plus the first and the last. Bars show from the start and stay on screen
when done, so that a run's log says how long each part took.
"""

from __future__ import annotations

import sys
from typing import IO, Any

#: Seconds between two lines of a bar written to something that is not a terminal.
LOG_INTERVAL = 15.0


class Lines:
    """A stream for tqdm that turns its in-place redraws into whole lines."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def write(self, text: str) -> int:
        line = text.replace("\r", "").strip()
        if line:
            self.out.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self.out.flush()


def is_terminal(stream: IO[str]) -> bool:
    """True when `stream` is an interactive terminal."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def progress_bar(**options: Any) -> Any:
    """A tqdm bar on stderr with tqdm's `options`, drawn in place in a terminal and
    as whole lines (every `LOG_INTERVAL` s) elsewhere."""
    from tqdm import tqdm

    err = sys.stderr
    settings: dict[str, Any] = {"leave": True, "dynamic_ncols": True}
    if not is_terminal(err):
        settings.update(
            file=Lines(err),
            mininterval=LOG_INTERVAL,
            maxinterval=LOG_INTERVAL,
            ascii=True,
            ncols=100,
            dynamic_ncols=False,
        )
    else:
        settings["file"] = err
    settings.update(options)
    return tqdm(**settings)


__all__ = ["LOG_INTERVAL", "Lines", "is_terminal", "progress_bar"]
