"""Screenshots of each bundled report's first screen (1280 x 800, headless Chromium)
into docs/img/report_<kind>.png.

The reports are those of the README's KOS101 examples: `livesim run` (the night),
`compare` (the strategies), `optimize`, `sensitivity` and `calibrate` (ABC-SMC, about
6 minutes on 2 cores). They are written under results/screens/; `--keep` reuses the
folders already there, `--only run compare` takes a few.

Run: PYTHONPATH=benchmarks .venv/bin/python benchmarks/screenshot_reports.py
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "screens"
IMG = ROOT / "docs" / "img"
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars")
EXPERIMENTS = ROOT / "experiments"

#: Each report: the command line that writes it (its --out is added).
COMMANDS = {
    "run": ["run", str(EXPERIMENTS / "mac_kos101.toml")],
    "compare": ["compare", str(EXPERIMENTS / "kos101_strategies.toml")],
    "optimize": ["optimize", str(EXPERIMENTS / "kos101_optimize.toml")],
    "sensitivity": ["sensitivity", str(EXPERIMENTS / "kos101_sensitivity.toml")],
    "calibrate": ["calibrate", str(EXPERIMENTS / "mac_kos101.toml"), "--method", "abc"],
}


def write_report(kind: str, keep: bool) -> Path:
    """The report's folder, written unless `keep` and it is there."""
    from livesim.cli import main

    folder = OUT / kind
    if keep and (folder / "report.html").is_file():
        return folder
    if folder.exists():  # a fresh report, not a resumed one
        import shutil

        shutil.rmtree(folder)
    argv = [*COMMANDS[kind], "--out", str(folder)]
    code = main(argv)
    if code != 0:
        raise SystemExit(f"livesim {' '.join(argv)} failed ({code})")
    return folder


def screenshot(pages: dict[str, Path]) -> None:
    """The first screen of each report.html, 1280 x 800."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument("--window-size=1280,800")
    with tempfile.TemporaryDirectory() as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(
            service=Service(executable_path=str(CHROMEDRIVER)), options=options
        )
        try:
            metrics = {"width": 1280, "height": 800, "deviceScaleFactor": 1}
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride", metrics | {"mobile": False}
            )
            for kind, folder in pages.items():
                driver.get((folder / "report.html").as_uri())
                target = IMG / f"report_{kind}.png"
                driver.save_screenshot(str(target))
                print(f"wrote {target.relative_to(ROOT)}")
        finally:
            driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(COMMANDS), default=None)
    parser.add_argument("--keep", action="store_true", help="reuse written reports")
    args = parser.parse_args()
    kinds = args.only or list(COMMANDS)
    pages = {kind: write_report(kind, args.keep) for kind in kinds}
    screenshot(pages)


if __name__ == "__main__":
    main()
