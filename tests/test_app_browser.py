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
import re
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


def launch_app(
    scenario: str, port: int, log: Any, workers: int | None = 1
) -> subprocess.Popen[bytes]:
    """`livesim app --scenario SCENARIO` on 127.0.0.1:PORT, its output to `log`,
    in a process group of its own (`stop_group` stops it); `workers` what-if
    worker processes (None: the page's default)."""
    env = dict(os.environ)
    if workers is not None:
        env["LIVESIM_APP_WORKERS"] = str(workers)
    return subprocess.Popen(
        [sys.executable, "-m", "livesim.app", "--scenario", scenario]
        + ["--port", str(port), "--address", "127.0.0.1", "--no-browser"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """`livesim app --scenario teaching_tiny` on a free port, stopped afterwards."""
    _require_browser()
    compile_engines()
    port = free_port()
    log = (tmp_path / "app.log").open("wb")
    process = launch_app("teaching_tiny", port, log)
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


def chromium(window: str = "1500,1250") -> Any:
    """Headless Debian Chromium through selenium (no browser download), its
    window `window` pixels ("width,height") and a fresh profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={window}")
    profile = tempfile.mkdtemp(prefix="livesim-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    return webdriver.Chrome(
        service=Service(executable_path=str(CHROMEDRIVER)), options=options
    )


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium for a test, quit afterwards."""
    _require_browser()
    pytest.importorskip("selenium.webdriver")
    driver = chromium()
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


#: What Streamlit shows while the script runs: its running icons, and the elements
#: of the previous run not yet redrawn (stale).
RUNNING = (
    '[data-testid^="stStatusWidgetRunning"], [data-testid="stElementContainer"]'
    '[data-stale="true"]'
)


def page_idle(driver: Any) -> bool:
    """Whether Streamlit has finished running the script and drawing its output
    (no running icon, no stale element, no 'Running' or 'Stop' in its widget)."""
    from selenium.webdriver.common.by import By

    if driver.find_elements(By.CSS_SELECTOR, RUNNING):
        return False
    status = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')
    return not any("Running" in r.text or "Stop" in r.text for r in status)


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


def page_text(driver: Any) -> str:
    """The visible text of the page (empty while it is being replaced)."""
    from selenium.webdriver.common.by import By

    try:
        return str(driver.find_element(By.TAG_NAME, "body").text)
    except Exception:  # the page re-rendering
        return ""


def find_with_text(driver: Any, selector: str, text: str, timeout: float = 60) -> Any:
    """The first element matching `selector` whose text contains `text` (waited
    for)."""
    from selenium.webdriver.common.by import By

    def found() -> list[Any]:
        try:
            elements = driver.find_elements(By.CSS_SELECTOR, selector)
            return [e for e in elements if text in e.text]
        except Exception:  # an element replaced while the page reruns
            return []

    return wait_for(found, timeout, f"{selector} with {text!r}")[0]


def open_tab(driver: Any, label: str) -> None:
    """Click the tab whose label is `label`."""
    find_with_text(driver, '[role="tab"]', label, 30).click()


def test_sold_out_marker_and_viewers_view(
    app_url: str, browser: Any, tmp_path: Path
) -> None:
    """teaching_tiny: the lipstick's stock-out is marked and its lost sales are
    counted on the live view; the Viewers tab shows sampled viewers' journeys."""
    from selenium.webdriver.common.by import By

    browser.get(app_url)
    notice = wait_for(
        lambda: re.search(
            r"lipstick sold out at minute (\d+): (\d+) lost sales", page_text(browser)
        ),
        90,
        "the sold-out notice",
    )
    assert 0 < int(notice.group(1)) < 60 and int(notice.group(2)) > 0
    lost = metric_value(browser, "Lost sales (no stock)")
    assert lost is not None and int(lost.replace(",", "")) > 0
    charts = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stVegaLiteChart"]')
    assert len(charts) >= 4
    browser.save_screenshot(str(tmp_path / "live.png"))
    open_tab(browser, "Viewers")
    wait_for(
        lambda: "The sampled viewers" in page_text(browser), 30, "the Viewers view"
    )
    text = page_text(browser)
    assert "Journeys: one row per viewer" in text and "Trust in the host" in text
    tables = [
        t
        for t in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stDataFrame"]')
        if t.is_displayed()
    ]
    assert tables, "no table of the sampled viewers on screen"
    browser.save_screenshot(str(tmp_path / "viewers.png"))
