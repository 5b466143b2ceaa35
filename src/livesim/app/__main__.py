"""`python -m livesim.app [--scenario NAME] [--port N] [--no-browser]`."""

from __future__ import annotations

import sys

from livesim.app import launch

if __name__ == "__main__":
    sys.exit(launch())
