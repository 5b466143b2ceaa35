"""Screenshot: the page during teaching_tiny's sale, with the sold-out marker.

Starts `livesim app --scenario teaching_tiny` on a free localhost port, opens it in
Debian's headless Chromium at 1280 x 800 (the browser test's helpers), moves the
minute slider to `--minute` (default 40: the -20% sale runs at minutes 30-45 and the
lipstick sells out in it) with teaching mode on and the orders chart's note open,
scrolls the session's figures, the sold-out notice and the orders chart into view
and saves the screenshot.

Usage: python benchmarks/screenshot_app.py [--minute 40] [--out FILE.png]
(needs the app extra and /usr/bin/chromium; run .ci/install-browser first)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import test_app_browser as page  # noqa: E402  (the browser test's page helpers)


def scrub(driver: object, minute: int) -> None:
    """Move the page's minute slider to `minute` with the keyboard."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    slider = page.wait_for(
        lambda: [
            s
            for s in driver.find_elements(  # type: ignore[attr-defined]
                By.CSS_SELECTOR, '[data-testid="stSlider"]'
            )
            if "Minute of the stream" in s.text
        ],
        60,
        "the minute slider",
    )[0]
    knob = slider.find_element(By.CSS_SELECTOR, 'input[type="range"]')
    driver.execute_script("arguments[0].focus();", knob)  # type: ignore[attr-defined]
    keys = ActionChains(driver).send_keys(Keys.HOME)  # type: ignore[arg-type]
    for _ in range(minute):
        keys.send_keys(Keys.ARROW_RIGHT)
    keys.perform()
    page.wait_for(
        lambda: f"Minute {minute} of" in page.page_text(driver), 60, "the minute"
    )
    page.wait_for(lambda: page.page_idle(driver), 60, "an idle page")


def teaching_mode(driver: object) -> None:
    """Switch teaching mode on (its notes sit collapsed under the charts)."""
    from selenium.webdriver.common.by import By

    toggle = page.wait_for(
        lambda: [
            t
            for t in driver.find_elements(  # type: ignore[attr-defined]
                By.CSS_SELECTOR, '[data-testid="stCheckbox"]'
            )
            if "Teaching mode" in t.text
        ],
        60,
        "the teaching toggle",
    )[0]
    toggle.find_element(By.TAG_NAME, "label").click()
    page.wait_for(
        lambda: "Teaching note" in page.page_text(driver), 60, "the teaching notes"
    )
    page.wait_for(lambda: page.page_idle(driver), 60, "an idle page")


def open_note(driver: object, title: str) -> None:
    """Open the teaching note whose title contains `title`."""
    from selenium.webdriver.common.by import By

    for summary in driver.find_elements(By.TAG_NAME, "summary"):  # type: ignore[attr-defined]
        if title in summary.text:
            driver.execute_script("arguments[0].click();", summary)  # type: ignore[attr-defined]
            return
    raise LookupError(f"no teaching note {title!r}")


def shoot(minute: int, out: Path) -> None:
    from selenium.webdriver.common.by import By

    port = page.free_port()
    server = page.launch_app("teaching_tiny", port, subprocess.DEVNULL)
    try:
        page.wait_healthy(f"http://127.0.0.1:{port}", server, 90)
        driver = page.chromium("1280,800")
        try:
            driver.get(f"http://127.0.0.1:{port}")
            page.wait_for(
                lambda: "sold out" in page.page_text(driver), 180, "the first render"
            )
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False},
            )
            teaching_mode(driver)
            scrub(driver, minute)
            open_note(driver, "Why orders rise")
            top = [
                m
                for m in driver.find_elements(
                    By.CSS_SELECTOR, '[data-testid="stMetric"]'
                )
                if "Viewers entered" in m.text
            ][0]
            driver.execute_script(
                "arguments[0].scrollIntoView({block: 'start'});"
                "window.scrollBy(0, -50);",
                top,
            )
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
    parser.add_argument("--out", type=Path, default=ROOT / "docs/img/app_soldout.png")
    args = parser.parse_args()
    shoot(args.minute, args.out)


if __name__ == "__main__":
    main()
