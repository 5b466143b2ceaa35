"""Screenshot: the page during teaching_tiny's sale, with the sold-out marker.

Starts `livesim app --scenario teaching_tiny` on a free localhost port, opens it in
Debian's headless Chromium at 1280 x 800 (the browser test's helpers), moves the
minute slider to `--minute` (default 40: the -20% sale runs at minutes 30-45 and the
lipstick sells out in it) with teaching mode on and the orders chart's note open,
scrolls the session's figures, the sold-out notice and the orders chart into view
and saves the screenshot.

With `--overview` it takes the page's first screen on mac_kos101 at 1500 x 1107
instead (docs/img/app.png).

Usage: python benchmarks/screenshot_app.py [--minute 40] [--overview] [--out FILE]
(needs the app extra and /usr/bin/chromium; run .ci/install-browser first)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import test_app_browser as page  # noqa: E402  (the browser test's page helpers)

SETTLE = 2.0  # seconds to let the browser finish drawing before the screenshot


def scrub(driver: Any, minute: int) -> None:
    """Move the page's minute slider to `minute` with the keyboard."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    slider = page.find_with_text(
        driver, '[data-testid="stSlider"]', "Minute of the stream"
    )
    knob = slider.find_element(By.CSS_SELECTOR, 'input[type="range"]')
    driver.execute_script("arguments[0].focus();", knob)
    keys = ActionChains(driver).send_keys(Keys.HOME)
    for _ in range(minute):
        keys.send_keys(Keys.ARROW_RIGHT)
    keys.perform()
    page.wait_for(
        lambda: f"Minute {minute} of" in page.page_text(driver), 60, "the minute"
    )
    page.wait_for(lambda: page.page_idle(driver), 60, "an idle page")


def teaching_mode(driver: Any) -> None:
    """Switch teaching mode on (its notes sit collapsed under the charts)."""
    from selenium.webdriver.common.by import By

    toggle = page.find_with_text(driver, '[data-testid="stCheckbox"]', "Teaching mode")
    toggle.find_element(By.TAG_NAME, "label").click()
    page.wait_for(
        lambda: "Teaching note" in page.page_text(driver), 60, "the teaching notes"
    )
    page.wait_for(lambda: page.page_idle(driver), 60, "an idle page")


def sale_view(driver: Any, minute: int) -> None:
    """Teaching mode on, the slider at `minute`, the orders note open, the
    session's figures at the top of the window."""
    teaching_mode(driver)
    scrub(driver, minute)
    note = page.find_with_text(driver, "summary", "Why orders rise")
    driver.execute_script("arguments[0].click();", note)
    status = page.find_with_text(
        driver, '[data-testid="stMarkdown"]', f"Minute {minute} of"
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", status)


def shoot(
    scenario: str, size: tuple[int, int], out: Path, stage: Callable[[Any], None]
) -> None:
    """The page on `scenario` in a `size` viewport, after `stage(driver)`."""
    port = page.free_port()
    server = page.launch_app(scenario, port, subprocess.DEVNULL)
    try:
        page.wait_healthy(f"http://127.0.0.1:{port}", server, 90)
        driver = page.chromium(f"{size[0]},{size[1]}")
        try:
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": size[0], "height": size[1], "deviceScaleFactor": 1}
                | {"mobile": False},
            )
            driver.get(f"http://127.0.0.1:{port}")
            page.wait_for(
                lambda: "Simulated in" in page.page_text(driver), 180, "a render"
            )
            page.wait_for(lambda: page.page_idle(driver), 60, "an idle page")
            stage(driver)
            time.sleep(SETTLE)  # the last charts and widgets drawn
            out.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(out))
        finally:
            driver.quit()
    finally:
        page.stop_group(server)
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minute", type=int, default=40)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--overview",
        action="store_true",
        help="the first screen on mac_kos101 at 1500 x 1107 (docs/img/app.png)",
    )
    args = parser.parse_args()
    if args.overview:
        out = args.out or ROOT / "docs/img/app.png"
        shoot("mac_kos101", (1500, 1107), out, lambda driver: None)
    else:
        out = args.out or ROOT / "docs/img/app_soldout.png"
        shoot("teaching_tiny", (1280, 800), out, lambda d: sale_view(d, args.minute))


if __name__ == "__main__":
    main()
