"""The errors livesim reports to its users (exit code 2 at the command line)."""

from __future__ import annotations


class ConfigError(Exception):
    """A scenario or a command-line request that cannot run, with every reason found.

    Each reason is one line that names the field, the value and the rule, e.g.
    ``streams[1].promotions[0].discount: 1.5 is not allowed: must be <= 0.95``.
    """

    def __init__(self, errors: list[str] | str) -> None:
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))


def note(message: str) -> None:
    """Tell the user something on stderr that is not an error (one line)."""
    import sys

    print(f"livesim: note: {message}", file=sys.stderr)
