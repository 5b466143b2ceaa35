"""Benchmark: how long after a slider move the page shows new figures (`livesim app`).

For each bundled scenario it starts `livesim app` on a free localhost port, opens it
in Debian's headless Chromium (chromedriver + selenium, as the browser test does),
waits for the first render, then presses the right arrow on the purchase-rate slider
`--moves` times. Each time it measures the wall time from the key press until the
net GMV headline shows a new value (the figure the aim is about), then until the
page has finished drawing every view (its charts, the Viewers view), and reads the
page's own "Simulated in ... s" caption. The aim (issue 21): new figures within 1.5
seconds for the bundled scenarios on an idle 2-core machine.

Usage: python benchmarks/bench_app.py [--moves 3] [--out benchmarks/app.json]
(needs the app extra and /usr/bin/chromium; run .ci/install-browser first)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import test_app_browser as page  # noqa: E402  (the browser test's page helpers)

AIM = 1.5  # seconds from a slider move to new figures on screen


def caption(driver: object) -> str | None:
    from selenium.webdriver.common.by import By

    for item in driver.find_elements(  # type: ignore[attr-defined]
        By.CSS_SELECTOR, '[data-testid="stCaptionContainer"]'
    ):
        text = item.text
        if "Simulated in" in text:
            return str(text)
    return None


def measure(scenario: str, moves: int) -> dict[str, object]:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    port = page.free_port()
    server = page.launch_app(scenario, port, subprocess.DEVNULL, workers=None)
    shown: list[float] = []
    idle: list[float] = []
    simulated: list[str] = []
    try:
        page.wait_healthy(f"http://127.0.0.1:{port}", server, 90)
        driver = page.chromium()
        try:
            driver.get(f"http://127.0.0.1:{port}")
            page.wait_for(lambda: caption(driver), 180, "the first render")
            page.wait_for(lambda: page.page_idle(driver), 60, "an idle page")
            for _ in range(moves):
                slider = [
                    s
                    for s in driver.find_elements(
                        By.CSS_SELECTOR, '[data-testid="stSlider"]'
                    )
                    if "purchase rate" in s.text
                ][-1]
                knob = slider.find_element(By.CSS_SELECTOR, 'input[type="range"]')
                driver.execute_script("arguments[0].focus();", knob)
                before = page.metric_value(driver, page.GMV_LABEL)
                started = time.monotonic()
                ActionChains(driver).send_keys(Keys.ARROW_RIGHT).perform()
                page.wait_for(
                    lambda b=before: (
                        page.metric_value(driver, page.GMV_LABEL) not in (None, b)
                    ),
                    60,
                    "new figures",
                )
                shown.append(round(time.monotonic() - started, 2))
                page.wait_for(lambda: page.page_idle(driver), 60, "an idle page")
                idle.append(round(time.monotonic() - started, 2))
                simulated.append(caption(driver) or "")
        finally:
            driver.quit()
    finally:
        page.stop_group(server)
    return {
        "shown_after_seconds": shown,
        "median_shown_after_seconds": statistics.median(shown),
        "idle_after_seconds": idle,
        "median_idle_after_seconds": statistics.median(idle),
        "captions": simulated,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/app.json"))
    args = parser.parse_args()
    load = os.getloadavg()[0]
    figures: dict[str, object] = {
        name: measure(name, args.moves) for name in ("teaching_tiny", "mac_kos101")
    }
    figures |= {
        "aim_seconds": AIM,
        "load_average_1min_before": load,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    for name in ("teaching_tiny", "mac_kos101"):
        median = figures[name]["median_shown_after_seconds"]  # type: ignore[index]
        verdict = "meets" if median <= AIM else "MISSES"
        print(f"{name}: new figures {median:.2f} s after a move ({verdict} {AIM} s)")


if __name__ == "__main__":
    main()
