"""The page in a real browser: `livesim app` on localhost, driven by Debian's Chromium.

The test starts `python -m livesim.app --no-browser` on a free port, waits for it,
drives /usr/bin/chromium through /usr/bin/chromedriver (selenium; no browser is ever
downloaded), moves a slider with the keyboard and checks that the shown net GMV
changes; screenshots go to the test's tmp_path. CI installs the browser with
`.ci/install-browser`; a missing browser fails the test unless LIVESIM_SKIP_BROWSER=1
is set explicitly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1500,1250",
)
GMV_LABEL = "Net GMV (mean over replications)"

pytestmark = pytest.mark.slow


def _require_browser() -> None:
    if os.environ.get("LIVESIM_SKIP_BROWSER") == "1":
        pytest.skip("LIVESIM_SKIP_BROWSER=1")
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} missing: run .ci/install-browser "
            "(or set LIVESIM_SKIP_BROWSER=1 to skip this test)"
        )
    pytest.importorskip("streamlit")


def free_port() -> int:
    """A free TCP port on localhost."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait for Streamlit's health endpoint to answer ok."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"livesim app exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"livesim app did not answer at {url} in {timeout} s")


def compile_engines() -> None:
    """Run both engines once here first: on a fresh install numba compiles the
    cohort engine (up to minutes on a loaded machine) and caches it on disk, so the
    page's first update below measures the page, not the compiler."""
    from livesim import bundled_scenario, load_scenario, simulate

    tiny = load_scenario(bundled_scenario("teaching_tiny"))
    for engine in ("cohort", "agent"):
        simulate(tiny, replications=1, engine=engine)


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """`livesim app --scenario teaching_tiny` on a free port, stopped afterwards."""
    _require_browser()
    compile_engines()
    port = free_port()
    log = (tmp_path / "app.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "livesim.app",
            "--scenario",
            "teaching_tiny",
            "--port",
            str(port),
            "--address",
            "127.0.0.1",
            "--no-browser",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=dict(os.environ, LIVESIM_APP_WORKERS="1"),
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, timeout=60)
        yield url
    finally:
        stop_group(process)
        log.close()


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the launcher, its Streamlit server and any worker (one process group)."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            os.killpg(process.pid, 0)  # anyone left in the group?
            time.sleep(0.5)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            continue


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through selenium (no browser download)."""
    _require_browser()
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="livesim-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(
        service=Service(executable_path=str(CHROMEDRIVER)), options=options
    )
    try:
        yield driver
    finally:
        driver.quit()


def metric_value(driver: Any, label: str) -> str | None:
    """The shown value of the st.metric whose label is `label`."""
    from selenium.webdriver.common.by import By

    for metric in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]'):
        try:
            shown = metric.find_element(
                By.CSS_SELECTOR, '[data-testid="stMetricLabel"]'
            ).text.strip()
            if shown == label:
                return str(
                    metric.find_element(
                        By.CSS_SELECTOR, '[data-testid="stMetricValue"]'
                    ).text.strip()
                )
        except Exception:  # an element replaced while the page reruns
            continue
    return None


def wait_for(condition: Any, timeout: float, what: str) -> Any:
    """Poll `condition()` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def page_idle(driver: Any) -> bool:
    """Whether Streamlit has finished running the script (no 'Running' widget)."""
    from selenium.webdriver.common.by import By

    running = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')
    return not any("Running" in r.text or "Stop" in r.text for r in running)


def test_slider_moves_the_net_gmv(app_url: str, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(app_url)
    before = wait_for(lambda: metric_value(browser, GMV_LABEL), 90, "the GMV metric")
    browser.save_screenshot(str(tmp_path / "before.png"))
    label = "purchase rate (1/min)"
    sliders = wait_for(
        lambda: [
            s
            for s in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stSlider"]')
            if label in s.text
        ],
        30,
        f"the {label!r} slider",
    )
    thumb = sliders[-1].find_element(By.CSS_SELECTOR, 'input[type="range"]')
    start_value = thumb.get_attribute("value")
    browser.execute_script("arguments[0].focus();", thumb)
    keys = ActionChains(browser)
    for _ in range(15):
        keys.send_keys(Keys.ARROW_RIGHT)
    keys.perform()
    wait_for(
        lambda: thumb.get_attribute("value") != start_value,
        10,
        "the slider to move",
    )
    moved = time.monotonic()
    after = wait_for(
        lambda: (v := metric_value(browser, GMV_LABEL)) not in (None, before) and v,
        60,
        "the GMV metric to change",
    )
    seconds = time.monotonic() - moved
    wait_for(lambda: page_idle(browser), 60, "the page to finish")
    browser.save_screenshot(str(tmp_path / "after.png"))
    assert after != before
    assert (tmp_path / "after.png").stat().st_size > 10_000
    print(f"net GMV {before} -> {after}, shown {seconds:.2f} s after the move")
